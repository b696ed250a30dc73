#!/usr/bin/env python3
"""Checks the source tree's layers (DESIGN.md): no dependency cycle between
library files, by #include and by symbol reference, no core file that
includes, calls or names a sink, and no source file above 450 lines.

  tests/layers.py SRC_DIR OBJ_DIR

SRC_DIR is src/; OBJ_DIR holds the library's object files (any depth), as
CMake builds them (name.c.o). Exits 1 with the cycle or the violation."""
import os
import re
import subprocess
import sys

src, obj = sys.argv[1], sys.argv[2]
files = {}
for root, _, names in os.walk(src):
    for n in names:
        if n.endswith(('.c', '.h')):
            files[n] = os.path.join(root, n)
layer = {n: os.path.basename(os.path.dirname(p)) for n, p in files.items()}
problems = []

# Include edges between files of the library (headers and sources).
inc = {}
for n, p in files.items():
    text = open(p, encoding='utf-8').read()
    inc[n] = {m for m in re.findall(r'#include "([^"/]+)"', text) if m in files}

# Symbol edges between object files: who uses what another defines.
defs, uses = {}, {}
for root, _, names in os.walk(obj):
    for n in names:
        if not n.endswith('.c.o'):
            continue
        c = n[:-2]
        if c not in files:
            continue
        out = subprocess.run(['nm', os.path.join(root, n)], capture_output=True,
                             text=True, check=True).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in 'TDBRCV':
                defs[parts[2]] = c
            elif len(parts) == 2 and parts[0] == 'U':
                uses.setdefault(c, set()).add(parts[1])
sym = {c: {defs[s] for s in us if s in defs and defs[s] != c}
       for c, us in uses.items()}
if len(sym) < 10:
    problems.append('found only %d object files under %s' % (len(sym), obj))


def cycles(graph, what):
    state = {}

    def visit(n, path):
        state[n] = 1
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                problems.append('%s cycle: %s' % (
                    what, ' -> '.join(path[path.index(m):] + [m])))
            elif m not in state:
                visit(m, path + [m])
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])


cycles(inc, 'include')
cycles(sym, 'symbol')

# The core never reaches a sink; support reaches neither.
below = {'support': {'core', 'sinks', 'src'}, 'core': {'sinks', 'src'},
         'sinks': {'src'}}
for graph, what in ((inc, 'includes'), (sym, 'calls into')):
    for a, bs in graph.items():
        for b in bs:
            if layer.get(b) in below.get(layer.get(a), ()):
                problems.append('%s/%s %s %s/%s' % (layer[a], a, what,
                                                    layer[b], b))
# No source file above about 450 lines (DESIGN.md).
for n, p in files.items():
    lines = sum(1 for _ in open(p, encoding='utf-8'))
    if n.endswith('.c') and lines > 450:
        problems.append('%s has %d lines (at most about 450)' % (n, lines))
for p in problems:
    print('layers: ' + p)
if problems:
    sys.exit(1)
print('layers: %d files, %d symbol edges, no cycle, core never names a sink'
      % (len(files), sum(len(v) for v in sym.values())))
