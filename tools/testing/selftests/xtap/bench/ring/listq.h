/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A spinlock-protected linked-list queue, the socket receive queue design
 * (one lock guarding head, tail and length; the link lives in the queued
 * object), as the baseline of the ring benchmark.  Bounded like a socket's
 * receive buffer, here by a number of entries.
 *
 * Copyright (C) 2026 The xtap authors.
 */
#ifndef _XTAP_LISTQ_H
#define _XTAP_LISTQ_H

#include "ring_compat.h"

struct listq_node {
	struct listq_node *next;
};

struct listq {
	spinlock_t lock; /* protects head, tail and len */
	struct listq_node *head;
	struct listq_node *tail;
	unsigned int len;
	unsigned int cap;
} ____cacheline_aligned_in_smp;

static inline void listq_init(struct listq *q, unsigned int cap)
{
	spin_lock_init(&q->lock);
	q->head = NULL;
	q->tail = NULL;
	q->len = 0;
	q->cap = cap;
}

/* Append the chain first..last (n nodes, last->next == NULL), all or none. */
static inline int listq_produce_chain(struct listq *q, struct listq_node *first,
				      struct listq_node *last, unsigned int n)
{
	spin_lock(&q->lock);
	if (q->cap - q->len < n) {
		spin_unlock(&q->lock);
		return 0;
	}
	if (q->tail)
		q->tail->next = first;
	else
		q->head = first;
	q->tail = last;
	q->len += n;
	spin_unlock(&q->lock);
	return n;
}

static inline int listq_produce(struct listq *q, struct listq_node *node)
{
	node->next = NULL;
	return listq_produce_chain(q, node, node, 1);
}

/* Detach up to n nodes from the head under one lock hold. */
static inline int listq_consume_batch(struct listq *q, void **ptrs, int n)
{
	struct listq_node *node;
	int i = 0;

	spin_lock(&q->lock);
	node = q->head;
	while (node && i < n) {
		ptrs[i++] = node;
		node = node->next;
	}
	q->head = node;
	if (!node)
		q->tail = NULL;
	q->len -= i;
	spin_unlock(&q->lock);
	return i;
}

static inline void *listq_consume(struct listq *q)
{
	struct listq_node *node;

	spin_lock(&q->lock);
	node = q->head;
	if (node) {
		q->head = node->next;
		if (!q->head)
			q->tail = NULL;
		q->len--;
	}
	spin_unlock(&q->lock);
	return node;
}

#endif /* _XTAP_LISTQ_H */
