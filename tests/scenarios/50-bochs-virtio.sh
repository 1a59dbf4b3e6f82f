# virtio-blk over a ramdisk, driven by the virtio guest's own driver over
# virtio-pci: a writable disk image served in place (its final checksum is
# checked against the same writes applied here), a read-only image (checksum
# unchanged), an empty disk; hostile requests fail without harm.
iso=$T/virtio.iso
log=$T/virtio.serial
head -c 1048576 /dev/urandom > $T/rw.img
head -c 524288 /dev/urandom > $T/ro.img
head -c 1048576 /dev/urandom > $T/mm.img
cp $T/mm.img $T/mm.expected
cp $T/rw.img $T/rw.expected
# Both writable disks get the guest's writes over their own random contents.
virtio_guest_writes $T/rw.expected
virtio_guest_writes $T/mm.expected
cat > $T/virtio.conf <<'EOC'
vm name=vrw mem=16M kernel=virtio.elf disk=rw.img
vm name=vro mem=16M kernel=virtio.elf disk=ro.img disk_ro=yes cmdline="ro"
vm name=vempty mem=16M kernel=virtio.elf disk_size=4M
vm name=vmmio mem=16M kernel=virtio.elf disk=mm.img disk_transport=mmio cmdline="mmio"
EOC
mkiso $iso "loglevel=info" $T/virtio.conf config $B/guests/virtio.elf virtio.elf \
	$T/rw.img rw.img $T/ro.img ro.img $T/mm.img mm.img
scripts/bochs.sh $iso $log 300
for vm in vrw vro vempty vmmio; do
	guest_checks "virtio: $vm" $log $vm
	expect "virtio: $vm finished" $log "VM $vm finished with exit code 0"
done
expect "virtio: the disk is a virtio-pci function" $log 'VM vrw: virtio-blk disk of 2048 sectors over virtio-pci at 00:02.0'
expect "virtio: the written disk holds exactly what was written" $log \
	"VM vrw disk: 1048576 bytes, checksum fnv1a64 $($B/tools/fnv1a64 $T/rw.expected)"
expect "virtio: the read-only disk is unchanged" $log \
	"VM vro disk: 524288 bytes, checksum fnv1a64 $($B/tools/fnv1a64 $T/ro.img)"
expect "virtio: the virtio-mmio disk was attached" $log 'VM vmmio: virtio-blk disk of 2048 sectors over virtio-mmio'
expect "virtio: the virtio-mmio disk holds exactly what was written" $log \
	"VM vmmio disk: 1048576 bytes, checksum fnv1a64 $($B/tools/fnv1a64 $T/mm.expected)"
expect "virtio: every VM ran" $log 'all VMs done: 4 ran, 0 failed, 0 refused'
