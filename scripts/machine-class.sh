#!/bin/sh
# machine-class.sh RESULTS-FILE
#
# Prints the machine class of a results file: its cpu model and kernel set
# (the `cpu:` and `kernels:` config lines, docs/design.md §5) as one lower-case
# slug, e.g. "intel-xeon-processor-2-10ghz-avx512". Baselines are kept per
# class in results/baseline-<class>.txt.
#
# The class is read from a sweep's own output rather than from the machine,
# so it names exactly what `attnbench gate` checks (cpu and kernels must
# match for a comparison) and works wherever the sweep ran.
set -eu

file=${1:-}
if [ -z "$file" ] || [ ! -r "$file" ]; then
	echo "machine-class.sh: usage: machine-class.sh RESULTS-FILE (got '${file}')" >&2
	exit 2
fi
cpu=$(sed -n 's/^cpu:[[:space:]]*//p' "$file" | head -n 1)
kernels=$(sed -n 's/^kernels:[[:space:]]*//p' "$file" | head -n 1)
if [ -z "$cpu" ] || [ -z "$kernels" ]; then
	echo "machine-class.sh: $file has no 'cpu:' or no 'kernels:' line; is it attnbench sweep output?" >&2
	exit 2
fi
# Drop trademark marks, then turn every run of other characters into "-".
printf '%s %s\n' "$cpu" "$kernels" |
	tr '[:upper:]' '[:lower:]' |
	sed -e 's/([a-z]*)//g' -e 's/[^a-z0-9][^a-z0-9]*/-/g' -e 's/^-//' -e 's/-$//'
