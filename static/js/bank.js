// Keeps the question bank list live: inserts each `newquestion` in body order.
(function () {
  "use strict";
  var list = document.getElementById("question-list");
  if (!list || typeof io === "undefined") return;
  document.documentElement.classList.add("js");  // hides the no-JavaScript "Refresh" link
  var status = document.getElementById("connection");
  function setStatus(online) {
    if (!status) return;
    status.textContent = online ? "● Live" : "Reconnecting…";
    status.className = "connection " + (online ? "online" : "offline");
  }
  var socket = io({ transports: ["websocket", "polling"] });
  socket.on("connect", function () { setStatus(true); });
  socket.on("disconnect", function () { setStatus(false); });
  socket.on("connect_error", function () { setStatus(false); });
  socket.on("newquestion", function (q) {
    if (list.querySelector('[data-id="' + q.id + '"]')) return;
    var empty = list.querySelector(".empty");
    if (empty) empty.remove();
    var item = document.createElement("li");
    item.dataset.id = q.id;
    item.textContent = q.body;
    item.className = "fresh";
    var before = Array.prototype.find.call(list.children, function (li) {
      return li.textContent.localeCompare(q.body) > 0;
    });
    list.insertBefore(item, before || null);
    var count = document.getElementById("question-count");
    if (count) count.textContent = "(" + list.querySelectorAll("li[data-id]").length + ")";
  });
})();
