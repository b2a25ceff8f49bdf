// The portal's budgets (docs/PERFORMANCE.md, "The citizens' portal"): the first load of a
// record page on loopback with the WebAssembly verifier (goal < 1 s, until every check is
// shown), the in-browser verification of a record (goal < 300 ms) and the bytes the page
// transfers, compressed (goal < 1 MB). Not a timed test: it prints the figures.
//
//   node bench.mjs http://127.0.0.1:PORT <rid> [runs]
import { launch, freshContext, verdict } from './lib.mjs';

const [node, rid, runs = '7'] = process.argv.slice(2);
if (!node || !rid) {
  console.error('usage: node bench.mjs <node URL> <record id> [runs]');
  process.exit(2);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const launched = await launch();
const cold = { load: [], verify: [], bytes: [] };
const warm = { load: [], verify: [] };
for (let i = 0; i < Number(runs); i += 1) {
  const context = await freshContext(launched, {});
  const page = await context.newPage();
  const sizes = [];
  page.on('requestfinished', (r) => sizes.push(r.sizes().then((s) => s.responseBodySize + s.responseHeadersSize)));
  await page.goto(`${node}/record/${encodeURIComponent(rid)}`);
  let v = await verdict(page, '#verify');
  if (v.verdict !== 'verified') throw new Error(`not verified: ${v.banner}`);
  const done = Number(await page.getAttribute('#verify', 'data-done-at'));
  // Bytes on the wire (bodies as sent, gzipped where the node gzips, plus headers).
  const bytes = (await Promise.all(sizes)).reduce((sum, n) => sum + n, 0);
  cold.load.push(done);
  cold.verify.push(v.ms);
  cold.bytes.push(bytes);
  // The same browser again: files revalidated (304) or from the service worker, the
  // genesis already pinned, the checkpoint seen before.
  await page.reload();
  v = await verdict(page, '#verify');
  warm.load.push(Number(await page.getAttribute('#verify', 'data-done-at')));
  warm.verify.push(v.ms);
  await context.close();
}
await launched.close();
console.log(`record page ${rid} on ${node}, ${runs} runs, medians:`);
console.log(`  first visit: page loaded and every check shown after ${median(cold.load)} ms; verification ${median(cold.verify)} ms (WebAssembly compile, genesis pin, checkpoint, tiles, entry); ${(median(cold.bytes) / 1024).toFixed(0)} KiB transferred`);
console.log(`  later visit: every check shown after ${median(warm.load)} ms; verification ${median(warm.verify)} ms`);
