// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Guest receive (host -> guest; the netdev's tx), as vhost-net's
 * handle_rx.  The RX worker takes up to XTAP_VQ_BATCH pointers at a
 * time from the queue ring into a private array, gathers guest buffers for
 * each frame (several chains with MRG_RXBUF), lets the queue copy header
 * and frame into them, and publishes the used elements of a whole batch
 * with one signal.  The ring holds skbs and xdp_frames (ndo_xdp_xmit,
 * XDP_TX) alike; an xdp_frame gets a zeroed vnet header (it carries no
 * checksum or GSO state), and the xdp_frames of a batch are returned with
 * xdp_return_frame_bulk() once the batch is published.
 *
 * When the guest has no buffers left the worker keeps the frames it holds,
 * stops taking more and waits for a kick; the queue ring fills up and the
 * netdev stops its queue (back-pressure, nothing is dropped here).  Until
 * that kick the worker also stops listening to the queue (it "parks" its
 * wait-queue entry): every new frame would only wake it to find the guest
 * still without buffers, up to a ring's worth of useless wake-ups per
 * stall.  The next run of the handler listens again.  (Upstream vhost-net
 * does the same: handle_rx() leaves the socket poll disabled when the
 * guest has no buffers.)  Without a kick eventfd the worker never parks:
 * frames are then all that can wake it.  When
 * the queue ring is empty the worker waits for the queue's EPOLLIN and
 * leaves guest kicks off.  Frames still held when the backend is detached
 * go back to the queue ring.
 */

#include "xtap.h"
#include "worker.h"
#include "queue.h"
#include "rx.h"
#include "vq.h"

#include <linux/uio.h>
#include <linux/virtio_byteorder.h>
#include <uapi/linux/virtio_net.h>

enum xtap_rx_status {
	XTAP_RX_DONE,		/* the frame was delivered or dropped */
	XTAP_RX_MORE,		/* a full batch went in */
	XTAP_RX_EMPTY,		/* the queue ring is empty */
	XTAP_RX_NOBUFS,		/* the guest has too few buffers */
	XTAP_RX_FAULT,		/* the rings cannot be used until the next kick */
	XTAP_RX_AGAIN,		/* many bad chains in a row: end the round */
};

/**
 * struct xtap_rx_gather - guest buffers gathered for one frame
 * @nheads: chains gathered; their heads (with the chain length in .len)
 *	follow the queued used elements at vq->heads[vq->nheads]
 * @niov: iovecs filled at vq->iov
 * @len: total length of the chains
 * @taken: available-ring entries taken for them
 * @descs: descriptors read on the way, bad chains included
 */
struct xtap_rx_gather {
	unsigned int nheads;
	unsigned int niov;
	size_t len;
	unsigned int taken;
	unsigned int descs;
};

static struct xtap_rx_vq *xtap_rx_vq(struct xtap_vq *vq)
{
	return container_of(vq, struct xtap_rx_vq, vq);
}

static void *xtap_rx_peek(struct xtap_rx_vq *rvq)
{
	int n;

	if (!rvq->rxq_count) {
		n = xtap_queue_consume_batch(rvq->vq.q, rvq->rxq,
					     XTAP_VQ_BATCH);
		if (n <= 0)
			return NULL;
		rvq->rxq_head = 0;
		rvq->rxq_count = n;
	}
	return rvq->rxq[rvq->rxq_head];
}

static void xtap_rx_pop(struct xtap_rx_vq *rvq)
{
	rvq->rxq_head++;
	rvq->rxq_count--;
}

/* Room for the largest gather behind the queued used elements. */
static void xtap_rx_make_room(struct xtap_vq *vq)
{
	if (vq->nheads + XTAP_VQ_MAX_IOV + 1 > XTAP_VQ_MAX_HEADS)
		xtap_vq_flush_used(vq);
}

/**
 * struct xtap_rx_batch - what one round delivered
 * @frames: frames written into guest buffers
 * @done: the xdp_frames among them, returned when the round ends
 */
