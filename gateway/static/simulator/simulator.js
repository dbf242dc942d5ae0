// Isoko phone simulator: dials the USSD callback with the provider's form
// fields and shows the phone's SMS inbox. No dependencies; text is only ever
// inserted with textContent.
(function () {
  "use strict";

  var root = document.getElementById("simulator");
  if (!root) { return; }
  var cfg = root.dataset;
  var limit = parseInt(cfg.screenLimit, 10) || 160;
  var BASIC = "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9 !\"#\u00a4%&'()*+,-./0123456789:;<=>?" +
    "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0";
  var EXTENSION = "^{}\\[~]|\u20ac\f";

  function byId(id) { return document.getElementById(id); }
  var el = {
    phone: byId("phone"), network: byId("network"), code: byId("code"), draft: byId("draft"),
    draftStatus: byId("draft-status"), screen: byId("screen"), count: byId("count"),
    charset: byId("charset"), state: byId("session-state"), form: byId("reply-form"),
    reply: byId("reply"), send: byId("send"), dial: byId("dial"), hangup: byId("hangup"),
    error: byId("error"), keypad: byId("keypad"), inboxPhone: byId("inbox-phone"),
    inboxEmpty: byId("inbox-empty"), messages: byId("messages"), refresh: byId("inbox-refresh")
  };

  var call = null;  // {sessionId, inputs, phone, network, code, draft}
  var busy = false;
  var hops = 0;  // answered hops, as data-hops on the root (tests wait on it)

  function answered() {
    hops += 1;
    root.dataset.hops = String(hops);
  }

  // -- the screen ----------------------------------------------------------

  function septets(text) {
    var n = 0;
    for (var i = 0; i < text.length; i++) { n += EXTENSION.indexOf(text[i]) >= 0 ? 2 : 1; }
    return n;
  }

  function firstNonGsm(text) {
    for (var i = 0; i < text.length; i++) {
      var ch = text[i];
      if (BASIC.indexOf(ch) < 0 && EXTENSION.indexOf(ch) < 0) { return ch; }
    }
    return null;
  }

  function showScreen(text, state) {
    el.screen.textContent = text;
    el.screen.dataset.state = state;
    var n = septets(text);
    el.count.textContent = String(n);
    el.count.classList.toggle("warn", n > limit);
    var odd = firstNonGsm(text);
    el.charset.hidden = odd === null;
    el.charset.textContent = odd === null ? "" : "not GSM-7: " + JSON.stringify(odd);
  }

  function setState(state) {
    el.state.textContent = state;
    var inCall = state === "waiting for your answer";
    el.reply.disabled = !inCall;
    el.send.disabled = !inCall;
    el.hangup.disabled = call === null;
    el.dial.disabled = busy;
    Array.prototype.forEach.call(el.keypad.querySelectorAll("button"), function (b) { b.disabled = !inCall; });
    if (inCall) { el.reply.focus(); }
  }

  function showError(message) {
    el.error.textContent = message || "";
    el.error.hidden = !message;
  }

  // -- dialling --------------------------------------------------------------

  function sessionId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return "sim-" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function post(text) {
    var form = new URLSearchParams();
    form.set("sessionId", call.sessionId);
    form.set("phoneNumber", call.phone);
    form.set("networkCode", call.network);
    form.set("serviceCode", call.code);
    form.set("text", text);
    if (call.draft) { form.set(cfg.draftField, "1"); }
    var headers = {"X-Isoko-Simulator": "1"};
    if (cfg.csrfToken) { headers["X-CSRFToken"] = cfg.csrfToken; }
    return fetch(cfg.ussdUrl, {method: "POST", body: form, headers: headers, credentials: "same-origin"});
  }

  function hop(text) {
    busy = true;
    setState("waiting for the network");
    showError("");
    return post(text).then(function (response) {
      return response.text().then(function (body) { return {ok: response.ok, status: response.status, body: body}; });
    }).then(function (answer) {
      busy = false;
      if (!answer.ok) {
        call = null;
        showScreen("", "error");
        setState("refused");
        showError("The gateway answered " + answer.status + ": " + answer.body.slice(0, 300));
        answered();
        return;
      }
      var end = answer.body.indexOf("END ") === 0;
      var page = answer.body.replace(/^(CON|END) /, "");
      showScreen(page, end ? "ended" : "open");
      if (end) {
        call = null;
        setState("ended");
        pollInbox();
      } else {
        setState("waiting for your answer");
      }
      answered();
    }).catch(function (err) {
      busy = false;
      call = null;
      setState("no network");
      showError("Could not reach the gateway: " + err);
      answered();
    });
  }

  function dial() {
    if (busy) { return; }
    call = {
      sessionId: sessionId(), inputs: [], phone: el.phone.value.trim(),
      network: el.network.value, code: el.code.value.trim(), draft: el.draft.checked
    };
    loadInbox();
    hop("");
  }

  function answer(event) {
    event.preventDefault();
    if (!call || busy) { return; }
    call.inputs.push(el.reply.value);
    el.reply.value = "";
    hop(call.inputs.join("*"));
  }

  function hangUp() {
    call = null;
    showScreen("", "idle");
    setState("hung up");
  }

  // -- the inbox ---------------------------------------------------------------

  var polls = [];

  function loadInbox() {
    var phone = el.phone.value.trim();
    el.inboxPhone.textContent = phone ? "of " + phone : "";
    if (!phone) { return Promise.resolve(); }
    return fetch(cfg.inboxUrl + "?phone=" + encodeURIComponent(phone), {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data && phone === el.phone.value.trim()) { renderInbox(data.messages); } })
      .catch(function () { /* the next refresh tries again */ });
  }

  function renderInbox(messages) {
    el.messages.textContent = "";
    el.inboxEmpty.hidden = messages.length > 0;
    messages.forEach(function (m) {
      var item = document.createElement("li");
      item.className = "sms";
      item.dataset.status = m.status;
      var body = document.createElement("p");
      body.className = "sms-text";
      body.textContent = m.text;
      var meta = document.createElement("p");
      meta.className = "sms-meta";
      var when = new Date(m.sent_at || m.created_at);
      meta.textContent = m.kind + " \u00b7 " + m.status + (m.delivery_status ? " (" + m.delivery_status + ")" : "") +
        " \u00b7 " + when.toLocaleString();
      item.appendChild(body);
      item.appendChild(meta);
      el.messages.appendChild(item);
    });
  }

  function pollInbox() {
    // A worker sends the SMS a moment after the session: look a few times.
    polls.forEach(clearTimeout);
    polls = [0, 1000, 2500, 5000, 10000].map(function (delay) { return setTimeout(loadInbox, delay); });
  }

  // -- the draft switch --------------------------------------------------------

  function loadDraft() {
    return fetch(cfg.draftUrl, {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (d) {
        if (!d) { el.draftStatus.textContent = "Could not check for a draft."; return; }
        if (!d.exists) {
          el.draft.checked = false;
          el.draft.disabled = true;
          el.draftStatus.textContent = "No draft of " + d.menu + ": Dial uses the published menu.";
          return;
        }
        var about = "Draft of " + d.menu + (d.base_version ? " (from version " + d.base_version + ")" : "") +
          (d.updated_by ? ", edited by " + d.updated_by : "");
        if (d.errors > 0) {
          el.draft.checked = false;
          el.draft.disabled = true;
          el.draftStatus.textContent = about + ": " + d.errors + " error(s) to fix first. " + d.problems.join("; ");
        } else {
          el.draft.disabled = false;
          el.draftStatus.textContent = about + ".";
        }
      })
      .catch(function () { el.draftStatus.textContent = "Could not check for a draft."; });
  }

  // -- wiring ------------------------------------------------------------------

  el.dial.addEventListener("click", dial);
  el.hangup.addEventListener("click", hangUp);
  el.form.addEventListener("submit", answer);
  el.refresh.addEventListener("click", loadInbox);
  el.draft.addEventListener("focus", loadDraft);
  el.keypad.addEventListener("click", function (event) {
    var key = event.target.closest("button[data-key]");
    if (key && !key.disabled) { el.reply.value += key.dataset.key; el.reply.focus(); }
  });
  var typing = null;
  el.phone.addEventListener("input", function () { clearTimeout(typing); typing = setTimeout(loadInbox, 400); });
  setInterval(function () { if (document.visibilityState === "visible") { loadInbox(); } }, 15000);

  setState("idle");
  loadInbox();
  loadDraft();
}());
