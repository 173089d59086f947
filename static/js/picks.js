// The phone's picks: a tap is a saved pick. Each tap is kept in localStorage (per game, round
// and player, so it survives a reload or a dead battery tab) until the server has confirmed it,
// and is sent at once over the socket, else over HTTP, else again on reconnect. The tapped
// button shows where its pick is: saving… / saved ✓ / not saved — retrying. Taps that reach
// the server after the host locked are listed as too late until the player's next action.
(function () {
  "use strict";
  var live = window.CallitLive;
  if (!live) return;
  var root = live.root, socket = live.socket, code = root.dataset.code;
  var PREFIX = "callit:picks:" + code + ":";
  var ACK_TIMEOUT_MS = 8000;
  var RETRY_MS = [1000, 2000, 4000, 8000, 15000];

  var inFlight = null;     // {round, answers: {qid: answer}} while a send is on its way
  var failures = 0;        // sends failed in a row, for the retry backoff
  var retryTimer = null;
  var late = null;         // the "arrived too late" notice, kept across swaps

  function player() {
    var me = root.querySelector("[data-player]");
    return me ? me.dataset.player : null;
  }
  function openForm() { return root.querySelector("form[data-picks]"); }
  // The round the panel shows, and whether it still takes picks.
  function shownRound() {
    var form = openForm();
    if (form) return { number: form.dataset.round, open: true };
    var section = root.querySelector("[data-round]");
    return section ? { number: section.dataset.round, open: false } : null;
  }

  // ---- storage: "callit:picks:<code>:<round>:<player>" -> {question id: {answer, body}}
  function key(round) { return PREFIX + round + ":" + player(); }
  function load(round) {
    try { return JSON.parse(window.localStorage.getItem(key(round))) || {}; } catch (e) { return {}; }
  }
  function store(round, pending) {
    try {
      if (Object.keys(pending).length) window.localStorage.setItem(key(round), JSON.stringify(pending));
      else window.localStorage.removeItem(key(round));
    } catch (e) { /* private mode or full: the taps still go out while the page lives */ }
  }
  // Every round this player has unsent taps for, in this game.
  function storedRounds() {
    var rounds = [], suffix = ":" + player();
    try {
      for (var i = 0; i < window.localStorage.length; i++) {
        var k = window.localStorage.key(i);
        if (k && k.indexOf(PREFIX) === 0 && k.slice(-suffix.length) === suffix) {
          rounds.push(k.slice(PREFIX.length, k.length - suffix.length));
        }
      }
    } catch (e) { /* no storage */ }
    return rounds;
  }

  // ---- what each button shows
  var STATES = { saving: _("saving…"), saved: _("saved ✓"), failed: _("not saved — retrying") };
  function group(qid) { return root.querySelector("form[data-picks] [data-question='" + qid + "']"); }
  function show(qid, answer, state, message) {
    var fieldset = group(qid);
    if (!fieldset) return;
    fieldset.querySelectorAll("label.choice").forEach(function (label) {
      var input = label.querySelector("input");
      var mine = input.value === answer;
      if (mine) input.checked = true;
      if (mine && state) label.setAttribute("data-state", state);
      else label.removeAttribute("data-state");
      var note = label.querySelector(".pick-state");
      if (mine && state) {
        if (!note) {
          note = document.createElement("small");
          note.className = "pick-state";
          label.querySelector("span").appendChild(note);
        }
        note.textContent = message || STATES[state];
      } else if (note) {
        note.remove();
      }
      // the page's own idea of what the server holds, so a live swap keeps exactly the unsent taps
      if (state === "saved") input.defaultChecked = mine;
    });
    var status = fieldset.querySelector(".pick-status");
    if (!status) {
      status = document.createElement("p");
      status.className = "sr-only pick-status";
      status.setAttribute("role", "status");
      fieldset.appendChild(status);
    }
    status.textContent = state ? answer + ": " + (message || STATES[state]) : "";
  }

  // ---- too late
  function bodyOf(qid) {
    var fieldset = group(qid);
    var legend = fieldset && fieldset.querySelector("legend");
    return legend ? legend.textContent.trim() : _("Question %(id)s", { id: qid });
  }
  function reportLate(entries) {
    if (!entries.length) return;
    if (!late) {
      late = document.createElement("div");
      late.className = "errors late-picks";
      late.setAttribute("role", "alert");
      late.id = "late-picks";
      var intro = document.createElement("p");
      intro.textContent = _("These picks arrived after the host locked the round, so they were not saved:");
      late.appendChild(intro);
      late.appendChild(document.createElement("ul"));
    }
    var list = late.querySelector("ul");
    entries.forEach(function (entry) {
      var item = document.createElement("li");
      item.textContent = entry.body + " — " + entry.answer;
      list.appendChild(item);
    });
    placeLate();
  }
  function placeLate() {
    if (!late) return;
    var me = root.querySelector("#me");
    if (late.parentNode !== root) root.insertBefore(late, me ? me.nextSibling : root.firstChild);
  }
  // It stays until the player does something next (a tap or a key), not until the next refresh.
  // (The tap that led to it came before it: its pointerdown precedes the answer.)
  function dismissLate() {
    if (!late) return;
    late.remove();
    late = null;
  }
  document.addEventListener("pointerdown", dismissLate, true);
  document.addEventListener("keydown", dismissLate, true);

  function lateFromStore(round) {
    var pending = load(round), entries = [];
    Object.keys(pending).forEach(function (qid) {
      entries.push({ body: pending[qid].body, answer: pending[qid].answer });
    });
    store(round, {});
    return entries;
  }

  // ---- sending
  function schedule() {
    if (retryTimer) return;
    var wait = RETRY_MS[Math.min(failures, RETRY_MS.length - 1)];
    retryTimer = window.setTimeout(function () { retryTimer = null; flush(); }, wait);
  }

  // Over the socket if it is up: `merge_picks` adds just the taps not saved yet to the
  // player's picks. Else the page's own form, over HTTP, which replaces them: so it sends
  // everything ticked, saved or not.
  // The round goes with the taps: should the server have moved on to another round meanwhile,
  // it stores nothing and answers 409 (reported as late below), never counting them there.
  function send(form, round, taps, ticked, done) {
    if (socket.connected) {
      var list = Object.keys(taps).map(function (qid) {
        return { question_id: Number(qid), answer: taps[qid] };
      });
      socket.timeout(ACK_TIMEOUT_MS).emit("merge_picks", { answers: list, round: Number(round) }, function (err, ack) {
        if (err || !ack) done({ retry: true });
        else if (ack.ok) done({ ok: true });
        else done({ status: ack.status, errors: ack.errors || [] });
      });
      return;
    }
    var body = new FormData();
    body.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
    body.append("round", round);
    Object.keys(ticked).forEach(function (qid) { body.append("q" + qid, ticked[qid]); });
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin",
                         headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.ok) return done({ ok: true });
        return response.text().then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var errors = Array.prototype.map.call(page.querySelectorAll("#form-errors li"),
                                                function (li) { return li.textContent.trim(); });
          done({ status: response.status, errors: errors });
        });
      })
      .catch(function () { done({ retry: true }); });
  }

  function flush() {
    if (inFlight) return;
    var shown = shownRound(), form = openForm();
    if (!shown || !player()) return;
    // Taps for a round the panel no longer offers (fresh from the server) can never count.
    storedRounds().forEach(function (round) {
      if (round !== shown.number || !shown.open) reportLate(lateFromStore(round));
    });
    if (!form) return;
    var round = shown.number, pending = load(round);
    if (!Object.keys(pending).length) return;
    var taps = {}, ticked = {};
    form.querySelectorAll("input[type=radio]:checked").forEach(function (input) {
      ticked[input.name.slice(1)] = input.value;
    });
    Object.keys(pending).forEach(function (qid) { taps[qid] = ticked[qid] = pending[qid].answer; });
    inFlight = { round: round, answers: taps };
    Object.keys(pending).forEach(function (qid) { show(qid, pending[qid].answer, "saving"); });
    send(form, round, taps, ticked, function (result) {
      var sent = inFlight;
      inFlight = null;
      var now = load(sent.round);  // taps made while this was on its way stay pending
      if (result.ok) {
        failures = 0;
        Object.keys(sent.answers).forEach(function (qid) {
          if (now[qid] && now[qid].answer === sent.answers[qid]) delete now[qid];
          if (!now[qid]) show(qid, sent.answers[qid], "saved");
        });
        store(sent.round, now);
        if (Object.keys(now).length) flush();
      } else if (result.status === 409) {
        // locked (or the game ended) meanwhile: say exactly which taps did not count
        var entries = Object.keys(now).map(function (qid) {
          show(qid, now[qid].answer, null);
          return { body: now[qid].body, answer: now[qid].answer };
        });
        store(sent.round, {});
        reportLate(entries);
        live.refresh();
      } else if (result.retry || result.status === 429 || result.status >= 500) {
        failures += 1;
        Object.keys(now).forEach(function (qid) { show(qid, now[qid].answer, "failed"); });
        schedule();
      } else {
        // refused for good (a contender or question the round no longer has, signed out):
        // say why and stop sending these taps
        var why = _("not saved: %(reason)s", { reason: result.errors.join(" ") || _("refused (%(status)s)", { status: result.status }) });
        Object.keys(now).forEach(function (qid) { show(qid, now[qid].answer, "refused", why); });
        store(sent.round, {});
        live.refresh();
      }
    });
  }

  // Pending taps shown again on whatever panel the server sent (a reload, a live swap), then
  // sent: a swap follows every (re)connect, so what is sent matches the round the server has.
  function reapply(andSend) {
    placeLate();
    var shown = shownRound();
    if (shown && shown.open) {
      var pending = load(shown.number);
      Object.keys(pending).forEach(function (qid) {
        show(qid, pending[qid].answer, failures && !inFlight ? "failed" : "saving");
      });
    }
    if (andSend) flush();
  }

  function tap(input) {
    var form = openForm();
    if (!form || !form.contains(input) || input.type !== "radio") return;
    var round = form.dataset.round, qid = input.name.slice(1), pending = load(round);
    pending[qid] = { answer: input.value, body: bodyOf(qid) };
    store(round, pending);
    show(qid, input.value, inFlight || failures ? (socket.connected ? "saving" : "failed") : "saving");
    flush();
  }

  root.addEventListener("change", function (event) { tap(event.target); });
  // The no-JavaScript "Lock in my picks" button is hidden; Enter in the form must not post it.
  root.addEventListener("submit", function (event) {
    if (!event.target.hasAttribute("data-picks")) return;
    event.preventDefault();
    event.target.querySelectorAll("input[type=radio]:checked").forEach(function (input) {
      if (!input.defaultChecked) tap(input);
    });
  });
  live.swapped.push(function () { reapply(true); });
  socket.on("connect", function () { failures = 0; });
  // Loaded with unsent taps: they go with the swap after connecting, or over HTTP if the
  // socket cannot connect at all.
  reapply(false);
  window.setTimeout(flush, 3000);
})();
