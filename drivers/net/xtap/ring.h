/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Cache-aligned pointer ring used for the xtap queues.
 *
 * Copyright (C) 2026 The xtap authors.
 *
 * A fixed-size FIFO of non-NULL pointers.  A slot holding NULL is free, so
 * the producer and the consumer never read each other's index on the fast
 * path: the producer looks at the slot it is about to fill, the consumer at
 * the slot it is about to take.  The indices are free-running 32-bit
 * counters; a slot is addressed with (index & mask), so the size is a power
 * of two between 1 and XTAP_RING_MAX_SIZE.
 *
 * The consumer does not clear a slot as soon as it has taken the pointer out
 * of it.  It clears a whole batch of slots (XTAP_RING_BATCH pointers, four
 * cache lines, aligned in the slot array) once it has moved past the last
 * one, a cache line at a time from the highest slot down.  The consumer
 * therefore never writes into a cache line the producer may be filling, and
 * a producer waiting on a full ring sees the first slot of a batch become
 * free only after the rest of that batch is free too.  Slots behind
 * consumer_head but at or after consumer_tail have been consumed but still
 * hold their old pointer, so the producer can use up to batch - 1 fewer
 * slots than the ring has.
 *
 * Four lines and not one, so that producer and consumer do not hand every
 * cache line back and forth in lockstep (the measurements are in
 * Documentation/networking/xtap.rst, "The ring").
 *
 * This header holds only what the module uses.  It is also compiled as
 * plain userspace C for the unit tests and the benchmark; the includer then
 * provides the kernel definitions, and the test-only operations (peek,
 * bulk produce, the other locked and _bh variants), in
 * tools/testing/selftests/xtap/ring/ (ring_compat.h, ring_ops.h).
 *
 * Ordering:
 *  - The producer stores a pointer with smp_store_release(), so everything it
 *    wrote to the object (and every load it did from it) happens before the
 *    pointer is visible.  The consumer loads a slot with smp_load_acquire(),
 *    which pairs with it.  Nothing else needs a barrier on the fast path.
 *  - Slot reuse needs no barrier: the producer only writes a slot that it has
 *    observed to be NULL, and it observes NULL only after the consumer's read
 *    of the old pointer in that same slot (coherence of one location).
 *  - producer and consumer_head are also written with WRITE_ONCE() so that
 *    xtap_ring_occupancy() and xtap_ring_empty_lockless() can read them from
 *    any context without a lock.
 */
#ifndef _XTAP_RING_H
#define _XTAP_RING_H

#ifdef __KERNEL__
#include <linux/cache.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <asm/barrier.h>
#endif

/* Largest supported number of slots. */
#define XTAP_RING_MAX_SIZE	65536U

/* Slots released to the producer at once: four cache lines of pointers. */
#define XTAP_RING_BATCH		(4 * SMP_CACHE_BYTES / sizeof(void *))

/**
 * struct xtap_ring - pointer ring with separate producer and consumer sides
 * @producer: free-running index of the next slot to fill
 * @producer_lock: serialises producers
 * @consumer_head: free-running index of the next slot to take
 * @consumer_tail: free-running index of the first consumed slot that has not
 *	been cleared yet; consumer_head - consumer_tail < @batch
 * @consumer_lock: serialises consumers
 * @size: number of slots, a power of two
 * @mask: @size - 1
 * @batch: slots cleared at once, a power of two dividing @size
 * @queue: the slot array; NULL marks a free slot
 *
 * The three groups live on separate pairs of cache lines: the producer
 * writes only the first, the consumer only the second, and the third is
 * read-only after xtap_ring_init().  Pairs and not single lines because
 * Intel's L2 prefetcher fetches lines in aligned 128-byte pairs: a consumer
 * line right next to the producer line still bounces between the cores
 * (measured: Documentation/networking/xtap.rst, "The ring").
 */
struct xtap_ring {
	/* Producer lines. */
	struct {
		unsigned int producer;
		spinlock_t producer_lock; /* protects producer and queue[producer] */
	} __aligned(2 * SMP_CACHE_BYTES);

	/* Consumer lines. */
	struct {
		unsigned int consumer_head;
		unsigned int consumer_tail;
		spinlock_t consumer_lock; /* protects consumer_head and consumer_tail */
	} __aligned(2 * SMP_CACHE_BYTES);

	/* Read-only lines. */
	struct {
		unsigned int size;
		unsigned int mask;
		unsigned int batch;
		void **queue;
	} __aligned(2 * SMP_CACHE_BYTES);
};

