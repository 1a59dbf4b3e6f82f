#!/bin/sh
# mkiso.sh OUT.iso HV_CMDLINE [MODULE MODULE_STRING]...
#   Builds a GRUB2 rescue ISO that boots build/hv.elf with HV_CMDLINE and
#   passes each MODULE with its MODULE_STRING (e.g. "name=basic mem=32M").
# mkiso.sh --native OUT.iso KERNEL [CMDLINE]
#   Builds an ISO that boots KERNEL (a Multiboot2 test guest) directly,
#   with CMDLINE as its command line.
# mkiso.sh --linux OUT.iso BZIMAGE INITRD CMDLINE
#   Builds an ISO on which GRUB boots a Linux kernel directly (no
#   hypervisor): the native half of the Linux benchmark (tests/bench.sh).
set -eu
native=0
case $1 in
--native) native=1; shift ;;
--linux) native=linux; shift ;;
esac
out=$1; shift
hv_elf=${HV_ELF:-build/hv.elf}
dir=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$dir" "$log"' EXIT
mkdir -p "$dir/boot/grub"
cfg="$dir/boot/grub/grub.cfg"
{
	echo "set timeout=0"
	echo "set default=0"
	echo "serial --unit=0 --speed=115200"
	echo "terminfo serial dumb"
	echo "terminal_output serial"
	echo "menuentry \"TextbookHV\" {"
} > "$cfg"
if [ $native = 1 ]; then
	cp "$1" "$dir/boot/kernel.elf"
	echo "  multiboot2 /boot/kernel.elf ${2:-}" >> "$cfg"
elif [ $native = linux ]; then
	cp "$1" "$dir/boot/vmlinuz"
	cp "$2" "$dir/boot/initrd.img"
	echo "  linux /boot/vmlinuz $3" >> "$cfg"
	echo "  initrd /boot/initrd.img" >> "$cfg"
else
	cp "$hv_elf" "$dir/boot/hv.elf"
	echo "  multiboot2 /boot/hv.elf $1" >> "$cfg"
	shift
	i=0
	while [ $# -ge 2 ]; do
		cp "$1" "$dir/boot/module$i"
		echo "  module2 /boot/module$i $2" >> "$cfg"
		i=$((i + 1)); shift 2
	done
fi
echo "  boot" >> "$cfg"
echo "}" >> "$cfg"
mkdir -p "$(dirname "$out")"
# The log must not live inside the ISO's source folder: xorriso would pack it
# while it grows.
grub-mkrescue -o "$out" "$dir" >/dev/null 2>"$log" || { cat "$log" >&2; exit 1; }