struct xtap_rx_batch {
	unsigned int frames;
	struct xtap_frame_bulk done;
};

/* Return what was gathered so far with length 0 and start over. */
static void xtap_rx_gather_abort(struct xtap_vq *vq, struct xtap_rx_gather *g)
{
	unsigned int i;

	for (i = 0; i < g->nheads; i++)
		vq->heads[vq->nheads + i].len = 0;
	vq->nheads += g->nheads;
	*g = (struct xtap_rx_gather){ .descs = g->descs };
	xtap_rx_make_room(vq);
}

/* A bad chain with a valid head: the used elements of one frame must be
 * consecutive, so give back what this frame had, then the bad chain.
 * Returns true after a batch of bad chains in a row.
 */
static bool xtap_rx_gather_bad(struct xtap_vq *vq, struct xtap_rx_gather *g,
			       u16 head, unsigned int *bad)
{
	xtap_rx_gather_abort(vq, g);
	xtap_vq_add_used(vq, head, 0);
	return ++*bad >= XTAP_VQ_BATCH;
}

/* Gather chains until they hold @need bytes (one chain without MRG_RXBUF).
 * Gives everything back to the ring on EMPTY/FAULT; stops short, with what
 * it has, when the iovecs run out.  A guest that keeps making bad chains
 * available gets AGAIN after a batch of them, so that the handler's budget
 * bounds how long the worker holds the vq mutex.
 */
static enum xtap_rx_status xtap_rx_gather(struct xtap_vq *vq, size_t need,
					  bool mergeable,
					  struct xtap_rx_gather *g)
{
	unsigned int bad = 0;
	struct xtap_chain c;

	memset(g, 0, sizeof(*g));
	xtap_rx_make_room(vq);
	while (!g->nheads || (mergeable && g->len < need)) {
		if (g->niov == XTAP_VQ_MAX_IOV)
			break;
		switch (xtap_vq_get_chain(vq, true, vq->iov + g->niov,
					  XTAP_VQ_MAX_IOV - g->niov, &c)) {
		case XTAP_CHAIN_OK:
			g->descs += c.ndescs;
			g->taken++;
			if (!c.len) {
				xtap_vq_error(vq, "empty receive buffer (head %u)",
					      c.head);
				if (xtap_rx_gather_bad(vq, g, c.head, &bad))
					return XTAP_RX_AGAIN;
				continue;
			}
			vq->heads[vq->nheads + g->nheads].id =
				__cpu_to_virtio32(true, c.head);
			vq->heads[vq->nheads + g->nheads].len =
				__cpu_to_virtio32(true, c.len);
			g->nheads++;
			g->niov += c.niov;
			g->len += c.len;
			continue;
		case XTAP_CHAIN_BAD:
			g->descs += c.ndescs;
			if (xtap_rx_gather_bad(vq, g, c.head, &bad))
				return XTAP_RX_AGAIN;
			continue;
		case XTAP_CHAIN_SKIP:
			xtap_rx_gather_abort(vq, g);
			if (++bad >= XTAP_VQ_BATCH)
				return XTAP_RX_AGAIN;
			continue;
		case XTAP_CHAIN_NOSPACE:
			g->descs += c.ndescs;
			return XTAP_RX_DONE;
		case XTAP_CHAIN_EMPTY:
			xtap_vq_discard(vq, g->taken);
			return XTAP_RX_NOBUFS;
		case XTAP_CHAIN_FAULT:
			xtap_vq_discard(vq, g->taken);
			return XTAP_RX_FAULT;
		}
	}
	return XTAP_RX_DONE;
}

