// The entry of a standalone receipt file: the receipt and the genesis travel inside the file;
// nothing is fetched. See daylight_portal::standalone_receipt_html.
import { lang, setLang, t, translateShell } from './i18n.js';
import { renderReceipt, membersFromGenesis } from './receipt-view.js';

const data = (id) => JSON.parse(document.getElementById(id).textContent);

async function render() {
  translateShell();
  const button = document.getElementById('lang');
  button.textContent = t('lang.switch');
  button.lang = lang() === 'en' ? 'zh-CN' : 'en';
  button.setAttribute('aria-label', t('lang.switch.label'));
  const genesis = data('daylight-genesis');
  const genesisChain = typeof genesis === 'string' ? genesis : JSON.stringify(genesis);
  await renderReceipt(document.getElementById('receipt'), data('daylight-receipt'), {
    genesisChain, members: membersFromGenesis(genesis),
  });
}

document.getElementById('lang').addEventListener('click', () => {
  setLang(lang() === 'en' ? 'zh-CN' : 'en');
  render();
});
document.getElementById('print').addEventListener('click', () => window.print());
render();
