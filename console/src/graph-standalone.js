// The graph component for self-contained report pages (`netpol connlist -o html`,
// `paths -o html`): reads the JSON in <script id="graph-data" type="application/json">,
// draws it in #graph and shows the selected edge's or node's text in #info.
import { Graph, legend } from './graph.js';

function start() {
  const data = JSON.parse(document.getElementById('graph-data').textContent);
  const info = document.getElementById('info');
  const show = (title, lines) => {
    info.replaceChildren();
    const h = document.createElement('h2'); h.textContent = title; info.appendChild(h);
    const pre = document.createElement('pre'); pre.textContent = lines.join('\n'); info.appendChild(pre);
  };
  const canvas = document.getElementById('graph');
  const g = new Graph(canvas, {
    widthBy: data.widthBy || 'flows',
    onEdge: (m) => show(`${m.src} \u2192 ${m.dst}`, m.edges.map((e) => `${e.src} \u2192 ${e.dst}: ${e.label || ''}`)),
    onNode: (id) => {
      const out = data.edges.filter((e) => e.src === id).map((e) => `\u2192 ${e.dst}: ${e.label || ''}`);
      const inn = data.edges.filter((e) => e.dst === id).map((e) => `\u2190 ${e.src}: ${e.label || ''}`);
      const n = data.nodes.find((x) => x.id === id);
      show(id, [...(n && n.note ? [n.note] : []), ...out, ...inn]);
    },
    onNamespace: (ns) => g.toggle(ns),
  });
  g.setData(data, { fit: true });
  const classes = [...new Set(data.edges.map((e) => e.class))];
  document.getElementById('legend').appendChild(legend(document, classes));
  const search = document.getElementById('search');
  if (search) search.addEventListener('input', () => g.setSearch(search.value));
  window.__palisadeGraph = g;
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
