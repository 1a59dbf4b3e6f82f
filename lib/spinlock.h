/* A ticket spinlock: CPUs are served in the order they asked, so no CPU
 * waits forever behind faster ones. `next` is the ticket handed to the next
 * CPU that asks, `owner` the ticket being served; the lock is free when they
 * are equal. LOCK XADD takes a ticket atomically (SDM Vol. 2B XADD, Vol. 3A
 * 9.1.2.2 "Software Controlled Bus Locking"); PAUSE in the wait loop tells
 * the CPU it is a spin-wait (SDM Vol. 2B PAUSE). The acquire/release orders
 * keep the protected accesses inside the lock (C11 7.17.3). Works in both
 * builds: the hypervisor and the host unit tests. */
#ifndef LIB_SPINLOCK_H
#define LIB_SPINLOCK_H

#include "lib/types.h"

struct ticket_lock {
	uint32_t next;  /* the ticket the next caller gets */
	uint32_t owner; /* the ticket now holding the lock */
};

#define TICKET_LOCK_INIT { 0, 0 }

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline void ticket_lock(struct ticket_lock *l)
{
	uint32_t me = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != me)
		cpu_relax();
}

/* Take the lock only if nobody holds or waits for it. */
static inline bool ticket_trylock(struct ticket_lock *l)
{
	uint32_t o = __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE);
	uint32_t expected = o;
	/* Our ticket is o, the one being served, only if next is still o. */
	return __atomic_compare_exchange_n(&l->next, &expected, o + 1, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

static inline void ticket_unlock(struct ticket_lock *l)
{
	/* Only the holder writes owner: a plain read of it is ours. */
	__atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

static inline bool ticket_is_locked(struct ticket_lock *l)
{
	return __atomic_load_n(&l->next, __ATOMIC_RELAXED) !=
	       __atomic_load_n(&l->owner, __ATOMIC_RELAXED);
}

#endif
