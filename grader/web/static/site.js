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
        });
      }).catch(function (error) {
        out.textContent = "The preview failed (" + error.message + "); you can still submit.";
      });
    });
  });
})();
