// Waiting for the host to let this phone back in: check every few seconds (the same page, so
// the server's answer decides: approved redirects to the game, anything else is shown).
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var card = document.querySelector("[data-poll]");
  if (!card) return;
  function check() {
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected) { window.location.assign(response.url); return null; }
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.querySelector("#rejoin");
        if (!fresh) return;
        card.innerHTML = fresh.innerHTML;
        if (fresh.hasAttribute("data-poll")) window.setTimeout(check, 3000);
      })
      .catch(function () { window.setTimeout(check, 3000); });  // offline: try again
  }
  window.setTimeout(check, 3000);
})();
