// The service graph: workloads inside compound namespace nodes, directed edges whose width
// shows bytes (or flows) and whose colour and dash pattern show the verdict, drawn on one
// canvas. Namespaces collapse into one node (edges merge) and expand again. Layout is our
// own and deterministic: namespaces are packed in rows by size, workloads on a grid inside
// their namespace, so 2,500 workloads in 500 namespaces lay out in milliseconds and keep
// their places when filters change. Pan (drag), zoom (wheel, + and -), keyboard selection
// (arrow keys move between workloads, Enter opens, C collapses, Escape clears).

export const VERDICTS = ['allowed', 'denied', 'mixed', 'plaintext', 'unknown', 'threat'];
// Readable without colour: each verdict also has its own dash pattern.
export const DASH = { allowed: [], denied: [7, 4], mixed: [10, 3, 2, 3], plaintext: [2, 3], unknown: [1, 5], threat: [14, 3, 3, 3], attack: [] };

const NODE_R = 7;
const CELL = 64;
const PAD = 14;
const TITLE = 18;

function cssVar(el, name, fallback) {
  const v = getComputedStyle(el).getPropertyValue(name).trim();
  return v || fallback;
}

// The text, cut with an ellipsis to fit `w` pixels (never squeezed).
const fitCache = new Map();
function fit(c, text, w) {
  const key = c.font + '\u0000' + w + '\u0000' + text;
  let v = fitCache.get(key);
  if (v === undefined) {
    v = cut(c, text, w);
    if (fitCache.size > 20000) fitCache.clear();
    fitCache.set(key, v);
  }
  return v;
}
function cut(c, text, w) {
  if (c.measureText(text).width <= w) return text;
  let lo = 0, hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (c.measureText(text.slice(0, mid) + '\u2026').width <= w) lo = mid; else hi = mid - 1;
  }
  return text.slice(0, lo) + '\u2026';
}

function groupClass(acc) {
  if (acc.denied > 0 && acc.denied === acc.flows) return 'denied';
  if (acc.denied > 0) return 'mixed';
  if (acc.plaintext > 0) return 'plaintext';
  if (acc.allowed > 0) return 'allowed';
  return 'unknown';
}

export class Graph {
  constructor(canvas, opts = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.onEdge = opts.onEdge || (() => {});
    this.onNode = opts.onNode || (() => {});
    this.onNamespace = opts.onNamespace || (() => {});
    this.onChange = opts.onChange || (() => {});
    this.widthBy = opts.widthBy || 'bytes';
    this.collapsed = new Set();
    this.view = { x: 0, y: 0, k: 1 };
    this.data = { namespaces: [], nodes: [], edges: [] };
    this.selected = null; // {type:'node'|'edge'|'ns', id}
    this.match = new Set();
    this.boxes = new Map();
    this.pos = new Map();
    this.drawn = [];
    this.order = [];
    this._dirty = false;
    this._bind();
    new ResizeObserver(() => this.resize()).observe(canvas);
    this.resize();
  }

  // data: {namespaces:[{id}], nodes:[{id,namespace,name,kind,...}], edges:[{src,dst,bytes,flows,denied,plaintext,class,...}]}
  setData(data, { fit = false } = {}) {
    this.data = data;
    this.layout();
    if (fit || !this._fitted) { this.fit(); this._fitted = true; }
    this.draw();
  }

  setCollapsed(ids) { this.collapsed = new Set(ids); this.layout(); this.draw(); this.onChange(); }
  toggle(ns) {
    if (this.collapsed.has(ns)) this.collapsed.delete(ns); else this.collapsed.add(ns);
    this.layout(); this.draw(); this.onChange();
  }
  collapseAll() { this.setCollapsed(this.data.namespaces.map((n) => n.id)); }
  expandAll() { this.setCollapsed([]); }

  setSearch(text) {
    const t = (text || '').trim().toLowerCase();
    this.match = new Set(t ? this.data.nodes.filter((n) => n.id.toLowerCase().includes(t)).map((n) => n.id) : []);
    if (t) {
      const first = this.pos.get([...this.match][0]);
      if (first) this.centerOn(first.x, first.y);
    }
    this.draw();
    return this.match.size;
  }

