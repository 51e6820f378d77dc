// A little plain JavaScript: tab indents in code boxes, copy buttons, answer preview.
// Every page works without it; it only saves keystrokes.
"use strict";

(function () {
  const INDENT = "    ";

  // Tab indents inside a code box; Escape then Tab leaves it, so the keyboard is never trapped.
  document.querySelectorAll("textarea[data-tab-indents]").forEach(function (box) {
    let escaped = false;
    box.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { escaped = true; return; }
      if (event.key !== "Tab" || escaped || event.ctrlKey || event.altKey || event.metaKey) {
        escaped = false;
        return;
      }
      event.preventDefault();
      const start = box.selectionStart, end = box.selectionEnd, text = box.value;
      const lineStart = text.lastIndexOf("\n", start - 1) + 1;
      if (event.shiftKey) {
        if (text.startsWith(INDENT, lineStart)) {
          box.value = text.slice(0, lineStart) + text.slice(lineStart + INDENT.length);
          box.selectionStart = box.selectionEnd = Math.max(lineStart, start - INDENT.length);
        }
        return;
      }
      box.value = text.slice(0, start) + INDENT + text.slice(end);
      box.selectionStart = box.selectionEnd = start + INDENT.length;
    });
  });

  function announce(status, message) {
    if (status) { status.textContent = message; }
  }

  // Copy the given values in one of the offered notations.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      const source = document.getElementById(button.dataset.copy);
      const status = document.getElementById(button.dataset.status);
      const text = source ? source.textContent : "";
      const done = function () { announce(status, "Copied as " + button.dataset.label + "."); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text, done, status); });
      } else {
        fallbackCopy(text, done, status);
      }
    });
  });

  function fallbackCopy(text, done, status) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "absolute";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (error) { ok = false; }
    document.body.removeChild(area);
    if (ok) { done(); } else { announce(status, "Copying is blocked here: select the text below and copy it."); }
  }

  // Preview how an answer is read, without grading it or using an attempt.
  document.querySelectorAll("form[data-preview-url]").forEach(function (form) {
    const button = form.querySelector("button[data-preview]");
    const out = document.getElementById(button.getAttribute("aria-controls"));
    button.hidden = false;
    if (form.hasAttribute("data-preview-live")) {
      // a formula's preview follows the typing, a moment after it pauses
      let timer = null;
      form.querySelector("textarea").addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () { button.click(); }, 400);
      });
    }
    button.addEventListener("click", function () {
      const body = new FormData(form);
      out.textContent = "Reading your answer…";
      fetch(form.dataset.previewUrl, {
        method: "POST",
        body: body,
        headers: { "X-CSRFToken": body.get("csrf_token"), "Accept": "text/html" },
        credentials: "same-origin",
      }).then(function (response) {
        // an error answers with a whole page (an expired form, a lost session): say it briefly
        if (response.redirected) { throw new Error("your session ended; log in again"); }
        if (!response.ok) { throw new Error(response.status + " " + response.statusText + "; reload the page"); }
        return response.text().then(function (html) {
          out.innerHTML = html;  // rendered and escaped by the server's template
          document.dispatchEvent(new CustomEvent("grader:content"));  // a wide matrix says it scrolls
        });
      }).catch(function (error) {
        out.textContent = "The preview failed (" + error.message + "); you can still submit.";
      });
    });
  });
})();

