/* Canned replies in the console's reply box (templates/desk/_canned_replies.html): "/" typed into an
   empty reply box, or the button, opens a list to filter; the arrow keys choose, Enter inserts the reply
   (filled for this appeal on the server), Esc closes. Without JavaScript nothing is offered. */
(function () {
  "use strict";
  var holder = document.querySelector("[data-canned]");
  if (!holder) { return; }
  var box = document.getElementById(holder.getAttribute("data-canned-for"));
  var picker = holder.querySelector("template[data-canned-picker]");
  var source = holder.querySelector("template[data-canned-replies]");
  if (!box || !picker || !source) { return; }

  var replies = Array.prototype.map.call(source.content.querySelectorAll("[data-canned-reply]"), function (node) {
    return { id: node.getAttribute("data-canned-reply"), title: node.getAttribute("data-title"), text: node.textContent };
  });
  holder.appendChild(picker.content.cloneNode(true));
  var open = holder.querySelector("[data-canned-open]");
  var panel = holder.querySelector("[data-canned-panel]");
  var filter = holder.querySelector("[data-canned-filter]");
  var list = holder.querySelector("[data-canned-list]");
  var none = holder.querySelector("[data-canned-none]");
  var shown = [];
  var active = -1;

  function render() {
    var words = filter.value.trim().toLowerCase();
    shown = replies.filter(function (reply) {
      return !words || (reply.title + " " + reply.text).toLowerCase().indexOf(words) !== -1;
    });
    list.textContent = "";
    shown.forEach(function (reply, index) {
      var item = document.createElement("li");
      item.className = "list-group-item list-group-item-action";
      item.id = "canned-option-" + reply.id;
      item.setAttribute("role", "option");
      item.setAttribute("data-canned-option", reply.id);
      var title = document.createElement("strong");
      title.className = "d-block";
      title.textContent = reply.title;
      var preview = document.createElement("span");
      preview.className = "d-block text-truncate";
      preview.textContent = reply.text;
      item.appendChild(title);
      item.appendChild(preview);
      item.addEventListener("mousedown", function (event) { event.preventDefault(); });
      item.addEventListener("click", function () { insert(index); });
      list.appendChild(item);
    });
    none.hidden = shown.length > 0;
    list.hidden = shown.length === 0;
    choose(shown.length ? 0 : -1);
  }

  function choose(index) {
    active = index;
    Array.prototype.forEach.call(list.children, function (item, i) {
      item.classList.toggle("active", i === index);
      item.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (index >= 0) {
      filter.setAttribute("aria-activedescendant", list.children[index].id);
      list.children[index].scrollIntoView({ block: "nearest" });
    } else {
      filter.removeAttribute("aria-activedescendant");
    }
  }

  function show() {
    panel.hidden = false;
    open.setAttribute("aria-expanded", "true");
    filter.value = "";
    render();
    filter.focus();
  }

  function hide(focusBox) {
    panel.hidden = true;
    open.setAttribute("aria-expanded", "false");
    if (focusBox) { box.focus(); }
  }

  function insert(index) {
    var reply = shown[index];
    if (!reply) { return; }
    hide(false);
    var start = box.selectionStart, end = box.selectionEnd;
    box.value = box.value.slice(0, start) + reply.text + box.value.slice(end);
    box.focus();
    box.setSelectionRange(start + reply.text.length, start + reply.text.length);
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  open.addEventListener("click", function () {
    if (panel.hidden) { show(); } else { hide(true); }
  });
  box.addEventListener("keydown", function (event) {
    if (event.key === "/" && box.value === "" && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      show();
    }
  });
  filter.addEventListener("input", render);
  filter.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" && shown.length) {
      event.preventDefault();
      choose((active + 1) % shown.length);
    } else if (event.key === "ArrowUp" && shown.length) {
      event.preventDefault();
      choose((active - 1 + shown.length) % shown.length);
    } else if (event.key === "Enter") {
      event.preventDefault(); // never submits the reply form
      insert(active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      hide(true);
    }
  });
  panel.addEventListener("focusout", function (event) {
    if (!panel.hidden && !holder.contains(event.relatedTarget)) { hide(false); }
  });
})();
