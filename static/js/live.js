// Live pages: on each game event (and on every (re)connect, via `state`) fetch the page's
// panel from the server and swap it in. The server stays the only source of truth; what the
// user was typing or had ticked but not yet sent is carried over the swap.
(function () {
  "use strict";
  var root = document.querySelector("[data-live]");
  if (!root || typeof io === "undefined") return;
  var status = document.getElementById("connection");
  var auth = { code: root.dataset.code };
  if (root.dataset.role) auth.as = root.dataset.role;
  var socket = io({ auth: auth, transports: ["websocket", "polling"] });

  function fieldKey(el) {
    var form = el.form;
    var scope = form ? (form.dataset.key || form.getAttribute("action")) : "";
    return scope + "|" + el.name + (el.type === "radio" || el.type === "checkbox" ? "=" + el.value : "");
  }

  function unsavedInput() {
    var saved = {};
    root.querySelectorAll("input[name], textarea[name], select[name]").forEach(function (el) {
      if (el.type === "hidden") return;
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.checked !== el.defaultChecked) saved[fieldKey(el)] = el.checked;
      } else if (el.tagName === "SELECT") {
        if (el.value && !el.options[el.selectedIndex].defaultSelected) saved[fieldKey(el)] = el.value;
      } else if (el.value !== el.defaultValue) {
        saved[fieldKey(el)] = el.value;
      }
    });
    var active = document.activeElement;
    return { values: saved, focus: active && root.contains(active) && active.name ? fieldKey(active) : null };
  }

  function restore(saved) {
    root.querySelectorAll("input[name], textarea[name], select[name]").forEach(function (el) {
      var key = fieldKey(el);
      if (key in saved.values) {
        if (el.type === "radio" || el.type === "checkbox") el.checked = saved.values[key];
        else el.value = saved.values[key];
      }
      if (key === saved.focus) el.focus();
    });
  }

  var pending = null;
  function refresh() {
    if (pending) { pending.again = true; return; }
    pending = { again: false };
    var url = window.location.pathname + "?partial=1";
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.redirected || !response.ok) { window.location.reload(); return null; }
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        var saved = unsavedInput();
        root.innerHTML = html;
        restore(saved);
      })
      .catch(function () { /* offline: the next reconnect refreshes again */ })
      .then(function () {
        var again = pending && pending.again;
        pending = null;
        if (again) refresh();
      });
  }

  function setStatus(online) {
    if (!status) return;
    status.textContent = online ? "● Live" : "Reconnecting…";
    status.className = "connection " + (online ? "online" : "offline");
  }

  socket.on("connect", function () { setStatus(true); });
  socket.on("disconnect", function () { setStatus(false); });
  socket.on("connect_error", function () { setStatus(false); });
  socket.on("state", refresh);
  (root.dataset.events || "").split(" ").forEach(function (name) {
    if (name) socket.on(name, refresh);
  });
})();
