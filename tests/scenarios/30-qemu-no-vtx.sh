# Without VT-x (QEMU TCG has no VMX) the hypervisor says what is missing in
# one line, and ends the emulator through isa-debug-exit.
iso=$T/novtx.iso
log=$T/novtx.serial
mkiso $iso "loglevel=info" $B/guests/basic.elf "name=basic"
timeout 120 qemu-system-x86_64 -machine pc -accel tcg -cpu qemu64 -m 256 -cdrom $iso \
	-display none -serial file:$log -monitor none -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 >/dev/null 2>&1
status=$?
expect "no-vtx: banner" $log '^TextbookHV'
expect "no-vtx: one clear line naming what is missing" $log 'VT-x is not available: this CPU does not report VMX .*-cpu host,\+vmx.*Bochs'
expect_not "no-vtx: no guest was started" $log 'VM basic: starting'
# isa-debug-exit makes QEMU exit with (code << 1) | 1; MACHINE_EXIT_NO_VMX is 2.
if [ "$status" -eq 5 ]; then pass "no-vtx: QEMU ended by the hypervisor (status 5)"; else fail "no-vtx: QEMU exit status $status, expected 5"; fi
