// The Go reference's vectors (../shared/vectors/) checked THROUGH the WebAssembly build, with
// the same entry points the portal uses: proofs built from tlog-tiles must equal the Go
// reference's byte for byte, every proof must verify against the reference roots, a changed
// hash must fail, and the reference's signed and cosigned checkpoints must verify.
//
// Run by tests/tests/system/wasm_vectors.rs from a directory laid out like portal/assets (this file
// in test/, the bindings in ../wasm/). Usage: node vectors.mjs <vectors dir>. Prints one JSON
// line {checked, failures}; exits 1 on any failure.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as wasm from '../wasm/daylight_verifier_wasm.js';

const dir = process.argv[2];
wasm.initSync({ module: readFileSync(new URL('../wasm/daylight_verifier_wasm_bg.wasm', import.meta.url)) });

const failures = [];
let checked = 0;
const expect = (cond, what) => { checked++; if (!cond) failures.push(what); };
const field = (text, key) => {
  const line = text.split('\n').find((l) => l.startsWith(key + ' '));
  if (!line) throw new Error(`no ${key} line`);
  return line.slice(key.length + 1);
};

const leafText = readFileSync(join(dir, 'rfc6962-leaf-i.txt'), 'utf8');
const cosigText = readFileSync(join(dir, 'cosignature.txt'), 'utf8');
const enc = new TextEncoder();
const leaves = [];
for (let i = 0; i < 40; i++) leaves.push(wasm.leafHash(enc.encode(`leaf-${i}`)));

// The level-0 hash tile of the tree of n leaves (a partial tile: n < 256).
function tile(n) {
  const bytes = new Uint8Array(32 * n);
  for (let i = 0; i < n; i++) bytes.set(Buffer.from(leaves[i], 'hex'), 32 * i);
  return { paths: JSON.stringify([`tile/0/000.p/${n}`]), bytes, lengths: new Uint32Array([32 * n]) };
}
const list = (csv) => csv.split(',').filter((h) => h !== '');
const flip = (hex) => (hex[0] === '0' ? '1' : '0') + hex.slice(1);

const roots = new Map();
for (const line of leafText.split('\n')) {
  const [kind, ...rest] = line.split(' ');
  if (kind === 'R') roots.set(Number(rest[0]), rest[1]);
}

for (const line of leafText.split('\n')) {
  const [kind, a, b, csv = ''] = line.split(' ');
  if (kind === 'P') {
    const [n, i] = [Number(a), Number(b)];
    const t = tile(n);
    const need = JSON.parse(wasm.inclusionTiles(i, n));
    expect(need.ok && need.tiles.every((p) => p === `tile/0/000.p/${n}`), `${line}: tiles ${JSON.stringify(need)}`);
    const proved = JSON.parse(wasm.proveInclusion(i, n, t.paths, t.bytes, t.lengths));
    expect(proved.ok && proved.proof.join(',') === csv, `${line}: tiles gave ${JSON.stringify(proved)}`);
    const v = JSON.parse(wasm.verifyInclusionProof(i, n, leaves[i], JSON.stringify(list(csv)), roots.get(n)));
    expect(v.ok === true, `${line}: ${v.detail}`);
    const fromTiles = JSON.parse(wasm.verifyInclusion(i, n, roots.get(n), leaves[i], t.paths, t.bytes, t.lengths));
    expect(fromTiles.ok === true, `${line}: from tiles ${fromTiles.detail}`);
    const wrongRoot = JSON.parse(wasm.verifyInclusion(i, n, flip(roots.get(n)), leaves[i], t.paths, t.bytes, t.lengths));
    expect(wrongRoot.ok === false && wrongRoot.code === 'proof_mismatch', `${line}: a changed root verified`);
    if (list(csv).length > 0) {
      const changed = list(csv);
      changed[changed.length - 1] = flip(changed[changed.length - 1]);
      const bad = JSON.parse(wasm.verifyInclusionProof(i, n, leaves[i], JSON.stringify(changed), roots.get(n)));
      expect(bad.ok === false, `${line}: a changed proof verified`);
    }
  } else if (kind === 'C') {
    const [n, m] = [Number(a), Number(b)];
    const t = tile(n);
    const proved = JSON.parse(wasm.proveConsistency(m, n, t.paths, t.bytes, t.lengths));
    expect(proved.ok && proved.proof.join(',') === csv, `${line}: tiles gave ${JSON.stringify(proved)}`);
    const v = JSON.parse(wasm.verifyConsistencyProof(m, n, roots.get(m), roots.get(n), JSON.stringify(list(csv))));
    expect(v.ok === true, `${line}: ${v.detail}`);
    const grows = JSON.parse(wasm.verifyConsistency(m, roots.get(m), n, roots.get(n), t.paths, t.bytes, t.lengths));
    expect(grows.ok === true, `${line}: from tiles ${grows.detail}`);
    const fork = JSON.parse(wasm.verifyConsistency(m, flip(roots.get(m)), n, roots.get(n), t.paths, t.bytes, t.lengths));
    expect(fork.ok === false && fork.code === 'not_consistent', `${line}: a forked old root verified`);
  } else if (kind === 'R') {
    // The root of n leaves is what every inclusion proof in that tree leads to (checked with
    // the P lines); for n = 1 it is the leaf hash itself.
    if (Number(a) === 1) expect(b === leaves[0], `${line}: leaf hash ${leaves[0]}`);
  }
}

// The reference's signed checkpoint and its cosignature.
const vkey = field(leafText, 'VKEY');
const note = Buffer.from(field(leafText, 'NOTE'), 'base64');
const signed = JSON.parse(wasm.verifyNoteWithKeys(note, vkey, '[]', 0));
expect(signed.ok && signed.checkpoint.size === 40 && signed.checkpoint.root === roots.get(40),
  `NOTE: ${JSON.stringify(signed)}`);
const cosigned = Buffer.from(field(cosigText, 'COSIGNED_NOTE'), 'base64');
const witnesses = JSON.stringify([field(cosigText, 'WITNESS_VKEY')]);
const quorum = JSON.parse(wasm.verifyNoteWithKeys(cosigned, vkey, witnesses, 1));
expect(quorum.ok && quorum.cosigners.length === 1, `COSIGNED_NOTE: ${JSON.stringify(quorum)}`);
const changed = Uint8Array.from(cosigned);
changed[changed.length - 5] ^= 1; // inside the cosignature
const broken = JSON.parse(wasm.verifyNoteWithKeys(changed, vkey, witnesses, 1));
expect(!broken.ok && broken.checks[1].code === 'no_quorum', `changed cosignature: ${JSON.stringify(broken)}`);

console.log(JSON.stringify({ checked, failures }));
process.exit(failures.length ? 1 : 0);
