# Checks on the serial log of the Linux guest test, shared by the hypervisor
# scenario (tests/scenarios/60-bochs-linux.sh) and the QEMU check of the
# guest assets (tests/linux/qemu-check.sh). Sourced after
# tests/lib/harness.sh; the log's guest lines start with "[linux] ", as the
# hypervisor prints them. Variables are prefixed lt_: run_all.sh sources
# scenarios into its own shell.

# linux_disk_line LOG: the whole-disk checksum the guest printed last.
linux_disk_line() {
	tr -d '\r' < "$1" | sed -n 's/^\[linux\] linux-test: disk [0-9]* bytes, fnv1a64 \([0-9a-f]*\).*/\1/p' | tail -1
}

# linux_expect_guest NAME LOG: the guest's story, boot by boot.
linux_expect_guest() {
	guest_checks "$1" "$2" linux
	lt_n=$(tr -d '\r' < "$2" | grep -c '^\[linux\] linux-test: init reached at uptime' || true)
	if [ "$lt_n" -eq 2 ]; then pass "$1: the kernel reached init twice (two boots)"
	else fail "$1: the kernel reached init $lt_n times, expected 2"; fi
	expect "$1: boot 1 checked the disk and wrote its file" "$2" '^\[linux\] linux-test: wrote written-by-guest.txt sha256 [0-9a-f]{64}'
	expect_order "$1: the guest rebooted, then booted again" "$2" \
		'^\[linux\] linux-test: boot 1 done, rebooting' '^\[linux\] linux-test: boot 2, disk mounted'
	expect "$1: boot 2 checked the file written before the reboot" "$2" \
		'^\[linux\] PASS: boot 2: the file written before the reboot has the expected checksum'
	expect "$1: boot 2 checksummed the whole disk" "$2" '^\[linux\] linux-test: disk [0-9]+ bytes, fnv1a64 [0-9a-f]{16}'
	expect "$1: the guest finished and powered off" "$2" '^\[linux\] linux-test: boot 2 done'
	expect_not "$1: no kernel panic or oops" "$2" 'Kernel panic|Oops|BUG: |general protection fault'
}

# linux_prepare: the guest assets in build/linux (tests/linux/prepare.sh,
# cached). Returns 1, a failed test, when they cannot be made (no network,
# no Debian archive: see build/test/linux-prepare.log).
linux_prepare() {
	if tests/linux/prepare.sh build/linux > build/test/linux-prepare.log 2>&1; then
		return 0
	fi
	fail "linux: preparing the guest assets (Debian kernel download, initramfs, disk): $(tail -1 build/test/linux-prepare.log)"
	return 1
}

# linux_expect_disk NAME LOG VMNAME: the hypervisor's checksum of the VM's
# disk at its stop equals the one the guest read back last.
linux_expect_disk() {
	lt_guest=$(linux_disk_line "$2")
	lt_hv=$(tr -d '\r' < "$2" | grep -Eo "VM $3 disk: [0-9]+ bytes, checksum fnv1a64 [0-9a-f]{16}" | tail -1 | sed 's/.* //')
	if [ -n "$lt_guest" ] && [ "$lt_guest" = "$lt_hv" ]; then
		pass "$1: the hypervisor's disk holds exactly what the guest read back (fnv1a64 $lt_hv)"
	else
		fail "$1: disk checksum: the guest read '$lt_guest', the hypervisor holds '$lt_hv'"
	fi
}