  layout() {
    const byNs = new Map();
    for (const n of this.data.nodes) {
      if (!byNs.has(n.namespace)) byNs.set(n.namespace, []);
      byNs.get(n.namespace).push(n);
    }
    const boxes = [...byNs.entries()].map(([id, nodes]) => {
      const collapsed = this.collapsed.has(id);
      const cols = collapsed ? 1 : Math.ceil(Math.sqrt(nodes.length));
      const rows = collapsed ? 1 : Math.ceil(nodes.length / cols);
      const w = Math.max(cols * CELL + 2 * PAD, Math.min(160, 8 + id.length * 6.5));
      const h = rows * CELL + 2 * PAD + TITLE;
      return { id, nodes, collapsed, cols, w, h };
    });
    // Addresses outside the cluster and nodes first (the ends most edges share), then
    // namespaces by size and name, so namespaces that talk (ns-001, ns-002) sit side by side.
    const special = (id) => (id.startsWith('(') ? 0 : 1);
    boxes.sort((a, b) => special(a.id) - special(b.id) || b.nodes.length - a.nodes.length || a.id.localeCompare(b.id));
    // Shelf packing into a roughly square area.
    const area = boxes.reduce((s, b) => s + (b.w + 16) * (b.h + 16), 0);
    const maxW = Math.max(600, Math.sqrt(area) * 1.4);
    let x = 0, y = 0, rowH = 0;
    this.boxes = new Map();
    this.pos = new Map();
    for (const b of boxes) {
      if (x > 0 && x + b.w > maxW) { x = 0; y += rowH + 16; rowH = 0; }
      b.x = x; b.y = y;
      this.boxes.set(b.id, b);
      b.nodes.sort((p, q) => p.name.localeCompare(q.name));
      b.nodes.forEach((n, i) => {
        if (b.collapsed) {
          this.pos.set(n.id, { x: b.x + b.w / 2, y: b.y + TITLE + PAD + CELL / 2, ns: b.id, proxy: true });
        } else {
          const c = i % b.cols, r = Math.floor(i / b.cols);
          this.pos.set(n.id, { x: b.x + PAD + c * CELL + CELL / 2, y: b.y + TITLE + PAD + r * CELL + CELL / 2, ns: b.id, node: n });
        }
      });
      x += b.w + 16;
      rowH = Math.max(rowH, b.h);
    }
    this.width = maxW;
    this.height = y + rowH;
    // Drawn edges: merged where an end is collapsed.
    const merged = new Map();
    for (const e of this.data.edges) {
      const ps = this.pos.get(e.src), pd = this.pos.get(e.dst);
      if (!ps || !pd) continue;
      const s = ps.proxy ? 'ns:' + ps.ns : e.src;
      const d = pd.proxy ? 'ns:' + pd.ns : e.dst;
      if (s === d) continue;
      const k = s + '\u0000' + d;
      let m = merged.get(k);
      if (!m) { m = { s, d, src: s, dst: d, bytes: 0, flows: 0, denied: 0, plaintext: 0, allowed: 0, edges: [] }; merged.set(k, m); }
      m.bytes += e.bytes; m.flows += e.flows; m.denied += e.denied; m.plaintext += e.plaintext;
      m.allowed += e.class === 'allowed' || e.class === 'plaintext' || e.class === 'mixed' ? e.flows - e.denied : 0;
      m.edges.push(e);
    }
    this.drawn = [...merged.values()].map((m) => {
      m.class = m.edges.length === 1 ? m.edges[0].class : groupClass(m);
      m.label = m.edges.length === 1 ? m.edges[0].label || '' : '';
      m.merged = m.edges.length > 1 || m.s.startsWith('ns:') || m.d.startsWith('ns:');
      m.a = this._point(m.s); m.b = this._point(m.d);
      return m;
    });
    const max = Math.max(1, ...this.drawn.map((m) => m[this.widthBy] || 0));
    for (const m of this.drawn) m.w = 1 + 5 * Math.log1p(m[this.widthBy] || 0) / Math.log1p(max);
    this.order = [...this.pos.entries()].filter(([, p]) => !p.proxy).map(([id]) => id);
  }

  _point(id) {
    if (id.startsWith('ns:')) {
      const b = this.boxes.get(id.slice(3));
      return { x: b.x + b.w / 2, y: b.y + TITLE + PAD + CELL / 2 };
    }
    return this.pos.get(id);
  }

