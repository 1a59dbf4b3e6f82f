#!/bin/sh
# qemu-check.sh OUTDIR: the Linux test's guest assets (prepare.sh OUTDIR)
# checked in QEMU (TCG), without the hypervisor: the same kernel, initramfs
# and disk, a virtio-blk-pci disk at 00:02.0, COM1 as ttyS0, the same two
# boots. Passes when every guest check passes, the guest rebooted once,
# and the guest's last checksum of its disk equals the host's of the disk
# file QEMU leaves behind (which must also hold the new file, and be a
# clean ext4). Prints "N passed, M failed"; exit status 0 when all passed.
# Also sourced by tests/scenarios/55-qemu-linux-assets.sh, with
# LINUX_QEMU_CHECK_LIB=1: then it only defines linux_qemu_check.

# linux_qemu_check OUTDIR: boot, then the checks (counted by the harness).
linux_qemu_check() {
	lt_d=$1
	lt_log=$lt_d/qemu.serial
	cp "$lt_d/disk.img" "$lt_d/qemu-disk.img"
	lt_t0=$(date +%s)
	# No -no-reboot: the guest reboots once (QEMU resets, reloads the
	# kernel and initramfs, keeps the disk), then powers off (ACPI S5).
	lt_status=0
	timeout "${LINUX_QEMU_TIMEOUT:-300}" qemu-system-x86_64 -machine pc -accel tcg -m 192 \
		-nodefaults -display none -serial "file:$lt_log" \
		-kernel "$lt_d/vmlinuz" -initrd "$lt_d/initrd.img" \
		-append "console=ttyS0 linuxtest=check" \
		-drive "file=$lt_d/qemu-disk.img,if=none,id=d,format=raw" \
		-device virtio-blk-pci,drive=d,addr=02.0 >"$lt_d/qemu.stdout" 2>&1 || lt_status=$?
	echo "  (QEMU ran $(($(date +%s) - lt_t0)) s, exit status $lt_status; serial in $lt_log)"
	# The hypervisor prefixes guest lines with "[linux] "; do the same.
	tr -d '\r' < "$lt_log" | sed 's/^/[linux] /' > "$lt_log.prefixed"
	if [ "$lt_status" -eq 0 ]; then pass "qemu-linux: QEMU ended by the guest's power-off"
	else fail "qemu-linux: QEMU exit status $lt_status (124: timed out; see $lt_d/qemu.stdout)"; fi
	linux_expect_guest qemu-linux "$lt_log.prefixed"
	lt_guest=$(linux_disk_line "$lt_log.prefixed")
	lt_host=$(build/tools/fnv1a64 "$lt_d/qemu-disk.img")
	if [ -n "$lt_guest" ] && [ "$lt_guest" = "$lt_host" ]; then
		pass "qemu-linux: the disk file holds what the guest last read from its disk (fnv1a64 $lt_host)"
	else
		fail "qemu-linux: guest's disk checksum '$lt_guest', disk file's $lt_host"
	fi
	# The host's view of the disk the guest left: a clean ext4 holding
	# the guest's file with the checksum the host computed beforehand.
	if e2fsck -fn "$lt_d/qemu-disk.img" >"$lt_d/qemu-e2fsck.log" 2>&1; then
		pass "qemu-linux: e2fsck finds the disk clean"
	else
		fail "qemu-linux: e2fsck finds errors (see $lt_d/qemu-e2fsck.log)"
	fi
	lt_new=$(debugfs -R 'cat /written-by-guest.txt' "$lt_d/qemu-disk.img" 2>/dev/null | sha256sum | cut -d' ' -f1)
	if [ "$lt_new" = "$(cat "$lt_d/expected-new-file.sha256")" ]; then
		pass "qemu-linux: the disk holds the guest's new file with the expected checksum"
	else
		fail "qemu-linux: the guest's new file on the disk has checksum $lt_new"
	fi
}

if [ "${LINUX_QEMU_CHECK_LIB:-0}" = 0 ]; then
	set -eu
	if [ $# -ne 1 ]; then echo "usage: $0 OUTDIR (made by tests/linux/prepare.sh)" >&2; exit 2; fi
	cd "$(dirname "$0")/../.."
	for f in vmlinuz initrd.img disk.img expected-new-file.sha256; do
		[ -f "$1/$f" ] || { echo "qemu-check: $1/$f is missing (run tests/linux/prepare.sh $1)" >&2; exit 1; }
	done
	command -v qemu-system-x86_64 >/dev/null || { echo "qemu-check: qemu-system-x86_64 is missing (Debian package qemu-system-x86)" >&2; exit 1; }
	[ -x build/tools/fnv1a64 ] || make -s build/tools/fnv1a64
	. tests/lib/harness.sh
	. tests/linux/lib.sh
	set +e
	linux_qemu_check "$1"
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
fi
