// Live pages: on each game event (and on every (re)connect, via `state`) fetch the page's
// panel from the server and swap it in. The server stays the only source of truth; what the
// user was typing or had ticked but not yet sent is carried over the swap, and so is a form's
// error message while the panel still shows the same thing.
(function () {
  "use strict";
  document.documentElement.classList.add("js");  // hides the no-JavaScript "Refresh" links
  var root = document.querySelector("[data-live]");
  if (!root || typeof io === "undefined") return;
  var pagePath = root.dataset.url || window.location.pathname;
  var auth = { code: root.dataset.code };
  if (root.dataset.role) auth.as = root.dataset.role;

  // A refused form is rendered at the URL it was posted to (e.g. /host/ABCD/rounds): show the
  // page's own URL instead, so a reload fetches the page rather than posting the form again.
  if (window.location.pathname !== pagePath) {
    window.history.replaceState(null, "", pagePath);
  }

  // Busy until the first fetch after connecting has brought the panel up to date, and while
  // any later fetch is on its way.
  root.setAttribute("aria-busy", "true");
  var socket = io({ auth: auth, transports: ["websocket", "polling"] });

  function formScope(form) {
    return form ? (form.dataset.key || form.getAttribute("action")) : "";
  }
  function fieldKey(el) {
    return formScope(el.form) + "|" + el.name + (el.type === "radio" || el.type === "checkbox" ? "=" + el.value : "");
  }

  // After a refused form the page holds what was typed as its initial values: until the first
  // swap, all of it counts as unsent.
  var errors = root.querySelector("#form-errors");
  var typedAtLoad = Boolean(errors);
  var errorsIndex = errors ? Array.prototype.indexOf.call(root.children, errors) : -1;

  function unsavedInput() {
    var saved = {};
    root.querySelectorAll("input[name], textarea[name], select[name]").forEach(function (el) {
      if (el.type === "hidden") return;
      if (el.type === "radio" || el.type === "checkbox") {
        if (typedAtLoad || el.checked !== el.defaultChecked) saved[fieldKey(el)] = el.checked;
      } else if (el.tagName === "SELECT") {
        if (el.value && (typedAtLoad || !el.options[el.selectedIndex].defaultSelected)) saved[fieldKey(el)] = el.value;
      } else if (typedAtLoad || el.value !== el.defaultValue) {
        saved[fieldKey(el)] = el.value;
      }
    });
    var active = document.activeElement;
    return { values: saved, open: unfolded(),
             focus: active && root.contains(active) && active.name ? fieldKey(active) : null };
  }

  // a confirmation or the players' controls the user has unfolded stay unfolded
  function unfolded() {
    var open = [];
    root.querySelectorAll("details[open][data-key]").forEach(function (el) { open.push(el.dataset.key); });
    return open;
  }

  function restore(saved) {
    root.querySelectorAll("details[data-key]").forEach(function (el) {
      if (saved.open.indexOf(el.dataset.key) !== -1) el.open = true;
    });
    root.querySelectorAll("input[name], textarea[name], select[name]").forEach(function (el) {
      var key = fieldKey(el);
      if (key in saved.values) {
        if (el.type === "radio" || el.type === "checkbox") el.checked = saved.values[key];
        else el.value = saved.values[key];
      }
      if (key === saved.focus) el.focus();
    });
  }

  // Screen readers hear what changed (the panel's heading), not the whole swapped panel.
  var announcer = document.createElement("p");
  announcer.className = "sr-only";
  announcer.setAttribute("role", "status");
  document.body.appendChild(announcer);
  function headline() {
    var heading = root.querySelector("h1");
    return heading ? heading.textContent.replace(/\s+/g, " ").trim() : "";
  }

  function panelUrl() {
    // keep the page's own query (e.g. ?saved=1 shows "Picks saved") and ask for the panel only
    var params = new URLSearchParams(window.location.search);
    params.set("partial", "1");
    return pagePath + "?" + params.toString();
  }

  // Motion: rows of a standings table glide from where they were to where they are now
  // (FLIP), new rows slide in; skipped for those who asked for less motion.
  var calm = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  function rowPlaces() {
    var places = {};
    root.querySelectorAll("tr[data-player]").forEach(function (row) {
      places[row.dataset.player] = row.getBoundingClientRect().top;
    });
    return places;
  }
  function glide(before) {
    if (calm || !Element.prototype.animate || !Object.keys(before).length) return;
    root.querySelectorAll("tr[data-player]").forEach(function (row) {
      var was = before[row.dataset.player];
      if (was === undefined) {  // new in the top 10: slides in (no fading: text stays legible)
        row.animate([{ transform: "translateX(-1.5em)" }, { transform: "none" }],
                    { duration: 700, easing: "ease-out" });
      } else if (Math.abs(was - row.getBoundingClientRect().top) > 1) {
        var dy = was - row.getBoundingClientRect().top;
        row.animate([{ transform: "translateY(" + dy + "px)" }, { transform: "none" }],
                    { duration: 900, easing: "ease-in-out" });
      }
    });
  }


  // `sent`: the panel is the answer to this form, just sent by this page; what was typed in it
  // went with it and is either saved (not to be put back) or echoed by the server with its
  // errors. What was typed in the panel's other forms was not sent, and is kept like on any
  // live update (a host typing the next round's contenders while a cancel is answered).
  function swap(html, sent) {
    var fresh = Boolean(sent);
    var saved = unsavedInput();
    if (fresh) {
      var scope = formScope(sent) + "|";
      Object.keys(saved.values).forEach(function (key) {
        if (key.indexOf(scope) === 0) delete saved.values[key];
      });
      saved.focus = null;
    }
    var before = headline();
    var places = rowPlaces();
    root.innerHTML = html;
    glide(places);
    var after = headline();
    if (!fresh && errors && after === before && !root.querySelector("#form-errors")) {
      root.insertBefore(errors, root.children[errorsIndex] || null);  // still about this panel
    } else {
      errors = root.querySelector("#form-errors");
      errorsIndex = errors ? Array.prototype.indexOf.call(root.children, errors) : -1;
      if (fresh && errors) errors.focus();
    }
    restore(saved);
    // a refused form's answer holds what was typed: until the next swap, all of it is unsent
    typedAtLoad = Boolean(fresh && errors);
    if (after && after !== before) announcer.textContent = after;
    live.swapped.forEach(function (hook) { hook(); });
  }

  // What other scripts of the page (picks.js) build on: the socket, the panel, and hooks run
  // after every swap of the panel.
  var live = window.CallitLive = { socket: socket, root: root, swapped: [], refresh: null };

  var pending = null;
  function refresh() {
    if (pending) { pending.again = true; return; }
    pending = { again: false };
    root.setAttribute("aria-busy", "true");
    fetch(panelUrl(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        // not joined, or signed out (another device is this player now): the page itself says so
        if (response.redirected || response.status === 401) { window.location.assign(pagePath); return null; }
        return response.ok ? response.text() : null;  // keep what is shown; the next event retries
      })
      .then(function (html) {
        if (html !== null) swap(html);
      })
      .catch(function () { /* offline: the next reconnect refreshes again */ })
      .then(function () {
        var again = pending && pending.again;
        pending = null;
        if (again) refresh();
        else root.removeAttribute("aria-busy");
      });
  }

  live.refresh = refresh;

  // A form is sent by the script, never by the browser: with no connection the page stays as
  // it is, with what was typed, and says so, instead of turning into the browser's offline
  // page. The answer (the page the form led to, or the form again with its errors) is
  // swapped in like any live update. Forms that handle themselves (`data-picks`) are left alone.
  root.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-picks") || event.defaultPrevented) return;
    event.preventDefault();
    var button = event.submitter;
    var body = new FormData(form);
    if (button && button.name) body.append(button.name, button.value);
    if (button) button.disabled = true;
    root.setAttribute("aria-busy", "true");
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin",
                         headers: { "Accept": "text/html" } })
      .then(function (response) {
        return response.text().then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var panel = page.querySelector("[data-live]");
          if (!panel) {  // not a live page (an error page): show its message in this one
            var messages = Array.prototype.map.call(page.querySelectorAll("main li, main p"),
                                                    function (el) { return el.textContent.trim(); });
            throw messages.filter(Boolean).length ? messages.filter(Boolean) : [_("Not sent: the server answered %(status)s", { status: response.status })];
          }
          swap(panel.innerHTML, form);
        });
      })
      .catch(function (failure) {
        var messages = Array.isArray(failure) ? failure
          : [_("Not sent: no connection. What you entered is kept here; send it again when you're back online.")];
        var old = root.querySelector("#form-errors");
        if (old) old.remove();
        // above the card holding the form, where the server puts a form's errors too
        var card = form;
        while (card.parentNode !== root) card = card.parentNode;
        errors = window.callitErrorBox(messages);  // forms.js
        root.insertBefore(errors, card);
        errorsIndex = Array.prototype.indexOf.call(root.children, errors);
        errors.focus();
        if (button) button.disabled = false;
      })
      .then(function () { root.removeAttribute("aria-busy"); });
  });

  callitConnection(socket, function (online) {
    if (!online && !pending) root.removeAttribute("aria-busy");  // nothing is on its way
  });
  socket.on("state", refresh);
  socket.on("resync", refresh);  // live updates were interrupted (Redis was away): catch up
  // The host removed this player: the server disconnects this socket; the page itself (loaded
  // again) says so, and keeps saying so on every reload.
  socket.on("removed", function () { window.location.assign(pagePath); });
  (root.dataset.events || "").split(" ").forEach(function (name) {
    if (name) socket.on(name, refresh);
  });
  // Back from a dead zone: reconnect now rather than at the end of the backoff (the
  // reconnection's `state` then brings the panel up to date).
  window.addEventListener("online", function () {
    if (!socket.connected) socket.disconnect().connect();
  });
})();
