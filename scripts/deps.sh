#!/bin/sh
# deps.sh check|install: the Debian packages the build, `make run` and
# `make test` need. `check` names what is missing and how to get it;
# `install` installs it with apt-get (as root).
set -eu
PKGS="gcc binutils make grub-pc-bin grub-common xorriso mtools bochs bochsbios vgabios bochs-sdl qemu-system-x86 libcmocka-dev clang libclang-rt-14-dev cpio e2fsprogs libc6-dev"
# command or file that proves each package is there
probe() {
	case $1 in
	gcc) command -v gcc ;; binutils) command -v ld ;; make) command -v make ;;
	grub-pc-bin) test -d /usr/lib/grub/i386-pc && echo ok ;;
	grub-common) command -v grub-mkrescue ;; xorriso) command -v xorriso ;;
	mtools) command -v mformat ;; bochs) command -v bochs ;;
	bochsbios) test -f /usr/share/bochs/BIOS-bochs-latest && echo ok ;;
	vgabios) test -f /usr/share/vgabios/vgabios.bin && echo ok ;;
	bochs-sdl) ls /usr/lib/*/bochs/plugins/libbx_sdl2* >/dev/null 2>&1 && echo ok ;;
	qemu-system-x86) command -v qemu-system-x86_64 ;;
	libcmocka-dev) test -f /usr/include/cmocka.h && echo ok ;;
	clang) command -v clang ;;
	libclang-rt-14-dev) ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a ;;
	# The Linux guest test (tests/linux/prepare.sh) downloads Debian's
	# kernel and busybox-static with apt-get download (nothing installed)
	# and builds its initramfs (cpio), ext4 disk (mke2fs, debugfs) and a
	# static fnv1a64 (libc.a).
	cpio) command -v cpio ;;
	e2fsprogs) command -v mke2fs && command -v debugfs ;;
	libc6-dev) test -f /usr/lib/x86_64-linux-gnu/libc.a && echo ok ;;
	esac
}
missing=""
for p in $PKGS; do
	probe "$p" >/dev/null 2>&1 || missing="$missing $p"
done
case ${1:-check} in
check)
	if [ -n "$missing" ]; then
		echo "missing packages:$missing" >&2
		echo "install them with: sudo apt-get install$missing   (or: make deps)" >&2
		exit 1
	fi ;;
install)
	if [ -n "$missing" ]; then
		echo "installing:$missing"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
	fi ;;
esac
