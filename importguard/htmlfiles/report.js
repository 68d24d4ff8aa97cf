(function () {
"use strict";
var ROW = 18, MIN_W = 1, MARK_W = 5, FAIL_W = 8, TRAIL = 3, TABLE_ROWS = 500, LIST_ROWS = 200, MAX_ROWS = 80, ANCESTORS = 6;
var FONT = "11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace";
var procs = JSON.parse(document.getElementById("importguard-data").textContent);
var lanes = [], models = [], tip = el("div");
tip.id = "tip";

function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function add(parent, child) { parent.appendChild(child); return child; }
function ms(ns) { return (typeof ns === "number" ? ns / 1e6 : 0).toFixed(2); }
function str(v) { return v === undefined || v === null ? "" : String(v); }
// A failure's verdict is the report's own (one classification for every
// format: the head of a failed import statement decides for the parent
// packages and modules that failed with it).
var VERDICT_KIND = { probe: "probe", swallowed: "swallowed", escaped: "error", unsettled: "error" };
var VERDICT_TEXT = { probe: "optional, not found", swallowed: "swallowed", escaped: "escaped", unsettled: "unsettled" };
function failed(r) { return r.status === "error" || r.status === "not_found"; }
// A report written without verdicts gets the same rule as _convert.judge: the
// head of the cascade (walking up while the importer failed because of this
// record) decides, from its own fate and the root cause (down caused_by).
function judge(n, byId) {
  var head = n, c, codeRan = false, steps = 0;
  while (head.parent && head.parent.rec.error && head.parent.rec.error.caused_by === head.rec.id && steps++ < 1000)
    head = head.parent;
  for (c = head, steps = 0; ; steps++) {
    if (c.rec.file) codeRan = true;
    var e = c.rec.error, next = e && typeof e.caused_by === "number" ? byId.get(e.caused_by) : null;
    if (!next || steps > 1000) break;
    c = next;
  }
  var s = head.rec.swallowed;
  if (s !== true && s !== false) return "unsettled";
  if (!s) return "escaped";
  return c.rec.status === "not_found" && !codeRan ? "probe" : "swallowed";
}
function statusText(n) {
  var r = n.rec;
  if (!failed(r)) return str(r.status);
  return str(r.status) + ", " + VERDICT_TEXT[n.verdict];
}
function gcNs(r) {
  var t = 0;
  (Array.isArray(r.gc) ? r.gc : []).forEach(function (e) { if (Array.isArray(e) && typeof e[1] === "number") t += e[1]; });
  return t;
}
var SEVERITY = { error: 3, swallowed: 2, viol: 1 };
var TRAIL_COLOURS = { 3: "#d93025", 2: "#e8910c", 1: "#b5179e" };

function buildProcess(p) {
  var P = { p: p, lanes: [], nodes: [], max: 0, total: 0, viol: new Map() };
  var byId = new Map(), byThread = new Map();
  var recs = Array.isArray(p.imports) ? p.imports : [];
  (Array.isArray(p.violations) ? p.violations : []).forEach(function (v) {
    var key = typeof v.import_id === "number" ? v.import_id : "name:" + str(v.module);
    if (!P.viol.has(key)) P.viol.set(key, []);
    P.viol.get(key).push(v);
  });
  recs.forEach(function (r) {
    var n = { rec: r, name: str(r.name), children: [], parent: null, value: 0, depth: 0, P: P, flag: 0 };
    // Parents come before children; looking up only earlier records also keeps
    // a malformed report from making a cycle.
    var par = r.parent_id === null || r.parent_id === undefined ? undefined : byId.get(r.parent_id);
    if (par) { n.parent = par; n.depth = par.depth + 1; n.lane = par.lane; par.children.push(n); }
    else {
      var key = str(r.thread);
      if (!byThread.has(key)) {
        var L = { P: P, thread: r.thread, name: r.thread_name, roots: [], total: 0, count: 0,
                  zoom: null, sel: null, rects: [] };
        byThread.set(key, L); P.lanes.push(L); lanes.push(L);
      }
      n.lane = byThread.get(key); n.lane.roots.push(n);
    }
    n.lane.count++;
    n.viols = P.viol.get(r.id) || P.viol.get("name:" + n.name) || null;
    // A violation without an import id belongs to the first record of its module.
    P.viol.delete("name:" + n.name);
    byId.set(r.id, n); P.nodes.push(n);
  });
  P.nodes.forEach(function (n) {
    var r = n.rec;
    n.verdict = null;
    if (failed(r)) n.verdict = typeof r.verdict === "string" && VERDICT_KIND[r.verdict] ? r.verdict : judge(n, byId);
    n.kind = n.verdict ? VERDICT_KIND[n.verdict] : r.status === "incomplete" ? "incomplete" : "ok";
    // The first failure of an import statement; the others failed with it (its parent packages, its cause).
    n.head = !(n.parent && n.parent.rec.error && n.parent.rec.error.caused_by === r.id && failed(n.parent.rec));
    n.flag = (n.kind !== "ok" && n.kind !== "incomplete") || n.viols ? 1 : 0;
    // What this module's own bar warns of: 3 escaped, 2 swallowed, 1 violation.
    n.own = SEVERITY[n.kind] || (n.viols ? 1 : 0);
    n.below = 0;
  });
  for (var i = P.nodes.length - 1; i >= 0; i--) {
    var n = P.nodes[i], kids = 0;
    n.children.forEach(function (c) {
      kids += c.value; n.flag |= c.flag ? 2 : 0;
      n.below = Math.max(n.below, c.own, c.below);
    });
    n.value = Math.max(typeof n.rec.duration_ns === "number" ? n.rec.duration_ns : 0, kids);
  }
  P.lanes.forEach(function (L) {
    L.roots.forEach(function (n) { L.total += n.value; });
    P.max = Math.max(P.max, L.total); P.total += L.total;
  });
  P.byId = byId;
  return P;
}

var pattern = null;
function hatch(ctx) {
  if (pattern) return pattern;
  var c = document.createElement("canvas"); c.width = c.height = 8;
  var g = c.getContext("2d");
  g.fillStyle = "#f6b24a"; g.fillRect(0, 0, 8, 8);
  g.strokeStyle = "#c97800"; g.lineWidth = 2;
  g.beginPath(); g.moveTo(0, 8); g.lineTo(8, 0); g.stroke();
  return (pattern = ctx.createPattern(c, "repeat"));
}
function hue(name) {
  var top = name.split(".")[0], h = 0;
  for (var i = 0; i < top.length; i++) h = (h * 31 + top.charCodeAt(i)) % 180;
  // Greens to blues only: reds and oranges mean failures.
  return 80 + h;
}

// Icicle layout of the lane's visible part; nodes narrower than MIN_W are
// skipped (so the canvas draws at most a few nodes per pixel column) except
// failures and violations, which get a MARK_W marker so none is ever hidden.
// Rows are bounded too (a canvas has a maximum height): at most ANCESTORS
// rows above the zoomed node and MAX_ROWS in all; zooming shows the rest.
function layout(L, W) {
  var rects = [], stack = [], scale, z = L.zoom, top = z ? Math.max(0, z.depth - ANCESTORS) : 0;
  L.cut = false;
  function push(list, x, d) {
    for (var i = list.length - 1, cx = x + sum(list) * scale; i >= 0; i--) {
      cx -= list[i].value * scale; stack.push({ n: list[i], x: cx, d: d });
    }
  }
  function sum(list) { var s = 0; list.forEach(function (c) { s += c.value; }); return s; }
  if (z) {
    var chain = [];
    for (var a = z; a; a = a.parent) chain.push(a);
    chain.reverse();
    chain.forEach(function (a) {
      if (a.depth >= top) rects.push({ n: a, x: 0, w: W, d: a.depth - top, anc: a !== z });
    });
    scale = z.value > 0 ? W / z.value : 0;
    push(z.children, 0, z.depth + 1 - top);
  } else {
    scale = L.P.max > 0 ? W / L.P.max : 0;
    push(L.roots, 0, 0);
  }
  while (stack.length) {
    var it = stack.pop(), n = it.n, w = n.value * scale;
    if (w < MIN_W && !n.flag) continue;
    if (it.d >= MAX_ROWS) { L.cut = true; continue; }
    // A failure that matters is at least FAIL_W wide, so it can be seen and clicked at any zoom.
    if (w >= MIN_W || n.flag & 1) {
      var ww = Math.max(w, n.own >= 2 ? FAIL_W : MARK_W * (w < MIN_W));
      // Kept inside the canvas: the last module of a row ends at its right edge.
      rects.push({ n: n, x: Math.max(0, Math.min(it.x, W - ww)), w: ww, d: it.d });
    }
    if (w >= MIN_W) push(n.children, it.x, it.d + 1);
    else push(n.children.filter(function (c) { return c.flag; }), it.x, it.d + 1);
  }
  // Failures last: drawn over their neighbours, and found first by hit().
  return rects.filter(function (r) { return !r.n.own; }).concat(rects.filter(function (r) { return r.n.own; }));
}

function draw(L) {
  var c = L.canvas, W = Math.max(c.clientWidth, 50), dpr = window.devicePixelRatio || 1;
  var rects = layout(L, W), depth = 0;
  rects.forEach(function (r) { depth = Math.max(depth, r.d + 1); });
  var H = Math.max(depth, 1) * ROW;
  c.width = Math.round(W * dpr); c.height = Math.round(H * dpr); c.style.height = H + "px";
  var ctx = c.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  ctx.font = FONT; ctx.textBaseline = "middle";
  var cw = ctx.measureText("abcdefghij").width / 10;
  rects.forEach(function (r) {
    var n = r.n, y = r.d * ROW, fill, ink = "#1d232b";
    if (n.kind === "error") { fill = "#d93025"; ink = "#fff"; }
    else if (n.kind === "swallowed") fill = hatch(ctx);
    else if (n.kind === "probe") fill = "#d5dadf";
    else if (n.kind === "incomplete") fill = "#e4e7eb";
    else fill = "hsl(" + hue(n.name) + ",55%," + (r.anc ? 88 : 78) + "%)";
    ctx.globalAlpha = r.anc ? 0.7 : 1;
    ctx.fillStyle = fill;
    ctx.fillRect(r.x, y, Math.max(r.w - 1, 1), ROW - 1);
    ctx.globalAlpha = 1;
    if (n.viols) outline("#b5179e", 2);
    if (n === L.sel) outline("#000", 1.5);
    function outline(colour, width) {
      var inset = width / 2;
      ctx.strokeStyle = colour; ctx.lineWidth = width;
      ctx.strokeRect(r.x + inset, y + inset, Math.max(r.w - 1 - width, 1), ROW - 1 - width);
    }
    if (r.w <= FAIL_W && n.own) {
      // A marker for a failure too small to see at this zoom: full height, dark edge.
      ctx.strokeStyle = "#20262e"; ctx.lineWidth = 1;
      ctx.strokeRect(r.x + 0.5, y + 0.5, Math.max(r.w - 2, 1), ROW - 2);
    }
    if (n.below && !n.own && !r.anc && r.w >= MIN_W * 3) {
      // The trail: a bar with a failure (or violation) somewhere below it is
      // underlined in that failure's colour, so the chart leads down to it.
      ctx.fillStyle = TRAIL_COLOURS[n.below];
      ctx.fillRect(r.x, y + ROW - 1 - TRAIL, Math.max(r.w - 1, 1), TRAIL);
    }
    var room = Math.floor((r.w - 8) / cw);
    if (room >= 3) {
      var name = (n.viols ? "! " : "") + n.name, t = ms(n.value) + " ms", label = name;
      // Share of what the chart shows: the zoomed module (its ancestors: of all the imports).
      var base = L.zoom && !r.anc ? L.zoom.value : L.P.max;
      var full = name + "  " + t + (base > 0 ? " \u00b7 " + (100 * n.value / base).toFixed(n.value * 1000 < base ? 1 : 0) + "%" : "");
      // Time and share of the chart's width when they fit, the time alone, else the name.
      if (full.length <= room) label = full;
      else if ((name + "  " + t).length <= room) label = name + "  " + t;
      else if (label.length > room) label = label.slice(0, room - 1) + "\u2026";
      ctx.fillStyle = ink; ctx.fillText(label, r.x + 4, y + ROW / 2 - (n.below && !n.own && !r.anc ? 1 : 0));
      r.label = label;
    }
  });
  L.rects = rects;
  c.setAttribute("data-nodes", String(rects.length));
  c.setAttribute("data-zoom", L.zoom ? String(L.zoom.rec.id) : "");
  L.more.hidden = !L.cut;
  crumbs(L);
}

function hit(L, ev) {
  var b = L.canvas.getBoundingClientRect(), x = ev.clientX - b.left, d = Math.floor((ev.clientY - b.top) / ROW);
  // Last drawn wins: markers and deeper rows are pushed after their neighbours.
  for (var i = L.rects.length - 1; i >= 0; i--) {
    var r = L.rects[i];
    if (r.d === d && x >= r.x && x < r.x + Math.max(r.w, MARK_W)) return r.n;
  }
  return null;
}

function crumbs(L) {
  var nav = L.crumbs;
  while (nav.firstChild) nav.removeChild(nav.firstChild);
  var chain = [];
  for (var a = L.zoom; a; a = a.parent) chain.push(a);
  chain.push(null);
  chain.reverse();
  if (chain.length > 10) chain = chain.slice(0, 2).concat(["\u2026"], chain.slice(-7));
  chain.forEach(function (n, i) {
    if (i) add(nav, el("span", "sep", "\u203a"));
    if (n === "\u2026") { add(nav, el("span", "sep", n)); return; }
    var b = add(nav, el("button", "", n ? n.name : "all imports"));
    b.type = "button";
    if (n === L.zoom) b.setAttribute("aria-current", "true");
    b.addEventListener("click", function () { zoom(L, n); });
  });
}

function zoom(L, n) { L.zoom = n; draw(L); }
function select(n, scroll) {
  var L = n.lane;
  L.zoom = n; L.sel = n; draw(L); details(L.P, n);
  if (scroll) L.el.scrollIntoView({ block: "nearest" });
}

function row(dl, label, value) {
  if (value === undefined || value === null || value === "") return;
  add(dl, el("dt", "", label)); add(dl, el("dd", "", value));
}
function details(P, n) {
  var box = P.details, r = n.rec;
  while (box.firstChild) box.removeChild(box.firstChild);
  add(box, el("h3", "mono", n.name));
  var dl = add(box, el("dl"));
  row(dl, "status", statusText(n) + (r.fromlist ? " (from-import submodule look-up)" : ""));
  row(dl, "self", ms(r.self_ns) + " ms");
  var gc = gcNs(r);
  if (gc) row(dl, "garbage collection", ms(gc) + " ms in " + r.gc.length + (r.gc.length === 1 ? " collection" : " collections") +
    " (generation " + r.gc.map(function (e) { return str(e[2]); }).join(", ") + "), counted in the self time");
  row(dl, "cumulative", r.duration_ns === null ? "still running at exit" : ms(r.duration_ns) + " ms");
  row(dl, "thread", str(r.thread_name) + " (" + str(r.thread) + ")");
  row(dl, "imported by", n.parent ? n.parent.name : "");
  row(dl, "file", r.file); row(dl, "loader", r.loader);
  if (r.importer) row(dl, "import statement", str(r.importer.file) + ":" + str(r.importer.line));
  if (typeof r.duplicate_of === "number") row(dl, "duplicate of", "#" + r.duplicate_of + " (circular package import)");
  var e = r.error;
  if (e) {
    row(dl, "error", str(e.type) + ": " + str(e.message));
    var cause = typeof e.caused_by === "number" ? P.byId.get(e.caused_by) : null;
    if (cause) row(dl, "caused by", cause.name);
  }
  (n.viols || []).forEach(function (v) {
    row(dl, "export violation", violText(v));
  });
  if (e && e.traceback) add(box, el("pre", "", e.traceback));
}
function violText(v) {
  return str(v.module) + " lacks " + (Array.isArray(v.missing) ? v.missing.map(str).join(", ") : "") +
    " (declared by " + str(v.source) + (v.declared_in ? " in " + str(v.declared_in) : "") + ")" +
    (v.accepted ? " [accepted: " + str(v.accepted) + "]" : " [" + str(v.mode) + "]");
}

function showTip(ev, n) {
  while (tip.firstChild) tip.removeChild(tip.firstChild);
  if (!n) { tip.style.display = "none"; return; }
  var r = n.rec, lines = [
    "self " + ms(r.self_ns) + " ms \u00b7 cumulative " + ms(n.value) + " ms" +
      (gcNs(r) ? " \u00b7 of the self time " + ms(gcNs(r)) + " ms garbage collection" : ""),
    "status " + statusText(n) + " \u00b7 thread " + str(r.thread_name),
  ];
  if (r.file) lines.push(str(r.file));
  if (r.loader) lines.push("loader " + str(r.loader));
  if (r.error) lines.push(str(r.error.type) + ": " + str(r.error.message).slice(0, 300));
  if (n.viols) n.viols.forEach(function (v) { lines.push("export: " + violText(v)); });
  add(tip, el("b", "", n.name)); add(tip, el("span", "", lines.join("\n")));
  tip.style.display = "block";
  var x = ev.clientX + 14, y = ev.clientY + 14;
  if (x + tip.offsetWidth > window.innerWidth) x = Math.max(0, ev.clientX - tip.offsetWidth - 10);
  if (y + tip.offsetHeight > window.innerHeight) y = Math.max(0, ev.clientY - tip.offsetHeight - 10);
  tip.style.left = x + "px"; tip.style.top = y + "px";
}

function procHeader(P) {
  var p = P.p, h = el("header");
  add(h, el("h3", "", "pid " + str(p.pid)));
  var folded = typeof p.folded_records === "number" && p.folded_records ? " (+" + p.folded_records + " folded)" : "";
  add(h, el("span", "sub", "Python " + str(p.python || "?") + " \u00b7 " + (P.total / 1e6).toFixed(1) + " ms \u00b7 " +
    P.nodes.length + " imports" + folded));
  return h;
}

function renderProcs(root) {
  var grid = add(root, el("div")); grid.id = "procs";
  procs.forEach(function (p) {
    var P = buildProcess(p), sec = add(grid, el("section", "proc"));
    P.section = sec;
    sec.setAttribute("data-pid", str(p.pid));
    add(sec, procHeader(P));
    if (!P.lanes.length) add(sec, el("p", "empty", "No imports recorded."));
    P.lanes.forEach(function (L) {
      var box = L.el = add(sec, el("div", "lane"));
      box.setAttribute("data-thread", str(L.thread));
      var head = add(box, el("div", "lane-head", str(L.name || "thread") + " "));
      add(head, el("span", "sub", "thread " + str(L.thread) + " \u00b7 " + L.count + " imports \u00b7 " +
        ms(L.total) + " ms"));
      // Failed statements that matter (as the summary lists them), worst first, one click
      // each: however small, each is reachable.
      var fails = P.nodes.filter(function (n) {
        return n.lane === L && n.head && (n.kind === "error" || n.kind === "swallowed");
      });
      fails.sort(function (a, b) { return b.own - a.own; });
      if (fails.length) {
        var next = 0, go = add(head, el("button", "k-" + fails[0].kind));
        go.type = "button"; go.className = "k-" + fails[0].kind + " next-failure";
        var label = function () {
          go.textContent = fails.length + (fails.length === 1 ? " failure" : " failures") + ": show " +
            (fails.length === 1 ? "it" : (next % fails.length + 1) + " of " + fails.length) + " \u203a";
        };
        label();
        go.addEventListener("click", function () { select(fails[next % fails.length], false); next++; label(); });
      }
      L.crumbs = add(box, el("nav", "crumbs")); L.crumbs.setAttribute("aria-label", "zoom");
      var c = L.canvas = add(box, el("canvas"));
      c.tabIndex = 0;
      c.setAttribute("role", "img");
      c.setAttribute("aria-label", "icicle chart of the imports of thread " + str(L.name));
      L.more = add(box, el("div", "sub", "Deeper imports are not shown: click a module to zoom in."));
      c.addEventListener("mousemove", function (ev) { showTip(ev, hit(L, ev)); });
      c.addEventListener("mouseleave", function () { tip.style.display = "none"; });
      c.addEventListener("click", function (ev) { var n = hit(L, ev); if (n) select(n, false); });
      c.addEventListener("keydown", function (ev) {
        if (ev.key === "Escape" && L.zoom) zoom(L, L.zoom.parent);
      });
      // Lets a test (or a user in the console) find where a module was drawn.
      c.importguardRects = function () {
        return L.rects.map(function (r) {
          return { id: r.n.rec.id, name: r.n.name, x: r.x, y: r.d * ROW, w: r.w, h: ROW, label: r.label || "",
                   trail: !!(r.n.below && !r.n.own && !r.anc && r.w >= MIN_W * 3), kind: r.n.kind };
        });
      };
    });
    P.details = add(sec, el("div", "details"));
    add(P.details, el("span", "sub", "Click a module to zoom in and see its details; " +
      "click the chart's top rows or the path above it to zoom out."));
    models.push(P);
  });
}

function goLink(text, n) {
  var a = el("a", "go", text);
  a.href = "#"; a.setAttribute("role", "button");
  a.addEventListener("click", function (ev) { ev.preventDefault(); if (n) select(n, true); });
  return a;
}
function pidPrefix(P) { return models.length > 1 ? "[pid " + str(P.p.pid) + "] " : ""; }

function renderIssues(root) {
  var fails = [], probes = [], viols = [];
  models.forEach(function (P) {
    // One line per failed import statement, as the summary lists them: the
    // parent packages and causes that failed with it are named in its line.
    P.nodes.forEach(function (n) {
      if (!n.head) return;
      if (n.kind === "error" || n.kind === "swallowed") fails.push(n);
      else if (n.kind === "probe") probes.push(n);
    });
    (Array.isArray(P.p.violations) ? P.p.violations : []).forEach(function (v) {
      viols.push({ v: v, P: P, n: typeof v.import_id === "number" ? P.byId.get(v.import_id) : null });
    });
  });
  add(root, el("h2", "", "Failures and export violations"));
  var ul = add(root, el("ul", "issues")); ul.id = "issues";
  fails.sort(function (a, b) { return (a.kind === "error" ? 0 : 1) - (b.kind === "error" ? 0 : 1); });
  fails.slice(0, LIST_ROWS).forEach(function (n) {
    var r = n.rec, e = r.error || {}, li = add(ul, el("li", "k-" + n.kind));
    add(li, el("span", "", pidPrefix(n.P)));
    add(li, goLink(n.name, n));
    var at = r.importer ? " (imported at " + str(r.importer.file) + ":" + str(r.importer.line) + ")" : "";
    var cause = n, steps = 0;  // the root cause, down caused_by
    while (cause.rec.error && typeof cause.rec.error.caused_by === "number" && n.P.byId.get(cause.rec.error.caused_by) &&
           steps++ < 1000) cause = n.P.byId.get(cause.rec.error.caused_by);
    add(li, el("span", "", ": " + str(e.type) + ": " + str(e.message) + " [" + statusText(n) + "]" +
      (cause !== n ? " because " + cause.name + " failed" : "") + at));
  });
  if (fails.length > LIST_ROWS) add(ul, el("li", "", "\u2026 and " + (fails.length - LIST_ROWS) + " more"));
  viols.slice(0, LIST_ROWS).forEach(function (x) {
    var li = add(ul, el("li", "k-viol"));
    add(li, el("span", "", pidPrefix(x.P) + "export violation: "));
    add(li, x.n ? goLink(str(x.v.module), x.n) : el("span", "", str(x.v.module)));
    add(li, el("span", "", " \u2014 " + violText(x.v)));
  });
  if (probes.length) {
    var names = Array.from(new Set(probes.map(function (n) { return n.name; }))).sort();
    add(ul, el("li", "", "optional imports not found (caught by the importer): " + names.slice(0, LIST_ROWS).join(", ") +
      (names.length > LIST_ROWS ? " \u2026" : "")));
  }
  models.forEach(function (P) {
    (Array.isArray(P.p.internal_errors) ? P.p.internal_errors : []).slice(0, LIST_ROWS).forEach(function (e) {
      add(ul, el("li", "k-error", pidPrefix(P) + "importguard internal error in " + str(e.where) + ": " +
        str(e.type) + ": " + str(e.message)));
    });
  });
  if (!ul.firstChild) add(ul, el("li", "empty", "None."));
}

function renderPaths(root) {
  add(root, el("h2", "", "Slowest paths"));
  add(root, el("p", "sub", "The imports with the most self time (time in the module's own code), " +
    "each with the chain of imports that led to it."));
  var all = [];
  models.forEach(function (P) { all = all.concat(P.nodes); });
  all.sort(function (a, b) { return (b.rec.self_ns || 0) - (a.rec.self_ns || 0); });
  var ol = add(root, el("ol", "paths")); ol.id = "paths";
  all.slice(0, 10).forEach(function (n) {
    var chain = [];
    for (var a = n; a; a = a.parent) chain.unshift(a.name);
    var li = add(ol, el("li"));
    add(li, el("span", "mono", ms(n.rec.self_ns) + " ms self  "));
    add(li, goLink(n.name, n));
    add(li, el("span", "sub", "  " + pidPrefix(n.P) + chain.join(" \u203a ") +
      " (root cumulative " + ms(chainRoot(n).value) + " ms)"));
  });
  if (!all.length) add(ol, el("li", "empty", "No imports recorded."));
}
function chainRoot(n) { while (n.parent) n = n.parent; return n; }

function renderTable(root) {
  var byName = new Map();
  function entry(name) {
    if (!byName.has(name)) byName.set(name, { name: name, self: 0, gc: 0, cum: 0, count: 0, folded: 0, st: new Map(), worst: 0 });
    return byName.get(name);
  }
  var rank = { ok: 0, incomplete: 1, probe: 2, swallowed: 3, error: 4 };
  models.forEach(function (P) {
    P.nodes.forEach(function (n) {
      var e = entry(n.name), s = statusText(n);
      e.self += n.rec.self_ns || 0; e.cum += n.rec.duration_ns || 0; e.count++; e.gc += gcNs(n.rec);
      e.st.set(s, (e.st.get(s) || 0) + 1);
      e.worst = Math.max(e.worst, rank[n.kind]);
    });
    (Array.isArray(P.p.folded) ? P.p.folded : []).forEach(function (f) {
      var e = entry(str(f.name)), c = f.count || 0;
      e.self += f.self_ns || 0; e.cum += f.total_ns || 0; e.count += c; e.folded += c;
      e.st.set("ok", (e.st.get("ok") || 0) + c);
    });
  });
  var data = Array.from(byName.values());
  data.forEach(function (e) {
    e.status = Array.from(e.st.entries()).map(function (kv) {
      return kv[0] + (kv[1] > 1 ? " \u00d7" + kv[1] : "");
    }).join("; ");
  });
  var cols = [["name", "module"], ["self", "self ms"], ["cum", "cumulative ms"], ["count", "count"],
              ["folded", "folded"], ["gc", "gc ms (in self)"], ["status", "status"]];
  var sort = { key: "cum", dir: -1 }, limit = TABLE_ROWS;
  add(root, el("h2", "", "Modules"));
  var tools = add(root, el("div", "tools"));
  var filter = add(tools, el("input"));
  filter.type = "search"; filter.placeholder = "filter by name"; filter.setAttribute("aria-label", "filter modules by name");
  var note = add(tools, el("span", "sub"));
  var more = add(tools, el("button", "", "show all")); more.type = "button";
  var table = add(root, el("table", "mods")); table.id = "modules";
  var tr = add(add(table, el("thead")), el("tr")), ths = [];
  cols.forEach(function (c) {
    var th = add(tr, el("th")); th.setAttribute("data-key", c[0]);
    var b = add(th, el("button", "", c[1])); b.type = "button";
    b.addEventListener("click", function () {
      // Names and statuses read best A to Z, numbers largest first.
      var first = c[0] === "name" || c[0] === "status" ? 1 : -1;
      sort = { key: c[0], dir: sort.key === c[0] ? -sort.dir : first };
      fill();
    });
    ths.push(th);
  });
  var tbody = add(table, el("tbody"));
  filter.addEventListener("input", function () { fill(); });
  more.addEventListener("click", function () { limit = Infinity; fill(); });
  function fill() {
    ths.forEach(function (th) {
      var k = th.getAttribute("data-key");
      if (k === sort.key) th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    });
    var q = filter.value, k = sort.key, dir = sort.dir;
    var rows = data.filter(function (e) { return !q || e.name.indexOf(q) >= 0; });
    rows.sort(function (a, b) {
      var x = a[k], y = b[k];
      var c = typeof x === "number" ? x - y : x < y ? -1 : x > y ? 1 : 0;
      return c ? c * dir : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
    });
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    rows.slice(0, limit).forEach(function (e) {
      var r = add(tbody, el("tr", "s-" + ["ok", "ok", "probe", "swallowed", "error"][e.worst]));
      add(r, el("td", "mono", e.name));
      add(r, el("td", "", ms(e.self))); add(r, el("td", "", ms(e.cum)));
      add(r, el("td", "", e.count)); add(r, el("td", "", e.folded || "")); add(r, el("td", "", e.gc ? ms(e.gc) : ""));
      add(r, el("td", "", e.status));
    });
    note.textContent = rows.length > limit ? "showing " + limit + " of " + rows.length : rows.length + " modules";
    more.hidden = rows.length <= limit;
  }
  fill();
}

function main() {
  var root = document.getElementById("app");
  add(root, el("h1", "", "importguard report"));
  var n = 0;
  procs.forEach(function (p) { n += Array.isArray(p.imports) ? p.imports.length : 0; });
  add(root, el("div", "sub", procs.length + (procs.length === 1 ? " process, " : " processes, ") + n + " imports. " +
    "Width is cumulative import time; each row is one level of nesting; one lane per thread."));
  var lg = add(root, el("div", "legend"));
  // The ok swatch shows the range of hues ok bars get (one per top-level package).
  var hues = [80, 125, 170, 215, 259].map(function (h) { return "hsl(" + h + ",55%,78%)"; }).join(",");
  [["ok (colour: top-level package)", "linear-gradient(90deg," + hues + ")"],
   ["failed, escaped", "#d93025"], ["failed, swallowed", "repeating-linear-gradient(135deg,#f6b24a 0 3px,#c97800 3px 5px)"],
   ["optional, not found", "#d5dadf"], ["export violation", "#fff", "#b5179e"],
   ["failure below", "hsl(200,55%,78%)", "", "#d93025"]].forEach(function (x) {
    var s = add(lg, el("span", "", x[0]));
    s.style.setProperty("--sw", x[1]);
    if (x[2]) s.style.setProperty("--bd", x[2]);
    if (x[3]) { s.className = "trail"; s.style.setProperty("--tr", x[3]); }
  });
  document.title = "importguard report" + (procs.length === 1 ? " (pid " + str(procs[0].pid) + ")" : "");
  renderProcs(root);
  lanes.forEach(draw);
  renderIssues(root);
  renderPaths(root);
  renderTable(root);
  document.body.appendChild(tip);
  var pending = false;
  window.addEventListener("resize", function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; lanes.forEach(draw); });
  });
}
main();
})();
