# SMP guests and the vCPU scheduler (docs/smp.md). The smp test guest
# (tests/guests/smp) finds its CPUs in the MADT, starts its APs with
# INIT-SIPI-SIPI through its local APIC, ping-pongs IPIs, broadcasts, uses
# logical destinations and shoots down a TLB entry.
#  1. Two CPUs, two VMs at once: "pair" with 2 vCPUs and "trio" with 3:
#     five vCPUs on two CPUs, so CPUs are shared (time slices) and
#     vCPUs may move between CPUs (VMCLEAR, VMPTRLD elsewhere).
#  2. One CPU, one VM with 2 vCPUs: both time-share the boot CPU.
iso=$T/smp-guests.iso
log=$T/smp-guests.serial
cat > $T/smp-guests.conf <<'EOC'
vm name=pair mem=32M vcpus=2 kernel=smp.elf cmdline="cpus=2"
vm name=trio mem=32M vcpus=3 kernel=smp.elf cmdline="cpus=3"
EOC
mkiso $iso "loglevel=info" $T/smp-guests.conf config $B/guests/smp.elf smp.elf
scripts/bochs.sh $iso $log 300 2
for vm in pair trio; do
	guest_checks "smp guests: $vm" $log $vm
	expect "smp guests: $vm passed every check" $log "^\[$vm\] RESULT: [0-9]+ passed, 0 failed"
	expect "smp guests: $vm finished with exit code 0" $log "VM $vm finished with exit code 0"
done
expect "smp guests: pair has 2 vCPUs" $log '^\[hv info\] VM pair: 2 vCPUs, 32 MiB RAM'
expect "smp guests: pair's vCPUs spread over both CPUs" $log '^\[hv info\] VM pair: vCPU 1 on CPU 1$'
expect "smp guests: trio's third vCPU shares a CPU" $log '^\[hv info\] VM trio: vCPU 2 on CPU [01]$'
expect "smp guests: the MADT lists trio's 3 CPUs" $log '^\[trio\] PASS: the MADT lists as many enabled CPUs as cpus= says \(3 listed, cpus=3\)'
expect "smp guests: every AP of trio started" $log '^\[trio\] PASS: every CPU the MADT lists arrived, and no other \(2 of 2 APs\)'
expect_order "smp guests: both VMs ran at once" $log '^\[trio\] smp-guest: ACPI MADT' '^\[pair\] RESULT:'
expect "smp guests: per-vCPU report" $log '^\[hv info\] VM trio vCPU 2: [0-9]+ exits, [0-9]+ migrations$'
# Five vCPUs on two CPUs: when one CPU has two that can run and the other
# none, one moves (VMCLEAR on the CPU it leaves, VMPTRLD on the other) and
# its guest goes on; every check above passing says it went on intact.
expect "smp guests: a vCPU moved to the other CPU" $log '^\[hv info\] VM (pair|trio) vCPU [0-9]: [0-9]+ exits, [1-9][0-9]* migrations$'
expect "smp guests: both ran" $log 'all VMs done: 2 ran, 0 failed, 0 refused'
expect_not "smp guests: no hypervisor error" $log '\[hv (error|PANIC)\]'

iso=$T/smp-1cpu.iso
log=$T/smp-1cpu.serial
cat > $T/smp-1cpu.conf <<'EOC'
vm name=shared mem=32M vcpus=2 kernel=smp.elf cmdline="cpus=2"
EOC
mkiso $iso "loglevel=info" $T/smp-1cpu.conf config $B/guests/smp.elf smp.elf
scripts/bochs.sh $iso $log 200 1
guest_checks "smp on one CPU" $log shared
expect "smp on one CPU: both vCPUs on the boot CPU" $log '^\[hv info\] VM shared: vCPU 1 on CPU 0$'
expect "smp on one CPU: every check passed" $log '^\[shared\] RESULT: [0-9]+ passed, 0 failed'
expect "smp on one CPU: finished" $log 'VM shared finished with exit code 0'
expect_not "smp on one CPU: no hypervisor error" $log '\[hv (error|PANIC)\]'
