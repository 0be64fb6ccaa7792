/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Core definitions shared by the files of the xtap module.
 *
 * Lock order (outermost first):
 *   rtnl_lock                      device and queue configuration
 *     ring consumer_lock           one consumer of a queue ring at a time
 *       ring producer_lock         ndo_start_xmit (softirq), so taken _bh
 *                                  from process context
 *   RCU (BH flavour in the xmit path) protects the datapath's view of
 *   xtap_dev.queues[] and of xtap_queue.xt.
 */
#ifndef _XTAP_H
#define _XTAP_H

#include <linux/list.h>
#include <linux/netdevice.h>
#include <linux/percpu.h>
#include <linux/u64_stats_sync.h>
#include <linux/wait.h>

#include "ring.h"

struct bpf_prog;
struct netdev_bpf;
struct xdp_rxq_info;

#define XTAP_DRV_NAME		"xtap"
#define XTAP_DRV_VERSION	"0.1"

/* Most queues (opens of the queue node) one device can have. */
#define XTAP_MAX_QUEUES		256
/* Bounds of a queue ring; the size is dev->tx_queue_len rounded up. */
#define XTAP_RING_MIN_SIZE	16U

/**
 * enum xtap_stat - per-queue counters
 *
 * Named from the netdev's side, as in tun ("Directions" in xtap.rst):
 * "tx" is what the stack transmits through the device (ndo_start_xmit
 * into a queue ring, toward the queue's reader: the guest's receive), "rx"
 * what the device receives (frames a queue's user wrote, the guest's
 * transmit, handed to the stack).  Every drop has a counter of its own,
 * named after its reason.
 *
 * @XTAP_STAT_TX_PACKETS: frames put into a queue ring
 * @XTAP_STAT_TX_BYTES: bytes of those frames
 * @XTAP_STAT_TX_DROP_NO_QUEUE: dropped: no queue attached
 * @XTAP_STAT_TX_DROP_RING_FULL: dropped: ring full on a queue that is not
 *	the one of the netdev tx queue (only while queues are re-indexed),
 *	or on any queue with flow control off (sysfs flow_control = 0)
 * @XTAP_STAT_TX_DROP_NOMEM: dropped: no memory to orphan the frame
 * @XTAP_STAT_TX_DROP_HDR: dropped at read: no vnet header can describe it
 * @XTAP_STAT_TX_DROP_DETACHED: dropped: still queued when the queue was
 *	closed, or did not fit back into the ring (unconsume)
 * @XTAP_STAT_TX_DROP_GUEST_BUF: dropped by the vhost RX worker: the guest's
 *	buffers are too small for the frame (no MRG_RXBUF)
 * @XTAP_STAT_TX_DROP_FAULT: dropped at read: copying it to the reader
 *	failed (bad user or guest memory)
 * @XTAP_STAT_TX_TRUNCATED: delivered truncated (reader's buffer too short)
 * @XTAP_STAT_TX_STOPS: netdev tx queue stopped at the high watermark
 * @XTAP_STAT_TX_WAKES: netdev tx queue woken at the low watermark
 * @XTAP_STAT_TX_BUSY: frame handed back to the qdisc (NETDEV_TX_BUSY)
 * @XTAP_STAT_TX_XDP_XMIT: xdp_frames ndo_xdp_xmit put into a queue ring
 *	(also counted in tx_packets and tx_bytes)
 * @XTAP_STAT_TX_XDP_XMIT_DROPS: xdp_frames ndo_xdp_xmit dropped: ring
 *	full, no queue attached, or a multi-buffer frame
 * @XTAP_STAT_TX_BATCHES: batches the vhost RX worker delivered to the
 *	guest (one used-ring update and at most one signal each)
 * @XTAP_STAT_TX_BATCH_FRAMES: frames in those batches
 * @XTAP_STAT_TX_BATCH_AVG: never counted; ethtool -S reports
 *	tx_batch_frames / tx_batches here
 * @XTAP_STAT_RX_PACKETS: frames handed to the stack
 * @XTAP_STAT_RX_BYTES: bytes of those frames
 * @XTAP_STAT_RX_DROP_MALFORMED: rejected: malformed vnet header or frame
 * @XTAP_STAT_RX_DROP_NOMEM: dropped: no memory for the skb
 * @XTAP_STAT_RX_DROP_FAULT: dropped: bad user memory
 * @XTAP_STAT_RX_DROP_DOWN: dropped: the interface is down
 * @XTAP_STAT_RX_DROP_BAD_CHAIN: a guest TX chain that was malformed or had
 *	an out-of-range head: its frame never reached the queue
 * @XTAP_STAT_RX_NOMEM_RETRIES: guest TX frames that could not be built for
 *	lack of memory and were put back to be tried again (the frame is
 *	counted again, in rx_drop_nomem, only if the last try fails too)
 * @XTAP_STAT_BUSY_POLL_HITS: busy polls (of either worker of the queue's
 *	vhost queue pair) that found work
 * @XTAP_STAT_BUSY_POLL_MISSES: busy polls that ended without work
 * @XTAP_STAT_BUSY_POLL_NS: nanoseconds spent spinning in busy polls
 * @XTAP_STAT_KICKS: guest notifications (kick eventfd) received
 * @XTAP_STAT_SIGNALS: guest interrupts (call eventfd) sent
 * @XTAP_STAT_WAKEUPS: times a sleeping worker thread was woken to work
 * @XTAP_STAT_STALLS: work the stall watchdog found and served
 * @XTAP_STAT_BUSY_POLL_PAIR_RUNS: handler runs of one virtqueue of the
 *	queue's vhost queue pair done inline by the other one's worker while
 *	it busy-polled on the same CPU (no wake-up of the virtqueue's own
 *	thread)
 * @XTAP_STAT_RX_XDP_PASS: native XDP verdict XDP_PASS
 * @XTAP_STAT_RX_XDP_DROP: native XDP verdict XDP_DROP (also in rx_dropped)
 * @XTAP_STAT_RX_XDP_TX: native XDP_TX frames put back into the queue ring
 * @XTAP_STAT_RX_XDP_TX_ERR: XDP_TX frames dropped: ring full or no room for
 *	the frame header
 * @XTAP_STAT_RX_XDP_REDIRECT: XDP_REDIRECT frames the target accepted
 * @XTAP_STAT_RX_XDP_REDIRECT_ERR: XDP_REDIRECT frames xdp_do_redirect()
 *	refused (dropped)
 * @XTAP_STAT_RX_XDP_ABORTED: XDP_ABORTED or an invalid verdict (dropped)
 * @XTAP_STAT_RX_XDP_GENERIC: skb-path frames the program consumed through
 *	generic XDP (dropped, redirected or sent back)
 * @XTAP_STAT_RX_BATCHES: batches of XDP buffers run (native path)
 * @XTAP_STAT_RX_BATCH_FRAMES: XDP buffers in those batches
 * @XTAP_STAT_RX_BATCH_AVG: never counted; ethtool -S reports
 *	rx_batch_frames / rx_batches here
 * @XTAP_STAT_NUM: number of counters
 */
