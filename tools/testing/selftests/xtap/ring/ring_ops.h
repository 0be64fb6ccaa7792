/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Ring operations that only the native unit tests (ring_test.c) and the
 * ring benchmark (../bench/ring) use: peek, bulk produce, and the locked
 * and _bh variants of the operations the module calls without a lock.
 * drivers/net/xtap/ring.h keeps only what the module uses.  Include after
 * ring_compat.h; this includes ring.h itself.
 *
 * Copyright (C) 2026 The xtap authors.
 */
#ifndef _XTAP_RING_OPS_H
#define _XTAP_RING_OPS_H

#include "ring.h"

/**
 * __xtap_ring_has_room() - check from the producer side for free slots
 * @r: the ring
 * @n: number of slots wanted, 1 to the ring size
 *
 * Free slots are contiguous from the producer index, so this looks at a
 * single slot and never at the consumer's cache line.  It is the cheap way
 * for a producer to apply a high watermark (stop when fewer than @n slots
 * are free).  Consumed slots that are not cleared yet count as used.  The
 * caller is the only producer or holds @r->producer_lock.
 *
 * Return: true if at least @n slots are free.
 */
static inline bool __xtap_ring_has_room(struct xtap_ring *r, unsigned int n)
{
	if (unlikely(!n || n > r->size))
		return !n;
	/* Pairs with nothing: a stale answer only errs towards "no room". */
	return !READ_ONCE(r->queue[(r->producer + n - 1) & r->mask]);
}

/**
 * __xtap_ring_produce_bulk() - add several pointers, without locking
 * @r: the ring
 * @ptrs: the pointers, none NULL, oldest first
 * @n: number of pointers in @ptrs
 *
 * Adds @ptrs[0], @ptrs[1], ... in order until the ring is full.  The caller
 * is the only producer or holds @r->producer_lock.
 *
 * Return: the number of pointers added, 0 to @n.
 */
static inline int __xtap_ring_produce_bulk(struct xtap_ring *r,
					   void * const *ptrs, int n)
{
	unsigned int prod = r->producer;
	void **queue = r->queue;
	unsigned int mask = r->mask;
	int i;

	for (i = 0; i < n; i++) {
		void **slot = &queue[(prod + i) & mask];

		/* Free slots are contiguous from the producer index; after
		 * wrapping onto our own first slot this sees it non-NULL.
		 */
		if (unlikely(READ_ONCE(*slot)))
			break;
		/* Same pairing as in __xtap_ring_produce(), per slot. */
		smp_store_release(slot, ptrs[i]);
	}
	if (likely(i))
		WRITE_ONCE(r->producer, prod + i);
	return i;
}

/**
 * __xtap_ring_peek() - look at the oldest pointer without taking it
 * @r: the ring
 *
 * The caller is the only consumer or holds @r->consumer_lock, and may use
 * the object only while it stays the only consumer or keeps the lock.
 *
 * Return: the pointer that the next consume returns, or NULL if empty.
 */
static inline void *__xtap_ring_peek(struct xtap_ring *r)
{
	/* Pairs with smp_store_release() in the producer. */
	return smp_load_acquire(&r->queue[r->consumer_head & r->mask]);
}

/**
 * __xtap_ring_empty() - check from the consumer side whether the ring is empty
 * @r: the ring
 *
 * The caller is the only consumer or holds @r->consumer_lock.
 *
 * Return: true if the next consume would return nothing.
 */
static inline bool __xtap_ring_empty(struct xtap_ring *r)
{
	/* No dereference follows, so no acquire is needed. */
	return !READ_ONCE(r->queue[r->consumer_head & r->mask]);
}

/**
 * xtap_ring_full() - check whether the ring is full, under producer_lock
 * @r: the ring
 *
 * Return: true if the next produce would fail.
 */
static inline bool xtap_ring_full(struct xtap_ring *r)
{
	bool ret;

	spin_lock(&r->producer_lock);
	ret = __xtap_ring_full(r);
	spin_unlock(&r->producer_lock);
	return ret;
}

/**
 * xtap_ring_full_bh() - xtap_ring_full() with bottom halves disabled
 * @r: the ring
 *
 * Return: true if the next produce would fail.
 */
static inline bool xtap_ring_full_bh(struct xtap_ring *r)
{
	bool ret;

	spin_lock_bh(&r->producer_lock);
	ret = __xtap_ring_full(r);
	spin_unlock_bh(&r->producer_lock);
	return ret;
}

/**
 * xtap_ring_produce() - add one pointer under producer_lock
 * @r: the ring
 * @ptr: the pointer, not NULL
 *
 * Return: 0, or -ENOSPC if the ring is full.
 */
static inline int xtap_ring_produce(struct xtap_ring *r, void *ptr)
{
	int ret;

	spin_lock(&r->producer_lock);
	ret = __xtap_ring_produce(r, ptr);
	spin_unlock(&r->producer_lock);
	return ret;
}

