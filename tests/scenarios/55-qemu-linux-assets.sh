# The Linux guest test's assets checked in QEMU (TCG) without the
# hypervisor: Debian's stock kernel, the busybox initramfs and the ext4 disk
# that 60-bochs-linux.sh boots under the hypervisor, booted by QEMU's own
# loader with a virtio-blk-pci disk. It proves the guest side (modules,
# checks, reboot, the final disk checksum) apart from the hypervisor, in
# about 15 s. SKIP_LINUX=1 skips it (it downloads Debian packages).
if [ -n "${SKIP_LINUX:-}" ]; then
	echo "  skip (SKIP_LINUX is set)"
elif linux_prepare; then
	LINUX_QEMU_CHECK_LIB=1
	. tests/linux/qemu-check.sh
	linux_qemu_check build/linux
fi