enum xtap_stat {
	XTAP_STAT_TX_PACKETS,
	XTAP_STAT_TX_BYTES,
	XTAP_STAT_TX_DROP_NO_QUEUE,
	XTAP_STAT_TX_DROP_RING_FULL,
	XTAP_STAT_TX_DROP_NOMEM,
	XTAP_STAT_TX_DROP_HDR,
	XTAP_STAT_TX_DROP_DETACHED,
	XTAP_STAT_TX_DROP_GUEST_BUF,
	XTAP_STAT_TX_DROP_FAULT,
	XTAP_STAT_TX_TRUNCATED,
	XTAP_STAT_TX_STOPS,
	XTAP_STAT_TX_WAKES,
	XTAP_STAT_TX_BUSY,
	XTAP_STAT_TX_XDP_XMIT,
	XTAP_STAT_TX_XDP_XMIT_DROPS,
	XTAP_STAT_TX_BATCHES,
	XTAP_STAT_TX_BATCH_FRAMES,
	XTAP_STAT_TX_BATCH_AVG,
	XTAP_STAT_RX_PACKETS,
	XTAP_STAT_RX_BYTES,
	XTAP_STAT_RX_DROP_MALFORMED,
	XTAP_STAT_RX_DROP_NOMEM,
	XTAP_STAT_RX_DROP_FAULT,
	XTAP_STAT_RX_DROP_DOWN,
	XTAP_STAT_RX_DROP_BAD_CHAIN,
	XTAP_STAT_RX_NOMEM_RETRIES,
	XTAP_STAT_BUSY_POLL_HITS,
	XTAP_STAT_BUSY_POLL_MISSES,
	XTAP_STAT_BUSY_POLL_NS,
	XTAP_STAT_KICKS,
	XTAP_STAT_SIGNALS,
	XTAP_STAT_WAKEUPS,
	XTAP_STAT_STALLS,
	XTAP_STAT_BUSY_POLL_PAIR_RUNS,
	XTAP_STAT_RX_XDP_PASS,
	XTAP_STAT_RX_XDP_DROP,
	XTAP_STAT_RX_XDP_TX,
	XTAP_STAT_RX_XDP_TX_ERR,
	XTAP_STAT_RX_XDP_REDIRECT,
	XTAP_STAT_RX_XDP_REDIRECT_ERR,
	XTAP_STAT_RX_XDP_ABORTED,
	XTAP_STAT_RX_XDP_GENERIC,
	XTAP_STAT_RX_BATCHES,
	XTAP_STAT_RX_BATCH_FRAMES,
	XTAP_STAT_RX_BATCH_AVG,
	XTAP_STAT_NUM
};

