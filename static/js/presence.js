/* Collision detection on an appeal's console page: beat every few seconds (tickets/services/presence.py)
   saying whether this person is writing (a text box here has focus or text), and show who else has the
   appeal open. Without JavaScript the page works as before, without the notice. */
(function () {
  "use strict";
  var box = document.querySelector("[data-presence]");
  if (!box) { return; }
  var url = box.getAttribute("data-presence-url");
  var seconds = parseInt(box.getAttribute("data-presence-seconds"), 10) || 3;
  var tokenInput = document.querySelector("input[name='csrfmiddlewaretoken']");
  if (!tokenInput) { return; }
  var token = tokenInput.value;

  function writing() {
    var active = document.activeElement;
    if (active && active.tagName === "TEXTAREA") { return true; }
    return Array.prototype.some.call(document.querySelectorAll("main textarea"), function (area) {
      return area.value.trim() !== "";
    });
  }

  function beat() {
    var body = new FormData();
    body.append("csrfmiddlewaretoken", token);
    body.append("writing", writing() ? "1" : "0");
    fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": token } })
      .then(function (response) { return response.ok ? response.json() : { message: "" }; })
      .then(function (data) {
        box.textContent = data.message || "";
        box.hidden = !data.message;
      })
      .catch(function () { box.hidden = true; });
  }

  beat();
  var timer = window.setInterval(beat, seconds * 1000);
  window.addEventListener("pagehide", function () {
    window.clearInterval(timer);
    var body = new FormData();
    body.append("csrfmiddlewaretoken", token);
    body.append("leave", "1");
    navigator.sendBeacon(url, body);
  });
})();
