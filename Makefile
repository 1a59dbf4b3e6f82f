# TextbookHV build. `make` builds build/hv.elf, `make iso` build/hv.iso,
# `make run` boots the demo, `make test` runs every test, `make bench` the
# benchmarks. CROSS_COMPILE=x86_64-elf- selects a cross toolchain.

CROSS_COMPILE ?=
CC      := $(CROSS_COMPILE)gcc
LD      := $(CROSS_COMPILE)ld
OBJCOPY := $(CROSS_COMPILE)objcopy
HOSTCC  ?= gcc
B       := build

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wundef -Wno-address-of-packed-member

# The hypervisor: freestanding, no red zone (interrupts would clobber it),
# no SSE/x87 (guest FPU state is never touched by host code).
HV_CFLAGS := -std=c11 -O2 -g -ffreestanding -fno-builtin -fno-stack-protector -fno-pic -fno-pie \
             -mno-red-zone -mgeneral-regs-only -mcmodel=kernel -fno-asynchronous-unwind-tables \
             -fno-omit-frame-pointer -m64 -I. -I$(B) $(WARN)
HV_ASFLAGS := -m64 -I. -I$(B) -D__ASSEMBLY__
HV_LDFLAGS := -nostdlib -static -z max-page-size=0x1000 -T linker.ld

