// The network: its members by display name, their lights, and how fresh each ledger is.
import { t } from './i18n.js';
import { esc, ago, light, noteSignatures } from './format.js';
import { getJson, members as loadMembers, auditView } from './api.js';

/** Draws the network page. */
export async function render(main) {
  const [network, info, audit] = await Promise.all([
    getJson('/v1/network'), loadMembers(), auditView().catch(() => ({ lights: new Map() })),
  ]);
  const links = new Map((network.members ?? []).map((m) => [m.member, m]));
  const logs = new Map((network.logs ?? []).map((l) => [l.member, l]));
  const cards = [...info.members.values()].map((m) => {
    const log = logs.get(m.id);
    const times = noteSignatures(log?.checkpoint).slice(1).map((s) => s.time).filter(Boolean);
    const last = times.length ? new Date(Math.max(...times)) : null;
    const link = links.get(m.id);
    const here = network.member === m.id;
    const connection = here ? t('network.thisnode') : link?.connected ? t('network.connected') : t('network.disconnected');
    return `<li class="card" data-member="${esc(m.id)}">
      <h3><a href="/member/${encodeURIComponent(m.id)}">${esc(m.name)}</a></h3>
      <p>${esc(t(`role.${m.role}`))} · ${light(audit.lights?.get(m.id) ?? (audit.lights?.size ? 'green' : 'grey'))}
        ${m.retired ? ` · <span class="tag">${esc(t('network.retired'))}</span>` : ''}</p>
      <p class="small">${esc(t('network.records', { n: log?.size ?? 0 }))} ·
        ${esc(last ? t('network.fresh', { when: ago(last) }) : t('network.nofresh'))}</p>
      <p class="small muted">${esc(connection)} · <span class="mono">${esc(m.id)}</span></p>
    </li>`;
  }).join('');
  const evidence = (network.evidence ?? []).length;
  main.innerHTML = `<h1>${esc(t('network.title'))}</h1>
    <p>${esc(t('network.intro'))}</p>
    <p class="small">${esc(t('network.name', { name: info.network }))}<br>
      ${esc(t('network.genesis'))} <span class="mono" data-genesis-id>${esc(info.network_id)}</span></p>
    <p class="${evidence ? 'banner bad' : 'banner ok'}">${esc(evidence ? t('network.evidence', { n: evidence }) : t('network.noevidence'))}</p>
    <section aria-labelledby="h-members"><h2 id="h-members">${esc(t('network.members'))}</h2>
    <ul class="cards grid">${cards}</ul></section>`;
}