// The assignment form: add and remove item rows in place, and offer only the layouts a kind
// allows. Without script the same buttons submit the form, which comes back changed.
(function () {
  "use strict";
  document.querySelectorAll("form[data-item-rows]").forEach(function (form) {
    const template = document.getElementById(form.dataset.itemRows);
    const rows = form.querySelector("[data-rows]");
    const count = form.querySelector("input[name=rows]");
    if (!template || !rows || !count) { return; }

    function fitLayouts(row) {
      const kind = row.querySelector("select[data-kind]");
      const layout = row.querySelector("select[data-layout]");
      if (!kind || !layout || layout.disabled) { return; }
      const chosen = kind.options[kind.selectedIndex];
      const allowed = (chosen.dataset.layouts || "").split(" ");
      Array.prototype.forEach.call(layout.options, function (option) {
        const offered = allowed.indexOf(option.value) >= 0;
        option.hidden = !offered;
        option.disabled = !offered;
      });
      if (allowed.indexOf(layout.value) < 0) { layout.value = allowed[0]; }
    }

    function renumber() {
      rows.querySelectorAll("fieldset[data-row]").forEach(function (row, index) {
        row.querySelectorAll("[data-number]").forEach(function (number) {
          number.textContent = String(index + 1);
        });
      });
    }

    form.addEventListener("change", function (event) {
      if (event.target.matches("select[data-kind]")) { fitLayouts(event.target.closest("fieldset[data-row]")); }
    });

    form.addEventListener("click", function (event) {
      const button = event.target.closest("button[name=action]");
      if (!button) { return; }
      if (button.value === "add") {
        event.preventDefault();
        const index = Number(count.value);
        // a fresh index, never reused: the server reads rows 0 .. count - 1 and skips the missing
        rows.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__i__/g, String(index)));
        count.value = String(index + 1);
        renumber();
        rows.lastElementChild.querySelector("select[data-kind]").focus();
      } else if (button.value.indexOf("remove-") === 0) {
        event.preventDefault();
        button.closest("fieldset[data-row]").remove();
        renumber();
        form.querySelector("button[value=add]").focus();
      }
    });
  });
})();

// A table wider than its box says so in words: on a phone a wide matrix shows its first few
// columns and would otherwise look complete. The box can then be scrolled from the keyboard.
(function () {
  "use strict";
  function markScrolling() {
    markScrollingFormulas();
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      const scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      let hint = wrap.previousElementSibling;
      if (!hint || !hint.classList.contains("scroll-hint")) { hint = null; }
      wrap.classList.toggle("scrolls", scrolls);
      if (!scrolls) {
        if (hint) { hint.remove(); }
        wrap.removeAttribute("tabindex");
        return;
      }
      if (!hint) {
        // a matrix's columns are numbered in its first row; a data table's headings may span
        const columns = wrap.querySelectorAll("table.matrix tr:first-child th[scope=col]").length;
        hint = document.createElement("p");
        hint.className = "scroll-hint";
        hint.textContent = "Wider than the screen: scroll sideways to see " +
          (columns > 1 ? "all " + columns + " columns" : "every column");
        wrap.parentNode.insertBefore(hint, wrap);
      }
      wrap.tabIndex = 0;
      if (!wrap.hasAttribute("role")) {
        // named by its table's caption or its chart's title: two regions of one name are one too many
        const caption = wrap.querySelector("caption, svg > title");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", (caption ? caption.textContent : "Table") + ", scrolls sideways");
      }
    });
  }
  // A formula's box is in the line of its text: it takes no hint above it, its shadows say that it
  // goes on. A statement's formula with a matrix is named by what it defines ("W = ...") and by its
  // question; a student's formula as it was read, by the name the server gave it (data-name).
  function markScrollingFormulas() {
    const names = new Set();
    document.querySelectorAll(".math-wrap").forEach(function (wrap) {
      if (wrap.scrollWidth <= wrap.clientWidth + 1) {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
        return;
      }
      const defined = wrap.textContent.split("=")[0].trim();
      const statement = wrap.closest("[data-question]");
      const what = wrap.dataset.name || ((defined && defined.length <= 20 ? defined : "A formula") + " in " +
        (statement ? statement.dataset.question : "the question"));
      let name = what, count = 1;
      while (names.has(name)) { count += 1; name = what + " (" + count + ")"; }
      names.add(name);
      wrap.tabIndex = 0;
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", name + ", scrolls sideways");
    });
  }
  markScrolling();
  // a box filled after the page loaded: an answer's preview, a verdict that was being graded
  document.addEventListener("grader:content", markScrolling);
  let pending = null;
  window.addEventListener("resize", function () {
    if (pending) { window.cancelAnimationFrame(pending); }
    pending = window.requestAnimationFrame(markScrolling);
  });
})();

// A page reached by submitting an answer (its address ends in the verdict's anchor, or the
// anchor of a derivation's part) puts the focus on the verdict: a screen reader reads it out,
// and the next Tab goes on from there. A verdict's own anchor gets it from the browser; a
// part's would give it to the page as a whole, once the page has loaded, hence the wait.
(function () {
  "use strict";
  const target = window.location.hash ? document.getElementById(window.location.hash.slice(1)) : null;
  const verdict = target && !target.matches(".verdict") ? target.querySelector(".verdict") : null;
  if (verdict) {
    window.addEventListener("load", function () { verdict.focus(); });
  }
})();
