/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * vdrv: a userspace virtio-net driver that plays the guest for a vhost-net
 * style backend (/dev/vhost-net + /dev/net/tun, or /dev/vhost-xtap +
 * /dev/xtap<ifindex>), with the same code for both.
 *
 * The driver owns one anonymous mapping (the "arena") that it describes to
 * the backend with VHOST_SET_MEM_TABLE.  By default there is one region whose
 * guest-physical address equals its user address (identity); a layout can
 * instead place several regions anywhere in guest-physical space (as QEMU
 * does), and the driver translates every address it puts in a descriptor.
 * Rings are split rings laid out by vring_init(); queue 0 is RX and queue 1
 * is TX, as in vhost-net.
 *
 * This is a library: nothing here asserts or prints.  Functions return 0 (or
 * a count) on success and a negative errno on failure; struct vdrv::err_op
 * names the step that failed.
 *
 * Typical use:
 *
 *	vdrv_backend_create(&be, VDRV_UPSTREAM, "vd0", 0);
 *	vdrv_init(&d, &cfg);
 *	vdrv_setup(&d, be.vhost_fd);
 *	vdrv_backend_set_hdr_len(&be, vdrv_sock_hdr_len(&d));
 *	vdrv_attach(&d, be.tap_fd);
 *	vdrv_rx_fill(&d); vdrv_kick(&d, VDRV_RX);
 *	vdrv_tx_send(&d, frame, len, NULL, NULL); vdrv_kick(&d, VDRV_TX);
 *	...
 *	vdrv_fini(&d);
 *	vdrv_backend_destroy(&be);
 */
#ifndef _VDRV_H
#define _VDRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#define VDRV_RX		0
#define VDRV_TX		1
#define VDRV_NVQ	2

#define VDRV_MAX_REGIONS	8
#define VDRV_MAX_FRAME		65535U
#define VDRV_DEFAULT_NUM	256U
/* Largest ring the virtio spec and vhost allow. */
#define VDRV_MAX_NUM		32768U

#define VDRV_F(bit)	(1ULL << (bit))
/* What QEMU 7.2 acks for a modern Linux guest (0x130008000). */
#define VDRV_FEATURES_QEMU (VDRV_F(VIRTIO_RING_F_INDIRECT_DESC) |	\
			    VDRV_F(VIRTIO_RING_F_EVENT_IDX) |		\
			    VDRV_F(VIRTIO_NET_F_MRG_RXBUF) |		\
			    VDRV_F(VIRTIO_F_VERSION_1))
/* What Linux 6.1 vhost-net offers (0x33d008000). */
#define VDRV_FEATURES_VHOST_NET_6_1 (VDRV_FEATURES_QEMU |		\
				     VDRV_F(VIRTIO_F_NOTIFY_ON_EMPTY) |	\
				     VDRV_F(VHOST_F_LOG_ALL) |		\
				     VDRV_F(VHOST_NET_F_VIRTIO_NET_HDR) |	\
				     VDRV_F(VIRTIO_F_ACCESS_PLATFORM))

/* ------------------------------------------------------------------ */
/* Backends: the tap-like queue fd, the vhost fd and their interface. */

enum vdrv_kind {
	VDRV_UPSTREAM,	/* /dev/vhost-net + /dev/net/tun */
	VDRV_XTAP,	/* /dev/vhost-xtap + /dev/xtap<ifindex> */
};

/* vdrv_backend_create() flags */
#define VDRV_BE_NO_VNET_HDR	0x1	/* queue without IFF_VNET_HDR (upstream) */
#define VDRV_BE_PERSIST		0x2	/* link outlives its queue fds (upstream) */
#define VDRV_BE_NO_VHOST	0x4	/* do not open the vhost node */
#define VDRV_BE_NO_QUEUE	0x8	/* create the link only, open no queue */

/**
 * struct vdrv_backend - one interface with one open queue and a vhost fd
 * @kind: upstream tun/vhost-net or xtap
 * @flags: VDRV_BE_* given at creation
 * @ifname: interface name
 * @ifindex: interface index
 * @tap_fd: one queue of the interface (tun fd or /dev/xtap<ifindex>), or -1
 * @vhost_fd: an open of the vhost node, or -1
 */
