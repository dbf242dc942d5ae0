/* Isoko console: confirmations, as-you-type lint, character counters.
   No framework, no inline script (the CSP forbids it). HTML inserted below
   comes from the server's own templates, which escape every user text. */
(function () {
  "use strict";

  // Buttons with data-confirm ask first (rollback, discard).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // GSM-7: basic table, and the extension table whose characters count twice.
  var BASIC = "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9 !\"#\u00a4%&'()*+,-./0123456789:;<=>?\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0";
  var EXTENSION = "^{}\\[~]|\u20ac\f";

  function measure(text) {
    var size = 0, outside = [];
    for (var i = 0; i < text.length; i++) {
      var ch = text.charAt(i);
      if (EXTENSION.indexOf(ch) >= 0) { size += 2; }
      else { size += 1; if (BASIC.indexOf(ch) < 0 && outside.indexOf(ch) < 0) { outside.push(ch); } }
    }
    return { size: size, outside: outside };
  }

  function updateCounter(field) {
    var counter = document.querySelector('.counter[data-for="' + field.id + '"]');
    if (!counter) { return; }
    var m = measure(field.value.replace(/\r\n/g, "\n"));
    var text = m.size + " characters (placeholders not filled)";
    if (m.outside.length) { text += " \u2014 outside GSM-7: " + m.outside.join(" "); }
    counter.textContent = text;
    counter.classList.toggle("over", m.outside.length > 0);
  }

  document.querySelectorAll("textarea.ussd-text").forEach(function (field) {
    updateCounter(field);
    field.addEventListener("input", function () { updateCounter(field); });
  });

  // As-you-type lint: forms carrying data-lint-url post their fields there
  // (nothing is saved) and show the answer in #lint-live / #preview-live.
  document.querySelectorAll("form[data-lint-url]").forEach(function (form) {
    var timer = null, sequence = 0;
    function lint() {
      var mine = ++sequence;
      var data = new FormData(form);
      var token = form.querySelector('input[name="csrf_token"]');
      fetch(form.getAttribute("data-lint-url"), {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRFToken": token ? token.value : "", "Accept": "application/json" }
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (payload) {
        if (!payload || mine !== sequence) { return; }
        var lintBox = document.getElementById("lint-live");
        if (lintBox && payload.html !== undefined) { lintBox.innerHTML = payload.html; }
        var previewBox = document.getElementById("preview-live");
        if (previewBox && payload.preview_html !== undefined) { previewBox.innerHTML = payload.preview_html; }
        var others = document.getElementById("lint-others");
        if (others && payload.others !== undefined) {
          others.textContent = payload.others ? payload.others + " more problem(s) elsewhere in the draft." : "";
        }
        form.setAttribute("data-lint-errors", String(payload.errors));
      }).catch(function () { /* offline for a moment: the next keystroke retries */ });
    }
    form.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(lint, 500);
    });
    form.addEventListener("change", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(lint, 100);
    });
  });
})();
