// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * The datapath API of one xtap queue (queue.h): the ring's consumer side
 * and the frames that cross the queue in both directions, as read() and
 * write() on the queue node move them and as the vhost backend calls them
 * directly.
 */

#include "xtap.h"
#include "queue.h"

#include <linux/etherdevice.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/if_vlan.h>
#include <linux/log2.h>
#include <linux/poll.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <linux/uio.h>
#include <linux/virtio_net.h>
#include <net/xdp.h>

/* Longest frame accepted from a writer: a 64 KiB GSO frame with headers. */
#define XTAP_MAX_FRAME		(ETH_MAX_MTU + VLAN_ETH_HLEN)
/* Bytes put in the linear part of a large frame when hdr_len is smaller. */
#define XTAP_COPY_MIN		256

static_assert(sizeof(struct virtio_net_hdr) == 10);
static_assert(sizeof(struct virtio_net_hdr_mrg_rxbuf) == 12);
static_assert(sizeof(struct xtap_vnet_hdr) == 20);

static bool xtap_vnet_le(void)
{
	/* TUNSETVNETLE/BE are not supported: headers are native legacy. */
	return virtio_legacy_is_little_endian();
}

/**
 * xtap_queue_ring_size() - ring size of a queue attached now
 * @dev: the device
 *
 * Return: dev->tx_queue_len rounded up to a power of two, within
 * %XTAP_RING_MIN_SIZE and %XTAP_RING_MAX_SIZE.
 */
unsigned int xtap_queue_ring_size(struct net_device *dev)
{
	unsigned int len = READ_ONCE(dev->tx_queue_len);

	len = clamp(len, XTAP_RING_MIN_SIZE, XTAP_RING_MAX_SIZE);
	return roundup_pow_of_two(len);
}

/**
 * xtap_queue_ptr_free() - free a ring entry without delivering it
 * @ptr: an skb pointer, or an xdp_frame pointer tagged with %XTAP_PTR_XDP
 *
 * Context: any context that may free an skb (process or softirq).
 */
void xtap_queue_ptr_free(void *ptr)
{
	unsigned long p = (unsigned long)ptr;

	if (p & XTAP_PTR_XDP)
		xdp_return_frame((struct xdp_frame *)(p & ~XTAP_PTR_XDP));
	else
		kfree_skb(ptr);
}

/**
 * xtap_queue_ptr_len() - length of the frame behind a ring entry
 * @ptr: an skb pointer, or an xdp_frame pointer tagged with %XTAP_PTR_XDP
 *
 * Context: any; never sleeps.
 * Return: the frame length in bytes, without any vnet header.
 */
int xtap_queue_ptr_len(const void *ptr)
{
	unsigned long p = (unsigned long)ptr;

	if (p & XTAP_PTR_XDP)
		return ((const struct xdp_frame *)(p & ~XTAP_PTR_XDP))->len;
	return ((const struct sk_buff *)ptr)->len;
}

/**
 * xtap_queue_vnet_hdr_len() - bytes of vnet header around each frame
 * @q: the queue
 *
 * Context: any; never sleeps.
 * Return: 0 without IFF_VNET_HDR, else the size set by TUNSETVNETHDRSZ
 * (10 by default, or 12 or 20).
 */
int xtap_queue_vnet_hdr_len(struct xtap_queue *q)
{
	if (!(READ_ONCE(q->flags) & IFF_VNET_HDR))
		return 0;
	return READ_ONCE(q->vnet_hdr_sz);
}

/**
 * xtap_queue_ring_empty() - lockless "ring looks empty" test for pollers
 * @q: the queue
 *
 * Context: any; never sleeps.  The answer may be stale (see
 * xtap_ring_empty_lockless()).
 * Return: true if no frame seems to be waiting.
 */
bool xtap_queue_ring_empty(struct xtap_queue *q)
{
	return xtap_ring_empty_lockless(&q->ring);
}

/**
 * xtap_queue_wake_readers() - wake pollers and blocked readers of a queue
 * @q: the queue
 *
 * Wakes them with EPOLLIN when anybody waits.  Called after frames were
 * added to the ring; the barrier in wq_has_sleeper() pairs with the one
 * after poll_wait() in xtap_node_poll() and with set_current_state() in a
 * blocking read.
 *
 * Context: any.
 */
