/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Split virtqueue access for the vhost backend: guest memory table,
 * descriptor chains, used ring, notification suppression and the vring's
 * call/error eventfds.  Every guest address goes through the memory table
 * and every access is a user copy into the owner's address space (the
 * worker runs with the owner's mm).
 */
#ifndef _XTAP_VQ_H
#define _XTAP_VQ_H

#include "log.h"
#include "worker.h"

#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/uio.h>
#include <linux/virtio_ring.h>

struct eventfd_ctx;
struct file;
struct vhost_memory_region;
struct xtap_queue;
struct xtap_write_batch;

/* Most iovecs (and descriptors) one chain, or one RX packet, may use. */
#define XTAP_VQ_MAX_IOV		1024
/* Chains moved per round (and pointers taken from the queue ring). */
#define XTAP_VQ_BATCH		64
/* Work one handler run does before its worker yields, in either direction
 * (vhost-net's weights): bytes, and chains or packets.
 */
#define XTAP_VQ_WEIGHT_BYTES	0x80000
#define XTAP_VQ_WEIGHT_PKTS	256
/* ... and descriptors read: a valid chain may be XTAP_VQ_MAX_IOV mostly
 * empty ones, so chains and bytes alone would let one run read a quarter
 * million.  Room for 256 chains of 32 descriptors, more than a TSO frame
 * needs.
 */
#define XTAP_VQ_WEIGHT_DESCS	(XTAP_VQ_WEIGHT_PKTS * 32)
/* Used elements buffered before they are written to the used ring. */
#define XTAP_VQ_MAX_HEADS	(2 * XTAP_VQ_MAX_IOV)
/* Largest total length of one chain. */
#define XTAP_VQ_MAX_CHAIN_LEN	0x7fffffffU
/* Hard upper bound of the max_mem_regions module parameter. */
#define XTAP_MEM_MAX_REGIONS	65536

/**
 * struct xtap_mem_region - one guest-physical range and where it lives
 * @gpa: first guest-physical address
 * @size: length in bytes (never 0)
 * @uaddr: user address of @gpa in the owner's address space
 */
struct xtap_mem_region {
	u64 gpa;
	u64 size;
	u64 uaddr;
};

/**
 * struct xtap_mem - a validated memory table (VHOST_SET_MEM_TABLE)
 * @nregions: number of entries in @regions
 * @regions: sorted by @gpa, not overlapping, no address overflows
 *
 * Immutable once built; replaced as a whole.
 */
struct xtap_mem {
	u32 nregions;
	struct xtap_mem_region regions[];
};

/**
 * struct xtap_vq_stats - progress counters of one virtqueue; the busy-poll
 *	loop compares them to tell whether an inline handler run did anything
 * @packets: frames moved
 * @drops: frames dropped for lack of a large enough guest buffer (RX)
 */
struct xtap_vq_stats {
	u64 packets;
	u64 drops;
};

/**
 * struct xtap_vq_counts - busy-poll and notification counters of one
 *	virtqueue not yet added to the device's (see xtap_vq_flush_counts())
 * @hits: busy polls that found work
 * @misses: busy polls that ended without work
 * @spin_ns: time spent spinning
 * @signals: call eventfd signals
 * @stalls: work the stall watchdog found
 * @pair_runs: handler runs done inline by the pair's busy-polling worker
 */
struct xtap_vq_counts {
	u64 hits;
	u64 misses;
	u64 spin_ns;
	u64 signals;
	u64 stalls;
	u64 pair_runs;
};

