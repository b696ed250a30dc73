// node pprof_decode.js MODULES_DIR PROFILE [EXPECTED_TSV]
//
// Decodes an uncompressed pprof profile with npm `pprof-format` (installed
// under MODULES_DIR/node_modules), a decoder independent of cflame's, and
// prints the per-stack totals as JSON: {"thread;root;...;leaf": [calls,
// wall], ...}, stacks sorted, samples without a `thread` label under
// "[no thread]". With EXPECTED_TSV (lines "stack<TAB>calls<TAB>wall", summed
// per stack), exits 1 unless the totals are exactly those.
'use strict';
const fs = require('fs');
const path = require('path');

const [modules, file, expectedFile] = process.argv.slice(2);
if (!modules || !file) {
  console.error('usage: node pprof_decode.js MODULES_DIR PROFILE [EXPECTED]');
  process.exit(2);
}
const { Profile } = require(path.resolve(modules, 'node_modules', 'pprof-format'));

const prof = Profile.decode(fs.readFileSync(file));
const strings = prof.stringTable.strings;
const str = (i) => {
  const s = strings[Number(i)];
  if (s === undefined) throw new Error(`string index ${i} out of range`);
  return s;
};
const byId = (list, what) => {
  const m = new Map();
  for (const x of list) {
    const id = BigInt(x.id);
    if (id === 0n || m.has(id)) throw new Error(`${what} id ${id} bad or repeated`);
    m.set(id, x);
  }
  return m;
};
const fns = byId(prof.function, 'function');
const locs = byId(prof.location, 'location');
const types = prof.sampleType.map((t) => str(t.type));
const iCalls = types.indexOf('calls');
const iWall = types.indexOf('wall');
if (iCalls < 0 || iWall < 0) throw new Error(`sample types ${types}`);

const totals = new Map();
for (const s of prof.sample) {
  if (s.value.length !== types.length) throw new Error('value count');
  let thread = '[no thread]';
  for (const l of s.label) if (str(l.key) === 'thread') thread = str(l.str);
  const frames = [];
  for (const id of s.locationId) { // leaf first
    const loc = locs.get(BigInt(id));
    if (!loc) throw new Error(`no location ${id}`);
    for (const line of loc.line) { // inlined callee first
      const fn = fns.get(BigInt(line.functionId));
      if (!fn) throw new Error(`no function ${line.functionId}`);
      frames.push(str(fn.name));
    }
  }
  const key = [thread, ...frames.reverse()].join(';');
  const t = totals.get(key) || [0n, 0n];
  t[0] += BigInt(s.value[iCalls]);
  t[1] += BigInt(s.value[iWall]);
  totals.set(key, t);
}

const sorted = (m) => [...m.keys()].sort((a, b) =>
  Buffer.compare(Buffer.from(a), Buffer.from(b)));
const out = {};
for (const k of sorted(totals)) out[k] = totals.get(k).map(Number);
console.log(JSON.stringify(out));

if (expectedFile) {
  const want = new Map();
  for (const line of fs.readFileSync(expectedFile, 'utf8').split('\n')) {
    if (!line) continue;
    const [k, c, w] = line.split('\t');
    const t = want.get(k) || [0n, 0n];
    t[0] += BigInt(c);
    t[1] += BigInt(w);
    want.set(k, t);
  }
  let bad = 0;
  for (const k of new Set([...want.keys(), ...totals.keys()])) {
    const a = want.get(k), b = totals.get(k);
    if (!a || !b || a[0] !== b[0] || a[1] !== b[1]) {
      console.error(`MISMATCH ${JSON.stringify(k)}: expected ${a} got ${b}`);
      bad = 1;
    }
  }
  if (bad) process.exit(1);
  console.error(`ok: pprof-format read ${totals.size} stacks with the expected totals`);
}
