// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for drivers/net/xtap/ring.h, built as a native userspace
 * program against ring_compat.h.
 *
 * Copyright (C) 2026 The xtap authors.
 *
 * The single-threaded tests run every operation against a simple model and
 * after each step compare every slot of the ring with what it must hold:
 * the unconsumed pointers in order, the consumed-but-not-yet-cleared ones,
 * and NULL everywhere else.  The stress tests run a producer thread against
 * a consumer and check order, loss, duplication and that the object behind
 * each pointer is fully visible to the consumer.
 */
#include "ring_compat.h"

#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>

#include "ring_ops.h"
#include "kselftest_harness.h"

#define MAX_POW2	XTAP_RING_MAX_SIZE

/* Non-NULL token standing for the i-th pointer of a test. */
static void *tok(unsigned long i)
{
	return (void *)(uintptr_t)((i + 1) << 4);
}

static unsigned long untok(void *p)
{
	return ((uintptr_t)p >> 4) - 1;
}

static unsigned int rnd_state = 1;

static unsigned int rnd(void)
{
	/* xorshift32: deterministic, seeded per test. */
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static unsigned int expected_batch(unsigned int size)
{
	unsigned int b = 4 * SMP_CACHE_BYTES / sizeof(void *);

	if (b > size / 4)
		b = size / 4;
	return b ? b : 1;
}

/*
 * Model of the ring: the unconsumed tokens in order, plus what each slot was
 * last filled with (to check consumed-but-uncleared slots).
 */
struct model {
	unsigned int size;
	unsigned long *fifo;	/* circular, capacity size */
	unsigned int first;
	unsigned int count;
	void **slotval;		/* last pointer written to each slot */
	unsigned long next;	/* next token to produce */
	bool unc_valid;		/* consumer_tail was set by unconsume */
	unsigned int unc_tail;
};

static void model_init(struct model *m, unsigned int size)
{
	memset(m, 0, sizeof(*m));
	m->size = size;
	m->fifo = calloc(size, sizeof(*m->fifo));
	m->slotval = calloc(size, sizeof(*m->slotval));
}

static void model_free(struct model *m)
{
	free(m->fifo);
	free(m->slotval);
}

static unsigned long model_at(const struct model *m, unsigned int k)
{
	return m->fifo[(m->first + k) % m->size];
}

static void model_push(struct model *m, unsigned long v)
{
	m->fifo[(m->first + m->count) % m->size] = v;
	m->count++;
}

static unsigned long model_pop(struct model *m)
{
	unsigned long v = m->fifo[m->first];

	m->first = (m->first + 1) % m->size;
	m->count--;
	return v;
}

static void model_push_front(struct model *m, unsigned long v)
{
	m->first = (m->first + m->size - 1) % m->size;
	m->fifo[m->first] = v;
	m->count++;
}

/* Compare every slot and every query with the model. */
static void check_ring(struct __test_metadata *_metadata,
		       struct xtap_ring *r, const struct model *m)
{
	unsigned int prod = r->producer;
	unsigned int head = r->consumer_head;
	unsigned int tail = r->consumer_tail;
	unsigned int batch = r->batch;
	unsigned int size = r->size;
	unsigned int used = prod - tail;	/* slots not NULL */
	unsigned int k;

	ASSERT_EQ(m->count, prod - head);
	ASSERT_LT(head - tail, batch);
	ASSERT_LE(used, size);
	/* No completed batch is left uncleared. */
	ASSERT_LE((int)((head & ~(batch - 1)) - tail), 0);
	/* Only unconsume moves the tail off a batch boundary. */
	if (!(m->unc_valid && tail == m->unc_tail))
		ASSERT_EQ(0, tail & (batch - 1));

	for (k = 0; k < size; k++) {
		unsigned int idx = tail + k;
		void *v = r->queue[idx & r->mask];

		if (k < head - tail) {
			/* consumed, waiting for its batch to be cleared */
			ASSERT_NE(NULL, v);
			ASSERT_EQ(m->slotval[idx & r->mask], v);
		} else if (k < used) {
			ASSERT_EQ(tok(model_at(m, k - (head - tail))), v);
		} else {
			ASSERT_NULL(v) TH_LOG("slot %u (k %u) not cleared",
					      idx & r->mask, k);
		}
	}

	ASSERT_EQ(m->count, xtap_ring_occupancy(r));
	ASSERT_EQ(!m->count, __xtap_ring_empty(r));
	ASSERT_EQ(!m->count, xtap_ring_empty_lockless(r));
	ASSERT_EQ(used == size, __xtap_ring_full(r));
	ASSERT_TRUE(__xtap_ring_has_room(r, 0));
	ASSERT_FALSE(__xtap_ring_has_room(r, size + 1));
	if (used < size) {
		ASSERT_TRUE(__xtap_ring_has_room(r, size - used));
		ASSERT_TRUE(__xtap_ring_has_room(r, 1));
	}
	if (used > 0)
		ASSERT_FALSE(__xtap_ring_has_room(r, size - used + 1));
	if (m->count) {
		ASSERT_EQ(tok(model_at(m, 0)), __xtap_ring_peek(r));
	} else {
		ASSERT_NULL(__xtap_ring_peek(r));
	}
}

/*
 * Slots the producer can fill now: the ring size minus the unconsumed
 * pointers minus the consumed ones whose batch is not cleared yet.
 */
static unsigned int producer_room(const struct xtap_ring *r)
{
	return r->size - (r->producer - r->consumer_tail);
}

/* Produce one token into ring and model; returns what the ring returned. */
static int do_produce(struct xtap_ring *r, struct model *m)
{
	unsigned int slot = r->producer & r->mask;
	int ret = __xtap_ring_produce(r, tok(m->next));

	if (!ret) {
		m->slotval[slot] = tok(m->next);
		model_push(m, m->next++);
	}
	return ret;
}

static void produce_checked(struct __test_metadata *_metadata,
			    struct xtap_ring *r, struct model *m, int n)
{
	void **v = malloc(sizeof(void *) * (n > 0 ? n : 1));
	unsigned int room = producer_room(r);
	int expect = n < 0 ? 0 : ((unsigned int)n < room ? n : (int)room);
	unsigned int prod = r->producer;
	int i, got;

	for (i = 0; i < n; i++)
		v[i] = tok(m->next + i);
	got = __xtap_ring_produce_bulk(r, v, n);
	for (i = 0; i < got; i++) {
		m->slotval[(prod + i) & r->mask] = v[i];
		model_push(m, m->next++);
	}
	free(v);
	ASSERT_EQ(expect, got);
}

static void consume_checked(struct __test_metadata *_metadata,
			    struct xtap_ring *r, struct model *m, int n)
{
	void **v = malloc(sizeof(void *) * (n > 0 ? n : 1));
	int expect = n < 0 ? 0 : ((unsigned int)n < m->count ? n : (int)m->count);
	int i, got;

	got = __xtap_ring_consume_batch(r, v, n);
	ASSERT_EQ(expect, got) {
		free(v);
	}
	for (i = 0; i < got; i++) {
		unsigned long want = model_pop(m);

		ASSERT_EQ(tok(want), v[i]) {
			free(v);
		}
	}
	free(v);
}

static void consume_one_checked(struct __test_metadata *_metadata,
				struct xtap_ring *r, struct model *m)
{
	void *p = __xtap_ring_consume(r);

	if (!m->count) {
		ASSERT_NULL(p);
		return;
	}
	ASSERT_EQ(tok(model_pop(m)), p);
}

/* Destroy callback recording what it got. */
static unsigned long destroyed[MAX_POW2 + 64];
static unsigned int ndestroyed;

static void destroy_rec(void *p)
{
	destroyed[ndestroyed++] = untok(p);
}

/* Unconsume @n given tokens (oldest first); model follows ring semantics. */
static void unconsume_checked(struct __test_metadata *_metadata,
			      struct xtap_ring *r, struct model *m,
			      const unsigned long *toks, int n)
{
	void **v = malloc(sizeof(void *) * (n > 0 ? n : 1));
	unsigned int free_slots = r->size - m->count;
	int fit = n < 0 ? 0 : ((unsigned int)n < free_slots ? n : (int)free_slots);
	int i, dropped;

	for (i = 0; i < n; i++)
		v[i] = tok(toks[i]);
	ndestroyed = 0;
	dropped = __xtap_ring_unconsume(r, v, n, destroy_rec);
	for (i = n - 1; i >= n - fit; i--) {
		model_push_front(m, toks[i]);
		m->slotval[(r->consumer_head + (i - (n - fit))) & r->mask] =
			v[i];
	}
	m->unc_valid = true;
	m->unc_tail = r->consumer_tail;
	free(v);
	ASSERT_EQ(n - fit, dropped);
	ASSERT_EQ((unsigned int)(n - fit), ndestroyed);
	/* The oldest ones are dropped, in order. */
	for (i = 0; i < n - fit; i++)
		ASSERT_EQ(toks[i], destroyed[i]);
}

/* Fresh ring whose indices start at @offset (as after @offset items). */
static void ring_at(struct __test_metadata *_metadata, struct xtap_ring *r,
		    struct model *m, unsigned int size, unsigned int offset)
{
	unsigned int i;

	ASSERT_EQ(0, xtap_ring_init(r, size, GFP_KERNEL));
	model_init(m, size);
	for (i = 0; i < offset; i++) {
		ASSERT_EQ(0, do_produce(r, m));
		consume_one_checked(_metadata, r, m);
	}
}

static void ring_done(struct xtap_ring *r, struct model *m)
{
	xtap_ring_cleanup(r, NULL);
	model_free(m);
}

TEST(init_sizes)
{
	static const unsigned int bad[] = {
		0, 3, 5, 6, 7, 12, 100, 1000, 4095, 65535, 65537, 131072,
		1u << 31, UINT_MAX,
	};
	struct xtap_ring r;
	unsigned int size, i;

	for (size = 1; size <= MAX_POW2; size <<= 1) {
		memset(&r, 0xa5, sizeof(r));
		ASSERT_EQ(0, xtap_ring_init(&r, size, GFP_KERNEL));
		EXPECT_EQ(size, xtap_ring_size(&r));
		EXPECT_EQ(size - 1, r.mask);
		EXPECT_EQ(expected_batch(size), r.batch);
		EXPECT_EQ(0, r.producer);
		EXPECT_EQ(0, r.consumer_head);
		EXPECT_EQ(0, r.consumer_tail);
		for (i = 0; i < size; i++)
			ASSERT_NULL(r.queue[i]);
		xtap_ring_cleanup(&r, NULL);
		EXPECT_NULL(r.queue);
		/* A second cleanup is harmless. */
		xtap_ring_cleanup(&r, NULL);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&r, 0xa5, sizeof(r));
		EXPECT_EQ(-EINVAL, xtap_ring_init(&r, bad[i], GFP_KERNEL))
			TH_LOG("size %u accepted", bad[i]);
		/* Cleanup after a failed init is safe. */
		xtap_ring_cleanup(&r, destroy_rec);
	}
}

