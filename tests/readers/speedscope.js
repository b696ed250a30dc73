#!/usr/bin/env node
// Runs speedscope's own importer (the code path a file dropped on the page
// takes) headless under Node, and prints what it made of a file as JSON.
//
//   node speedscope.js SPEEDSCOPE_DIR FILE [--expect folded|trace-event]
//                      [--name NAME]
//
// SPEEDSCOPE_DIR is the directory tests/readers/setup.sh installed into.
// NAME is the file name speedscope is told (default: FILE's base name); it
// matters because speedscope picks some importers by name (e.g.
// *.collapsedstack.txt) before it sniffs the content.
//
// Output: {file, name, importer, format, warnings, profiles: [{name, unit,
// totalWeight, nonIdleWeight, stacks: {"root;child": selfWeight}}]}.
// "importer" is speedscope's own "Importing as ..." message; "format" is
// "folded", "trace-event" or "other". Exit status: 0 if imported (and of
// the expected format), 1 if not recognised or not the expected format,
// 2 on a usage or setup error.
//
// Also usable as a module: importFile(dir, file, name) -> Promise<result>.
'use strict';

const fs = require('fs');
const path = require('path');
const vm = require('vm');

const FORMATS = {
  'collapsed stack format': 'folded',
  'Trace Event Format profile': 'trace-event',
};

function findBundle(dir) {
  const candidates = [
    path.join(dir, 'node_modules', 'speedscope', 'dist', 'release'),
    path.join(dir, 'dist', 'release'),
  ];
  for (const d of candidates) {
    if (!fs.existsSync(d)) continue;
    const js = fs.readdirSync(d).filter((f) => /^speedscope-.*\.js$/.test(f));
    if (js.length === 1) return path.join(d, js[0]);
    if (js.length > 1) throw new Error(`several bundles in ${d}: ${js}`);
  }
  throw new Error(`no speedscope bundle under ${dir} (run setup.sh ${dir})`);
}