/**
 * struct xtap_vq - one split virtqueue of a /dev/vhost-xtap device
 * @mutex: protects every field below except @ctl_waiting and the fixed
 *	ones; held by the worker while it processes the ring (or by the pair's
 *	worker serving it inline, taken with mutex_trylock() only) and by the
 *	control plane while it changes the ring (always after the device
 *	mutex)
 * @ctl_waiting: control-plane threads waiting for @mutex; a busy-polling
 *	worker leaves its loop when this is non-zero
 * @dev_id: id of the owning device, for messages
 * @index: 0 (RX) or 1 (TX)
 * @worker: the kernel thread serving this ring; NULL without an owner
 * @pair: the other virtqueue of the same device (fixed at open); a
 *	busy-polling worker serves it too (xtap_busy_poll())
 * @serve: the handler's body: runs with @mutex held and the owner's mm in
 *	use, never busy-polls (fixed at open)
 * @has_work: does @serve have something to do?  @mutex held, owner's mm
 *	in use (fixed at open)
 * @num: ring size (power of two), 0 when not set
 * @desc: descriptor table (user address)
 * @avail: available ring (user address)
 * @used: used ring (user address)
 * @features: acked feature bits
 * @mem: current memory table of the device, NULL before SET_MEM_TABLE
 * @busyloop_timeout: busy-poll budget in microseconds (0: off), as
 *	VHOST_SET_VRING_BUSYLOOP_TIMEOUT set it
 * @poll_window_ns: the adaptive mode's window for this ring's own work;
 *	also read locklessly (READ_ONCE()) by sysfs
 * @poll_pair_window_ns: the adaptive mode's window for the pair's work
 *	(served inline, see xtap_busy_poll()); read locklessly by sysfs
 * @poll_idle_at: local_clock() when the last busy poll gave up without
 *	work (adaptive mode), 0 when none is pending; also read locklessly
 *	by the pair's thread (xtap_busy_poll_pair_hint())
 * @poll_idle_max: the adaptive ceiling in force then, in ns (idem)
 * @poll_idle_cpu: the CPU that busy poll ran on (idem)
 * @poll_served: the last busy poll served the pair
 * @poll_pair_hint: set by the pair's thread when it was woken for work a
 *	longer spin of this ring's worker would have served (1: grow
 *	@poll_pair_window_ns) or that came after the ceiling (-1: shrink);
 *	taken at the next handler run
 * @kicks: kick eventfd wake-ups, not yet counted in the device (atomic:
 *	counted by the wake function)
 * @wakeups: worker thread wake-ups, not yet counted (atomic: counted by
 *	the worker thread without @mutex)
 * @counts: other counters not yet counted in the device
 * @kick: kick eventfd file, referenced
 * @call: call eventfd, referenced; may change while running
 * @err: error eventfd, referenced
 * @kick_poll: wait-queue entry on @kick
 * @last_avail_idx: next available-ring entry to take
 * @avail_idx: last avail->idx read from the guest
 * @last_used_idx: used->idx as last published
 * @signalled_used: @last_used_idx at the last call signal
 * @signalled_used_valid: @signalled_used may be used for EVENT_IDX
 * @used_pending: used entries were published since the last signal
 * @notify: guest kick notifications are currently enabled
 * @backend: attached queue file, referenced; NULL when detached
 * @q: the queue behind @backend
 * @tx_retries: attempts in a row to send the chain at the head of the TX
 *	ring that failed for lack of memory; the chain was put back each
 *	time (tx.c)
 * @vhost_hlen: header bytes vhost itself adds (RX) or strips (TX)
 *	(VHOST_NET_F_VIRTIO_NET_HDR), else 0
 * @guest_hlen: size of the guest's virtio-net header (10 or 12)
 * @heads: used elements not yet written to the used ring
 * @nheads: entries in @heads
 * @iov: iovec scratch space, XTAP_VQ_MAX_IOV entries
 * @wb: frames of the current TX round, XDP buffers and skbs (TX only)
 * @log: dirty-page logging (live migration)
 * @stats: counters
 */
struct xtap_vq {
	struct mutex mutex; /* the ring and its state: worker vs control plane */
	atomic_t ctl_waiting;
	u64 dev_id;
	unsigned int index;
	struct xtap_worker *worker;
	struct xtap_vq *pair;
	void (*serve)(struct xtap_vq *vq);
	bool (*has_work)(struct xtap_vq *vq);

	unsigned int num;
	struct vring_desc __user *desc;
	struct vring_avail __user *avail;
	struct vring_used __user *used;
	u64 features;
	const struct xtap_mem *mem;
	u32 busyloop_timeout;
	u32 poll_window_ns;
	u32 poll_pair_window_ns;
	u64 poll_idle_at;
	u32 poll_idle_max;
	u32 poll_idle_cpu;
	bool poll_served;
	atomic_t poll_pair_hint;
	atomic_t kicks;
	atomic_t wakeups;
	struct xtap_vq_counts counts;