TEST(layout)
{
	struct xtap_ring r;
	unsigned int size;
	size_t p = offsetof(struct xtap_ring, producer) / SMP_CACHE_BYTES;
	size_t c = offsetof(struct xtap_ring, consumer_head) / SMP_CACHE_BYTES;
	size_t o = offsetof(struct xtap_ring, size) / SMP_CACHE_BYTES;

	/* Each group of fields on its own pair of cache lines (the
	 * adjacent-line prefetcher works on aligned 128-byte pairs).
	 */
	EXPECT_NE(p, c);
	EXPECT_NE(c, o);
	EXPECT_NE(p, o);
	EXPECT_EQ(p, offsetof(struct xtap_ring, producer_lock) / SMP_CACHE_BYTES);
	EXPECT_EQ(c, offsetof(struct xtap_ring, consumer_tail) / SMP_CACHE_BYTES);
	EXPECT_EQ(c, offsetof(struct xtap_ring, consumer_lock) / SMP_CACHE_BYTES);
	EXPECT_EQ(o, offsetof(struct xtap_ring, mask) / SMP_CACHE_BYTES);
	EXPECT_EQ(o, offsetof(struct xtap_ring, batch) / SMP_CACHE_BYTES);
	EXPECT_EQ(o, offsetof(struct xtap_ring, queue) / SMP_CACHE_BYTES);
	EXPECT_EQ(0, offsetof(struct xtap_ring, producer) % (2 * SMP_CACHE_BYTES));
	EXPECT_EQ(0, offsetof(struct xtap_ring, consumer_head) % (2 * SMP_CACHE_BYTES));
	EXPECT_EQ(0, offsetof(struct xtap_ring, size) % (2 * SMP_CACHE_BYTES));
	EXPECT_EQ(0, sizeof(r) % (2 * SMP_CACHE_BYTES));
	EXPECT_EQ(0, _Alignof(struct xtap_ring) % (2 * SMP_CACHE_BYTES));

	/* A batch covers whole cache lines, or sits inside one. */
	for (size = 1; size <= MAX_POW2; size <<= 1) {
		ASSERT_EQ(0, xtap_ring_init(&r, size, GFP_KERNEL));
		EXPECT_EQ(0, (uintptr_t)r.queue % SMP_CACHE_BYTES);
		EXPECT_EQ(0, size % r.batch);
		EXPECT_EQ(XTAP_RING_BATCH, 4 * SMP_CACHE_BYTES / sizeof(void *));
		EXPECT_LE(r.batch, XTAP_RING_BATCH);
		if (r.batch * sizeof(void *) >= SMP_CACHE_BYTES) {
			EXPECT_EQ(0, r.batch * sizeof(void *) % SMP_CACHE_BYTES);
		} else {
			EXPECT_EQ(0, SMP_CACHE_BYTES % (r.batch * sizeof(void *)));
		}
		xtap_ring_cleanup(&r, NULL);
	}
}

