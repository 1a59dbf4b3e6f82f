#!/bin/sh
# make test-linux: only the Linux guest scenarios (issue 6): the guest
# assets checked in QEMU without the hypervisor (55), then Debian's kernel
# under the hypervisor in Bochs (60, slow). Ends with "N passed, M failed".
set -u
cd "$(dirname "$0")/.."
. tests/lib/harness.sh
. tests/linux/lib.sh
B=build
T=$B/test
mkdir -p $T
for t in tests/scenarios/*-linux*.sh; do
	echo "== scenario $(basename "$t" .sh)"
	. "$t"
done
summary
