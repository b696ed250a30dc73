#!/bin/sh
# Builds the libFuzzer harnesses with clang and runs each one for a while.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET]     (default 30)
#
# Environment: BUILD (build dir, default build-fuzz), CC_FUZZ (default clang),
# FUZZ_ARGS (extra libFuzzer flags). Every target runs on a copy of its seed
# corpus inside the build dir, so the repository stays clean; crash inputs
# land in $BUILD/artifacts/<target>/. Exits 1 if any target found something.
set -u

secs=${1:-30}
case $secs in
'' | *[!0-9]*)
  echo "usage: $0 [SECONDS_PER_TARGET]" >&2
  exit 2
  ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD:-build-fuzz}
cc=${CC_FUZZ:-clang}

mkdir -p "$build"
cmake -S "$repo" -B "$build" -DCFLAME_BUILD_FUZZERS=ON \
  -DCMAKE_C_COMPILER="$cc" -DCFLAME_BUILD_TESTS=OFF \
  -DCFLAME_BUILD_EXAMPLES=OFF -DCFLAME_BUILD_BENCH=OFF \
  >"$build/configure.log" 2>&1 || {
  cat "$build/configure.log" >&2
  echo "run.sh: configure failed" >&2
  exit 2
}
jobs=$(nproc 2>/dev/null || echo 2)
cmake --build "$build" --target fuzz_sanitize fuzz_folded fuzz_filter \
  fuzz_fields fuzz_json fuzz_timeline -j "$jobs" || {
  echo "run.sh: build failed (CFLAME_BUILD_FUZZERS needs clang and" \
    "libFuzzer, e.g. Debian's libclang-rt-14-dev)" >&2
  exit 2
}
build=$(cd "$build" && pwd)

status=0
summary=""
for target in sanitize folded filter fields json timeline; do
  bin="$build/tests/fuzz/fuzz_$target"
  corpus="$build/fuzz-corpus/$target"
  artifacts="$build/artifacts/$target/"
  log="$build/fuzz_$target.log"
  rm -rf "$corpus"
  mkdir -p "$corpus" "$artifacts"
  cp "$here/corpus/$target/"* "$corpus/"

  # The library never frees a dropped guard (by design), so every folded
  # input allocates more than it frees and libFuzzer would rerun each one
  # under a full leak scan: 3-4x slower. LeakSanitizer still checks once
  # when the run ends.
  flags=""
  [ "$target" = folded ] && flags="-detect_leaks=0"

  echo "== fuzz_$target: ${secs}s (log: $log)"
  # -timeout: one input must never take seconds; the harnesses bound their
  # own work. -print_final_stats gives the execution count parsed below.
  # shellcheck disable=SC2086 # flags and FUZZ_ARGS are lists of flags
  "$bin" -max_total_time="$secs" -max_len=4096 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts" $flags ${FUZZ_ARGS:-} \
    "$corpus" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  # A crash ends the run before the final stats: take the last progress line.
  [ -n "$execs" ] ||
    execs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
  if [ "$rc" -eq 0 ]; then
    result="nothing found"
  else
    result="FOUND SOMETHING (exit $rc)"
    status=1
    # The report: the sanitizer's or the harness's message and its stack.
    grep -E -m 1 -A 40 'ERROR|runtime error|^fuzz_[a-z]*:' \
      "$log" | head -n 60 >&2
    ls "$artifacts" >&2
  fi
  line="fuzz_$target: ${execs:-?} executions (limit ${secs}s), $result"
  echo "$line"
  summary="$summary$line
"
done

echo "== summary"
printf '%s' "$summary"
exit $status
