# A host exception prints vector, error code, RIP, CR2 and every register,
# then stops the machine (selftest=host-fault executes UD2 in the hypervisor).
iso=$T/hostfault.iso
log=$T/hostfault.serial
mkiso $iso "selftest=host-fault" $B/guests/basic.elf "name=never"
scripts/bochs.sh $iso $log 120
expect "host-fault: vector named" $log '^\[hv PANIC\] host exception 6 \(#UD invalid opcode\) on CPU 0, error code 0x0'
expect "host-fault: RIP and CR2 shown" $log '^  RSP [0-9a-f]{16}  SS 0010  CR2 [0-9a-f]{16}'
expect "host-fault: registers shown" $log '^  R13 [0-9a-f]{16}  R14 [0-9a-f]{16}  R15 1122334455667788'
expect "host-fault: machine stopped" $log 'the hypervisor cannot continue; stopping the machine'
expect_not "host-fault: no guest ran" $log 'VM never: starting'
