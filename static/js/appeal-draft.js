/* Keeps what was typed into the appeal form in this tab (sessionStorage), so that a failed submission
   (a server error, a lost connection) does not send the appellant back to an empty form. Text fields
   only: never files, never the ID number, never the CSRF token. The draft is removed once the appeal
   has been received (the confirmation page carries data-draft-clear). */
(function () {
  "use strict";

  var PREFIX = "supportdesk.appeal-draft:";
  var storage;
  try {
    storage = window.sessionStorage;
    storage.getItem(PREFIX);
  } catch (_e) {
    return; // storage disabled: the form works as before
  }

  if (document.querySelector("[data-draft-clear]")) {
    Object.keys(storage).forEach(function (key) {
      if (key.indexOf(PREFIX) === 0) { storage.removeItem(key); }
    });
    return;
  }

  var form = document.getElementById("appeal-form");
  if (!form) { return; }
  var key = PREFIX + window.location.pathname;
  var SKIPPED = /^(csrfmiddlewaretoken|id_number)$|-TOTAL_FORMS$|-INITIAL_FORMS$|-MIN_NUM_FORMS$|-MAX_NUM_FORMS$/;
  var KEPT_TYPES = ["text", "email", "tel", "number", "date", "datetime-local", "url", "search"];

  function kept(field) {
    if (!field.name || SKIPPED.test(field.name)) { return false; }
    if (field.tagName === "TEXTAREA" || field.tagName === "SELECT") { return true; }
    return field.tagName === "INPUT" && KEPT_TYPES.indexOf(field.type) !== -1;
  }

  function rowsOf(prefix) {
    var total = form.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
    return total ? parseInt(total.value, 10) : 0;
  }

  function save() {
    var draft = { fields: {}, rows: {} };
    Array.prototype.forEach.call(form.elements, function (field) {
      if (kept(field) && field.value !== "") { draft.fields[field.name] = field.value; }
    });
    form.querySelectorAll("[data-formset]").forEach(function (box) {
      var prefix = box.getAttribute("data-formset");
      draft.rows[prefix] = rowsOf(prefix);
    });
    try { storage.setItem(key, JSON.stringify(draft)); } catch (_e) { /* full: nothing to do */ }
  }

  function restore() {
    var draft;
    try { draft = JSON.parse(storage.getItem(key) || "null"); } catch (_e) { draft = null; }
    if (!draft || !draft.fields) { return; }
    // Rows the appellant had added (by the page's script) are added again before they are filled.
    form.querySelectorAll("[data-formset]").forEach(function (box) {
      var prefix = box.getAttribute("data-formset");
      var add = box.querySelector("[data-formset-add]");
      var wanted = (draft.rows && draft.rows[prefix]) || 0;
      while (add && rowsOf(prefix) < wanted) {
        var before = rowsOf(prefix);
        add.click();
        if (rowsOf(prefix) === before) { break; }
      }
    });
    Object.keys(draft.fields).forEach(function (name) {
      var field = form.elements.namedItem(name);
      // The server's own values win (a form sent back with errors keeps what was sent).
      if (field && kept(field) && field.value === "") { field.value = draft.fields[name]; }
    });
    if (document.activeElement && document.activeElement !== document.body) { document.activeElement.blur(); }
  }

  restore();
  form.addEventListener("input", save);
  form.addEventListener("change", save);
  form.addEventListener("submit", save);
})();
