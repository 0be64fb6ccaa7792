// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * ethtool: driver info (-i), counters (-S), channels (-l), rings (-g).
 */

#include "xtap.h"

#include <linux/ethtool.h>
#include <linux/math64.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>

static const char xtap_stat_names[XTAP_STAT_NUM][ETH_GSTRING_LEN] = {
	[XTAP_STAT_TX_PACKETS]		= "tx_packets",
	[XTAP_STAT_TX_BYTES]		= "tx_bytes",
	[XTAP_STAT_TX_DROP_NO_QUEUE]	= "tx_drop_no_queue",
	[XTAP_STAT_TX_DROP_RING_FULL]	= "tx_drop_ring_full",
	[XTAP_STAT_TX_DROP_NOMEM]	= "tx_drop_nomem",
	[XTAP_STAT_TX_DROP_HDR]		= "tx_drop_hdr",
	[XTAP_STAT_TX_DROP_DETACHED]	= "tx_drop_detached",
	[XTAP_STAT_TX_DROP_GUEST_BUF]	= "tx_drop_guest_buf",
	[XTAP_STAT_TX_DROP_FAULT]	= "tx_drop_fault",
	[XTAP_STAT_TX_TRUNCATED]	= "tx_truncated",
	[XTAP_STAT_TX_STOPS]		= "tx_stops",
	[XTAP_STAT_TX_WAKES]		= "tx_wakes",
	[XTAP_STAT_TX_BUSY]		= "tx_busy",
	[XTAP_STAT_TX_XDP_XMIT]		= "xdp_xmit",
	[XTAP_STAT_TX_XDP_XMIT_DROPS]	= "xdp_xmit_drops",
	[XTAP_STAT_TX_BATCHES]		= "tx_batches",
	[XTAP_STAT_TX_BATCH_FRAMES]	= "tx_batch_frames",
	[XTAP_STAT_TX_BATCH_AVG]	= "tx_batch_avg",
	[XTAP_STAT_RX_PACKETS]		= "rx_packets",
	[XTAP_STAT_RX_BYTES]		= "rx_bytes",
	[XTAP_STAT_RX_DROP_MALFORMED]	= "rx_drop_malformed",
	[XTAP_STAT_RX_DROP_NOMEM]	= "rx_drop_nomem",
	[XTAP_STAT_RX_DROP_FAULT]	= "rx_drop_fault",
	[XTAP_STAT_RX_DROP_DOWN]	= "rx_drop_down",
	[XTAP_STAT_RX_DROP_BAD_CHAIN]	= "rx_drop_bad_chain",
	[XTAP_STAT_RX_NOMEM_RETRIES]	= "rx_nomem_retries",
	[XTAP_STAT_BUSY_POLL_HITS]	= "busy_poll_hits",
	[XTAP_STAT_BUSY_POLL_MISSES]	= "busy_poll_misses",
	[XTAP_STAT_BUSY_POLL_NS]	= "busy_poll_ns",
	[XTAP_STAT_KICKS]		= "kicks",
	[XTAP_STAT_SIGNALS]		= "signals",
	[XTAP_STAT_WAKEUPS]		= "wakeups",
	[XTAP_STAT_STALLS]		= "stalls",
	[XTAP_STAT_BUSY_POLL_PAIR_RUNS]	= "busy_poll_pair_runs",
	[XTAP_STAT_RX_XDP_PASS]		= "xdp_pass",
	[XTAP_STAT_RX_XDP_DROP]		= "xdp_drop",
	[XTAP_STAT_RX_XDP_TX]		= "xdp_tx",
	[XTAP_STAT_RX_XDP_TX_ERR]	= "xdp_tx_err",
	[XTAP_STAT_RX_XDP_REDIRECT]	= "xdp_redirect",
	[XTAP_STAT_RX_XDP_REDIRECT_ERR]	= "xdp_redirect_err",
	[XTAP_STAT_RX_XDP_ABORTED]	= "xdp_aborted",
	[XTAP_STAT_RX_XDP_GENERIC]	= "xdp_generic",
	[XTAP_STAT_RX_BATCHES]		= "rx_batches",
	[XTAP_STAT_RX_BATCH_FRAMES]	= "rx_batch_frames",
	[XTAP_STAT_RX_BATCH_AVG]	= "rx_batch_avg",
};

/* Fill in the derived average batch sizes of one set of counters: the
 * native XDP batches of written frames (rx) and the vhost RX worker's
 * batches toward the guest (tx).
 */
