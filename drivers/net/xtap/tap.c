// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * The xtap net_device and its rtnl_link_ops (ip link add NAME type xtap).
 *
 * Host -> guest: ndo_start_xmit puts skb pointers into the ring of the
 * queue whose index is the skb's netdev tx queue.  A full ring stops that
 * tx queue (the qdisc holds further frames) and the queue's consumer wakes
 * it once the ring has drained to half; frames are dropped, and counted,
 * only when no queue is attached.  With flow control off (sysfs
 * flow_control = 0, for comparisons) a full ring drops and counts the
 * frame instead, as upstream tun does.
 *
 * ndo_xdp_xmit (a host NIC's XDP_REDIRECT, through a devmap or not) puts
 * xdp_frame pointers, tagged with XTAP_PTR_XDP, into the same rings: no
 * skb is built.  It cannot push back, so a full ring drops and counts.
 */

#include "xtap.h"
#include "queue.h"
#include "sysfs.h"

#include <linux/etherdevice.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/netdevice.h>
#include <net/rtnetlink.h>
#include <net/xdp.h>
#include <uapi/linux/xtap.h>

/* Offloads TUNSETOFFLOAD switches; everything else is always on. */
#define XTAP_OFFLOAD_FEATURES	(NETIF_F_HW_CSUM | NETIF_F_TSO | \
				 NETIF_F_TSO6 | NETIF_F_TSO_ECN)
#define XTAP_FEATURES		(NETIF_F_SG | NETIF_F_HIGHDMA | \
				 XTAP_OFFLOAD_FEATURES)

static atomic64_t xtap_dev_ids = ATOMIC64_INIT(0);

/* Drop @skb, counted on @slot with @reason. */
static netdev_tx_t xtap_xmit_drop(struct xtap_dev *xt, unsigned int slot,
				  struct sk_buff *skb, enum xtap_stat reason)
{
	xtap_stats_inc(xt, slot, reason);
	kfree_skb(skb);
	return NETDEV_TX_OK;
}

/* Stop @txq, whose queue ring @r is full (the high watermark). */
static void xtap_txq_stop(struct netdev_queue *txq, struct xtap_ring *r)
{
	netif_tx_stop_queue(txq);
	/* Pairs with smp_mb() in xtap_queue_wake_txq(): if the consumer
	 * drained the ring before it could see the stop, we see its
	 * progress here and restart the queue ourselves.
	 */
	smp_mb__after_atomic();
	if (xtap_ring_occupancy(r) <= xtap_ring_size(r) / 2)
		netif_tx_start_queue(txq);
}

/* Synchronization: netif_tx_lock of the skb's tx queue (no LLTX) in BH
 * context under rcu_read_lock_bh(); the ring's producer lock serialises
 * producers that meet on one ring while queues are re-indexed.
 */
static netdev_tx_t xtap_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct xtap_dev *xt = netdev_priv(dev);
	unsigned int idx = skb_get_queue_mapping(skb);
	struct netdev_queue *txq = netdev_get_tx_queue(dev, idx);
	unsigned int n = READ_ONCE(xt->numqueues);
	unsigned int len = skb->len;
	struct xtap_queue *q = NULL;
	struct xtap_ring *r;
	bool own, stop;

	if (likely(n)) {
		q = rcu_dereference_bh(xt->queues[idx < n ? idx : idx % n]);
		if (unlikely(!q)) {
			/* A detach moved the queues meanwhile: try again. */
			n = READ_ONCE(xt->numqueues);
			if (n)
				q = rcu_dereference_bh(xt->queues[idx % n]);
		}
	}
	if (unlikely(!q))
		return xtap_xmit_drop(xt, idx, skb, XTAP_STAT_TX_DROP_NO_QUEUE);

	/* Is @txq the one @q's consumer wakes?  Only then may we stop it;
	 * with flow control off we never do.
	 */
	own = READ_ONCE(q->index) == idx && !READ_ONCE(xt->txq_drop);
	r = &q->ring;

	spin_lock(&r->producer_lock);
	if (unlikely(__xtap_ring_full(r))) {
		spin_unlock(&r->producer_lock);
		if (!own)
			return xtap_xmit_drop(xt, idx, skb,
					      XTAP_STAT_TX_DROP_RING_FULL);
		/* Only after a re-index: hand the frame back to the qdisc. */
		xtap_txq_stop(txq, r);
		xtap_stats_inc(xt, idx, XTAP_STAT_TX_BUSY);
		return NETDEV_TX_BUSY;
	}

	if (unlikely(skb_orphan_frags_rx(skb, GFP_ATOMIC))) {
		spin_unlock(&r->producer_lock);
		return xtap_xmit_drop(xt, idx, skb, XTAP_STAT_TX_DROP_NOMEM);
	}
	skb_tx_timestamp(skb);
	/* The reader may hold the frame for a long time: free the socket. */
	skb_orphan(skb);
	nf_reset_ct(skb);

	/* Cannot fail: the slot was free and we are the only producer. */
	__xtap_ring_produce(r, skb);
	stop = own && __xtap_ring_full(r);
	spin_unlock(&r->producer_lock);

	xtap_stats_pkt(xt, idx, XTAP_STAT_TX_PACKETS, len);
	if (stop) {
		xtap_txq_stop(txq, r);
		xtap_stats_inc(xt, idx, XTAP_STAT_TX_STOPS);
	}
	xtap_queue_wake_readers(q);
	return NETDEV_TX_OK;
}

