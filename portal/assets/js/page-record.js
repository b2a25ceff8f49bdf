// A record in plain words: its content now (corrections and voids applied), its history, where
// its money came from and went, the findings about it, and the in-browser verification.
import { t } from './i18n.js';
import { esc, kindName, recordLink, money, date } from './format.js';
import { getJson, members as loadMembers, queryAll, queryUpTo } from './api.js';
import { facts, fundedBy, heading, signers } from './record-view.js';
import { verifyPanel } from './verify-panel.js';

/** The most records "where the money went" lists; a note says when there are more. */
const FLOW_LISTED = 1000;

function currentOf(answer) {
  let current = answer.entry;
  let voided = false;
  for (const a of answer.corrections ?? []) {
    if (a.entry?.kind === 'correction' && a.entry.replacement) {
      current = { ...a.entry.replacement, rid: answer.rid };
    } else if (a.entry?.kind === 'void') {
      voided = true;
    }
  }
  return { current, voided };
}

function refsOf(record) {
  const parts = Array.isArray(record?.funded_by) ? record.funded_by : record?.funded_by ? [record.funded_by] : [];
  return parts.map((p) => p.ref ?? p).filter((r) => r?.rid);
}

async function cameFrom(record, depth = 0) {
  if (depth > 4) return [];
  const out = [];
  for (const ref of refsOf(record)) {
    let item = { ref, record: null };
    try {
      const answer = await getJson(`/v1/records/${encodeURIComponent(ref.rid)}`);
      item = { ref, record: currentOf(answer).current };
      out.push(item, ...(await cameFrom(item.record, depth + 1)));
    } catch {
      out.push(item);
    }
  }
  return out;
}

function flowItem(record, ref) {
  if (!record) return `<li>${recordLink(ref.rid)}</li>`;
  return `<li>${recordLink(ref.rid, `${kindName(record.kind)} ${money(record.amount)}`)}`
    + ` <span class="muted small">${esc(date(record.event_date))} · ${esc(ref.rid)}</span></li>`;
}

/** Draws the page for record `arg` (a rid). */
export async function render(main, { arg: rid }) {
  const [answer, { members }] = await Promise.all([
    getJson(`/v1/records/${encodeURIComponent(rid)}`),
    loadMembers(),
  ]);
  const { current, voided } = currentOf(answer);
  const amended = (answer.corrections ?? []).length;
  const state = voided
    ? `<p class="banner bad"><span class="tag void">${esc(kindName('void'))}</span> ${esc(t('record.voided'))}</p>`
    : amended ? `<p class="banner wait"><span class="tag corrected">${esc(kindName('correction'))}</span> ${esc(t('record.corrected', { n: amended }))}</p>` : '';
  const history = (answer.corrections ?? []).map((a) => `<li>${recordLink(a.entry?.rid ?? '', t('record.history.item', {
    kind: kindName(a.entry?.kind), n: a.index, reason: a.entry?.reason ?? '',
  }))}</li>`).join('');
  main.innerHTML = `<h1>${heading(current)}</h1>${state}
    <div class="card">${facts(members, current, { log: answer.log })}
      <dl class="facts"><dt>${esc(t('field.position'))}</dt><dd>${esc(t('field.position.value', { n: answer.index }))}</dd>
      <dt>${esc(t('field.signers'))}</dt><dd>${signers(answer.entry)}</dd>
      <dt>${esc(t('field.leaf'))}</dt><dd class="mono small">${esc(answer.leaf)}</dd></dl></div>
    <section class="card" id="verify" aria-labelledby="verify-title"></section>
    <section aria-labelledby="h-history"><h2 id="h-history">${esc(t('record.history'))}</h2>
      ${history ? `<ol>${history}</ol>` : `<p>${esc(t('record.history.none'))}</p>`}</section>
    <section aria-labelledby="h-flow"><h2 id="h-flow">${esc(t('record.flow'))}</h2>
      <h3>${esc(t('record.from'))}</h3><div id="flow-from"><p class="loading">${esc(t('loading'))}</p></div>
      <h3>${esc(t('record.to'))}</h3><div id="flow-to"><p class="loading">${esc(t('loading'))}</p></div></section>
    <section aria-labelledby="h-findings"><h2 id="h-findings">${esc(t('record.findings'))}</h2><div id="findings"><p class="loading">${esc(t('loading'))}</p></div></section>
    <details class="no-print"><summary>${esc(t('record.raw'))}</summary><pre class="mono small">${esc(JSON.stringify(answer.entry, null, 2))}</pre></details>`;

  const verifying = verifyPanel(main.querySelector('#verify'), { log: answer.log, index: answer.index });

  const direct = fundedBy(current);
  const from = await cameFrom(current).catch(() => []);
  main.querySelector('#flow-from').innerHTML = direct.length
    ? `<p>${direct.join('<br>')}</p><ol class="flow">${from.map((f) => flowItem(f.record, f.ref)).join('')}</ol>`
    : `<p>${esc(t('record.from.none'))}</p>`;

  // Found by the node's index of `funded_by` (every record drawing on this one, in any log
  // it holds), not by scanning the programme.
  const { items: to, more } = await queryUpTo({ funded_by: rid }, FLOW_LISTED)
    .catch(() => ({ items: [], more: false }));
  main.querySelector('#flow-to').innerHTML = to.length
    ? `<ol class="flow">${to.map((item) => flowItem(item.current.record, { rid: item.rid })).join('')}</ol>`
      + (more ? `<p class="muted small">${esc(t('record.to.more', { n: FLOW_LISTED }))}</p>` : '')
    : `<p>${esc(t('record.to.none'))}</p>`;

  const findings = (await queryAll({ kind: 'finding' }).catch(() => []))
    .filter((f) => (f.current.record.subjects ?? []).some((s) => s.rid === rid));
  main.querySelector('#findings').innerHTML = findings.length
    ? `<ul>${findings.map((f) => `<li>${recordLink(f.rid, t(`rule.${f.current.record.rule}`))}`
      + ` <span class="muted small">${esc(f.current.record.summary ?? '')}</span></li>`).join('')}</ul>`
    : `<p>${esc(t('record.findings.none'))}</p>`;
  await verifying;
}
