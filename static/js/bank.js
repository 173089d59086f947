// Keeps the question bank live: a new question goes into "Not in a pack" in body order, a question
// added to a pack moves into that pack's list (pack order: last), and an import offers a reload.
(function () {
  "use strict";
  if (!document.querySelector(".question-list") || typeof io === "undefined") return;
  document.documentElement.classList.add("js");  // hides the no-JavaScript "Refresh" link
  function loose() { return document.getElementById("question-list"); }
  function packList(slug) {
    return Array.prototype.find.call(document.querySelectorAll("[data-pack-list]"), function (ul) {
      return ul.dataset.packList === slug;
    });
  }
  function recount(list) {
    var count = list.parentNode.querySelector("h3 .muted");
    if (count) count.textContent = "(" + list.querySelectorAll("li[data-id]").length + ")";
  }
  function item(q) {
    var li = document.createElement("li");
    li.dataset.id = q.id;
    li.textContent = q.body;
    li.className = "fresh";
    return li;
  }
  function insert(list, q, sorted) {
    if (list.querySelector('[data-id="' + q.id + '"]')) return;
    var empty = list.querySelector(".empty");
    if (empty) empty.remove();
    var before = sorted ? Array.prototype.find.call(list.children, function (li) {
      return li.textContent.localeCompare(q.body) > 0;
    }) : null;
    list.insertBefore(item(q), before || null);
    recount(list);
  }
  var socket = io({ transports: ["websocket", "polling"] });
  callitConnection(socket);
  socket.on("newquestion", function (q) {
    if (loose()) insert(loose(), q, true);
  });
  socket.on("pack_question_added", function (data) {
    var list = loose();
    var old = list && list.querySelector('[data-id="' + data.question.id + '"]');
    if (old) { old.remove(); recount(list); }
    var target = packList(data.pack);
    if (target) insert(target, data.question, false);
  });
  function offerReload(message) {
    var notice = document.getElementById("bank-notice");
    if (!notice) return;
    notice.textContent = message + " ";
    var link = document.createElement("a");
    link.href = window.location.href;
    link.textContent = _("Show them");
    notice.appendChild(link);
    notice.hidden = false;
  }
  socket.on("questions_imported", function (data) {
    offerReload(_("%(count)s question(s) were imported.", { count: data.added }));
  });
  // live updates were interrupted (Redis was away): questions added meanwhile may be missing here;
  // a reload shows them, but only when asked, so nothing typed into the form is lost
  socket.on("resync", function () {
    offerReload(_("Live updates were interrupted; questions added meanwhile may be missing."));
  });
})();