/* Count one ndo_xdp_xmit() bulk on @slot in one stats section. */
static void xtap_xdp_xmit_count(struct xtap_dev *xt, unsigned int slot,
				unsigned int stored, u64 bytes,
				unsigned int dropped)
{
	struct xtap_stats *st = get_cpu_ptr(xt->stats[slot]);
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&st->syncp);
	u64_stats_add(&st->v[XTAP_STAT_TX_PACKETS], stored);
	u64_stats_add(&st->v[XTAP_STAT_TX_BYTES], bytes);
	u64_stats_add(&st->v[XTAP_STAT_TX_XDP_XMIT], stored);
	u64_stats_add(&st->v[XTAP_STAT_TX_XDP_XMIT_DROPS], dropped);
	u64_stats_update_end_irqrestore(&st->syncp, flags);
	put_cpu_ptr(xt->stats[slot]);
}

/* Synchronization: BH context (a devmap flush in NAPI, or an XDP batch
 * under local_bh_disable()), inside an RCU read-side section: reads
 * numqueues locklessly and queues[] under RCU-bh, like xtap_start_xmit().
 * One producer lock section per bulk; never sleeps.
 *
 * The bulk goes to one queue, chosen by CPU as tun does: a NAPI instance
 * runs on one CPU, so one source keeps one queue and its order.  Frames
 * are stored in order until the ring is full; the rest are left to the
 * caller, which frees them (the core's contract), and counted as drops.
 * A multi-buffer frame is taken and freed here (the queue's readers copy
 * one linear buffer), also counted as a drop.  Readers are woken only on
 * XDP_XMIT_FLUSH, once per NAPI poll rather than once per bulk.
 */
static int xtap_xdp_xmit(struct net_device *dev, int n,
			 struct xdp_frame **frames, u32 flags)
{
	struct xtap_dev *xt = netdev_priv(dev);
	unsigned int nq = READ_ONCE(xt->numqueues);
	unsigned int slot = 0, stored = 0, dropped = 0;
	struct xtap_queue *q = NULL;
	struct xdp_frame *f;
	struct xtap_ring *r;
	u64 bytes = 0;
	int i;

	if (unlikely(flags & ~XDP_XMIT_FLAGS_MASK))
		return -EINVAL;
	if (likely(nq)) {
		slot = smp_processor_id() % nq;
		q = rcu_dereference_bh(xt->queues[slot]);
	}
	if (unlikely(!q)) {
		/* No queue (or a detach moved them): the caller frees all. */
		xtap_xdp_xmit_count(xt, slot, 0, 0, n);
		return 0;
	}
	r = &q->ring;

	spin_lock(&r->producer_lock);
	for (i = 0; i < n; i++) {
		f = frames[i];
		if (unlikely(xdp_frame_has_frags(f))) {
			xdp_return_frame(f);
			dropped++;
			continue;
		}
		if (__xtap_ring_produce(r, (void *)((unsigned long)f |
						     XTAP_PTR_XDP)))
			break;
		stored++;
		bytes += f->len;
	}
	spin_unlock(&r->producer_lock);

	xtap_xdp_xmit_count(xt, slot, stored, bytes, dropped + n - i);
	if (flags & XDP_XMIT_FLUSH)
		xtap_queue_wake_readers(q);
	return i;
}

