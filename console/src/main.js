// The console page: controls (kept in the URL), the graph, the drill-down panel, the tables
// and the policy impact view. Every request goes to this server's /api/v1.
import { Graph, legend } from './graph.js';

const $ = (s) => document.querySelector(s);
const PRESETS = { '7d': 7 * 864e5, '24h': 864e5, '6h': 6 * 36e5, '1h': 36e5, '15m': 9e5 };
const state = {
  tab: 'graph', range: 'all', from: 0, to: 1000, namespace: '', label: '', verdict: '', port: '',
  hide: '', search: '', collapsed: '', sel: '', dark: '', width: 'bytes',
};
let meta = null;
let graph = null;
let graphData = null;
const timings = [];
window.__palisade = { timings, state };

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k instanceof Node ? k : String(k));
  return e;
}

function fmtBytes(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0; while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + u[i];
}
const fmtTime = (ms) => (ms ? new Date(ms).toISOString().replace('.000Z', 'Z') : '');

// ---- URL state ----
function readUrl() {
  const q = new URLSearchParams(location.search);
  for (const k of Object.keys(state)) if (q.has(k)) state[k] = q.get(k);
}
function writeUrl() {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) if (v !== '' && v != null && !(k === 'tab' && v === 'graph') && !(k === 'range' && v === 'all') && !(k === 'width' && v === 'bytes')) q.set(k, v);
  if (state.range !== 'custom') { q.delete('from'); q.delete('to'); }
  const s = q.toString();
  history.replaceState(null, '', s ? '?' + s : location.pathname);
}

// ---- time range ----
function rangeMs() {
  const first = meta && meta.history.first != null ? meta.history.first : 0;
  const last = meta && meta.history.last != null ? meta.history.last + 1 : Date.now();
  if (state.range === 'custom') {
    const span = Math.max(1, last - first);
    return [Math.floor(first + span * state.from / 1000), Math.ceil(first + span * state.to / 1000) + 1];
  }
  // Presets count back from the newest stored record (for a live sensor: about now).
  if (PRESETS[state.range]) return [last - PRESETS[state.range], last];
  return [0, Math.max(last, Date.now()) + 1];
}

function query(extra = {}) {
  const [since, until] = rangeMs();
  const q = new URLSearchParams({ since, until });
  if (state.namespace) q.set('namespace', state.namespace);
  if (state.label) q.set('label', state.label);
  if (state.verdict) q.set('verdict', state.verdict);
  if (state.port) q.set('port', state.port);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return q;
}