/**
 * xtap_ring_produce_bh() - xtap_ring_produce() with bottom halves disabled
 * @r: the ring
 * @ptr: the pointer, not NULL
 *
 * Return: 0, or -ENOSPC if the ring is full.
 */
static inline int xtap_ring_produce_bh(struct xtap_ring *r, void *ptr)
{
	int ret;

	spin_lock_bh(&r->producer_lock);
	ret = __xtap_ring_produce(r, ptr);
	spin_unlock_bh(&r->producer_lock);
	return ret;
}

/**
 * xtap_ring_produce_bulk() - add several pointers under producer_lock
 * @r: the ring
 * @ptrs: the pointers, none NULL, oldest first
 * @n: number of pointers in @ptrs
 *
 * Return: the number of pointers added, 0 to @n.
 */
static inline int xtap_ring_produce_bulk(struct xtap_ring *r,
					 void * const *ptrs, int n)
{
	int ret;

	spin_lock(&r->producer_lock);
	ret = __xtap_ring_produce_bulk(r, ptrs, n);
	spin_unlock(&r->producer_lock);
	return ret;
}

/**
 * xtap_ring_produce_bulk_bh() - xtap_ring_produce_bulk() with BH disabled
 * @r: the ring
 * @ptrs: the pointers, none NULL, oldest first
 * @n: number of pointers in @ptrs
 *
 * Return: the number of pointers added, 0 to @n.
 */
static inline int xtap_ring_produce_bulk_bh(struct xtap_ring *r,
					    void * const *ptrs, int n)
{
	int ret;

	spin_lock_bh(&r->producer_lock);
	ret = __xtap_ring_produce_bulk(r, ptrs, n);
	spin_unlock_bh(&r->producer_lock);
	return ret;
}

/**
 * xtap_ring_empty() - check whether the ring is empty, under consumer_lock
 * @r: the ring
 *
 * Return: true if the next consume would return nothing.
 */
static inline bool xtap_ring_empty(struct xtap_ring *r)
{
	bool ret;

	spin_lock(&r->consumer_lock);
	ret = __xtap_ring_empty(r);
	spin_unlock(&r->consumer_lock);
	return ret;
}

/**
 * xtap_ring_empty_bh() - xtap_ring_empty() with bottom halves disabled
 * @r: the ring
 *
 * Return: true if the next consume would return nothing.
 */
static inline bool xtap_ring_empty_bh(struct xtap_ring *r)
{
	bool ret;

	spin_lock_bh(&r->consumer_lock);
	ret = __xtap_ring_empty(r);
	spin_unlock_bh(&r->consumer_lock);
	return ret;
}

/**
 * xtap_ring_consume() - take the oldest pointer under consumer_lock
 * @r: the ring
 *
 * Return: the pointer, or NULL if the ring is empty.
 */
static inline void *xtap_ring_consume(struct xtap_ring *r)
{
	void *ptr;

	spin_lock(&r->consumer_lock);
	ptr = __xtap_ring_consume(r);
	spin_unlock(&r->consumer_lock);
	return ptr;
}

/**
 * xtap_ring_consume_bh() - xtap_ring_consume() with bottom halves disabled
 * @r: the ring
 *
 * Return: the pointer, or NULL if the ring is empty.
 */
static inline void *xtap_ring_consume_bh(struct xtap_ring *r)
{
	void *ptr;

	spin_lock_bh(&r->consumer_lock);
	ptr = __xtap_ring_consume(r);
	spin_unlock_bh(&r->consumer_lock);
	return ptr;
}

/**
 * xtap_ring_consume_batch_bh() - xtap_ring_consume_batch() with BH disabled
 * @r: the ring
 * @ptrs: array receiving the pointers, oldest first
 * @n: size of @ptrs
 *
 * Return: the number of pointers stored in @ptrs, 0 to @n.
 */
static inline int xtap_ring_consume_batch_bh(struct xtap_ring *r,
					     void **ptrs, int n)
{
	int ret;

	spin_lock_bh(&r->consumer_lock);
	ret = __xtap_ring_consume_batch(r, ptrs, n);
	spin_unlock_bh(&r->consumer_lock);
	return ret;
}

/**
 * xtap_ring_unconsume() - give consumed pointers back, under both locks
 * @r: the ring
 * @ptrs: pointers previously consumed, oldest first
 * @n: number of pointers in @ptrs
 * @destroy: called, under the locks, for each pointer that does not fit
 *
 * See __xtap_ring_unconsume().  producer_lock nests inside consumer_lock,
 * so use xtap_ring_unconsume_bh() if either side runs in softirq context.
 *
 * Return: the number of pointers passed to @destroy.
 */
static inline int xtap_ring_unconsume(struct xtap_ring *r, void **ptrs, int n,
				      void (*destroy)(void *))
{
	int ret;

	spin_lock(&r->consumer_lock);
	spin_lock(&r->producer_lock);
	ret = __xtap_ring_unconsume(r, ptrs, n, destroy);
	spin_unlock(&r->producer_lock);
	spin_unlock(&r->consumer_lock);
	return ret;
}

#endif /* _XTAP_RING_OPS_H */
