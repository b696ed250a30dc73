#!/bin/sh
# callgrind.sh: instructions per span pair, counted by valgrind's callgrind.
#
# Usage:
#   tests/bench/callgrind.sh [BENCH_BINARY] [N]
#
#   BENCH_BINARY  a built cflame-bench; if omitted (or "-"), the script
#                 configures and builds one in $BUILD_DIR (default
#                 /tmp/cflame-bench-callgrind) with CMAKE_BUILD_TYPE
#                 $BUILD_TYPE (default Release).
#   N             iterations of the 3-nested-span loop (default 200000).
#
# Environment:
#   CASES     cases to count (default: "empty rdtsc gettime off nosink
#             filtered aggregate stream fields fields_frame registry")
#   KEEP_DIR  keep the callgrind.out files there (default: a temp dir that
#             is removed); annotate them with
#             callgrind_annotate --auto=yes KEEP_DIR/aggregate.2N.out
#   ANNOTATE  if 1, print the top of callgrind_annotate for the 2N run of
#             the aggregate and stream cases
#
# For each case it runs `cflame-bench --callgrind-case CASE N` and the same
# with 2N under `valgrind --tool=callgrind`, and prints
#   instructions per span pair = (Ir(2N) - Ir(N)) / (3 N)
# (one loop iteration is 3 span pairs), which cancels start-up, warm-up and
# teardown. The registry case does one new+enter+exit+close set per
# iteration, so its figure is per set: (Ir(2N) - Ir(N)) / N. The baselines (empty loop, two rdtsc reads, two clock_gettime
# calls per pair) are counted the same way. Under valgrind cflame may pick
# another clock than natively (its invariant-TSC check reads CPUID, which
# valgrind emulates): the clock cflame used is printed for every case.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
bench=${1:--}
n=${2:-200000}
cases=${CASES:-"empty rdtsc gettime off nosink filtered aggregate siblings stream fields fields_frame registry"}

case $n in
'' | *[!0-9]*)
  echo "callgrind.sh: N must be a positive integer" >&2
  exit 2
  ;;
esac
command -v valgrind >/dev/null 2>&1 || {
  echo "callgrind.sh: valgrind not found" >&2
  exit 2
}

if [ "$bench" = "-" ]; then
  build=${BUILD_DIR:-/tmp/cflame-bench-callgrind}
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" \
    -DCFLAME_BUILD_TESTS=OFF -DCFLAME_BUILD_EXAMPLES=OFF \
    -DCFLAME_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" --target cflame-bench -j2 >/dev/null
  bench=$build/tests/bench/cflame-bench
fi
[ -x "$bench" ] || {
  echo "callgrind.sh: $bench is not an executable" >&2
  exit 2
}

if [ -n "${KEEP_DIR:-}" ]; then
  out=$KEEP_DIR
  mkdir -p "$out"
else
  out=$(mktemp -d "${TMPDIR:-/tmp}/cflame-callgrind.XXXXXX")
  trap 'rm -rf "$out"' EXIT INT TERM
fi

# Total Ir of a callgrind output file: its "summary:" line (or "totals:").
total_ir() {
  awk '/^summary:/ { print $2; found = 1; exit }
       /^totals:/ { t = $2 }
       END { if (!found && t != "") print t }' "$1"
}

run_one() { # case iterations -> prints Ir; stdout of the bench to $out/case.N.txt
  valgrind --tool=callgrind --callgrind-out-file="$out/$1.$2.out" \
    "$bench" --callgrind-case "$1" "$2" >"$out/$1.$2.txt" 2>"$out/$1.$2.log" || {
    echo "callgrind.sh: valgrind run of case $1 failed; see below" >&2
    cat "$out/$1.$2.log" >&2
    exit 1
  }
  total_ir "$out/$1.$2.out"
}

n2=$((2 * n))
echo "binary: $bench"
echo "N = $n iterations (x3 span pairs); instructions per pair = (Ir(2N) - Ir(N)) / (3N)"
echo "(registry: per new+enter+exit+close set = (Ir(2N) - Ir(N)) / N)"
echo "valgrind: $(valgrind --version)"
printf '%-13s %-10s %14s %14s %12s\n' case clock "Ir(N)" "Ir(2N)" "Ir/pair"
for c in $cases; do
  ir1=$(run_one "$c" "$n")
  ir2=$(run_one "$c" "$n2")
  clock=$(sed -n 's/.*clock=\([a-z]*\).*/\1/p' "$out/$c.$n2.txt")
  units=$(sed -n 's/.*units=\([0-9]*\).*/\1/p' "$out/$c.$n2.txt")
  per=$(awk -v a="$ir1" -v b="$ir2" -v n="$n" -v u="${units:-3}" \
    'BEGIN { printf "%.2f", (b - a) / (u * n) }')
  [ "${units:-3}" = 3 ] || per="$per/set"
  printf '%-13s %-10s %14s %14s %12s\n' "$c" "${clock:-?}" "$ir1" "$ir2" "$per"
done

if [ "${ANNOTATE:-0}" = 1 ] && command -v callgrind_annotate >/dev/null 2>&1; then
  for c in aggregate stream; do
    [ -f "$out/$c.$n2.out" ] || continue
    echo
    echo "== callgrind_annotate $c ($n2 iterations), top functions =="
    callgrind_annotate "$out/$c.$n2.out" 2>/dev/null | sed -n '1,40p'
  done
fi
if [ -n "${KEEP_DIR:-}" ]; then
  echo "callgrind outputs kept in $out"
fi
