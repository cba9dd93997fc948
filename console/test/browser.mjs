// Browser test of the console in real headless Chromium (Debian's, driven by playwright-core).
// Started by crates/palisade-console/tests/browser.rs, which seeds and serves two stores:
//   SMALL_URL  palisade-store's synthetic test data, with a snapshot and alerts
//   LARGE_URL  2,500 workloads in 500 namespaces
// Asserts counts against the API, filters, the denied edge's explanation and recommended
// policy, the impact view, the tables, keyboard selection, and that no request leaves the
// origin. Writes screenshots to SCREENSHOT_DIR and prints timings as one JSON line.
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const { SMALL_URL, LARGE_URL, SCREENSHOT_DIR, CHROMIUM = '/usr/bin/chromium' } = process.env;
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const timings = {};
const step = (s) => process.stderr.write(`browser test: ${s}\n`);

async function open(url, opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 860 }, acceptDownloads: true, ...opts });
  const page = await ctx.newPage();
  const origin = new URL(url).origin;
  const foreign = [];
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin + '/') && !u.startsWith('blob:') && !u.startsWith('data:')) foreign.push(u);
  });
  const errors = [];
  page.on('pageerror', (e) => { errors.push(String(e)); step('page error: ' + e); });
  page.on('response', (r) => { if (r.status() >= 400) step(`HTTP ${r.status()} ${r.url()}`); });
  page.on('console', (m) => { if (m.type() === 'error') step('console error: ' + m.text()); });
  const t0 = Date.now();
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 60000 });
  return { page, ctx, foreign, errors, loadMs: Date.now() - t0 };
}

const stats = (page) => page.$eval('#stats', (e) => ({ nodes: +e.dataset.nodes, edges: +e.dataset.edges, namespaces: +e.dataset.namespaces }));
const apiCounts = (page, q) => page.evaluate(async (q) => {
  const g = await (await fetch('api/v1/graph?' + q)).json();
  return { nodes: g.nodes.length, edges: g.edges.length };
}, q);
const lastQuery = (page) => page.evaluate(() => window.__palisade.lastQuery);

async function setField(page, sel, value) {
  await page.fill(sel, value);
  await page.dispatchEvent(sel, 'change');
}

async function waitStats(page, want) {
  await page.waitForFunction((w) => {
    const e = document.querySelector('#stats');
    return +e.dataset.nodes === w.nodes && +e.dataset.edges === w.edges;
  }, want, { timeout: 20000 });
}

