// verify.js — verification in the browser (DESIGN §7a; contract of issue 16).
//
// The only module the portal's pages import for verification. Every check runs in the
// daylight verifier compiled to WebAssembly (../wasm/); this file only fetches bytes from
// the node's read API, remembers the pinned genesis and the checkpoints seen (localStorage),
// and hands both to the verifier. Nothing here decides whether something verifies.
//
// Every result is {ok, checks: [Check], ...}; Check = {id, ok, code?, detail}. A failure is
// a result with ok = false, never an exception that hides it.

import init, * as wasm from '../wasm/daylight_verifier_wasm.js';

const PINNED_KEY = 'daylight.genesis.pinned';
const SEEN_PREFIX = 'daylight.checkpoint.';

let loading = null;
let loaded = false;

/**
 * Initialises the WebAssembly verifier once. Without an argument it loads
 * ../wasm/daylight_verifier_wasm_bg.wasm relative to this file; a page that inlines the
 * WebAssembly (a standalone receipt file) or a test may pass its bytes (BufferSource) or a
 * compiled WebAssembly.Module instead. Resolves to the raw wasm bindings.
 */
export async function loadVerifier(source) {
  if (!loading) {
    loading = (async () => {
      if (source instanceof WebAssembly.Module || ArrayBuffer.isView(source) || source instanceof ArrayBuffer) {
        wasm.initSync({ module: source });
      } else {
        await init({ module_or_path: source ?? new URL('../wasm/daylight_verifier_wasm_bg.wasm', import.meta.url) });
      }
      loaded = true;
      return wasm;
    })();
    loading.catch(() => { loading = null; });
  }
  return loading;
}

// ---- storage (localStorage when the page has it, else memory for this page's life) ----

const memory = new Map();
function storage() {
  try {
    const s = globalThis.localStorage;
    if (s) {
      const probe = SEEN_PREFIX + 'probe';
      s.setItem(probe, '1');
      s.removeItem(probe);
      return s;
    }
  } catch (_) { /* storage disabled: fall back to memory */ }
  return {
    getItem: (k) => (memory.has(k) ? memory.get(k) : null),
    setItem: (k, v) => { memory.set(k, String(v)); },
    removeItem: (k) => { memory.delete(k); },
  };
}

function readJson(key) {
  try {
    const text = storage().getItem(key);
    return text ? JSON.parse(text) : null;
  } catch (_) {
    return null;
  }
}

function writeJson(key, value) {
  try { storage().setItem(key, JSON.stringify(value)); } catch (_) { /* quota: nothing remembered */ }
}

/** The pinned genesis: {id, networkId, sequence, network, pinnedAt} (no chain text), or null. */
export function pinnedGenesis() {
  const p = readJson(PINNED_KEY);
  return p && typeof p.id === 'string' && typeof p.chain === 'string'
    ? { id: p.id, networkId: p.networkId, sequence: p.sequence, network: p.network, pinnedAt: p.pinnedAt }
    : null;
}

/** Forgets the pinned genesis (the next pinGenesis is a first visit again). */
export function forgetGenesis() {
  try { storage().removeItem(PINNED_KEY); } catch (_) { /* nothing to forget */ }
}

function pinned() {
  const p = readJson(PINNED_KEY);
  return p && typeof p.id === 'string' && typeof p.chain === 'string' ? p : null;
}

// ---- helpers ----

const encoder = new TextEncoder();
const bytesOf = (text) => encoder.encode(text);
const fail = (id, code, detail) => ({ id, ok: false, code, detail });
const allOk = (checks) => checks.length > 0 && checks.every((c) => c.ok);

function call(fn, ...args) {
  // The verifier returns JSON text; a trap (which should not happen) becomes an error result.
  try {
    return JSON.parse(fn(...args));
  } catch (e) {
    return { ok: false, error: `the verifier failed: ${e && e.message ? e.message : e}` };
  }
}

class FetchError extends Error {}

// The checkpoint and the genesis change; tiles (full or partial of a given width) never do,
// so they may come from the browser's cache.
async function get(url, { fresh = false } = {}) {
  let resp;
  try {
    resp = await fetch(url, fresh ? { cache: 'no-store' } : {});
  } catch (e) {
    throw new FetchError(`cannot fetch ${url}: ${e && e.message ? e.message : e}`);
  }
  if (!resp.ok) {
    let body = '';
    try { body = (await resp.text()).slice(0, 300); } catch (_) { /* no body */ }
    throw new FetchError(`${url} answered ${resp.status}${body ? `: ${body}` : ''}`);
  }
  return new Uint8Array(await resp.arrayBuffer());
}

/** Fetches tiles (paths relative to the log) into one buffer plus per-tile lengths. */
async function getTiles(base, log, paths) {
  const parts = await Promise.all(paths.map((p) => get(`${base}/log/${encodeURIComponent(log)}/${p}`)));
  const lengths = new Uint32Array(parts.map((p) => p.length));
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return { paths: JSON.stringify(paths), bytes: all, lengths };
}

