# NOT IN `make test` YET: it fails today (issue #7, left open). Run it by
# hand from the project root, after `make all guests`:
#     bash -c '. tests/lib/harness.sh; . tests/linux/lib.sh; B=build; T=build/test;
#              mkdir -p $T; . tests/linux/smp-scenario.sh; summary'
# What fails: Debian's kernel never gets out of its boot decompressor
# (RIP in the relocated decompressor, only VMX-preemption-timer exits; the
# stall report fires after 30 s of guest time) whenever another VM runs
# at the same time, on the same CPU (time slices) or on the other one. The
# same kernel boots alone (tests/scenarios/60-bochs-linux.sh), and when
# the other VM has ended before the decompressor runs. Ruled out so far:
# the FPU switching (none at all: same hang), TLB flushes on every vCPU
# switch (same), the scheduler's fairness (same exit count, 1510, at the
# stall). docs/smp.md "Known problems".
#
# Issue #7's whole story on a two-CPU Bochs: Debian's stock kernel with 2
# vCPUs beside the hostile test guest, both at once. Linux must bring up
# both CPUs (the MADT lists two local APICs; it starts the second with
# INIT-SIPI-SIPI), check its disk with a checker pinned to each CPU (IPIs
# and TLB shoot-downs between its vCPUs), write a file and power off, its
# disk exactly what it read back; meanwhile the hostile guest scans
# guest-physical space, sends bad virtio requests, floods IPIs, spins with
# interrupts off and triple-faults three times. Linux's second vCPU shares
# a CPU with the hostile one (three vCPUs on two CPUs: time slices).
lt_timeout=${LINUX_BOCHS_TIMEOUT:-1200}
if [ -n "${SKIP_LINUX:-}" ]; then
	echo "  skip (SKIP_LINUX is set)"
elif linux_prepare; then
	lt_iso=$T/linux-smp.iso
	lt_log=$T/linux-smp.serial
	cp build/linux/disk.img $T/linux-smp-disk.img
	cat > $T/linux-smp.conf <<'EOC'
vm name=hostile mem=16M kernel=hostile.elf disk_size=1M cmdline="spin=0x20000000"
vm name=linux mem=192M vcpus=2 kernel=vmlinuz initrd=initrd.img disk=disk.img cmdline="console=ttyS0 linuxtest=smp linuxtest_cpus=2"
EOC
	mkiso $lt_iso "loglevel=info" $T/linux-smp.conf config $B/guests/hostile.elf hostile.elf \
		build/linux/vmlinuz vmlinuz build/linux/initrd.img initrd.img $T/linux-smp-disk.img disk.img
	lt_t0=$(date +%s)
	scripts/bochs.sh $lt_iso $lt_log $lt_timeout 2
	echo "  (Bochs ran $(($(date +%s) - lt_t0)) s of at most $lt_timeout; serial in $lt_log)"
	expect "linux-smp: the VM has 2 vCPUs" $lt_log '^\[hv info\] VM linux: 2 vCPUs, 192 MiB RAM'
	expect "linux-smp: its vCPUs on both CPUs" $lt_log '^\[hv info\] VM linux: vCPU 1 on CPU [01]$'
	if ! tr -d '\r' < $lt_log | grep -q '^\[linux\] '; then
		fail "linux-smp: the guest printed nothing; the hypervisor's last error: $(tr -d '\r' < $lt_log | grep -E '\[hv (error|warn)\]' | tail -1)"
	else
		guest_checks "linux-smp" $lt_log linux
		expect "linux-smp: the kernel found both CPUs in the MADT" $lt_log '^\[linux\] .*smp: Brought up 1 node, 2 CPUs'
		expect "linux-smp: both CPUs online" $lt_log '^\[linux\] linux-test: 2 CPUs online: 0-1'
		expect "linux-smp: a checker ran on each CPU" $lt_log '^\[linux\] linux-test: cpu 1 checked the files'
		expect "linux-smp: the kernel counts 2 CPUs" $lt_log '^\[linux\] PASS: smp: the kernel brought up every CPU the MADT lists'
		expect "linux-smp: the guest finished" $lt_log '^\[linux\] linux-test: smp done'
		expect_not "linux-smp: no kernel panic, oops or soft lockup" $lt_log 'Kernel panic|Oops|BUG: |general protection fault|soft lockup|rcu_sched self-detected'
		expect "linux-smp: the guest's power-off stopped the VM" $lt_log 'VM linux stopped: guest powered off'
		linux_expect_disk "linux-smp" $lt_log linux
	fi
	# The hostile VM did its worst beside it, and only it was stopped.
	for phase in scan virtio ipi spin; do
		expect "linux-smp: hostile phase $phase ran" $lt_log "^\[hostile\] hostile: phase $phase \\(run 1\\)"
	done
	expect "linux-smp: the hostile VM was stopped after its third triple fault" $lt_log \
		'VM hostile stopped: guest triple fault .* again after two resets'
	expect_order "linux-smp: they ran at once (Linux booted while the hostile VM lived)" $lt_log \
		'^\[linux\] .*Linux version' 'VM hostile stopped'
	expect "linux-smp: both ran, only the hostile one failed" $lt_log 'all VMs done: 2 ran, 1 failed, 0 refused'
	expect_not "linux-smp: the hypervisor did not panic" $lt_log '\[hv PANIC\]'
fi
