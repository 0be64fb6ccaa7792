// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Self-tests run at module load in debug builds (CONFIG_XTAP_DEBUG).
 *
 * The native tests in tools/testing/selftests/xtap/ring cover ring.h in
 * depth, compiled for userspace, together with the test-only operations of
 * ring/ring_ops.h.  These check that the operations the module uses behave
 * the same compiled with the kernel's flags, barriers and spinlocks: a
 * short walk through each of them on a few ring sizes.
 */

#include "xtap.h"

#include <linux/init.h>
#include <linux/kernel.h>

static unsigned int failures __initdata;

static void __init expect(bool ok, const char *what, unsigned int size,
			  int line)
{
	if (ok)
		return;
	pr_err("ring self-test failed: %s (ring of %u, line %d)\n",
	       what, size, line);
	failures++;
}

#define EXPECT(cond, size) expect(cond, #cond, size, __LINE__)

/* Entries are distinct non-NULL tokens: tok(0), tok(1), ... */
static void *__init tok(unsigned int i)
{
	return (void *)(unsigned long)(i + 1);
}

/* Record of the destroy callback's arguments, in call order. */
static void *destroyed[8] __initdata;
static unsigned int n_destroyed __initdata;

static void __init destroy(void *ptr)
{
	if (n_destroyed < ARRAY_SIZE(destroyed))
		destroyed[n_destroyed] = ptr;
	n_destroyed++;
}

/* Add up to @n pointers, oldest first; returns how many went in. */
static unsigned int __init produce_n(struct xtap_ring *r, void * const *ptrs,
				     unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (__xtap_ring_produce(r, ptrs[i]))
			break;
	return i;
}

/* Only powers of two from 1 to XTAP_RING_MAX_SIZE are accepted. */
static void __init test_init_sizes(void)
{
	static const unsigned int bad[] __initconst = {
		0, 3, 6, 1000, XTAP_RING_MAX_SIZE + 1, 2 * XTAP_RING_MAX_SIZE,
		UINT_MAX,
	};
	static const unsigned int good[] __initconst = {
		1, 2, 4, 16, 4096, XTAP_RING_MAX_SIZE,
	};
	struct xtap_ring r;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT(xtap_ring_init(&r, bad[i], GFP_KERNEL) == -EINVAL, bad[i]);
		EXPECT(!r.queue, bad[i]);
		xtap_ring_cleanup(&r, NULL);
	}
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		if (xtap_ring_init(&r, good[i], GFP_KERNEL)) {
			EXPECT(!"init", good[i]);
			continue;
		}
		EXPECT(xtap_ring_size(&r) == good[i], good[i]);
		xtap_ring_cleanup(&r, NULL);
		EXPECT(!r.queue, good[i]);
	}
}

/* Empty, full, batch zeroing and wrap-around with the unlocked operations,
 * then cleanup with entries left in the ring.
 */
static void __init test_size(unsigned int size)
{
	unsigned int batch, prod = 0, cons = 0, lap, i, n;
	struct xtap_ring r;
	void *ptr;

	if (xtap_ring_init(&r, size, GFP_KERNEL)) {
		EXPECT(!"init", size);
		return;
	}
	batch = size <= 4 ? 1 : min_t(unsigned int, size / 4, XTAP_RING_BATCH);
	EXPECT(r.batch == batch, size);
	EXPECT(xtap_ring_empty_lockless(&r) && !__xtap_ring_full(&r), size);
	EXPECT(!__xtap_ring_consume(&r) && !xtap_ring_occupancy(&r), size);

	for (i = 0; i < size; i++)
		EXPECT(!__xtap_ring_produce(&r, tok(prod++)), size);
	EXPECT(__xtap_ring_full(&r) && !xtap_ring_empty_lockless(&r), size);
	EXPECT(__xtap_ring_produce(&r, tok(prod)) == -ENOSPC, size);
	EXPECT(xtap_ring_occupancy(&r) == size, size);

	/* The first batch comes back to the producer only as a whole. */
	for (i = 0; i < batch; i++) {
		EXPECT(__xtap_ring_full(&r), size);
		EXPECT(__xtap_ring_consume(&r) == tok(cons++), size);
	}
	EXPECT(xtap_ring_occupancy(&r) == size - batch, size);
	for (i = 0; i < batch; i++)
		EXPECT(!__xtap_ring_produce(&r, tok(prod++)), size);
	EXPECT(__xtap_ring_full(&r), size);
	EXPECT(__xtap_ring_produce(&r, tok(prod)) == -ENOSPC, size);

	/* Three laps: drain, step a few slots so that the consumer stops off
	 * a batch boundary, then fill.  The slots behind the consumer in its
	 * unfinished batch are not the producer's yet.
	 */
	for (lap = 0; lap < 3; lap++) {
		while ((ptr = __xtap_ring_consume(&r)))
			EXPECT(ptr == tok(cons++), size);
		EXPECT(cons == prod && xtap_ring_empty_lockless(&r), size);
		EXPECT(!xtap_ring_occupancy(&r), size);
		for (i = 0; i < 3 * lap + 1; i++) {
			EXPECT(!__xtap_ring_produce(&r, tok(prod++)), size);
			EXPECT(__xtap_ring_consume(&r) == tok(cons++), size);
		}
		for (n = 0; n <= size && !__xtap_ring_produce(&r, tok(prod)); n++)
			prod++;
		EXPECT(n == size - (cons & (batch - 1)), size);
		EXPECT(xtap_ring_occupancy(&r) == n, size);
	}

	/* Cleanup destroys what is left, oldest first. */
	while (prod - cons > 2)
		EXPECT(__xtap_ring_consume(&r) == tok(cons++), size);
	n_destroyed = 0;
	xtap_ring_cleanup(&r, destroy);
	EXPECT(n_destroyed == prod - cons, size);
	for (i = 0; i < min_t(unsigned int, n_destroyed, 2); i++)
		EXPECT(destroyed[i] == tok(cons + i), size);
	EXPECT(!r.queue, size);
}