/* Fill to full, drain, several laps at shifting offsets: every size. */
TEST(empty_full_wrap)
{
	struct xtap_ring r;
	struct model m;
	unsigned int size, lap, i;

	for (size = 1; size <= 4096; size <<= 1) {
		ring_at(_metadata, &r, &m, size, 0);
		check_ring(_metadata, &r, &m);
		ASSERT_NULL(__xtap_ring_consume(&r));
		for (lap = 0; lap < 5; lap++) {
			/*
			 * The producer gets the whole ring back only when the
			 * consumer stopped on a batch boundary.
			 */
			unsigned int room = producer_room(&r);
			unsigned int b = r.batch;

			ASSERT_EQ(size - r.consumer_head % b, room);
			for (i = 0; i < room; i++)
				ASSERT_EQ(0, do_produce(&r, &m));
			check_ring(_metadata, &r, &m);
			ASSERT_TRUE(__xtap_ring_full(&r));
			ASSERT_EQ(-ENOSPC, __xtap_ring_produce(&r, tok(999999)));
			ASSERT_EQ(room, xtap_ring_occupancy(&r));
			for (i = 0; i < room; i++)
				consume_one_checked(_metadata, &r, &m);
			check_ring(_metadata, &r, &m);
			ASSERT_TRUE(__xtap_ring_empty(&r));
			ASSERT_NULL(__xtap_ring_consume(&r));
			ASSERT_FALSE(__xtap_ring_full(&r));
			/* shift the start of the next lap */
			for (i = 0; i < size / 3 + lap; i++) {
				ASSERT_EQ(0, do_produce(&r, &m));
				consume_one_checked(_metadata, &r, &m);
			}
			check_ring(_metadata, &r, &m);
		}
		ring_done(&r, &m);
	}
}

/*
 * Batch zeroing at every position: from every start offset, fill the ring,
 * consume one pointer at a time while refilling whatever the consumer
 * releases for one lap, then drain it, checking every slot after every
 * step.  Sizes up to 256 try every start offset; larger ones the offsets
 * next to the batch boundaries at the start and at the wrap.
 */
