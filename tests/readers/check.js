#!/usr/bin/env node
// Compares what speedscope reads from a file with what the file says,
// computed here independently of speedscope.
//
//   node check.js SPEEDSCOPE_DIR folded FILE...
//   node check.js SPEEDSCOPE_DIR trace [--expected TOTALS.json] FILE...
//   node check.js SPEEDSCOPE_DIR trace --folded SUMS.folded FILE
//
// folded: speedscope must pick its collapsed-stack importer and make one
// profile whose self weight per stack equals, exactly, the sum of the
// file's counts for that stack; the distinct stacks and the total match.
// trace: speedscope must pick its Trace Event Format importer and make one
// profile per thread that has B/E/X events, named as speedscope names
// threads, whose time inside spans equals the length of the union of that
// thread's B..E and X intervals within 1 us. TOTALS.json, if given, maps a
// file's base name to {profile name: total us} that must also match.
// SUMS.folded (a flame sink's output from the same run, no empty samples):
// each thread's time in speedscope must equal the sum of the counts of its
// stacks (root = the thread name), within 1 us or 1e-3 (ticks become ns with the
// TSC rate known when they are converted: records at each drain, trees at
// each flush, and the rate is refined as the run goes).
// speedscope must not warn (a warning means it read something other than
// what the file meant). Prints one line per file; exit 1 if any fails.
'use strict';

const fs = require('fs');
const path = require('path');
const { importFile } = require('./speedscope.js');

// Folded lines: STACK, one space, decimal COUNT. Returns Map stack -> BigInt.
function foldedSums(text) {
  const sums = new Map();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((line, i) => {
    const sp = line.lastIndexOf(' ');
    const count = line.slice(sp + 1);
    if (sp <= 0 || !/^[0-9]+$/.test(count)) {
      throw new Error(`line ${i + 1} is not "STACK COUNT": ${JSON.stringify(line.slice(0, 80))}`);
    }
    const stack = line.slice(0, sp);
    sums.set(stack, (sums.get(stack) || 0n) + BigInt(count));
  });
  return sums;
}

function checkFolded(file, result) {
  const errs = [];
  if (result.format !== 'folded') {
    return { errs: [`read as ${result.importer || 'nothing'}, not as folded stacks`] };
  }
  const sums = foldedSums(fs.readFileSync(file, 'utf8'));
  if (result.profiles.length !== 1) errs.push(`${result.profiles.length} profiles, expected 1`);
  const got = result.profiles[0] ? result.profiles[0].stacks : {};
  const gotKeys = Object.keys(got);
  if (gotKeys.length !== sums.size) {
    errs.push(`speedscope has ${gotKeys.length} distinct stacks, the file ${sums.size}`);
  }
  let total = 0n;
  for (const [stack, sum] of sums) {
    total += sum;
    const w = got[stack];
    if (w === undefined) errs.push(`stack missing in speedscope: ${stack.slice(0, 200)}`);
    else if (!Number.isSafeInteger(w) || BigInt(w) !== sum) {
      errs.push(`stack ${stack.slice(0, 200)}: speedscope ${w}, file ${sum}`);
    }
  }
  for (const k of gotKeys) {
    if (!sums.has(k)) errs.push(`stack only in speedscope: ${k.slice(0, 200)}`);
  }
  const tw = result.profiles[0] ? result.profiles[0].totalWeight : 0;
  if (!Number.isSafeInteger(tw) || BigInt(tw) !== total) {
    errs.push(`total: speedscope ${tw}, file ${total}`);
  }
  return { errs: errs.slice(0, 20), summary: `${sums.size} stacks, total ${total}` };
}

// The array form may lack its closing "]" (the Trace Event Format allows
// that, for a writer that was killed); a trailing comma may remain.
function parseTrace(text) {
  let t = text.trim();
  if (t.startsWith('[') && !t.endsWith(']')) t = `${t.replace(/,\s*$/, '')}]`;
  const doc = JSON.parse(t);
  return Array.isArray(doc) ? doc : doc.traceEvents;
}

// Per thread with B/E/X events: speedscope's profile name and the length of
// the union of its spans (time with at least one span open).
function traceTotals(events) {
  const procNames = new Map();
  const threadNames = new Map();
  const edges = new Map();
  for (const e of events) {
    const key = `${Number(e.pid)}:${Number(e.tid)}`;
    if (e.ph === 'M' && e.args && e.args.name) {
      if (e.name === 'process_name') procNames.set(Number(e.pid), e.args.name);
      if (e.name === 'thread_name') threadNames.set(key, e.args.name);
    }
    if (!['B', 'E', 'X'].includes(e.ph)) continue;
    if (!edges.has(key)) edges.set(key, { pid: e.pid, tid: e.tid, list: [] });
    const l = edges.get(key).list;
    if (e.ph === 'B') l.push([e.ts, 1]);
    else if (e.ph === 'E') l.push([e.ts, -1]);
    else l.push([e.ts, 1], [e.ts + (e.dur ?? e.tdur ?? 0), -1]);
  }
  const out = new Map();
  for (const [key, { pid, tid, list }] of edges) {
    list.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    let depth = 0;
    let since = 0;
    let total = 0;
    for (const [ts, d] of list) {
      if (depth === 0 && d > 0) since = ts;
      depth = Math.max(0, depth + d);
      if (depth === 0 && d < 0) total += ts - since;
    }
    if (depth > 0) total += list[list.length - 1][0] - since;
    const p = procNames.get(Number(pid));
    const t = threadNames.get(key);
    let name;
    if (p != null && t != null) name = `${p} (pid ${pid}), ${t} (tid ${tid})`;
    else if (p != null) name = `${p} (pid ${pid}, tid ${tid})`;
    else if (t != null) name = `${t} (pid ${pid}, tid ${tid})`;
    else name = `pid ${pid}, tid ${tid}`;
    out.set(name, total);
  }
  return out;
}

