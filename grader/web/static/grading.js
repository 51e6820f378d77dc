// A verdict still being graded is shown when it is ready, without reloading the page: the
// submission is asked for now and then, and once graded the page's own box is put in place.
// The box is a live region: it stays the same element and only its content changes, since a
// screen reader announces a change inside a live region it knows, not a new region put in.
"use strict";

(function () {
  const FIRST_WAIT_MS = 500;
  const LONGEST_WAIT_MS = 5000;
  const GIVE_UP_AFTER_MS = 10 * 60 * 1000;  // then the box's own words say to come back later

  function swapIn(box) {
    return fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        const page = new DOMParser().parseFromString(html, "text/html");
        const fresh = page.getElementById(box.id);
        if (!fresh) { return; }
        box.className = fresh.className;
        box.removeAttribute("data-grading");
        box.replaceChildren.apply(box, Array.prototype.map.call(fresh.childNodes, function (node) {
          return document.importNode(node, true);
        }));
        document.dispatchEvent(new CustomEvent("grader:content"));  // a wide matrix says it scrolls
      });
  }

  function watch(box) {
    const started = Date.now();
    let wait = FIRST_WAIT_MS;
    function ask() {
      fetch(box.dataset.grading, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (submission) {
          if (submission && submission.status !== "pending" && submission.status !== "grading") {
            return swapIn(box);
          }
          if (Date.now() - started < GIVE_UP_AFTER_MS) {
            wait = Math.min(wait * 2, LONGEST_WAIT_MS);
            window.setTimeout(ask, wait);
          }
        })
        .catch(function () { window.setTimeout(ask, LONGEST_WAIT_MS); });
    }
    window.setTimeout(ask, wait);
  }

  document.querySelectorAll("section[data-grading]").forEach(watch);
})();