struct vdrv_backend {
	enum vdrv_kind kind;
	unsigned int flags;
	char ifname[IFNAMSIZ];
	int ifindex;
	int tap_fd;
	int vhost_fd;
};

const char *vdrv_kind_name(enum vdrv_kind kind);
const char *vdrv_vhost_path(enum vdrv_kind kind);
int vdrv_backend_create(struct vdrv_backend *be, enum vdrv_kind kind,
			const char *ifname, unsigned int flags);
int vdrv_backend_open_queue(const struct vdrv_backend *be);
int vdrv_backend_open_vhost(const struct vdrv_backend *be);
void vdrv_backend_close_fds(struct vdrv_backend *be);
int vdrv_backend_reopen(struct vdrv_backend *be);
void vdrv_backend_destroy(struct vdrv_backend *be);
int vdrv_backend_set_hdr_len(const struct vdrv_backend *be, int len);
int vdrv_backend_wait_running(const struct vdrv_backend *be, int timeout_ms);

/* Interface helpers (by name or index). */
int vdrv_link_set_up(const char *ifname, bool up);
int vdrv_link_set_mtu(const char *ifname, unsigned int mtu);
int vdrv_link_get_mtu(const char *ifname);
int vdrv_link_disable_ipv6(const char *ifname);
int vdrv_rtnl_newlink(const char *ifname, const char *kind);
int vdrv_rtnl_dellink(int ifindex);
struct nlmsghdr;
void vdrv_nla_put(struct nlmsghdr *nh, unsigned short type, const void *data,
		  size_t len);
int vdrv_rtnl_talk(struct nlmsghdr *nh);

/* Threads by name, e.g. the backends' workers (xtap-rx-<pid>, vhost-<pid>). */
int vdrv_threads_named(const char *comm, int *pids, int max);
/* Name of an attached xtap worker: dir "rx" or "tx", the queue's device and
 * index (drivers/net/xtap/vhost.c).
 */
void vdrv_xtap_worker_name(char *buf, size_t len, const char *dir,
			   int ifindex, unsigned int queue);
long long vdrv_ethtool_stat(const char *ifname, const char *name);
int vdrv_read_file(const char *path, char *buf, size_t len);

/* Host side of the traffic: AF_PACKET sockets bound to the interface. */
int vdrv_pkt_open(int ifindex);
int vdrv_pkt_send(int fd, int ifindex, const void *frame, size_t len);
int vdrv_pkt_recv(int fd, void *buf, size_t cap, int timeout_ms);
int vdrv_pkt_drain(int fd);

/* ------------------------------------------------------------------ */
/* The driver. */

/**
 * struct vdrv_layout - guest memory layout (regions carved out of the arena)
 * @nregions: number of regions
 * @region: each region's guest-physical address, offset into the arena and
 *	size; with @identity the gpa fields are ignored
 * @identity: guest-physical address == user address for every region
 * @arena_size: bytes to map (0: computed from the configuration)
 * @alloc_offset: where the driver starts allocating rings and buffers
 */
struct vdrv_layout {
	unsigned int nregions;
	struct {
		uint64_t gpa;
		uint64_t offset;
		uint64_t size;
	} region[VDRV_MAX_REGIONS];
	bool identity;
	uint64_t arena_size;
	uint64_t alloc_offset;
};

/**
 * struct vdrv_config - what vdrv_init()/vdrv_setup() set up
 * @features: feature bits to ack (must all be offered by the device)
 * @num: ring size of both queues (0: VDRV_DEFAULT_NUM)
 * @rx_buf_size: bytes per RX buffer including the vnet header (0: 1536
 *	with MRG_RXBUF, else header + 65550 "big" buffers)
 * @tx_max_frame: largest TX frame (0: VDRV_MAX_FRAME)
 * @rx_split_hdr: RX buffers put the vnet header in its own descriptor
 * @tx_split_hdr: TX requests put the vnet header in its own descriptor
 * @tx_frags: split each TX frame over this many descriptors (0 or 1: one)
 * @rx_chunk: bytes per data descriptor of a multi-descriptor RX buffer
 *	(0: 4096; only without MRG_RXBUF)
 * @no_indirect: never use indirect tables even when negotiated
 * @busyloop_us: VHOST_SET_VRING_BUSYLOOP_TIMEOUT for both queues (0: none)
 * @layout: memory layout (NULL: one identity region)
 */