// Per thread name: the sum of the counts of its stacks below the root.
function foldedThreadSums(text) {
  const out = new Map();
  for (const [stack, sum] of foldedSums(text)) {
    const semi = stack.indexOf(';');
    if (semi < 0) continue;
    const root = stack.slice(0, semi);
    out.set(root, (out.get(root) || 0n) + sum);
  }
  return out;
}

// speedscope's profile name of each named thread, by thread name.
function profileNames(events) {
  const procNames = new Map();
  for (const e of events) {
    if (e.ph === 'M' && e.name === 'process_name' && e.args) procNames.set(Number(e.pid), e.args.name);
  }
  const out = new Map();
  for (const e of events) {
    if (e.ph !== 'M' || e.name !== 'thread_name' || !e.args) continue;
    const p = procNames.get(Number(e.pid));
    out.set(e.args.name, p != null ? `${p} (pid ${e.pid}), ${e.args.name} (tid ${e.tid})`
      : `${e.args.name} (pid ${e.pid}, tid ${e.tid})`);
  }
  return out;
}

function checkFoldedSums(file, result, foldedFile) {
  const errs = [];
  const sums = foldedThreadSums(fs.readFileSync(foldedFile, 'utf8'));
  const names = profileNames(parseTrace(fs.readFileSync(file, 'utf8')));
  const theirs = new Map(result.profiles.map((p) => [p.name, p.nonIdleWeight]));
  for (const [thread, ns] of sums) {
    const prof = names.get(thread);
    if (!prof || !theirs.has(prof)) {
      errs.push(`thread "${thread}" of the folded file has no speedscope profile`);
      continue;
    }
    const us = Number(ns) / 1000;
    // 1 us, or 1e-3 of the total: records and trees of a real-clock run are
    // converted at different moments, with a rate refined in between.
    if (Math.abs(theirs.get(prof) - us) > Math.max(1, us * 1e-3)) {
      errs.push(`"${prof}": speedscope ${theirs.get(prof)} us, folded ${us} us`);
    }
  }
  return errs;
}

function checkTrace(file, result, expected) {
  const errs = [];
  if (result.format !== 'trace-event') {
    return { errs: [`read as ${result.importer || 'nothing'}, not as Trace Event Format`] };
  }
  const mine = traceTotals(parseTrace(fs.readFileSync(file, 'utf8')));
  const theirs = new Map(result.profiles.map((p) => [p.name, p.nonIdleWeight]));
  for (const [name, total] of mine) {
    if (!theirs.has(name)) errs.push(`no speedscope profile "${name}"`);
    else if (Math.abs(theirs.get(name) - total) > 1) {
      errs.push(`"${name}": speedscope ${theirs.get(name)} us, file ${total} us`);
    }
  }
  for (const name of theirs.keys()) {
    if (!mine.has(name)) errs.push(`speedscope profile "${name}" is no thread of the file`);
  }
  if (expected) {
    const want = expected[path.basename(file)];
    if (!want) errs.push(`${path.basename(file)} is not in the expected totals`);
    for (const [name, total] of Object.entries(want || {})) {
      if (!theirs.has(name)) errs.push(`expected profile "${name}" is missing`);
      else if (Math.abs(theirs.get(name) - total) > 1) {
        errs.push(`"${name}": speedscope ${theirs.get(name)} us, expected ${total} us`);
      }
    }
    if (want && Object.keys(want).length !== theirs.size) {
      errs.push(`${theirs.size} profiles, expected ${Object.keys(want).length}`);
    }
  }
  return { errs, summary: [...mine].map(([n, t]) => `"${n}" ${t} us`).join(', ') };
}

async function main(argv) {
  const [dir, mode, ...rest] = argv;
  let expected = null;
  let folded = null;
  if (rest[0] === '--expected') {
    expected = JSON.parse(fs.readFileSync(rest[1], 'utf8'));
    rest.splice(0, 2);
  } else if (rest[0] === '--folded') {
    folded = rest[1];
    rest.splice(0, 2);
  }
  if (!dir || !['folded', 'trace'].includes(mode) || rest.length === 0) {
    process.stderr.write('usage: node check.js SPEEDSCOPE_DIR folded FILE...\n' +
                         '       node check.js SPEEDSCOPE_DIR trace [--expected TOTALS.json] FILE...\n');
    return 2;
  }
  let failed = 0;
  for (const file of rest) {
    let msgs;
    let ok = false;
    try {
      const result = await importFile(dir, file);
      const r = mode === 'folded' ? checkFolded(file, result) : checkTrace(file, result, expected);
      if (folded && result.format === 'trace-event') {
        r.errs = r.errs.concat(checkFoldedSums(file, result, folded));
        r.summary += `; per-thread totals equal ${path.basename(folded)}`;
      }
      msgs = r.errs.concat(result.warnings.map((w) => `speedscope warned: ${w}`));
      ok = msgs.length === 0;
      if (ok) msgs = [`${result.importer}: ${r.summary}`];
    } catch (e) {
      msgs = [`import failed: ${e.message}`];
    }
    if (!ok) failed++;
    process.stdout.write(`${ok ? 'ok' : 'FAIL'} ${file} (${mode}): ${msgs.join('\n  ')}\n`);
  }
  return failed ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((rc) => { process.exitCode = rc; },
    (e) => { process.stderr.write(`check.js: ${e.stack || e}\n`); process.exitCode = 2; });
}
