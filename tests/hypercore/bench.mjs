// Hypercore 11 as the peer of daylight-bench (issue 13, item 4): the same records, appended
// and replicated, so the two logs are compared in one run on one machine.
//
//   node bench.mjs --records FILE --batch 4096 --dir TMPDIR
//   node bench.mjs --count 100000 --size 482 --batch 4096 --dir TMPDIR
//
// FILE holds one record per line (daylight's JCS entry bytes: JSON text without raw
// newlines). The script prints one JSON line per measurement on stdout:
//
//   (a) {"what":"append",...}     the records appended to a Hypercore on disk in batches of
//       --batch (one `core.append(array)` per batch, awaited before the next), appends/s;
//   (b) {"what":"replicate",...}  a second process (this script with --clone) opens an empty
//       Hypercore with the first one's key, connects to this process over TCP on loopback
//       (127.0.0.1), replicates with `core.replicate()` over that socket (Hypercore's own
//       Noise-encrypted protocol stream) and downloads every block, each verified against the
//       signed Merkle tree as Hypercore always does; blocks/s, timed in the cloning process
//       from opening the connection to the last block stored.
//
// Durability: Hypercore 11 stores through RocksDB (hypercore-storage, rocksdb-native) with
// its default write options, which write the write-ahead log without an fsync per batch.
// Pass --append-only to skip (b). Pass --flush to also await `core.storage.db.flush()` after every batch (a memtable flush to
// SST files, which RocksDB syncs: the closest thing Hypercore's API offers to a durable
// commit).

import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import Hypercore from 'hypercore'

function args () {
  const out = { batch: 4096, size: 482, count: 0, flush: false }
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`)
      return argv[++i]
    }
    if (a === '--records') out.records = next()
    else if (a === '--count') out.count = Number(next())
    else if (a === '--size') out.size = Number(next())
    else if (a === '--batch') out.batch = Number(next())
    else if (a === '--dir') out.dir = next()
    else if (a === '--flush') out.flush = true
    else if (a === '--append-only') out.appendOnly = true
    else if (a === '--clone') out.clone = true
    else if (a === '--key') out.key = next()
    else if (a === '--port') out.port = Number(next())
    else if (a === '--length') out.length = Number(next())
    else throw new Error(`unknown argument ${a}`)
  }
  if (!out.dir) throw new Error('--dir is required')
  if (!(out.batch > 0)) throw new Error('--batch must be a positive number')
  return out
}

function records (opts) {
  if (opts.records) {
    const text = readFileSync(opts.records)
    const out = []
    let start = 0
    for (let i = 0; i < text.length; i++) {
      if (text[i] === 0x0a) {
        if (i > start) out.push(text.subarray(start, i))
        start = i + 1
      }
    }
    if (start < text.length) out.push(text.subarray(start))
    return out
  }
  const out = []
  for (let i = 0; i < opts.count; i++) {
    const b = Buffer.alloc(opts.size, 0x78)
    b.write(`{"rid":"hypercore-${i}",`)
    out.push(b)
  }
  return out
}

function report (line) {
  process.stdout.write(JSON.stringify(line) + '\n')
}

async function source (opts) {
  const blocks = records(opts)
  if (blocks.length === 0) throw new Error('no records')
  const bytes = blocks.reduce((n, b) => n + b.length, 0)
  const dir = path.join(opts.dir, 'source')
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const storage = Hypercore.defaultStorage(dir)
  const core = new Hypercore(storage)
  await core.ready()

  // (a) Appends, batch by batch.
  const began = process.hrtime.bigint()
  for (let i = 0; i < blocks.length; i += opts.batch) {
    await core.append(blocks.slice(i, i + opts.batch))
    if (opts.flush) await storage.db.flush()
  }
  const seconds = Number(process.hrtime.bigint() - began) / 1e9
  report({
    what: 'append',
    records: blocks.length,
    bytes,
    batch: opts.batch,
    flush: opts.flush,
    seconds,
    per_second: blocks.length / seconds
  })

  if (opts.appendOnly) {
    await core.close()
    await rm(opts.dir, { recursive: true, force: true })
    return
  }

  // (b) Replication to a second process over TCP on loopback.
  const server = net.createServer((socket) => {
    const stream = core.replicate(false)
    socket.pipe(stream).pipe(socket)
    stream.on('error', () => {})
    socket.on('error', () => {})
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = server.address().port
  const child = spawn(process.execPath, [
    fileURLToPath(import.meta.url), '--clone',
    '--dir', path.join(opts.dir, 'clone'),
    '--key', core.key.toString('hex'),
    '--port', String(port),
    '--length', String(core.length)
  ], { stdio: ['ignore', 'inherit', 'inherit'] })
  const code = await new Promise((resolve) => child.on('exit', resolve))
  server.close()
  await core.close()
  await rm(opts.dir, { recursive: true, force: true })
  if (code !== 0) throw new Error(`the cloning process exited with ${code}`)
}

async function clone (opts) {
  await rm(opts.dir, { recursive: true, force: true })
  await mkdir(opts.dir, { recursive: true })
  const core = new Hypercore(opts.dir, Buffer.from(opts.key, 'hex'))
  await core.ready()
  const began = process.hrtime.bigint()
  const socket = net.connect(opts.port, '127.0.0.1')
  const stream = core.replicate(true)
  socket.pipe(stream).pipe(socket)
  stream.on('error', () => {})
  socket.on('error', () => {})
  while (core.length < opts.length) {
    await core.update({ wait: true })
  }
  await core.download({ start: 0, end: opts.length }).done()
  const seconds = Number(process.hrtime.bigint() - began) / 1e9
  // Every block is stored: read back the last one as a check (local, no network).
  const last = await core.get(opts.length - 1, { wait: false })
  if (last === null) throw new Error('the last block is missing after the download')
  report({
    what: 'replicate',
    blocks: opts.length,
    bytes: core.byteLength,
    transport: 'TCP on 127.0.0.1 between two node processes',
    seconds,
    per_second: opts.length / seconds
  })
  socket.destroy()
  await core.close()
}

const opts = args()
try {
  if (opts.clone) await clone(opts)
  else await source(opts)
} catch (e) {
  process.stderr.write(`hypercore bench: ${e.stack || e}\n`)
  process.exit(1)
}