struct vdrv_config {
	uint64_t features;
	unsigned int num;
	unsigned int rx_buf_size;
	unsigned int tx_max_frame;
	bool rx_split_hdr;
	bool tx_split_hdr;
	unsigned int tx_frags;
	unsigned int rx_chunk;
	bool no_indirect;
	uint32_t busyloop_us;
	const struct vdrv_layout *layout;
};

/* Who a descriptor chain in flight belongs to. */
enum vdrv_req_kind {
	VDRV_REQ_FREE,
	VDRV_REQ_TX,
	VDRV_REQ_RX,
	VDRV_REQ_RAW,
};

/**
 * struct vdrv_req - bookkeeping for the chain whose head is this index
 * @kind: VDRV_REQ_*
 * @ndesc: ring descriptors owned by the chain (private linkage in
 *	vdrv_vq::chain)
 * @token: caller's cookie, returned by vdrv_pop()
 */
struct vdrv_req {
	enum vdrv_req_kind kind;
	uint16_t ndesc;
	void *token;
};

/**
 * struct vdrv_vq - one split virtqueue
 * @index: 0 (RX) or 1 (TX)
 * @num: ring size
 * @vr: the ring, inside the arena
 * @avail_idx: next free avail index (driver's copy)
 * @last_used: next used index to reap
 * @kick_old: avail index at the last kick decision (event idx)
 * @free_head: first free descriptor (private free list)
 * @nfree: free descriptors
 * @chain: private "next" of each descriptor: the free list, or the chain
 *	of an in-flight request (never read by the device)
 * @req: per head bookkeeping
 * @inflight: requests made available and not yet reaped
 * @raw_heads: out-of-range heads published with vdrv_raw_post_head(); the
 *	device never returns them, so each permanently takes an avail slot
 * @ind: indirect tables, @ind_max entries per head
 * @ind_max: entries per indirect table
 * @bufs: one buffer of @buf_size bytes per head
 * @buf_size: bytes per buffer
 * @kick_fd: eventfd the driver writes to notify the device
 * @call_fd: eventfd the device signals for used buffers
 * @err_fd: eventfd the device signals on a malformed request
 * @kicks: notifications sent
 * @kicks_saved: notifications the device did not ask for
 * @calls: interrupts consumed from @call_fd
 */
struct vdrv_vq {
	unsigned int index;
	unsigned int num;
	struct vring vr;
	uint16_t avail_idx;
	uint16_t last_used;
	uint16_t kick_old;
	uint16_t free_head;
	unsigned int nfree;
	uint16_t *chain;
	struct vdrv_req *req;
	unsigned int inflight;
	unsigned int raw_heads;
	struct vring_desc *ind;
	unsigned int ind_max;
	uint8_t *bufs;
	size_t buf_size;
	int kick_fd;
	int call_fd;
	int err_fd;
	uint64_t kicks;
	uint64_t kicks_saved;
	uint64_t calls;
};

/**
 * struct vdrv - the driver
 * @cfg: configuration (copied)
 * @layout: effective memory layout
 * @arena: the mapping shared with the device
 * @arena_size: its size
 * @brk: allocation offset in the arena
 * @vhost_fd: the vhost fd given to vdrv_setup(), or -1
 * @offered: VHOST_GET_FEATURES
 * @features: acked features
 * @hdr_len: virtio-net header size the driver uses (10 or 12)
 * @mrg_rxbuf: MRG_RXBUF negotiated
 * @event_idx: EVENT_IDX negotiated
 * @indirect: INDIRECT_DESC negotiated and used
 * @vq: RX and TX queues
 * @err_op: name of the step that failed last
 */
struct vdrv {
	struct vdrv_config cfg;
	struct vdrv_layout layout;
	uint8_t *arena;
	size_t arena_size;
	size_t brk;
	int vhost_fd;
	uint64_t offered;
	uint64_t features;
	unsigned int hdr_len;
	bool mrg_rxbuf;
	bool event_idx;
	bool indirect;
	struct vdrv_vq vq[VDRV_NVQ];
	const char *err_op;
};

