# The console and the hypervisor shell (docs/console-and-shell.md), driven
# through the emulated serial port: tests/tools/serial_driver.py listens on
# a socket Bochs connects COM1 to, records everything to the log and types
# as the step list below says. Two VMs of the console guest (it answers
# each line typed to it) run at once, sharing the one CPU; shell=yes keeps
# the shell after the last one. Every command runs at least once with an answer
# checked here.
iso=$T/shell.iso
log=$T/shell.serial
steps=$T/shell.steps
head -c 65536 /dev/urandom > $T/shell-disk.img
marker=$(printf '0x%x' 0x$(nm $B/guests/console.elf | awk '$3 == "shell_marker" { print $1 }'))
cat > $T/shell.conf <<'EOC'
vm name=con1 mem=8M kernel=console.elf disk=shell-disk.img disk_ro=yes
vm name=con2 mem=8M kernel=console.elf
EOC
cat > $steps <<EOS
# con1 runs and has the input: a line typed reaches its COM1
expect \[con1\] console guest: ready
send hello\r
expect \[con1\] got: hello
# Ctrl-A c: the shell, while con1 runs
send \x01c
expect hv> 
send help\r
expect hv> 
send vms\r
expect hv> 
send vcpus\r
expect hv> 
send regs\r
expect hv> 
send exits con1\r
expect hv> 
send trace con1\r
expect hv> 
send ept con1 $marker\r
expect hv> 
send ept con1 0xfee00000\r
expect hv> 
send ept con1 0xfec00000\r
expect hv> 
send mem con1 $marker 32\r
expect hv> 
send disk con1\r
expect hv> 
send disk con2\r
expect hv> 
send frobnicate\r
expect hv> 
send regs nosuch\r
expect hv> 
send mem con1 0x10000000\r
expect hv> 
send mem con1 0 0x1000\r
expect hv> 
send mem con1 zz\r
expect hv> 
send start con1\r
expect hv> 
send reset con1\r
expect \[con1\] console guest: ready
# Ctrl-A c: back to con1, which answers again after its reset
send \x01c
expect input: VM con1
send again\r
expect \[con1\] got: again
send \x01c
expect hv> 
send kill con1\r
expect VM con1 finished without an exit code
# The shell keeps the input; Ctrl-A n gives it to the next VM that runs
send \x01n
expect input: VM con2
send exit\r
expect hv> 
# No VM runs: the shell has the console (shell=yes); finished VMs are kept
send vms\r
expect hv> 
send regs con2\r
expect hv> 
send start con1\r
expect \[con1\] console guest: ready
send \x01c
expect input: VM con1
send exit\r
expect hv> 
send quit\r
EOS
mkiso $iso "loglevel=info shell=yes" $T/shell.conf config $B/guests/console.elf console.elf \
	$T/shell-disk.img shell-disk.img
tests/tools/serial_driver.py $steps $iso $log 900
expect_not "shell: every scripted step was answered" $log 'serial_driver: '
expect "shell: input typed reaches the focused VM's COM1" $log '^\[con1\] got: hello'
expect "shell: Ctrl-A c announces the shell" $log '^\[hv\] input: shell'
expect "shell: help lists the commands" $log '^  ept +<vm> <gpa> +walk the VM'
expect "shell: vms lists con1 running with its disk" $log '^  con1 +running +8M +[0-9]+  65536 bytes, read-only'
expect "shell: vms lists con2 running beside it" $log '^  con2 +running +8M +[0-9]+ +none'
expect "shell: vcpus shows con1's vCPU, its CPU and RIP" $log '^  con1 +0 +running +0 +0x[0-9a-f]+ +[0-9]+ +[0-9]+$'
expect "shell: regs shows the running VM's RIP" $log '^  RIP [0-9a-f]{16}  RFLAGS'
expect "shell: exits prints the statistics" $log 'VM con1 exit statistics'
expect "shell: exits counts the COM1 polling" $log '^  IO_INSTRUCTION +[0-9]+'
expect "shell: trace prints the last exits" $log 'VM con1 vCPU 0: last [0-9]+ exits'
hpa=$(tr -d '\r' < $log | sed -n 's/.*VM con1: 1 vCPU, 8 MiB RAM at host \(0x[0-9a-f]*\).*/\1/p' | head -1)
if [ -n "$hpa" ]; then
	want=$(printf '0x%x' $((hpa + marker)))
	expect "shell: ept finds the marker's HPA (RAM at $hpa + $marker)" $log \
		"VM con1: GPA $marker -> HPA $want, rwx, in a 2 MiB page"
else
	fail "shell: the log names con1's RAM address"
fi
expect "shell: ept of the IOAPIC's MMIO page: not mapped" $log 'VM con1: GPA 0xfec00000 is not mapped by its EPT'
expect "shell: ept of the APIC-access page (APIC virtualization): one 4 KiB page, not executable" $log \
	'VM con1: GPA 0xfee00000 -> HPA 0x[0-9a-f]+, rw-, in a 4 KiB page'
expect "shell: mem dumps the guest's known bytes" $log \
	"^  0*${marker#0x} +53 48 45 4c 4c 2d 4d 41 52 4b 45 52 2d 30 31 32  SHELL-MARKER-012"
expect "shell: disk prints the checksum the harness computes" $log \
	"VM con1 disk: 65536 bytes, checksum fnv1a64 $($B/tools/fnv1a64 $T/shell-disk.img)"
expect "shell: disk of a VM without one" $log 'shell: VM con2 has no disk'
expect "shell: an unknown command is an error" $log "shell: unknown command 'frobnicate'"
expect "shell: an unknown VM is an error" $log "shell: no VM named 'nosuch'"
expect "shell: an address outside RAM is an error" $log 'shell: VM con1: GPA 0x10000000 is not in its RAM'
expect "shell: a length too large is an error" $log 'shell: length 0x1000 is out of range'
expect "shell: a bad number is an error" $log "shell: 'zz' is not a guest-physical address"
expect "shell: start of a running VM is refused" $log 'shell: VM con1 is running already'
expect "shell: reset resets the VM" $log 'VM con1: reset requested by the hypervisor shell \(reset #1\)'
expect_order "shell: the guest booted again after the reset" $log 'reset requested by the hypervisor shell' \
	'^\[con1\] got: again'
expect "shell: Ctrl-A c gives the input back to the VM" $log '^\[hv\] input: VM con1'
expect "shell: kill stops the VM and says who" $log 'VM con1 stopped: killed from the hypervisor shell'
expect "shell: a killed VM has no exit code" $log 'VM con1 finished without an exit code \(killed from the hypervisor shell\)'
expect "shell: Ctrl-A n moves the input to the next VM" $log '^\[hv\] input: VM con2'
expect "shell: con2 ended by itself" $log 'VM con2 finished with exit code 0'
expect "shell: shell=yes keeps the shell after the last VM" $log \
	'all VMs done: 2 ran, 0 failed, 0 refused; the shell has the console'
expect "shell: vms shows the finished VMs kept" $log '^  con2 +stopped +8M +[0-9]+ +none'
expect "shell: regs of a stopped VM" $log 'VM con2 vCPU 0 registers:'
expect "shell: start runs a finished VM again" $log 'VM con1 queued to start'
expect "shell: the restarted VM ran to its exit" $log 'VM con1 finished with exit code 0'
expect "shell: quit powers off" $log 'shell: quit: powering off'
expect "shell: the summary counts the restart" $log 'all VMs done: 3 ran, 0 failed, 0 refused$'
