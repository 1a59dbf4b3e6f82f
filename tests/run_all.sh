#!/bin/sh
# The whole test suite (make test): host unit tests, then the hypervisor
# booted in Bochs with VT-x for each scenario, then in QEMU without VT-x.
# Ends with "N passed, M failed"; exits non-zero if anything failed.
set -u
cd "$(dirname "$0")/.."
. tests/lib/harness.sh
. tests/linux/lib.sh
B=build
T=$B/test
mkdir -p $T

echo "== host unit tests (cmocka, ASan, UBSan)"
if tests/run_unit.sh $B/unit/test_* > $T/unit.log 2>&1; then :; fi
cat $T/unit.log | grep -E "^\[  (FAILED|PASSED)|^unit:|ERROR|runtime error|AddressSanitizer" | head -40
line=$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed' $T/unit.log | tail -1)
if [ -n "$line" ]; then
	up=$(echo "$line" | sed 's/unit: \([0-9]*\) passed.*/\1/')
	uf=$(echo "$line" | sed 's/.* \([0-9]*\) failed.*/\1/')
	PASSED=$((PASSED + up)); FAILED=$((FAILED + uf))
	[ "$uf" -eq 0 ] || FAILED_NAMES="$FAILED_NAMES
  unit tests: $uf failed (see $T/unit.log)"
else
	fail "unit tests did not report a summary (see $T/unit.log)"
fi

echo "== fuzz smoke runs (decoder and page walk; virtio-blk request path; libFuzzer, 10 s each)"
if make -s fuzz-smoke > $T/fuzz.log 2>&1; then
	for n in $(grep -Eo 'stat::number_of_executed_units: *[0-9]+' $T/fuzz.log | grep -Eo '[0-9]+$'); do
		pass "fuzz smoke: no crash in $n inputs"
	done
	grep -q 'stat::number_of_executed_units' $T/fuzz.log || fail "fuzz smoke: no run reported (see $T/fuzz.log)"
else
	fail "fuzz smoke: crash or sanitizer report (see $T/fuzz.log and build/fuzz/)"
fi

echo "== build"
if grub-file --is-x86-multiboot2 $B/hv.elf; then pass "hv.elf is a Multiboot2 kernel"; else fail "hv.elf is a Multiboot2 kernel"; fi

for t in tests/scenarios/*.sh; do
	name=$(basename "$t" .sh)
	echo "== scenario $name"
	. "$t"
done

summary
