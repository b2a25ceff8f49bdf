// The record page's verification panel: asks verify.js (the WebAssembly verifier) to check
// the record against the genesis this browser pinned, and shows each check in plain words.
import { t } from './i18n.js';
import { esc } from './format.js';
import { banner, checkList } from './checks.js';

/** Runs the checks for entry `index` of `log` into `el`; returns the merged result. */
export async function verifyPanel(el, { log, index }) {
  el.innerHTML = `<h2 id="verify-title">${esc(t('verify.title'))}</h2>`
    + `<p class="banner wait" role="status" data-verdict="checking">${esc(t('verify.running'))}</p>`;
  const started = performance.now();
  let result;
  let pin = null;
  try {
    const verifier = await import('./verify.js');
    await verifier.loadVerifier();
    pin = await verifier.pinGenesis();
    const record = await verifier.verifyRecord({ log, index });
    // verifyRecord reports the genesis check itself; the pin's checks add what it lacks.
    const seen = new Set((record.checks ?? []).map((c) => c.id));
    result = {
      ...record,
      ok: Boolean(pin.ok && record.ok),
      checks: [...(pin.checks ?? []).filter((c) => !seen.has(c.id)), ...(record.checks ?? [])],
    };
  } catch (e) {
    result = {
      ok: false,
      checks: [{ id: 'verifier', ok: false, code: 'unavailable', detail: String(e?.message || e) }],
    };
  }
  const ms = Math.round(performance.now() - started);
  el.dataset.verifyMs = String(ms);
  // For the budget benchmark: when the verdict was ready, in ms since the navigation started.
  el.dataset.doneAt = String(Math.round(performance.now()));
  const genesis = pin?.networkId
    ? `<p class="small">${esc(t(pin.firstVisit ? 'verify.pinned.first' : 'verify.pinned'))} `
      + `<span class="mono" data-genesis-id>${esc(pin.networkId)}</span></p>`
    : '';
  el.innerHTML = `<h2 id="verify-title">${esc(t('verify.title'))}</h2>`
    + banner(result) + genesis + checkList(result.checks);
  el.dataset.verdict = result.ok && result.checks.every((c) => c.ok) ? 'verified' : 'not-verified';
  return result;
}
