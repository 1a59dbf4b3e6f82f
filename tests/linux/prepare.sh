#!/bin/sh
# prepare.sh OUTDIR: the guest side of the Linux test, built at test time.
#   OUTDIR/vmlinuz      Debian's stock kernel (the package linux-image-amd64
#                       currently depends on), unmodified
#   OUTDIR/initrd.img   gzip'd newc cpio: busybox-static, tests/linux/init,
#                       the modules that mount ext4 on a virtio-pci disk
#                       (from the same kernel package), a static fnv1a64
#   OUTDIR/disk.img     16 MiB ext4 with files of known SHA-256 and their
#                       manifest SHA256SUMS
#   OUTDIR/expected-new-file.sha256  checksum of the file the guest writes
# Nothing here is committed: it is downloaded (apt-get download, unpacked
# with dpkg-deb, nothing installed) or built. Cached: a step whose outputs
# exist and are newer than its inputs is skipped. POSIX sh.
set -eu
if [ $# -ne 1 ]; then echo "usage: $0 OUTDIR" >&2; exit 2; fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
say() { echo "prepare: $*"; }
die() { echo "prepare: error: $*" >&2; exit 1; }

# What this needs, and the Debian package that provides it.
for c in apt-get:apt apt-cache:apt dpkg-deb:dpkg cpio:cpio gzip:gzip mke2fs:e2fsprogs \
	gcc:gcc objcopy:binutils debugfs:e2fsprogs sha256sum:coreutils; do
	command -v "${c%%:*}" >/dev/null 2>&1 || die "${c%%:*} is missing (Debian package ${c#*:})"
done

# Timestamps for everything that goes into the images (reproducible output).
: "${SOURCE_DATE_EPOCH:=1700000000}"
export SOURCE_DATE_EPOCH

# newer OUT IN...: OUT exists and is newer than every IN.
newer() {
	o=$1; shift
	[ -e "$o" ] || return 1
	for i in "$@"; do [ "$o" -nt "$i" ] || return 1; done
}

# --- 1. The packages: downloaded into OUTDIR/debs, unpacked into OUTDIR/pkg.
apt_opts=""
# As root, apt-get download drops to the _apt user, which cannot write here;
# say so once instead of warning (the download is checked by apt anyway).
[ "$(id -u)" -eq 0 ] && apt_opts="-o APT::Sandbox::User=root"
updated=0
apt_update() {
	[ $updated = 0 ] || return 0
	updated=1
	if [ "$(id -u)" -ne 0 ]; then
		die "apt cannot find $1 and only root can run apt-get update (run it, then retry)"
	fi
	say "apt cannot find $1: apt-get update"
	apt-get update -qq || die "apt-get update failed (no network or no Debian mirror?)"
}

kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\).*/\1/p' | head -1
}
kpkg=$(kernel_pkg)
if [ -z "$kpkg" ]; then apt_update linux-image-amd64; kpkg=$(kernel_pkg); fi
[ -n "$kpkg" ] || die "apt knows no linux-image-amd64 (is this a Debian amd64 system with its main archive in sources.list?)"
say "kernel package: $kpkg (current dependency of linux-image-amd64)"

mkdir -p "$out/debs" "$out/pkg"
# fetch PKG: OUTDIR/debs/PKG_VERSION_*.deb for apt's candidate version,
# downloaded if absent (older versions removed); prints its path.
fetch() {
	ver=$(apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -1)
	deb=$(ls "$out/debs/$1_$(echo "$ver" | sed 's/:/%3a/')_"*.deb 2>/dev/null | head -1 || true)
	if [ -z "$ver" ] || [ -z "$deb" ]; then
		rm -f "$out/debs/$1"_*.deb
		if ! (cd "$out/debs" && apt-get download $apt_opts -qq "$1") >&2; then
			apt_update "$1" >&2
			(cd "$out/debs" && apt-get download $apt_opts -qq "$1") >&2 ||
				die "apt-get download $1 failed (no network or no Debian mirror?)"
		fi
		deb=$(ls "$out/debs/$1"_*.deb | head -1)
		say "downloaded $(basename "$deb")" >&2
	fi
	echo "$deb"
}
# unpack PKG DEB: OUTDIR/pkg/PKG holds the package's files.
unpack() {
	if ! newer "$out/pkg/$1/.unpacked" "$2"; then
		rm -rf "$out/pkg/$1"
		mkdir -p "$out/pkg/$1"
		dpkg-deb -x "$2" "$out/pkg/$1" || die "dpkg-deb -x $2 failed"
		touch "$out/pkg/$1/.unpacked"
	fi
}
kdeb=$(fetch "$kpkg")
unpack "$kpkg" "$kdeb"
bdeb=$(fetch busybox-static)
unpack busybox-static "$bdeb"
kdir=$out/pkg/$kpkg
busybox=$out/pkg/busybox-static/bin/busybox
[ -x "$busybox" ] || die "busybox-static has no bin/busybox"
kver=$(ls "$kdir/lib/modules" | head -1)
[ -n "$kver" ] || die "$kpkg holds no lib/modules"
[ -f "$kdir/boot/vmlinuz-$kver" ] || die "$kpkg holds no boot/vmlinuz-$kver"
if ! newer "$out/vmlinuz" "$kdir/boot/vmlinuz-$kver"; then
	cp "$kdir/boot/vmlinuz-$kver" "$out/vmlinuz"
