# The first guest under the hypervisor in Bochs: banner, VMX features, the
# guest's own checks, its exit code.
iso=$T/basic.iso
log=$T/basic.serial
mkiso $iso "loglevel=info" $B/guests/basic.elf "name=basic mem=32M"
scripts/bochs.sh $iso $log 300
expect "basic: banner" $log '^TextbookHV [0-9.]+ - a bare-metal VT-x hypervisor'
expect "basic: memory map printed" $log '^  [0-9a-f]{16}-[0-9a-f]{16} available'
expect "basic: module listed with its string" $log "bytes 'name=basic mem=32M'"
expect "basic: VMX features printed" $log '^  EPT 2 MiB pages +yes'
expect "basic: unrestricted guest found" $log '^  unrestricted guest +yes'
expect "basic: VMXON" $log 'VMX root operation entered'
expect "basic: EPT built with 2 MiB pages" $log 'VM basic: 1 vCPU, 32 MiB RAM .* 16 x 2M'
expect "basic: guest output forwarded with the VM name" $log '^\[basic\] basic guest: hello from VMX non-root mode'
expect "basic: COM2 output is printed with the port's name" $log '^\[basic:COM2\] second channel on COM2'
guest_checks "basic" $log basic
expect "basic: guest summary" $log '^\[basic\] RESULT: [0-9]+ passed, 0 failed'
expect "basic: exit statistics printed" $log '^  CPUID +[0-9]+'
expect "basic: exit code 0 printed" $log 'VM basic finished with exit code 0'
expect "basic: machine stopped cleanly" $log 'all VMs done: 1 ran, 0 failed, 0 refused'