/* Header bytes ahead of the frame that vhost writes itself. */
static int xtap_rx_write_hdr(struct xtap_vq *vq, struct iov_iter *at,
			     int qhlen, unsigned int nbufs, bool mergeable)
{
	struct virtio_net_hdr_mrg_rxbuf hdr = {
		.hdr.gso_type = VIRTIO_NET_HDR_GSO_NONE,
		.num_buffers = __cpu_to_virtio16(true, nbufs),
	};
	__virtio16 nb = hdr.num_buffers;

	if (vq->vhost_hlen) {
		if (copy_to_iter(&hdr, vq->vhost_hlen, at) != vq->vhost_hlen)
			return -EFAULT;
		return 0;
	}
	/* The queue wrote num_buffers = 1; fix it up when that is wrong. */
	if (!mergeable || nbufs == 1 ||
	    qhlen < (int)sizeof(struct virtio_net_hdr_mrg_rxbuf))
		return 0;
	iov_iter_advance(at, offsetof(struct virtio_net_hdr_mrg_rxbuf,
				      num_buffers));
	if (copy_to_iter(&nb, sizeof(nb), at) != sizeof(nb))
		return -EFAULT;
	return 0;
}

/* Deliver the frame at the head of rxq[], or leave it there.  With @log
 * (a constant: see xtap_rx_round()) every byte written is logged dirty.
 */
static __always_inline enum xtap_rx_status
xtap_rx_one(struct xtap_rx_vq *rvq, void *ptr, size_t *bytes,
	    unsigned int *descs, struct xtap_rx_batch *b, const bool log)
{
	struct xtap_vq *vq = &rvq->vq;
	bool mergeable = xtap_vq_has_feature(vq, VIRTIO_NET_F_MRG_RXBUF);
	/* Read once: the gather, the copy and the num_buffers fix-up must
	 * agree on it although TUNSETVNETHDRSZ may change it meanwhile.
	 */
	int qhlen = xtap_queue_vnet_hdr_len(vq->q);
	size_t need = vq->vhost_hlen + qhlen + xtap_queue_ptr_len(ptr);
	struct iov_iter to, hdr_at;
	struct xtap_rx_gather g;
	enum xtap_rx_status st;
	size_t left, written;
	unsigned int i, used;
	ssize_t ret;

	st = xtap_rx_gather(vq, need, mergeable, &g);
	*descs += g.descs;
	if (st != XTAP_RX_DONE)
		return st;
	xtap_rx_pop(rvq);

	if (!g.nheads || (!mergeable && g.len < need) ||
	    g.len < vq->vhost_hlen) {
		/* Too small for this frame: drop it, keep the buffers. */
		xtap_queue_ptr_free(ptr);
		xtap_vq_discard(vq, g.taken);
		vq->stats.drops++;
		xtap_queue_count(vq->q, XTAP_STAT_TX_DROP_GUEST_BUF);
		return XTAP_RX_DONE;
	}

	iov_iter_init(&to, ITER_DEST, vq->iov, g.niov, g.len);
	hdr_at = to;
	iov_iter_advance(&to, vq->vhost_hlen);
	ret = xtap_queue_read_ptr_bulk(vq->q, ptr, &to, qhlen, &b->done);
	if (ret < 0)
		goto err;
	written = vq->vhost_hlen + ret;

	/* Lengths per chain; chains left without data go back. */
	left = written;
	for (i = 0; i < g.nheads; i++) {
		struct vring_used_elem *e = &vq->heads[vq->nheads + i];
		size_t l = min_t(size_t, left,
				 __virtio32_to_cpu(true, e->len));

		if (!l && i)
			break;
		e->len = __cpu_to_virtio32(true, l);
		left -= l;
	}
	used = i;
	xtap_vq_discard(vq, g.nheads - used);

	ret = xtap_rx_write_hdr(vq, &hdr_at, qhlen, used, mergeable);
	if (ret) {
		/* The frame is in guest memory, its header is not: lost. */
		xtap_queue_count(vq->q, XTAP_STAT_TX_DROP_FAULT);
		goto err_used;
	}
	if (log)
		xtap_log_iov(vq, vq->iov, g.niov, written);
	vq->nheads += used;
	vq->stats.packets++;
	*bytes += written;
	b->frames++;
	return XTAP_RX_DONE;

err:
	used = g.nheads;
err_used:
	/* Part of the buffers may have been written: log all of them. */
	if (log)
		xtap_log_iov(vq, vq->iov, g.niov, g.len);
	if (ret == -EFAULT) {
		/* Bad guest memory: hand the buffers back empty. */
		for (i = 0; i < used; i++)
			vq->heads[vq->nheads + i].len = 0;
		vq->nheads += used;
		xtap_vq_error(vq, "cannot write a receive buffer");
	} else {
		xtap_vq_discard(vq, used);
	}
	return XTAP_RX_DONE;
}

