// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * The queue node /dev/xtap<ifindex>: each open is one queue of the device,
 * speaking the part of the tun ioctl ABI that QEMU uses on a tap fd, with
 * read/write/poll for userspace and the API of queue.h for the vhost
 * backend.
 */

#include "xtap.h"
#include "queue.h"

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/etherdevice.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/if_tun.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/rtnetlink.h>
#include <linux/sched/signal.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/virtio_net.h>
#include <net/xdp.h>
#include <uapi/linux/xtap.h>

/* One minor per device; the region covers every minor. */
#define XTAP_MINORS		(MINORMASK + 1)
/* Longest frame accepted from a writer: a 64 KiB GSO frame with headers. */
#define XTAP_MAX_FRAME		(65535 + VLAN_ETH_HLEN)
/* Bytes put in the linear part of a large frame when hdr_len is smaller. */
#define XTAP_COPY_MIN		256
/* What TUNGETFEATURES reports and TUNSETIFF accepts. */
#define XTAP_IFF_FEATURES	(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | \
				 IFF_MULTI_QUEUE)
/* Flags TUNSETIFF may change. */
#define XTAP_IFF_CHANGEABLE	(IFF_VNET_HDR | IFF_MULTI_QUEUE)
/* Bytes of struct ifreq the queue ioctls read and write: name and flags. */
#define XTAP_IFREQ_LEN		offsetofend(struct ifreq, ifr_flags)

/* The largest vnet header (VIRTIO_NET_F_HASH_REPORT layout); the smaller
 * ones are its prefixes.
 */
struct xtap_vnet_hdr {
	struct virtio_net_hdr_mrg_rxbuf mrg;
	__le32 hash_value;
	__le16 hash_report;
	__le16 padding;
};

static_assert(sizeof(struct virtio_net_hdr) == 10);
static_assert(sizeof(struct virtio_net_hdr_mrg_rxbuf) == 12);
static_assert(sizeof(struct xtap_vnet_hdr) == 20);

static dev_t xtap_devt;
static struct cdev xtap_cdev;
static struct class *xtap_class;
/* Minor -> device; protected by rtnl_lock. */
static DEFINE_IDR(xtap_minors);
static atomic64_t xtap_queue_ids = ATOMIC64_INIT(0);

static const struct file_operations xtap_queue_fops;

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
 * %XTAP_RING_MIN_SIZE and %XTAP_RING_MAX.
 */