// The bundle is one IIFE. Its last statements log the version and render the
// page into document.body; everything before only defines modules. We cut
// the page bootstrap off and, in its place, hand the lazily initialised
// import namespace (the one holding importProfilesFromArrayBuffer) to the
// host. The minified names differ between builds, so find them by shape.
function patchBundle(src) {
  const nsMatch = /([\w$]+)\(([\w$]+),\{[^{}]*importProfilesFromArrayBuffer:\(\)=>[\w$]+/.exec(src);
  if (!nsMatch) throw new Error('bundle: import namespace not found');
  const ns = nsMatch[2];
  const esc = ns.replace(/\$/g, '\\$');
  const initRe = new RegExp(`Promise\\.resolve\\(\\)\\.then\\(\\(\\)=>\\(([\\w$]+)\\(\\),${esc}\\)\\)`);
  const initMatch = initRe.exec(src);
  if (!initMatch) throw new Error('bundle: namespace initialiser not found');
  const init = initMatch[1];
  const boot = src.lastIndexOf('console.log(`speedscope v');
  if (boot < 0) throw new Error('bundle: page bootstrap not found');
  const tail = src.slice(boot);
  if (!/^console\.log\(`speedscope v[^`]*`\);[^;]*;\}\)\(\);\s*(\/\/# sourceMappingURL=\S*\s*)?$/.test(tail)) {
    throw new Error('bundle: unexpected code after the page bootstrap');
  }
  return `${src.slice(0, boot)}globalThis.__cflameImporter=(${init}(),${ns});})();\n`;
}

// Just enough of a browser for the module definitions to evaluate.
function makeSandbox(log) {
  const noop = () => {};
  const element = () => ({
    style: {}, setAttribute: noop, appendChild: noop, removeChild: noop,
    addEventListener: noop, removeEventListener: noop, childNodes: [],
    getContext: () => null,
  });
  const storage = new Map();
  const sb = {
    console: {
      log: (...a) => log.push(['log', a.map(String).join(' ')]),
      info: (...a) => log.push(['log', a.map(String).join(' ')]),
      warn: (...a) => log.push(['warn', a.map(String).join(' ')]),
      error: (...a) => log.push(['error', a.map(String).join(' ')]),
      debug: noop, time: noop, timeEnd: noop,
    },
    document: {
      body: element(), head: element(), title: '', activeElement: null,
      createElement: element, createTextNode: element,
      getElementsByTagName: () => [], querySelector: () => null,
      addEventListener: noop, removeEventListener: noop,
    },
    location: { hash: '', search: '', href: 'file:///index.html',
                protocol: 'file:', host: '', pathname: '/index.html' },
    localStorage: {
      getItem: (k) => (storage.has(k) ? storage.get(k) : null),
      setItem: (k, v) => storage.set(k, String(v)),
      removeItem: (k) => storage.delete(k),
    },
    navigator: { userAgent: 'node', platform: 'Linux', language: 'en' },
    matchMedia: () => ({ matches: false, addEventListener: noop,
                         removeEventListener: noop, addListener: noop,
                         removeListener: noop }),
    devicePixelRatio: 1,
    addEventListener: noop, removeEventListener: noop,
    requestAnimationFrame: (f) => setTimeout(f, 0),
    cancelAnimationFrame: (h) => clearTimeout(h),
    setTimeout, clearTimeout, setInterval, clearInterval, queueMicrotask,
    TextDecoder, TextEncoder, URL, URLSearchParams, Blob, atob, btoa,
    performance,
  };
  sb.window = sb;
  sb.self = sb;
  return sb;
}

let cached = null;

function loadImporter(dir) {
  if (cached && cached.dir === dir) return cached;
  const bundle = findBundle(dir);
  const src = patchBundle(fs.readFileSync(bundle, 'utf8'));
  const log = [];
  const sb = makeSandbox(log);
  vm.createContext(sb);
  vm.runInContext(src, sb, { filename: bundle });
  if (!sb.__cflameImporter ||
      typeof sb.__cflameImporter.importProfilesFromArrayBuffer !== 'function') {
    throw new Error('bundle: importProfilesFromArrayBuffer is missing');
  }
  cached = { dir, log, importer: sb.__cflameImporter };
  return cached;
}

// Self weight per distinct stack (frames joined by ";", root first), read
// from speedscope's grouped call tree, where equal stacks are merged.
function stacksOf(profile) {
  const out = new Map();
  const walk = (node, prefix) => {
    for (const child of node.children) {
      const p = prefix === null ? child.frame.name : `${prefix};${child.frame.name}`;
      const self = child.getSelfWeight();
      if (self !== 0) out.set(p, (out.get(p) || 0) + self);
      walk(child, p);
    }
  };
  walk(profile.getGroupedCalltreeRoot(), null);
  return Object.fromEntries([...out.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

async function importFile(dir, file, name) {
  const { log, importer } = loadImporter(dir);
  log.length = 0;
  const bytes = fs.readFileSync(file);
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  const shown = name || path.basename(file);
  const chosenOf = () => log.map(([, m]) => /^Importing (?:as|from) (.*)$/.exec(m)).find(Boolean);
  let group;
  try {
    group = await importer.importProfilesFromArrayBuffer(shown, buf);
  } catch (e) {
    const c = chosenOf();
    throw new Error(`importing as ${c ? c[1] : '(no importer chosen)'}: ${e.message}`);
  }
  const chosen = chosenOf();
  const result = {
    file,
    name: shown,
    importer: chosen ? chosen[1] : null,
    format: chosen ? FORMATS[chosen[1]] || 'other' : null,
    warnings: log.filter(([k]) => k !== 'log').map(([, m]) => m),
    profiles: [],
  };
  if (!group) return result;
  for (const p of group.profiles) {
    result.profiles.push({
      name: p.getName(),
      unit: p.getWeightUnit(),
      totalWeight: p.getTotalWeight(),
      nonIdleWeight: p.getTotalNonIdleWeight(),
      stacks: stacksOf(p),
    });
  }
  return result;
}

async function main(argv) {
  const args = [];
  let expect = null;
  let name = null;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--expect') expect = argv[++i];
    else if (argv[i] === '--name') name = argv[++i];
    else args.push(argv[i]);
  }
  if (args.length !== 2 || (expect !== null && !['folded', 'trace-event'].includes(expect))) {
    process.stderr.write('usage: node speedscope.js SPEEDSCOPE_DIR FILE ' +
                         '[--expect folded|trace-event] [--name NAME]\n');
    return 2;
  }
  let result;
  try {
    loadImporter(args[0]);
  } catch (e) {
    process.stderr.write(`speedscope.js: ${e.message}\n`);
    return 2;
  }
  try {
    result = await importFile(args[0], args[1], name);
  } catch (e) {
    process.stderr.write(`speedscope.js: ${args[1]}: import failed: ${e.message}\n`);
    return 1;
  }
  process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
  if (result.profiles.length === 0) {
    process.stderr.write(`speedscope.js: ${args[1]}: not recognised by speedscope\n`);
    return 1;
  }
  if (expect !== null && result.format !== expect) {
    process.stderr.write(`speedscope.js: ${args[1]}: read as ${result.importer}, ` +
                         `expected ${expect}\n`);
    return 1;
  }
  return 0;
}

module.exports = { importFile, loadImporter };

if (require.main === module) {
  main(process.argv.slice(2)).then((rc) => { process.exitCode = rc; });
}
