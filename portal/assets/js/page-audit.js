// The audit: each member's light, the findings with their rules in plain words, and answers.
import { t, has } from './i18n.js';
import { esc, money, date, light, memberName, memberLink, recordLink } from './format.js';
import { members as loadMembers, auditView } from './api.js';

/** The language the auditor wrote a finding's sentence in, for the page's `lang` markup. */
function summaryLang(text) {
  return /[\u3400-\u9fff]/.test(text) ? 'zh-CN' : 'en';
}

/** One finding: the rule in plain words, what it means, the auditor's own sentence, the records. */
function finding(members, f) {
  const rule = has(`rule.${f.rule}`) ? t(`rule.${f.rule}`) : f.rule;
  const answer = f.answer
    ? t('audit.answer', { status: has(`answer.${f.answer.status}`) ? t(`answer.${f.answer.status}`) : f.answer.status })
    : t('audit.noanswer');
  const subjects = (f.subjects ?? []).map((s) => `<li>${recordLink(s.rid)}</li>`).join('');
  const amounts = (f.amounts ?? []).map(money).join('、');
  return `<li class="card" data-rule="${esc(f.rule)}"><h3>${light(f.severity)} ${esc(rule)}</h3>
    <p>${esc(memberName(members, f.member))}${f.program ? ` · ${esc(f.program)}` : ''}${amounts ? ` · ${esc(amounts)}` : ''}
      ${(f.dates ?? []).length ? ` · ${esc(f.dates.map(date).join(' – '))}` : ''}</p>
    ${has(`rule.${f.rule}.means`) ? `<p class="means">${esc(t(`rule.${f.rule}.means`))}</p>` : ''}
    ${f.summary ? `<p class="small">${esc(t('audit.summary'))}<span lang="${summaryLang(f.summary)}">${esc(f.summary)}</span></p>` : ''}
    <p class="small">${esc(t('audit.subjects'))}</p><ul class="small">${subjects}</ul>
    <p><strong>${esc(answer)}</strong>${f.answer?.rectification?.rid ? ` ${recordLink(f.answer.rectification.rid)}` : ''}
      ${f.published?.rid ? ` · <span class="small">${recordLink(f.published.rid, t('kind.finding'))}</span>` : ''}</p></li>`;
}

/** Draws the audit page. */
export async function render(main) {
  const [{ members }, audit] = await Promise.all([loadMembers(), auditView()]);
  const lights = [...members.values()].map((m) => {
    const l = audit.report?.lights?.find((x) => x.member === m.id);
    const counts = l ? `<p class="small">${esc(t('audit.counts', { records: l.counts.records, red: l.counts.red, yellow: l.counts.yellow }))}</p>` : '';
    return `<li class="card" data-member="${esc(m.id)}"><h3>${memberLink(members, m.id)}</h3>
      <p>${light(audit.lights.get(m.id) ?? (audit.report || audit.findings.length ? 'green' : 'grey'))}</p>${counts}</li>`;
  }).join('');
  const intro = audit.report
    ? `<p>${esc(t('audit.asof', { date: date(audit.report.as_of) }))}</p>`
    : `<p class="banner wait">${esc(t(audit.pending ? 'audit.pending' : 'audit.notauditor'))}</p>`;
  const order = { red: 0, yellow: 1, green: 2 };
  const findings = [...audit.findings].sort((a, b) => (order[a.severity] ?? 3) - (order[b.severity] ?? 3));
  main.innerHTML = `<h1>${esc(t('audit.title'))}</h1>${intro}
    <section aria-labelledby="h-lights"><h2 id="h-lights">${esc(t('audit.lights'))}</h2><ul class="cards grid">${lights}</ul></section>
    <section aria-labelledby="h-findings"><h2 id="h-findings">${esc(t('audit.findings'))}</h2>
    ${findings.length ? `<ul class="cards">${findings.map((f) => finding(members, f)).join('')}</ul>` : `<p>${esc(t('audit.nofindings'))}</p>`}</section>`;
}
