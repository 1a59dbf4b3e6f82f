# The Multiboot v1 test kernel is a real QEMU -kernel kernel: QEMU's own
# loader boots it with the same command line and modules, and it passes the
# same checks it passes under the hypervisor.
log=$T/mb1-qemu.serial
timeout 120 qemu-system-x86_64 -machine pc -accel tcg -m 64 -display none -monitor none \
	-no-reboot -serial file:$log -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-kernel $B/guests/mb1.bin -append "mbtest modules=2" -initrd "$T/mod1.txt,$T/mod2.txt" \
	>/dev/null 2>&1
status=$?
# Output is not prefixed here: no hypervisor. Count the kernel's checks.
sed 's/^/[qemu-mb1] /' $log > $log.prefixed
guest_checks "qemu-mb1" $log.prefixed qemu-mb1
expect "qemu-mb1: QEMU named itself as the loader" $log "boot loader is 'qemu'"
if [ "$status" -eq 1 ]; then pass "qemu-mb1: exit code 0 through isa-debug-exit"; else fail "qemu-mb1: QEMU exit status $status, expected 1"; fi