async function api(endpoint, extra = {}, init) {
  const q = query(extra);
  if (endpoint === 'graph') window.__palisade.lastQuery = q.toString();
  const r = await fetch(`api/v1/${endpoint}?${q}`, init);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function showError(e) {
  const box = $('#error');
  box.hidden = !e;
  box.textContent = e ? String(e.message || e) : '';
}

// ---- graph ----
function hiddenSet() {
  return state.hide.split(',').map((s) => s.trim()).filter(Boolean);
}
function visible(data) {
  const hide = hiddenSet();
  const gone = (id, ns) => hide.includes(id) || hide.includes(ns);
  const nodes = data.nodes.filter((n) => !gone(n.id, n.namespace));
  const keep = new Set(nodes.map((n) => n.id));
  const edges = data.edges.filter((e) => keep.has(e.src) && keep.has(e.dst));
  const nsIds = new Set(nodes.map((n) => n.namespace));
  return { namespaces: data.namespaces.filter((n) => nsIds.has(n.id)), nodes, edges };
}

async function loadGraph() {
  const t0 = performance.now();
  let data;
  try { data = await api('graph'); showError(null); } catch (e) { showError(e); return; }
  const t1 = performance.now();
  graphData = data;
  renderGraph();
  graph.drawNow();
  const t2 = performance.now();
  timings.push({ what: 'graph', fetch_ms: t1 - t0, render_ms: t2 - t1, total_ms: t2 - t0, nodes: data.nodes.length, edges: data.edges.length });
  const dl = $('#ns-list'); dl.replaceChildren(...data.namespaces.map((n) => el('option', { value: n.id })));
}

function renderGraph() {
  if (!graphData) return;
  const v = visible(graphData);
  if (state.collapsed === '' && v.nodes.length > 400 && !renderGraph.auto) {
    // Large clusters open as namespaces; expand the ones you want.
    renderGraph.auto = true;
    state.collapsed = '*';
  }
  const col = state.collapsed === '*' ? v.namespaces.map((n) => n.id) : state.collapsed.split(',').filter(Boolean);
  graph.collapsed = new Set(col);
  graph.widthBy = state.width;
  graph.setData(v);
  if (state.search) graph.setSearch(state.search);
  const st = $('#stats');
  st.textContent = `${v.nodes.length} workloads in ${v.namespaces.length} namespaces, ${v.edges.length} edges`;
  st.dataset.nodes = v.nodes.length;
  st.dataset.edges = v.edges.length;
  st.dataset.namespaces = v.namespaces.length;
}

function onCollapseChange() {
  const all = graphData ? visible(graphData).namespaces.map((n) => n.id) : [];
  const c = [...graph.collapsed];
  state.collapsed = c.length && c.length === all.length ? '*' : c.join(',');
  writeUrl();
}

// ---- drill-down ----
function table(cols, rows) {
  const t = el('table');
  t.append(el('thead', {}, el('tr', {}, ...cols.map((c) => el('th', { scope: 'col' }, c[0])))));
  const tb = el('tbody');
  for (const r of rows) tb.append(el('tr', {}, ...cols.map((c) => el('td', {}, c[1](r)))));
  t.append(tb);
  return t;
}

async function showEdge(m) {
  const panel = $('#panel');
  state.sel = 'edge:' + m.src + '>' + m.dst; writeUrl();
  panel.replaceChildren(el('h2', {}, `${m.src} \u2192 ${m.dst}`), el('p', { class: 'muted' }, 'loading\u2026'));
  if (m.merged) {
    panel.replaceChildren(el('h2', {}, `${m.src.replace(/^ns:/, '')} \u2192 ${m.dst.replace(/^ns:/, '')}`),
      el('p', {}, `${m.edges.length} edges (a collapsed namespace): expand it to select one.`),
      table([['from', (e) => e.src], ['to', (e) => e.dst], ['flows', (e) => e.flows], ['verdict', (e) => e.class]], m.edges.slice(0, 200)));
    return;
  }
  let d;
  try { d = await api('edge', { src: m.src, dst: m.dst }); } catch (e) { panel.replaceChildren(el('p', { class: 'err' }, e.message)); return; }
  const s = d.summary;
  const kids = [
    el('h2', {}, `${m.src} \u2192 ${m.dst}`),
    el('p', { class: 'verdict v-' + s.class, id: 'edge-verdict' }, s.class),
    ...(m.edges[0].threats ? [el('p', { class: 'verdict v-threat', id: 'edge-threat' }, `threat feed match: ${m.edges[0].threats.join(', ')} (see the alert timeline)`)] : []),
    el('p', {}, `${s.flows} flows, ${fmtBytes(s.bytes)} (${fmtBytes(s.bytes_out)} out, ${fmtBytes(s.bytes_in)} in), ${s.tls} TLS, ${s.plaintext} plaintext, ${s.denied} denied`),
    el('p', {}, `first ${fmtTime(s.first_seen)}, last ${fmtTime(s.last_seen)}`),
    el('h3', {}, 'Flows by port'),
    table([['port', (r) => `${r.protocol}/${r.port}`], ['verdict', (r) => r.verdict], ['flows', (r) => r.flows], ['bytes', (r) => fmtBytes(r.bytes_out + r.bytes_in)], ['TLS', (r) => r.tls_flows], ['first', (r) => fmtTime(r.first_seen)], ['last', (r) => fmtTime(r.last_seen)]], d.rows),
  ];
  if (d.details.length) {
    kids.push(el('h3', {}, 'Flows kept whole'), table([['start', (r) => fmtTime(r.start)], ['source', (r) => `${r.src.pod || r.src.ip}:${r.src.port}`], ['destination', (r) => `${r.dst.ip}:${r.dst.port}`], ['connections', (r) => r.connections || 1], ['state', (r) => r.tcp_state || ''], ['security', (r) => r.security], ['policy', (r) => r.policy || r.computed_policy || '']], d.details));
  }
  if (!d.snapshot) kids.push(el('p', { class: 'muted' }, 'Start the server with --snapshot to see which policy decides this edge.'));
  for (const x of d.explain) {
    if (x.error) { kids.push(el('p', { class: 'err' }, `${x.protocol}/${x.port}: ${x.error}`)); continue; }
    const box = el('div', { class: 'explain' }, el('h3', {}, `Explain ${x.protocol}/${x.port}: ${x.allowed ? 'allowed' : 'denied'}`), el('pre', { class: 'explain-text' }, x.text));
    if (!x.allowed) {
      const out = el('div', { class: 'recommend' });
      box.append(el('button', { type: 'button', class: 'recommend-btn', onclick: async () => {
        out.replaceChildren('loading\u2026');
        try {
          const r = await api('recommend', { src: m.src, dst: m.dst, port: x.port, protocol: x.protocol });
          out.replaceChildren(el('h4', {}, 'Recommended policy'), el('pre', { class: 'yaml' }, r.yaml), ...r.notes.map((n) => el('p', { class: 'muted' }, n)));
        } catch (e) { out.replaceChildren(el('p', { class: 'err' }, e.message)); }
      } }, 'Recommend policy'), out);
    }
    kids.push(box);
  }
  panel.replaceChildren(...kids);
}

async function showNode(id) {
  const panel = $('#panel');
  state.sel = 'node:' + id; writeUrl();
  panel.replaceChildren(el('h2', {}, id), el('p', { class: 'muted' }, 'loading\u2026'));
  let d;
  try { d = await api('workload', { name: id }); } catch (e) { panel.replaceChildren(el('h2', {}, id), el('p', { class: 'err' }, e.message)); return; }
  const kids = [el('h2', {}, id), el('h3', {}, `Peers (${d.peers.length})`),
    table([['', (p) => (p.direction === 'out' ? '\u2192' : '\u2190')], ['peer', (p) => p.peer], ['flows', (p) => p.flows], ['bytes', (p) => fmtBytes(p.bytes)], ['verdict', (p) => p.class], ['ports', (p) => p.ports.join(' ')]], d.peers),
    el('h3', {}, `DNS names resolved (${d.dns.length})`),
    table([['name', (r) => r.qname], ['type', (r) => r.qtype], ['rcode', (r) => r.rcode || '(no response)'], ['queries', (r) => r.queries], ['answers', (r) => r.answers]], d.dns)];
  if (d.snapshot) kids.push(el('h3', {}, `Policies selecting it (${d.policies.length})`), table([['policy', (p) => `${p.namespace}/${p.name}`], ['ingress', (p) => (p.ingress ? 'yes' : '')], ['egress', (p) => (p.egress ? 'yes' : '')], ['staged', (p) => (p.staged ? 'staged' : '')]], d.policies));
  if (d.snapshot) {
    kids.push(el('h3', {}, `Scan findings (${d.findings.length})`), table([['check', (f) => f.check], ['severity', (f) => f.severity], ['message', (f) => f.message], ['where', (f) => `${f.source.split('/').pop()}:${f.line}`]], d.findings));
    kids.push(el('h3', {}, `RBAC risks of ${d.service_account || 'its service account'} (${d.rbac_risks.length})`), table([['risk', (r) => r.id], ['severity', (r) => r.severity], ['title', (r) => r.title], ['scope', (r) => r.scope], ['via', (r) => `${r.binding} \u2192 ${r.role}`], ['rule', (r) => r.rule]], d.rbac_risks));
  }
  kids.push(el('h3', {}, `Alerts (${d.alerts.length})`), table([['time', (a) => a.time], ['priority', (a) => a.priority], ['rule', (a) => a.rule], ['output', (a) => a.output]], d.alerts));
  panel.replaceChildren(...kids);
}

// ---- tables ----
const TABLES = {
  flows: { endpoint: 'flows', cols: [['source', (r) => (r.src.namespace ? r.src.namespace + '/' : '') + r.src.name], ['destination', (r) => (r.dst.namespace ? r.dst.namespace + '/' : '') + r.dst.name + (r.dst_name ? ` (${r.dst_name})` : '')], ['port', (r) => `${r.protocol}/${r.port}`], ['verdict', (r) => r.verdict], ['flows', (r) => r.flows], ['bytes out', (r) => r.bytes_out], ['bytes in', (r) => r.bytes_in], ['TLS', (r) => r.tls_flows], ['plaintext', (r) => r.plaintext_flows], ['first', (r) => fmtTime(r.first_seen)], ['last', (r) => fmtTime(r.last_seen)]] },
  dns: { endpoint: 'dns', cols: [['client', (r) => (r.client.namespace ? r.client.namespace + '/' : '') + r.client.name], ['name', (r) => r.qname], ['domain', (r) => r.domain], ['type', (r) => r.qtype], ['rcode', (r) => r.rcode || '(no response)'], ['queries', (r) => r.queries], ['answers', (r) => r.answers], ['last', (r) => fmtTime(r.last_seen)]] },
  alerts: { endpoint: 'alerts', cols: [['time', (a) => a.time], ['priority', (a) => a.priority], ['rule', (a) => a.rule], ['source', (a) => a.source || ''], ['output', (a) => a.output]] },
};

function csv(cols, rows) {
  const cell = (v) => { const s = String(v ?? ''); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  return [cols.map((c) => cell(c[0])).join(','), ...rows.map((r) => cols.map((c) => cell(c[1](r))).join(','))].join('\n') + '\n';
}

async function loadTable(name) {
  const def = TABLES[name];
  const sec = $('#view-' + name);
  let rows;
  try { rows = await api(def.endpoint, { limit: 5000 }); showError(null); } catch (e) { showError(e); return; }
  const f = sec.querySelector('.tfilter');
  const render = () => {
    const t = f.value.trim().toLowerCase();
    const shown = t ? rows.filter((r) => JSON.stringify(r).toLowerCase().includes(t)) : rows;
    sec.querySelector('.table').replaceChildren(table(def.cols, shown));
    sec.querySelector('.count').textContent = `${shown.length} of ${rows.length} rows`;
    sec.querySelector('.count').dataset.rows = shown.length;
    sec._shown = shown;
  };
  f.oninput = render;
  sec.querySelector('.csv').onclick = () => {
    const blob = new Blob([csv(def.cols, sec._shown || [])], { type: 'text/csv' });
    const a = el('a', { href: URL.createObjectURL(blob), download: `palisade-${name}.csv` });
    document.body.append(a); a.click(); a.remove();
  };
  render();
}

async function runImpact(body) {
  const out = $('#impact-result');
  out.replaceChildren('evaluating\u2026');
  try {
    const r = await api('impact', {}, body ? { method: 'POST', body, headers: { 'content-type': 'application/yaml' } } : undefined);
    const rows = r.newly_denied;
    out.replaceChildren(
      el('p', { id: 'impact-summary' }, `${r.evaluated} stored flow(s) evaluated (${r.mode}): ${rows.length} connection(s) newly denied, ${r.newly_allowed.length} newly allowed; ${r.still_allowed} still allowed, ${r.still_denied} still denied${r.unresolved ? `, ${r.unresolved} not in the snapshot` : ''}.`),
      el('h3', {}, 'Newly denied'),
      table([['source', (x) => x.src], ['destination', (x) => x.dst], ['port', (x) => `${x.protocol}/${x.port}`], ['flows', (x) => x.flows], ['bytes', (x) => fmtBytes(x.bytes)]], rows),
      el('h3', {}, 'Newly allowed'),
      table([['source', (x) => x.src], ['destination', (x) => x.dst], ['port', (x) => `${x.protocol}/${x.port}`], ['flows', (x) => x.flows]], r.newly_allowed));
  } catch (e) { out.replaceChildren(el('p', { class: 'err' }, e.message)); }
}

// ---- wiring ----
function syncControls() {
  for (const k of ['range', 'from', 'to', 'namespace', 'label', 'verdict', 'port', 'hide', 'search']) $('#' + k).value = state[k];
  $('#width-by').value = state.width;
  const [a, b] = rangeMs();
  $('#range-text').textContent = state.range === 'all' ? 'all history' : `${fmtTime(a)} \u2013 ${fmtTime(b)}`;
  document.documentElement.dataset.theme = state.dark === '1' ? 'dark' : state.dark === '0' ? 'light' : '';
  $('#theme').setAttribute('aria-pressed', state.dark === '1');
}

function setTab(t) {
  state.tab = t;
  for (const b of document.querySelectorAll('[role=tab]')) b.setAttribute('aria-selected', b.dataset.tab === t);
  for (const s of document.querySelectorAll('.view')) s.hidden = s.id !== 'view-' + t;
  writeUrl();
  if (TABLES[t]) loadTable(t);
  if (t === 'graph') graph.resize();
}

async function refresh() {
  writeUrl(); syncControls();
  if (state.tab === 'graph') await loadGraph(); else if (TABLES[state.tab]) await loadTable(state.tab);
  else if (state.tab === 'impact') $('#impact-result').replaceChildren();
}

async function main() {
  readUrl();
  graph = new Graph($('#graph'), { onEdge: showEdge, onNode: showNode, onNamespace: () => {}, onChange: onCollapseChange, widthBy: state.width });
  window.__palisade.graph = graph;
  $('#legend').append(legend(document));
  try { meta = await (await fetch('api/v1/meta')).json(); } catch (e) { showError(e); }
  syncControls();
  for (const b of document.querySelectorAll('[role=tab]')) b.addEventListener('click', () => { setTab(b.dataset.tab); });
  const apiFilters = ['namespace', 'label', 'verdict', 'port'];
  for (const k of apiFilters) $('#' + k).addEventListener('change', (e) => { state[k] = e.target.value.trim(); refresh(); });
  $('#range').addEventListener('change', (e) => { state.range = e.target.value; refresh(); });
  for (const k of ['from', 'to']) $('#' + k).addEventListener('change', (e) => { state.range = 'custom'; state[k] = e.target.value; refresh(); });
  $('#hide').addEventListener('change', (e) => { state.hide = e.target.value; writeUrl(); renderGraph(); });
  $('#search').addEventListener('input', (e) => { state.search = e.target.value; writeUrl(); const n = graph.setSearch(state.search); $('#search').title = `${n} match(es)`; });
  $('#width-by').addEventListener('change', (e) => { state.width = e.target.value; writeUrl(); renderGraph(); });
  $('#collapse-all').addEventListener('click', () => { graph.collapseAll(); graph.fit(); graph.draw(); });
  $('#expand-all').addEventListener('click', () => { graph.expandAll(); graph.fit(); graph.draw(); });
  $('#fit').addEventListener('click', () => { graph.fit(); graph.draw(); });
  $('#controls').addEventListener('submit', (e) => e.preventDefault());
  $('#theme').addEventListener('click', () => {
    const dark = document.documentElement.dataset.theme === 'dark' || (!document.documentElement.dataset.theme && matchMedia('(prefers-color-scheme: dark)').matches);
    state.dark = dark ? '0' : '1'; writeUrl(); syncControls(); graph.draw();
  });
  $('#impact-staged').addEventListener('click', () => runImpact(null));
  $('#impact-file').addEventListener('change', async (e) => { const f = e.target.files[0]; if (f) runImpact(await f.text()); });
  document.addEventListener('keydown', (e) => {
    if (e.target.matches('input, select, textarea')) return;
    if (e.key === '/') { e.preventDefault(); $('#search').focus(); }
    else if (e.key === 'g') $('#graph').focus();
    else if (e.key === 'd') $('#theme').click();
  });
  setTab(state.tab);
  await refresh();
  if (state.sel.startsWith('node:')) { graph.select({ type: 'node', id: state.sel.slice(5) }); }
  else if (state.sel.startsWith('edge:')) { const [s, d] = state.sel.slice(5).split('>'); if (graph.reveal(s, d)) graph.select({ type: 'edge', id: s + '>' + d }); }
  document.body.dataset.ready = '1';
}

main();
