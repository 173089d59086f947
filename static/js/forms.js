// Forms outside the live panels (join, start a game, the question bank) are sent by the
// script: with no connection the page stays, with what was typed, and says it was not sent,
// instead of turning into the browser's offline page. A redirect is followed; a refused form
// comes back as the page with its messages, shown in place. (Live panels: see live.js.)
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var NOT_SENT = _("Not sent: no connection. What you entered is kept here; send it again when you're back online.");

  // The error box a form shows (as the server renders _errors.html); live.js uses it too.
  function errorBox(messages) {
    var box = document.createElement("div");
    box.className = "errors";
    box.id = "form-errors";
    box.setAttribute("role", "alert");
    box.tabIndex = -1;
    var list = document.createElement("ul");
    messages.forEach(function (text) {
      var item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
    });
    box.appendChild(list);
    return box;
  }
  window.callitErrorBox = errorBox;

  function say(form, text) {
    var old = document.getElementById("form-errors");
    if (old) old.remove();
    var box = errorBox([text]);
    form.insertBefore(box, form.firstChild);
    box.focus();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.closest("[data-live]") || form.method.toLowerCase() !== "post"
        || form.enctype === "multipart/form-data") return;
    event.preventDefault();
    var body = new FormData(form);
    var button = event.submitter;
    if (button && button.name) body.append(button.name, button.value);
    if (button) button.disabled = true;
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin",
                         headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected) { window.location.assign(response.url); return null; }
        return response.text().then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var main = page.querySelector("main");
          if (!main) throw new Error("no page");
          document.querySelector("main").innerHTML = main.innerHTML;
          document.title = page.title;
          var focus = document.querySelector("main [autofocus]") || document.getElementById("form-errors");
          if (focus) focus.focus();
        });
      })
      .catch(function () {
        if (button) button.disabled = false;
        say(form, NOT_SENT);
      });
  });
})();
