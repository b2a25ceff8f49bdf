// A record in plain words: what it states, by kind, with amounts, dates, who paid whom, and
// links to the records it cites. Every value shown is escaped.
import { t, has } from './i18n.js';
import { esc, money, date, daysInclusive, memberLink, recordLink, kindName } from './format.js';

/** A party (payer/payee/owner) in words: a member (linked), an organisation, or a household. */
export function party(members, p) {
  if (!p) return '—';
  if (typeof p === 'string') return esc(p);
  if (p.member) return memberLink(members, p.member);
  if (p.household) {
    const h = p.household;
    return esc(t('payee.household', { p: String(h.pseudonym ?? '').slice(0, 8), area: h.area ?? '—' }));
  }
  const org = p.org ?? p.organisation ?? p;
  const name = org.name ?? org.uscc ?? JSON.stringify(org);
  return esc(t('payee.org', { name })) + (org.uscc ? ` <span class="muted small">(${esc(org.uscc)})</span>` : '');
}

/** A reference `{log, rid, leaf}` as a link. */
export function refLink(ref) {
  return ref?.rid ? recordLink(ref.rid) : '—';
}

function row(label, value) {
  return value ? `<dt>${esc(t(label))}</dt><dd>${value}</dd>` : '';
}

function words(prefix, value) {
  return has(`${prefix}.${value}`) ? esc(t(`${prefix}.${value}`)) : esc(value);
}

/** The facts of record `r` (its current content) as a `<dl>`. */
export function facts(members, r, { log } = {}) {
  const rows = [];
  if (r.amount) rows.push(row('field.amount', `<span class="amount">${esc(money(r.amount))}</span>`));
  if (r.value) rows.push(row('field.value', `<span class="amount">${esc(money(r.value))}</span>`));
  rows.push(row('field.date', esc(date(r.event_date))));
  if (r.payer) rows.push(row('field.payer', party(members, r.payer)));
  if (r.payee) rows.push(row('field.payee', party(members, r.payee)));
  if (r.owner) rows.push(row('field.owner', party(members, r.owner)));
  if (r.purpose) rows.push(row('field.purpose', esc(r.purpose)));
  if (r.program) rows.push(row('field.program', esc(r.program)));
  if (r.project) rows.push(row('field.project', esc(typeof r.project === 'string' ? r.project : r.project.id ?? JSON.stringify(r.project))));
  if (r.stage) rows.push(row('field.stage', esc(r.stage)));
  if (r.status) rows.push(row('field.status', words('status', r.status)));
  if (r.area) rows.push(row('field.area', esc(r.area)));
  if (r.notice?.start) {
    rows.push(row('field.notice', esc(t('notice.range', {
      from: date(r.notice.start), to: date(r.notice.end), n: daysInclusive(r.notice.start, r.notice.end),
    }))));
  }
  if (r.rule) rows.push(row('field.rule', words('rule', r.rule)));
  if (r.severity) rows.push(row('field.severity', words('severity', r.severity)));
  if (r.summary) rows.push(row('field.summary', esc(r.summary)));
  if (r.finding?.rid) rows.push(row('kind.finding', refLink(r.finding)));
  if (r.action) rows.push(row('field.action', esc(r.action)));
  if (r.reason) rows.push(row('field.reason', esc(r.reason)));
  for (const key of ['corrects', 'voids']) if (r[key]?.rid) rows.push(row(key === 'corrects' ? 'kind.correction' : 'kind.void', refLink(r[key])));
  if (Array.isArray(r.documents) && r.documents.length) {
    rows.push(row('field.documents', r.documents.map((d) => `${esc(d.title ?? '')} <span class="mono small">${esc(String(d.sha256 ?? '').slice(0, 16))}…</span>`).join('<br>')));
  }
  if (log) rows.push(row('field.publisher', memberLink(members, log)));
  rows.push(row('field.rid', `<span class="mono">${esc(r.rid)}</span>`));
  return `<dl class="facts">${rows.join('')}</dl>`;
}

/** The "came from" list of a record's `funded_by`. */
export function fundedBy(r) {
  const parts = Array.isArray(r.funded_by) ? r.funded_by : r.funded_by ? [r.funded_by] : [];
  return parts.map((p) => {
    const ref = p.ref ?? p;
    return t('record.cites', { amount: money(p.amount ?? r.amount), link: '\u0000' }).split('\u0000').map(esc).join(refLink(ref));
  });
}

/** A heading for a record: its kind and id. */
export function heading(r) {
  return esc(t('record.title', { kind: kindName(r.kind), rid: r.rid }));
}

/** Who signed (operators) and countersigned (attestors) a record, from its signatures. */
export function signers(r) {
  const list = (r.signatures ?? []).map((s) => String(s.signer ?? '').split('+')[0]);
  return list.map((name) => `<span class="mono small">${esc(name)}</span>`).join('<br>');
}
