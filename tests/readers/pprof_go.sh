#!/bin/sh
# pprof_go.sh SAMPLE_BIN VALIDATE_BIN WORKDIR: writes a profile with
# cflame-pprof-sample, checks it with cflame-validate --pprof, then reads it
# with `go tool pprof -raw` and compares Go's per-stack totals to the
# expected ones. Exit 77 (skipped) when `go` is not installed.
set -eu
sample=$1 validate=$2 dir=$3
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v go >/dev/null 2>&1; then
  echo "SKIP: go not found (Debian: apt-get install golang-go)"
  exit 77
fi
mkdir -p "$dir"
# go needs a writable HOME and build cache, which CI may not have.
export HOME="$dir" GOCACHE="$dir/gocache" LC_ALL=C
"$sample" "$dir/sample.pb" "$dir/expected.tsv"
"$validate" --pprof "$dir/sample.pb"
# -symbolize=none: by default pprof "demangles" names, dropping <...> parts
# as C++ template arguments, which would hide what the file holds.
go tool pprof -symbolize=none -raw "$dir/sample.pb" >"$dir/raw.txt"
awk -f "$here/pprof_raw.awk" "$dir/raw.txt" >"$dir/go.tsv"
awk -f "$here/totals.awk" "$dir/go.tsv" | sort >"$dir/go.totals"
# go tool pprof (1.19) leaves out samples without locations, as the sink
# writes time outside every span (the thread label alone): not expected.
awk -F '\t' 'index($1, ";")' "$dir/expected.tsv" |
  awk -f "$here/totals.awk" | sort >"$dir/expected.totals"
if ! diff -u "$dir/expected.totals" "$dir/go.totals"; then
  echo "FAIL: go tool pprof's per-stack totals differ (expected first)"
  exit 1
fi
if [ -n "${CFLAME_PPROF_TOP:-}" ]; then
  go tool pprof -symbolize=none -top "$dir/sample.pb" 2>&1 | head -14
fi
echo "ok: go tool pprof ($(go version | cut -d' ' -f3)) read" \
  "$(wc -l <"$dir/go.totals") stacks with the expected totals"
