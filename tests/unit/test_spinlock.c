/* lib/spinlock.h: the ticket lock's single-threaded rules, its wrap-around,
 * and mutual exclusion and FIFO service under real host threads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>

#include "lib/spinlock.h"

static void test_free_lock_is_taken_and_given_back(void **state)
{
	(void)state;
	struct ticket_lock l = TICKET_LOCK_INIT;
	assert_false(ticket_is_locked(&l));
	ticket_lock(&l);
	assert_true(ticket_is_locked(&l));
	assert_int_equal(l.next, 1);
	assert_int_equal(l.owner, 0);
	ticket_unlock(&l);
	assert_false(ticket_is_locked(&l));
	assert_int_equal(l.owner, 1);
}

static void test_trylock(void **state)
{
	(void)state;
	struct ticket_lock l = TICKET_LOCK_INIT;
	assert_true(ticket_trylock(&l));
	/* Held: a second try fails and takes no ticket. */
	assert_false(ticket_trylock(&l));
	assert_false(ticket_trylock(&l));
	assert_int_equal(l.next, 1);
	ticket_unlock(&l);
	assert_false(ticket_is_locked(&l));
	assert_true(ticket_trylock(&l));
	ticket_unlock(&l);
	assert_int_equal(l.next, 2);
	assert_int_equal(l.owner, 2);
}

static void test_trylock_fails_when_someone_waits(void **state)
{
	(void)state;
	/* A holder (ticket 0) and a waiter (ticket 1): the lock is not free
	 * even after the holder leaves, until the waiter has had its turn. */
	struct ticket_lock l = { .next = 2, .owner = 0 };
	assert_false(ticket_trylock(&l));
	ticket_unlock(&l); /* holder leaves: ticket 1 is served */
	assert_false(ticket_trylock(&l));
	assert_true(ticket_is_locked(&l));
	ticket_unlock(&l); /* the waiter leaves */
	assert_true(ticket_trylock(&l));
}

static void test_tickets_wrap_around(void **state)
{
	(void)state;
	struct ticket_lock l = { .next = UINT32_MAX, .owner = UINT32_MAX };
	ticket_lock(&l);
	assert_int_equal(l.next, 0);
	ticket_unlock(&l);
	assert_int_equal(l.owner, 0);
	assert_false(ticket_is_locked(&l));
	assert_true(ticket_trylock(&l));
	ticket_unlock(&l);
}

/* Threads: each adds to a counter with a non-atomic read-modify-write
 * spread over two statements, inside the lock. Without mutual exclusion
 * increments are lost. */
#define THREADS 4
#define ROUNDS 20000
static struct ticket_lock shared_lock = TICKET_LOCK_INIT;
static volatile uint64_t shared_counter;
static volatile unsigned inside;
static volatile unsigned max_inside;

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		ticket_lock(&shared_lock);
		unsigned n = ++inside;
		if (n > max_inside)
			max_inside = n;
		uint64_t v = shared_counter;
		if ((i & 63) == 0)
			sched_yield();
		shared_counter = v + 1;
		inside--;
		ticket_unlock(&shared_lock);
	}
	return NULL;
}

static void test_mutual_exclusion_between_threads(void **state)
{
	(void)state;
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(shared_counter, (uint64_t)THREADS * ROUNDS);
	assert_int_equal(max_inside, 1);
	assert_false(ticket_is_locked(&shared_lock));
}

/* FIFO: while the main thread holds the lock, threads queue one after
 * another (each waits until the previous one has taken its ticket); they
 * must then be served in that order. */
static struct ticket_lock fifo_lock = TICKET_LOCK_INIT;
static unsigned served[THREADS], served_count;

static void *queue_up(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	ticket_lock(&fifo_lock);
	served[served_count++] = id;
	ticket_unlock(&fifo_lock);
	return NULL;
}

static void test_waiters_are_served_in_order(void **state)
{
	(void)state;
	pthread_t t[THREADS];
	ticket_lock(&fifo_lock);
	for (unsigned i = 0; i < THREADS; i++) {
		uint32_t before = __atomic_load_n(&fifo_lock.next, __ATOMIC_RELAXED);
		assert_int_equal(pthread_create(&t[i], NULL, queue_up, (void *)(uintptr_t)i), 0);
		while (__atomic_load_n(&fifo_lock.next, __ATOMIC_RELAXED) == before)
			sched_yield(); /* thread i has its ticket */
	}
	ticket_unlock(&fifo_lock);
	for (unsigned i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(served_count, THREADS);
	for (unsigned i = 0; i < THREADS; i++)
		assert_int_equal(served[i], i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_lock_is_taken_and_given_back),
		cmocka_unit_test(test_trylock),
		cmocka_unit_test(test_trylock_fails_when_someone_waits),
		cmocka_unit_test(test_tickets_wrap_around),
		cmocka_unit_test(test_mutual_exclusion_between_threads),
		cmocka_unit_test(test_waiters_are_served_in_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