	struct file *kick;
	struct eventfd_ctx *call;
	struct eventfd_ctx *err;
	struct xtap_poll kick_poll;

	u16 last_avail_idx;
	u16 avail_idx;
	u16 last_used_idx;
	u16 signalled_used;
	bool signalled_used_valid;
	bool used_pending;
	bool notify;

	struct file *backend;
	struct xtap_queue *q;
	unsigned int tx_retries;
	size_t vhost_hlen;
	size_t guest_hlen;

	struct vring_used_elem *heads;
	unsigned int nheads;
	struct iovec *iov;
	struct xtap_write_batch *wb;

	struct xtap_vq_log log;
	struct xtap_vq_stats stats;
};

/**
 * enum xtap_chain_status - result of xtap_vq_get_chain()
 * @XTAP_CHAIN_OK: a chain was taken
 * @XTAP_CHAIN_EMPTY: the available ring is empty
 * @XTAP_CHAIN_BAD: malformed chain with a valid head: return it with len 0
 * @XTAP_CHAIN_SKIP: unusable entry without a valid head: already consumed
 * @XTAP_CHAIN_NOSPACE: the chain does not fit into the iovecs left; it was
 *	put back
 * @XTAP_CHAIN_FAULT: the rings themselves cannot be read; stop until the
 *	next kick
 */
enum xtap_chain_status {
	XTAP_CHAIN_OK,
	XTAP_CHAIN_EMPTY,
	XTAP_CHAIN_BAD,
	XTAP_CHAIN_SKIP,
	XTAP_CHAIN_NOSPACE,
	XTAP_CHAIN_FAULT,
};

/**
 * struct xtap_chain - one descriptor chain taken from the available ring
 * @head: its head index (valid for OK and BAD)
 * @niov: iovecs filled
 * @len: total length of its buffers
 * @ndescs: descriptors read for it, indirect ones included (also for a
 *	BAD chain): the handlers count them into their work budget, since a
 *	valid chain may hold up to %XTAP_VQ_MAX_IOV zero-length descriptors
 */
struct xtap_chain {
	u16 head;
	unsigned int niov;
	size_t len;
	unsigned int ndescs;
};

/* vq.c */
int xtap_vq_alloc(struct xtap_vq *vq, u64 dev_id, unsigned int index);
void xtap_vq_free(struct xtap_vq *vq);
void xtap_vq_reset(struct xtap_vq *vq);
void xtap_vq_lock_ctl(struct xtap_vq *vq);
bool xtap_vq_has_feature(const struct xtap_vq *vq, unsigned int bit);
bool xtap_vq_ring_aligned(u64 desc, u64 avail, u64 used);
bool xtap_vq_ring_ok(unsigned int num, u64 desc, u64 avail, u64 used);
int xtap_vq_start(struct xtap_vq *vq);
bool xtap_vq_ready(const struct xtap_vq *vq);

struct xtap_mem *xtap_mem_build(const struct vhost_memory_region *r,
				u32 nregions);

enum xtap_chain_status xtap_vq_get_chain(struct xtap_vq *vq, bool writable,
					 struct iovec *iov,
					 unsigned int max_iov,
					 struct xtap_chain *c);
void xtap_vq_discard(struct xtap_vq *vq, unsigned int n);
void xtap_vq_add_used(struct xtap_vq *vq, u16 head, u32 len);
void xtap_vq_flush_used(struct xtap_vq *vq);
void xtap_vq_signal(struct xtap_vq *vq);
bool xtap_vq_avail_empty(struct xtap_vq *vq);
bool xtap_vq_avail_grew(struct xtap_vq *vq);
void xtap_vq_disable_notify(struct xtap_vq *vq);
bool xtap_vq_enable_notify(struct xtap_vq *vq);
__printf(2, 3) void xtap_vq_error(struct xtap_vq *vq, const char *fmt, ...);

#endif /* _XTAP_VQ_H */
