# MMIO emulation with the guest's paging on: page walks for fetch and string
# operands, ALU/TEST/BT/XCHG/MOVSX and REP string forms, and a page fault
# raised during emulation delivered to the guest.
iso=$T/mmio.iso
log=$T/mmio.serial
mkiso $iso "loglevel=info" $B/guests/mmio.elf "name=mmio mem=16M"
scripts/bochs.sh $iso $log 300
guest_checks "mmio" $log mmio
expect "mmio: guest summary" $log '^\[mmio\] RESULT: [0-9]+ passed, 0 failed'
expect "mmio: exit code 0" $log 'VM mmio finished with exit code 0'
