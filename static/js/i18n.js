// The scripts' texts in the reader's language. The server puts them in the page as JSON
// (#strings), keyed by their English text, so there is one catalog for pages and scripts alike:
// `_("%(count)s picked", {count: 3})` looks the text up and fills its %(name)s places.
(function () {
  "use strict";
  var node = document.getElementById("strings");
  var strings = {};
  try { strings = node ? JSON.parse(node.textContent) : {}; } catch (e) { strings = {}; }
  window._ = function (text, values) {
    var out = strings[text] || text;
    return out.replace(/%\((\w+)\)s/g, function (all, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : all;
    });
  };
})();
