// Search over the query API (`GET /v1/records`): filters in the URL, so a search is a link;
// results page by the node's cursor.
import { t } from './i18n.js';
import { esc, kindName, money, date, recordLink, memberName } from './format.js';
import { getJson, members as loadMembers } from './api.js';

const KINDS = ['allocation', 'receipt', 'payment', 'project', 'asset', 'household', 'finding', 'rectification'];
const FIELDS = ['log', 'kind', 'program', 'payee', 'area', 'from', 'to'];

function input(name, label, value, type = 'text') {
  return `<div><label for="q-${name}">${esc(t(label))}</label>`
    + `<input id="q-${name}" name="${name}" type="${type}" value="${esc(value ?? '')}" autocomplete="off"></div>`;
}

function select(name, label, value, options) {
  return `<div><label for="q-${name}">${esc(t(label))}</label><select id="q-${name}" name="${name}">`
    + options.map(([v, text]) => `<option value="${esc(v)}"${v === (value ?? '') ? ' selected' : ''}>${esc(text)}</option>`).join('')
    + '</select></div>';
}

function item(members, it) {
  const r = it.current.record;
  const tags = it.current.voided ? ` <span class="tag void">${esc(kindName('void'))}</span>`
    : it.current.amendments ? ` <span class="tag corrected">${esc(kindName('correction'))}</span>` : '';
  return `<li class="card"><p><strong>${esc(kindName(it.kind))}</strong>${tags} · ${esc(money(r.amount ?? r.value))} · ${esc(date(r.event_date))}</p>`
    + `<p class="small">${esc(memberName(members, it.log))} · ${recordLink(it.rid)}</p>`
    + (r.purpose || r.summary ? `<p class="small muted">${esc(r.purpose ?? r.summary)}</p>` : '') + '</li>';
}

/** Draws the search page from the query in the URL. */
export async function render(main) {
  const params = new URLSearchParams(location.search);
  const { members } = await loadMembers();
  const form = `<form class="search no-print" method="get" action="/search" role="search" aria-label="${esc(t('search.title'))}">
    ${select('log', 'search.log', params.get('log'), [['', t('search.anylog')], ...[...members.values()].map((m) => [m.id, m.name])])}
    ${select('kind', 'search.kind', params.get('kind'), [['', t('kind.any')], ...KINDS.map((k) => [k, kindName(k)])])}
    ${input('program', 'search.program', params.get('program'))}
    ${input('payee', 'search.payee', params.get('payee'))}
    ${input('area', 'search.area', params.get('area'))}
    ${input('from', 'search.from', params.get('from'), 'date')}
    ${input('to', 'search.to', params.get('to'), 'date')}
    <div class="actions"><button class="primary" type="submit">${esc(t('search.go'))}</button></div></form>`;
  main.innerHTML = `<h1>${esc(t('search.title'))}</h1>${form}
    <section aria-labelledby="h-results"><h2 id="h-results">${esc(t('search.results'))}</h2>
    <ul class="cards" id="results"></ul><p id="status" role="status"></p>
    <p class="no-print"><button type="button" class="primary" id="more" hidden>${esc(t('search.more'))}</button></p></section>`;
  // Empty fields are not sent (the node refuses empty values).
  main.querySelector('form').addEventListener('submit', (event) => {
    event.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(event.target)) if (String(v).trim()) q.set(k, String(v).trim());
    location.assign(`/search${q.size ? `?${q}` : ''}`);
  });
  const query = new URLSearchParams();
  for (const f of FIELDS) if (params.get(f)) query.set(f, params.get(f));
  query.set('limit', '20');
  const list = main.querySelector('#results');
  const status = main.querySelector('#status');
  const more = main.querySelector('#more');
  let shown = 0;
  const load = async (cursor) => {
    const q = new URLSearchParams(query);
    if (cursor) q.set('cursor', cursor);
    try {
      const page = await getJson(`/v1/records?${q}`);
      list.insertAdjacentHTML('beforeend', page.items.map((it) => item(members, it)).join(''));
      shown += page.items.length;
      status.textContent = shown ? `${t('search.count', { n: shown })}${page.end ? ` ${t('search.end')}` : ''}` : t('search.none');
      more.hidden = page.end;
      more.onclick = () => load(page.next);
    } catch (e) {
      status.innerHTML = `<span class="error">${esc(t('error.fetch', { detail: e.message }))}</span>`;
      more.hidden = true;
    }
  };
  await load(null);
}