/**
 * struct xtap_stats - one CPU's counters of one queue slot
 * @v: the counters, indexed by &enum xtap_stat
 * @syncp: makes 64-bit reads consistent on 32-bit hosts
 */
struct xtap_stats {
	u64_stats_t v[XTAP_STAT_NUM];
	struct u64_stats_sync syncp;
};

/**
 * enum xtap_busy_poll_mode - where a queue's busy-poll window comes from
 * @XTAP_BUSY_POLL_VHOST: each vring's VHOST_SET_VRING_BUSYLOOP_TIMEOUT
 * @XTAP_BUSY_POLL_OFF: never poll
 * @XTAP_BUSY_POLL_FIXED: every queue polls for busy_poll_us
 * @XTAP_BUSY_POLL_ADAPTIVE: a window per virtqueue that grows on hits and
 *	shrinks on misses, up to busy_poll_us
 * @XTAP_BUSY_POLL_NMODES: number of modes
 */
enum xtap_busy_poll_mode {
	XTAP_BUSY_POLL_VHOST,
	XTAP_BUSY_POLL_OFF,
	XTAP_BUSY_POLL_FIXED,
	XTAP_BUSY_POLL_ADAPTIVE,
	XTAP_BUSY_POLL_NMODES
};

/* Bounds and defaults of the sysfs knobs (see sysfs.c). */
#define XTAP_BUSY_POLL_US_MAX		10000U
#define XTAP_BUSY_POLL_US_DEFAULT	50U
#define XTAP_STALL_MS_MAX		10000U
#define XTAP_STALL_MS_DEFAULT		100U

/**
 * struct xtap_poll_conf - busy-poll and watchdog settings of a device
 * @mode: &enum xtap_busy_poll_mode
 * @us: window of the fixed mode and ceiling of the adaptive one, in us
 * @stall_ms: stall watchdog period in ms, 0 when off
 *
 * Written under xtap_sysfs_lock (sysfs.c) with WRITE_ONCE(), read anywhere
 * with READ_ONCE() (the datapath under RCU through xtap_queue.xt).
 */
