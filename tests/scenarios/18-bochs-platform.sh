# The PC platform from inside a guest: LAPIC timers measured with the TSC,
# IPIs and NMI, the PIT through the 8259 and the IOAPIC, the channel 2 gate
# loop, the RTC, UART interrupts, PCI enumeration and an MSI. Twice: with
# APIC virtualization (Bochs offers it) and with apicv=no, the local APIC
# emulated fully.
iso=$T/platform.iso
log=$T/platform.serial
# The two VMs run at once; the guest measures its timers against its TSC,
# so each gets a CPU of its own (two CPUs: each vCPU pinned). On one CPU
# they would share it in 10 ms slices and a 1 ms timer could not keep time.
mkiso $iso "loglevel=info" $B/guests/platform.elf "name=platform mem=16M" \
	$B/guests/platform.elf "name=platform-noapicv mem=16M apicv=no"
scripts/bochs.sh $iso $log 400 2
for vm in platform platform-noapicv; do
	guest_checks "$vm" $log $vm
	expect "$vm: guest summary" $log "^\[$vm\] RESULT: [0-9]+ passed, 0 failed"
	expect "$vm: exit code 0" $log "VM $vm finished with exit code 0"
done
expect "platform: APIC virtualization on" $log \
	'VM platform: APIC virtualization: on \(TPR shadow, APIC-register virtualization, virtual-interrupt delivery, x2APIC\)'
expect "platform-noapicv: APIC virtualization off" $log \
	'VM platform-noapicv: APIC virtualization: off: apicv=no'
expect "platform: the guest slept in HLT until its timers (preemption-timer exits)" $log '^  PREEMPTION_TIMER +[0-9]+'
expect "platform: APIC writes trapped to the model (APIC-write exits)" $log '^  APIC_WRITE +[0-9]+'
expect "platform: level-triggered EOIs reached the IOAPIC (EOI-induced exits)" $log '^  VIRTUALIZED_EOI +[0-9]+'

# i8042 command 0xFE resets the VM: kernel reloaded, RAM cleared, CMOS kept.
iso=$T/reset.iso
log=$T/reset.serial
mkiso $iso "loglevel=info" $B/guests/reset.elf "name=reset mem=8M"
scripts/bochs.sh $iso $log 120
expect "reset: the i8042 reset was seen" $log 'VM reset: reset requested by the guest \(reset #1\)'
expect "reset: the 0xcf9 reset was seen" $log 'VM reset: reset requested by the guest \(reset #2\)'
guest_checks "reset" $log reset
expect "reset: ACPI S5 powers the VM off" $log 'VM reset stopped: guest powered off \(ACPI S5 through PM1a_CNT\)'
expect_not "reset: power-off is not a failure" $log 'VM reset finished with exit code'
