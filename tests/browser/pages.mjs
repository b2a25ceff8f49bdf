// Every page of the portal in zh-CN and en, at 1280 px and 360 px: loads with no console
// error, sets `lang`, never scrolls sideways, has no serious axe-core violation; a record
// verifies with every check green; a source lists what draws on it; the language switch is
// remembered; the old /audit.html redirects. Screenshots go to config.screenshots (stable
// names).
import { join } from 'node:path';
import { config, launch, freshContext, watchedPage, settled, noSidewaysScroll, axeViolations, verdict, step } from './lib.mjs';

const node = config.node;
const auditor = config.auditor;
const PAGES = [
  ['network', `${node}/`],
  ['member', `${node}/member/${config.member}`],
  ['record', `${node}/record/${config.record}`],
  ['record-corrected', `${node}/record/${config.corrected}`],
  ['search', `${node}/search?kind=payment`],
  ['audit', `${auditor}/audit`],
  ['receipt', `${node}/receipt`],
];

const launched = await launch();
let failed = 0;
for (const lang of ['zh', 'en']) {
  for (const width of [1280, 360]) {
    const context = await freshContext(launched, { width, height: width === 360 ? 780 : 900, lang });
    for (const [name, url] of PAGES) {
      const ok = await step(`page ${name} ${lang} ${width}`, async () => {
        const { page, problems } = await watchedPage(context);
        await page.goto(url);
        await settled(page);
        const htmlLang = await page.evaluate(() => document.documentElement.lang);
        const want = lang === 'en' ? 'en' : 'zh-CN';
        if (htmlLang !== want) throw new Error(`lang is ${htmlLang}, want ${want}`);
        let detail = '';
        if (name === 'record') {
          const v = await verdict(page, '#verify');
          const red = v.checks.filter((c) => !c.ok);
          if (v.verdict !== 'verified' || red.length || v.checks.length < 5) {
            throw new Error(`not verified: ${v.banner} ${JSON.stringify(v.checks)}`);
          }
          detail = `verified, ${v.checks.length} checks green in ${v.ms} ms`;
        }
        if (width === 360) await noSidewaysScroll(page, name);
        const violations = await axeViolations(page);
        if (violations.length) throw new Error(`axe: ${violations.join(' | ')}`);
        if (config.screenshots) {
          await page.screenshot({ path: join(config.screenshots, `${name}-${lang}-${width}.png`), fullPage: true });
        }
        if (problems.length) throw new Error(problems.join('\n'));
        await page.close();
        return detail;
      });
      if (!ok) failed += 1;
    }
    await context.close();
  }
}

const switched = await step('language switch is remembered', async () => {
  const context = await freshContext(launched, {});
  const { page, problems } = await watchedPage(context);
  await page.goto(`${node}/search`);
  await settled(page);
  if (await page.evaluate(() => document.documentElement.lang) !== 'zh-CN') throw new Error('not zh-CN by default');
  await page.keyboard.press('Tab');
  // The switch draws the page again, and the search asks for its records again: wait for that
  // answer, or leaving the page next would abort the request (a failure the page would show).
  await Promise.all([
    page.waitForResponse((r) => r.url().includes('/v1/records')),
    page.click('#lang'),
  ]);
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  await settled(page);
  await page.goto(`${node}/`);
  await settled(page);
  const lang = await page.evaluate(() => document.documentElement.lang);
  const title = await page.textContent('h1');
  if (lang !== 'en' || !/network/i.test(title)) throw new Error(`after reload: lang ${lang}, h1 ${title}`);
  if (problems.length) throw new Error(problems.join('\n'));
  await context.close();
});
if (!switched) failed += 1;

const behind = await step('a copy older than the checkpoint seen before is a caution, not a failure', async () => {
  const context = await freshContext(launched, {});
  const { page, problems } = await watchedPage(context);
  await page.goto(`${node}/record/${config.record}`);
  await settled(page);
  if ((await verdict(page, '#verify')).verdict !== 'verified') throw new Error('not verified on the first visit');
  // As if this browser had since seen the log 1,000 entries longer elsewhere (a lagging mirror
  // now serves it the older checkpoint).
  const bumped = await page.evaluate(() => {
    const keys = Object.keys(localStorage).filter((k) => k.startsWith('daylight.checkpoint.'));
    for (const k of keys) {
      const seen = JSON.parse(localStorage.getItem(k));
      localStorage.setItem(k, JSON.stringify({ ...seen, size: seen.size + 1000 }));
    }
    return keys.length;
  });
  if (bumped < 1) throw new Error('no remembered checkpoint to bump');
  await page.reload();
  await settled(page);
  const v = await verdict(page, '#verify');
  if (v.verdict !== 'verified') throw new Error(`an older copy failed the record: ${v.banner}`);
  const grows = await page.locator('[data-check="log_grows"]').getAttribute('class');
  if (grows !== 'note') throw new Error(`log_grows is "${grows}", want the caution "note"`);
  const kept = await page.evaluate(() => Object.keys(localStorage)
    .filter((k) => k.startsWith('daylight.checkpoint.'))
    .map((k) => JSON.parse(localStorage.getItem(k)).size));
  if (problems.length) throw new Error(problems.join('\n'));
  await context.close();
  return `caution shown; the newer checkpoint (size ${kept.join(', ')}) stays remembered`;
});
if (!behind) failed += 1;

const went = await step('where the money went lists what draws on a record', async () => {
  const context = await freshContext(launched, {});
  const { page, problems } = await watchedPage(context);
  // The household payment's source, then that source's page: the payment must be listed
  // under "went to", found through the node's index of `funded_by`.
  const answer = await (await fetch(`${node}/v1/records/${config.record}`)).json();
  const parts = [answer.entry.funded_by].flat();
  const source = parts[0].ref.rid;
  await page.goto(`${node}/record/${encodeURIComponent(source)}`);
  await settled(page);
  const listed = await page.locator(`#flow-to a[href$="/record/${config.record}"]`).count();
  if (listed !== 1) {
    throw new Error(`${config.record} listed ${listed} times under ${source}: ${await page.textContent('#flow-to')}`);
  }
  if (problems.length) throw new Error(problems.join('\n'));
  await context.close();
  return `${source} lists ${config.record}`;
});
if (!went) failed += 1;

const redirected = await step('old /audit.html redirects to the portal', async () => {
  const context = await freshContext(launched, {});
  const { page } = await watchedPage(context);
  const response = await page.goto(`${auditor}/audit.html`);
  await settled(page);
  const chain = response.request().redirectedFrom();
  if (!chain || new URL(page.url()).pathname !== '/audit') throw new Error(`ended at ${page.url()}`);
  const findings = await page.locator('[data-rule]').count();
  if (findings < 1) throw new Error('the audit page shows no findings');
  // Each finding says in Chinese what its rule means; the auditor's own sentence is marked
  // with the language it was written in.
  const means = await page.locator('[data-rule] .means').count();
  if (means !== findings) throw new Error(`${means} of ${findings} findings say what their rule means`);
  const meaning = await page.locator('[data-rule] .means').first().textContent();
  if (!/[\u4e00-\u9fff]/.test(meaning)) throw new Error(`not in Chinese: ${meaning}`);
  const marked = await page.locator('[data-rule] span[lang]').count();
  if (marked !== findings) throw new Error(`${marked} of ${findings} auditors' sentences carry their language`);
  await context.close();
  return `${findings} findings`;
});
if (!redirected) failed += 1;

await launched.close();
console.log(failed ? `${failed} failed` : 'all passed');
process.exit(failed ? 1 : 0);