void xtap_queue_wake_readers(struct xtap_queue *q)
{
	if (wq_has_sleeper(&q->wq))
		wake_up_interruptible_poll(&q->wq, EPOLLIN | EPOLLRDNORM |
					   EPOLLRDBAND);
}

/* Wake the netdev tx queue feeding @q once the ring is at or below the low
 * watermark (half full).  Called by every consumer after taking entries.
 */
static void xtap_queue_wake_txq(struct xtap_queue *q)
{
	struct netdev_queue *txq;
	struct xtap_dev *xt;

	/* Order our consumer_head update before reading the stopped bit;
	 * pairs with smp_mb__after_atomic() after netif_tx_stop_queue() in
	 * xtap_start_xmit().  One of the two sides sees the other's write.
	 */
	smp_mb();
	if (xtap_ring_occupancy(&q->ring) > xtap_ring_size(&q->ring) / 2)
		return;

	rcu_read_lock();
	xt = rcu_dereference(q->xt);
	if (xt && READ_ONCE(q->enabled)) {
		txq = netdev_get_tx_queue(xt->dev, READ_ONCE(q->index));
		if (netif_tx_queue_stopped(txq)) {
			/* The softirq the wake raises runs at bh enable. */
			local_bh_disable();
			netif_tx_wake_queue(txq);
			local_bh_enable();
			xtap_stats_inc(xt, xtap_queue_slot(xt, q),
				       XTAP_STAT_TX_WAKES);
		}
	}
	rcu_read_unlock();
}

/**
 * xtap_queue_consume_batch() - take frames from the queue ring
 * @q: the queue
 * @ptrs: receives the entries, oldest first
 * @n: size of @ptrs
 *
 * Consumer side: serialised with the other consumers of @q by the ring's
 * consumer lock.  Wakes the netdev tx queue when the ring has drained to
 * the low watermark.  The caller owns the entries taken and passes each to
 * xtap_queue_read_ptr(), xtap_queue_ptr_free() or xtap_queue_unconsume().
 *
 * Context: process context (takes the consumer lock with BHs enabled).
 * Return: the number of entries taken; 0 when the ring is empty or the
 * device is gone (its rings are purged on delete).
 */
int xtap_queue_consume_batch(struct xtap_queue *q, void **ptrs, int n)
{
	/* Entries given back after the purge stay for xtap_ring_cleanup(). */
	if (!rcu_access_pointer(q->xt))
		return 0;
	n = xtap_ring_consume_batch(&q->ring, ptrs, n);
	if (n)
		xtap_queue_wake_txq(q);
	return n;
}

/**
 * xtap_queue_unconsume() - put entries back at the head of the ring
 * @q: the queue
 * @ptrs: entries taken by xtap_queue_consume_batch(), oldest first
 * @n: number of entries
 *
 * The next consume returns @ptrs[0] first.  Entries that no longer fit are
 * freed (the oldest ones) and counted as drops.
 *
 * Context: process context.
 */
void xtap_queue_unconsume(struct xtap_queue *q, void **ptrs, int n)
{
	struct xtap_dev *xt;
	int dropped;

	if (n <= 0)
		return;
	dropped = xtap_ring_unconsume_bh(&q->ring, ptrs, n,
					 xtap_queue_ptr_free);
	if (dropped) {
		rcu_read_lock();
		xt = rcu_dereference(q->xt);
		if (xt)
			xtap_stats_add(xt, xtap_queue_slot(xt, q),
				       XTAP_STAT_TX_DROP_DETACHED, dropped);
		rcu_read_unlock();
	}
	if (dropped < n)
		xtap_queue_wake_readers(q);
}

/**
 * xtap_queue_claim_reader() - become the one vhost consumer of a queue ring
 * @q: the queue
 * @owner: the claimant (a vhost RX virtqueue)
 *
 * A queue ring has at most one vhost consumer at a time: two would each get
 * an arbitrary share of the frames (and the held ones of a detaching one
 * would come back out of order).  The claim is not held against read(),
 * which, as on a tun fd, may take frames while a backend is attached.
 *
 * Context: any; never sleeps.
 * Return: 0, or -EBUSY when another consumer holds the claim.
 */