HV_C_SRCS := $(filter-out vmx/asm_offsets.c,$(wildcard boot/*.c arch/x86/*.c vmx/*.c ept/*.c vm/*.c devices/*.c lib/*.c))
HV_S_SRCS := $(wildcard boot/*.S arch/x86/*.S vmx/*.S)
HV_OBJS   := $(patsubst %.c,$(B)/hv/%.o,$(HV_C_SRCS)) $(patsubst %.S,$(B)/hv/%.o,$(HV_S_SRCS))

.PHONY: all iso run run-basic test test-linux run-linux unit-test bench clean deps check-deps guests duplicates
# Keep intermediate objects (guest .o files): no rebuild on every run.
.SECONDARY:
all: $(B)/hv.elf

$(B)/asm-offsets.h: vmx/asm_offsets.c vm/vm.h vmx/vmcs.h
	@mkdir -p $(dir $@)
	$(CC) $(HV_CFLAGS) -S -o $(B)/asm_offsets.s $<
	@{ echo "/* Generated from vmx/asm_offsets.c: do not edit. */"; \
	   sed -n 's/.*->\([A-Z0-9_]*\) \$$\{0,1\}\([0-9-]*\).*/#define \1 \2/p' $(B)/asm_offsets.s; } > $@.tmp
	@mv $@.tmp $@

$(B)/hv/%.o: %.c | $(B)/asm-offsets.h
	@mkdir -p $(dir $@)
	$(CC) $(HV_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/hv/%.o: %.S $(B)/asm-offsets.h
	@mkdir -p $(dir $@)
	$(CC) $(HV_ASFLAGS) -MMD -MP -c -o $@ $<

$(B)/hv.elf: $(HV_OBJS) linker.ld
	$(LD) $(HV_LDFLAGS) -o $@ $(HV_OBJS)
	@if command -v grub-file >/dev/null; then grub-file --is-x86-multiboot2 $@ || \
	  { echo "error: $@ is not a Multiboot2 kernel" >&2; rm -f $@; exit 1; }; fi

-include $(shell find $(B)/hv -name '*.d' 2>/dev/null)

# --- Test guests: 32-bit freestanding ELFs that are also Multiboot2 kernels,
# so GRUB can boot each one natively for comparison (tests/guests/README.md).
GUEST_CFLAGS := -std=c11 -O2 -m32 -march=i686 -ffreestanding -fno-builtin -fno-stack-protector \
                -fno-pic -fno-pie -mgeneral-regs-only -fno-asynchronous-unwind-tables -I. $(WARN)
GUEST_NAMES := $(notdir $(patsubst %/,%,$(dir $(wildcard tests/guests/*/main.c))))
GUEST_COMMON := $(B)/guests/common/guest.o $(B)/guests/common/start.o
GUESTS := $(patsubst %,$(B)/guests/%.elf,$(GUEST_NAMES))
# A guest folder's own .S files are linked in; one with its own header.S
# does not get the default Multiboot2 header.
guest_asm = $(patsubst tests/guests/%.S,$(B)/guests/%.o,$(wildcard tests/guests/$(1)/*.S))
guest_header = $(if $(wildcard tests/guests/$(1)/header.S),,$(B)/guests/common/mb2_header.o)

guests: $(GUESTS) $(B)/guests/mb1.bin

$(B)/guests/%.o: tests/guests/%.c $(wildcard tests/guests/common/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<
$(B)/guests/%.o: tests/guests/%.S
	@mkdir -p $(dir $@)
	$(CC) -m32 -c -o $@ $<

.SECONDEXPANSION:
$(B)/guests/%.elf: $(B)/guests/%/main.o $$(call guest_asm,$$*) $$(call guest_header,$$*) $(GUEST_COMMON) tests/guests/common/guest.ld
	$(LD) -m elf_i386 -nostdlib -static --no-warn-rwx-segments -T tests/guests/common/guest.ld -o $@ $(filter %.o,$^)

# The Multiboot v1 test kernel is also a flat binary, loaded by the a.out
# kludge addresses of its header, as QEMU's -kernel and GRUB's multiboot do.
$(B)/guests/mb1.bin: $(B)/guests/mb1.elf
	$(OBJCOPY) -O binary $< $@

# --- ISO images
iso: $(B)/hv.iso
$(B)/hv.iso: $(B)/hv.elf $(B)/guests/basic.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ "loglevel=info" $(B)/guests/basic.elf "name=demo mem=32M"

# --- Host unit tests (cmocka, AddressSanitizer, UBSan)
UNIT_CFLAGS := -std=c11 -g -O1 -DHV_HOSTED -I. -fsanitize=address,undefined \
               -fno-sanitize-recover=all -fno-omit-frame-pointer $(WARN) -Wno-missing-prototypes
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/unit/%,$(wildcard tests/unit/test_*.c))
# Pure sources each unit test links against (see tests/unit/README.md).
UNIT_LIB_SRCS := lib/string.c lib/printf.c boot/multiboot2.c arch/x86/pmm.c arch/x86/acpi_host.c ept/ept.c \
                 vm/guest_mem.c vm/elf_loader.c vm/config.c vm/insn_decode.c vm/page_walk.c vm/cpuid_policy.c \
                 vm/guest_boot.c vm/linux_boot.c vm/aml.c vm/acpi.c vm/shell.c vm/console.c vmx/exit_reasons.c vmx/vmx_caps.c tests/unit/host_stubs.c
# Every device model is pure logic: all of devices/ is unit-testable.
UNIT_LIB_SRCS += $(wildcard devices/*.c)

# Sources only some tests link, as UNIT_EXTRA_<test>: the exit handlers run
# against the fake hardware of tests/unit/fake_hw.c.
UNIT_EXTRA_test_exit_table := vmx/handlers.c vmx/exit.c vmx/events.c vmx/msr.c vmx/apicv.c vmx/vmcs.c vmx/entry_check.c vmx/mmio.c vm/platform.c \
                              lib/log.c tests/unit/fake_hw.c
UNIT_EXTRA_test_entry_check := vmx/entry_check.c
# The ticket lock is also tested under host threads.
UNIT_EXTRA_test_spinlock := -pthread

$(B)/unit/%: tests/unit/%.c $(UNIT_LIB_SRCS) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $< $(UNIT_LIB_SRCS) $(UNIT_EXTRA_$*) -lcmocka

$(B)/unit/test_exit_table: $(UNIT_EXTRA_test_exit_table)
$(B)/unit/test_entry_check: vmx/entry_check.c

unit-test: $(UNIT_TESTS)
	@tests/run_unit.sh $(UNIT_TESTS)

# --- Fuzzing (libFuzzer from Debian's clang and libclang-rt-14-dev; tests/fuzz/README.md)
# The instruction decoder, the guest page walk and the virtio request path
# take bytes the guest controls: fuzz them with AddressSanitizer and UBSan.
# `make fuzz` runs each target for FUZZ_SECONDS, `make fuzz-smoke` for 10; a
# crash, a sanitizer report or a broken invariant fails the run and leaves
# the input in $(B)/fuzz/ (fuzz_virtio's in $(B)/fuzz/virtio-).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 120
FUZZ_CFLAGS  := -std=c11 -g -O1 -DHV_HOSTED -I. -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -fno-omit-frame-pointer $(WARN) -Wno-missing-prototypes
FUZZ_SRCS    := vm/insn_decode.c vm/page_walk.c vm/guest_mem.c
FUZZ_TARGET  := $(B)/fuzz/fuzz_decode
FUZZ_VIRTIO_SRCS   := devices/virtqueue.c devices/virtio_blk.c devices/ramdisk.c vm/guest_mem.c lib/string.c lib/printf.c
FUZZ_VIRTIO_TARGET := $(B)/fuzz/fuzz_virtio

.PHONY: fuzz fuzz-smoke
$(FUZZ_TARGET): tests/fuzz/fuzz_decode.c $(FUZZ_SRCS) vm/insn_decode.h vm/page_walk.h vm/guest_mem.h \
                lib/types.h lib/string.h arch/x86/cpu.h
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) not found (make deps)" >&2; exit 1; }
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_decode.c $(FUZZ_SRCS)

$(FUZZ_VIRTIO_TARGET): tests/fuzz/fuzz_virtio.c $(FUZZ_VIRTIO_SRCS) devices/virtqueue.h devices/virtio_blk.h \
                       devices/ramdisk.h devices/virtio.h vm/guest_mem.h lib/types.h lib/string.h
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: $(FUZZ_CC) not found (make deps)" >&2; exit 1; }
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_virtio.c $(FUZZ_VIRTIO_SRCS)

fuzz: $(FUZZ_TARGET) $(FUZZ_VIRTIO_TARGET)
	@mkdir -p $(B)/fuzz/corpus $(B)/fuzz/corpus-virtio
	$(FUZZ_TARGET) -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -print_final_stats=1 \
	    -dict=tests/fuzz/decode.dict -artifact_prefix=$(B)/fuzz/ $(B)/fuzz/corpus tests/fuzz/seeds
	$(FUZZ_VIRTIO_TARGET) -max_total_time=$(FUZZ_SECONDS) -max_len=16417 -timeout=10 -print_final_stats=1 \
	    -artifact_prefix=$(B)/fuzz/virtio- $(B)/fuzz/corpus-virtio tests/fuzz/seeds-virtio

fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

# --- Entry points
deps:
	@scripts/deps.sh install
check-deps:
	@scripts/deps.sh check

# The default demo: Debian's kernel with a busybox shell and its disk
# (tests/linux). `make run-basic` boots the small test guest instead.
run: check-deps $(B)/linux.iso
	scripts/run.sh $(B)/linux.iso

run-basic: check-deps $(B)/hv.iso
	scripts/run.sh $(B)/hv.iso

$(B)/tools/fnv1a64: tests/tools/fnv1a64.c
	@mkdir -p $(dir $@)
	$(HOSTCC) -O2 -Wall -Wextra -Werror -o $@ $<

test: check-deps all guests $(UNIT_TESTS) $(B)/tools/fnv1a64
	tests/run_all.sh

# The Linux guest scenarios only (tests/linux/, docs/linux-guest.md): the
# guest assets in QEMU, then Debian's kernel under the hypervisor in Bochs.
test-linux: check-deps all $(B)/tools/fnv1a64
	tests/run_linux.sh

# Debian's kernel under the hypervisor with a busybox shell on the serial
# console and its disk on /mnt (the guest assets of tests/linux/prepare.sh).
$(B)/linux.iso: $(B)/hv.elf tests/linux/prepare.sh tests/linux/init scripts/mkiso.sh
	tests/linux/prepare.sh $(B)/linux
	printf 'vm name=linux mem=192M kernel=vmlinuz initrd=initrd.img disk=disk.img cmdline="console=ttyS0 linuxtest=shell"\n' > $(B)/linux/run.conf
	scripts/mkiso.sh $@ "loglevel=info" $(B)/linux/run.conf config $(B)/linux/vmlinuz vmlinuz \
	    $(B)/linux/initrd.img initrd.img $(B)/linux/disk.img disk.img
run-linux: check-deps $(B)/linux.iso
	scripts/run.sh $(B)/linux.iso

bench: check-deps all guests $(B)/tools/fnv1a64
	tests/bench.sh

duplicates:
	duplicates .

clean:
	rm -rf $(B)