// ---- genesis ----

/**
 * GET {base}/v1/genesis. First visit: verifies the chain from version 1 and pins it (the
 * page shows versionId for comparison with the official one). Later: checks the served
 * chain extends the pinned version, and then pins its latest version.
 * → {ok, firstVisit, networkId, versionId, sequence, network, members:[{id,name,role,...}],
 *    checks:[Check]}
 */
export async function pinGenesis(base = '') {
  await loadVerifier();
  let served;
  try {
    served = await get(`${base}/v1/genesis`, { fresh: true });
  } catch (e) {
    const held = pinnedGenesis();
    return { ok: false, firstVisit: !held, checks: [fail('genesis', 'fetch_failed', e.message)] };
  }
  const held = pinned();
  const result = held
    ? call(wasm.followGenesis, held.id, served)
    : call(wasm.pinGenesis, served);
  if (!result.checks) result.checks = [fail('genesis', 'bad_genesis', result.error || 'no result')];
  result.firstVisit = !held;
  if (held) result.pinnedId = held.id;
  if (result.ok) {
    writeJson(PINNED_KEY, {
      id: result.versionId,
      networkId: result.networkId,
      sequence: result.sequence,
      network: result.network,
      chain: new TextDecoder().decode(served),
      pinnedAt: held ? held.pinnedAt : new Date().toISOString(),
    });
  }
  return result;
}

// ---- records ----

/**
 * Verifies entry `index` of the log of member `log` from the node's read API, against the
 * pinned genesis (pinned now if none was): checkpoint signature and witness quorum, entry
 * canonical form and signatures, inclusion from tiles, and that the log extends the
 * checkpoint this browser saw last time (stored when everything verified).
 * → {ok, checks:[Check], record, entryText, leaf, checkpoint:{origin,size,root}, cosigners,
 *    genesisId}
 */
export async function verifyRecord({ base = '', log, index } = {}) {
  await loadVerifier();
  const checks = [];
  const out = { ok: false, checks, record: null, entryText: null, leaf: null, checkpoint: null };
  const done = () => { out.ok = allOk(checks) && checks.length >= 7; return out; };
  index = Number(index);
  if (typeof log !== 'string' || !log || !Number.isSafeInteger(index) || index < 0) {
    checks.push(fail('inclusion', 'bad_request', `verifyRecord needs a log id and an entry index, got ${log} and ${index}`));
    return done();
  }
  let pin = pinned();
  if (!pin) {
    const g = await pinGenesis(base);
    pin = pinned();
    if (!pin) {
      checks.push(...(g.checks.length ? g.checks : [fail('genesis', 'no_pinned_genesis', 'no genesis is pinned')]));
      return done();
    }
  }
  out.genesisId = pin.id;
  checks.push({ id: 'genesis', ok: true, detail: `verified against the pinned genesis ${pin.id}` });
  const chain = bytesOf(pin.chain);
  const logPath = `${base}/log/${encodeURIComponent(log)}`;

  // 1. The checkpoint: the log's signature and the witness quorum.
  let note;
  try {
    note = await get(`${logPath}/checkpoint`, { fresh: true });
  } catch (e) {
    checks.push(fail('checkpoint_signature', 'fetch_failed', e.message));
    return done();
  }
  const cp = call(wasm.verifyCheckpoint, chain, pin.id, log, note);
  checks.push(...(cp.checks || [fail('checkpoint_signature', 'bad_signature', cp.error)]));
  out.cosigners = cp.cosigners || [];
  if (!cp.checkpoint) return done();
  const { size, root, origin } = cp.checkpoint;
  out.checkpoint = cp.checkpoint;
  if (index >= size) {
    checks.push(fail('inclusion', 'not_in_checkpoint', `entry ${index} is not in the log's checkpoint of size ${size} yet`));
    return done();
  }

  // 2. The entry and the hash tiles its inclusion proof is built from.
  const need = call(wasm.inclusionTiles, index, size);
  if (!need.ok) {
    checks.push(fail('inclusion', 'proof_mismatch', need.error));
    return done();
  }
  let bundle;
  try {
    bundle = await get(`${logPath}/${need.entryBundle}`);
  } catch (e) {
    checks.push(fail('entry_canonical', 'fetch_failed', e.message));
  }
  if (bundle) {
    const entry = call(wasm.verifyEntryInBundle, chain, pin.id, log, index, bundle);
    checks.push(...(entry.checks || [fail('entry_canonical', 'not_canonical', entry.error)]));
    out.record = entry.record ?? null;
    out.entryText = entry.entryText ?? null;
    out.leaf = entry.leaf ?? null;
  }
  if (out.leaf) {
    try {
      const t = await getTiles(base, log, need.tiles);
      checks.push(call(wasm.verifyInclusion, index, size, root, out.leaf, t.paths, t.bytes, t.lengths));
    } catch (e) {
      checks.push(fail('inclusion', e instanceof FetchError ? 'fetch_failed' : 'proof_mismatch', e.message));
    }
  } else {
    checks.push(fail('inclusion', 'not_checked', 'not checked: no entry to prove'));
  }

  // 3. The log only grows: consistent with the checkpoint this browser saw before.
  const seenKey = `${SEEN_PREFIX}${pin.networkId}.${origin}`;
  const seen = readJson(seenKey);
  let grows;
  if (!seen || !Number.isSafeInteger(seen.size) || typeof seen.root !== 'string') {
    grows = { id: 'log_grows', ok: true, detail: `first checkpoint of ${origin} this browser sees (size ${size}); later visits check the log only grows from it` };
  } else if (size < seen.size) {
    // A copy that lags (a mirror not caught up yet) serves an older checkpoint. That is not
    // evidence of a rewrite, and this copy holds no tiles beyond its own size to prove it is a
    // prefix of the newer one: said as a caution, and the newer checkpoint stays remembered.
    grows = { id: 'log_grows', ok: true, behind: true, detail: `this copy's checkpoint of ${origin} (size ${size}) is older than the one this browser saw (size ${seen.size}); it cannot be compared with it here, and newer records may exist` };
  } else {
    const ct = call(wasm.consistencyTiles, Math.min(seen.size, size), size);
    try {
      const t = await getTiles(base, log, ct.ok ? ct.tiles : []);
      grows = call(wasm.verifyConsistency, seen.size, seen.root, size, root, t.paths, t.bytes, t.lengths);
    } catch (e) {
      grows = fail('log_grows', e instanceof FetchError ? 'fetch_failed' : 'not_consistent', e.message);
    }
  }
  checks.push(grows);
  const trusted = checks.filter((c) => c.id === 'checkpoint_signature' || c.id === 'witness_quorum').every((c) => c.ok);
  if (trusted && grows.ok && (!seen || size >= seen.size)) {
    writeJson(seenKey, { size, root, seenAt: new Date().toISOString() });
  }
  return done();
}