int xtap_queue_claim_reader(struct xtap_queue *q, const void *owner)
{
	return cmpxchg(&q->reader, NULL, owner) ? -EBUSY : 0;
}

/**
 * xtap_queue_unclaim_reader() - give up a claim taken by xtap_queue_claim_reader()
 * @q: the queue
 * @owner: the claimant, which holds the claim
 *
 * Context: any; never sleeps.
 */
void xtap_queue_unclaim_reader(struct xtap_queue *q, const void *owner)
{
	WARN_ON_ONCE(cmpxchg(&q->reader, owner, NULL) != owner);
}

/**
 * xtap_queue_count() - count one event on a queue's slot
 * @q: the queue
 * @stat: the counter
 *
 * Counts nothing once the device is gone.  The vhost handlers count their
 * drops with it.
 *
 * Context: any.
 */
void xtap_queue_count(struct xtap_queue *q, enum xtap_stat stat)
{
	struct xtap_dev *xt;

	rcu_read_lock();
	xt = rcu_dereference(q->xt);
	if (xt)
		xtap_stats_inc(xt, xtap_queue_slot(xt, q), stat);
	rcu_read_unlock();
}

/* Fill @hdr for the skb @skb.  Returns 0, or -EINVAL when no vnet header
 * can describe it (a GSO type other than TCP).
 */
static int xtap_skb_to_vnet_hdr(struct sk_buff *skb, struct xtap_vnet_hdr *hdr)
{
	int ret;

	memset(hdr, 0, sizeof(*hdr));
	ret = virtio_net_hdr_from_skb(skb, &hdr->mrg.hdr, xtap_vnet_le(),
				      true, 0);
	if (ret)
		return ret;
	hdr->mrg.num_buffers = __cpu_to_virtio16(xtap_vnet_le(), 1);
	return 0;
}

/**
 * xtap_queue_read_ptr() - deliver one ring entry into an iov_iter
 * @q: the queue the entry was taken from
 * @ptr: the entry (skb or tagged xdp_frame); freed in every case
 * @to: destination: the vnet header of the current size (num_buffers, if
 *	present, set to 1), then the frame
 *
 * xtap_queue_read_ptr_bulk() with the current header size, returning an
 * xdp_frame at once.
 *
 * Context: process context; may sleep (copies to user memory).
 * Return: as xtap_queue_read_ptr_bulk().
 */
ssize_t xtap_queue_read_ptr(struct xtap_queue *q, void *ptr, struct iov_iter *to)
{
	return xtap_queue_read_ptr_bulk(q, ptr, to, xtap_queue_vnet_hdr_len(q),
					NULL);
}

/**
 * xtap_queue_frames_return() - return delivered xdp_frames together
 * @done: the frames; empty on return
 *
 * One xdp_return_frame_bulk() section (BHs off, RCU held) for all of them:
 * frames of one page_pool go back to it in bulk.
 *
 * Context: process or softirq context.
 */
void xtap_queue_frames_return(struct xtap_frame_bulk *done)
{
	struct xdp_frame_bulk bq;
	unsigned int i;

	if (!done->n)
		return;
	xdp_frame_bulk_init(&bq);
	local_bh_disable();
	rcu_read_lock();
	for (i = 0; i < done->n; i++)
		xdp_return_frame_bulk(done->frames[i], &bq);
	xdp_flush_frame_bulk(&bq);
	rcu_read_unlock();
	local_bh_enable();
	done->n = 0;
}

/**
 * xtap_queue_count_batch() - count one batch a reader delivered
 * @q: the queue
 * @frames: frames in the batch, at least 1
 *
 * Context: any; never sleeps.
 */
void xtap_queue_count_batch(struct xtap_queue *q, unsigned int frames)
{
	struct xtap_dev *xt;
	unsigned int slot;

	rcu_read_lock();
	xt = rcu_dereference(q->xt);
	if (xt) {
		slot = xtap_queue_slot(xt, q);
		xtap_stats_inc(xt, slot, XTAP_STAT_TX_BATCHES);
		xtap_stats_add(xt, slot, XTAP_STAT_TX_BATCH_FRAMES, frames);
	}
	rcu_read_unlock();
}