TEST(zeroing_every_position)
{
	struct xtap_ring r;
	struct model m;
	unsigned int size, off, i;

	for (size = 1; size <= 4096; size <<= 1) {
		unsigned int b = expected_batch(size);

		for (off = 0; off < size + size / 2 + 1; off++) {
			unsigned int in_batch = off % b;

			if (size > 256 &&
			    !((off < 2 * b || (off + b >= size && off <= size + b)) &&
			      (in_batch <= 1 || in_batch == b - 1)))
				continue;
			ring_at(_metadata, &r, &m, size, off);
			ASSERT_EQ(size - in_batch, producer_room(&r));
			for (i = 0; i < size - in_batch; i++) {
				ASSERT_EQ(0, do_produce(&r, &m));
				if (size <= 64 || (i % b) == 0 || i == size - 1)
					check_ring(_metadata, &r, &m);
			}
			ASSERT_TRUE(__xtap_ring_full(&r));
			/* Drain one by one; the first lap keeps it topped up. */
			for (i = 0; i < 2 * size; i++) {
				unsigned int h;

				consume_one_checked(_metadata, &r, &m);
				h = r.consumer_head % b;
				if (size <= 1024 || h <= 1 || h == b - 1)
					check_ring(_metadata, &r, &m);
				if (i >= size || !__xtap_ring_has_room(&r, 1))
					continue;
				/* Room appears only at a batch boundary. */
				ASSERT_EQ(0, h);
				ASSERT_TRUE(__xtap_ring_has_room(&r, b));
				produce_checked(_metadata, &r, &m, (int)b);
				ASSERT_TRUE(__xtap_ring_full(&r));
			}
			check_ring(_metadata, &r, &m);
			ASSERT_EQ(0, m.count);
			ring_done(&r, &m);
		}
	}
}

/* A full ring gets room only when a whole batch has been consumed. */
TEST(producer_waits_for_whole_batch)
{
	struct xtap_ring r;
	struct model m;
	unsigned int size, i, off;

	for (size = 1; size <= 4096; size <<= 1) {
		unsigned int b = expected_batch(size);

		for (off = 0; off < 3 * b && off <= size; off += b) {
			ring_at(_metadata, &r, &m, size, off);
			for (i = 0; i < size; i++)
				ASSERT_EQ(0, do_produce(&r, &m));
			for (i = 0; i < b - 1; i++) {
				consume_one_checked(_metadata, &r, &m);
				ASSERT_TRUE(__xtap_ring_full(&r));
				ASSERT_FALSE(__xtap_ring_has_room(&r, 1));
				ASSERT_EQ(-ENOSPC, do_produce(&r, &m));
			}
			consume_one_checked(_metadata, &r, &m);
			ASSERT_FALSE(__xtap_ring_full(&r));
			ASSERT_TRUE(__xtap_ring_has_room(&r, b));
			if (b < size)
				ASSERT_FALSE(__xtap_ring_has_room(&r, b + 1));
			check_ring(_metadata, &r, &m);
			produce_checked(_metadata, &r, &m, b + 1);
			check_ring(_metadata, &r, &m);
			ASSERT_TRUE(__xtap_ring_full(&r));
			ring_done(&r, &m);
		}
	}
}

/* produce_bulk and consume_batch at n = 0, 1, size, > size, across wrap. */
TEST(bulk_boundaries)
{
	static const unsigned int offs[] = {
		0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33,
	};
	struct xtap_ring r;
	struct model m;
	unsigned int size, oi, fill;

	for (size = 1; size <= 4096; size <<= 1) {
		for (oi = 0; oi < ARRAY_SIZE(offs); oi++) {
			unsigned int off = offs[oi] + (size > 16 ? size - 9 : 0);

			ring_at(_metadata, &r, &m, size, off);
			produce_checked(_metadata, &r, &m, 0);
			produce_checked(_metadata, &r, &m, -3);
			check_ring(_metadata, &r, &m);
			consume_checked(_metadata, &r, &m, 0);
			consume_checked(_metadata, &r, &m, 1);	/* empty */
			consume_checked(_metadata, &r, &m, (int)size + 5);
			produce_checked(_metadata, &r, &m, 1);
			check_ring(_metadata, &r, &m);
			consume_checked(_metadata, &r, &m, (int)size);
			check_ring(_metadata, &r, &m);
			/* n == size on an empty ring: all of it */
			produce_checked(_metadata, &r, &m, (int)size);
			check_ring(_metadata, &r, &m);
			produce_checked(_metadata, &r, &m, 1);	/* full */
			consume_checked(_metadata, &r, &m, (int)size);
			check_ring(_metadata, &r, &m);
			/* n > size: capped */
			produce_checked(_metadata, &r, &m, (int)size * 2 + 3);
			check_ring(_metadata, &r, &m);
			consume_checked(_metadata, &r, &m, (int)size * 2 + 3);
			check_ring(_metadata, &r, &m);
			/* partial fills, drained with batches of every size */
			for (fill = 1; fill <= size && fill <= 70; fill++) {
				produce_checked(_metadata, &r, &m, (int)fill);
				consume_checked(_metadata, &r, &m, 1);
				produce_checked(_metadata, &r, &m, (int)fill);
				check_ring(_metadata, &r, &m);
				consume_checked(_metadata, &r, &m, (int)fill);
				consume_checked(_metadata, &r, &m, (int)fill);
				check_ring(_metadata, &r, &m);
			}
			ring_done(&r, &m);
		}
	}
}