static void xtap_batch_avg(u64 *v)
{
	v[XTAP_STAT_RX_BATCH_AVG] = v[XTAP_STAT_RX_BATCHES] ?
		div64_u64(v[XTAP_STAT_RX_BATCH_FRAMES], v[XTAP_STAT_RX_BATCHES]) : 0;
	v[XTAP_STAT_TX_BATCH_AVG] = v[XTAP_STAT_TX_BATCHES] ?
		div64_u64(v[XTAP_STAT_TX_BATCH_FRAMES], v[XTAP_STAT_TX_BATCHES]) : 0;
}

/* Counters ndo_get_stats64 reports as they are (ip -s link,
 * /sys/class/net/<dev>/statistics): ethtool -S does not repeat their device
 * totals, only their per-queue values, which no standard interface has.
 */
static bool xtap_stat_is_standard(unsigned int i)
{
	return i == XTAP_STAT_TX_PACKETS || i == XTAP_STAT_TX_BYTES ||
	       i == XTAP_STAT_RX_PACKETS || i == XTAP_STAT_RX_BYTES;
}

/* The four counters above are left out of the totals. */
#define XTAP_STAT_NUM_TOTALS	(XTAP_STAT_NUM - 4)

/* Device totals (standard counters left out), then each queue slot's. */
static int xtap_get_sset_count(struct net_device *dev, int sset)
{
	if (sset != ETH_SS_STATS)
		return -EOPNOTSUPP;
	return XTAP_STAT_NUM_TOTALS + XTAP_STAT_NUM * dev->num_tx_queues;
}

static void xtap_get_strings(struct net_device *dev, u32 sset, u8 *buf)
{
	unsigned int q, i;

	if (sset != ETH_SS_STATS)
		return;
	for (i = 0; i < XTAP_STAT_NUM; i++)
		if (!xtap_stat_is_standard(i))
			ethtool_sprintf(&buf, "%s", xtap_stat_names[i]);
	for (q = 0; q < dev->num_tx_queues; q++)
		for (i = 0; i < XTAP_STAT_NUM; i++)
			ethtool_sprintf(&buf, "q%u_%s", q, xtap_stat_names[i]);
}

static void xtap_get_ethtool_stats(struct net_device *dev,
				   struct ethtool_stats *stats, u64 *data)
{
	struct xtap_dev *xt = netdev_priv(dev);
	u64 *slot = data + XTAP_STAT_NUM_TOTALS;
	u64 sum[XTAP_STAT_NUM] = {};
	unsigned int q, i;

	memset(slot, 0, sizeof(u64) * XTAP_STAT_NUM * dev->num_tx_queues);
	for (q = 0; q < dev->num_tx_queues; q++, slot += XTAP_STAT_NUM) {
		xtap_stats_read(xt, q, slot);
		for (i = 0; i < XTAP_STAT_NUM; i++)
			sum[i] += slot[i];
		xtap_batch_avg(slot);
	}
	xtap_batch_avg(sum);
	for (i = 0; i < XTAP_STAT_NUM; i++)
		if (!xtap_stat_is_standard(i))
			*data++ = sum[i];
}

static void xtap_get_drvinfo(struct net_device *dev,
			     struct ethtool_drvinfo *info)
{
	strscpy(info->driver, XTAP_DRV_NAME, sizeof(info->driver));
	strscpy(info->version, XTAP_DRV_VERSION, sizeof(info->version));
	strscpy(info->bus_info, "virtual", sizeof(info->bus_info));
}

/* Synchronization: rtnl_lock (ethtool ioctl and netlink). */
static void xtap_get_channels(struct net_device *dev,
			      struct ethtool_channels *ch)
{
	struct xtap_dev *xt = netdev_priv(dev);

	ch->max_combined = dev->num_tx_queues;
	ch->combined_count = xt->numqueues;
}

static void xtap_get_ringparam(struct net_device *dev,
			       struct ethtool_ringparam *ring,
			       struct kernel_ethtool_ringparam *kring,
			       struct netlink_ext_ack *extack)
{
	/* The queue rings carry the netdev's tx direction. */
	ring->tx_max_pending = XTAP_RING_MAX_SIZE;
	ring->tx_pending = xtap_queue_ring_size(dev);
}

const struct ethtool_ops xtap_ethtool_ops = {
	.get_drvinfo		= xtap_get_drvinfo,
	.get_link		= ethtool_op_get_link,
	.get_sset_count		= xtap_get_sset_count,
	.get_strings		= xtap_get_strings,
	.get_ethtool_stats	= xtap_get_ethtool_stats,
	.get_channels		= xtap_get_channels,
	.get_ringparam		= xtap_get_ringparam,
};