static __always_inline enum xtap_rx_status
xtap_rx_batch(struct xtap_rx_vq *rvq, unsigned int *packets, size_t *bytes,
	      unsigned int *descs, struct xtap_rx_batch *b, const bool log)
{
	enum xtap_rx_status st = XTAP_RX_MORE;
	unsigned int n;
	void *ptr;

	for (n = 0; n < XTAP_VQ_BATCH; n++) {
		if (*descs >= XTAP_VQ_WEIGHT_DESCS)
			break;
		ptr = xtap_rx_peek(rvq);
		if (!ptr) {
			st = XTAP_RX_EMPTY;
			break;
		}
		st = xtap_rx_one(rvq, ptr, bytes, descs, b, log);
		if (st != XTAP_RX_DONE)
			break;
		st = XTAP_RX_MORE;
	}
	*packets += n + 1;
	return st;
}

/* One batch: up to XTAP_VQ_BATCH frames, their used elements published
 * together with one signal, the xdp_frames among them returned together.
 */
static enum xtap_rx_status xtap_rx_round(struct xtap_rx_vq *rvq,
					 unsigned int *packets, size_t *bytes,
					 unsigned int *descs)
{
	struct xtap_vq *vq = &rvq->vq;
	struct xtap_rx_batch b;
	enum xtap_rx_status st;

	b.frames = 0;
	b.done.n = 0;
	/* Dirty logging: one branch per batch.  Each side is its own copy of
	 * the loop, so with logging off not even a per-frame test is left.
	 */
	if (unlikely(vq->log.all))
		st = xtap_rx_batch(rvq, packets, bytes, descs, &b, true);
	else
		st = xtap_rx_batch(rvq, packets, bytes, descs, &b, false);
	xtap_vq_flush_used(vq);
	if (unlikely(vq->log.all))
		xtap_log_signal(vq);
	xtap_vq_signal(vq);
	/* The guest has the data: the frames can go back to their owners. */
	xtap_queue_frames_return(&b.done);
	if (b.frames)
		xtap_queue_count_batch(vq->q, b.frames);
	return st;
}

/* Sleep until the guest kicks, not until the next frame: see the top.
 * Without a kick eventfd no kick can come: keep listening to the queue,
 * so that frames arriving re-run the handler, which then finds the buffers
 * the guest added meanwhile.
 */
static void xtap_rx_park(struct xtap_rx_vq *rvq)
{
	lockdep_assert_held(&rvq->vq.mutex);
	if (!rvq->vq.kick)
		return;
	xtap_poll_stop(&rvq->queue_poll);
}

/**
 * xtap_rx_has_work() - can the RX handler deliver something?
 * @vq: the RX virtqueue, mutex held, owner's mm in use
 *
 * Return: true when the queue ring has frames and the guest buffers, or,
 * while the worker holds a frame, when the guest added buffers.
 */
bool xtap_rx_has_work(struct xtap_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	/* Holding a frame: only new guest buffers help. */
	if (xtap_rx_vq(vq)->rxq_count)
		return xtap_vq_avail_grew(vq);
	return !xtap_queue_ring_empty(vq->q) && !xtap_vq_avail_empty(vq);
}

