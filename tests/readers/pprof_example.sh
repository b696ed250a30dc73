#!/bin/sh
# pprof_example.sh PROFILE EXPECTED: stands in for cflame-pprof-sample in
# pprof_go.sh / pprof_node.sh, so that the real readers read a profile the
# pprof SINK wrote. Runs the example $CFLAME_PPROF_EXAMPLE (pprof and folded
# output of one run), checks the folded file, checks that the profile's wall
# per stack equals the folded one, and writes what cflame's own decoder
# finds in the profile as EXPECTED ("stack<TAB>calls<TAB>wall" lines).
set -eu
pb=$1 expected=$2
: "${CFLAME_PPROF_EXAMPLE:?}" "${CFLAME_VALIDATE:?}"
rm -f "$pb" "$pb.folded"
"$CFLAME_PPROF_EXAMPLE" "$pb" "$pb.folded" >/dev/null
"$CFLAME_VALIDATE" --sorted "$pb.folded" >/dev/null
# The example runs on the real clock, and its two sinks are dropped a moment
# apart, each converting ticks at the rate known then: equal within 1e-3.
"$CFLAME_VALIDATE" --pprof-folded-near "$pb.folded" "$pb"
"$CFLAME_VALIDATE" --pprof-stacks "$pb" >"$expected"
test -s "$expected"
