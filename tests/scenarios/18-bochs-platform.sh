# The PC platform from inside a guest: LAPIC timers measured with the TSC,
# IPIs and NMI, the PIT through the 8259 and the IOAPIC, the channel 2 gate
# loop, the RTC, UART interrupts, PCI enumeration and an MSI.
iso=$T/platform.iso
log=$T/platform.serial
mkiso $iso "loglevel=info" $B/guests/platform.elf "name=platform mem=16M"
scripts/bochs.sh $iso $log 300
guest_checks "platform" $log platform
expect "platform: guest summary" $log '^\[platform\] RESULT: [0-9]+ passed, 0 failed'
expect "platform: the guest slept in HLT until its timers (preemption-timer exits)" $log '^  PREEMPTION_TIMER +[0-9]+'
expect "platform: exit code 0" $log 'VM platform finished with exit code 0'

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