fi
echo "$kver" > "$out/kernel-version.new"
cmp -s "$out/kernel-version.new" "$out/kernel-version" 2>/dev/null ||
	mv "$out/kernel-version.new" "$out/kernel-version"
rm -f "$out/kernel-version.new"

# --- 2. The modules, in load order. The package has no modules.dep (depmod
# writes it at install time), so read each module's own "depends=" from its
# .modinfo section and order them depth first.
mdir=$kdir/lib/modules/$kver
modfile() { # NAME: the module file (names use _ where files may use -)
	f=$(find "$mdir/kernel" -name "$1.ko*" | head -1)
	[ -n "$f" ] || f=$(find "$mdir/kernel" -name "$(echo "$1" | tr _ -).ko*" | head -1)
	[ -n "$f" ] || die "module $1 is not in $kpkg"
	echo "$f"
}
modinfo_tmp=$out/.modinfo
moddeps() { # NAME: the modules NAME depends on
	objcopy -O binary --only-section=.modinfo "$(modfile "$1")" "$modinfo_tmp" ||
		die "cannot read .modinfo of module $1"
	tr '\0' '\n' < "$modinfo_tmp" | sed -n 's/^depends=//p' | tr ',' ' '
}
order=""
visit() {
	case " $order " in *" $1 "*) return ;; esac
	for d in $(moddeps "$1"); do visit "$d"; done
	order="$order $1"
}
# virtio_pci finds the disk's PCI function, virtio_blk makes it /dev/vda,
# ext4 mounts it. ext4 and jbd2 also want crc32c ("softdep=pre:
# crypto-crc32c", an alias modprobe would resolve): its generic version,
# which any CPU runs, loads before them.
for m in virtio_pci virtio_blk crc32c_generic ext4; do visit "$m"; done
rm -f "$modinfo_tmp"
say "modules:$order"