/**
 * xtap_ring_size() - number of slots of a ring
 * @r: the ring
 *
 * Return: the size given to xtap_ring_init().
 */
static inline unsigned int xtap_ring_size(const struct xtap_ring *r)
{
	return r->size;
}

/**
 * xtap_ring_init() - allocate and initialise a ring
 * @r: the ring
 * @size: number of slots, a power of two from 1 to %XTAP_RING_MAX_SIZE
 * @gfp: allocation flags for the slot array (GFP_KERNEL compatible, as for
 *	kvmalloc())
 *
 * Callers with another size in mind round it up with roundup_pow_of_two().
 *
 * Return: 0, -EINVAL for a bad @size or -ENOMEM.
 */
static inline int xtap_ring_init(struct xtap_ring *r, unsigned int size,
				 gfp_t gfp)
{
	unsigned int batch;

	r->queue = NULL;
	if (!size || size > XTAP_RING_MAX_SIZE || (size & (size - 1)))
		return -EINVAL;

	/* kvcalloc() returns memory aligned to its (power of two) size or to
	 * a page, so every batch starts on a cache line boundary and covers
	 * whole cache lines (or sits inside one, for a ring that small).
	 */
	r->queue = kvcalloc(size, sizeof(*r->queue), gfp);
	if (!r->queue)
		return -ENOMEM;

	/* At most a quarter of the ring, so that a small ring does not hold
	 * its producer off for long: 1 slot for rings of up to 4 slots, then
	 * 2, 4, 8, 16 for 8 to 64 slots, XTAP_RING_BATCH from 128 slots on.
	 */
	batch = XTAP_RING_BATCH;
	if (batch > size / 4)
		batch = size / 4;
	if (!batch)
		batch = 1;

	r->size = size;
	r->mask = size - 1;
	r->batch = batch;
	r->producer = 0;
	r->consumer_head = 0;
	r->consumer_tail = 0;
	spin_lock_init(&r->producer_lock);
	spin_lock_init(&r->consumer_lock);
	return 0;
}

/**
 * __xtap_ring_full() - check from the producer side whether the ring is full
 * @r: the ring
 *
 * The caller is the only producer or holds @r->producer_lock.
 *
 * Return: true if the next produce would fail.
 */
static inline bool __xtap_ring_full(struct xtap_ring *r)
{
	/* Racy with the consumer clearing the slot: a stale "full" is fine. */
	return READ_ONCE(r->queue[r->producer & r->mask]);
}

/**
 * __xtap_ring_produce() - add one pointer, without locking
 * @r: the ring
 * @ptr: the pointer, not NULL
 *
 * The caller is the only producer or holds @r->producer_lock.
 *
 * Return: 0, or -ENOSPC if the ring is full.
 */
static inline int __xtap_ring_produce(struct xtap_ring *r, void *ptr)
{
	unsigned int prod = r->producer;
	void **slot = &r->queue[prod & r->mask];

	/* The consumer writes NULL here concurrently: read it once. */
	if (unlikely(READ_ONCE(*slot)))
		return -ENOSPC;

	/* Publish the object before the pointer.  Pairs with the
	 * smp_load_acquire() of the slot in __xtap_ring_consume() and
	 * __xtap_ring_consume_batch().
	 */
	smp_store_release(slot, ptr);
	/* Only for lockless readers of the index (xtap_ring_occupancy()). */
	WRITE_ONCE(r->producer, prod + 1);
	return 0;
}

/**
 * xtap_ring_empty_lockless() - check from any context whether the ring is empty
 * @r: the ring
 *
 * Takes no lock and may run concurrently with the producer and the
 * consumer, e.g. in a busy-poll loop or a poll() callback.  The answer may
 * be stale: "empty" can be wrong if a consumer is moving concurrently, so a
 * consumer that stops consuming must either drain the ring or make the
 * poller check again later (the usual wakeup then re-check).  "Not empty" can
 * be wrong for a moment as well; a consume then simply returns nothing.
 * Callers looping on it need a compiler barrier such as cpu_relax().
 *
 * Return: true if the ring looked empty.
 */
static inline bool xtap_ring_empty_lockless(struct xtap_ring *r)
{
	/* The slot address depends on the index that was read, so the two
	 * loads are ordered.  Pairs with WRITE_ONCE(consumer_head) in the
	 * consumer and with smp_store_release(consumer_head) in
	 * __xtap_ring_unconsume().
	 */
	unsigned int head = READ_ONCE(r->consumer_head);

	return !READ_ONCE(r->queue[head & r->mask]);
}

