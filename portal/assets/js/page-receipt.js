// A household's receipt page: `/receipt#<code>` (what the QR code opens; a URL fragment is
// never sent to any server) or a receipt file chosen here. Verified in this browser against
// the genesis it pinned; nothing about the household is sent anywhere.
import { t } from './i18n.js';
import { esc } from './format.js';
import { renderReceipt } from './receipt-view.js';
import { members as loadMembers } from './api.js';

/** Draws the receipt page. */
export async function render(main) {
  main.innerHTML = `<h1>${esc(t('receipt.title'))}</h1><p>${esc(t('receipt.intro'))}</p>
    <div class="no-print card"><label for="receipt-file">${esc(t('receipt.pick'))}</label>
      <input id="receipt-file" type="file" accept=".json,.tlog-proof,.txt,application/json,text/plain"></div>
    <section id="receipt" aria-live="polite"><p>${esc(t('receipt.none'))}</p></section>
    <p class="no-print"><button type="button" class="primary" id="print">${esc(t('receipt.print'))}</button></p>`;
  main.querySelector('#print').addEventListener('click', () => window.print());
  const out = main.querySelector('#receipt');
  // Display names only (a request that says nothing about the household); offline, ids.
  const members = await loadMembers().then((m) => m.members).catch(() => new Map());
  // Online, pin (or follow) the genesis first, so that the receipt verifies later offline;
  // offline, the genesis pinned before is used. Neither says anything about the household.
  await import('./verify.js').then((v) => v.pinGenesis()).catch(() => null);
  main.querySelector('#receipt-file').addEventListener('change', async (event) => {
    const file = event.target.files?.[0];
    if (file) await renderReceipt(out, await file.text(), { members });
  });
  const code = decodeURIComponent(location.hash.replace(/^#/, ''));
  if (code) await renderReceipt(out, code, { members });
}
