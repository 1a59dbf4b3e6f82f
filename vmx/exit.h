/* The VM-exit path: what an exit handler receives and may do. */
#ifndef VMX_EXIT_H
#define VMX_EXIT_H

#include "lib/types.h"
#include "vm/vm.h"
#include "vmx/events.h"

/* The exit-information fields a handler may ask for (SDM 25.9). */
#define NEED_QUALIFICATION BIT(0)
#define NEED_INSTRUCTION_LEN BIT(1)
#define NEED_GUEST_PHYSICAL BIT(2)
#define NEED_GUEST_LINEAR BIT(3)
#define NEED_INTR_INFO BIT(4)

struct vmexit {
	uint32_t reason;        /* basic exit reason, bits 15:0 */
	uint32_t full_reason;
	uint64_t qualification;
	uint32_t instruction_len;
	uint64_t guest_physical;
	uint64_t guest_linear;
	uint32_t intr_info, intr_error_code;
	uint32_t idt_vectoring_info; /* valid bit set: the exit interrupted event delivery */
	uint64_t rip;
};

typedef void (*exit_handler_fn)(struct vcpu *v, const struct vmexit *e);

struct exit_handler {
	exit_handler_fn fn;
	uint32_t needs; /* NEED_* fields read before the call */
};

/* The table: one entry per basic exit reason; a NULL fn is "unhandled". */
extern const struct exit_handler exit_handlers[EXIT_REASON_TABLE_SIZE];

/* Helpers for handlers (vmx/exit.c). */
void vcpu_skip_instruction(struct vcpu *v, const struct vmexit *e);
uint64_t vcpu_gpr_read(struct vcpu *v, unsigned reg);
void vcpu_gpr_write(struct vcpu *v, unsigned reg, uint64_t value);
unsigned vcpu_cpl(void);
uint64_t vcpu_guest_cr0(void);
uint64_t vcpu_guest_cr4(void);
bool vcpu_in_long_mode(void);
void vcpu_dump(struct vcpu *v);
/* Print the ring of the last exits. */
void vcpu_print_trace(const struct vcpu *v);
/* Stop the VM with the exit's reason, qualification, RIP and registers. */
void vcpu_stop_with_dump(struct vcpu *v, const struct vmexit *e, const char *why);

#endif
