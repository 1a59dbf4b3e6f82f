#!/usr/bin/env bash
# Run host unit-test binaries (cmocka) and total their test cases.
#   tests/run_unit.sh build/unit/test_a build/unit/test_b ...
# Each binary prints its own cmocka report. At the end one line
#   unit: N passed, M failed
# counts individual test cases. A binary that dies before cmocka's summary
# (a sanitizer report, a signal) counts the cases it finished and one failed
# case, and is named.
# Exits non-zero if any case failed or any binary crashed.
set -u

if [ $# -eq 0 ]; then
	echo "usage: $0 TEST_BINARY..." >&2
	exit 2
fi

log=$(mktemp "${TMPDIR:-/tmp}/run_unit.XXXXXX")
trap 'rm -f "$log"' EXIT

passed=0
failed=0
crashed=()

for bin in "$@"; do
	if [ ! -x "$bin" ]; then
		echo "run_unit: $bin: not an executable test binary" >&2
		failed=$((failed + 1))
		crashed+=("$bin (missing)")
		continue
	fi
	# cmocka prints the PASSED/FAILED summary on stderr, the rest on stdout:
	# read both, in the standard format whatever the environment says.
	CMOCKA_MESSAGE_OUTPUT=STDOUT "$bin" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}

	# Not anchored: with stdout buffered and stderr not, a summary line may
	# land in the middle of another.
	p=$(sed -n 's/.*\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$log" | tail -n 1)
	f=$(sed -n 's/.*\[  FAILED  \] \([0-9][0-9]*\) test(s).*/\1/p' "$log" | tail -n 1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))

	# cmocka exits with the number of failed tests; anything else (no
	# summary, a signal, a non-zero status with nothing failed) is a crash.
	if ! grep -q '\[==========\] [0-9][0-9]* test(s) run\.' "$log" || [ "$rc" -ge 128 ] ||
	   { [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; }; then
		running=$(sed -n 's/^\[ RUN      \] //p' "$log" | tail -n 1)
		# No summary to read: count the cases that finished before it died.
		if [ -z "$p" ]; then
			passed=$((passed + $(grep -c '^\[       OK \] ' "$log")))
		fi
		failed=$((failed + 1))
		crashed+=("$bin (exit status $rc${running:+, during $running})")
	fi
done

for c in ${crashed[@]+"${crashed[@]}"}; do
	echo "unit: crashed: $c"
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#crashed[@]} -eq 0 ]
