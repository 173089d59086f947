// Countdowns of timed rounds ([data-locks-at]), run on the server's clock: each element
// carries the server's time when it was rendered, so the device's own clock (often minutes
// off on phones) only measures how much time has passed since. Panels swapped in by live.js
// bring fresh elements, and with them a fresh reading of the server's clock.
(function () {
  "use strict";
  function format(seconds) {
    var s = seconds % 60;
    return Math.floor(seconds / 60) + ":" + (s < 10 ? "0" : "") + s;
  }
  function tick() {
    document.querySelectorAll("[data-locks-at]").forEach(function (el) {
      if (!el.dataset.offset) {
        el.dataset.offset = String(Date.parse(el.dataset.serverTime) - Date.now());
      }
      var now = Date.now() + Number(el.dataset.offset);
      var left = Math.max(0, Math.ceil((Date.parse(el.dataset.locksAt) - now) / 1000));
      var out = el.querySelector(".countdown-left");
      if (out && out.textContent !== format(left)) out.textContent = format(left);
      el.classList.toggle("ending", left <= 10);
    });
  }
  tick();
  setInterval(tick, 250);
})();