/* Synchronization: called by the core under rcu_read_lock_bh() before the
 * tx queue lock is taken; reads numqueues locklessly (a stale value only
 * picks a queue that xtap_start_xmit() re-maps).
 */
static u16 xtap_select_queue(struct net_device *dev, struct sk_buff *skb,
			     struct net_device *sb_dev)
{
	struct xtap_dev *xt = netdev_priv(dev);
	unsigned int n = READ_ONCE(xt->numqueues);

	if (n <= 1)
		return 0;
	if (skb_rx_queue_recorded(skb))
		return skb_get_rx_queue(skb) % n;
	return reciprocal_scale(skb_get_hash(skb), n);
}

/* Synchronization: rtnl_lock (netdev_update_features). */
static netdev_features_t xtap_fix_features(struct net_device *dev,
					   netdev_features_t features)
{
	struct xtap_dev *xt = netdev_priv(dev);

	return features & (~XTAP_OFFLOAD_FEATURES | xt->tap_features);
}

/**
 * xtap_tap_set_offload() - apply a TUNSETOFFLOAD argument to the device
 * @xt: the device
 * @arg: TUN_F_* flags: what the readers of the queues can take
 *
 * Offloads are per device, like the features they select: the last call
 * on any queue wins.  The rules are tun's: TSO and UFO need TUN_F_CSUM,
 * TUN_F_TSO_ECN needs TSO; anything else is refused, so that a caller can
 * probe for a feature by setting it.  TUN_F_UFO is accepted and has no
 * effect (the stack has no UFO to give).
 *
 * Context: rtnl_lock held.
 * Return: 0, or -EINVAL for unknown flags or a combination tun refuses
 * (the features are then left as they were).
 */
int xtap_tap_set_offload(struct xtap_dev *xt, unsigned long arg)
{
	netdev_features_t f = 0;

	ASSERT_RTNL();
	if (arg & TUN_F_CSUM) {
		f |= NETIF_F_HW_CSUM;
		arg &= ~TUN_F_CSUM;
		if (arg & (TUN_F_TSO4 | TUN_F_TSO6)) {
			if (arg & TUN_F_TSO4)
				f |= NETIF_F_TSO;
			if (arg & TUN_F_TSO6)
				f |= NETIF_F_TSO6;
			if (arg & TUN_F_TSO_ECN)
				f |= NETIF_F_TSO_ECN;
			arg &= ~(TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN);
		}
		arg &= ~TUN_F_UFO;
	}
	if (arg)
		return -EINVAL;
	xt->tap_features = f;
	netdev_update_features(xt->dev);
	return 0;
}

/**
 * xtap_stats_read() - sum the per-CPU counters of one queue slot
 * @xt: the device
 * @slot: queue slot, below dev->num_tx_queues
 * @out: %XTAP_STAT_NUM counters, added to
 *
 * Context: any.
 */
void xtap_stats_read(struct xtap_dev *xt, unsigned int slot, u64 *out)
{
	u64 tmp[XTAP_STAT_NUM];
	unsigned int start, i;
	int cpu;

	for_each_possible_cpu(cpu) {
		const struct xtap_stats *st = per_cpu_ptr(xt->stats[slot], cpu);

		do {
			start = u64_stats_fetch_begin(&st->syncp);
			for (i = 0; i < XTAP_STAT_NUM; i++)
				tmp[i] = u64_stats_read(&st->v[i]);
		} while (u64_stats_fetch_retry(&st->syncp, start));
		for (i = 0; i < XTAP_STAT_NUM; i++)
			out[i] += tmp[i];
	}
}

/* Synchronization: none needed; counters are per-CPU u64_stats. */
static void xtap_get_stats64(struct net_device *dev,
			     struct rtnl_link_stats64 *s)
{
	struct xtap_dev *xt = netdev_priv(dev);
	u64 v[XTAP_STAT_NUM] = {};
	unsigned int i;

	for (i = 0; i < dev->num_tx_queues; i++)
		xtap_stats_read(xt, i, v);