/*
 * The consumer must not run into the consumed-but-uncleared slots one lap
 * ahead, which still hold old pointers, when the producer has filled the
 * ring behind them.
 */
TEST(consume_batch_stops_at_uncleared)
{
	struct xtap_ring r;
	struct model m;
	unsigned int size, k;

	for (size = 4; size <= 4096; size <<= 1) {
		unsigned int b = expected_batch(size);

		for (k = 1; k < b; k++) {
			ring_at(_metadata, &r, &m, size, 0);
			produce_checked(_metadata, &r, &m, (int)size);
			consume_checked(_metadata, &r, &m, (int)k);
			/* k uncleared slots; the producer cannot use them */
			produce_checked(_metadata, &r, &m, 1);
			ASSERT_EQ(k, r.consumer_head - r.consumer_tail);
			consume_checked(_metadata, &r, &m, (int)size * 2);
			check_ring(_metadata, &r, &m);
			ASSERT_TRUE(__xtap_ring_empty(&r));
			ring_done(&r, &m);
		}
	}
}

/* Unconsumed pointers come back first, in their original order. */
TEST(unconsume_order)
{
	unsigned long back[64];
	struct xtap_ring r;
	struct model m;
	unsigned int size, off, k, i;

	for (size = 1; size <= 1024; size <<= 1) {
		for (off = 0; off < 2 * size && off < 40; off += 3) {
			for (k = 1; k <= size && k <= 20; k++) {
				ring_at(_metadata, &r, &m, size, off);
				unsigned int fill;

				produce_checked(_metadata, &r, &m, (int)size);
				fill = m.count;
				if (k > fill) {
					/* head not on a batch boundary */
					ring_done(&r, &m);
					continue;
				}
				for (i = 0; i < k; i++) {
					back[i] = model_at(&m, 0);
					consume_one_checked(_metadata, &r, &m);
				}
				check_ring(_metadata, &r, &m);
				unconsume_checked(_metadata, &r, &m, back, (int)k);
				check_ring(_metadata, &r, &m);
				ASSERT_EQ(fill, m.count);
				/* everything in the original order */
				for (i = 0; i < fill; i++)
					ASSERT_EQ(tok(back[0] + i),
						  __xtap_ring_consume(&r));
				ring_done(&r, &m);
			}
		}
	}
}

/* Pointers that do not fit are destroyed: the oldest ones. */
TEST(unconsume_overflow_destroys_oldest)
{
	unsigned long back[300];
	struct xtap_ring r;
	struct model m;
	unsigned int size, refill, i, k;

	for (size = 1; size <= 256; size <<= 1) {
		k = size < 16 ? size : 16;
		for (refill = 0; refill <= k; refill++) {
			/* start on a batch boundary: the whole ring is usable */
			ring_at(_metadata, &r, &m, size, 2 * XTAP_RING_BATCH);
			produce_checked(_metadata, &r, &m, (int)size);
			ASSERT_EQ(size, m.count);
			for (i = 0; i < k; i++)
				back[i] = untok(__xtap_ring_consume(&r));
			for (i = 0; i < k; i++)
				model_pop(&m);
			/* let the producer take back refill of the k slots */
			for (i = k; i > k - refill && i > 0; i--) {
				if (!__xtap_ring_has_room(&r, 1))
					break;
				ASSERT_EQ(0, do_produce(&r, &m));
			}
			check_ring(_metadata, &r, &m);
			unconsume_checked(_metadata, &r, &m, back, (int)k);
			check_ring(_metadata, &r, &m);
			ASSERT_EQ(size, m.count);
			while (m.count)
				consume_one_checked(_metadata, &r, &m);
			ring_done(&r, &m);
		}
	}

	/* More than the ring holds into an empty ring. */
	for (size = 1; size <= 256; size <<= 1) {
		ring_at(_metadata, &r, &m, size, 3);
		for (i = 0; i < size + 7; i++)
			back[i] = 1000 + i;
		unconsume_checked(_metadata, &r, &m, back, (int)size + 7);
		check_ring(_metadata, &r, &m);
		for (i = 0; i < size; i++)
			ASSERT_EQ(tok(1007 + i), __xtap_ring_consume(&r));
		ASSERT_NULL(__xtap_ring_consume(&r));
		ring_done(&r, &m);
	}

	/* A full ring takes nothing; n = 0 does nothing. */
	ring_at(_metadata, &r, &m, 64, 0);
	produce_checked(_metadata, &r, &m, 64);
	back[0] = 5000;
	back[1] = 5001;
	unconsume_checked(_metadata, &r, &m, back, 2);
	unconsume_checked(_metadata, &r, &m, back, 0);
	check_ring(_metadata, &r, &m);
	ring_done(&r, &m);
}

