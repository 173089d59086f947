// The topbar's connection indicator (#connection), shared by the live pages and the question
// bank: "● Live" while the socket is connected, "Reconnecting…" otherwise. `onChange(online)`
// lets a page react too (live.js: nothing is on its way while offline).
window.callitConnection = function (socket, onChange) {
  "use strict";
  var status = document.getElementById("connection");
  function show(online) {
    if (onChange) onChange(online);
    if (!status) return;
    status.textContent = online ? _("● Live") : _("Reconnecting…");
    status.className = "connection " + (online ? "online" : "offline");
  }
  socket.on("connect", function () { show(true); });
  socket.on("disconnect", function () { show(false); });
  socket.on("connect_error", function () { show(false); });
};