	s->tx_packets = v[XTAP_STAT_TX_PACKETS];
	s->tx_bytes = v[XTAP_STAT_TX_BYTES];
	s->tx_dropped = v[XTAP_STAT_TX_DROP_NO_QUEUE] +
			v[XTAP_STAT_TX_DROP_RING_FULL] +
			v[XTAP_STAT_TX_DROP_NOMEM] +
			v[XTAP_STAT_TX_DROP_HDR] +
			v[XTAP_STAT_TX_DROP_DETACHED] +
			v[XTAP_STAT_TX_DROP_GUEST_BUF] +
			v[XTAP_STAT_TX_DROP_FAULT] +
			v[XTAP_STAT_TX_XDP_XMIT_DROPS];
	s->tx_errors = v[XTAP_STAT_TX_TRUNCATED];
	s->rx_packets = v[XTAP_STAT_RX_PACKETS];
	s->rx_bytes = v[XTAP_STAT_RX_BYTES];
	s->rx_dropped = v[XTAP_STAT_RX_DROP_MALFORMED] +
			v[XTAP_STAT_RX_DROP_NOMEM] +
			v[XTAP_STAT_RX_DROP_FAULT] +
			v[XTAP_STAT_RX_DROP_DOWN] +
			v[XTAP_STAT_RX_DROP_BAD_CHAIN] +
			v[XTAP_STAT_RX_XDP_DROP] +
			v[XTAP_STAT_RX_XDP_TX_ERR] +
			v[XTAP_STAT_RX_XDP_REDIRECT_ERR] +
			v[XTAP_STAT_RX_XDP_ABORTED];
	s->rx_errors = v[XTAP_STAT_RX_DROP_MALFORMED];
	s->rx_frame_errors = v[XTAP_STAT_RX_DROP_MALFORMED];
}

static void xtap_free_stats(struct xtap_dev *xt)
{
	unsigned int i;

	if (!xt->stats)
		return;
	for (i = 0; i < xt->dev->num_tx_queues; i++)
		free_percpu(xt->stats[i]);
	kfree(xt->stats);
	xt->stats = NULL;
}

/* Synchronization: rtnl_lock (register_netdevice). */
static int xtap_dev_init(struct net_device *dev)
{
	struct xtap_dev *xt = netdev_priv(dev);
	unsigned int i;
	int cpu;

	/* Charged to the creator's memory cgroup, as the netdev itself. */
	xt->stats = kcalloc(dev->num_tx_queues, sizeof(*xt->stats),
			    GFP_KERNEL_ACCOUNT);
	if (!xt->stats)
		return -ENOMEM;
	for (i = 0; i < dev->num_tx_queues; i++) {
		xt->stats[i] = alloc_percpu_gfp(struct xtap_stats,
						GFP_KERNEL_ACCOUNT);
		if (!xt->stats[i]) {
			xtap_free_stats(xt);
			return -ENOMEM;
		}
		for_each_possible_cpu(cpu)
			u64_stats_init(&per_cpu_ptr(xt->stats[i], cpu)->syncp);
	}
	if (xtap_xdp_init(xt)) {
		xtap_free_stats(xt);
		return -ENOMEM;
	}
	xt->id = atomic64_inc_return(&xtap_dev_ids);
	pr_debug("device %llu created\n", xt->id);
	return 0;
}

/* Synchronization: rtnl_lock.  Normally dellink did this already. */
static void xtap_dev_uninit(struct net_device *dev)
{
	xtap_queue_node_del(netdev_priv(dev));
	xtap_sysfs_del(netdev_priv(dev));
}

static const struct net_device_ops xtap_netdev_ops = {
	.ndo_init		= xtap_dev_init,
	.ndo_uninit		= xtap_dev_uninit,
	.ndo_start_xmit		= xtap_start_xmit,
	.ndo_xdp_xmit		= xtap_xdp_xmit,
	.ndo_select_queue	= xtap_select_queue,
	.ndo_fix_features	= xtap_fix_features,
	.ndo_get_stats64	= xtap_get_stats64,
	.ndo_set_mac_address	= eth_mac_addr,
	.ndo_validate_addr	= eth_validate_addr,
	.ndo_bpf		= xtap_xdp_bpf,
};

/* Runs when the net_device is freed: after unregistration and an RCU grace
 * period, or when register_netdevice() fails after ndo_init.
 */
static void xtap_dev_free(struct net_device *dev)
{
	struct xtap_dev *xt = netdev_priv(dev);

	xtap_xdp_uninit(xt);
	xtap_free_stats(xt);
	pr_debug("device %llu destroyed\n", xt->id);
}