/* The locked wrappers behave like the unlocked functions. */
TEST(locked_variants)
{
	void *v[8], *in[8];
	struct xtap_ring r;
	int i;

	for (i = 0; i < 8; i++)
		in[i] = tok(i);
	ASSERT_EQ(0, xtap_ring_init(&r, 8, GFP_KERNEL));
	EXPECT_TRUE(xtap_ring_empty(&r));
	EXPECT_TRUE(xtap_ring_empty_bh(&r));
	EXPECT_FALSE(xtap_ring_full(&r));
	EXPECT_FALSE(xtap_ring_full_bh(&r));
	EXPECT_EQ(0, xtap_ring_produce(&r, in[0]));
	EXPECT_EQ(0, xtap_ring_produce_bh(&r, in[1]));
	EXPECT_EQ(3, xtap_ring_produce_bulk(&r, &in[2], 3));
	EXPECT_EQ(3, xtap_ring_produce_bulk_bh(&r, &in[5], 5));
	EXPECT_TRUE(xtap_ring_full(&r));
	EXPECT_TRUE(xtap_ring_full_bh(&r));
	EXPECT_EQ(-ENOSPC, xtap_ring_produce(&r, in[0]));
	EXPECT_EQ(-ENOSPC, xtap_ring_produce_bh(&r, in[0]));
	EXPECT_FALSE(xtap_ring_empty(&r));
	EXPECT_FALSE(xtap_ring_empty_bh(&r));
	EXPECT_EQ(in[0], xtap_ring_consume(&r));
	EXPECT_EQ(in[1], xtap_ring_consume_bh(&r));
	EXPECT_EQ(2, xtap_ring_consume_batch(&r, v, 2));
	EXPECT_EQ(in[2], v[0]);
	EXPECT_EQ(in[3], v[1]);
	EXPECT_EQ(0, xtap_ring_unconsume(&r, v, 2, destroy_rec));
	EXPECT_EQ(6, xtap_ring_consume_batch_bh(&r, v, 8));
	for (i = 0; i < 6; i++)
		EXPECT_EQ(in[i + 2], v[i]);
	EXPECT_EQ(0, xtap_ring_unconsume_bh(&r, v, 6, destroy_rec));
	EXPECT_EQ(6, xtap_ring_occupancy(&r));
	ndestroyed = 0;
	xtap_ring_cleanup(&r, destroy_rec);
	EXPECT_EQ(6, ndestroyed);
	for (i = 0; i < 6; i++)
		EXPECT_EQ(i + 2, destroyed[i]);
}

/* Cleanup destroys exactly the unconsumed pointers, oldest first. */
TEST(cleanup_destroys_unconsumed)
{
	struct xtap_ring r;
	struct model m;
	unsigned int i;

	ring_at(_metadata, &r, &m, 64, 60);
	produce_checked(_metadata, &r, &m, 40);
	consume_checked(_metadata, &r, &m, 13);	/* 5 uncleared remain */
	ndestroyed = 0;
	xtap_ring_cleanup(&r, destroy_rec);
	ASSERT_EQ(27, ndestroyed);
	for (i = 0; i < 27; i++)
		ASSERT_EQ(model_at(&m, i), destroyed[i]);
	model_free(&m);
}

/* Random operations against the model for every size. */
TEST(random_vs_model)
{
	unsigned long back[80];
	struct xtap_ring r;
	struct model m;
	unsigned int size;

	for (size = 1; size <= MAX_POW2; size <<= 1) {
		unsigned int steps = size <= 4096 ? 3 * size + 3000 : 20000;
		unsigned int every = size <= 4096 ? 1 : 499;
		unsigned int s;

		rnd_state = 0x9e3779b9u ^ size;
		ring_at(_metadata, &r, &m, size, rnd() % (2 * size));
		for (s = 0; s < steps; s++) {
			unsigned int op = rnd() % 100;
			int n = (int)(rnd() % (rnd() % 4 ? 20 : size + 20));
			int i;

			if (op < 30) {
				do_produce(&r, &m);
			} else if (op < 50) {
				produce_checked(_metadata, &r, &m, n);
			} else if (op < 72) {
				consume_one_checked(_metadata, &r, &m);
			} else if (op < 94) {
				consume_checked(_metadata, &r, &m, n);
			} else if (op < 98) {
				/* consume some, maybe produce, give back */
				n %= 64;
				if ((unsigned int)n > m.count)
					n = (int)m.count;
				for (i = 0; i < n; i++)
					back[i] = untok(__xtap_ring_consume(&r));
				for (i = 0; i < n; i++)
					ASSERT_EQ(model_pop(&m), back[i]);
				if (rnd() & 1)
					produce_checked(_metadata, &r, &m,
							(int)(rnd() % 70));
				unconsume_checked(_metadata, &r, &m, back, n);
			} else {
				/* drain completely */
				consume_checked(_metadata, &r, &m,
						(int)size + 1);
			}
			if (s % every == 0)
				check_ring(_metadata, &r, &m);
		}
		check_ring(_metadata, &r, &m);
		ring_done(&r, &m);
	}
}

/* The free-running 32-bit indices wrap around 2^32 without a hiccup. */
TEST(index_wrap_2_32)
{
	unsigned long back[16];
	struct xtap_ring r;
	struct model m;
	unsigned int size, s, i;

	for (size = 1; size <= 4096; size <<= 2) {
		ASSERT_EQ(0, xtap_ring_init(&r, size, GFP_KERNEL));
		model_init(&m, size);
		/* As if 2^32 - 2 * size - 64 pointers had gone through. */
		r.producer = 0u - 2 * size - 64;
		r.consumer_head = r.producer;
		r.consumer_tail = r.producer;
		rnd_state = 4242 + size;
		for (s = 0; s < 8 * size + 400; s++) {
			unsigned int n = rnd() % (size + 3);

			switch (rnd() % 5) {
			case 0:
				produce_checked(_metadata, &r, &m, (int)n);
				break;
			case 1:
				do_produce(&r, &m);
				break;
			case 2:
				consume_checked(_metadata, &r, &m, (int)n);
				break;
			case 3:
				consume_one_checked(_metadata, &r, &m);
				break;
			default:
				n = m.count < 16 ? m.count : 16;
				for (i = 0; i < n; i++) {
					back[i] = untok(__xtap_ring_consume(&r));
					ASSERT_EQ(model_pop(&m), back[i]);
				}
				unconsume_checked(_metadata, &r, &m, back, (int)n);
				break;
			}
			check_ring(_metadata, &r, &m);
		}
		/* The run really crossed the wrap. */
		ASSERT_LT(r.consumer_head, 0x80000000u);
		ring_done(&r, &m);
	}
}

