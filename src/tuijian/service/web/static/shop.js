// Tuijian storefront: tiny progressive enhancements (no framework, no build step).
(function () {
  "use strict";
  // Switch shopper as soon as the picker changes.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.submit(); });
  });
  // Cards rendered before their generated copy was ready: fetch it in one batch.
  var pending = Array.prototype.slice.call(document.querySelectorAll("[data-copy-item]"));
  if (!pending.length) { document.body.setAttribute("data-copy-ready", "1"); return; }
  var ids = [];
  pending.forEach(function (el) {
    var id = el.getAttribute("data-copy-item");
    if (ids.indexOf(id) < 0) { ids.push(id); }
    el.classList.add("loading");
  });
  var lang = document.documentElement.lang.indexOf("zh") === 0 ? "zh" : "en";
  fetch("/shop/copy?lang=" + lang + "&items=" + encodeURIComponent(ids.join(",")), {credentials: "same-origin"})
    .then(function (r) { return r.ok ? r.json() : {}; })
    .then(function (texts) {
      pending.forEach(function (el) {
        var text = texts[el.getAttribute("data-copy-item")];
        el.classList.remove("loading");
        if (text) { el.textContent = text; el.removeAttribute("data-copy-item"); }
      });
      document.body.setAttribute("data-copy-ready", "1");
    })
    .catch(function () { pending.forEach(function (el) { el.classList.remove("loading"); }); });
})();
