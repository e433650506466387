// neardup report: filters and cards rendered on demand. Every card's HTML
// was escaped when the report was written; this script only picks which
// cards to show and inserts them a page at a time as the reader scrolls.
(function () {
  "use strict";
  var PAGE = 20;
  var cards = JSON.parse(document.getElementById("nd-cards").textContent);
  var keys = JSON.parse(document.getElementById("nd-keys").textContent);
  var list = document.getElementById("clusters");
  var count = document.getElementById("count");
  var byId = function (id) { return document.getElementById(id); };
  var shown = [];
  var next = Number(list.getAttribute("data-static")) || 0;
  for (var i = 0; i < keys.length; i++) shown.push(i);

  function day(id, end) {
    var v = byId(id).value;
    if (!v) return null;
    var t = Date.parse(v + "T00:00:00Z") / 1000;
    return end ? t + 86399 : t;
  }

  function filters() {
    return {
      text: byId("f-text").value.trim().toLowerCase(),
      account: byId("f-account").value.trim().toLowerCase(),
      tag: byId("f-tag").value.trim().toLowerCase().replace(/^#/, ""),
      size: Number(byId("f-size").value) || 0,
      from: day("f-from", false),
      to: day("f-to", true),
      kind: byId("f-kind").value
    };
  }

  function keep(k, f) {
    if (k.s < f.size) return false;
    if (f.kind && k.k !== f.kind) return false;
    if (f.text && k.t.indexOf(f.text) < 0) return false;
    if (f.account && k.a.indexOf(f.account) < 0) return false;
    if (f.tag && ("\n" + k.h + "\n").indexOf("\n" + f.tag + "\n") < 0) return false;
    if (f.from !== null && (k.l === null || k.l < f.from)) return false;
    if (f.to !== null && (k.f === null || k.f > f.to)) return false;
    return true;
  }

  function more() {
    var end = Math.min(next + PAGE, shown.length);
    var tpl = document.createElement("template");
    var html = "";
    for (; next < end; next++) html += cards[shown[next]];
    tpl.innerHTML = html;
    list.appendChild(tpl.content);
  }

  function tell() {
    count.textContent = shown.length + " of " + keys.length + " clusters";
  }

  function apply() {
    var f = filters();
    shown = [];
    for (var i = 0; i < keys.length; i++) if (keep(keys[i], f)) shown.push(i);
    list.textContent = "";
    next = 0;
    more();
    tell();
  }

  byId("filters").addEventListener("submit", function (e) { e.preventDefault(); });
  var timer = null;
  var inputs = document.querySelectorAll("#filters input, #filters select");
  for (var j = 0; j < inputs.length; j++) {
    inputs[j].addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(apply, 120);
    });
  }
  new IntersectionObserver(function (entries) {
    if (entries[0].isIntersecting && next < shown.length) more();
  }, { rootMargin: "800px" }).observe(byId("sentinel"));
  tell();
})();
