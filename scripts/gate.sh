#!/bin/sh
# gate.sh: the recipes behind Makefile.gate (run them through make).
#
#   gate.sh ab REF     build attnbench at git REF and at the working tree, run
#                      the short sweep with both, interleaved, and gate NEW
#                      (working tree) against BASE (REF)
#   gate.sh baseline   run the short sweep with the working tree and gate it
#                      against results/baseline-<machine class>.txt
#   gate.sh refresh    (re)write results/baseline-<machine class>.txt
#
# Settings come from the environment (Makefile.gate passes its variables):
#   GO                       go command                        (go)
#   GATE_ROUNDS              samples per side                  (10)
#   GATE_SWEEP               the sweep's flags, without -count and -o
#   GATE_THRESHOLD           A/B threshold                     (5%)
#   GATE_BASELINE_THRESHOLD  threshold against a baseline      (10%)
#   GATE_ALPHA               significance level                (0.05)
#   GATE_UNITS               units gated                       (sec/op,peak-B/op)
#   GATE_OUT                 where results files are kept      ($TMPDIR/attnbench-gate)
#
# Why interleaved: on a shared machine the speed drifts (other jobs, thermal
# state, frequency). Running BASE and NEW alternately, one sample each per
# round, spreads the drift over both sides instead of charging it to one.
# Rounds alternate the order (A B, B A, A B, ...) so that neither binary is
# always the one that runs right after the other.
set -eu

GO=${GO:-go}
GATE_ROUNDS=${GATE_ROUNDS:-10}
GATE_SWEEP=${GATE_SWEEP:--variants full,flash -n 256,512 -d 64 -benchtime 20x -pattern-n 0}
GATE_THRESHOLD=${GATE_THRESHOLD:-5%}
GATE_BASELINE_THRESHOLD=${GATE_BASELINE_THRESHOLD:-10%}
GATE_ALPHA=${GATE_ALPHA:-0.05}
GATE_UNITS=${GATE_UNITS:-sec/op,peak-B/op}
GATE_OUT=${GATE_OUT:-${TMPDIR:-/tmp}/attnbench-gate}
# Both sides are built by the same, installed compiler: the A/B measures the
# code, not a toolchain that go.mod at REF might ask to download.
GOTOOLCHAIN=${GOTOOLCHAIN:-local}
export GOTOOLCHAIN

die() {
	echo "gate: $*" >&2
	exit 2
}

usage() {
	die "usage: gate.sh ab REF | baseline | refresh"
}

root=$(git rev-parse --show-toplevel 2>/dev/null) || die "not inside a git repository"
cd "$root"

case "$GATE_ROUNDS" in
'' | *[!0-9]*) die "GATE_ROUNDS=$GATE_ROUNDS: want a whole number of rounds (10 or more)" ;;
esac
if [ "$GATE_ROUNDS" -lt 4 ]; then
	die "GATE_ROUNDS=$GATE_ROUNDS: the U test needs at least 4 samples a side to ever reach p < 0.05; use 10 or more"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/attnbench-gate-work.XXXXXX")
cleanup() {
	if [ -d "$work/base-src" ]; then
		git worktree remove --force "$work/base-src" >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$GATE_OUT"
log="$GATE_OUT/sweep.log"
: >"$log"

# build DIR OUTPUT LABEL: go build ./cmd/attnbench in DIR.
build() {
	echo "gate: building attnbench ($3)" >&2
	(cd "$1" && "$GO" build -o "$2" ./cmd/attnbench) || die "building attnbench ($3) failed"
	"$2" sweep -h >/dev/null 2>&1 || die "attnbench ($3) has no working 'sweep' command; nothing to measure with"
}

# sweep BINARY OUTPUT COUNT: one run of the short sweep, appended to OUTPUT.
sweep() {
	# shellcheck disable=SC2086 # GATE_SWEEP is a list of flags
	if ! "$1" sweep $GATE_SWEEP -count "$3" -o "$work/round.txt" 2>>"$log"; then
		tail -n 20 "$log" >&2
		die "sweep failed ($1); full log: $log"
	fi
	cat "$work/round.txt" >>"$2"
	rm -f "$work/round.txt"
}

# machine_class FILE: the class baselines are filed under.
machine_class() {
	sh "$root/scripts/machine-class.sh" "$1"
}

gate_ab() {
	ref=$1
	rev=$(git rev-parse --verify --quiet "$ref^{commit}") || die "BASE=$ref: not a commit in this repository (fetch it first; CI needs full history)"
	git worktree add --detach --quiet "$work/base-src" "$rev" || die "git worktree add for $ref failed"
	build "$work/base-src" "$work/attnbench-base" "BASE $ref = $(git rev-parse --short "$rev")"
	build "$root" "$work/attnbench-new" "NEW: working tree"

	base="$GATE_OUT/base.txt"
	new="$GATE_OUT/new.txt"
	: >"$base"
	: >"$new"
	i=1
	while [ "$i" -le "$GATE_ROUNDS" ]; do
		echo "gate: round $i/$GATE_ROUNDS" >&2
		if [ $((i % 2)) -eq 1 ]; then
			sweep "$work/attnbench-base" "$base" 1
			sweep "$work/attnbench-new" "$new" 1
		else
			sweep "$work/attnbench-new" "$new" 1
			sweep "$work/attnbench-base" "$base" 1
		fi
		i=$((i + 1))
	done
	echo "gate: results in $base and $new" >&2
	"$work/attnbench-new" gate "$base" "$new" -threshold "$GATE_THRESHOLD" -alpha "$GATE_ALPHA" -units "$GATE_UNITS" || rc=$?
}

gate_baseline() {
	build "$root" "$work/attnbench-new" "working tree"
	new="$GATE_OUT/new.txt"
	: >"$new"
	sweep "$work/attnbench-new" "$new" "$GATE_ROUNDS"
	class=$(machine_class "$new") || exit 2
	baseline="results/baseline-$class.txt"
	if [ ! -f "$baseline" ]; then
		have=$(ls results/baseline-*.txt 2>/dev/null | tr '\n' ' ')
		die "no baseline for machine class '$class' ($baseline; have: ${have:-none}); create it with 'make gate-baseline-refresh' on this machine and commit it"
	fi
	echo "gate: comparing with $baseline; results in $new" >&2
	"$work/attnbench-new" gate "$baseline" "$new" -threshold "$GATE_BASELINE_THRESHOLD" -alpha "$GATE_ALPHA" -units "$GATE_UNITS" || rc=$?
}

gate_refresh() {
	build "$root" "$work/attnbench-new" "working tree"
	fresh="$work/baseline.txt"
	: >"$fresh"
	sweep "$work/attnbench-new" "$fresh" "$GATE_ROUNDS"
	class=$(machine_class "$fresh") || exit 2
	mkdir -p results
	cp "$fresh" "results/baseline-$class.txt"
	echo "gate: wrote results/baseline-$class.txt ($GATE_ROUNDS samples per benchmark); review it and commit it" >&2
}

# rc is the gate's exit status: 0 pass, 1 regression, 2 bad input. Every
# other failure exits 2 on the spot (die, set -e).
rc=0
[ $# -ge 1 ] || usage
mode=$1
shift
case "$mode" in
ab)
	[ $# -eq 1 ] && [ -n "$1" ] || usage
	gate_ab "$1"
	;;
baseline) gate_baseline ;;
refresh) gate_refresh ;;
*) usage ;;
esac
exit "$rc"
