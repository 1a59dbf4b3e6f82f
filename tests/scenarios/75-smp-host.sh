# The hypervisor on a two-CPU Bochs: the MADT lists both CPUs, the AP is
# started with INIT-SIPI-SIPI, enters VMX root operation and answers its
# mailbox; the basic guest still runs on the BSP as before (docs/smp.md).
iso=$T/smp.iso
log=$T/smp.serial
mkiso $iso "loglevel=debug" $B/guests/basic.elf "name=basic mem=32M"
scripts/bochs.sh $iso $log 300 2
expect "smp: the MADT lists 2 CPUs" $log '^\[hv info\] ACPI MADT at 0x[0-9a-f]+ \(through the (RSDT|XSDT)\): 2 CPUs, local APIC at 0xfee00000'
expect "smp: APIC IDs 0 and 1 listed" $log '^  APIC ID 1, ACPI processor UID 1'
expect "smp: the BSP enters VMX first" $log 'VMX root operation entered \(VMXON region'
expect "smp: the AP reached the trampoline" $log 'APIC ID 1: arrived after 1 STARTUP IPI'
expect "smp: CPU 1 online with VMX on" $log '^\[hv info\] CPU 1 \(APIC ID 1\) online, VMX on$'
expect "smp: its own VMXON region" $log 'CPU 1: VMX root operation entered \(VMXON region at 0x'
expect "smp: summary" $log '^\[hv info\] SMP: 1 of 1 application processors online, VMX on in each; the boot CPU is APIC ID 0'
expect "smp: the AP answers its mailbox, still in VMX root" $log '^\[hv info\] CPU 1: mailbox call answered \(woken by IPI vector 0xf0\), CR4.VMXE still set'
expect_order "smp: the AP is up before the guest starts" $log 'CPU 1 \(APIC ID 1\) online' 'VM basic: starting'
expect_not "smp: no warnings about CPUs" $log 'did not|not started|only the boot CPU|PANIC'
guest_checks "smp" $log basic
expect "smp: the basic guest finishes with exit code 0" $log 'VM basic finished with exit code 0'
expect "smp: machine stopped cleanly" $log 'all VMs done: 1 ran, 0 failed, 0 refused'
# Every line of the log is whole: a [hv ...] prefix only ever starts a line.
expect_not "smp: no interleaved lines" $log '.\[hv (info|warn|error|debug)\]'
