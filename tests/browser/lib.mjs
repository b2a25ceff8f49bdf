// Shared helpers of the portal's browser tests: Debian's chromium driven by playwright-core,
// a console that must stay clean, axe-core, and the no-sideways-scrolling check.
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** The test's settings, from DAYLIGHT_PORTAL_TEST (JSON) written by tests/tests/system/portal.rs. */
export const config = JSON.parse(process.env.DAYLIGHT_PORTAL_TEST ?? '{}');

/** Launches chromium with a fresh profile; returns {browser, close}. */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'daylight-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  return {
    context,
    browser: context.browser(),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A fresh, isolated browser context (own storage, own service workers). */
export async function freshContext(launched, { width = 1280, height = 900, lang = 'zh' } = {}) {
  const browser = launched.browser;
  const context = browser
    ? await browser.newContext({ viewport: { width, height }, serviceWorkers: 'allow' })
    : launched.context;
  if (lang === 'en') await context.addInitScript(() => { try { localStorage.setItem('daylight.lang', 'en'); } catch { /* file */ } });
  return context;
}

/** A page whose console errors, uncaught exceptions and failed requests are collected. */
export async function watchedPage(context) {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  return { page, problems };
}

/** Waits until the page drew its heading and every panel finished checking. */
export async function settled(page) {
  await page.waitForSelector('main h1');
  await page.waitForFunction(() => !document.querySelector('[data-verdict="checking"], main .loading'), null, { timeout: 30000 });
}

/** Fails unless the page at its current width never scrolls sideways. */
export async function noSidewaysScroll(page, name) {
  const { scroll, inner } = await page.evaluate(() => ({
    scroll: document.scrollingElement.scrollWidth, inner: window.innerWidth,
  }));
  if (scroll > inner) {
    const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
      .slice(0, 5).map((el) => `${el.tagName}.${el.className}#${el.id}`));
    throw new Error(`${name}: scrolls sideways (${scroll} > ${inner}): ${wide.join(', ')}`);
  }
}

/** axe-core's serious and critical violations on the page. */
export async function axeViolations(page) {
  // Through the DevTools protocol, which the page's Content-Security-Policy does not govern.
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`);
}

/** The verdict of the page's verification panel and its checks. */
export async function verdict(page, selector) {
  await page.waitForSelector(`${selector}[data-verdict="verified"], ${selector}[data-verdict="not-verified"]`, { timeout: 30000 });
  return page.evaluate((sel) => {
    const el = document.querySelector(sel);
    return {
      verdict: el.dataset.verdict,
      banner: el.querySelector('.banner')?.textContent.trim() ?? el.textContent.trim(),
      checks: [...el.querySelectorAll('[data-check]')].map((c) => ({ id: c.dataset.check, ok: c.dataset.ok === 'true', text: c.textContent.trim() })),
      ms: Number(el.dataset.verifyMs ?? NaN),
    };
  }, selector);
}

/** Runs `body`, printing `ok NAME` or `FAIL NAME: why`; returns whether it passed. */
export async function step(name, body) {
  try {
    const detail = await body();
    console.log(`ok ${name}${detail ? `: ${detail}` : ''}`);
    return true;
  } catch (e) {
    console.log(`FAIL ${name}: ${e?.stack ?? e}`);
    return false;
  }
}