unsigned int xtap_queue_ring_size(struct net_device *dev)
{
	unsigned int len = READ_ONCE(dev->tx_queue_len);

	len = clamp(len, XTAP_RING_MIN_SIZE, XTAP_RING_MAX);
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

/* The ring destructor type wants a void * argument; same function. */
static void xtap_queue_ptr_destroy(void *ptr)
{
	xtap_queue_ptr_free(ptr);
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
 * xtap_queue_from_file() - the queue behind a file
 * @file: any file
 *
 * Context: any; never sleeps.
 * Return: the queue, or NULL when @file is not an open xtap queue node.
 */
struct xtap_queue *xtap_queue_from_file(struct file *file)
{
	if (!file || file->f_op != &xtap_queue_fops)
		return NULL;
	return file->private_data;
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
 * xtap_queue_rx_empty() - lockless "ring looks empty" test for pollers
 * @q: the queue
 *
 * Context: any; never sleeps.  The answer may be stale (see
 * xtap_ring_empty_lockless()).
 * Return: true if no frame seems to be waiting.
 */
bool xtap_queue_rx_empty(struct xtap_queue *q)
{
	return xtap_ring_empty_lockless(&q->ring);
}

/**
 * xtap_queue_wake_readers() - wake pollers and blocked readers of a queue
 * @q: the queue
 *
 * Wakes them with EPOLLIN when anybody waits.  Called after frames were
 * added to the ring; the barrier in wq_has_sleeper() pairs with the one
 * after poll_wait() in xtap_queue_poll() and with set_current_state() in a
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
 * xtap_queue_rx_ptr(), xtap_queue_ptr_free() or xtap_queue_unconsume().
 *
 * Context: process context (takes the consumer lock with BHs enabled).
 * Return: the number of entries taken; 0 when the ring is empty or the
 * device is gone (its rings are purged on delete).
 */
int xtap_queue_consume_batch(struct xtap_queue *q, void **ptrs, int n)
{
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
					 xtap_queue_ptr_destroy);
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

/* Count one event on @q's slot, if the device is still there. */
static void xtap_queue_count(struct xtap_queue *q, enum xtap_stat stat)
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
 * xtap_queue_rx_ptr() - deliver one ring entry into an iov_iter
 * @q: the queue the entry was taken from
 * @ptr: the entry (skb or tagged xdp_frame); freed in every case
 * @to: destination: the vnet header of the current size (num_buffers, if
 *	present, set to 1), then the frame
 *
 * When @to has room for the header but not the whole frame, the frame is
 * truncated, counted (tx_truncated), and the bytes written are returned.
 *
 * Context: process context; may sleep (copies to user memory).
 * Return: bytes written, or -EINVAL when @to cannot even hold the header or
 * no vnet header can describe the frame (both counted as drops), or
 * -EFAULT.
 */
ssize_t xtap_queue_rx_ptr(struct xtap_queue *q, void *ptr, struct iov_iter *to)
{
	unsigned long p = (unsigned long)ptr;
	int hdr_sz = xtap_queue_vnet_hdr_len(q);
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
		goto free;
	}
	n = min(len, avail - hdr_sz);
	if (frame) {
		if (copy_to_iter(frame->data, n, to) != n) {
			ret = -EFAULT;
			goto free;
		}
		xdp_return_frame(frame);
	} else {
		if (skb_copy_datagram_iter(skb, 0, to, n)) {
			ret = -EFAULT;
			goto free;
		}
		consume_skb(skb);
	}
	if (n < len)
		xtap_queue_count(q, XTAP_STAT_TX_TRUNCATED);
	return hdr_sz + n;

drop_hdr:
	xtap_queue_count(q, XTAP_STAT_TX_DROP_HDR);
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

/**
 * xtap_queue_tx_iter() - hand one frame from a writer to the stack
 * @q: the queue
 * @from: the vnet header of the current size, then one Ethernet frame
 * @batch: NULL to deliver at once, else a list the skb is appended to, for
 *	xtap_queue_tx_flush()
 *
 * Validates the header, builds an skb with the checksum and GSO fields
 * applied, and hands it to the stack (netif_receive_skb() with BHs
 * disabled) or appends it to @batch.  Every failure but -EBADFD is counted
 * as a drop of its own reason.
 *
 * Context: process context; may sleep (copies from user memory).
 * Return: the bytes consumed from @from (all of it), or -EINVAL (malformed
 * header, a frame shorter than an Ethernet header or longer than 64 KiB
 * plus headers), -ENOMEM, -EFAULT, -EIO (interface down) or -EBADFD (the
 * device is gone).
 */
ssize_t xtap_queue_tx_iter(struct xtap_queue *q, struct iov_iter *from,
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
	if (!skb) {
		err = -ENOMEM;
		reason = XTAP_STAT_RX_DROP_NOMEM;
		goto drop;
	}
	if (skb_copy_datagram_from_iter(skb, 0, from, len)) {
		err = -EFAULT;
		reason = XTAP_STAT_RX_DROP_FAULT;
		goto free_skb;
	}
	if (virtio_net_hdr_to_skb(skb, &hdr, xtap_vnet_le())) {
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
 * xtap_queue_tx_flush() - hand a batch built by xtap_queue_tx_iter() over
 * @q: the queue
 * @batch: the list; empty on return
 *
 * Passes the whole list to netif_receive_skb_list() with BHs disabled, or
 * frees it if the device went away meanwhile.
 *
 * Context: process context.
 */
void xtap_queue_tx_flush(struct xtap_queue *q, struct list_head *batch)
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

/* Queue attach/detach.  All under rtnl_lock.
 */

/* Let every netdev tx queue run again: the queue mapping changed. */
static void xtap_wake_all_txqs(struct xtap_dev *xt)
{
	local_bh_disable();
	netif_tx_wake_all_queues(xt->dev);
	local_bh_enable();
}

/* Make @q receive frames: give it the next netdev tx queue index. */
static void xtap_queue_enable(struct xtap_dev *xt, struct xtap_queue *q)
{
	unsigned int n = xt->numqueues;

	ASSERT_RTNL();
	if (q->enabled)
		return;
	WRITE_ONCE(q->index, n);
	rcu_assign_pointer(xt->queues[n], q);
	WRITE_ONCE(q->enabled, true);
	/* Publish the slot before the count that makes it reachable. */
	smp_wmb();
	WRITE_ONCE(xt->numqueues, n + 1);
	if (n == 0)
		netif_carrier_on(xt->dev);
	xtap_wake_all_txqs(xt);
}

/* Stop @q receiving frames: the last enabled queue takes its index.  On
 * return no xmit can still be putting a frame into @q's ring.
 */
static void xtap_queue_disable(struct xtap_dev *xt, struct xtap_queue *q,
			       bool sync)
{
	unsigned int n = xt->numqueues, idx = q->index;
	struct xtap_queue *last;

	ASSERT_RTNL();
	if (!q->enabled)
		return;
	last = rtnl_dereference(xt->queues[n - 1]);
	if (last != q) {
		/* Until the grace period ends, slot n - 1 still points at
		 * @last too: an xmit that read the old count finds a live
		 * queue there.
		 */
		WRITE_ONCE(last->index, idx);
		rcu_assign_pointer(xt->queues[idx], last);
	}
	WRITE_ONCE(q->enabled, false);
	WRITE_ONCE(xt->numqueues, n - 1);
	if (n == 1)
		netif_carrier_off(xt->dev);
	if (sync)
		synchronize_net();
	RCU_INIT_POINTER(xt->queues[n - 1], NULL);
	xtap_wake_all_txqs(xt);
}

/* Free every entry of @q's ring; returns how many there were. */
static unsigned int xtap_queue_purge(struct xtap_queue *q)
{
	unsigned int n = 0;
	void *ptr;

	spin_lock_bh(&q->ring.consumer_lock);
	while ((ptr = __xtap_ring_consume(&q->ring))) {
		xtap_queue_ptr_free(ptr);
		n++;
	}
	spin_unlock_bh(&q->ring.consumer_lock);
	return n;
}

/**
 * xtap_queue_node_add() - create /dev/xtap<ifindex> for a registered device
 * @xt: the device
 *
 * Context: rtnl_lock held.
 * Return: 0 or a negative errno.
 */
int xtap_queue_node_add(struct xtap_dev *xt)
{
	struct device *node;
	int minor;

	ASSERT_RTNL();
	minor = idr_alloc(&xtap_minors, xt, 0, XTAP_MINORS, GFP_KERNEL);
	if (minor < 0)
		return minor;
	node = device_create(xtap_class, &xt->dev->dev,
			     MKDEV(MAJOR(xtap_devt), minor), xt,
			     XTAP_QUEUE_PREFIX "%d", xt->dev->ifindex);
	if (IS_ERR(node)) {
		idr_remove(&xtap_minors, minor);
		return PTR_ERR(node);
	}
	xt->minor = minor;
	xt->node = node;
	return 0;
}

/**
 * xtap_queue_node_del() - remove the queue node and detach every queue
 * @xt: the device, about to be unregistered
 *
 * Open files stay valid: their queue no longer has a device, so later
 * calls fail with -EBADFD and poll reports EPOLLERR.  Frames still queued
 * are freed, and waiters are woken.
 *
 * Context: rtnl_lock held; sleeps (an RCU grace period).
 */
void xtap_queue_node_del(struct xtap_dev *xt)
{
	struct xtap_queue *q, *tmp;
	LIST_HEAD(gone);

	ASSERT_RTNL();
	if (xt->node) {
		device_destroy(xtap_class, MKDEV(MAJOR(xtap_devt), xt->minor));
		idr_remove(&xtap_minors, xt->minor);
		xt->node = NULL;
		xt->minor = -1;
	}
	if (list_empty(&xt->queue_list))
		return;

	list_for_each_entry_safe(q, tmp, &xt->queue_list, node) {
		xtap_queue_disable(xt, q, false);
		RCU_INIT_POINTER(q->xt, NULL);
		list_move_tail(&q->node, &gone);
		xt->nqueues--;
	}
	/* No xmit or datapath call still sees the device through a queue. */
	synchronize_net();
	list_for_each_entry_safe(q, tmp, &gone, node) {
		list_del_init(&q->node);
		xtap_queue_purge(q);
		wake_up_interruptible_poll(&q->wq, EPOLLIN | EPOLLRDNORM |
					   EPOLLERR | EPOLLHUP);
	}
}

/* File operations.
 */

static int xtap_queue_open(struct inode *inode, struct file *file)
{
	struct xtap_queue *q;
	struct xtap_dev *xt;
	int ret;

	q = kzalloc(sizeof(*q), GFP_KERNEL_ACCOUNT);
	if (!q)
		return -ENOMEM;
	init_waitqueue_head(&q->wq);
	INIT_LIST_HEAD(&q->node);
	q->flags = XTAP_IFF_FEATURES;
	q->vnet_hdr_sz = sizeof(struct virtio_net_hdr);
	q->sndbuf = INT_MAX;

	rtnl_lock();
	xt = idr_find(&xtap_minors, iminor(inode));
	if (!xt) {
		ret = -ENXIO;
		goto err_unlock;
	}
	if (xt->nqueues >= xt->dev->num_tx_queues) {
		ret = -EBUSY;
		goto err_unlock;
	}
	ret = xtap_ring_init(&q->ring, xtap_queue_ring_size(xt->dev),
			     GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_unlock;

	q->id = atomic64_inc_return(&xtap_queue_ids);
	rcu_assign_pointer(q->xt, xt);
	list_add_tail(&q->node, &xt->queue_list);
	xt->nqueues++;
	xtap_queue_enable(xt, q);
	rtnl_unlock();

	file->private_data = q;
	stream_open(inode, file);
	pr_debug("queue %llu created\n", q->id);
	return 0;

err_unlock:
	rtnl_unlock();
	kfree(q);
	return ret;
}

static int xtap_queue_release(struct inode *inode, struct file *file)
{
	struct xtap_queue *q = file->private_data;
	struct xtap_dev *xt;
	unsigned int n;

	rtnl_lock();
	xt = rtnl_dereference(q->xt);
	if (xt) {
		xtap_queue_disable(xt, q, true);
		n = xtap_queue_purge(q);
		if (n)
			xtap_stats_add(xt, xtap_queue_slot(xt, q),
				       XTAP_STAT_TX_DROP_DETACHED, n);
		list_del_init(&q->node);
		xt->nqueues--;
		RCU_INIT_POINTER(q->xt, NULL);
	}
	rtnl_unlock();

	/* Entries given back by a backend after a purge are freed here. */
	xtap_ring_cleanup(&q->ring, xtap_queue_ptr_destroy);
	pr_debug("queue %llu destroyed\n", q->id);
	kfree(q);
	return 0;
}

/* Wait for one entry.  Returns it, or NULL with *err set: -EAGAIN
 * (nonblocking and empty), -ERESTARTSYS (signal) or -EBADFD (device gone).
 */
static void *xtap_queue_wait_ptr(struct xtap_queue *q, bool nonblock,
				 ssize_t *err)
{
	DEFINE_WAIT(wait);
	void *ptr = NULL;

	for (;;) {
		if (!nonblock)
			prepare_to_wait(&q->wq, &wait, TASK_INTERRUPTIBLE);
		if (xtap_queue_consume_batch(q, &ptr, 1))
			break;
		if (!rcu_access_pointer(q->xt)) {
			*err = -EBADFD;
			break;
		}
		if (nonblock) {
			*err = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			*err = -ERESTARTSYS;
			break;
		}
		schedule();
	}
	if (!nonblock)
		finish_wait(&q->wq, &wait);
	return ptr;
}

static ssize_t xtap_queue_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct file *file = iocb->ki_filp;
	struct xtap_queue *q = file->private_data;
	bool nonblock = (file->f_flags & O_NONBLOCK) ||
			(iocb->ki_flags & IOCB_NOWAIT);
	ssize_t ret = 0;
	void *ptr;

	if (!iov_iter_count(to))
		return 0;
	ptr = xtap_queue_wait_ptr(q, nonblock, &ret);
	if (!ptr)
		return ret;
	return xtap_queue_rx_ptr(q, ptr, to);
}

static ssize_t xtap_queue_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct xtap_queue *q = iocb->ki_filp->private_data;

	return xtap_queue_tx_iter(q, from, NULL);
}

static __poll_t xtap_queue_poll(struct file *file, poll_table *wait)
{
	struct xtap_queue *q = file->private_data;
	__poll_t mask;

	poll_wait(file, &q->wq, wait);
	/* Pairs with wq_has_sleeper() in xtap_queue_wake_readers(). */
	smp_mb();
	if (!rcu_access_pointer(q->xt))
		return EPOLLERR;
	/* Writes never wait: there is no send buffer accounting. */
	mask = EPOLLOUT | EPOLLWRNORM;
	if (!xtap_ring_empty_lockless(&q->ring))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

/* ioctl helpers: all run under rtnl_lock with the device present. */

static int xtap_ioctl_setiff(struct xtap_dev *xt, struct xtap_queue *q,
			     void __user *argp)
{
	struct ifreq ifr = {};
	unsigned int flags;

	if (copy_from_user(&ifr, argp, XTAP_IFREQ_LEN))
		return -EFAULT;
	flags = (u16)ifr.ifr_flags;
	/* IFF_ONE_QUEUE is obsolete in tun too: accepted and ignored. */
	flags &= ~IFF_ONE_QUEUE;
	if ((flags & ~XTAP_IFF_CHANGEABLE) != (IFF_TAP | IFF_NO_PI))
		return -EINVAL;
	ifr.ifr_name[IFNAMSIZ - 1] = '\0';
	if (ifr.ifr_name[0] && strcmp(ifr.ifr_name, xt->dev->name))
		return -EINVAL;
	WRITE_ONCE(q->flags, (q->flags & ~XTAP_IFF_CHANGEABLE) | flags);

	strscpy(ifr.ifr_name, xt->dev->name, IFNAMSIZ);
	ifr.ifr_flags = q->flags;
	if (copy_to_user(argp, &ifr, XTAP_IFREQ_LEN))
		return -EFAULT;
	return 0;
}

static int xtap_ioctl_getiff(struct xtap_dev *xt, struct xtap_queue *q,
			     void __user *argp)
{
	struct ifreq ifr = {};

	strscpy(ifr.ifr_name, xt->dev->name, IFNAMSIZ);
	ifr.ifr_flags = q->flags;
	if (copy_to_user(argp, &ifr, XTAP_IFREQ_LEN))
		return -EFAULT;
	return 0;
}

static int xtap_ioctl_setqueue(struct xtap_dev *xt, struct xtap_queue *q,
			       void __user *argp)
{
	struct ifreq ifr;

	if (copy_from_user(&ifr, argp, XTAP_IFREQ_LEN))
		return -EFAULT;
	/* Idempotent both ways: QEMU asserts that this never fails. */
	switch ((u16)ifr.ifr_flags) {
	case IFF_ATTACH_QUEUE:
		xtap_queue_enable(xt, q);
		return 0;
	case IFF_DETACH_QUEUE:
		xtap_queue_disable(xt, q, true);
		return 0;
	default:
		return -EINVAL;
	}
}

static long xtap_queue_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct xtap_queue *q = file->private_data;
	void __user *argp = (void __user *)arg;
	int __user *ip = argp;
	struct xtap_dev *xt;
	long ret;
	int val;

	/* Commands that need no device, or that are not ours. */
	switch (cmd) {
	case TUNGETFEATURES:
		return put_user(XTAP_IFF_FEATURES, (unsigned int __user *)argp);
	case TUNSETIFF:
	case TUNGETIFF:
	case TUNSETQUEUE:
	case TUNSETOFFLOAD:
	case TUNGETVNETHDRSZ:
	case TUNSETVNETHDRSZ:
	case TUNGETSNDBUF:
	case TUNSETSNDBUF:
	case TUNSETVNETLE:
	case TUNGETVNETLE:
	case TUNSETVNETBE:
	case TUNGETVNETBE:
	case TUNSETSTEERINGEBPF:
		break;
	default:
		return -ENOTTY;
	}

	rtnl_lock();
	xt = rtnl_dereference(q->xt);
	if (!xt) {
		ret = -EBADFD;
		goto out;
	}
	switch (cmd) {
	case TUNSETIFF:
		ret = xtap_ioctl_setiff(xt, q, argp);
		break;
	case TUNGETIFF:
		ret = xtap_ioctl_getiff(xt, q, argp);
		break;
	case TUNSETQUEUE:
		ret = xtap_ioctl_setqueue(xt, q, argp);
		break;
	case TUNSETOFFLOAD:
		ret = xtap_tap_set_offload(xt, arg);
		break;
	case TUNGETVNETHDRSZ:
		ret = put_user(q->vnet_hdr_sz, ip);
		break;
	case TUNSETVNETHDRSZ:
		ret = get_user(val, ip);
		if (ret)
			break;
		if (val != sizeof(struct virtio_net_hdr) &&
		    val != sizeof(struct virtio_net_hdr_mrg_rxbuf) &&
		    val != sizeof(struct xtap_vnet_hdr)) {
			ret = -EINVAL;
			break;
		}
		WRITE_ONCE(q->vnet_hdr_sz, val);
		break;
	case TUNGETSNDBUF:
		ret = put_user(q->sndbuf, ip);
		break;
	case TUNSETSNDBUF:
		ret = get_user(val, ip);
		if (ret)
			break;
		if (val <= 0) {
			ret = -EINVAL;
			break;
		}
		WRITE_ONCE(q->sndbuf, val);
		break;
	case TUNSETSTEERINGEBPF:
		/* Only "no program" (-1), which is what QEMU sets. */
		ret = get_user(val, ip);
		if (!ret && val != -1)
			ret = -EINVAL;
		break;
	default:
		/* TUNSET/GETVNETLE/BE: EINVAL tells QEMU "unsupported". */
		ret = -EINVAL;
		break;
	}
out:
	rtnl_unlock();
	return ret;
}

static const struct file_operations xtap_queue_fops = {
	.owner		= THIS_MODULE,
	.open		= xtap_queue_open,
	.release	= xtap_queue_release,
	.read_iter	= xtap_queue_read_iter,
	.write_iter	= xtap_queue_write_iter,
	.poll		= xtap_queue_poll,
	.unlocked_ioctl	= xtap_queue_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= no_llseek,
};

static char *xtap_queue_devnode(struct device *dev, umode_t *mode)
{
	if (mode)
		*mode = 0600;
	return NULL;
}

/**
 * xtap_queue_init() - register the queue node's char region and class
 *
 * Context: module init.
 * Return: 0 or a negative errno.
 */
int xtap_queue_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&xtap_devt, 0, XTAP_MINORS, XTAP_DRV_NAME);
	if (ret)
		goto err_region;

	xtap_class = class_create(THIS_MODULE, XTAP_DRV_NAME);
	if (IS_ERR(xtap_class)) {
		ret = PTR_ERR(xtap_class);
		goto err_class;
	}
	xtap_class->devnode = xtap_queue_devnode;

	cdev_init(&xtap_cdev, &xtap_queue_fops);
	xtap_cdev.owner = THIS_MODULE;
	ret = cdev_add(&xtap_cdev, xtap_devt, XTAP_MINORS);
	if (ret)
		goto err_cdev;
	return 0;

err_cdev:
	class_destroy(xtap_class);
err_class:
	unregister_chrdev_region(xtap_devt, XTAP_MINORS);
err_region:
	return ret;
}

/**
 * xtap_queue_exit() - unregister what xtap_queue_init() registered
 *
 * Context: module exit, after every device is gone.
 */
void xtap_queue_exit(void)
{
	cdev_del(&xtap_cdev);
	class_destroy(xtap_class);
	unregister_chrdev_region(xtap_devt, XTAP_MINORS);
	WARN_ON(!idr_is_empty(&xtap_minors));
	idr_destroy(&xtap_minors);
}
