// verify.js on a household receipt made by the CLI, offline: fetch is replaced by a function
// that records any use and throws, and localStorage does not exist (Node). The receipt must
// verify as JSON text, as an object and as its compact QR code; changed receipts must fail
// with the reason. With a node URL, it then checks verify.js's record path against that live
// node (fetch restored), including that the log only grows on a second visit.
//
// Run by tests/tests/system/wasm_vectors.rs from a directory laid out like portal/assets (this file
// in test/, verify.js in ../js/, the bindings in ../wasm/).
// Usage: node receipt.mjs <receipt.json> <genesis chain.json> [<node url> <log> <index>]
// Prints one JSON line {checked, failures, codeLength, results}; exits 1 on any failure.

import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';

const [receiptPath, chainPath, base, log, index] = process.argv.slice(2);
const realFetch = globalThis.fetch;
let networkUsed = 0;
globalThis.fetch = async () => { networkUsed++; throw new Error('the network is off'); };

const v = await import('../js/verify.js');
await v.loadVerifier(readFileSync(new URL('../wasm/daylight_verifier_wasm_bg.wasm', import.meta.url)));

const failures = [];
let checked = 0;
const results = {};
const expect = (cond, what) => { checked++; if (!cond) failures.push(what); };
const ids = (r) => r.checks.map((c) => `${c.id}:${c.ok ? 'ok' : c.code}`).join(' ');
const receipt = readFileSync(receiptPath, 'utf8');
const chain = readFileSync(chainPath, 'utf8');
const want = ['genesis', 'checkpoint_signature', 'witness_quorum', 'entry_canonical', 'entry_signatures', 'inclusion', 'opening'];

// Nothing pinned yet, no chain given: said plainly.
const none = await v.verifyReceipt(receipt);
expect(!none.ok && none.checks[0].code === 'no_pinned_genesis', `no genesis: ${ids(none)}`);

const good = await v.verifyReceipt(receipt, { genesisChain: chain });
results.json = ids(good);
expect(good.ok === true, `receipt JSON: ${JSON.stringify(good.checks)}`);
expect(want.every((id) => good.checks.some((c) => c.id === id && c.ok)), `all checks: ${ids(good)}`);
expect(good.opening && good.record && good.record.rid === good.opening.rid, 'record and opening returned');
expect(good.checkpoint && good.checkpoint.size > good.index, 'checkpoint returned');

const asObject = await v.verifyReceipt(JSON.parse(receipt), { genesisChain: JSON.parse(chain) });
expect(asObject.ok === true, `receipt object: ${ids(asObject)}`);

const code = v.encodeReceiptCode(receipt);
const link = `https://node.example/receipt#${code}`;
expect(isDeepStrictEqual(v.decodeReceiptCode(link), JSON.parse(receipt)), 'code round trip');
const fromCode = await v.verifyReceipt(link, { genesisChain: chain });
expect(fromCode.ok === true, `receipt code: ${ids(fromCode)}`);
let threw = false;
try { v.decodeReceiptCode(code.slice(0, 100)); } catch (e) { threw = /cut short|not whole|decompress/.test(e.message); }
expect(threw, 'a cut code throws with the reason');

// Changed receipts fail, with the reason.
const r = JSON.parse(receipt);
const nonce = r.opening.nonce;
const otherNonce = { ...r, opening: { ...r.opening, nonce: (nonce[0] === '0' ? '1' : '0') + nonce.slice(1) } };
const wrongOpening = await v.verifyReceipt(otherNonce, { genesisChain: chain });
expect(!wrongOpening.ok && wrongOpening.checks.find((c) => c.id === 'opening').code === 'opening_mismatch',
  `changed nonce: ${ids(wrongOpening)}`);
const lines = r.bundle.split('\n');
const at = lines.findIndex((l) => l.startsWith('index '));
lines[at] = `index ${Number(lines[at].slice(6)) + 1}`;
const moved = await v.verifyReceipt({ ...r, bundle: lines.join('\n') }, { genesisChain: chain });
expect(!moved.ok && moved.checks.find((c) => c.id === 'inclusion').code === 'proof_mismatch', `changed index: ${ids(moved)}`);
// Only the log's signature left (every cosignature line removed): no quorum.
const firstSig = r.bundle.indexOf('\n— ') + 1;
const logOnly = r.bundle.slice(0, r.bundle.indexOf('\n', firstSig) + 1);
const cut = await v.verifyReceipt({ ...r, bundle: logOnly }, { genesisChain: chain });
expect(!cut.ok && cut.checks.find((c) => c.id === 'checkpoint_signature').ok
  && cut.checks.find((c) => c.id === 'witness_quorum').code === 'no_quorum', `cosignatures removed: ${ids(cut)}`);
const garbage = await v.verifyReceipt('not a receipt', { genesisChain: chain });
expect(!garbage.ok && garbage.checks[0].code === 'bad_receipt', `garbage: ${ids(garbage)}`);
expect(networkUsed === 0, `the receipt path used the network ${networkUsed} times`);
results.codeLength = code.length;

if (base) {
  globalThis.fetch = realFetch;
  const g = await v.pinGenesis(base);
  expect(g.ok && g.firstVisit, `pin: ${ids(g)}`);
  const first = await v.verifyRecord({ base, log, index: Number(index) });
  results.record = ids(first);
  expect(first.ok === true, `record: ${JSON.stringify(first.checks)}`);
  const again = await v.verifyRecord({ base, log, index: Number(index) });
  expect(again.ok === true && /same checkpoint|extends/.test(again.checks.find((c) => c.id === 'log_grows').detail),
    `second visit: ${ids(again)}`);
  const g2 = await v.pinGenesis(base);
  expect(g2.ok && !g2.firstVisit, `follow: ${ids(g2)}`);
  // Now pinned: the receipt verifies offline against the pinned chain.
  globalThis.fetch = async () => { networkUsed++; throw new Error('the network is off'); };
  const pinnedReceipt = await v.verifyReceipt(code);
  expect(pinnedReceipt.ok === true, `receipt against the pinned genesis: ${ids(pinnedReceipt)}`);
  expect(networkUsed === 0, 'offline after pinning');
}

console.log(JSON.stringify({ checked, failures, codeLength: code.length, results }));
process.exit(failures.length ? 1 : 0);
