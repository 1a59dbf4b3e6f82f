# Bad input never takes the hypervisor down: a truncated ELF, a file that is
# not an ELF, a bad module string, a guest that triple-faults and one that
# jumps outside its RAM are each refused or stopped with a message naming the
# VM and the cause, and a well-behaved VM after them still runs to the end.
iso=$T/hostile.iso
log=$T/hostile.serial
head -c 300 $B/guests/basic.elf > $T/truncated.elf
{ printf 'this is not an ELF file\n'; head -c 200 /dev/zero; } > $T/garbage.elf
mkiso $iso "loglevel=info" \
	$T/truncated.elf "name=truncated" \
	$T/garbage.elf "name=garbage" \
	$B/guests/basic.elf "name=badcfg mem=lots" \
	$B/guests/basic.elf "name=huge mem=2G" \
	$B/guests/triple.elf "name=triple mem=8M" \
	$B/guests/wild.elf "name=wild mem=8M" \
	$B/guests/taskswitch.elf "name=taskswitch mem=8M" \
	$B/guests/basic.elf "name=survivor mem=16M"
scripts/bochs.sh $iso $log 300
expect "hostile: truncated ELF refused" $log 'VM truncated refused: its guest image is invalid: a segment.s data lies outside the file'
expect "hostile: non-ELF refused" $log 'VM garbage refused: its guest image is invalid: .*bad magic'
expect "hostile: bad module string refused" $log "module 2 .* refused: mem 'lots' is not a size"
expect "hostile: VM too large for memory refused" $log 'VM huge refused: cannot allocate 2048 MiB'
expect "hostile: a triple fault resets the VM, as a PC does" $log 'VM triple: guest triple fault .* resetting the VM'
expect "hostile: the VM came back after the reset" $log 'VM triple: reset requested by the guest \(reset #2\)'
expect "hostile: a VM that keeps triple-faulting is stopped" $log 'VM triple stopped: guest triple fault .* again after two resets'
expect "hostile: triple fault dump shows RIP" $log '^  RIP [0-9a-f]{16}'
expect "hostile: wild jump stops that VM" $log 'VM wild stopped: guest jumped to guest-physical 0xd0000000, outside its RAM'
expect "hostile: task switch refused, naming the selector" $log 'VM taskswitch stopped: hardware task switch to TSS selector 0x18 by JMP is not emulated'
expect "hostile: a failed VM's last exits are printed" $log 'VM taskswitch vCPU 0: last [0-9]+ exits'
guest_checks "hostile: survivor" $log survivor
expect "hostile: survivor finished" $log 'VM survivor finished with exit code 0'
expect "hostile: summary" $log 'all VMs done: 4 ran, 3 failed, 4 refused'
