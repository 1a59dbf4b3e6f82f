#!/bin/sh
# make bench: figures measured in Bochs, whose TSC counts instructions
# deterministically. The bench guest runs natively (GRUB boots it) and under
# the hypervisor in the same run; each figure is one line
# "bench: NAME VALUE UNIT" (docs/benchmarks.md explains them). The guest
# runs under the hypervisor twice: with APIC virtualization (the plain
# eoi and timer_irq figures) and with apicv=no (the _noapicv ones).
set -eu
cd "$(dirname "$0")/.."
B=build
T=$B/bench
mkdir -p $T

field() { # LOG MODE TEST KEY
	tr -d '\r' < "$1" | sed -n "s/.*bench-guest: mode=$2 test=$3 .*$4=\([0-9]*\).*/\1/p" | tail -1
}

scripts/mkiso.sh --native $T/native.iso $B/guests/bench.elf
scripts/mkiso.sh $T/hv.iso "loglevel=info" $B/guests/bench.elf "name=bench mem=16M"
scripts/mkiso.sh $T/hv_noapicv.iso "loglevel=info" $B/guests/bench.elf "name=bench mem=16M apicv=no"
scripts/bochs.sh $T/native.iso $T/native.serial 300
scripts/bochs.sh $T/hv.iso $T/hv.serial 300
scripts/bochs.sh $T/hv_noapicv.iso $T/hv_noapicv.serial 300
if ! grep -q 'VM bench: APIC virtualization: on' $T/hv.serial ||
   ! grep -q 'VM bench: APIC virtualization: off' $T/hv_noapicv.serial; then
	echo "bench: expected one run with APIC virtualization and one without (see $T/hv*.serial)" >&2
	exit 1
fi

n=$(field $T/native.serial native cpuid iterations)
for v in "$(field $T/native.serial native cpuid ticks)" "$(field $T/hv.serial hypervisor cpuid ticks)" \
	"$(field $T/native.serial native eoi ticks)" "$n"; do
	if [ -z "$v" ]; then
		echo "bench: a benchmark guest did not report (see $T/*.serial)" >&2
		exit 1
	fi
done
cn=$(field $T/native.serial native cpuid ticks); ch=$(field $T/hv.serial hypervisor cpuid ticks)
en=$(field $T/native.serial native eoi ticks)
nq=$(field $T/native.serial native timer_irq quiet); nz=$(field $T/native.serial native timer_irq noisy)
nk=$(field $T/native.serial native timer_irq interrupts)
echo "bench: cpuid_native_loop $((cn / n)) instructions"
echo "bench: cpuid_under_hv_loop $((ch / n)) instructions"
echo "bench: cpuid_roundtrip $(((ch - cn) / n)) instructions"

# eoi and timer_irq from one hypervisor run: SERIAL SUFFIX
apic_figures() {
	eh=$(field $1 hypervisor eoi ticks)
	q=$(field $1 hypervisor timer_irq quiet); z=$(field $1 hypervisor timer_irq noisy)
	k=$(field $1 hypervisor timer_irq interrupts)
	if [ -z "$eh" ] || [ -z "$k" ]; then
		echo "bench: a benchmark guest did not report (see $1)" >&2
		exit 1
	fi
	echo "bench: eoi$2 $(((eh - en) / n)) instructions"
	if [ "$k" -gt 0 ] && [ "$nk" -gt 0 ]; then
		# Extra ticks per interrupt under the hypervisor, minus the same
		# measured natively (the guest's own handler and the CPU's delivery).
		hv_per=$(((z - q) / k)); nat_per=$(((nz - nq) / nk))
		echo "bench: timer_irq$2 $((hv_per - nat_per)) instructions"
	else
		echo "bench: timer_irq$2: no timer interrupt arrived (natively $nk, under the hypervisor $k)" >&2
		exit 1
	fi
}
apic_figures $T/hv.serial ""
apic_figures $T/hv_noapicv.serial _noapicv

# virtio-blk: 1 MiB sequential, 4 KiB and 64 KiB requests, queue depth 1 and
# 16, against the guest copying 1 MiB itself (REP MOVSD). Ratios above 1 mean
# the disk moved data in fewer guest-TSC ticks than the guest's own copy.
printf 'vm name=blkbench mem=32M kernel=virtio.elf disk_size=8M cmdline="bench"\n' > $T/blk.conf
scripts/mkiso.sh $T/blk.iso "loglevel=warn" $T/blk.conf config $B/guests/virtio.elf virtio.elf
scripts/bochs.sh $T/blk.iso $T/blk.serial 300
tr -d '\r' < $T/blk.serial | grep 'blkbench: size=' > $T/blk.lines || true
if [ ! -s $T/blk.lines ]; then
	echo "bench: the virtio-blk benchmark did not report (see $T/blk.serial)" >&2
	exit 1