/**
 * xtap_ring_occupancy() - approximate number of pointers in the ring
 * @r: the ring
 *
 * Takes no lock and may run in any context.  It reads both the producer's
 * and the consumer's cache line, so it is meant for slow paths: e.g. the
 * consumer waking a stopped netdev queue at a low watermark.  A producer
 * applying a high watermark can look at one slot instead: free slots are
 * contiguous from the producer index.
 *
 * Return: the number of produced and not yet consumed pointers, 0 to the
 * ring size; exact when neither side is running.
 */
static inline unsigned int xtap_ring_occupancy(struct xtap_ring *r)
{
	/* Read the consumer first: it can only move towards the producer. */
	unsigned int head = READ_ONCE(r->consumer_head);
	unsigned int prod = READ_ONCE(r->producer);
	int used = (int)(prod - head);

	if (used < 0)
		return 0;
	if ((unsigned int)used > r->size)
		return r->size;
	return used;
}

/**
 * __xtap_ring_zero_range() - clear consumed slots, highest first
 * @r: the ring
 * @from: free-running index of the first slot to clear
 * @to: free-running index one past the last slot to clear
 *
 * Clearing in reverse means the slot the producer may be waiting on (the
 * lowest) is released last, after the rest of the range: the producer then
 * finds whole cache lines free.  Consumer side only.
 */
static inline void __xtap_ring_zero_range(struct xtap_ring *r,
					  unsigned int from, unsigned int to)
{
	void **queue = r->queue;
	unsigned int mask = r->mask;

	/* No barrier: the producer reuses a slot only after reading this NULL
	 * from it, which is ordered after our earlier read of the same slot.
	 */
	while (to != from) {
		to--;
		WRITE_ONCE(queue[to & mask], NULL);
	}
}

/**
 * __xtap_ring_advance() - move the consumer head and release whole batches
 * @r: the ring
 * @head: new free-running consumer head, at most one lap of slots ahead
 *
 * Every batch that lies entirely behind @head is cleared and handed back to
 * the producer.  Consumer side only.
 */
static inline void __xtap_ring_advance(struct xtap_ring *r, unsigned int head)
{
	unsigned int edge = head & ~(r->batch - 1);
	unsigned int tail = r->consumer_tail;

	if ((int)(edge - tail) > 0) {
		__xtap_ring_zero_range(r, tail, edge);
		r->consumer_tail = edge;
	}
	/* For lockless readers: xtap_ring_empty_lockless(), occupancy. */
	WRITE_ONCE(r->consumer_head, head);
}

/**
 * __xtap_ring_consume() - take the oldest pointer, without locking
 * @r: the ring
 *
 * The caller is the only consumer or holds @r->consumer_lock.
 *
 * Return: the pointer, or NULL if the ring is empty.
 */
static inline void *__xtap_ring_consume(struct xtap_ring *r)
{
	unsigned int head = r->consumer_head;
	void *ptr;

	/* Pairs with smp_store_release() in the producer: the object is
	 * fully visible once we see the pointer.  The slot at head is never a
	 * consumed-but-uncleared one: head - tail < batch, and batch < size
	 * except for a one-slot ring, where head == tail.
	 */
	ptr = smp_load_acquire(&r->queue[head & r->mask]);
	if (ptr)
		__xtap_ring_advance(r, head + 1);
	return ptr;
}

/**
 * __xtap_ring_consume_batch() - take up to @n pointers, without locking
 * @r: the ring
 * @ptrs: array receiving the pointers, oldest first
 * @n: size of @ptrs
 *
 * The caller is the only consumer or holds @r->consumer_lock.
 *
 * Return: the number of pointers stored in @ptrs, 0 to @n.
 */
static inline int __xtap_ring_consume_batch(struct xtap_ring *r,
					    void **ptrs, int n)
{
	unsigned int head = r->consumer_head;
	void **queue = r->queue;
	unsigned int mask = r->mask;
	unsigned int room;
	int i;

	/* Stop before the consumed-but-uncleared slots a lap ahead: they
	 * still hold old pointers.
	 */
	room = r->size - (head - r->consumer_tail);
	if (n > 0 && (unsigned int)n > room)
		n = room;

	for (i = 0; i < n; i++) {
		/* Pairs with smp_store_release() in the producer. */
		void *ptr = smp_load_acquire(&queue[(head + i) & mask]);

		if (!ptr)
			break;
		ptrs[i] = ptr;
	}
	if (likely(i))
		__xtap_ring_advance(r, head + i);
	return i;
}

