# Shared helpers for the test scripts: counting, expectations on a serial log.
# Each expectation is one test; the runner prints "N passed, M failed".
PASSED=${PASSED:-0}
FAILED=${FAILED:-0}
FAILED_NAMES=${FAILED_NAMES:-}

pass() { PASSED=$((PASSED + 1)); echo "  ok   $1"; }
fail() {
	FAILED=$((FAILED + 1)); FAILED_NAMES="$FAILED_NAMES
  $1"; echo "  FAIL $1"
}

# expect NAME LOG PATTERN: the log has a line matching the extended regex.
expect() {
	if tr -d '\r' < "$2" | grep -Eq -- "$3"; then pass "$1"; else fail "$1 (no line matching /$3/)"; fi
}

# expect_not NAME LOG PATTERN: no line matches.
expect_not() {
	if tr -d '\r' < "$2" | grep -Eq -- "$3"; then
		fail "$1 (unexpected: $(tr -d '\r' < "$2" | grep -E -- "$3" | head -1))"
	else pass "$1"; fi
}

# expect_order NAME LOG PATTERN1 PATTERN2: a line matching PATTERN1 comes
# before a line matching PATTERN2.
expect_order() {
	a=$(tr -d '\r' < "$2" | grep -En -- "$3" | head -1 | cut -d: -f1)
	b=$(tr -d '\r' < "$2" | grep -En -- "$4" | tail -1 | cut -d: -f1)
	if [ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]; then pass "$1"; else fail "$1 (order of /$3/ and /$4/)"; fi
}

# guest_checks NAME LOG VMNAME: every "PASS:" line of a guest counts as a
# test; so does every "FAIL:" line, as a failure.
guest_checks() {
	p=$(tr -d '\r' < "$2" | grep -c "^\[$3\] PASS:" || true)
	f=$(tr -d '\r' < "$2" | grep -c "^\[$3\] FAIL:" || true)
	PASSED=$((PASSED + p))
	if [ "$f" -gt 0 ]; then
		tr -d '\r' < "$2" | grep "^\[$3\] FAIL:" | while read -r line; do echo "  FAIL $1: $line"; done
		FAILED=$((FAILED + f)); FAILED_NAMES="$FAILED_NAMES
  $1: $f guest checks failed"
	fi
	echo "  ok   $1: $p guest checks passed"
	if [ "$p" -eq 0 ]; then fail "$1: the guest reported no checks"; fi
}

# mkiso ISO ARGS...: build an ISO with scripts/mkiso.sh; a failure is a
# failed test (the boot that follows would only show an empty log).
mkiso() {
	if ! scripts/mkiso.sh "$@"; then fail "building $1"; fi
}

# summary: the runner's last lines, "N passed, M failed" (what CI prints),
# and the exit status: 0 only if nothing failed.
summary() {
	echo
	if [ "$FAILED" -gt 0 ]; then echo "failures:$FAILED_NAMES"; fi
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# virtio_guest_writes FILE: apply to the disk image FILE, in place, what the
# virtio test guest (tests/guests/virtio) writes to its disk: eight sectors
# (sector i * 2047 / 7 filled with byte (i + 1) * 17), WRITE_ZEROES of
# sectors 100-101 and DISCARD of sector 200 (both zero them). The result is
# what the disk must hold when the guest has finished.
virtio_guest_writes() {
	for i in 0 1 2 3 4 5 6 7; do
		sec=$((i * 2047 / 7)); byte=$(((i + 1) * 17))
		head -c 512 /dev/zero | tr '\0' "$(printf "\\$(printf '%03o' $byte)")" |
			dd of="$1" bs=512 seek=$sec conv=notrunc status=none
	done
	dd if=/dev/zero of="$1" bs=512 seek=100 count=2 conv=notrunc status=none
	dd if=/dev/zero of="$1" bs=512 seek=200 count=1 conv=notrunc status=none
}
