// The checks verify.js reports, in plain words: each one green or red (or amber: passed with a
// caution), a failure with its reason in words and the technical detail underneath.
import { t, has } from './i18n.js';
import { esc } from './format.js';

/** The words for a failed check's reason code. */
export function reason(check) {
  if (check.code && has(`reason.${check.code}`)) return t(`reason.${check.code}`);
  return t('reason.unknown', { code: check.code ?? check.id });
}

/** The checks as a list. */
export function checkList(checks) {
  const items = (checks ?? []).map((c) => {
    const label = has(`check.${c.id}`) ? t(`check.${c.id}`) : t('check.other', { id: c.id });
    // A passed check with a caution (`behind`: the copy is older than one seen before).
    const note = c.ok && c.behind;
    const mark = note ? '!' : c.ok ? '✓' : '✗';
    const state = note ? t('check.behind') : c.ok ? t('check.passed') : `${t('check.failed')}: ${reason(c)}`;
    return `<li class="${note ? 'note' : c.ok ? 'ok' : 'bad'}" data-check="${esc(c.id)}" data-ok="${c.ok ? 'true' : 'false'}">`
      + `<span class="mark" aria-hidden="true">${mark}</span>${esc(label)} — <strong>${esc(state)}</strong>`
      + (c.detail ? `<span class="detail">${esc(c.detail)}</span>` : '')
      + '</li>';
  });
  return `<ul class="checks">${items.join('')}</ul>`;
}

/** The first failed check's reason, or null when every check passed. */
export function firstFailure(result) {
  const bad = (result?.checks ?? []).find((c) => !c.ok);
  if (bad) return reason(bad);
  return result?.ok ? null : t('reason.unknown', { code: 'not ok' });
}

/** The verdict banner for a verification result. */
export function banner(result, okKey = 'verify.ok') {
  const failure = firstFailure(result);
  if (!failure) return `<p class="banner ok" role="status" data-verdict="verified">✓ ${esc(t(okKey))}</p>`;
  return `<p class="banner bad" role="alert" data-verdict="not-verified">✗ ${esc(t('verify.bad', { reason: failure }))}</p>`;
}
