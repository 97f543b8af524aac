/* SupportDesk page behaviour. Everything here is an enhancement: every form also works without it. */
(function () {
  "use strict";

  // Language switch: submit on change; the button stays for keyboard and no-JS users.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
    var button = select.form.querySelector("[data-autosubmit-button]");
    if (button) { button.classList.add("visually-hidden"); }
  });

  // Record formsets: add rows from the empty-form template, hide rows marked for removal.
  document.querySelectorAll("[data-formset]").forEach(function (box) {
    var prefix = box.getAttribute("data-formset");
    var total = box.querySelector("input[name='" + prefix + "-TOTAL_FORMS']");
    var rows = box.querySelector("[data-formset-rows]");
    var template = box.querySelector("template[data-formset-empty]");
    var add = box.querySelector("[data-formset-add]");
    function wireRemove(row) {
      var del = row.querySelector("input[name$='-DELETE']");
      if (del) {
        del.addEventListener("change", function () { row.classList.toggle("is-removed", del.checked); });
      }
    }
    rows.querySelectorAll("[data-formset-row]").forEach(wireRemove);
    if (!add || !template || !total) { return; }
    add.hidden = false;
    add.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      var holder = document.createElement("div");
      holder.innerHTML = html.trim();
      var row = holder.firstElementChild;
      rows.appendChild(row);
      total.value = String(index + 1);
      wireRemove(row);
      var first = row.querySelector("input, select, textarea");
      if (first) { first.focus(); }
    });
  });

  // Upload progress: send the form with XMLHttpRequest to show how much has been uploaded.
  document.querySelectorAll("form[data-upload-progress]").forEach(function (form) {
    var box = form.querySelector("[data-progress]");
    if (!box || !window.FormData || !window.XMLHttpRequest) { return; }
    var bar = box.querySelector(".progress-bar");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var submit = form.querySelector("[type=submit]");
      if (submit) { submit.disabled = true; }
      box.classList.remove("d-none");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { return; }
        var percent = Math.round((e.loaded / e.total) * 100);
        bar.style.width = percent + "%";
        bar.textContent = percent + "%";
        box.setAttribute("aria-valuenow", String(percent));
      });
      xhr.addEventListener("load", function () {
        if (xhr.responseURL && xhr.responseURL !== window.location.href && xhr.status < 400) {
          window.location.assign(xhr.responseURL);
          return;
        }
        document.open();
        document.write(xhr.responseText);
        document.close();
      });
      xhr.addEventListener("error", function () {
        if (submit) { submit.disabled = false; }
        box.classList.add("d-none");
        form.removeAttribute("data-upload-progress");
        form.submit();
      });
      xhr.send(new FormData(form));
    });
  });
})();
