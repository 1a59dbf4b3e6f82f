#!/bin/sh
# bochs.sh ISO SERIAL_OUT [TIMEOUT_SECONDS] [CPU_COUNT]
#   Boots ISO in Bochs with VT-x (cpu model corei7_skylake_x), headless,
#   COM1 captured to SERIAL_OUT. Recipe and reasons: ../shared/DESIGN.md.
#   Bochs's own exit status means little (the shutdown port is reported as
#   a panic): callers judge by SERIAL_OUT. BOCHS_MEGS sets the RAM (256).
set -eu
iso=$1; out=$2; timeout_s=${3:-120}; cpus=${4:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# COM1 goes to SERIAL_OUT. With BOCHS_COM1_SOCKET=HOST:PORT, Bochs connects COM1 to that TCP socket,
# both ways (mode=socket-client): a test driver listening there types to the
# hypervisor and writes SERIAL_OUT itself (tests/tools/serial_driver.py).
if [ -n "${BOCHS_COM1_SOCKET:-}" ]; then
	com1="com1: enabled=1, mode=socket-client, dev=$BOCHS_COM1_SOCKET"
else
	com1="com1: enabled=1, mode=file, dev=$(realpath -m "$out")"
fi
cat > "$work/bochsrc" <<EOC
megs: ${BOCHS_MEGS:-256}
cpu: model=corei7_skylake_x, count=$cpus, ips=200000000, reset_on_triple_fault=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=$(realpath "$iso"), status=inserted
boot: cdrom
$com1
display_library: sdl2
speaker: enabled=0
clock: sync=none, time0=local
log: $work/bochs.log
panic: action=fatal
error: action=report
info: action=ignore
debug: action=ignore
EOC
echo c > "$work/rc"
[ -n "${BOCHS_COM1_SOCKET:-}" ] || : > "$out"
# The debugger build stops at a prompt: -rc feeds it "c"ontinue.
SDL_VIDEODRIVER=dummy timeout "$timeout_s" bochs -q -f "$work/bochsrc" -rc "$work/rc" \
	</dev/null >"$work/stdout" 2>&1 || true
if [ -n "${BOCHS_LOG:-}" ]; then cp "$work/bochs.log" "$BOCHS_LOG"; fi