/* Batch limits, unconsume order and overflow, ring of 8. */
static void __init test_bulk_unconsume(void)
{
	void *in[10], *out[10];
	struct xtap_ring r;
	unsigned int i;

	if (xtap_ring_init(&r, 8, GFP_KERNEL)) {
		EXPECT(!"init", 8);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(in); i++)
		in[i] = tok(i);
	EXPECT(produce_n(&r, in, 0) == 0, 8);
	EXPECT(__xtap_ring_consume_batch(&r, out, 4) == 0, 8);
	EXPECT(produce_n(&r, in, 10) == 8, 8);
	EXPECT(produce_n(&r, in, 1) == 0, 8);
	EXPECT(__xtap_ring_consume_batch(&r, out, 0) == 0, 8);

	/* Batch 2: after 7 taken, slot 6 still holds its old entry, so the
	 * producer gets 6 slots and the consumer must stop short of slot 6.
	 */
	EXPECT(__xtap_ring_consume_batch(&r, out, 7) == 7, 8);
	EXPECT(out[0] == tok(0) && out[6] == tok(6), 8);
	EXPECT(produce_n(&r, in, 10) == 6, 8);
	EXPECT(__xtap_ring_consume_batch(&r, out, 10) == 7, 8);
	EXPECT(out[0] == tok(7) && out[1] == tok(0) && out[6] == tok(5), 8);

	/* Hand the last three back in front of what is left, in order. */
	EXPECT(produce_n(&r, in + 8, 2) == 2, 8);
	EXPECT(__xtap_ring_unconsume(&r, out + 4, 3, destroy) == 0, 8);
	EXPECT(xtap_ring_occupancy(&r) == 5, 8);
	EXPECT(__xtap_ring_consume_batch(&r, out, 10) == 5, 8);
	EXPECT(out[0] == tok(3) && out[2] == tok(5) && out[4] == tok(9), 8);

	/* Overflow: 6 queued, 4 handed back; the oldest two are destroyed. */
	EXPECT(produce_n(&r, in, 6) == 6, 8);
	n_destroyed = 0;
	EXPECT(__xtap_ring_unconsume(&r, in + 6, 4, destroy) == 2, 8);
	EXPECT(n_destroyed == 2, 8);
	EXPECT(destroyed[0] == tok(6) && destroyed[1] == tok(7), 8);
	EXPECT(__xtap_ring_full(&r), 8);
	EXPECT(__xtap_ring_consume_batch(&r, out, 10) == 8, 8);
	EXPECT(out[0] == tok(8) && out[1] == tok(9) && out[2] == tok(0), 8);
	xtap_ring_cleanup(&r, NULL);
}

/* The locked operations the module calls reach the same code. */
static void __init test_locked(void)
{
	void *in[4] = { tok(0), tok(1), tok(2), tok(3) }, *out[4];
	struct xtap_ring r;

	if (xtap_ring_init(&r, 4, GFP_KERNEL)) {
		EXPECT(!"init", 4);
		return;
	}
	EXPECT(produce_n(&r, in, 4) == 4, 4);
	EXPECT(xtap_ring_consume_batch(&r, out, 1) == 1 && out[0] == in[0], 4);
	EXPECT(xtap_ring_consume_batch(&r, out, 4) == 3 && out[2] == in[3], 4);
	EXPECT(xtap_ring_empty_lockless(&r), 4);
	EXPECT(xtap_ring_unconsume_bh(&r, in + 2, 2, NULL) == 0, 4);
	EXPECT(xtap_ring_unconsume_bh(&r, in, 2, NULL) == 0, 4);
	EXPECT(xtap_ring_consume_batch(&r, out, 4) == 4, 4);
	EXPECT(out[0] == in[0] && out[3] == in[3], 4);
	xtap_ring_cleanup(&r, NULL);
}

/**
 * xtap_selftest() - run xtap's self-tests
 *
 * Called once from module init in debug builds; each failure is logged.
 *
 * Return: true if every self-test passed.
 */
bool __init xtap_selftest(void)
{
	static const unsigned int sizes[] __initconst = { 1, 2, 8, 64, 1024 };
	unsigned int i;

	failures = 0;
	test_init_sizes();
	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		test_size(sizes[i]);
	test_bulk_unconsume();
	test_locked();
	if (failures)
		return false;
	pr_info("ring self-tests: pass\n");
	return true;
}
