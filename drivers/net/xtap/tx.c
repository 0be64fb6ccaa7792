// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Guest transmit (guest -> host; the netdev's rx), as vhost-net's
 * handle_tx.  The TX worker takes up to XTAP_VQ_BATCH chains per
 * round, hands each to the queue as an iov_iter over the guest's buffers
 * (the queue copies the frame into an skb), gives the queue the whole batch
 * at once, then publishes the used elements and signals the guest once.
 */

#include "worker.h"
#include "queue.h"
#include "tx.h"
#include "vq.h"

#include <linux/list.h>
#include <linux/uio.h>

enum xtap_tx_status {
	XTAP_TX_MORE,		/* a full batch went out */
	XTAP_TX_EMPTY,		/* the available ring is empty */
	XTAP_TX_FAULT,		/* the rings cannot be used until the next kick */
};

static void xtap_tx_one(struct xtap_vq *vq, const struct xtap_chain *c,
			struct list_head *batch, size_t *bytes)
{
	struct iov_iter from;
	ssize_t ret;

	iov_iter_init(&from, ITER_SOURCE, vq->iov, c->niov, c->len);
	if (vq->vhost_hlen) {
		/* vhost owns the header: strip it, the queue has none. */
		if (c->len < vq->vhost_hlen)
			return;
		iov_iter_advance(&from, vq->vhost_hlen);
	}
	ret = xtap_queue_write_iter(vq->q, &from, batch);
	if (ret < 0)
		return;
	vq->stats.packets++;
	*bytes += c->len;
}

static enum xtap_tx_status xtap_tx_round(struct xtap_vq *vq,
					 unsigned int *chains, size_t *bytes)
{
	enum xtap_tx_status status = XTAP_TX_MORE;
	struct xtap_chain c;
	LIST_HEAD(batch);
	unsigned int n;

	for (n = 0; n < XTAP_VQ_BATCH; n++) {
		switch (xtap_vq_get_chain(vq, false, vq->iov, XTAP_VQ_MAX_IOV,
					  &c)) {
		case XTAP_CHAIN_OK:
			xtap_tx_one(vq, &c, &batch, bytes);
			xtap_vq_add_used(vq, c.head, 0);
			continue;
		case XTAP_CHAIN_BAD:
			xtap_vq_add_used(vq, c.head, 0);
			continue;
		case XTAP_CHAIN_SKIP:
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
	*chains += n + 1;
	if (!list_empty(&batch))
		xtap_queue_write_flush(vq->q, &batch);
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
	unsigned int chains = 0;
	size_t bytes = 0;

	lockdep_assert_held(&vq->mutex);
	if (!xtap_vq_ready(vq))
		return;
	xtap_vq_disable_notify(vq);
	for (;;) {
		if (chains >= XTAP_VQ_WEIGHT_PKTS ||
		    bytes >= XTAP_VQ_WEIGHT_BYTES) {
			xtap_worker_queue(vq->worker);
			return;
		}
		switch (xtap_tx_round(vq, &chains, &bytes)) {
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
 * threads get the CPU in between).
 */
void xtap_tx_handle(struct xtap_vq *vq)
{
	mutex_lock(&vq->mutex);
	xtap_busy_poll_woken(vq);
	xtap_tx_run(vq, true);
	xtap_vq_flush_counts(vq);
	mutex_unlock(&vq->mutex);
}
