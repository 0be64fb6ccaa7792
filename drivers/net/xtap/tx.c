// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Guest transmit (guest -> host; the netdev's rx), as vhost-net's
 * handle_tx.  The TX worker takes up to XTAP_VQ_BATCH chains per
 * round, hands each to the queue as an iov_iter over the guest's buffers
 * (the queue copies the frame into an XDP buffer, or into an skb when it
 * needs offloads or is larger than a page), ends the round with the whole
 * batch at once (XDP verdicts, one list of skbs for the stack; xdp.c),
 * then publishes the used elements and signals the guest once.
 */

#include "xtap.h"
#include "worker.h"
#include "queue.h"
#include "tx.h"
#include "vq.h"
#include "xdp.h"

#include <linux/list.h>
#include <linux/uio.h>

/**
 * struct xtap_tx_work - work done by one run of the TX handler
 * @chains: chains taken (and a round's final look at the ring)
 * @bytes: bytes sent
 * @descs: descriptors read
 */
struct xtap_tx_work {
	unsigned int chains;
	size_t bytes;
	unsigned int descs;
};

static bool xtap_tx_work_done(const struct xtap_tx_work *w)
{
	return w->chains >= XTAP_VQ_WEIGHT_PKTS ||
	       w->bytes >= XTAP_VQ_WEIGHT_BYTES ||
	       w->descs >= XTAP_VQ_WEIGHT_DESCS;
}

enum xtap_tx_status {
	XTAP_TX_MORE,		/* a full batch went out */
	XTAP_TX_EMPTY,		/* the available ring is empty */
	XTAP_TX_FAULT,		/* the rings cannot be used until the next kick */
	XTAP_TX_RETRY,		/* no memory for a frame: try it again later */
};

/* A frame that cannot be built for lack of memory is not dropped at once:
 * as vhost-net does (vhost_discard_vq_desc()), its chain goes back to the
 * available ring and the TX worker tries it again after a short sleep, up
 * to XTAP_TX_NOMEM_RETRIES times in a row; then it is dropped (and counted
 * in rx_drop_nomem), so a lasting shortage cannot stall the ring for good.
 */
#define XTAP_TX_NOMEM_RETRIES	8
#define XTAP_TX_RETRY_DELAY_MS	2

/* The frame of the chain just taken could not be built for lack of memory.
 * Returns true when it is to be tried again (the caller puts the chain
 * back), false when it is dropped (counted here).
 */
static bool xtap_tx_nomem(struct xtap_vq *vq)
{
	if (vq->tx_retries < XTAP_TX_NOMEM_RETRIES) {
		vq->tx_retries++;
		xtap_queue_count(vq->q, XTAP_STAT_RX_NOMEM_RETRIES);
		return true;
	}
	xtap_queue_count(vq->q, XTAP_STAT_RX_DROP_NOMEM);
	return false;
}

/* The TX worker's thread, out of the vq mutex, after a run that put a chain
 * back: sleep a little (memory may be reclaimed meanwhile), then run again.
 * kthread_stop() wakes the sleep early.
 */
static void xtap_tx_retry_later(struct xtap_vq *vq)
{
	schedule_timeout_interruptible(msecs_to_jiffies(XTAP_TX_RETRY_DELAY_MS));
	xtap_worker_queue(vq->worker);
}

/* Returns -ENOMEM when the frame is to be tried again, else 0 (sent, or
 * dropped and counted).
 */
static int xtap_tx_one(struct xtap_vq *vq, const struct xtap_chain *c,
		       size_t *bytes)
{
	struct iov_iter from;
	ssize_t ret;

	iov_iter_init(&from, ITER_SOURCE, vq->iov, c->niov, c->len);
	if (vq->vhost_hlen) {
		/* vhost owns the header: strip it, the queue has none. */
		if (c->len < vq->vhost_hlen) {
			xtap_queue_count(vq->q, XTAP_STAT_RX_DROP_MALFORMED);
			return 0;
		}
		iov_iter_advance(&from, vq->vhost_hlen);
	}
	ret = xtap_queue_write_batched(vq->q, &from, vq->wb);
	if (ret == -ENOMEM && xtap_tx_nomem(vq))
		return -ENOMEM;
	vq->tx_retries = 0;
	if (ret < 0)
		return 0;
	vq->stats.packets++;
	*bytes += c->len;
	return 0;
}

static enum xtap_tx_status xtap_tx_round(struct xtap_vq *vq,
					 struct xtap_tx_work *w)
{
	enum xtap_tx_status status = XTAP_TX_MORE;
	struct xtap_chain c;
	unsigned int n;