/**
 * __xtap_ring_unconsume() - give consumed pointers back, without locking
 * @r: the ring
 * @ptrs: pointers previously consumed, oldest first
 * @n: number of pointers in @ptrs
 * @destroy: called for each pointer that does not fit; may be NULL only if
 *	the caller knows that all of them fit
 *
 * Puts @ptrs back in front of the ring so that the next consumes return
 * @ptrs[0] ... @ptrs[@n - 1] and then what was in the ring before.  If the
 * ring does not have @n free slots, the oldest pointers (@ptrs[0] ...) are
 * passed to @destroy so that the sequence stays contiguous.  This is a slow
 * path, e.g. when a backend detaches.  The caller excludes both the
 * consumer and the producer (holds both locks, consumer_lock first, or owns
 * both sides).
 *
 * Return: the number of pointers passed to @destroy.
 */
static inline int __xtap_ring_unconsume(struct xtap_ring *r, void **ptrs,
					int n, void (*destroy)(void *))
{
	unsigned int head = r->consumer_head;
	void **queue = r->queue;
	unsigned int mask = r->mask;
	int dropped;

	/* Clear what was consumed but not cleared yet, so that below every
	 * non-NULL slot is an unconsumed entry.
	 */
	__xtap_ring_zero_range(r, r->consumer_tail, head);

	/* Free slots run backwards from head - 1 down to the producer index;
	 * the slot before that holds the newest entry (or, if the ring was
	 * empty, the first pointer we put back).
	 */
	while (n > 0 && !READ_ONCE(queue[(head - 1) & mask])) {
		head--;
		WRITE_ONCE(queue[head & mask], ptrs[--n]);
	}
	r->consumer_tail = head;
	/* Publish the slots before the index that points at them: pairs with
	 * the address dependency in xtap_ring_empty_lockless().  Consumers
	 * and the producer are ordered against us by the locks the caller
	 * holds.
	 */
	smp_store_release(&r->consumer_head, head);

	/* What is left is the oldest part of @ptrs: destroy it in order. */
	if (destroy)
		for (dropped = 0; dropped < n; dropped++)
			destroy(ptrs[dropped]);
	return n > 0 ? n : 0;
}

/**
 * xtap_ring_consume_batch() - take up to @n pointers under consumer_lock
 * @r: the ring
 * @ptrs: array receiving the pointers, oldest first
 * @n: size of @ptrs
 *
 * Return: the number of pointers stored in @ptrs, 0 to @n.
 */
static inline int xtap_ring_consume_batch(struct xtap_ring *r, void **ptrs,
					  int n)
{
	int ret;

	spin_lock(&r->consumer_lock);
	ret = __xtap_ring_consume_batch(r, ptrs, n);
	spin_unlock(&r->consumer_lock);
	return ret;
}

/**
 * xtap_ring_unconsume_bh() - give consumed pointers back, under both locks
 * @r: the ring
 * @ptrs: pointers previously consumed, oldest first
 * @n: number of pointers in @ptrs
 * @destroy: called, under the locks, for each pointer that does not fit
 *
 * See __xtap_ring_unconsume().  producer_lock nests inside consumer_lock;
 * bottom halves are disabled because the producer runs in softirq context.
 *
 * Return: the number of pointers passed to @destroy.
 */
static inline int xtap_ring_unconsume_bh(struct xtap_ring *r, void **ptrs,
					 int n, void (*destroy)(void *))
{
	int ret;

	spin_lock_bh(&r->consumer_lock);
	spin_lock(&r->producer_lock);
	ret = __xtap_ring_unconsume(r, ptrs, n, destroy);
	spin_unlock(&r->producer_lock);
	spin_unlock_bh(&r->consumer_lock);
	return ret;
}

/**
 * xtap_ring_cleanup() - destroy the remaining pointers and free the ring
 * @r: the ring, with no producer or consumer left
 * @destroy: called for each pointer still in the ring; may be NULL
 *
 * Pointers already consumed are the consumer's and are not destroyed.
 */
static inline void xtap_ring_cleanup(struct xtap_ring *r,
				     void (*destroy)(void *))
{
	void *ptr;

	if (!r->queue)
		return;
	if (destroy)
		while ((ptr = __xtap_ring_consume(r)))
			destroy(ptr);
	kvfree(r->queue);
	r->queue = NULL;
}

#endif /* _XTAP_RING_H */
