#!/bin/sh
# tests/linux/bench.sh: the Linux figures of `make bench` (tests/bench.sh
# runs it). Debian's stock kernel and the test's initramfs boot in Bochs to
# init, which prints the kernel's own uptime and powers off
# (linuxtest=native, tests/linux/init): once natively (GRUB boots the
# kernel, Bochs with the VM's 192 MiB), once under the hypervisor. Bochs's
# clock is deterministic (clock: sync=none), so the uptimes are too.
#   bench: linux_boot_native_uptime X s
#   bench: linux_boot_under_hv_uptime X s
#   bench: linux_boot_vs_native R ratio
#   bench: linux_boot_exits_total N exits, and one linux_boot_exits_REASON
#          per exit reason (the hypervisor's statistics at the VM's stop)
set -eu
cd "$(dirname "$0")/../.."
B=build
T=$B/bench
L=$B/linux
mkdir -p $T
# tsc_early_khz: Bochs's TSC ticks at its ips rate (200 MHz, scripts/bochs.sh)
# while its CPUID leaves 15H/16H claim 3.5 GHz; natively Linux would believe
# them and its uptime would run 17.5 times slow, so both runs are told the
# true rate (under the hypervisor CPUID already says it: no change there).
cmdline="console=ttyS0 linuxtest=native quiet nokaslr tsc_early_khz=200000"

if ! tests/linux/prepare.sh $L > $T/linux-prepare.log 2>&1; then
	echo "bench: cannot prepare the Linux guest assets: $(tail -1 $T/linux-prepare.log)" >&2
	exit 1
fi
uptime_of() { # SERIAL: the uptime init printed
	tr -d '\r' < "$1" | sed -n 's/.*linux-test: init reached at uptime \([0-9.]*\) s.*/\1/p' | head -1
}

# Natively: GRUB boots the kernel and initramfs, no hypervisor.
scripts/mkiso.sh --linux $T/linux-native.iso $L/vmlinuz $L/initrd.img "$cmdline"
BOCHS_MEGS=192 scripts/bochs.sh $T/linux-native.iso $T/linux-native.serial 600
nat=$(uptime_of $T/linux-native.serial)
if [ -z "$nat" ]; then
	echo "bench: the native Linux boot did not reach init (see $T/linux-native.serial)" >&2
	exit 1
fi
echo "bench: linux_boot_native_uptime $nat s"

# --- Under the hypervisor: the same kernel, initramfs and command line; no
# disk (init loads no module).
printf 'vm name=linux mem=192M kernel=vmlinuz initrd=initrd.img cmdline="%s"\n' "$cmdline" > $T/linux.conf
scripts/mkiso.sh $T/linux-hv.iso "loglevel=warn" $T/linux.conf config $L/vmlinuz vmlinuz $L/initrd.img initrd.img
scripts/bochs.sh $T/linux-hv.iso $T/linux-hv.serial 900
hv=$(uptime_of $T/linux-hv.serial)
if [ -z "$hv" ]; then
	echo "bench: Linux under the hypervisor did not reach init (see $T/linux-hv.serial)" >&2
	exit 1
fi
echo "bench: linux_boot_under_hv_uptime $hv s"
awk -v h="$hv" -v n="$nat" 'BEGIN { printf "bench: linux_boot_vs_native %.2f ratio\n", h / n }'
# The exit statistics block vm_print_stats() prints at the VM's stop:
# "  REASON NAME   COUNT   AVERAGE_CYCLES" lines after its header.
tr -d '\r' < $T/linux-hv.serial | awk '
	/VM linux exit statistics/ { on = 1; next }
	on && /^  / {
		name = $1; for (i = 2; i <= NF - 2; i++) name = name "_" $i
		name = tolower(name); gsub(/[^a-z0-9]+/, "_", name); gsub(/^_|_$/, "", name)
		printf "bench: linux_boot_exits_%s %d exits\n", name, $(NF - 1); total += $(NF - 1); next
	}
	on { on = 0 }
	END { if (total) printf "bench: linux_boot_exits_total %d exits\n", total
	      else { print "bench: no exit statistics for VM linux in the log" > "/dev/stderr"; exit 1 } }'