// ---------------- small store ----------------
{
  step('small store: graph counts');
  const { page, ctx, foreign, errors } = await open(SMALL_URL);
  const s = await stats(page);
  assert.deepEqual({ nodes: s.nodes, edges: s.edges }, await apiCounts(page, ''));
  assert.deepEqual({ nodes: s.nodes, edges: s.edges }, { nodes: 5, edges: 4 });
  await page.screenshot({ path: `${SCREENSHOT_DIR}/graph.png` });
  // The edge a threat feed matched (a palisade-threat alert in --alerts) is drawn as a threat.
  assert.equal(await page.evaluate(() => window.__palisade.graph.drawn.find((e) => e.dst === '203.0.113.0/24').class), 'threat');

  step('namespace filter');
  await setField(page, '#namespace', 'batch');
  await waitStats(page, { nodes: 2, edges: 1 });
  assert.deepEqual(await apiCounts(page, await lastQuery(page)), { nodes: 2, edges: 1 });
  assert.match(page.url(), /namespace=batch/, 'the URL keeps the filter');

  step('time filter');
  await setField(page, '#namespace', '');
  await waitStats(page, { nodes: 5, edges: 4 });
  await page.selectOption('#range', '1h');
  // The last hour of history holds only the denied job → db attempts.
  await waitStats(page, { nodes: 2, edges: 1 });
  assert.deepEqual(await apiCounts(page, await lastQuery(page)), { nodes: 2, edges: 1 });
  assert.match(page.url(), /range=1h/);
  // The sliders over the stored history: the last 1% holds only job → db.
  await page.$eval('#from', (e) => { e.value = '990'; e.dispatchEvent(new Event('change')); });
  await waitStats(page, { nodes: 2, edges: 1 });
  assert.match(page.url(), /range=custom&from=990/);
  assert.deepEqual(await apiCounts(page, await lastQuery(page)), { nodes: 2, edges: 1 });
  await page.$eval('#from', (e) => { e.value = '0'; e.dispatchEvent(new Event('change')); });
  await waitStats(page, { nodes: 5, edges: 4 });
  await page.selectOption('#range', 'all');
  await waitStats(page, { nodes: 5, edges: 4 });

  step('hide and search');
  await setField(page, '#hide', 'batch');
  await waitStats(page, { nodes: 4, edges: 3 });
  await setField(page, '#hide', '');
  await waitStats(page, { nodes: 5, edges: 4 });

  step('click the denied edge');
  await page.evaluate(() => window.__palisade.graph.reveal('batch/job', 'shop/db'));
  const pt = await page.evaluate(() => window.__palisade.graph.edgeClientPoint('batch/job', 'shop/db'));
  assert.ok(pt, 'the denied edge is drawn');
  await page.mouse.click(pt.x, pt.y);
  await page.waitForSelector('.explain-text', { timeout: 20000 });
  assert.equal(await page.textContent('#edge-verdict'), 'denied');
  const explain = await page.textContent('.explain-text');
  assert.match(explain, /db-ingress/, explain);
  await page.click('.recommend-btn');
  await page.waitForSelector('.yaml', { timeout: 20000 });
  const yaml = await page.textContent('.yaml');
  assert.match(yaml, /kind: NetworkPolicy/);
  assert.match(yaml, /"app": "job"/);
  assert.match(page.url(), /sel=edge/);
  await page.screenshot({ path: `${SCREENSHOT_DIR}/edge-explain.png` });

  step('keyboard: select a workload');
  await page.focus('#graph');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#panel h3') && /Peers/.test(document.querySelector('#panel h3').textContent));

  step('workload drill-down: findings and RBAC risks');
  await page.evaluate(() => window.__palisade.graph.select({ type: 'node', id: 'batch/job' }));
  await page.waitForFunction(() => [...document.querySelectorAll('#panel h3')].some((h) => /RBAC risks of batch\/job-runner \([1-9]/.test(h.textContent)));
  assert.match(await page.textContent('#panel'), /Scan findings \([1-9]/);
  await page.screenshot({ path: `${SCREENSHOT_DIR}/workload.png` });

  step('tables');
  const apiLen = (ep) => page.evaluate(async (ep) => (await (await fetch(`api/v1/${ep}?limit=5000`)).json()).length, ep);
  for (const [tab, ep] of [['flows', 'flows'], ['dns', 'dns'], ['alerts', 'alerts']]) {
    await page.click(`#tab-${tab}`);
    await page.waitForSelector(`#view-${tab} .count[data-rows]`);
    const rows = await page.$eval(`#view-${tab} .count`, (e) => +e.dataset.rows);
    assert.equal(rows, await apiLen(ep), `${tab} rows`);
    assert.ok(rows > 0, `${tab} has rows`);
  }
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#view-alerts .csv')]);
  const csvPath = await download.path();
  const csv = (await import('node:fs')).readFileSync(csvPath, 'utf8');
  assert.match(csv.split('\n')[0], /^time,priority,rule/);
  assert.equal(csv.trim().split('\n').length, 4, 'header and three alerts');
  await page.click('#tab-flows');
  await page.screenshot({ path: `${SCREENSHOT_DIR}/flows.png` });

  step('policy impact');
  await page.click('#tab-impact');
  await page.click('#impact-staged');
  await page.waitForSelector('#impact-summary', { timeout: 20000 });
  const impact = await page.textContent('#impact-result');
  assert.match(impact, /shop\/cache/, impact);
  assert.match(await page.textContent('#impact-summary'), /1 connection\(s\) newly denied/);
  await page.screenshot({ path: `${SCREENSHOT_DIR}/impact.png` });

  step('dark mode');
  await page.click('#tab-graph');
  await page.click('#theme');
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  await page.waitForTimeout(100);
  await page.screenshot({ path: `${SCREENSHOT_DIR}/dark.png` });

  assert.deepEqual(foreign, [], 'no request leaves the origin');
  assert.deepEqual(errors, [], 'no script error');
  await ctx.close();
}

// ---------------- 2,500 workloads ----------------
{
  step('large store: first render');
  const { page, ctx, foreign, errors, loadMs } = await open(LARGE_URL);
  const s = await stats(page);
  // 2,500 workloads in 500 namespaces, plus the external range they call.
  assert.deepEqual(s, { nodes: 2501, edges: 8000, namespaces: 501 });
  assert.deepEqual({ nodes: s.nodes, edges: s.edges }, await apiCounts(page, ''));
  const t = await page.evaluate(() => window.__palisade.timings[0]);
  timings.first_load_ms = loadMs;
  timings.first_graph = t;
  await page.screenshot({ path: `${SCREENSHOT_DIR}/large-collapsed.png` });

  step('large store: filter changes');
  const filterMs = [];
  for (const ns of ['ns-007', 'ns-123', '']) {
    const t0 = await page.evaluate(() => performance.now());
    await setField(page, '#namespace', ns);
    const want = ns ? await apiCounts(page, `namespace=${ns}`) : { nodes: 2501, edges: 8000 };
    await waitStats(page, want);
    const t1 = await page.evaluate(() => performance.now());
    const last = await page.evaluate(() => window.__palisade.timings.at(-1));
    filterMs.push({ namespace: ns || '(all)', ...want, total_ms: Math.round(t1 - t0), fetch_ms: Math.round(last.fetch_ms), render_ms: Math.round(last.render_ms) });
  }
  timings.filter_changes = filterMs;
  const t0 = await page.evaluate(() => performance.now());
  await page.click('#expand-all');
  await page.evaluate(() => window.__palisade.graph.drawNow());
  timings.expand_all_ms = Math.round((await page.evaluate(() => performance.now())) - t0);
  await page.screenshot({ path: `${SCREENSHOT_DIR}/large-expanded.png` });
  step('large store: search zooms to a workload');
  await page.fill('#search', 'ns-042/wl-3');
  await page.waitForTimeout(100);
  await page.screenshot({ path: `${SCREENSHOT_DIR}/large-search.png` });
  assert.deepEqual(foreign, [], 'no request leaves the origin');
  assert.deepEqual(errors, [], 'no script error');
  await ctx.close();
}

// ---------------- a report page (netpol connlist -o html) ----------------
if (process.env.REPORT_HTML) {
  step('report page: the same graph component, one file');
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  const page = await ctx.newPage();
  const foreign = [];
  const errors = [];
  page.on('request', (r) => { if (!r.url().startsWith('file://') && !r.url().startsWith('data:')) foreign.push(r.url()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto('file://' + process.env.REPORT_HTML);
  await page.waitForFunction(() => window.__palisadeGraph && window.__palisadeGraph.drawn.length > 0);
  const counts = await page.evaluate(() => {
    const d = JSON.parse(document.getElementById('graph-data').textContent);
    const g = window.__palisadeGraph;
    return { nodes: d.nodes.length, edges: d.edges.length, laidOut: g.order.length, drawn: g.drawn.length };
  });
  assert.ok(counts.nodes > 3 && counts.edges > 3, JSON.stringify(counts));
  assert.equal(counts.laidOut, counts.nodes, 'every peer is drawn');
  const first = await page.evaluate(() => { const e = window.__palisadeGraph.drawn[0]; window.__palisadeGraph.reveal(e.src, e.dst); return window.__palisadeGraph.edgeClientPoint(e.src, e.dst); });
  await page.mouse.click(first.x, first.y);
  await page.waitForFunction(() => /\u2192/.test(document.querySelector('#info h2')?.textContent || ''));
  await page.screenshot({ path: `${SCREENSHOT_DIR}/connlist-report.png` });
  assert.deepEqual(foreign, [], 'the report page makes no request');
  assert.deepEqual(errors, [], 'no script error');
  timings.report = counts;
  await ctx.close();
}

await browser.close();
console.log(JSON.stringify({ timings }));
