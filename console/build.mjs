// Bundles the console: src/main.js → app.js (+ app.css), src/graph-standalone.js → graph.js
// (the graph component alone, for the self-contained report pages), src/index.html, and
// NOTICES.txt with the licence of every third-party package that ends up in a bundle.
// Usage: node build.mjs --outdir DIR   (default: dist)
import * as esbuild from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync, copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--outdir');
const outdir = i > 0 ? process.argv[i + 1] : join(here, 'dist');
mkdirSync(outdir, { recursive: true });

const common = { bundle: true, minify: true, target: ['chrome110', 'firefox110', 'safari16'], metafile: true, legalComments: 'none', logLevel: 'warning' };
const app = await esbuild.build({ ...common, entryPoints: { app: join(here, 'src/main.js') }, outdir, format: 'esm' });
const graph = await esbuild.build({ ...common, entryPoints: { graph: join(here, 'src/graph-standalone.js') }, outdir, format: 'iife' });
await esbuild.build({ ...common, metafile: false, entryPoints: { app: join(here, 'src/app.css') }, outdir });
copyFileSync(join(here, 'src/index.html'), join(outdir, 'index.html'));

// Third-party packages in the bundles (inputs under node_modules), with their licences.
const pkgs = new Map();
for (const meta of [app.metafile, graph.metafile]) {
  for (const input of Object.keys(meta.inputs)) {
    const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
    if (m) pkgs.set(m[1], join(here, 'node_modules', m[1]));
  }
}
let notices = 'Palisade console — third-party notices\n\n';
notices += 'The console (app.js, app.css, graph.js) is Palisade\'s own code (Apache-2.0).\n';
if (pkgs.size === 0) {
  notices += 'No third-party package is bundled into it; the build tools (esbuild, MIT) are not shipped.\n';
}
for (const [name, dir] of [...pkgs].sort()) {
  const pj = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  notices += `\n== ${name} ${pj.version} (${pj.license})\n`;
  const lic = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
  if (lic) notices += readFileSync(join(dir, lic), 'utf8') + '\n';
}
writeFileSync(join(outdir, 'NOTICES.txt'), notices);
if (!existsSync(join(outdir, 'app.js'))) throw new Error('app.js was not written');
