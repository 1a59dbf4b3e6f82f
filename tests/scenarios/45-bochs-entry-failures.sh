# VM-entry failures explained: each VM has one VMCS rule broken on purpose
# (selftest=break-..., vmx/selftest.c); the entry fails, and the software
# check of SDM 27.2/27.3 (vmx/entry_check.c) must name that rule and its
# section. The last VM is unbroken and must still run to the end.
iso=$T/entryfail.iso
log=$T/entryfail.serial
conf=$T/entryfail.conf
: > $conf
for b in cr0-pg-without-pe cr4-vmxe rflags-bit1 cs-type tr-type ss-present ldtr-usable \
	gdtr-limit activity-state sti-and-mov-ss link-pointer dr7-high host-tr host-rip \
	entry-intr-info cr3-target-count; do
	echo "vm name=$b mem=4M kernel=basic.elf selftest=break-$b" >> $conf
done
echo "vm name=intact mem=8M kernel=basic.elf" >> $conf
mkiso $iso "loglevel=info" $conf config $B/guests/basic.elf basic.elf
scripts/bochs.sh $iso $log 300
e() { expect "entry-fail: $1" $log "VM $1: VM entry check: $2"; }
e cr0-pg-without-pe 'guest-state area: guest CR0.PG = 1 requires CR0.PE = 1 \(SDM 27.3.1.1\): GUEST_CR0='
e cr4-vmxe 'guest-state area: guest CR4 must set every bit IA32_VMX_CR4_FIXED0 sets \(SDM 27.3.1.1\)'
e rflags-bit1 'guest-state area: RFLAGS bit 1 \(reserved\) must be 1 \(SDM 27.3.1.4\)'
e cs-type 'guest-state area: CS type must be an accessed code segment .* \(SDM 27.3.1.2\): GUEST_CS_AR_BYTES'
e tr-type 'guest-state area: TR must be a busy TSS.* \(SDM 27.3.1.2\): GUEST_TR_AR_BYTES'
e ss-present 'guest-state area: CS and usable SS, DS, ES, FS, GS must be present .* GUEST_SS_AR_BYTES'
e ldtr-usable 'guest-state area: a usable LDTR must be a system segment .* GUEST_LDTR_AR_BYTES'
e gdtr-limit 'guest-state area: GDTR limit bits 31:16 must be 0 \(SDM 27.3.1.3\)'
e activity-state 'guest-state area: the activity state must be one the CPU supports .* \(SDM 27.3.1.5\)'
e sti-and-mov-ss 'guest-state area: blocking by STI and by MOV SS cannot both be 1 \(SDM 27.3.1.5\)'
e link-pointer 'guest-state area: the VMCS link pointer must be FFFFFFFF_FFFFFFFFH .* VMCS_LINK_POINTER=0x1000'
e dr7-high 'guest-state area: with "load debug controls", guest DR7 bits 63:32 must be 0'
e host-tr 'host-state area: the host TR selector must not be 0 \(SDM 27.2.3\)'
e host-rip 'host-state area: a 64-bit host .* must have a canonical RIP \(SDM 27.2.4\)'
e entry-intr-info 'VMX controls: injected event: deliver-error-code .* \(SDM 27.2.1.3\)'
e cr3-target-count 'VMX controls: the CR3-target count must not be greater than 4 \(SDM 27.2.1.1\)'
expect "entry-fail: guest-state failures come as exit reason 33" $log 'VM tr-type stopped: VM entry failed: VM-entry failure due to invalid guest state \(exit reason 33\)'
expect "entry-fail: host-state failures come as VM-instruction error 8" $log 'VM host-tr stopped: VM entry failed: VM-instruction error 8 \(VM entry with invalid host-state field\(s\)\)'
expect "entry-fail: control failures come as VM-instruction error 7" $log 'VM cr3-target-count stopped: VM entry failed: VM-instruction error 7'
expect "entry-fail: the VMCS is dumped" $log '^    GUEST_CS_AR_BYTES +[0-9a-f]{16}'
guest_checks "entry-fail: intact" $log intact
expect "entry-fail: the intact VM ran after 16 failures" $log 'VM intact finished with exit code 0'
expect "entry-fail: summary" $log 'all VMs done: 17 ran, 16 failed, 0 refused'