/**
 * xtap_queue_read_ptr_bulk() - deliver one ring entry, returning xdp_frames
 *	in bulk
 * @q: the queue the entry was taken from
 * @ptr: the entry (skb or tagged xdp_frame); freed or kept in @done in
 *	every case
 * @to: destination: @hdr_sz bytes of vnet header (num_buffers, if present,
 *	set to 1), then the frame
 * @hdr_sz: the vnet header size the caller read once with
 *	xtap_queue_vnet_hdr_len() and sized @to for; a concurrent
 *	TUNSETVNETHDRSZ then cannot make the two disagree
 * @done: where a delivered xdp_frame goes, for xtap_queue_frames_return();
 *	NULL to return it at once
 *
 * When @to has room for the header but not the whole frame, the frame is
 * truncated, counted (tx_truncated), and the bytes written are returned.
 *
 * Context: process context; may sleep (copies to user memory).
 * Return: bytes written, or -EINVAL when @to cannot even hold the header or
 * no vnet header can describe the frame (both counted as drops), or
 * -EFAULT.
 */
ssize_t xtap_queue_read_ptr_bulk(struct xtap_queue *q, void *ptr,
				 struct iov_iter *to, int hdr_sz,
				 struct xtap_frame_bulk *done)
{
	unsigned long p = (unsigned long)ptr;
	size_t avail = iov_iter_count(to);
	struct xtap_vnet_hdr hdr;
	struct xdp_frame *frame = NULL;
	struct sk_buff *skb = NULL;
	size_t len, n;
	ssize_t ret;

	if (p & XTAP_PTR_XDP) {
		frame = (struct xdp_frame *)(p & ~XTAP_PTR_XDP);
		len = frame->len;
		memset(&hdr, 0, sizeof(hdr));
		hdr.mrg.num_buffers = __cpu_to_virtio16(xtap_vnet_le(), 1);
	} else {
		skb = ptr;
		len = skb->len;
		if (hdr_sz) {
			ret = xtap_skb_to_vnet_hdr(skb, &hdr);
		} else if (skb_is_gso(skb)) {
			ret = -EINVAL;
		} else {
			ret = 0;
			if (skb->ip_summed == CHECKSUM_PARTIAL &&
			    skb_checksum_help(skb))
				ret = -EINVAL;
		}
		if (ret)
			goto drop_hdr;
	}
	if (avail < hdr_sz) {
		ret = -EINVAL;
		goto drop_hdr;
	}

	if (copy_to_iter(&hdr, hdr_sz, to) != hdr_sz) {
		ret = -EFAULT;
		goto drop_fault;
	}
	n = min(len, avail - hdr_sz);
	if (frame) {
		if (copy_to_iter(frame->data, n, to) != n) {
			ret = -EFAULT;
			goto drop_fault;
		}
		if (done) {
			if (done->n == XTAP_FRAME_BULK)
				xtap_queue_frames_return(done);
			done->frames[done->n++] = frame;
		} else {
			xdp_return_frame(frame);
		}
	} else {
		if (skb_copy_datagram_iter(skb, 0, to, n)) {
			ret = -EFAULT;
			goto drop_fault;
		}
		consume_skb(skb);
	}
	if (n < len)
		xtap_queue_count(q, XTAP_STAT_TX_TRUNCATED);
	return hdr_sz + n;

drop_hdr:
	xtap_queue_count(q, XTAP_STAT_TX_DROP_HDR);
	goto free;
drop_fault:
	xtap_queue_count(q, XTAP_STAT_TX_DROP_FAULT);
free:
	xtap_queue_ptr_free(ptr);
	return ret;
}

/* Validate a vnet header from a writer against the frame length @len.
 * virtio_net_hdr_to_skb() checks the rest once the skb exists.
 */
static int xtap_check_vnet_hdr(const struct virtio_net_hdr *hdr, size_t len)
{
	bool le = xtap_vnet_le();
	u32 hdr_len = __virtio16_to_cpu(le, hdr->hdr_len);

	if (hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		u32 start = __virtio16_to_cpu(le, hdr->csum_start);
		u32 off = __virtio16_to_cpu(le, hdr->csum_offset);

		if (start + off + sizeof(__sum16) > len)
			return -EINVAL;
	}
	if (hdr_len > len)
		return -EINVAL;
	if (hdr->gso_type != VIRTIO_NET_HDR_GSO_NONE && !hdr->gso_size)
		return -EINVAL;
	return 0;
}