# --- 3. A static fnv1a64 for the guest, the same code the host's uses.
fnv_src=$root/tests/tools/fnv1a64.c
if ! newer "$out/fnv1a64" "$fnv_src"; then
	[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || die "static libc is missing (Debian package libc6-dev)"
	gcc -static -O2 -Wall -Wextra -Werror -o "$out/fnv1a64" "$fnv_src" ||
		die "gcc -static could not build $fnv_src"
fi
# Same answer as the host tool (the hypervisor's checksum is the host's).
if [ -x "$root/build/tools/fnv1a64" ]; then
	a=$("$out/fnv1a64" "$busybox"); b=$("$root/build/tools/fnv1a64" "$busybox")
	[ "$a" = "$b" ] || die "static fnv1a64 says $a, build/tools/fnv1a64 says $b"
fi

# --- 4. The initramfs.
initrd_inputs="$here/init $here/prepare.sh $out/fnv1a64 $busybox $kdir/.unpacked $out/kernel-version"
if ! newer "$out/initrd.img" $initrd_inputs; then
	r=$out/initramfs
	rm -rf "$r"
	mkdir -p "$r/bin" "$r/sbin" "$r/lib/modules" "$r/dev" "$r/proc" "$r/sys" "$r/mnt" "$r/tmp" "$r/root"
	cp "$busybox" "$r/bin/busybox"
	# Every applet as a link to busybox, so #!/bin/sh and plain names work.
	for a in $("$busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$r/bin/$a"
	done
	cp "$here/init" "$r/init"
	chmod 755 "$r/init"
	cp "$out/fnv1a64" "$r/bin/fnv1a64"
	for m in $order; do
		f=$(modfile "$m")
		case $f in
		*.ko) cp "$f" "$r/lib/modules/$m.ko" ;;
		*.ko.xz) xz -dc "$f" > "$r/lib/modules/$m.ko" ;;
		*.ko.zst) zstd -qdc "$f" > "$r/lib/modules/$m.ko" ;;
		*) die "module file $f: unknown compression" ;;
		esac
		echo "$m" >> "$r/lib/modules/load-order"
	done
	echo "$kver" > "$r/lib/modules/kernel-version"
	find "$r" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	# /dev/console must exist before init runs (the kernel opens it for
	# init's stdin/stdout/stderr): a node needs root to create, so write
	# its cpio entry by hand, a first archive the kernel unpacks before
	# the second (the kernel reads concatenated archives).
	newc() { # NAME MODE RDEVMAJOR RDEVMINOR INO
		ns=$((${#1} + 1))
		printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
			"$5" "$2" 0 0 1 "$SOURCE_DATE_EPOCH" 0 0 0 "$3" "$4" "$ns" 0
		printf '%s\0' "$1"
		head -c $(((4 - (110 + ns) % 4) % 4)) /dev/zero
	}
	{
		newc dev $((0040755)) 0 0 1
		newc dev/console $((0020600)) 5 1 2
		newc TRAILER!!! 0 0 0 0
		(cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc --reproducible -R 0:0 --quiet)
	} | gzip -n -9 > "$out/initrd.img.tmp"
	mv "$out/initrd.img.tmp" "$out/initrd.img"
	say "initrd.img: $(wc -c < "$out/initrd.img") bytes"
fi

# --- 5. The disk: ext4 with files of known content, made by busybox's own
# tools so they are the same on any host.
disk_inputs="$here/prepare.sh $busybox"
if ! newer "$out/disk.img" $disk_inputs; then
	d=$out/disk-root
	rm -rf "$d"
	mkdir -p "$d/sub/dir"
	echo "Hello from the TextbookHV Linux guest test." > "$d/hello.txt"
	"$busybox" seq 1 50000 > "$d/numbers.txt"
	"$busybox" yes "TextbookHV: a type-1 hypervisor for Intel VT-x, meant to be read." |
		"$busybox" head -n 20000 > "$d/sub/dir/lines.txt"
	# 1 MiB of pseudo-random bytes: an LCG whose products stay exact in
	# awk's doubles (x < 2^31, times 48271 < 2^47).
	"$busybox" awk 'BEGIN { x = 20251122
		for (i = 0; i < 1048576; i++) { x = (x * 48271) % 2147483647; printf "%c", int(x / 8388608) }
	}' > "$d/random.bin"
	[ "$(wc -c < "$d/random.bin")" -eq 1048576 ] || die "random.bin is not 1 MiB (busybox awk printf %c)"
	# The file the guest writes on its first boot (tests/linux/init), as
	# computed here by the host's own seq: the guest checks its copy
	# against this on the second boot.
	seq 1 100000 | sha256sum | cut -d' ' -f1 > "$out/expected-new-file.sha256"
	cp "$out/expected-new-file.sha256" "$d/EXPECTED-NEW"
	(cd "$d" && sha256sum hello.txt numbers.txt sub/dir/lines.txt random.bin > SHA256SUMS)
	find "$d" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
	rm -f "$out/disk.img.tmp"
	# Fixed UUID, hash seed and time: the same image every time.
	E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mke2fs -q -F -t ext4 -L linuxtest \
		-U 5e1f7e57-0000-4000-8000-000000000001 \
		-E hash_seed=5e1f7e57-0000-4000-8000-000000000002,root_owner=0:0 \
		-d "$d" "$out/disk.img.tmp" 16M >/dev/null || die "mke2fs -d failed"
	# mke2fs -d copies each file's ctime, which touch cannot set, and its
	# owner, whoever ran this: set them.
	(cd "$d" && find . | sed 's|^\.||; s|^$|/|') | while read -r f; do
		for fv in "ctime @$SOURCE_DATE_EPOCH" "uid 0" "gid 0"; do
			echo "set_inode_field \"$f\" $fv"
		done
	done > "$out/debugfs.cmds"
	debugfs -w -f "$out/debugfs.cmds" "$out/disk.img.tmp" >/dev/null 2>&1 ||
		die "debugfs could not set the times and owners in the disk image"
	rm -f "$out/debugfs.cmds"
	mv "$out/disk.img.tmp" "$out/disk.img"
	say "disk.img: 16 MiB ext4"
fi

say "ready in $out: vmlinuz initrd.img disk.img ($kpkg)"