fi
awk '{
	for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	size = v["size"] / 1024; qd = v["depth"]
	printf "bench: blk_read_%dk_qd%d %d instructions_per_mib\n", size, qd, v["read_ticks"]
	printf "bench: blk_write_%dk_qd%d %d instructions_per_mib\n", size, qd, v["write_ticks"]
	printf "bench: blk_read_%dk_qd%d_vs_memcpy %.2f ratio\n", size, qd, v["memcpy_ticks"] / v["read_ticks"]
	printf "bench: blk_write_%dk_qd%d_vs_memcpy %.2f ratio\n", size, qd, v["memcpy_ticks"] / v["write_ticks"]
	printf "bench: blk_exits_per_req_%dk_qd%d %.3f exits\n", size, qd, v["read_exits"] / v["requests"]
	if (qd == 16 && size == 4) printf "bench: blk_exits_per_req_qd16 %.3f exits\n", v["read_exits"] / v["requests"]
}' $T/blk.lines

# IPIs between vCPUs (issue 7): the smp guest ping-pongs 1000 fixed IPIs
# between its BSP and an AP that halts in between (tests/guests/smp),
# natively on a two-CPU Bochs and under the hypervisor with 2 vCPUs, on two
# CPUs (each vCPU pinned) and on one (time-shared). One IPI is half a round
# trip: the sender's ICR write to the receiver's handler, the guest's own
# instructions included.
ipi_ticks() { tr -d '\r' < "$1" | sed -n 's/.*smp-guest: ipi roundtrips=\([0-9]*\) ticks=\([0-9]*\).*/\1 \2/p' | tail -1; }
scripts/mkiso.sh --native $T/smp-native.iso $B/guests/smp.elf "cpus=2"
printf 'vm name=smp mem=32M vcpus=2 kernel=smp.elf cmdline="cpus=2"\n' > $T/smp.conf
scripts/mkiso.sh $T/smp-hv.iso "loglevel=warn" $T/smp.conf config $B/guests/smp.elf smp.elf
scripts/bochs.sh $T/smp-native.iso $T/smp-native.serial 300 2
scripts/bochs.sh $T/smp-hv.iso $T/smp-hv.serial 300 2
scripts/bochs.sh $T/smp-hv.iso $T/smp-hv1.serial 300 1
set -- $(ipi_ticks $T/smp-native.serial) $(ipi_ticks $T/smp-hv.serial) $(ipi_ticks $T/smp-hv1.serial)
if [ $# -ne 6 ]; then
	echo "bench: the smp guest did not report its IPI round trips (see $T/smp-*.serial)" >&2
	exit 1
fi
echo "bench: ipi_native $(($2 / $1 / 2)) instructions"
echo "bench: ipi $(($4 / $3 / 2)) instructions"
echo "bench: ipi_timeshared $(($6 / $5 / 2)) instructions"

# Two VMs doing disk I/O at once (issue 7): the virtio-blk benchmark above in
# two VMs started together on two CPUs (one each; both run in the same guest
# time, so their transfers overlap). Per VM: instructions (guest TSC ticks)
# per MiB read with 64 KiB requests, 16 in flight; aggregate: both VMs' MiB
# per instruction against one VM alone above (2.00 = twice the throughput
# of one VM: nothing they share slows either). Not measured on one CPU:
# each 1 MiB transfer takes less than a 10 ms slice, so two VMs sharing a
# CPU take turns rather than overlap, and each would report its
# undisturbed figure.
printf 'vm name=blk1 mem=32M kernel=virtio.elf disk_size=8M cmdline="bench"\nvm name=blk2 mem=32M kernel=virtio.elf disk_size=8M cmdline="bench"\n' > $T/blk2.conf
scripts/mkiso.sh $T/blk2.iso "loglevel=warn" $T/blk2.conf config $B/guests/virtio.elf virtio.elf
scripts/bochs.sh $T/blk2.iso $T/blk2-2cpu.serial 300 2
one=$(sed -n 's/.*size=65536 depth=16 .*read_ticks=\([0-9]*\).*/\1/p' $T/blk.lines | tail -1)
for cpus in 2; do
	tr -d '\r' < $T/blk2-${cpus}cpu.serial | sed -n 's/^\[\(blk[12]\)\] blkbench: size=65536 depth=16 .*read_ticks=\([0-9]*\).*/\1 \2/p' > $T/blk2-$cpus.lines
	if [ "$(wc -l < $T/blk2-$cpus.lines)" -ne 2 ] || [ -z "$one" ]; then
		echo "bench: the two-VM disk benchmark did not report (see $T/blk2-${cpus}cpu.serial)" >&2
		exit 1
	fi
	awk -v one="$one" -v cpus=$cpus '{ t[NR] = $2 } END {
		printf "bench: blk_2vms_%dcpu_read_64k_qd16 %d instructions_per_mib\n", cpus, (t[1] + t[2]) / 2
		printf "bench: blk_2vms_%dcpu_aggregate_vs_1vm %.2f ratio\n", cpus, one / t[1] + one / t[2]
	}' $T/blk2-$cpus.lines
done

# Debian's stock kernel booting to init, natively and under the hypervisor
# (issue 6): tests/linux/bench.sh. SKIP_LINUX=1 leaves it out.
if [ -z "${SKIP_LINUX:-}" ]; then
	tests/linux/bench.sh
fi
