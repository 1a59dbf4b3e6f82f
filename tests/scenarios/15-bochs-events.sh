# Exceptions, interrupts, NMIs and the remaining exit reasons, checked by the
# events guest from inside (right vector, error code, RIP, order).
iso=$T/events.iso
log=$T/events.serial
mkiso $iso "loglevel=info" $B/guests/events.elf "name=events mem=16M"
scripts/bochs.sh $iso $log 300
guest_checks "events" $log events
expect "events: guest summary" $log '^\[events\] RESULT: [0-9]+ passed, 0 failed'
expect "events: interrupt-window exits were used" $log '^  INTERRUPT_WINDOW +[0-9]+'
expect "events: NMI-window exits were used" $log '^  NMI_WINDOW +[0-9]+'
expect "events: exit code 0" $log 'VM events finished with exit code 0'