struct xtap_poll_conf {
	unsigned int mode;
	u32 us;
	u32 stall_ms;
};

/**
 * struct xtap_dev - private part of an xtap net_device
 * @dev: the net_device this is the private area of
 * @id: serial number, for lifetime messages
 * @minor: minor number of the queue node, -1 while there is none
 * @node: the queue node's class device, NULL while there is none
 * @queue_list: every queue attached to the device, enabled or not
 * @nqueues: number of entries of @queue_list
 * @numqueues: number of enabled queues, the first entries of @queues
 * @tap_features: offloads allowed by the last TUNSETOFFLOAD
 * @stats: per-CPU counters of each queue slot (netdev tx queue index),
 *	dev->num_tx_queues of them
 * @xdp_prog: the native XDP program run on frames from the queues' users,
 *	NULL when none; replaced under rtnl_lock (ndo_bpf), read under RCU
 * @xdp_rxq: one xdp_rxq_info per queue slot, dev->num_tx_queues of them,
 *	registered from ndo_init to the device's free
 * @queues: the enabled queues, indexed like the netdev tx queues
 * @poll: busy-poll and watchdog settings (sysfs)
 * @sysfs: the xtap/ directory under the net device, NULL when none
 * @sysfs_queues: its queues/ child
 * @qps: the queue pairs shown under queues/ (struct xtap_qp); protected
 *	by xtap_sysfs_lock
 * @sysfs_dead: the directories are gone or going; protected by
 *	xtap_sysfs_lock
 * @txq_drop: a full queue ring drops the frame instead of stopping the
 *	netdev tx queue (sysfs flow_control = 0); written under
 *	xtap_sysfs_lock with WRITE_ONCE(), read by the datapath with
 *	READ_ONCE()
 *
 * Everything but @dev, @id, @stats, @poll, @txq_drop and the sysfs fields
 * is written under rtnl_lock.  The datapath reads @numqueues with READ_ONCE(),
 * @queues[] and @xdp_prog under RCU.
 */
struct xtap_dev {
	struct net_device *dev;
	u64 id;
	int minor;
	struct device *node;
	struct list_head queue_list;
	unsigned int nqueues;
	unsigned int numqueues;
	netdev_features_t tap_features;
	struct xtap_stats __percpu **stats;
	struct bpf_prog __rcu *xdp_prog;
	struct xdp_rxq_info *xdp_rxq;
	struct xtap_queue __rcu *queues[XTAP_MAX_QUEUES];
	struct xtap_poll_conf poll;
	struct kobject *sysfs;
	struct kobject *sysfs_queues;
	struct list_head qps;
	bool sysfs_dead;
	bool txq_drop;
};

/**
 * struct xtap_queue - one open of /dev/xtap<ifindex>
 * @ring: frames for the reader (skb pointers, or tagged xdp_frame pointers)
 * @xt: the device, NULL once the device is deleted or the queue released
 * @wq: poll and blocking-read wait queue; woken with EPOLLIN on new frames
 * @node: entry in xtap_dev.queue_list
 * @id: serial number, for lifetime messages
 * @flags: IFF_* flags reported by TUNGETIFF
 * @vnet_hdr_sz: size of the vnet header when IFF_VNET_HDR is set
 * @sndbuf: value of the last TUNSETSNDBUF
 * @index: position in xtap_dev.queues[] while @enabled
 * @enabled: receives frames (TUNSETQUEUE attach/detach)
 * @reader: the vhost RX virtqueue consuming @ring, NULL when none; only
 *	changed with cmpxchg() (xtap_queue_claim_reader())
 *
 * @xt, @node, @index and @enabled are written under rtnl_lock; @xt only
 * ever goes from the device to NULL.  @flags, @vnet_hdr_sz and @sndbuf are
 * written under rtnl_lock and read locklessly by the datapath.
 */