/* ---- two-thread stress ---- */

enum stress_mode {
	SINGLE_LOCKED,		/* xtap_ring_produce / xtap_ring_consume */
	BATCH_LOCKED,		/* produce_bulk / consume_batch, locked */
	SINGLE_UNLOCKED,	/* __ variants, one owner per side */
	BATCH_UNLOCKED,
	MIXED_LOCKED,		/* random mix of single and batched calls */
};

struct item {
	unsigned long seq;
	unsigned long check;
};

struct producer_arg {
	struct xtap_ring *r;
	struct item *items;	/* this producer's objects */
	unsigned int nitems;
	unsigned long count;
	enum stress_mode mode;
	unsigned int maxbatch;
	unsigned int seed;
	unsigned long full_spins;
	int done;		/* set (release) when all is produced */
};

FIXTURE(stress) {
	struct xtap_ring r;
	struct producer_arg pa[2];
	pthread_t thr[2];
};

FIXTURE_VARIANT(stress) {
	unsigned int size;
	unsigned long count;	/* per producer */
	enum stress_mode mode;
	unsigned int maxbatch;	/* 0: always the max below, else random 1..max */
	unsigned int producers;
	bool poll_lockless;	/* consumer polls xtap_ring_empty_lockless() */
};

/* The main one: 10^8 pointers through the locked single-item API. */
FIXTURE_VARIANT_ADD(stress, single_1e8) {
	.size = 1024, .count = 100000000, .mode = SINGLE_LOCKED,
	.producers = 1,
};

FIXTURE_VARIANT_ADD(stress, batch_1e8) {
	.size = 1024, .count = 100000000, .mode = BATCH_LOCKED,
	.maxbatch = 64, .producers = 1,
};

FIXTURE_VARIANT_ADD(stress, unlocked_single_256) {
	.size = 256, .count = 20000000, .mode = SINGLE_UNLOCKED,
	.producers = 1, .poll_lockless = true,
};

FIXTURE_VARIANT_ADD(stress, unlocked_batch_64) {
	.size = 64, .count = 20000000, .mode = BATCH_UNLOCKED,
	.maxbatch = 16, .producers = 1,
};

FIXTURE_VARIANT_ADD(stress, mixed_4096) {
	.size = 4096, .count = 20000000, .mode = MIXED_LOCKED,
	.maxbatch = 100, .producers = 1,
};

FIXTURE_VARIANT_ADD(stress, size1) {
	.size = 1, .count = 2000000, .mode = MIXED_LOCKED,
	.maxbatch = 3, .producers = 1,
};

FIXTURE_VARIANT_ADD(stress, size2) {
	.size = 2, .count = 2000000, .mode = BATCH_LOCKED,
	.maxbatch = 4, .producers = 1,
};

FIXTURE_VARIANT_ADD(stress, size16_batch_over_size) {
	.size = 16, .count = 5000000, .mode = BATCH_LOCKED,
	.maxbatch = 40, .producers = 1,
};

FIXTURE_VARIANT_ADD(stress, two_producers) {
	.size = 128, .count = 2000000, .mode = MIXED_LOCKED,
	.maxbatch = 16, .producers = 2,
};

FIXTURE_SETUP(stress)
{
	unsigned int p;

	ASSERT_EQ(0, xtap_ring_init(&self->r, variant->size, GFP_KERNEL));
	for (p = 0; p < variant->producers; p++) {
		struct producer_arg *a = &self->pa[p];

		a->r = &self->r;
		/* more objects than can be in flight, so none is reused early */
		a->nitems = 2 * variant->size + 2 * variant->maxbatch + 64;
		a->items = calloc(a->nitems, sizeof(*a->items));
		ASSERT_NE(NULL, a->items);
		a->count = variant->count;
		a->mode = variant->mode;
		a->maxbatch = variant->maxbatch ? variant->maxbatch : 1;
		a->seed = 12345 + p;
	}
}

FIXTURE_TEARDOWN(stress)
{
	unsigned int p;

	xtap_ring_cleanup(&self->r, NULL);
	for (p = 0; p < variant->producers; p++)
		free(self->pa[p].items);
}

