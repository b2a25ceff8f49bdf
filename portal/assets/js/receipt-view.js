// A household's receipt, verified in this browser with no network access at all: shared by
// the portal's receipt page and the standalone receipt file.
import { t } from './i18n.js';
import { esc, money, date, memberName } from './format.js';
import { banner, checkList } from './checks.js';

/** The members named in a genesis chain's JSON text (id → {id, name, role}), for display. */
export function membersFromGenesis(chainText) {
  const map = new Map();
  try {
    const chain = typeof chainText === 'string' ? JSON.parse(chainText) : chainText;
    const note = chain.versions[chain.versions.length - 1].note;
    for (const block of note.split('[[members]]').slice(1)) {
      const field = (name) => (new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, 'm').exec(block) ?? [])[1];
      const id = field('id');
      if (id) map.set(id, { id, name: field('name') ?? id, role: field('role') });
    }
  } catch { /* names are a courtesy: ids are shown instead */ }
  return map;
}

function readReceipt(verifier, input) {
  const text = typeof input === 'string' ? input.trim() : input;
  if (typeof text === 'string' && !text.startsWith('{') && !text.startsWith('c2sp.org/')) {
    return verifier.decodeReceiptCode(text);
  }
  return text;
}

/** Verifies `input` (a receipt object, its JSON text, or the QR code's payload) into `el`. */
export async function renderReceipt(el, input, { genesisChain, members = new Map() } = {}) {
  el.innerHTML = `<p class="banner wait" role="status" data-verdict="checking">${esc(t('verify.running'))}</p>`;
  const started = performance.now();
  let result;
  try {
    const verifier = await import('./verify.js');
    await verifier.loadVerifier();
    const receipt = readReceipt(verifier, input);
    result = await verifier.verifyReceipt(receipt, genesisChain ? { genesisChain } : {});
  } catch (e) {
    el.innerHTML = `<p class="banner bad" role="alert" data-verdict="not-verified">${esc(t('receipt.bad', { detail: e?.message || e }))}</p>`;
    el.dataset.verdict = 'not-verified';
    return null;
  }
  el.dataset.verifyMs = String(Math.round(performance.now() - started));
  const record = result.record ?? {};
  const paid = result.opening?.amount ?? record.amount;
  const origin = String(result.checkpoint?.origin ?? '');
  const log = origin.split('/').pop();
  const rows = [
    ['field.publisher', esc(memberName(members, log))],
    ['field.date', esc(date(record.event_date))],
    ['field.purpose', esc(record.purpose ?? '')],
    ['field.program', esc(record.program ?? '')],
    ['field.area', esc(record.payee?.household?.area ?? '')],
    ['field.rid', `<span class="mono">${esc(record.rid ?? result.opening?.rid ?? '')}</span>`],
  ].filter(([, v]) => v).map(([k, v]) => `<dt>${esc(t(k))}</dt><dd>${v}</dd>`).join('');
  el.innerHTML = banner(result, 'receipt.ok')
    + `<div class="card"><p>${esc(t('receipt.paid'))}</p><p class="amount" data-amount>${esc(money(paid))}</p>`
    + `<dl class="facts">${rows}</dl></div>`
    + `<p class="small">${esc(t('receipt.offline'))}</p>`
    + checkList(result.checks);
  el.dataset.verdict = result.ok && (result.checks ?? []).every((c) => c.ok) ? 'verified' : 'not-verified';
  return result;
}
