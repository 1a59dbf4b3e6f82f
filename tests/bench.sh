#!/bin/sh
# make bench: figures measured in Bochs, whose TSC counts instructions
# deterministically. Each figure is one line "bench: NAME VALUE UNIT".
set -eu
cd "$(dirname "$0")/.."
B=build
T=$B/bench
mkdir -p $T

ticks() { tr -d '\r' < "$1" | sed -n "s/.*bench-guest: mode=$2 iterations=\([0-9]*\) ticks=\([0-9]*\).*/\1 \2/p" | tail -1; }

# The same CPUID loop, natively (GRUB boots the guest) and under the hypervisor.
scripts/mkiso.sh --native $T/cpuid-native.iso $B/guests/bench.elf
scripts/mkiso.sh $T/cpuid-hv.iso "loglevel=warn" $B/guests/bench.elf "name=bench mem=16M"
scripts/bochs.sh $T/cpuid-native.iso $T/cpuid-native.serial 300
scripts/bochs.sh $T/cpuid-hv.iso $T/cpuid-hv.serial 300
native=$(ticks $T/cpuid-native.serial native)
hv=$(ticks $T/cpuid-hv.serial hypervisor)
if [ -z "$native" ] || [ -z "$hv" ]; then
	echo "bench: the CPUID benchmark guest did not report (see $T/*.serial)" >&2
	exit 1
fi
n=${native%% *}
nt=${native#* }
ht=${hv#* }
echo "bench: cpuid_native_loop $((nt / n)) instructions"
echo "bench: cpuid_under_hv_loop $((ht / n)) instructions"
echo "bench: cpuid_roundtrip $(((ht - nt) / n)) instructions"