static void xtap_setup(struct net_device *dev)
{
	struct xtap_dev *xt = netdev_priv(dev);

	ether_setup(dev);
	xt->dev = dev;
	xt->minor = -1;
	INIT_LIST_HEAD(&xt->queue_list);
	INIT_LIST_HEAD(&xt->qps);
	xtap_poll_conf_init(&xt->poll);
	dev->netdev_ops = &xtap_netdev_ops;
	dev->ethtool_ops = &xtap_ethtool_ops;
	dev->needs_free_netdev = true;
	dev->priv_destructor = xtap_dev_free;
	dev->priv_flags &= ~IFF_TX_SKB_SHARING;
	dev->priv_flags |= IFF_LIVE_ADDR_CHANGE;
	/* The queue node is named after the ifindex, which a move to
	 * another namespace could change.
	 */
	dev->features |= NETIF_F_NETNS_LOCAL;
	dev->hw_features = XTAP_FEATURES;
	dev->features |= XTAP_FEATURES;
	dev->vlan_features = XTAP_FEATURES;
	dev->min_mtu = ETH_MIN_MTU;
	dev->max_mtu = ETH_MAX_MTU;
	eth_hw_addr_random(dev);
}

static int xtap_validate(struct nlattr *tb[], struct nlattr *data[],
			 struct netlink_ext_ack *extack)
{
	if (tb[IFLA_ADDRESS]) {
		if (nla_len(tb[IFLA_ADDRESS]) != ETH_ALEN) {
			NL_SET_ERR_MSG_ATTR(extack, tb[IFLA_ADDRESS],
					    "xtap: MAC address must be 6 bytes");
			return -EINVAL;
		}
		if (!is_valid_ether_addr(nla_data(tb[IFLA_ADDRESS]))) {
			NL_SET_ERR_MSG_ATTR(extack, tb[IFLA_ADDRESS],
					    "xtap: MAC address is not a valid unicast address");
			return -EADDRNOTAVAIL;
		}
	}
	if (tb[IFLA_NUM_TX_QUEUES] &&
	    nla_get_u32(tb[IFLA_NUM_TX_QUEUES]) > XTAP_MAX_QUEUES) {
		NL_SET_ERR_MSG_ATTR(extack, tb[IFLA_NUM_TX_QUEUES],
				    "xtap: at most 256 tx queues");
		return -EINVAL;
	}
	return 0;
}

/* Synchronization: rtnl_lock. */
static int xtap_newlink(struct net *src_net, struct net_device *dev,
			struct nlattr *tb[], struct nlattr *data[],
			struct netlink_ext_ack *extack)
{
	struct xtap_dev *xt = netdev_priv(dev);
	int ret;

	/* Carrier only while a queue is attached. */
	netif_carrier_off(dev);
	ret = register_netdevice(dev);
	if (ret)
		return ret;

	ret = xtap_sysfs_add(xt);
	if (ret) {
		NL_SET_ERR_MSG(extack, "xtap: cannot create the sysfs directory");
		unregister_netdevice(dev);
		return ret;
	}
	ret = xtap_queue_node_add(xt);
	if (ret) {
		NL_SET_ERR_MSG(extack, "xtap: cannot create the queue node");
		unregister_netdevice(dev);
		return ret;
	}
	return 0;
}

/* Synchronization: rtnl_lock. */
static void xtap_dellink(struct net_device *dev, struct list_head *head)
{
	struct xtap_dev *xt = netdev_priv(dev);

	xtap_queue_node_del(xt);
	unregister_netdevice_queue(dev, head);
}

static struct rtnl_link_ops xtap_link_ops __read_mostly = {
	.kind		= XTAP_LINK_KIND,
	.priv_size	= sizeof(struct xtap_dev),
	.setup		= xtap_setup,
	.validate	= xtap_validate,
	.newlink	= xtap_newlink,
	.dellink	= xtap_dellink,
};

/**
 * xtap_tap_init() - register the queue node region and the link kind
 *
 * Context: module init.
 * Return: 0 or a negative errno.
 */
int xtap_tap_init(void)
{
	int ret;

	ret = xtap_node_init();
	if (ret)
		goto err_queue;
	ret = rtnl_link_register(&xtap_link_ops);
	if (ret)
		goto err_link;
	return 0;

err_link:
	xtap_node_exit();
err_queue:
	return ret;
}

/**
 * xtap_tap_exit() - unregister the link kind (deleting every xtap device),
 * then the queue node region
 *
 * Context: module exit; no queue file can be open (each pins the module).
 */
void xtap_tap_exit(void)
{
	rtnl_link_unregister(&xtap_link_ops);
	xtap_node_exit();
}