static unsigned int xs(unsigned int *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Fill in the object, then publish it: the consumer checks both fields. */
static void *make_item(struct producer_arg *a, unsigned long seq)
{
	struct item *it = &a->items[seq % a->nitems];

	it->seq = seq;
	it->check = ~seq ^ (uintptr_t)a;
	return it;
}

/*
 * Spin politely: on a busy machine the other side may share our CPU, so
 * give it the CPU after a while instead of spinning out a whole time slice.
 */
static void backoff(unsigned int *spins)
{
	if (++*spins % 256)
		cpu_relax();
	else
		sched_yield();
}

static void *producer_fn(void *arg)
{
	struct producer_arg *a = arg;
	unsigned int spins = 0;
	void *v[128];
	unsigned long seq = 0;

	while (seq < a->count) {
		bool batched = a->mode == BATCH_LOCKED ||
			       a->mode == BATCH_UNLOCKED ||
			       (a->mode == MIXED_LOCKED && (xs(&a->seed) & 1));

		if (!batched) {
			void *p = make_item(a, seq);
			int ret;

			for (;;) {
				if (a->mode == SINGLE_UNLOCKED)
					ret = __xtap_ring_produce(a->r, p);
				else
					ret = xtap_ring_produce(a->r, p);
				if (!ret)
					break;
				a->full_spins++;
				backoff(&spins);
			}
			seq++;
		} else {
			unsigned int n = xs(&a->seed) % a->maxbatch + 1;
			unsigned int i = 0;

			if (n > a->count - seq)
				n = a->count - seq;
			for (i = 0; i < n; i++)
				v[i] = make_item(a, seq + i);
			i = 0;
			while (i < n) {
				int got;

				if (a->mode == BATCH_UNLOCKED)
					got = __xtap_ring_produce_bulk(a->r, v + i,
								       n - i);
				else
					got = xtap_ring_produce_bulk(a->r, v + i,
								     n - i);
				if (!got) {
					a->full_spins++;
					backoff(&spins);
				}
				i += got;
			}
			seq += n;
		}
	}
	__atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool all_done(FIXTURE_DATA(stress) *self, unsigned int producers)
{
	unsigned int p;

	for (p = 0; p < producers; p++)
		if (!__atomic_load_n(&self->pa[p].done, __ATOMIC_ACQUIRE))
			return false;
	return true;
}

TEST_F_TIMEOUT(stress, run, 300)
{
	unsigned long expect[2] = { 0, 0 };
	unsigned long total = variant->count * variant->producers;
	unsigned long got = 0, bad = 0, empty_spins = 0, calls = 0;
	unsigned int seed = 777, maxb = variant->maxbatch ? variant->maxbatch : 1;
	unsigned int spins = 0;
	void *v[128];
	double t0;
	unsigned int p;

	t0 = now_s();
	for (p = 0; p < variant->producers; p++)
		ASSERT_EQ(0, pthread_create(&self->thr[p], NULL, producer_fn,
					    &self->pa[p]));

	while (got < total) {
		bool batched = variant->mode == BATCH_LOCKED ||
			       variant->mode == BATCH_UNLOCKED ||
			       (variant->mode == MIXED_LOCKED && (xs(&seed) & 1));
		int n, i;

		if (variant->poll_lockless && xtap_ring_empty_lockless(&self->r)) {
			empty_spins++;
			backoff(&spins);
			continue;
		}
		calls++;
		if (!batched) {
			if (variant->mode == SINGLE_UNLOCKED)
				v[0] = __xtap_ring_consume(&self->r);
			else
				v[0] = xtap_ring_consume(&self->r);
			n = v[0] != NULL;
		} else {
			int want = (int)(xs(&seed) % maxb) + 1;

			if (variant->mode == BATCH_UNLOCKED)
				n = __xtap_ring_consume_batch(&self->r, v, want);
			else
				n = xtap_ring_consume_batch(&self->r, v, want);
		}
		if (!n) {
			/* Producers done and the ring empty: stop, and fail
			 * below, rather than wait for pointers that got lost.
			 */
			if (all_done(self, variant->producers) &&
			    xtap_ring_empty(&self->r))
				break;
			empty_spins++;
			backoff(&spins);
			continue;
		}
		for (i = 0; i < n; i++) {
			struct item *it = v[i];
			struct producer_arg *a = NULL;

			for (p = 0; p < variant->producers; p++)
				if (it >= self->pa[p].items &&
				    it < self->pa[p].items + self->pa[p].nitems)
					a = &self->pa[p];
			if (!a) {
				bad++;
				continue;
			}
			p = a - self->pa;
			/* order, no loss, no duplicate, contents visible */
			if (it != &a->items[expect[p] % a->nitems] ||
			    it->seq != expect[p] ||
			    it->check != (~expect[p] ^ (uintptr_t)a)) {
				if (bad < 5)
					TH_LOG("producer %u: expected seq %lu, got %lu",
					       p, expect[p], it->seq);
				bad++;
			}
			expect[p] = it->seq + 1;
		}
		got += n;
	}
	for (p = 0; p < variant->producers; p++)
		ASSERT_EQ(0, pthread_join(self->thr[p], NULL));

	TH_LOG("%lu pointers in %.2f s (%.1f M/s), %lu consume calls, "
	       "empty spins %lu, full spins %lu",
	       total, now_s() - t0, total / (now_s() - t0) / 1e6, calls,
	       empty_spins, self->pa[0].full_spins + self->pa[1].full_spins);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(total, got);
	for (p = 0; p < variant->producers; p++)
		EXPECT_EQ(variant->count, expect[p]);
	/* Nothing extra left behind. */
	EXPECT_TRUE(xtap_ring_empty(&self->r));
	EXPECT_NULL(xtap_ring_consume(&self->r));
	EXPECT_EQ(0, xtap_ring_occupancy(&self->r));
}

TEST_HARNESS_MAIN
