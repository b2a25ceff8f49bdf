// A household's receipt verifies with the network off: on the portal's receipt page after one
// visit (service worker), by QR code link and by file, and as a standalone file opened from
// file://, which also prints on one A4 page. A receipt whose amount was changed does not.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { config, launch, freshContext, watchedPage, settled, noSidewaysScroll, axeViolations, verdict, step } from './lib.mjs';

const node = config.node;
const receiptText = readFileSync(config.receipt, 'utf8');
const launched = await launch();
let failed = 0;
const check = async (name, body) => { if (!(await step(name, body))) failed += 1; };

async function expectVerified(page, what) {
  const v = await verdict(page, '#receipt');
  if (v.verdict !== 'verified' || v.checks.some((c) => !c.ok) || !v.checks.length) {
    throw new Error(`${what}: ${v.verdict} ${v.banner} ${JSON.stringify(v.checks)}`);
  }
  const amount = await page.textContent('#receipt [data-amount]');
  if (amount.trim() !== config.amount) throw new Error(`${what}: amount shown ${amount}, want ${config.amount}`);
  return `${v.checks.length} checks green in ${v.ms} ms, ${amount.trim()}`;
}

await check('receipt page offline after one visit (QR link and file)', async () => {
  const context = await freshContext(launched, { width: 360, height: 780 });
  const { page, problems } = await watchedPage(context);
  await page.goto(`${node}/receipt`);
  await settled(page);
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.waitForFunction(() => localStorage.getItem('daylight.genesis.pinned'));
  if (problems.length) throw new Error(problems.join('\n'));
  await context.setOffline(true);
  const offline = await context.newPage();
  const requests = [];
  offline.on('request', (r) => requests.push(r.url()));
  await offline.goto(`${node}/receipt#${config.code}`);
  await offline.waitForSelector('main h1');
  const byLink = await expectVerified(offline, 'by QR link');
  // Nothing about the household left the page: no request carried the code.
  const leaked = requests.filter((u) => u.includes(config.code.slice(0, 24)));
  if (leaked.length) throw new Error(`the code was sent: ${leaked.join(', ')}`);
  await offline.goto(`${node}/receipt`);
  await offline.waitForSelector('#receipt-file');
  await offline.setInputFiles('#receipt-file', config.receipt);
  const byFile = await expectVerified(offline, 'by file');
  if (config.screenshots) await offline.screenshot({ path: join(config.screenshots, 'receipt-verified-zh-360.png'), fullPage: true });
  // The same receipt with its amount raised does not verify.
  const forged = JSON.parse(receiptText);
  forged.opening.amount.minor = String(BigInt(forged.opening.amount.minor) * 3n);
  await offline.setInputFiles('#receipt-file', { name: 'forged.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(forged)) });
  await offline.waitForSelector('#receipt[data-verdict="not-verified"]');
  const banner = await offline.textContent('#receipt .banner');
  await context.close();
  return `link: ${byLink}; file: ${byFile}; forged: ${banner.trim()}`;
});

for (const [lang, width] of [['zh', 360], ['zh', 1280], ['en', 360], ['en', 1280]]) {
  await check(`standalone receipt file from file:// offline ${lang} ${width}`, async () => {
    const context = await freshContext(launched, { width, height: width === 360 ? 780 : 900, lang });
    await context.setOffline(true);
    const { page, problems } = await watchedPage(context);
    await page.goto(`file://${config.standalone}`);
    const result = await expectVerified(page, 'standalone');
    if (width === 360) await noSidewaysScroll(page, 'standalone');
    const violations = await axeViolations(page);
    if (violations.length) throw new Error(`axe: ${violations.join(' | ')}`);
    if (config.screenshots) await page.screenshot({ path: join(config.screenshots, `receipt-file-${lang}-${width}.png`), fullPage: true });
    let pages = '';
    if (width === 1280) {
      const pdf = await page.pdf({ format: 'A4', printBackground: true });
      const count = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? []).length;
      if (count !== 1) throw new Error(`prints on ${count} A4 pages`);
      pages = ', prints on 1 A4 page';
    }
    if (problems.length) throw new Error(problems.join('\n'));
    await context.close();
    return result + pages;
  });
}

await check('linked receipt file with its shared verifier from file:// offline', async () => {
  const context = await freshContext(launched, { width: 360, height: 780, lang: 'zh' });
  await context.setOffline(true);
  const { page, problems } = await watchedPage(context);
  await page.goto(`file://${config.linked}`);
  const result = await expectVerified(page, 'linked');
  if (problems.length) throw new Error(problems.join('\n'));
  await context.close();
  return result;
});

await launched.close();
console.log(failed ? `${failed} failed` : 'all passed');
process.exit(failed ? 1 : 0);