/** The checkpoint of log origin `origin` this browser remembers: {size, root, seenAt} or null. */
export function seenCheckpoint(origin) {
  const p = pinned();
  return p ? readJson(`${SEEN_PREFIX}${p.networkId}.${origin}`) : null;
}

// ---- household receipts (offline) ----

/**
 * Verifies a household receipt entirely offline (no network access at all). `receipt` is a
 * household receipt object, its JSON text, a tlog-proof bundle, or the compact QR payload
 * (code or whole /receipt#… link). `genesisChain` is the genesis chain JSON (text or object)
 * to verify against, else the pinned one.
 * → {ok, checks:[Check], record, opening, checkpoint:{origin,size,root}, log, index, leaf,
 *    entryText, cosigners, genesis:{id, networkId, sequence}}
 */
export async function verifyReceipt(receipt, { genesisChain } = {}) {
  await loadVerifier();
  let text;
  if (typeof receipt === 'string') text = receipt;
  else if (receipt && typeof receipt === 'object') text = JSON.stringify(receipt);
  else return { ok: false, checks: [fail('inclusion', 'bad_receipt', 'no receipt given')], record: null, opening: null, checkpoint: null };
  let chain;
  let pinId = '';
  if (genesisChain) {
    chain = typeof genesisChain === 'string' ? genesisChain : JSON.stringify(genesisChain);
  } else {
    const p = pinned();
    if (!p) {
      return {
        ok: false,
        checks: [fail('genesis', 'no_pinned_genesis', 'no genesis is pinned in this browser and none came with the receipt')],
        record: null, opening: null, checkpoint: null,
      };
    }
    chain = p.chain;
    pinId = p.id;
  }
  const r = call(wasm.verifyReceipt, text, bytesOf(chain), pinId);
  if (!r.checks) r.checks = [fail('inclusion', 'bad_receipt', r.error || 'no result')];
  r.record = r.record ?? null;
  r.opening = r.opening ?? null;
  r.checkpoint = r.checkpoint ?? null;
  return r;
}

/**
 * Decodes the compact QR payload (the code, or a whole /receipt#… link) into the household
 * receipt object. Needs loadVerifier() to have finished; throws an Error with the reason.
 */
export function decodeReceiptCode(code) {
  if (!loaded) throw new Error('the verifier is not loaded yet: await loadVerifier() first');
  const r = call(wasm.decodeReceiptCode, String(code ?? ''));
  if (!r.ok) throw new Error(r.error);
  return JSON.parse(r.receipt);
}

/**
 * Encodes a household receipt (object or JSON text) as the compact QR payload; the QR code
 * carries `${location.origin}/receipt#${code}`. Needs loadVerifier(); throws with the reason.
 */
export function encodeReceiptCode(receipt) {
  if (!loaded) throw new Error('the verifier is not loaded yet: await loadVerifier() first');
  const text = typeof receipt === 'string' ? receipt : JSON.stringify(receipt);
  const r = call(wasm.encodeReceiptCode, text);
  if (!r.ok) throw new Error(r.error);
  return r.code;
}
