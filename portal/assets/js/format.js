// Formatting as people read it: amounts from integer minor units (never floats), dates as
// people write them, times as "3 minutes ago", and HTML escaping for everything shown.
import { lang, t } from './i18n.js';

/** `text` escaped for HTML text and attribute values. */
export function esc(text) {
  return String(text ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

const SYMBOLS = { CNY: '¥', USD: '$', EUR: '€', HKD: 'HK$' };

/** `{minor: "300000", currency: "CNY"}` → `¥3,000.00`, by string arithmetic (no floats). */
export function money(amount) {
  if (!amount || typeof amount.minor !== 'string' || !/^-?\d+$/.test(amount.minor)) return '—';
  const negative = amount.minor.startsWith('-');
  const digits = amount.minor.replace('-', '').replace(/^0+(?=\d)/, '').padStart(3, '0');
  const whole = digits.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const text = `${whole}.${digits.slice(-2)}`;
  const symbol = SYMBOLS[amount.currency];
  const out = symbol ? `${symbol}${text}` : `${text} ${amount.currency ?? ''}`.trim();
  return negative ? `-${out}` : out;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `2026-11-19` → `2026年11月19日` or `19 Nov 2026`; anything else as given. */
export function date(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text ?? '');
  if (!m) return String(text ?? '—');
  const [, y, mo, d] = m;
  if (lang() === 'en') return `${Number(d)} ${MONTHS[Number(mo) - 1]} ${y}`;
  return `${y}年${Number(mo)}月${Number(d)}日`;
}

/** A Date as a local date and time people write. */
export function dateTime(when) {
  if (!(when instanceof Date) || Number.isNaN(when.getTime())) return '—';
  const pad = (n) => String(n).padStart(2, '0');
  const day = date(`${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}`);
  return `${day} ${pad(when.getHours())}:${pad(when.getMinutes())}`;
}

/** How long ago `when` was, in words. */
export function ago(when, now = new Date()) {
  const seconds = Math.max(0, (now - when) / 1000);
  if (seconds < 60) return t('ago.now');
  if (seconds < 3600) return t('ago.minutes', { n: Math.floor(seconds / 60) });
  if (seconds < 86400) return t('ago.hours', { n: Math.floor(seconds / 3600) });
  return t('ago.days', { n: Math.floor(seconds / 86400) });
}

/** Days from `from` to `to` (YYYY-MM-DD), both included. */
export function daysInclusive(from, to) {
  const a = Date.parse(`${from}T00:00:00Z`);
  const b = Date.parse(`${to}T00:00:00Z`);
  return Number.isNaN(a) || Number.isNaN(b) ? '?' : Math.round((b - a) / 86400000) + 1;
}

/** The display name of member `id` from the members map, else the id. */
export function memberName(members, id) {
  return members?.get?.(id)?.name ?? id;
}

/** A link to a member's ledger page. */
export function memberLink(members, id) {
  return `<a href="/member/${encodeURIComponent(id)}">${esc(memberName(members, id))}</a>`;
}

/** A link to a record's page. */
export function recordLink(rid, text = rid) {
  return `<a href="/record/${encodeURIComponent(rid)}" class="rid">${esc(text)}</a>`;
}

/** A kind in words. */
export function kindName(kind) {
  return t(`kind.${kind}`);
}

/** A light (green/yellow/red/grey) as a labelled badge. */
export function light(colour) {
  const c = ['green', 'yellow', 'red'].includes(colour) ? colour : 'grey';
  return `<span class="light ${c}">${esc(t(`light.${c}`))}</span>`;
}

/** The time a cosignature line's signature was made (tlog-cosignature: 4-byte key id, then a
 *  big-endian u64 POSIX time, then the signature), or null. */
export function cosignatureTime(base64) {
  try {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    if (bytes.length !== 4 + 8 + 64) return null;
    let seconds = 0n;
    for (let i = 4; i < 12; i += 1) seconds = (seconds << 8n) | BigInt(bytes[i]);
    return new Date(Number(seconds) * 1000);
  } catch {
    return null;
  }
}

/** The signature lines of a checkpoint note: [{name, base64, time}]. */
export function noteSignatures(note) {
  const [, sigs = ''] = String(note ?? '').split('\n\n');
  return sigs.split('\n').filter((l) => l.startsWith('— ')).map((line) => {
    const [, name, base64] = line.split(' ');
    return { name, base64, time: cosignatureTime(base64) };
  });
}