/* Can the frame in @skb (data at the Ethernet header) carry the GSO type of
 * @hdr?  The network protocol, after any VLAN tags, must be the one the GSO
 * type names: a segmenter handed a frame of another protocol (Ethernet
 * type 0, or the other IP version) has nothing to segment it with.
 * virtio_net_hdr_to_skb() checks this only for GSO frames without
 * NEEDS_CSUM whose protocol it has to guess.
 */
static bool xtap_gso_proto_ok(const struct sk_buff *skb,
			      const struct virtio_net_hdr *hdr)
{
	__be16 proto = ((const struct ethhdr *)skb->data)->h_proto;

	proto = __vlan_get_protocol(skb, proto, NULL);
	switch (hdr->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return true;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return proto == htons(ETH_P_IP);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return proto == htons(ETH_P_IPV6);
	case VIRTIO_NET_HDR_GSO_UDP:
		return proto == htons(ETH_P_IP) || proto == htons(ETH_P_IPV6);
	default:
		return false;
	}
}

/* Allocate an skb for a frame of @len bytes, @hdr_len of them linear. */
static struct sk_buff *xtap_alloc_skb(size_t len, size_t hdr_len, int *err)
{
	size_t linear = len;
	struct sk_buff *skb;

	if (len > SKB_MAX_HEAD(NET_SKB_PAD + NET_IP_ALIGN)) {
		linear = max_t(size_t, hdr_len, XTAP_COPY_MIN);
		linear = min_t(size_t, linear,
			       SKB_MAX_HEAD(NET_SKB_PAD + NET_IP_ALIGN));
	}
	skb = alloc_skb_with_frags(NET_SKB_PAD + NET_IP_ALIGN + linear,
				   len - linear, PAGE_ALLOC_COSTLY_ORDER, err,
				   GFP_KERNEL);
	if (!skb)
		return NULL;
	skb_reserve(skb, NET_SKB_PAD + NET_IP_ALIGN);
	skb_put(skb, linear);
	skb->data_len = len - linear;
	skb->len += len - linear;
	return skb;
}

/* Frames that keep the skb path meet the native program through generic
 * XDP, so none bypasses it.  Returns true when the skb is to be passed on;
 * false when the program took it (dropped, redirected or sent back).
 * Called under rcu_read_lock().
 */
static bool xtap_queue_xdp_generic(struct xtap_dev *xt, struct sk_buff *skb)
{
	struct bpf_prog *prog;
	int act = XDP_PASS;

	local_bh_disable();
	prog = rcu_dereference(xt->xdp_prog);
	if (prog)
		act = do_xdp_generic(prog, skb);
	local_bh_enable();
	return act == XDP_PASS;
}

/**
 * xtap_queue_write_iter() - hand one frame from a writer to the stack
 * @q: the queue
 * @from: the vnet header of the current size, then one Ethernet frame
 * @batch: NULL to deliver at once, else a list the skb is appended to, for
 *	xtap_queue_write_flush()
 *
 * Validates the header, builds an skb with the checksum and GSO fields
 * applied, runs the device's XDP program on it (generic XDP) if it has one,
 * and hands it to the stack (netif_receive_skb() with BHs disabled) or
 * appends it to @batch.  The frame is counted as the netdev's rx
 * (XTAP_STAT_RX_PACKETS) when delivered or appended; one the program
 * consumed counts as xdp_generic; every failure but -EBADFD and -ENOMEM
 * is counted as a drop of its own reason.  -ENOMEM is left to the caller,
 * which counts the drop (rx_drop_nomem) or tries the frame again.
 *
 * Context: process context; may sleep (copies from user memory).
 * Return: the bytes consumed from @from (all of it), or -EINVAL (malformed
 * header, a GSO type the frame's Ethernet type cannot carry, a frame
 * shorter than an Ethernet header or longer than 64 KiB plus headers),
 * -ENOMEM, -EFAULT, -EIO (interface down) or -EBADFD (the device is gone).
 */
ssize_t xtap_queue_write_iter(struct xtap_queue *q, struct iov_iter *from,
			      struct list_head *batch)
{
	struct virtio_net_hdr hdr = {};
	size_t total = iov_iter_count(from);
	enum xtap_stat reason;
	struct xtap_dev *xt;
	struct sk_buff *skb;
	int hdr_sz, err;
	size_t len;

