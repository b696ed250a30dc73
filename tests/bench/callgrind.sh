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
#             filtered aggregate siblings stream fields fields_frame registry
#             realistic")
#   REALISTIC the cflame-bench-realistic binary for case realistic
#             (default: beside BENCH_BINARY)
#   RN        rounds of the realistic case (default 2; 2RN are run too)
#   KEEP_DIR  keep the callgrind.out files there (default: a temp dir that
#             is removed); annotate them with
#             callgrind_annotate --auto=yes KEEP_DIR/aggregate.2N.out
#   ANNOTATE  if 1, print the top of callgrind_annotate for the 2N run of
#             the aggregate and stream cases
#
# cflame-bench-instr (auto-instrumentation) takes the same script:
#   CASES="empty rdtsc nosink excluded instr four callback" \
#     sh tests/bench/callgrind.sh build-rel/tests/bench/cflame-bench-instr
# Its cases print units=1, so each figure is per instrumented call (enter
# and exit hooks and the call itself), shown as "/set".
#
# For each case it runs `cflame-bench --callgrind-case CASE N` and the same
# with 2N under `valgrind --tool=callgrind`, and prints
#   instructions per span pair = (Ir(2N) - Ir(N)) / (3 N)
# (one loop iteration is 3 span pairs), which cancels start-up, warm-up and
# teardown. The registry case does one new+enter+exit+close set per
# iteration, so its figure is per set: (Ir(2N) - Ir(N)) / N. The realistic
# case (an interpreter, tests/bench/interp_*.c) runs RN and 2RN rounds of one
# program instrumented and compiled out, and prints the instructions cflame
# adds per span pair, ((on(2RN) - on(RN)) - (off(2RN) - off(RN))) / pairs,
# with pairs entered in those RN rounds as its own counting sink reports
# them, and the slow enters among them (the miss rate); then its ratio to
# the aggregate case (a chain of 3 nested spans), and what the instrumented
# build adds per pair with no sink ever installed (case realistic_nosink).
# For aggregate, siblings and realistic it also prints the instructions
# inside cflame_scope_enter and cflame_scope_exit per pair (callees
# included, from callgrind_annotate --inclusive): cflame's own work, apart
# from what the macros cost the calling code (calls, a token kept live, and
# in the realistic program functions the compiled-out build inlines).
# The baselines (empty loop, two rdtsc reads, two clock_gettime
# calls per pair) are counted the same way. Under valgrind cflame may pick
# another clock than natively (its invariant-TSC check reads CPUID, which
# valgrind emulates): the clock cflame used is printed for every case.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
bench=${1:--}
n=${2:-200000}
cases=${CASES:-"empty rdtsc gettime off nosink filtered aggregate siblings stream compensate fields fields_frame registry realistic"}
rn=${RN:-2}

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
  cmake --build "$build" --target cflame-bench cflame-bench-realistic -j2 >/dev/null
  bench=$build/tests/bench/cflame-bench
fi
realistic=${REALISTIC:-$(dirname "$bench")/cflame-bench-realistic}
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

# Ir inside cflame_scope_enter and cflame_scope_exit, callees included (the
# out-of-line routes they jump to), from a callgrind output file: what cflame
# itself executes, without the caller's side of the macros.
inside_ir() {
  command -v callgrind_annotate >/dev/null 2>&1 || return 0
  callgrind_annotate --inclusive=yes "$1" 2>/dev/null | awk '
    /:cflame_scope_enter( |$)/ || /:cflame_scope_exit( |$)/ {
      v = $1; gsub(",", "", v); t += v }
    END { print t + 0 }'
}

