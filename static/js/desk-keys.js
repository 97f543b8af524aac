/* The console's keyboard shortcuts (templates/desk/_shortcuts.html lists them in its "?" help).
   Queue: j / k choose the next / previous appeal (focus on its link), Enter opens it. The queue page
   keeps the order of its rows in this tab's sessionStorage, so that on an appeal opened from it ] and [
   go to the next / previous one in that order. Appeal: c claims, r goes to the reply box, v to the next
   file's "Mark verified" button. Nothing fires while a text box has the focus, or with Ctrl, Alt or Meta. */
(function () {
  "use strict";
  var root = document.querySelector("[data-shortcuts]");
  if (!root) { return; }
  var help = root.querySelector("[data-shortcuts-help]");
  var status = root.querySelector("[data-shortcuts-status]");
  var reference = root.getAttribute("data-appeal-reference");
  var QUEUE_KEY = "supportdesk.desk-queue";
  var REFERENCE = /^[A-Z0-9-]{1,20}$/;
  var opener = null;
  root.querySelector("[data-shortcuts-hint]").hidden = false;

  function say(text) {
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 50);
  }

  function storage() {
    try { return window.sessionStorage; } catch (_e) { return null; }
  }

  function typing(target) {
    if (!target || !target.tagName) { return false; }
    if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") { return true; }
    return target.tagName === "INPUT" && ["checkbox", "radio", "button", "submit", "reset"].indexOf(target.type) === -1;
  }

  function appealUrl(ref) {
    return root.getAttribute("data-appeal-url").replace("REFERENCE", encodeURIComponent(ref));
  }

  // --- Help dialog: a modal <dialog> (focus kept inside, Esc closes); focus goes back where it was.
  function showHelp() {
    if (help.open) { return; }
    opener = document.activeElement;
    help.showModal();
    help.querySelector("[data-shortcuts-close]").focus();
  }
  help.querySelector("[data-shortcuts-close]").addEventListener("click", function () { help.close(); });
  help.addEventListener("close", function () {
    if (opener && opener.focus) { opener.focus(); }
    opener = null;
  });

  // --- Queue page.
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-appeal]"));
  if (!reference) { // the queue page (an empty one too: its order replaces the last one's)
    var refs = rows.map(function (row) { return row.getAttribute("data-appeal"); });
    var kept = storage();
    if (kept) {
      try { kept.setItem(QUEUE_KEY, JSON.stringify({ refs: refs })); } catch (_e) { /* full: no [ and ] */ }
    }
  }

  function moveInQueue(step) {
    var current = rows.findIndex(function (row) { return row.contains(document.activeElement); });
    var next = current === -1 ? (step > 0 ? 0 : rows.length - 1) : Math.min(Math.max(current + step, 0), rows.length - 1);
    rows.forEach(function (row, i) { row.classList.toggle("table-active", i === next); });
    var link = rows[next].querySelector("a[href]");
    if (link) { link.focus(); }
  }

  // --- Appeal page.
  function queueNeighbour(step) {
    var kept = storage();
    var data = null;
    try { data = JSON.parse((kept && kept.getItem(QUEUE_KEY)) || "null"); } catch (_e) { data = null; }
    var refs = data && Array.isArray(data.refs) ? data.refs.filter(function (r) { return REFERENCE.test(r); }) : [];
    var here = refs.indexOf(reference);
    if (here === -1) { say(root.getAttribute("data-not-from-queue")); return; }
    var there = refs[here + step];
    if (!there) { say(root.getAttribute(step > 0 ? "data-no-next" : "data-no-previous")); return; }
    window.location.assign(appealUrl(there));
  }

  function claim() {
    var button = document.querySelector("form[data-action='claim'] button[type=submit]");
    if (button) { button.click(); }
  }

  function nextToVerify() {
    var buttons = Array.prototype.map.call(
      document.querySelectorAll("form input[name=verified][value='1']"),
      function (input) { return input.form.querySelector("button[type=submit]"); }
    ).filter(Boolean);
    if (!buttons.length) { say(root.getAttribute("data-nothing-to-verify")); return; }
    var current = buttons.indexOf(document.activeElement);
    var button = buttons[(current + 1) % buttons.length];
    var figure = button.closest("figure") || button;
    figure.scrollIntoView({ block: "center" });
    button.focus();
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (help.open) { return; } // the dialog handles its own keys (Esc, Tab, Enter on Close)
    var key = event.key;
    var done = true;
    if (key === "?") {
      showHelp();
    } else if (rows.length && !reference && (key === "j" || key === "k")) {
      moveInQueue(key === "j" ? 1 : -1);
    } else if (reference && (key === "]" || key === "[")) {
      queueNeighbour(key === "]" ? 1 : -1);
    } else if (reference && key === "c") {
      claim();
    } else if (reference && key === "r" && document.getElementById("id_text")) {
      document.getElementById("id_text").focus();
    } else if (reference && key === "v") {
      nextToVerify();
    } else {
      done = false;
    }
    if (done) { event.preventDefault(); }
  });
})();