struct xtap_queue {
	struct xtap_ring ring;
	struct xtap_dev __rcu *xt;
	wait_queue_head_t wq;
	struct list_head node;
	u64 id;
	unsigned int flags;
	int vnet_hdr_sz;
	int sndbuf;
	u16 index;
	bool enabled;
	const void *reader;
};

/**
 * xtap_stats_add() - add to one counter of a queue slot
 * @xt: the device
 * @slot: queue slot, below dev->num_tx_queues
 * @stat: the counter
 * @val: the amount
 *
 * Any context.
 */
static inline void xtap_stats_add(struct xtap_dev *xt, unsigned int slot,
				  enum xtap_stat stat, u64 val)
{
	struct xtap_stats *st = get_cpu_ptr(xt->stats[slot]);
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&st->syncp);
	u64_stats_add(&st->v[stat], val);
	u64_stats_update_end_irqrestore(&st->syncp, flags);
	put_cpu_ptr(xt->stats[slot]);
}

/**
 * xtap_stats_inc() - count one event of a queue slot
 * @xt: the device
 * @slot: queue slot, below dev->num_tx_queues
 * @stat: the counter
 */
static inline void xtap_stats_inc(struct xtap_dev *xt, unsigned int slot,
				  enum xtap_stat stat)
{
	xtap_stats_add(xt, slot, stat, 1);
}

/**
 * xtap_stats_pkt() - count a frame: its packet and byte counters
 * @xt: the device
 * @slot: queue slot, below dev->num_tx_queues
 * @pkts: XTAP_STAT_TX_PACKETS or XTAP_STAT_RX_PACKETS; the byte counter
 *	follows it
 * @len: bytes
 */
static inline void xtap_stats_pkt(struct xtap_dev *xt, unsigned int slot,
				  enum xtap_stat pkts, unsigned int len)
{
	struct xtap_stats *st = get_cpu_ptr(xt->stats[slot]);
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&st->syncp);
	u64_stats_inc(&st->v[pkts]);
	u64_stats_add(&st->v[pkts + 1], len);
	u64_stats_update_end_irqrestore(&st->syncp, flags);
	put_cpu_ptr(xt->stats[slot]);
}

/**
 * xtap_queue_slot() - the stats slot of a queue
 * @xt: the queue's device
 * @q: the queue
 *
 * Return: the queue's index, clamped to the device's queue count (the
 * index of a disabled queue is the one it had last).
 */
static inline unsigned int xtap_queue_slot(struct xtap_dev *xt,
					   struct xtap_queue *q)
{
	unsigned int idx = READ_ONCE(q->index);

	return min(idx, xt->dev->num_tx_queues - 1);
}

/* tap.c */
int xtap_tap_init(void);
void xtap_tap_exit(void);
int xtap_tap_set_offload(struct xtap_dev *xt, unsigned long arg);
void xtap_stats_read(struct xtap_dev *xt, unsigned int slot, u64 *out);

/* node.c */
int xtap_node_init(void);
void xtap_node_exit(void);
int xtap_queue_node_add(struct xtap_dev *xt);
void xtap_queue_node_del(struct xtap_dev *xt);

/* queue.c */
void xtap_queue_wake_readers(struct xtap_queue *q);
void xtap_queue_count(struct xtap_queue *q, enum xtap_stat stat);
unsigned int xtap_queue_ring_size(struct net_device *dev);

/* xdp.c */
int xtap_xdp_init(struct xtap_dev *xt);
void xtap_xdp_uninit(struct xtap_dev *xt);
int xtap_xdp_bpf(struct net_device *dev, struct netdev_bpf *bpf);

/* ethtool.c */
extern const struct ethtool_ops xtap_ethtool_ops;

/* vhost.c */
int xtap_vhost_init(void);
void xtap_vhost_exit(void);

/* selftest.c, built only with CONFIG_XTAP_DEBUG (which defines DEBUG) */
#ifdef DEBUG
bool xtap_selftest(void);
#else
static inline bool xtap_selftest(void)
{
	return true;
}
#endif

#endif /* _XTAP_H */