  // An edge as a quadratic curve [x1, y1, cx, cy, x2, y2], shortened to the node circles.
  // Curves bend to their left, so the two directions of a pair never overlap and an edge
  // never runs straight through a node lying between its ends.
  _segment(m) {
    let { x: x1, y: y1 } = m.a; let { x: x2, y: y2 } = m.b;
    const dx = x2 - x1, dy = y2 - y1, len = Math.hypot(dx, dy) || 1;
    const ux = dx / len, uy = dy / len;
    const bend = Math.min(60, len * 0.15);
    const cx = (x1 + x2) / 2 + uy * bend, cy = (y1 + y2) / 2 - ux * bend;
    const shorten = (px, py, qx, qy, r) => { const l = Math.hypot(qx - px, qy - py) || 1; return [px + (qx - px) * r / l, py + (qy - py) * r / l]; };
    [x1, y1] = shorten(x1, y1, cx, cy, NODE_R);
    [x2, y2] = shorten(x2, y2, cx, cy, NODE_R + 2);
    return [x1, y1, cx, cy, x2, y2];
  }

  // The point of the curve at t.
  _at(seg, t) {
    const [x1, y1, cx, cy, x2, y2] = seg, u = 1 - t;
    return [u * u * x1 + 2 * u * t * cx + t * t * x2, u * u * y1 + 2 * u * t * cy + t * t * y2];
  }