/**
 * struct vdrv_used - one used entry as returned by vdrv_pop()
 * @head: descriptor index the device returned
 * @len: bytes the device says it wrote
 * @kind: VDRV_REQ_* of the request that head belonged to
 * @token: the cookie given when the request was made
 * @buf: the request's buffer (TX/RX requests), or NULL
 */
struct vdrv_used {
	uint32_t head;
	uint32_t len;
	enum vdrv_req_kind kind;
	void *token;
	uint8_t *buf;
};

/**
 * struct vdrv_rx_info - what vdrv_rx_recv() found
 * @hdr: the vnet header of the frame (num_buffers only with MRG_RXBUF)
 * @nbufs: buffers (used entries) the frame occupied
 * @truncated: the frame was longer than the caller's buffer
 * @raw: the used entry was a raw request (see struct vdrv_used in @used)
 * @used: the (first) used entry
 */
struct vdrv_rx_info {
	struct virtio_net_hdr_mrg_rxbuf hdr;
	unsigned int nbufs;
	bool truncated;
	bool raw;
	struct vdrv_used used;
};

int vdrv_init(struct vdrv *d, const struct vdrv_config *cfg);
void vdrv_fini(struct vdrv *d);

/* vhost ioctls: the whole start sequence, or one step at a time. */
int vdrv_setup(struct vdrv *d, int vhost_fd);
int vdrv_set_owner(struct vdrv *d, int vhost_fd);
int vdrv_negotiate(struct vdrv *d);
int vdrv_set_mem_table(struct vdrv *d);
int vdrv_setup_vq(struct vdrv *d, unsigned int i);
int vdrv_attach(struct vdrv *d, int tap_fd);
int vdrv_detach(struct vdrv *d);
int vdrv_set_backend(struct vdrv *d, unsigned int i, int fd);
struct vhost_memory *vdrv_mem_table(const struct vdrv *d);
size_t vdrv_sock_hdr_len(const struct vdrv *d);

/* Memory. */
void *vdrv_alloc(struct vdrv *d, size_t size, size_t align);
uint64_t vdrv_gpa(const struct vdrv *d, const void *p);
uint64_t vdrv_gpa_end(const struct vdrv *d);

/* TX (guest -> host) */
int vdrv_tx_send(struct vdrv *d, const void *frame, size_t len,
		 const struct virtio_net_hdr_mrg_rxbuf *hdr, void *token);
int vdrv_tx_reap(struct vdrv *d, unsigned int max);

/* RX (host -> guest) */
int vdrv_rx_fill(struct vdrv *d);
int vdrv_rx_recv(struct vdrv *d, void *buf, size_t cap,
		 struct vdrv_rx_info *info);

/* Generic queue operations. */
int vdrv_kick(struct vdrv *d, unsigned int i);
int vdrv_kick_force(struct vdrv *d, unsigned int i);
int vdrv_pop(struct vdrv *d, unsigned int i, struct vdrv_used *u);
bool vdrv_used_pending(const struct vdrv *d, unsigned int i);
bool vdrv_enable_cb(struct vdrv *d, unsigned int i);
void vdrv_disable_cb(struct vdrv *d, unsigned int i);
int vdrv_wait(struct vdrv *d, unsigned int vq_mask, int timeout_ms);
int vdrv_wait_err(struct vdrv *d, unsigned int i, int timeout_ms);

/* Raw API: build any descriptor chain, valid or not. */
int vdrv_raw_alloc(struct vdrv *d, unsigned int i, unsigned int n,
		   uint16_t *ids);
void vdrv_raw_desc(struct vdrv *d, unsigned int i, uint16_t id, uint64_t addr,
		   uint32_t len, uint16_t flags, uint16_t next);
void vdrv_raw_post(struct vdrv *d, unsigned int i, uint16_t head,
		   const uint16_t *ids, unsigned int n, void *token);
void vdrv_raw_post_head(struct vdrv *d, unsigned int i, uint16_t head);

#endif /* _VDRV_H */
