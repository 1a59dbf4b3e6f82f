# A configuration file describes the VMs: a Multiboot v1 kernel (flat binary,
# a.out kludge) and a Multiboot2 kernel each get a command line and two
# modules; bad lines are reported with their number and the valid VMs run.
iso=$T/config.iso
log=$T/config.serial
printf 'MODULE1 payload for the Multiboot tests\n' > $T/mod1.txt
printf 'MODULE2 payload, the second one\n' > $T/mod2.txt
cat > $T/vms.conf <<'EOC'
# VMs for the configuration test
vm name=mb1 mem=16M kernel=mb1.bin module=mod1.txt module=mod2.txt cmdline="mbtest modules=2"
vm name=mb2 mem=16M kernel=mb2.elf module=mod1.txt module=mod2.txt cmdline="modules=2 # not a comment"

this line is not a vm line
vm name=badmem mem=lots kernel=basic.elf
vm name=nokernel mem=8M kernel=nothere.elf
vm name=mb1 kernel=mb1.bin
vm name=plain mem=8M kernel=basic.elf   # a comment after a valid line
EOC
mkiso $iso "loglevel=info" $T/vms.conf "config" $B/guests/mb1.bin "mb1.bin" \
	$B/guests/mb2.elf "mb2.elf" $B/guests/basic.elf "basic.elf" $T/mod1.txt "mod1.txt" \
	$T/mod2.txt "mod2.txt"
scripts/bochs.sh $iso $log 300
expect "config: bad keyword reported with its line number" $log "config line 5: expected a line starting with 'vm'"
expect "config: bad value reported with its line number" $log "config line 6: mem 'lots' is not a size"
expect "config: missing module reported" $log "config line 7: VM nokernel refused: no module named 'nothere.elf'"
expect "config: duplicate name reported" $log "config line 8: a VM of that name is already defined"
expect "config: Multiboot v1 kernel recognised" $log "VM mb1: Multiboot kernel loaded at 0x100000"
guest_checks "config: mb1" $log mb1
expect "config: mb1 finished" $log 'VM mb1 finished with exit code 0'
expect "config: Multiboot2 kernel recognised" $log "VM mb2: Multiboot2 kernel loaded"
guest_checks "config: mb2" $log mb2
expect "config: mb2 finished" $log 'VM mb2 finished with exit code 0'
guest_checks "config: plain" $log plain
expect "config: the last valid VM ran" $log 'VM plain finished with exit code 0'
expect "config: summary" $log 'all VMs done: 3 ran, 0 failed, 4 refused'