  resize() {
    const r = this.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.round(r.width * dpr));
    this.canvas.height = Math.max(1, Math.round(r.height * dpr));
    this.dpr = dpr;
    this.draw();
  }

  fit() {
    const r = this.canvas.getBoundingClientRect();
    let k = Math.min(r.width / (this.width + 40), r.height / (this.height + 40), 1.6);
    if (!(k > 0)) k = 1;
    this.view = { k, x: (r.width - this.width * k) / 2, y: Math.max(10, (r.height - this.height * k) / 2) };
  }

  centerOn(x, y) {
    const r = this.canvas.getBoundingClientRect();
    this.view.k = Math.max(this.view.k, 1);
    this.view.x = r.width / 2 - x * this.view.k;
    this.view.y = r.height / 2 - y * this.view.k;
  }

  toScreen(x, y) { return [x * this.view.k + this.view.x, y * this.view.k + this.view.y]; }
  toWorld(sx, sy) { return [(sx - this.view.x) / this.view.k, (sy - this.view.y) / this.view.k]; }

  draw() {
    if (this._dirty) return;
    this._dirty = true;
    requestAnimationFrame(() => { this._dirty = false; this._draw(); });
  }

  // Draws now (tests time the first render with this).
  drawNow() { this._draw(); }

  _draw() {
    const c = this.ctx, el = this.canvas;
    const col = {
      bg: cssVar(el, '--graph-bg', '#fff'), ns: cssVar(el, '--ns-bg', '#f3f4f6'), nsBorder: cssVar(el, '--ns-border', '#cbd5e1'),
      text: cssVar(el, '--fg', '#111'), node: cssVar(el, '--node', '#2563eb'), ext: cssVar(el, '--node-ext', '#7c3aed'),
      sel: cssVar(el, '--sel', '#f59e0b'),
    };
    const vc = {}; for (const v of Object.keys(DASH)) vc[v] = cssVar(el, '--v-' + v, '#888');
    c.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    c.fillStyle = col.bg;
    c.fillRect(0, 0, el.width, el.height);
    c.setTransform(this.dpr * this.view.k, 0, 0, this.dpr * this.view.k, this.dpr * this.view.x, this.dpr * this.view.y);
    const k = this.view.k;
    // Namespaces.
    c.font = '11px system-ui, sans-serif';
    c.textBaseline = 'middle';
    for (const b of this.boxes.values()) {
      c.fillStyle = col.ns; c.strokeStyle = this._isSel('ns', b.id) ? col.sel : col.nsBorder;
      c.lineWidth = (this._isSel('ns', b.id) ? 3 : 1) / k;
      c.beginPath(); c.roundRect(b.x, b.y, b.w, b.h, 6); c.fill(); c.stroke();
      if (k * 12 > 5) {
        c.fillStyle = col.text;
        c.fillText(fit(c, (b.collapsed ? '\u25b8 ' : '\u25be ') + b.id + (b.collapsed ? ` (${b.nodes.length})` : ''), b.w - 10), b.x + 6, b.y + 11);
      }
    }
    // Edges. Many edges are drawn translucent, so density shows and single edges stay
    // traceable; the selected edge gets a halo.
    const alpha = Math.min(1, Math.max(0.15, 12 / Math.sqrt(this.drawn.length || 1)));
    for (const m of this.drawn) {
      const seg = this._segment(m);
      const [x1, y1, cx, cy, x2, y2] = seg;
      const sel = this._isSel('edge', m.src + '>' + m.dst);
      const lw = m.w / Math.max(k, 0.35);
      if (sel) {
        c.globalAlpha = 0.45; c.strokeStyle = col.sel; c.lineWidth = lw + 8 / k;
        c.beginPath(); c.moveTo(x1, y1); c.quadraticCurveTo(cx, cy, x2, y2); c.stroke();
      }
      c.globalAlpha = sel ? 1 : alpha;
      c.strokeStyle = vc[m.class];
      c.fillStyle = c.strokeStyle;
      c.lineWidth = lw;
      c.setLineDash(DASH[m.class].map((d) => d / Math.max(k, 0.35)));
      c.beginPath(); c.moveTo(x1, y1); c.quadraticCurveTo(cx, cy, x2, y2); c.stroke();
      c.setLineDash([]);
      // Arrow head.
      const a = Math.atan2(y2 - cy, x2 - cx), h = 6 / Math.max(k, 0.5) + m.w / 2;
      c.beginPath(); c.moveTo(x2, y2);
      c.lineTo(x2 - h * Math.cos(a - 0.45), y2 - h * Math.sin(a - 0.45));
      c.lineTo(x2 - h * Math.cos(a + 0.45), y2 - h * Math.sin(a + 0.45));
      c.closePath(); c.fill();
      if (m.label && (sel || (this.drawn.length <= 25 && k >= 1.2))) { c.fillStyle = col.text; const [lx, ly] = this._at(seg, 0.5); c.fillText(m.label, lx, ly - 4, 140); }
    }
    c.globalAlpha = 1;
    // Workloads.
    const labels = k >= 0.6;
    for (const b of this.boxes.values()) {
      if (b.collapsed) {
        const p = this._point('ns:' + b.id);
        c.fillStyle = col.node; c.beginPath(); c.arc(p.x, p.y, NODE_R + 3, 0, 7); c.fill();
        continue;
      }
      for (const n of b.nodes) {
        const p = this.pos.get(n.id);
        const hit = this.match.has(n.id), sel = this._isSel('node', n.id);
        c.fillStyle = n.kind === 'target' ? vc.denied : n.kind === 'external' || n.kind === 'node' ? col.ext : col.node;
        c.beginPath(); c.arc(p.x, p.y, NODE_R, 0, 7); c.fill();
        if (hit || sel) { c.strokeStyle = col.sel; c.lineWidth = 3 / k; c.beginPath(); c.arc(p.x, p.y, NODE_R + 3, 0, 7); c.stroke(); }
        if (labels || hit || sel) {
          c.fillStyle = col.text;
          c.fillText(fit(c, n.name, CELL - 4), p.x - CELL / 2 + 2, p.y + NODE_R + 7);
        }
      }
    }
  }

  _isSel(type, id) { return this.selected && this.selected.type === type && this.selected.id === id; }

  // Hit test at canvas coordinates: a workload, a namespace title/collapsed node, or an edge.
  hit(sx, sy) {
    const [x, y] = this.toWorld(sx, sy);
    for (const [id, p] of this.pos) {
      if (!p.proxy && Math.hypot(p.x - x, p.y - y) <= NODE_R + 2) return { type: 'node', id };
    }
    for (const b of this.boxes.values()) {
      const p = this._point('ns:' + b.id);
      if ((b.collapsed && Math.hypot(p.x - x, p.y - y) <= NODE_R + 4) ||
          (x >= b.x && x <= b.x + b.w && y >= b.y && y <= b.y + TITLE)) return { type: 'ns', id: b.id };
    }
    let best = null, bestD = 6 / this.view.k;
    for (const m of this.drawn) {
      const seg = this._segment(m);
      // Distance to the curve, as a polyline of 16 pieces.
      let [px, py] = this._at(seg, 0);
      for (let i = 1; i <= 16; i++) {
        const [qx, qy] = this._at(seg, i / 16);
        const dx = qx - px, dy = qy - py, l2 = dx * dx + dy * dy || 1;
        const t = Math.max(0, Math.min(1, ((x - px) * dx + (y - py) * dy) / l2));
        const d = Math.hypot(x - (px + t * dx), y - (py + t * dy));
        if (d < bestD) { bestD = d; best = m; }
        px = qx; py = qy;
      }
    }
    if (best) return { type: 'edge', id: best.src + '>' + best.dst, edge: best };
    return null;
  }

  // Where on the page (client coordinates) an edge's midpoint is drawn.
  edgeClientPoint(src, dst) {
    const m = this.drawn.find((e) => e.src === src && e.dst === dst);
    if (!m) return null;
    const [mx, my] = this._at(this._segment(m), 0.5);
    const [sx, sy] = this.toScreen(mx, my);
    const r = this.canvas.getBoundingClientRect();
    return { x: r.left + sx, y: r.top + sy };
  }

  // Brings an edge into view at a comfortable zoom.
  reveal(src, dst) {
    const m = this.drawn.find((e) => e.src === src && e.dst === dst);
    if (!m) return false;
    this.view.k = Math.max(this.view.k, 1.2);
    const [mx, my] = this._at(this._segment(m), 0.5);
    this.centerOn(mx, my);
    this._draw();
    return true;
  }

  select(sel, notify = true) {
    this.selected = sel;
    this.draw();
    if (!notify || !sel) return;
    if (sel.type === 'node') this.onNode(sel.id);
    else if (sel.type === 'ns') this.onNamespace(sel.id);
    else if (sel.type === 'edge') {
      const m = sel.edge || this.drawn.find((e) => e.src + '>' + e.dst === sel.id);
      if (m) this.onEdge(m);
    }
  }

  _bind() {
    const cv = this.canvas;
    let drag = null;
    cv.addEventListener('mousedown', (e) => { drag = { x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y, moved: false }; });
    window.addEventListener('mousemove', (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      this.view.x = drag.vx + dx; this.view.y = drag.vy + dy; this.draw();
    });
    window.addEventListener('mouseup', (e) => {
      if (!drag) return;
      const moved = drag.moved; drag = null;
      if (moved) return;
      const r = cv.getBoundingClientRect();
      const h = this.hit(e.clientX - r.left, e.clientY - r.top);
      if (h && h.type === 'ns' && e.detail >= 2) { this.toggle(h.id); return; }
      this.select(h);
    });
    cv.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = cv.getBoundingClientRect();
      this.zoomAt(e.clientX - r.left, e.clientY - r.top, e.deltaY < 0 ? 1.2 : 1 / 1.2);
    }, { passive: false });
    cv.addEventListener('keydown', (e) => this._key(e));
  }

  zoomAt(sx, sy, f) {
    const [wx, wy] = this.toWorld(sx, sy);
    this.view.k = Math.min(8, Math.max(0.05, this.view.k * f));
    this.view.x = sx - wx * this.view.k; this.view.y = sy - wy * this.view.k;
    this.draw();
  }

  _key(e) {
    const r = this.canvas.getBoundingClientRect();
    const cur = this.selected && this.selected.type === 'node' ? this.pos.get(this.selected.id) : null;
    const move = { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1] }[e.key];
    if (move) {
      e.preventDefault();
      if (!cur) { if (this.order.length) this.select({ type: 'node', id: this.order[0] }, false); }
      else {
        // Nearest workload in that direction.
        let best = null, bd = Infinity;
        for (const id of this.order) {
          const p = this.pos.get(id);
          const dx = p.x - cur.x, dy = p.y - cur.y;
          const along = dx * move[0] + dy * move[1];
          if (along <= 0) continue;
          const d = along + 2 * Math.abs(dx * move[1] + dy * move[0]);
          if (d < bd) { bd = d; best = id; }
        }
        if (best) this.select({ type: 'node', id: best }, false);
      }
      const p = this.pos.get(this.selected.id);
      const [sx, sy] = this.toScreen(p.x, p.y);
      if (sx < 0 || sy < 0 || sx > r.width || sy > r.height) this.centerOn(p.x, p.y);
      this.draw();
    } else if (e.key === 'Enter' && this.selected) { this.select(this.selected); }
    else if ((e.key === 'c' || e.key === 'C') && cur) { this.toggle(cur.ns); }
    else if (e.key === '+' || e.key === '=') this.zoomAt(r.width / 2, r.height / 2, 1.25);
    else if (e.key === '-') this.zoomAt(r.width / 2, r.height / 2, 0.8);
    else if (e.key === '0') { this.fit(); this.draw(); }
    else if (e.key === 'Escape') { this.selected = null; this.draw(); }
  }
}

// A legend element: verdict, colour swatch and dash pattern.
export function legend(doc, classes = VERDICTS) {
  const el = doc.createElement('div');
  el.className = 'legend';
  for (const v of classes) {
    const s = doc.createElement('span');
    s.className = 'lg';
    s.innerHTML = `<svg width="34" height="10" aria-hidden="true"><line x1="1" y1="5" x2="33" y2="5" class="lg-${v}" stroke-width="3" stroke-dasharray="${DASH[v].join(' ')}"/></svg>${v}`;
    el.appendChild(s);
  }
  return el;
}
