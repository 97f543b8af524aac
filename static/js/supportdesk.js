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
    // The server refuses more rows than MAX_NUM_FORMS (the records cap): stop adding at it.
    var max = box.querySelector("input[name='" + prefix + "-MAX_NUM_FORMS']");
    var limit = max ? parseInt(max.value, 10) : NaN;
    function capReached() { return !isNaN(limit) && parseInt(total.value, 10) >= limit; }
    add.disabled = capReached();
    add.addEventListener("click", function () {
      if (capReached()) { return; }
      var index = parseInt(total.value, 10);
      var holder = document.createElement("div");
      holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index)).trim();
      var row = holder.firstElementChild;
      rows.appendChild(row);
      total.value = String(index + 1);
      add.disabled = capReached();
      wireRemove(row);
      var first = row.querySelector("input, select, textarea");
      if (first) { first.focus(); }
    });
  });

  document.querySelectorAll("form[data-upload-form]").forEach(enhanceUploadForm);

  function enhanceUploadForm(form) {
    var data = form.dataset;
    var fileInputs = Array.prototype.slice.call(form.querySelectorAll("input[type=file]"));
    var summary = form.querySelector("[data-form-errors]");
    var progress = form.querySelector("[data-progress]");
    var bar = progress.querySelector(".progress-bar");
    var perFile = progress.querySelector("[data-file-progress]");
    var submit = form.querySelector("button[type=submit]");

    function say(template, values) {
      return template.replace(/\{(\w+)\}/g, function (_m, key) { return values[key]; });
    }
    // What an input takes is its `accept` attribute (built by the server from what it accepts): a file
    // passes when its type or its name's extension is listed, as in the browser's own file picker.
    function accepted(input, file) {
      var tokens = (input.getAttribute("accept") || "").toLowerCase().split(",").map(function (token) {
        return token.trim();
      }).filter(Boolean);
      if (!tokens.length) { return true; }
      var name = file.name.toLowerCase();
      var type = (file.type || "").toLowerCase();
      return tokens.some(function (token) {
        if (token.charAt(0) === ".") { return name.slice(-token.length) === token; }
        if (token.slice(-2) === "/*") { return type.indexOf(token.slice(0, -1)) === 0; }
        return type === token;
      });
    }
    function sizeText(bytes) {
      return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
    }

    // --- Errors next to their fields (announced by aria-live), and a summary at the top -----------
    function errorBox(name) {
      var box = form.querySelector("[data-errors-for='" + name + "']");
      if (box) { return box; }
      var input = form.querySelector("[name='" + name + "']");
      if (!input) { return null; }
      box = document.createElement("div");
      box.className = "invalid-feedback d-block";
      box.setAttribute("data-errors-for", name);
      box.setAttribute("aria-live", "polite");
      box.id = (input.id || name) + "_js_errors";
      (input.closest(".mb-3") || input.parentNode).appendChild(box);
      input.setAttribute("aria-describedby", ((input.getAttribute("aria-describedby") || "") + " " + box.id).trim());
      return box;
    }
    function clearErrors() {
      form.querySelectorAll("[data-errors-for]").forEach(function (box) { box.textContent = ""; });
      form.querySelectorAll(".is-invalid").forEach(function (el) {
        el.classList.remove("is-invalid");
        el.removeAttribute("aria-invalid");
      });
      summary.hidden = true;
      summary.textContent = "";
    }
    function showErrors(errors) {
      var first = null;
      var general = [];
      Object.keys(errors).forEach(function (name) {
        var box = errorBox(name);
        if (!box || name === "__all__") { general = general.concat(errors[name]); return; }
        errors[name].forEach(function (message) {
          var line = document.createElement("div");
          line.textContent = message;
          box.appendChild(line);
        });
        var input = form.querySelector("[name='" + name + "']");
        var folded = box.closest("details");
        if (folded) { folded.open = true; }  // e.g. a refused CSV import, folded under its records
        if (input) {
          input.classList.add("is-invalid");
          input.setAttribute("aria-invalid", "true");
          first = first || input;
        }
      });
      summary.textContent = data.msgFix;
      general.forEach(function (message) {
        var line = document.createElement("div");
        line.textContent = message;
        summary.appendChild(line);
      });
      summary.hidden = false;
      (first || summary).focus();
      if (!first) { summary.scrollIntoView({ block: "center" }); }
    }

    // --- Drop zones and previews ----------------------------------------------------------------
    function setFiles(input, files) {
      var transfer = new DataTransfer();
      files.forEach(function (file) { transfer.items.add(file); });
      input.files = transfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
    function renderPreviews(input) {
      var list = input.closest("[data-dropzone]").querySelector("[data-previews]");
      list.textContent = "";
      Array.prototype.forEach.call(input.files, function (file, index) {
        var item = document.createElement("li");
        item.className = "d-flex align-items-center gap-2 py-1";
        if (/^image\//.test(file.type)) {
          var img = document.createElement("img");
          img.src = URL.createObjectURL(file);
          img.alt = "";
          img.width = 48;
          img.height = 48;
          img.className = "rounded object-fit-cover";
          item.appendChild(img);
        }
        var label = document.createElement("span");
        label.textContent = file.name + " · " + sizeText(file.size);
        item.appendChild(label);
        if (input.multiple) {
          var remove = document.createElement("button");
          remove.type = "button";
          remove.className = "btn btn-link btn-sm p-0";
          remove.textContent = data.msgRemove;
          remove.setAttribute("aria-label", data.msgRemove + " " + file.name);
          remove.addEventListener("click", function () {
            setFiles(input, Array.prototype.filter.call(input.files, function (_f, i) { return i !== index; }));
            input.focus();
          });
          item.appendChild(remove);
        }
        list.appendChild(item);
      });
    }
    // A touch screen has nothing to drag files from: it is told to tap instead.
    var touch = !!(window.matchMedia && window.matchMedia("(pointer: coarse), (hover: none)").matches);
    fileInputs.forEach(function (input) {
      var zone = input.closest("[data-dropzone]");
      if (!zone) { return; }
      var hint = zone.querySelector("[data-drop-hint]");
      if (hint && window.DataTransfer && !touch) { hint.hidden = false; }
      var touchHint = zone.querySelector("[data-touch-hint]");
      if (touchHint && touch) { touchHint.hidden = false; }
      input.addEventListener("change", function () {
        var box = form.querySelector("[data-errors-for='" + input.name + "']");
        if (box) { box.textContent = ""; }
        input.classList.remove("is-invalid");
        input.removeAttribute("aria-invalid");
        renderPreviews(input);
      });
      ["dragenter", "dragover"].forEach(function (type) {
        zone.addEventListener(type, function (event) {
          event.preventDefault();
          zone.classList.add("border-primary");
        });
      });
      ["dragleave", "drop"].forEach(function (type) {
        zone.addEventListener(type, function () { zone.classList.remove("border-primary"); });
      });
      zone.addEventListener("drop", function (event) {
        event.preventDefault();
        var dropped = Array.prototype.slice.call(event.dataTransfer.files);
        var kept = input.multiple ? Array.prototype.slice.call(input.files) : [];
        setFiles(input, kept.concat(input.multiple ? dropped : dropped.slice(0, 1)));
      });
    });

    // --- Checks that mirror the server's limits, before anything is sent ------------------------
    function check() {
      var errors = {};
      var count = 0;
      var total = 0;
      fileInputs.forEach(function (input) {
        var csv = input.dataset.kind === "csv";
        Array.prototype.forEach.call(input.files, function (file) {
          count += 1;
          total += file.size;
          var problem = null;
          if (!accepted(input, file)) {
            problem = say(csv ? data.msgCsvType : data.msgType, { name: file.name });
          } else if (file.size > parseInt(csv ? data.maxCsvBytes : data.maxImageBytes, 10)) {
            problem = say(data.msgSize, { name: file.name, limit: csv ? data.limitCsv : data.limitImage });
          }
          if (problem) { (errors[input.name] = errors[input.name] || []).push(problem); }
        });
      });
      var general = [];
      if (count > parseInt(data.maxFiles, 10)) { general.push(say(data.msgCount, { max: data.maxFiles })); }
      if (total > parseInt(data.maxTotalBytes, 10)) { general.push(say(data.msgTotal, { limit: data.limitTotal })); }
      if (general.length) { errors.__all__ = general; }
      return errors;
    }

    // --- Sending, with per-file progress --------------------------------------------------------
    function fileRanges() {
      // The browser sends parts in document order, so each file occupies a known stretch of the body.
      var ranges = [];
      var offset = 0;
      perFile.textContent = "";
      fileInputs.forEach(function (input) {
        Array.prototype.forEach.call(input.files, function (file) {
          var item = document.createElement("li");
          item.className = "mb-1";
          var name = document.createElement("span");
          name.textContent = file.name;
          var meter = document.createElement("progress");
          meter.max = 100;
          meter.value = 0;
          meter.className = "ms-2 align-middle";
          meter.setAttribute("aria-label", file.name);
          item.appendChild(name);
          item.appendChild(meter);
          perFile.appendChild(item);
          ranges.push({ start: offset, size: Math.max(1, file.size), meter: meter });
          offset += file.size;
        });
      });
      return { ranges: ranges, bytes: offset };
    }

    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest) { return; } // plain form post
      event.preventDefault();
      clearErrors();
      var problems = check();
      if (Object.keys(problems).length) {
        showErrors(problems);
        return;
      }
      var layout = fileRanges();
      progress.hidden = false;
      submit.disabled = true;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { return; }
        var percent = Math.round((e.loaded / e.total) * 100);
        bar.style.width = percent + "%";
        bar.textContent = percent + "%";
        bar.parentNode.setAttribute("aria-valuenow", String(percent));
        var filesLoaded = e.loaded * (layout.bytes / Math.max(1, e.total)); // the rest of the body is form fields
        layout.ranges.forEach(function (range) {
          range.meter.value = Math.max(0, Math.min(100, Math.round(((filesLoaded - range.start) / range.size) * 100)));
        });
      });
      xhr.addEventListener("load", function () {
        submit.disabled = false;
        var reply = null;
        try { reply = JSON.parse(xhr.responseText); } catch (_e) { reply = null; }
        if (xhr.status === 200 && reply && reply.redirect) {
          window.location.assign(reply.redirect);
          return;
        }
        progress.hidden = true;
        if (xhr.status === 400 && reply && reply.errors) {
          if (reply.fresh_photo) {  // the photo code was refused: show the new one issued with the errors
            form.querySelectorAll("[data-fresh-photo-code]").forEach(function (el) { el.textContent = reply.fresh_photo.code; });
            form.querySelectorAll("input[name='fresh_photo_token']").forEach(function (el) { el.value = reply.fresh_photo.token; });
          }
          showErrors(reply.errors);  // the chosen files stay: replace only what was refused
        } else {
          showErrors({ __all__: [xhr.status === 429 ? data.msgBusy : data.msgNetwork] });
        }
      });
      xhr.addEventListener("error", function () {
        submit.disabled = false;
        progress.hidden = true;
        showErrors({ __all__: [data.msgNetwork] });
      });
      xhr.send(new FormData(form));
    });
  }
})();
