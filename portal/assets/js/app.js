// The portal's entry: picks the page the path names, translates the shell, switches language,
// and registers the service worker (so the receipt page opens offline after one visit).
import { lang, setLang, t, translateShell } from './i18n.js';
import { esc } from './format.js';

const PAGES = [
  [/^\/$/, 'network', 'nav.network'],
  [/^\/member\/([^/]+)$/, 'member', 'nav.network'],
  [/^\/record\/([^/]+)$/, 'record', 'nav.search'],
  [/^\/search$/, 'search', 'nav.search'],
  [/^\/audit$/, 'audit', 'nav.audit'],
  [/^\/receipt$/, 'receipt', 'nav.receipt'],
];

const main = document.getElementById('main');
let generation = 0;

async function render() {
  generation += 1;
  const mine = generation;
  translateShell();
  const button = document.getElementById('lang');
  button.textContent = t('lang.switch');
  button.lang = lang() === 'en' ? 'zh-CN' : 'en';
  button.setAttribute('aria-label', t('lang.switch.label'));
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const found = PAGES.find(([re]) => re.test(path));
  for (const a of document.querySelectorAll('.top nav a')) a.removeAttribute('aria-current');
  if (!found) {
    main.innerHTML = `<h1>${esc(t('error.notfound', { detail: path }))}</h1>`;
    return;
  }
  const [re, name, navKey] = found;
  const navLink = document.querySelector(`.top nav a[data-i18n="${navKey}"]`);
  navLink?.setAttribute('aria-current', 'page');
  const arg = decodeURIComponent(re.exec(path)[1] ?? '');
  try {
    const page = await import(`./page-${name}.js`);
    if (mine !== generation) return;
    await page.render(main, { arg, stale: () => mine !== generation });
  } catch (e) {
    if (mine !== generation) return;
    main.innerHTML = `<p class="error" role="alert">${esc(t('error.fetch', { detail: e.message || e }))}</p>`;
  }
  const h1 = main.querySelector('h1');
  document.title = h1 ? `${h1.textContent} · ${t('brand')}` : t('title');
}

document.getElementById('lang').addEventListener('click', () => {
  setLang(lang() === 'en' ? 'zh-CN' : 'en');
  render();
});
window.addEventListener('hashchange', () => { if (location.pathname === '/receipt') render(); });

// Registered once the first page is drawn (and verified): the worker's copy of the files is
// then mostly revalidations (304) of what the page already fetched, not a second download.
render().finally(() => {
  if ('serviceWorker' in navigator && location.protocol !== 'file:') {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => { /* the portal works without it */ });
  }
});
