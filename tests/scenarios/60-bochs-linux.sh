# Debian's stock kernel, unmodified, under the hypervisor (issue 6): its
# disk is the hypervisor's virtio-blk ramdisk over virtio-pci. The guest
# (tests/linux/init) checks the files of its ext4 disk, writes one, syncs
# and reboots; the VM is reset with its disk kept; the second boot checks
# everything again, checksums the whole disk and powers off (ACPI S5). The
# hypervisor's checksum of the disk at the stop must be the guest's. Slow:
# two Linux boots in Bochs, about 6 minutes. SKIP_LINUX=1 skips it;
# `make test-linux` runs only the Linux scenarios. docs/linux-guest.md.
#
# What the hypervisor prints, as patterns (extended regexes); adjust them
# here if its messages change:
lt_reset_re='VM linux: reset requested by the guest'
lt_poweroff_re='VM linux stopped: guest powered off'
lt_disk_re='VM linux disk: [0-9]+ bytes, checksum fnv1a64 [0-9a-f]{16}'
lt_timeout=${LINUX_BOCHS_TIMEOUT:-900}
if [ -n "${SKIP_LINUX:-}" ]; then
	echo "  skip (SKIP_LINUX is set)"
elif linux_prepare; then
	lt_iso=$T/linux.iso
	lt_log=$T/linux.serial
	cat > $T/linux.conf <<'EOC'
vm name=linux mem=192M kernel=vmlinuz initrd=initrd.img disk=disk.img cmdline="console=ttyS0 linuxtest=check"
EOC
	mkiso $lt_iso "loglevel=info" $T/linux.conf config build/linux/vmlinuz vmlinuz \
		build/linux/initrd.img initrd.img build/linux/disk.img disk.img
	lt_t0=$(date +%s)
	scripts/bochs.sh $lt_iso $lt_log $lt_timeout
	echo "  (Bochs ran $(($(date +%s) - lt_t0)) s of at most $lt_timeout; serial in $lt_log)"
	expect "linux: the VM was created with its kernel, initrd and disk" $lt_log 'VM linux: virtio-blk disk of 32768 sectors over virtio-pci at 00:02.0'
	if ! tr -d '\r' < $lt_log | grep -q '^\[linux\] '; then
		# Nothing from the guest at all: one failure that says why, not
		# one per missing line.
		fail "linux: the guest printed nothing; the hypervisor's last error: $(tr -d '\r' < $lt_log | grep -E '\[hv (error|warn)\]' | tail -1)"
	else
		linux_expect_guest linux $lt_log
		expect "linux: the hypervisor reset the VM on the guest's reboot" $lt_log "$lt_reset_re"
		expect_order "linux: the reset came between the two boots" $lt_log \
			'^\[linux\] linux-test: boot 1 done, rebooting' "$lt_reset_re"
		expect_order "linux: the second boot came after the reset" $lt_log \
			"$lt_reset_re" '^\[linux\] linux-test: boot 2, disk mounted'
		expect "linux: the guest's power-off stopped the VM" $lt_log "$lt_poweroff_re"
		expect "linux: the hypervisor reported the disk at the stop" $lt_log "$lt_disk_re"
		linux_expect_disk "linux" $lt_log linux
	fi
	expect "linux: the VM ran and did not fail" $lt_log 'all VMs done: 1 ran, 0 failed, 0 refused'
fi
