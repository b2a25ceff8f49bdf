// A member's ledger: its latest signed state, who cosigned it and when, and its recent records.
import { t } from './i18n.js';
import { esc, dateTime, ago, noteSignatures, memberName, kindName, money, date, recordLink, light } from './format.js';
import { getJson, members as loadMembers, queryAll, auditView } from './api.js';

/** Draws the page of member `arg`. */
export async function render(main, { arg: id }) {
  const [info, network, items, audit] = await Promise.all([
    loadMembers(), getJson('/v1/network'), queryAll({ log: id }, 5000),
    auditView().catch(() => ({ lights: new Map() })),
  ]);
  const member = info.members.get(id);
  const log = (network.logs ?? []).find((l) => l.member === id);
  const witnesses = new Map([...info.members.values()].map((m) => [`${info.network}/${m.id}/witness`, m]));
  const sigs = noteSignatures(log?.checkpoint).map((s) => {
    const own = s.name === `${info.network}/${id}`;
    const who = own ? t('member.ownsig') : memberName(info.members, witnesses.get(s.name)?.id ?? s.name);
    const when = s.time ? `${dateTime(s.time)} (${ago(s.time)})` : '';
    return `<li>${esc(own ? who : t('member.signedby', { name: who, when }))}</li>`;
  }).join('');
  const recent = items.slice(-50).reverse().map((item) => {
    const r = item.current.record;
    const tags = item.current.voided ? ` <span class="tag void">${esc(kindName('void'))}</span>`
      : item.current.amendments ? ` <span class="tag corrected">${esc(kindName('correction'))}</span>` : '';
    return `<tr><td>${esc(date(r.event_date))}</td><td>${esc(kindName(item.kind))}${tags}</td>`
      + `<td>${esc(money(r.amount ?? r.value))}</td><td>${recordLink(item.rid)}</td></tr>`;
  }).join('');
  main.innerHTML = `<h1>${esc(t('member.title', { name: member?.name ?? id }))}</h1>
    <p>${esc(member ? t(`role.${member.role}`) : t('member.unknown'))} · ${light(audit.lights?.get(id) ?? (audit.lights?.size ? 'green' : 'grey'))}
      · <span class="mono small">${esc(id)}</span></p>
    <p>${esc(t('member.size', { n: log?.size ?? 0 }))} · <a href="/search?log=${encodeURIComponent(id)}">${esc(t('member.search'))}</a></p>
    <section class="card" aria-labelledby="h-cosigned"><h2 id="h-cosigned">${esc(t('member.cosigned'))}</h2><ul>${sigs}</ul></section>
    <section aria-labelledby="h-recent"><h2 id="h-recent">${esc(t('member.recent'))}</h2>
    ${recent ? `<table><thead><tr><th scope="col">${esc(t('field.date'))}</th><th scope="col">${esc(t('search.kind'))}</th>
      <th scope="col">${esc(t('field.amount'))}</th><th scope="col">${esc(t('field.rid'))}</th></tr></thead><tbody>${recent}</tbody></table>`
      : `<p>${esc(t('member.none'))}</p>`}</section>`;
}