	for (n = 0; n < XTAP_VQ_BATCH; n++) {
		if (w->descs >= XTAP_VQ_WEIGHT_DESCS)
			break;
		switch (xtap_vq_get_chain(vq, false, vq->iov, XTAP_VQ_MAX_IOV,
					  &c)) {
		case XTAP_CHAIN_OK:
			w->descs += c.ndescs;
			if (xtap_tx_one(vq, &c, &w->bytes)) {
				xtap_vq_discard(vq, 1);
				status = XTAP_TX_RETRY;
				break;
			}
			xtap_vq_add_used(vq, c.head, 0);
			continue;
		case XTAP_CHAIN_BAD:
			w->descs += c.ndescs;
			xtap_queue_count(vq->q, XTAP_STAT_RX_DROP_BAD_CHAIN);
			xtap_vq_add_used(vq, c.head, 0);
			continue;
		case XTAP_CHAIN_SKIP:
			xtap_queue_count(vq->q, XTAP_STAT_RX_DROP_BAD_CHAIN);
			continue;
		case XTAP_CHAIN_EMPTY:
			status = XTAP_TX_EMPTY;
			break;
		default:
			status = XTAP_TX_FAULT;
			break;
		}
		break;
	}
	w->chains += n + 1;
	xtap_queue_write_batch_end(vq->q, vq->wb);
	xtap_vq_flush_used(vq);
	xtap_vq_signal(vq);
	return status;
}

/**
 * xtap_tx_has_work() - has the guest made TX chains available?
 * @vq: the TX virtqueue, mutex held, owner's mm in use
 *
 * Return: true when the available ring is not empty.
 */
bool xtap_tx_has_work(struct xtap_vq *vq)
{
	return !xtap_vq_avail_empty(vq);
}

static void xtap_tx_run(struct xtap_vq *vq, bool may_poll)
{
	struct xtap_tx_work w = {};

	lockdep_assert_held(&vq->mutex);
	if (!xtap_vq_ready(vq))
		return;
	xtap_vq_disable_notify(vq);
	for (;;) {
		if (xtap_tx_work_done(&w)) {
			xtap_worker_queue(vq->worker);
			return;
		}
		switch (xtap_tx_round(vq, &w)) {
		case XTAP_TX_MORE:
			continue;
		case XTAP_TX_EMPTY:
			if (may_poll && xtap_busy_poll(vq))
				continue;
			if (!xtap_vq_enable_notify(vq))
				return;
			/* The guest slipped one in: go on. */
			xtap_vq_disable_notify(vq);
			continue;
		case XTAP_TX_FAULT:
			xtap_vq_enable_notify(vq);
			return;
		case XTAP_TX_RETRY:
			/* Kicks stay off: the TX worker comes back by itself
			 * (xtap_tx_retry_later()).
			 */
			if (!may_poll)
				xtap_worker_queue(vq->worker);
			return;
		}
	}
}

/**
 * xtap_tx_serve() - one run of the TX handler for the other worker
 * @vq: the TX virtqueue, mutex held, owner's mm in use
 *
 * What xtap_tx_handle() does, without busy polling; called by the RX
 * worker while it busy-polls (xtap_busy_poll()).
 */
void xtap_tx_serve(struct xtap_vq *vq)
{
	xtap_busy_poll_woken(vq);
	/* A frame waiting to be tried again is the TX worker's own (it
	 * sleeps between tries); queued, it comes back here or to its thread.
	 */
	if (vq->tx_retries) {
		xtap_worker_queue(vq->worker);
		return;
	}
	xtap_tx_run(vq, false);
	xtap_vq_flush_counts(vq);
}

/**
 * xtap_tx_handle() - the TX worker's handler
 * @vq: the TX virtqueue
 *
 * Runs with the owner's mm in use; takes @vq's mutex.  Moves batches until
 * the guest has nothing more (then busy-polls, re-enables kicks and checks
 * once more) or the budget is spent (then queues itself again, so other
 * threads get the CPU in between).  A frame put back for lack of memory is
 * tried again after a short sleep, out of the mutex.
 */
void xtap_tx_handle(struct xtap_vq *vq)
{
	bool retry;

	mutex_lock(&vq->mutex);
	xtap_busy_poll_woken(vq);
	xtap_tx_run(vq, true);
	xtap_vq_flush_counts(vq);
	retry = vq->tx_retries && xtap_vq_ready(vq);
	mutex_unlock(&vq->mutex);
	if (retry)
		xtap_tx_retry_later(vq);
}