	if (!rcu_access_pointer(q->xt))
		return -EBADFD;

	hdr_sz = xtap_queue_vnet_hdr_len(q);
	if (total < hdr_sz + ETH_HLEN || total > hdr_sz + XTAP_MAX_FRAME) {
		err = -EINVAL;
		reason = XTAP_STAT_RX_DROP_MALFORMED;
		goto drop;
	}
	len = total - hdr_sz;
	if (hdr_sz) {
		if (!copy_from_iter_full(&hdr, sizeof(hdr), from)) {
			err = -EFAULT;
			reason = XTAP_STAT_RX_DROP_FAULT;
			goto drop;
		}
		iov_iter_advance(from, hdr_sz - sizeof(hdr));
		err = xtap_check_vnet_hdr(&hdr, len);
		if (err) {
			reason = XTAP_STAT_RX_DROP_MALFORMED;
			goto drop;
		}
	}

	skb = xtap_alloc_skb(len, __virtio16_to_cpu(xtap_vnet_le(),
						    hdr.hdr_len), &err);
	/* Not counted here: the caller drops the frame (and counts it) or
	 * tries again later (vhost TX).
	 */
	if (!skb)
		return -ENOMEM;
	if (skb_copy_datagram_from_iter(skb, 0, from, len)) {
		err = -EFAULT;
		reason = XTAP_STAT_RX_DROP_FAULT;
		goto free_skb;
	}
	if (!xtap_gso_proto_ok(skb, &hdr) ||
	    virtio_net_hdr_to_skb(skb, &hdr, xtap_vnet_le())) {
		err = -EINVAL;
		reason = XTAP_STAT_RX_DROP_MALFORMED;
		goto free_skb;
	}

	rcu_read_lock();
	xt = rcu_dereference(q->xt);
	if (!xt) {
		rcu_read_unlock();
		kfree_skb(skb);
		return -EBADFD;
	}
	if (unlikely(!(READ_ONCE(xt->dev->flags) & IFF_UP))) {
		xtap_stats_inc(xt, xtap_queue_slot(xt, q),
			       XTAP_STAT_RX_DROP_DOWN);
		rcu_read_unlock();
		kfree_skb(skb);
		return -EIO;
	}
	skb->protocol = eth_type_trans(skb, xt->dev);
	skb_reset_network_header(skb);
	skb_probe_transport_header(skb);
	skb_record_rx_queue(skb, xtap_queue_slot(xt, q));
	if (unlikely(rcu_access_pointer(xt->xdp_prog)) &&
	    !xtap_queue_xdp_generic(xt, skb)) {
		xtap_stats_inc(xt, xtap_queue_slot(xt, q),
			       XTAP_STAT_RX_XDP_GENERIC);
		rcu_read_unlock();
		return total;
	}
	xtap_stats_pkt(xt, xtap_queue_slot(xt, q), XTAP_STAT_RX_PACKETS, len);
	if (batch) {
		list_add_tail(&skb->list, batch);
	} else {
		local_bh_disable();
		netif_receive_skb(skb);
		local_bh_enable();
	}
	rcu_read_unlock();
	return total;

free_skb:
	kfree_skb(skb);
drop:
	xtap_queue_count(q, reason);
	return err;
}

/**
 * xtap_queue_write_flush() - hand a batch built by xtap_queue_write_iter() over
 * @q: the queue
 * @batch: the list; empty on return
 *
 * Passes the whole list to netif_receive_skb_list() with BHs disabled, or
 * frees it if the device went away meanwhile.
 *
 * Context: process context.
 */
void xtap_queue_write_flush(struct xtap_queue *q, struct list_head *batch)
{
	struct sk_buff *skb, *next;

	if (list_empty(batch))
		return;
	rcu_read_lock();
	if (rcu_dereference(q->xt)) {
		local_bh_disable();
		netif_receive_skb_list(batch);
		local_bh_enable();
	} else {
		list_for_each_entry_safe(skb, next, batch, list) {
			skb_list_del_init(skb);
			kfree_skb(skb);
		}
	}
	rcu_read_unlock();
	INIT_LIST_HEAD(batch);
}
