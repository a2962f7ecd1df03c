(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("data").textContent);
  var app = document.getElementById("app");
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "cls") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (kids || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  var S = D.summary || {};
  var KIND = {cross_document: "Across documents", same_document: "Same document", same_figure: "Same figure", copy_move: "Copy-move inside one image"};
  function stat(v, label) { return v === undefined ? null : el("div", {cls: "stat"}, [el("b", {text: String(v)}), el("small", {text: label})]); }
  var header = el("header", {}, [
    el("h1", {text: "dupscope"}, [el("span", {text: "Image reuse report"})]),
    el("div", {cls: "meta", text: "Generated " + D.generated + (S.model ? " \u00b7 model " + S.model : "") +
      (S.threshold !== undefined ? " \u00b7 threshold " + Number(S.threshold).toFixed(2) : "")}),
    el("div", {cls: "stats"}, [stat(S.documents, "documents"), stat(S.items, "images & panels"),
      S.indexed_items ? stat(S.indexed_items, "indexed") : null, stat(S.candidates, "candidates"),
      stat(D.total, "matches"), stat(S.skipped, "skipped"), S.seconds !== undefined ? stat(S.seconds + " s", "time") : null])
  ]);
  app.appendChild(header);

  var q = el("input", {type: "search", placeholder: "Filter by file name, path or page\u2026", "aria-label": "text filter"});
  var minp = el("input", {type: "range", min: "0", max: "1", step: "0.01", value: "0", "aria-label": "minimum score"});
  var minv = el("output", {text: "0.00"});
  var kind = el("select", {"aria-label": "kind"}, [el("option", {value: "", text: "All kinds"})].concat(
    Object.keys(KIND).map(function (k) { return el("option", {value: k, text: KIND[k]}); })));
  var exact = el("input", {type: "checkbox", "aria-label": "exact copies only"});
  var sort = el("select", {"aria-label": "sort"}, [el("option", {value: "score", text: "Highest score first"}),
    el("option", {value: "source", text: "By source"})]);
  var count = el("span", {cls: "count"});
  var bar = el("div", {cls: "toolbar"}, [el("label", {}, [q]),
    el("label", {}, [document.createTextNode("Min score"), minp, minv]), el("label", {}, [kind]),
    el("label", {}, [exact, document.createTextNode("Exact copies only")]), el("label", {}, [sort]), count]);
  app.appendChild(bar);
  var main = el("main");
  app.appendChild(main);
  if (D.total > D.matches.length) {
    main.appendChild(el("div", {cls: "notice", text: "Showing the " + D.matches.length + " highest-scoring of " +
      D.total + " matches; matches.json and matches.csv list them all."}));
  }
  var list = el("div");
  main.appendChild(list);
  var zoom = el("div", {id: "zoom"}, [el("img", {alt: "enlarged"})]);
  zoom.onclick = function () { zoom.style.display = "none"; };
  document.body.appendChild(zoom);
  function zoomable(img) { img.onclick = function () { zoom.firstChild.src = img.src; zoom.style.display = "flex"; }; return img; }

  function where(s) {
    var parts = [];
    if (s.page !== null && s.page !== undefined) parts.push("page " + s.page);
    parts.push(s.panel === null || s.panel === undefined ? "whole figure" : "panel " + (s.panel + 1));
    if (s.bbox) parts.push("[" + s.bbox + "]");
    return parts.join(" \u00b7 ");
  }
  function side(s, thumb, label) {
    var box = el("div", {cls: "thumb"}, [thumb ? zoomable(el("img", {src: thumb, alt: label + ": " + s.name, loading: "lazy"}))
      : el("span", {cls: "none", text: "preview unavailable"})]);
    var cap = el("div", {cls: "cap"}, [el("span", {cls: "name", title: s.source, text: label + "  " + s.name}),
      el("span", {cls: "where", text: where(s)}), s.db ? el("span", {cls: "chip db", text: "database", style: "margin-left:6px"}) : null]);
    return el("div", {cls: "side"}, [box, cap]);
  }
  function card(m, rank) {
    var cls = m.p >= 0.95 ? "hi" : m.p >= 0.8 ? "mid" : "lo";
    var score = el("div", {cls: "score"}, [el("span", {cls: "rank", text: "#" + rank}),
      el("span", {cls: "prob " + cls, text: m.p.toFixed(3), title: "probability of reuse"}),
      el("div", {cls: "bar " + "prob " + cls, style: "font-size:0"}, [el("i", {style: "width:" + Math.round(m.p * 100) + "%"})]),
      el("span", {cls: "chip " + m.kind, text: KIND[m.kind] || m.kind}), m.exact ? el("span", {cls: "chip exact", text: "identical pixels"}) : null]);
    var ev = el("div", {cls: "evidence", "data-slot": "evidence"}, [m.ev ? zoomable(el("img", {src: m.ev, alt: "evidence"}))
      : el("span", {text: "No evidence image for this match"})]);
    return el("div", {cls: "match", "data-id": String(m.id)}, [score, side(m.a, m.ta, "A"), side(m.b, m.tb, "B"),
      el("div", {cls: "evidence-wrap"}, [el("div", {cls: "evidence-label", text: "Evidence"}), ev])]);
  }
  var cards = D.matches.map(function (m, i) { return card(m, i + 1); });
  var hay = D.matches.map(function (m) {
    return [m.a.source, m.b.source, "page " + m.a.page, "page " + m.b.page, m.kind].join(" ").toLowerCase();
  });
  function render() {
    var t = q.value.trim().toLowerCase(), lo = parseFloat(minp.value), k = kind.value, ex = exact.checked;
    minv.textContent = lo.toFixed(2);
    var idx = D.matches.map(function (_, i) { return i; });
    if (sort.value === "source") idx.sort(function (i, j) {
      var a = D.matches[i].a.source + D.matches[i].b.source, b = D.matches[j].a.source + D.matches[j].b.source;
      return a < b ? -1 : a > b ? 1 : D.matches[j].p - D.matches[i].p;
    });
    list.textContent = "";
    var n = 0;
    idx.forEach(function (i) {
      var m = D.matches[i];
      if (m.p < lo || (k && m.kind !== k) || (ex && !m.exact) || (t && hay[i].indexOf(t) < 0)) return;
      list.appendChild(cards[i]); n++;
    });
    if (!D.matches.length) list.appendChild(el("div", {cls: "empty", text: "No reuse found above the threshold."}));
    else if (!n) list.appendChild(el("div", {cls: "empty", text: "No match passes the filters."}));
    count.textContent = "Showing " + n + " of " + D.matches.length;
  }
  [q, minp, kind, exact, sort].forEach(function (c) { c.addEventListener("input", render); c.addEventListener("change", render); });
  render();
  if (D.skipped.length) {
    var rows = D.skipped.map(function (r) { return el("tr", {}, [el("td", {text: r[0]}), el("td", {text: r[1]})]); });
    main.appendChild(el("details", {cls: "skipped"}, [el("summary", {text: "Skipped inputs (" + D.skipped.length + ")"}),
      el("table", {}, [el("thead", {}, [el("tr", {}, [el("th", {text: "Source"}), el("th", {text: "Reason"})])]), el("tbody", {}, rows)])]));
  }
})();