run_one() { # case iterations [binary] -> prints Ir; its stdout to $out/case.N.txt
  valgrind --tool=callgrind --callgrind-out-file="$out/$1.$2.out" \
    "${3:-$bench}" --callgrind-case "$1" "$2" >"$out/$1.$2.txt" 2>"$out/$1.$2.log" || {
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
agg_per=
agg_inside=
field() { # name file -> the value of name=... in file
  sed -n "s/.*$1=\([0-9a-z]*\).*/\1/p" "$2"
}
realistic_row() {
  [ -x "$realistic" ] || {
    echo "callgrind.sh: $realistic is not an executable (set REALISTIC)" >&2
    exit 2
  }
  rn2=$((2 * rn))
  on1=$(run_one realistic "$rn" "$realistic")
  on2=$(run_one realistic "$rn2" "$realistic")
  off1=$(run_one realistic_off "$rn" "$realistic")
  off2=$(run_one realistic_off "$rn2" "$realistic")
  ns1=$(run_one realistic_nosink "$rn" "$realistic")
  ns2=$(run_one realistic_nosink "$rn2" "$realistic")
  p1=$(field pairs "$out/realistic.$rn.txt")
  p2=$(field pairs "$out/realistic.$rn2.txt")
  s1=$(field slow "$out/realistic.$rn.txt")
  s2=$(field slow "$out/realistic.$rn2.txt")
  clock=$(field clock "$out/realistic.$rn2.txt")
  per=$(awk -v a="$on1" -v b="$on2" -v c="$off1" -v d="$off2" -v p="$p1" \
    -v q="$p2" 'BEGIN { if (q > p) printf "%.2f", ((b - a) - (d - c)) / (q - p); else print "-" }')
  printf '%-13s %-10s %14s %14s %12s
' realistic "${clock:-?}" "$on1" "$on2" "$per"
  awk -v p="$p1" -v q="$p2" -v s="$s1" -v t="$s2" -v per="$per" -v agg="$agg_per" \
    -v rn="$rn" -v c="$off1" -v d="$off2" -v e="$ns1" -v f="$ns2" 'BEGIN {
      printf "  realistic: %d span pairs per %d rounds; Ir/pair is what cflame adds over the compiled-out build\n", q - p, rn
      if (q > p) printf "  realistic, compiled in, no sink installed: %.2f instructions added per pair\n", ((f - e) - (d - c)) / (q - p)
      if (q > p) printf "  realistic: slow enters %d of %d = %.3f %% (warm rounds)\n", t - s, q - p, 100 * (t - s) / (q - p)
      if (agg != "" && per != "-") printf "  realistic / aggregate (3-nested chain): %.2f / %.2f = %.2fx\n", per, agg, per / agg
    }'
  i1=$(inside_ir "$out/realistic.$rn.out")
  i2=$(inside_ir "$out/realistic.$rn2.out")
  awk -v a="$i1" -v b="$i2" -v p="$p1" -v q="$p2" -v agg="$agg_inside" 'BEGIN {
      if (q <= p || b <= a) exit
      r = (b - a) / (q - p)
      printf "  realistic, inside cflame_scope_enter/exit per pair: %.2f", r
      if (agg != "") printf " (aggregate chain: %.2f; %.2fx)", agg, r / agg
      printf "\n"
    }'
}
for c in $cases; do
  if [ "$c" = realistic ]; then
    realistic_row
    continue
  fi
  ir1=$(run_one "$c" "$n")
  ir2=$(run_one "$c" "$n2")
  clock=$(sed -n 's/.*clock=\([a-z]*\).*/\1/p' "$out/$c.$n2.txt")
  units=$(sed -n 's/.*units=\([0-9]*\).*/\1/p' "$out/$c.$n2.txt")
  per=$(awk -v a="$ir1" -v b="$ir2" -v n="$n" -v u="${units:-3}" \
    'BEGIN { printf "%.2f", (b - a) / (u * n) }')
  [ "${units:-3}" = 3 ] || per="$per/set"
  printf '%-13s %-10s %14s %14s %12s\n' "$c" "${clock:-?}" "$ir1" "$ir2" "$per"
  [ "$c" != aggregate ] || agg_per=$per
  case $c in
  aggregate | siblings)
    i1=$(inside_ir "$out/$c.$n.out")
    i2=$(inside_ir "$out/$c.$n2.out")
    inside=$(awk -v a="$i1" -v b="$i2" -v n="$n" \
      'BEGIN { if (b > a) printf "%.2f", (b - a) / (3 * n) }')
    [ -z "$inside" ] || echo "  $c, inside cflame_scope_enter/exit per pair: $inside"
    [ "$c" != aggregate ] || agg_inside=$inside
    ;;
  esac
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
