#!/bin/sh
# run.sh ISO: boot the ISO on the best machine available and stream the
# serial console here. QEMU with KVM when this host offers nested VT-x,
# otherwise Bochs (slower, but it emulates VT-x with EPT itself).
set -eu
iso=$1

why_not_kvm() {
	grep -qw vmx /proc/cpuinfo || { echo "this CPU shows no VT-x (vmx flag) to Linux"; return; }
	[ -e /dev/kvm ] || { echo "/dev/kvm is missing (load kvm_intel)"; return; }
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "/dev/kvm is not accessible to $(id -un)"; return; }
	n=$(cat /sys/module/kvm_intel/parameters/nested 2>/dev/null || echo N)
	case $n in Y|y|1) ;; *) echo "kvm_intel nested virtualization is off (modprobe kvm_intel nested=1)"; return ;; esac
	command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is not installed"; return; }
}

reason=$(why_not_kvm)
if [ -z "$reason" ]; then
	echo "make run: using QEMU with KVM and nested VT-x (-cpu host,+vmx); quit with Ctrl-A X"
	exec qemu-system-x86_64 -enable-kvm -cpu host,+vmx -m 512 -cdrom "$iso" \
		-display none -serial mon:stdio -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04
fi

echo "make run: using Bochs with VT-x emulation ($reason)"
if [ -t 0 ] && [ -t 1 ] && command -v python3 >/dev/null; then
	# A terminal: join it to Bochs's COM1 both ways (through a socket).
	echo "make run: the serial console is this terminal; Ctrl-] ends the session (the Linux demo takes a few minutes to boot in Bochs)"
	exec python3 scripts/serial_term.py "$iso" "${RUN_TIMEOUT:-3600}"
fi
echo "make run: not a terminal: the serial console is shown, output only"
out=$(mktemp)
trap 'rm -f "$out"; kill $bochs_pid 2>/dev/null || true' EXIT INT TERM
scripts/bochs.sh "$iso" "$out" "${RUN_TIMEOUT:-3600}" &
bochs_pid=$!
sleep 1
tail -n +1 -f --pid=$bochs_pid "$out" | tr -d '\r'
