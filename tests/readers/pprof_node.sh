#!/bin/sh
# pprof_node.sh SAMPLE_BIN WORKDIR: writes a profile with
# cflame-pprof-sample and decodes it with npm pprof-format under Node
# (installed into WORKDIR at the first run), comparing per-stack totals.
# Exit 77 (skipped) when node or npm is missing or the install fails.
set -eu
sample=$1 dir=$2
here=$(cd "$(dirname "$0")" && pwd)
version=2.3.2
for cmd in node npm; do
  if ! command -v $cmd >/dev/null 2>&1; then
    echo "SKIP: $cmd not found (Debian: apt-get install nodejs npm)"
    exit 77
  fi
done
mkdir -p "$dir"
if [ ! -f "$dir/node_modules/pprof-format/package.json" ]; then
  if ! HOME="$dir" npm install --prefix "$dir" --no-audit --no-fund \
    --no-save "pprof-format@$version" >"$dir/npm.log" 2>&1; then
    cat "$dir/npm.log"
    echo "SKIP: npm install pprof-format@$version failed (offline?)"
    exit 77
  fi
fi
"$sample" "$dir/sample.pb" "$dir/expected.tsv"
node "$here/pprof_decode.js" "$dir" "$dir/sample.pb" "$dir/expected.tsv" \
  >"$dir/totals.json"
head -c 300 "$dir/totals.json"
echo
