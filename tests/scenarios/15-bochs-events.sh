# Exceptions, interrupts, NMIs and the remaining exit reasons, checked by the
# events guest from inside (right vector, error code, RIP, order). Twice:
# with APIC virtualization and with apicv=no.
iso=$T/events.iso
log=$T/events.serial
mkiso $iso "loglevel=info" $B/guests/events.elf "name=events mem=16M" \
	$B/guests/events.elf "name=events-noapicv mem=16M apicv=no"
scripts/bochs.sh $iso $log 400
for vm in events events-noapicv; do
	guest_checks "$vm" $log $vm
	expect "$vm: guest summary" $log "^\[$vm\] RESULT: [0-9]+ passed, 0 failed"
	expect "$vm: exit code 0" $log "VM $vm finished with exit code 0"
done
expect "events: APIC virtualization on" $log 'VM events: APIC virtualization: on \('
expect "events-noapicv: APIC virtualization off" $log 'VM events-noapicv: APIC virtualization: off: apicv=no'
expect "events: interrupt-window exits were used" $log '^  INTERRUPT_WINDOW +[0-9]+'
expect "events: NMI-window exits were used" $log '^  NMI_WINDOW +[0-9]+'