static void xtap_rx_run(struct xtap_vq *vq, bool may_poll)
{
	struct xtap_rx_vq *rvq = xtap_rx_vq(vq);
	unsigned int packets = 0, descs = 0;
	size_t bytes = 0;

	lockdep_assert_held(&vq->mutex);
	if (!xtap_vq_ready(vq))
		return;
	/* Listen to the queue again if parked: we look at it right below.
	 * A device deleted meanwhile leaves it parked (nothing to wait for).
	 */
	xtap_poll_resume(&rvq->queue_poll, vq->backend);
	xtap_vq_disable_notify(vq);
	for (;;) {
		if (packets >= XTAP_VQ_WEIGHT_PKTS ||
		    bytes >= XTAP_VQ_WEIGHT_BYTES ||
		    descs >= XTAP_VQ_WEIGHT_DESCS) {
			xtap_worker_queue(vq->worker);
			return;
		}
		switch (xtap_rx_round(rvq, &packets, &bytes, &descs)) {
		case XTAP_RX_EMPTY:
			if (may_poll && xtap_busy_poll(vq))
				continue;
			return;
		case XTAP_RX_NOBUFS:
			if (may_poll && xtap_busy_poll(vq))
				continue;
			if (!xtap_vq_enable_notify(vq)) {
				xtap_rx_park(rvq);
				return;
			}
			xtap_vq_disable_notify(vq);
			continue;
		case XTAP_RX_FAULT:
			xtap_vq_enable_notify(vq);
			xtap_rx_park(rvq);
			return;
		default:
			continue;
		}
	}
}

/**
 * xtap_rx_serve() - one run of the RX handler for the other worker
 * @vq: the RX virtqueue, mutex held, owner's mm in use
 *
 * What xtap_rx_handle() does, without busy polling; called by the TX
 * worker while it busy-polls (xtap_busy_poll()).
 */
void xtap_rx_serve(struct xtap_vq *vq)
{
	xtap_busy_poll_woken(vq);
	xtap_rx_run(vq, false);
	xtap_vq_flush_counts(vq);
}

/**
 * xtap_rx_handle() - the RX worker's handler
 * @vq: the RX virtqueue
 *
 * Runs with the owner's mm in use; takes @vq's mutex.  Moves batches until
 * the queue ring is empty (guest kicks stay off: the queue's EPOLLIN wakes
 * the worker), the guest runs out of buffers (kicks are enabled and the
 * ring checked once more; the queue's wake-ups are parked until the next
 * run), or the budget is spent (the worker queues itself again).
 * Busy-polls before giving up when asked to.
 */
void xtap_rx_handle(struct xtap_vq *vq)
{
	mutex_lock(&vq->mutex);
	xtap_busy_poll_woken(vq);
	xtap_rx_run(vq, true);
	xtap_vq_flush_counts(vq);
	mutex_unlock(&vq->mutex);
}

/**
 * xtap_rx_start() - listen to a newly attached backend
 * @vq: the RX virtqueue, mutex held, with a worker and @vq->backend set
 *
 * Return: 0 or the error of polling the backend.
 */
int xtap_rx_start(struct xtap_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	return xtap_poll_start(&xtap_rx_vq(vq)->queue_poll, vq->worker,
			       vq->backend);
}

/**
 * xtap_rx_stop() - stop listening to the backend, give held frames back
 * @vq: the RX virtqueue, mutex held, backend still attached
 *
 * Called when the backend is detached: the frames the worker holds go back
 * to the head of the queue ring in order, for the next reader.
 */
void xtap_rx_stop(struct xtap_vq *vq)
{
	struct xtap_rx_vq *rvq = xtap_rx_vq(vq);

	lockdep_assert_held(&vq->mutex);
	xtap_poll_stop(&rvq->queue_poll);
	if (rvq->rxq_count)
		xtap_queue_unconsume(vq->q, &rvq->rxq[rvq->rxq_head],
				     rvq->rxq_count);
	rvq->rxq_head = 0;
	rvq->rxq_count = 0;
}
