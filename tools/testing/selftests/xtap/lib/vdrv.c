// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * vdrv: the userspace virtio-net driver (see vdrv.h).
 *
 * Memory ordering with the device (a kernel thread on another CPU):
 *  - a request's descriptors and buffer are written before the avail ring
 *    entry, and the avail entry before avail->idx (store-release);
 *  - used->idx is read with load-acquire before the used entries and the
 *    buffers they describe;
 *  - before deciding whether to kick, a full barrier separates the store of
 *    avail->idx from the load of avail_event/used->flags, and before sleeping
 *    a full barrier separates the store of used_event/avail->flags from the
 *    re-check of used->idx (the device does the mirror image).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vdrv.h"

#define VDRV_PAGE	4096UL
#define VDRV_ALIGN(x, a)	(((x) + (a) - 1) & ~((size_t)(a) - 1))
#define VDRV_DEFAULT_MRG_BUF	1536U
#define VDRV_DEFAULT_CHUNK	4096U
/* Data bytes of a "big" (no MRG_RXBUF) RX buffer: 17 pages >= 65535 + VLAN. */
#define VDRV_BIG_DATA		(17U * 4096U)
/* Room for raw chains, indirect tables and anything tests allocate. */
#define VDRV_SLACK		(1UL << 20)

static inline void vdrv_mb(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline uint16_t vdrv_load16(const volatile uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void vdrv_store16(volatile uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline void vdrv_write16(volatile uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static int vdrv_fail(struct vdrv *d, const char *op, int err)
{
	d->err_op = op;
	return err < 0 ? err : -err;
}

static int vdrv_ioctl(struct vdrv *d, const char *op, unsigned long req,
		      void *arg)
{
	if (ioctl(d->vhost_fd, req, arg) < 0)
		return vdrv_fail(d, op, errno);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Memory */

static unsigned int vdrv_hdr_len_of(uint64_t features)
{
	if (features & (VDRV_F(VIRTIO_NET_F_MRG_RXBUF) |
			VDRV_F(VIRTIO_F_VERSION_1)))
		return sizeof(struct virtio_net_hdr_mrg_rxbuf);
	return sizeof(struct virtio_net_hdr);
}

/**
 * vdrv_alloc() - carve memory the device can reach out of the arena
 * @d: driver
 * @size: bytes
 * @align: power-of-two alignment
 *
 * The block lies inside one memory region.  Memory is zeroed (fresh
 * anonymous pages) and never freed before vdrv_fini().
 *
 * Return: the block, or NULL when the arena is exhausted.
 */
void *vdrv_alloc(struct vdrv *d, size_t size, size_t align)
{
	size_t off = VDRV_ALIGN(d->brk, align);
	unsigned int r;

	for (r = 0; r < d->layout.nregions; r++) {
		size_t ro = d->layout.region[r].offset;
		size_t re = ro + d->layout.region[r].size;

		if (off < ro)
			off = VDRV_ALIGN(ro, align);
		if (off >= ro && off + size <= re) {
			d->brk = off + size;
			return d->arena + off;
		}
	}
	return NULL;
}

/**
 * vdrv_gpa() - guest-physical address of a pointer into the arena
 * @d: driver
 * @p: pointer into a memory region
 *
 * Return: the address to put in a descriptor, or UINT64_MAX when @p is in
 * no region.
 */
uint64_t vdrv_gpa(const struct vdrv *d, const void *p)
{
	size_t off = (const uint8_t *)p - d->arena;
	unsigned int r;

	if ((const uint8_t *)p < d->arena || off >= d->arena_size)
		return UINT64_MAX;
	for (r = 0; r < d->layout.nregions; r++) {
		size_t ro = d->layout.region[r].offset;

		if (off >= ro && off < ro + d->layout.region[r].size) {
			if (d->layout.identity)
				return (uint64_t)(uintptr_t)p;
			return d->layout.region[r].gpa + (off - ro);
		}
	}
	return UINT64_MAX;
}

/**
 * vdrv_gpa_end() - first guest-physical address above every region
 * @d: driver
 *
 * Return: the end of the highest region.
 */
uint64_t vdrv_gpa_end(const struct vdrv *d)
{
	uint64_t end = 0, e;
	unsigned int r;

	for (r = 0; r < d->layout.nregions; r++) {
		e = d->layout.region[r].size;
		if (d->layout.identity)
			e += (uintptr_t)d->arena + d->layout.region[r].offset;
		else
			e += d->layout.region[r].gpa;
		if (e > end)
			end = e;
	}
	return end;
}

/**
 * vdrv_mem_table() - the VHOST_SET_MEM_TABLE argument for the layout
 * @d: driver
 *
 * Return: a malloc'ed table (free() it), or NULL.
 */
struct vhost_memory *vdrv_mem_table(const struct vdrv *d)
{
	struct vhost_memory *m;
	unsigned int r;

	m = calloc(1, sizeof(*m) + d->layout.nregions * sizeof(m->regions[0]));
	if (!m)
		return NULL;
	m->nregions = d->layout.nregions;
	for (r = 0; r < d->layout.nregions; r++) {
		uint8_t *u = d->arena + d->layout.region[r].offset;

		m->regions[r].userspace_addr = (uintptr_t)u;
		m->regions[r].memory_size = d->layout.region[r].size;
		m->regions[r].guest_phys_addr = d->layout.identity ?
			(uintptr_t)u : d->layout.region[r].gpa;
	}
	return m;
}

/* ---------------------------------------------------------------------- */
/* Setup */

static size_t vdrv_tx_buf_size(const struct vdrv *d)
{
	return VDRV_ALIGN(d->hdr_len + d->cfg.tx_max_frame, 64);
}

/* Descriptors one request uses when written without an indirect table. */
static unsigned int vdrv_rx_ndesc(const struct vdrv *d)
{
	size_t data = d->vq[VDRV_RX].buf_size;
	unsigned int n = 0;

	if (d->cfg.rx_split_hdr) {
		n = 1;
		data -= d->hdr_len;
	}
	if (d->mrg_rxbuf)
		return n + 1;
	return n + (data + d->cfg.rx_chunk - 1) / d->cfg.rx_chunk;
}

static unsigned int vdrv_tx_ndesc(const struct vdrv *d)
{
	return (d->cfg.tx_split_hdr ? 1 : 0) + d->cfg.tx_frags;
}

static int vdrv_vq_init(struct vdrv *d, unsigned int i)
{
	struct vdrv_vq *vq = &d->vq[i];
	unsigned int k;
	void *ring;

	vq->index = i;
	vq->num = d->cfg.num;
	vq->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	vq->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	vq->err_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vq->kick_fd < 0 || vq->call_fd < 0 || vq->err_fd < 0)
		return vdrv_fail(d, "eventfd", errno);

	ring = vdrv_alloc(d, vring_size(vq->num, VDRV_PAGE), VDRV_PAGE);
	if (!ring)
		return vdrv_fail(d, "alloc ring", ENOMEM);
	vring_init(&vq->vr, vq->num, ring, VDRV_PAGE);

	vq->chain = calloc(vq->num, sizeof(*vq->chain));
	vq->req = calloc(vq->num, sizeof(*vq->req));
	if (!vq->chain || !vq->req)
		return vdrv_fail(d, "calloc", ENOMEM);
	for (k = 0; k < vq->num; k++)
		vq->chain[k] = k + 1;
	vq->free_head = 0;
	vq->nfree = vq->num;

	vq->buf_size = i == VDRV_RX ? d->cfg.rx_buf_size : vdrv_tx_buf_size(d);
	vq->bufs = vdrv_alloc(d, vq->buf_size * vq->num, 64);
	if (!vq->bufs)
		return vdrv_fail(d, "alloc buffers", ENOMEM);

	vq->ind_max = i == VDRV_RX ? vdrv_rx_ndesc(d) : vdrv_tx_ndesc(d);
	if (d->indirect && vq->ind_max > 1) {
		vq->ind = vdrv_alloc(d, (size_t)vq->num * vq->ind_max *
				     sizeof(struct vring_desc), 16);
		if (!vq->ind)
			return vdrv_fail(d, "alloc indirect", ENOMEM);
	}
	return 0;
}

/**
 * vdrv_init() - allocate guest memory, rings and eventfds (no ioctl)
 * @d: driver to initialise
 * @cfg: configuration; zero fields take defaults
 *
 * Return: 0 or -errno (call vdrv_fini() in any case).
 */
int vdrv_init(struct vdrv *d, const struct vdrv_config *cfg)
{
	size_t need;
	unsigned int i;
	int ret;

	memset(d, 0, sizeof(*d));
	d->vhost_fd = -1;
	for (i = 0; i < VDRV_NVQ; i++) {
		d->vq[i].kick_fd = -1;
		d->vq[i].call_fd = -1;
		d->vq[i].err_fd = -1;
	}
	d->cfg = *cfg;
	if (!d->cfg.num)
		d->cfg.num = VDRV_DEFAULT_NUM;
	if (d->cfg.num > VDRV_MAX_NUM || (d->cfg.num & (d->cfg.num - 1)))
		return vdrv_fail(d, "config num", EINVAL);
	if (!d->cfg.tx_max_frame)
		d->cfg.tx_max_frame = VDRV_MAX_FRAME;
	if (!d->cfg.tx_frags)
		d->cfg.tx_frags = 1;
	if (!d->cfg.rx_chunk)
		d->cfg.rx_chunk = VDRV_DEFAULT_CHUNK;

	d->hdr_len = vdrv_hdr_len_of(cfg->features);
	d->mrg_rxbuf = cfg->features & VDRV_F(VIRTIO_NET_F_MRG_RXBUF);
	d->event_idx = cfg->features & VDRV_F(VIRTIO_RING_F_EVENT_IDX);
	d->indirect = (cfg->features & VDRV_F(VIRTIO_RING_F_INDIRECT_DESC)) &&
		      !cfg->no_indirect;
	if (!d->cfg.rx_buf_size)
		d->cfg.rx_buf_size = d->mrg_rxbuf ? VDRV_DEFAULT_MRG_BUF :
				     d->hdr_len + VDRV_BIG_DATA;
	if (d->cfg.rx_buf_size <= d->hdr_len)
		return vdrv_fail(d, "config rx_buf_size", EINVAL);

	/* Size the arena for both queues with their buffers and tables. */
	need = VDRV_SLACK;
	need += 2 * VDRV_ALIGN(vring_size(d->cfg.num, VDRV_PAGE), VDRV_PAGE);
	need += (size_t)d->cfg.num * d->cfg.rx_buf_size + 64;
	need += (size_t)d->cfg.num * vdrv_tx_buf_size(d) + 64;
	need += (size_t)d->cfg.num * sizeof(struct vring_desc) *
		(d->cfg.tx_frags + 2 + d->cfg.rx_buf_size / d->cfg.rx_chunk + 2);
	need = VDRV_ALIGN(need, VDRV_PAGE);

	if (cfg->layout) {
		d->layout = *cfg->layout;
		if (!d->layout.nregions || d->layout.nregions > VDRV_MAX_REGIONS)
			return vdrv_fail(d, "config layout", EINVAL);
		if (!d->layout.arena_size) {
			for (i = 0; i < d->layout.nregions; i++) {
				uint64_t e = d->layout.region[i].offset +
					     d->layout.region[i].size;

				if (e > d->layout.arena_size)
					d->layout.arena_size = e;
			}
		}
	} else {
		d->layout.identity = true;
		d->layout.nregions = 1;
		d->layout.region[0].offset = 0;
		d->layout.region[0].size = need;
		d->layout.arena_size = need;
	}
	d->arena_size = d->layout.arena_size;
	d->arena = mmap(NULL, d->arena_size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (d->arena == MAP_FAILED) {
		d->arena = NULL;
		return vdrv_fail(d, "mmap arena", errno);
	}
	d->brk = d->layout.alloc_offset;

	for (i = 0; i < VDRV_NVQ; i++) {
		ret = vdrv_vq_init(d, i);
		if (ret)
			return ret;
	}
	return 0;
}

/**
 * vdrv_fini() - release what vdrv_init() allocated
 * @d: driver (the vhost fd is not closed: it belongs to the caller)
 */
void vdrv_fini(struct vdrv *d)
{
	unsigned int i;

	for (i = 0; i < VDRV_NVQ; i++) {
		struct vdrv_vq *vq = &d->vq[i];

		if (vq->kick_fd >= 0)
			close(vq->kick_fd);
		if (vq->call_fd >= 0)
			close(vq->call_fd);
		if (vq->err_fd >= 0)
			close(vq->err_fd);
		vq->kick_fd = -1;
		vq->call_fd = -1;
		vq->err_fd = -1;
		free(vq->chain);
		free(vq->req);
		vq->chain = NULL;
		vq->req = NULL;
	}
	if (d->arena)
		munmap(d->arena, d->arena_size);
	d->arena = NULL;
}

/**
 * vdrv_set_owner() - VHOST_SET_OWNER on @vhost_fd, which the driver now uses
 * @d: driver
 * @vhost_fd: an open vhost node
 *
 * Return: 0 or -errno.
 */
int vdrv_set_owner(struct vdrv *d, int vhost_fd)
{
	d->vhost_fd = vhost_fd;
	return vdrv_ioctl(d, "VHOST_SET_OWNER", VHOST_SET_OWNER, NULL);
}

/**
 * vdrv_negotiate() - VHOST_GET_FEATURES, then VHOST_SET_FEATURES
 * @d: driver
 *
 * Return: 0, -EOPNOTSUPP when the device does not offer every configured
 * feature, or another -errno.
 */
int vdrv_negotiate(struct vdrv *d)
{
	uint64_t f;
	int ret;

	ret = vdrv_ioctl(d, "VHOST_GET_FEATURES", VHOST_GET_FEATURES,
			 &d->offered);
	if (ret)
		return ret;
	if (d->cfg.features & ~d->offered)
		return vdrv_fail(d, "features not offered", EOPNOTSUPP);
	f = d->cfg.features;
	ret = vdrv_ioctl(d, "VHOST_SET_FEATURES", VHOST_SET_FEATURES, &f);
	if (ret)
		return ret;
	d->features = f;
	return 0;
}

/**
 * vdrv_set_mem_table() - VHOST_SET_MEM_TABLE with the layout's regions
 * @d: driver
 *
 * Return: 0 or -errno.
 */
int vdrv_set_mem_table(struct vdrv *d)
{
	struct vhost_memory *m = vdrv_mem_table(d);
	int ret;

	if (!m)
		return vdrv_fail(d, "mem table", ENOMEM);
	ret = vdrv_ioctl(d, "VHOST_SET_MEM_TABLE", VHOST_SET_MEM_TABLE, m);
	free(m);
	return ret;
}

/**
 * vdrv_setup_vq() - program one virtqueue into the device
 * @d: driver
 * @i: VDRV_RX or VDRV_TX
 *
 * Sets call and error eventfds, size, base 0, ring addresses, kick eventfd
 * and (when configured) the busy-loop timeout.
 *
 * Return: 0 or -errno.
 */
int vdrv_setup_vq(struct vdrv *d, unsigned int i)
{
	struct vdrv_vq *vq = &d->vq[i];
	struct vhost_vring_file f = { .index = i };
	struct vhost_vring_state s = { .index = i };
	struct vhost_vring_addr a = { .index = i };
	int ret;

	f.fd = vq->call_fd;
	ret = vdrv_ioctl(d, "VHOST_SET_VRING_CALL", VHOST_SET_VRING_CALL, &f);
	if (ret)
		return ret;
	f.fd = vq->err_fd;
	ret = vdrv_ioctl(d, "VHOST_SET_VRING_ERR", VHOST_SET_VRING_ERR, &f);
	if (ret)
		return ret;
	s.num = vq->num;
	ret = vdrv_ioctl(d, "VHOST_SET_VRING_NUM", VHOST_SET_VRING_NUM, &s);
	if (ret)
		return ret;
	s.num = vq->avail_idx;
	ret = vdrv_ioctl(d, "VHOST_SET_VRING_BASE", VHOST_SET_VRING_BASE, &s);
	if (ret)
		return ret;
	a.desc_user_addr = (uintptr_t)vq->vr.desc;
	a.avail_user_addr = (uintptr_t)vq->vr.avail;
	a.used_user_addr = (uintptr_t)vq->vr.used;
	a.log_guest_addr = vdrv_gpa(d, vq->vr.used);
	ret = vdrv_ioctl(d, "VHOST_SET_VRING_ADDR", VHOST_SET_VRING_ADDR, &a);
	if (ret)
		return ret;
	f.fd = vq->kick_fd;
	ret = vdrv_ioctl(d, "VHOST_SET_VRING_KICK", VHOST_SET_VRING_KICK, &f);
	if (ret)
		return ret;
	if (d->cfg.busyloop_us) {
		s.num = d->cfg.busyloop_us;
		ret = vdrv_ioctl(d, "VHOST_SET_VRING_BUSYLOOP_TIMEOUT",
				 VHOST_SET_VRING_BUSYLOOP_TIMEOUT, &s);
	}
	return ret;
}

/**
 * vdrv_setup() - the whole start sequence short of attaching a backend
 * @d: driver (after vdrv_init())
 * @vhost_fd: an open vhost node without owner
 *
 * SET_OWNER, feature negotiation, SET_MEM_TABLE and both virtqueues.
 *
 * Return: 0 or -errno (d->err_op names the failed step).
 */
int vdrv_setup(struct vdrv *d, int vhost_fd)
{
	unsigned int i;
	int ret;

	ret = vdrv_set_owner(d, vhost_fd);
	if (!ret)
		ret = vdrv_negotiate(d);
	if (!ret)
		ret = vdrv_set_mem_table(d);
	for (i = 0; !ret && i < VDRV_NVQ; i++)
		ret = vdrv_setup_vq(d, i);
	return ret;
}

/**
 * vdrv_set_backend() - VHOST_NET_SET_BACKEND for one queue
 * @d: driver
 * @i: queue index
 * @fd: queue fd, or -1 to detach
 *
 * Return: 0 or -errno.
 */
int vdrv_set_backend(struct vdrv *d, unsigned int i, int fd)
{
	struct vhost_vring_file f = { .index = i, .fd = fd };

	return vdrv_ioctl(d, "VHOST_NET_SET_BACKEND", VHOST_NET_SET_BACKEND,
			  &f);
}

/**
 * vdrv_attach() - attach @tap_fd to both queues (RX first, as QEMU does)
 * @d: driver
 * @tap_fd: queue fd
 *
 * Return: 0 or -errno.
 */
int vdrv_attach(struct vdrv *d, int tap_fd)
{
	int ret = vdrv_set_backend(d, VDRV_RX, tap_fd);

	return ret ? ret : vdrv_set_backend(d, VDRV_TX, tap_fd);
}

/**
 * vdrv_detach() - detach the backend of both queues
 * @d: driver
 *
 * Return: 0 or -errno.
 */
int vdrv_detach(struct vdrv *d)
{
	int ret = vdrv_set_backend(d, VDRV_RX, -1);

	return ret ? ret : vdrv_set_backend(d, VDRV_TX, -1);
}

/**
 * vdrv_sock_hdr_len() - vnet header size the queue fd must carry
 * @d: driver
 *
 * Return: 0 when the device adds the header itself
 * (VHOST_NET_F_VIRTIO_NET_HDR), else the driver's header size.
 */
size_t vdrv_sock_hdr_len(const struct vdrv *d)
{
	if (d->cfg.features & VDRV_F(VHOST_NET_F_VIRTIO_NET_HDR))
		return 0;
	return d->hdr_len;
}

/* ---------------------------------------------------------------------- */
/* Descriptors */

static int vdrv_desc_get(struct vdrv_vq *vq, unsigned int n, uint16_t *ids)
{
	unsigned int k;

	if (n == 0 || n > vq->nfree)
		return -ENOSPC;
	for (k = 0; k < n; k++) {
		ids[k] = vq->free_head;
		vq->free_head = vq->chain[vq->free_head];
	}
	for (k = 0; k + 1 < n; k++)
		vq->chain[ids[k]] = ids[k + 1];
	vq->nfree -= n;
	return 0;
}

static void vdrv_desc_put(struct vdrv_vq *vq, uint16_t head, unsigned int n)
{
	uint16_t id = head, next;
	unsigned int k;

	for (k = 0; k < n; k++) {
		next = vq->chain[id];
		vq->chain[id] = vq->free_head;
		vq->free_head = id;
		id = next;
	}
	vq->nfree += n;
}

static void vdrv_publish(struct vdrv_vq *vq, uint16_t head)
{
	vdrv_write16(&vq->vr.avail->ring[vq->avail_idx & (vq->num - 1)], head);
	vq->avail_idx++;
	vdrv_store16(&vq->vr.avail->idx, vq->avail_idx);
}

struct vdrv_seg {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
};

/*
 * Make one request of @n segments available, in ring descriptors or in the
 * head's indirect table.
 */
static int vdrv_add(struct vdrv *d, struct vdrv_vq *vq, struct vdrv_seg *seg,
		    unsigned int n, enum vdrv_req_kind kind, void *token)
{
	bool ind = vq->ind && n > 1;
	uint16_t ids[64];
	unsigned int k;
	int ret;

	if (n > 64 || (ind && n > vq->ind_max))
		return -EMSGSIZE;
	/* never more entries in the avail ring than it has slots */
	if (vq->inflight + vq->raw_heads >= vq->num)
		return -ENOSPC;
	ret = vdrv_desc_get(vq, ind ? 1 : n, ids);
	if (ret)
		return ret;
	if (ind) {
		struct vring_desc *t = vq->ind + (size_t)ids[0] * vq->ind_max;

		for (k = 0; k < n; k++) {
			t[k].addr = seg[k].addr;
			t[k].len = seg[k].len;
			t[k].flags = seg[k].flags |
				     (k + 1 < n ? VRING_DESC_F_NEXT : 0);
			t[k].next = k + 1 < n ? k + 1 : 0;
		}
		vq->vr.desc[ids[0]].addr = vdrv_gpa(d, t);
		vq->vr.desc[ids[0]].len = n * sizeof(*t);
		vq->vr.desc[ids[0]].flags = VRING_DESC_F_INDIRECT;
		vq->vr.desc[ids[0]].next = 0;
	} else {
		for (k = 0; k < n; k++) {
			struct vring_desc *dd = &vq->vr.desc[ids[k]];

			dd->addr = seg[k].addr;
			dd->len = seg[k].len;
			dd->flags = seg[k].flags |
				    (k + 1 < n ? VRING_DESC_F_NEXT : 0);
			dd->next = k + 1 < n ? ids[k + 1] : 0;
		}
	}
	vq->req[ids[0]].kind = kind;
	vq->req[ids[0]].ndesc = ind ? 1 : n;
	vq->req[ids[0]].token = token;
	vq->inflight++;
	vdrv_publish(vq, ids[0]);
	return ids[0];
}

/* ---------------------------------------------------------------------- */
/* Notifications */

/**
 * vdrv_kick() - notify the device if it asked for it
 * @d: driver
 * @i: queue
 *
 * With EVENT_IDX the device's avail_event decides, otherwise the
 * VRING_USED_F_NO_NOTIFY flag.
 *
 * Return: 1 when a notification was sent, 0 when none was needed, -errno.
 */
int vdrv_kick(struct vdrv *d, unsigned int i)
{
	struct vdrv_vq *vq = &d->vq[i];
	uint16_t old = vq->kick_old, cur = vq->avail_idx;
	bool need;

	if (old == cur)
		return 0;
	vq->kick_old = cur;
	vdrv_mb();
	if (d->event_idx)
		need = vring_need_event(vdrv_load16(&vring_avail_event(&vq->vr)),
					cur, old);
	else
		need = !(vdrv_load16(&vq->vr.used->flags) &
			 VRING_USED_F_NO_NOTIFY);
	if (!need) {
		vq->kicks_saved++;
		return 0;
	}
	return vdrv_kick_force(d, i) ? : 1;
}

/**
 * vdrv_kick_force() - notify the device unconditionally
 * @d: driver
 * @i: queue
 *
 * Return: 0 or -errno.
 */
int vdrv_kick_force(struct vdrv *d, unsigned int i)
{
	uint64_t one = 1;

	d->vq[i].kick_old = d->vq[i].avail_idx;
	d->vq[i].kicks++;
	if (write(d->vq[i].kick_fd, &one, sizeof(one)) != sizeof(one))
		return vdrv_fail(d, "kick", errno);
	return 0;
}

/**
 * vdrv_used_pending() - has the device returned entries not reaped yet?
 * @d: driver
 * @i: queue
 *
 * Return: true when vdrv_pop() would find an entry.
 */
bool vdrv_used_pending(const struct vdrv *d, unsigned int i)
{
	const struct vdrv_vq *vq = &d->vq[i];

	return vdrv_load16(&vq->vr.used->idx) != vq->last_used;
}

/**
 * vdrv_enable_cb() - ask the device to signal the next used entry
 * @d: driver
 * @i: queue
 *
 * Return: true when entries are already pending (do not sleep).
 */
bool vdrv_enable_cb(struct vdrv *d, unsigned int i)
{
	struct vdrv_vq *vq = &d->vq[i];

	if (d->event_idx)
		vdrv_write16(&vring_used_event(&vq->vr), vq->last_used);
	else
		vdrv_write16(&vq->vr.avail->flags, 0);
	vdrv_mb();
	return vdrv_used_pending(d, i);
}

/**
 * vdrv_disable_cb() - ask the device not to signal used entries
 * @d: driver
 * @i: queue
 *
 * A hint only: the device may still signal.
 */
void vdrv_disable_cb(struct vdrv *d, unsigned int i)
{
	struct vdrv_vq *vq = &d->vq[i];

	if (d->event_idx)
		vdrv_write16(&vring_used_event(&vq->vr),
			     vq->last_used + 0x8000);
	else
		vdrv_write16(&vq->vr.avail->flags, VRING_AVAIL_F_NO_INTERRUPT);
}

static int vdrv_drain(int fd, uint64_t *count)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) == sizeof(v)) {
		if (count)
			*count += v;
		return 1;
	}
	return errno == EAGAIN ? 0 : -errno;
}

/**
 * vdrv_wait() - wait for used entries on any queue of @vq_mask
 * @d: driver
 * @vq_mask: bit i set: wait for queue i
 * @timeout_ms: poll() timeout
 *
 * Enables callbacks on those queues, returns at once when entries are
 * already pending, else sleeps on the call eventfds.
 *
 * Return: 1 when entries are pending or a call arrived, 0 on timeout, -errno.
 */
int vdrv_wait(struct vdrv *d, unsigned int vq_mask, int timeout_ms)
{
	struct pollfd pfd[VDRV_NVQ];
	unsigned int i, n = 0;
	bool pending = false;
	int ret;

	for (i = 0; i < VDRV_NVQ; i++) {
		if (!(vq_mask & (1U << i)))
			continue;
		if (vdrv_enable_cb(d, i))
			pending = true;
		pfd[n].fd = d->vq[i].call_fd;
		pfd[n].events = POLLIN;
		n++;
	}
	if (pending)
		return 1;
	ret = poll(pfd, n, timeout_ms);
	if (ret < 0)
		return vdrv_fail(d, "poll call", errno);
	if (ret == 0)
		return 0;
	for (i = 0; i < VDRV_NVQ; i++)
		if (vq_mask & (1U << i))
			vdrv_drain(d->vq[i].call_fd, &d->vq[i].calls);
	return 1;
}

/**
 * vdrv_wait_err() - wait for the error eventfd of a queue
 * @d: driver
 * @i: queue
 * @timeout_ms: poll() timeout (0: just check)
 *
 * Return: 1 when the device signalled an error (the count is consumed), 0 on
 * timeout, -errno.
 */
int vdrv_wait_err(struct vdrv *d, unsigned int i, int timeout_ms)
{
	struct pollfd pfd = { .fd = d->vq[i].err_fd, .events = POLLIN };
	int ret;

	ret = poll(&pfd, 1, timeout_ms);
	if (ret < 0)
		return vdrv_fail(d, "poll err", errno);
	if (ret == 0)
		return 0;
	return vdrv_drain(d->vq[i].err_fd, NULL);
}

/**
 * vdrv_pop() - reap one used entry and free its descriptors
 * @d: driver
 * @i: queue
 * @u: the entry (filled when 1 is returned; head and len also on -EBADMSG)
 *
 * Return: 1 when an entry was reaped, 0 when none is pending, -EBADMSG when
 * the device returned something no request is waiting for.
 */
int vdrv_pop(struct vdrv *d, unsigned int i, struct vdrv_used *u)
{
	struct vdrv_vq *vq = &d->vq[i];
	struct vring_used_elem *e;
	uint16_t idx = vdrv_load16(&vq->vr.used->idx);
	struct vdrv_req *r;

	if (idx == vq->last_used)
		return 0;
	if ((uint16_t)(idx - vq->last_used) > vq->num) {
		d->err_op = "used idx moved too far";
		return -EBADMSG;
	}
	e = &vq->vr.used->ring[vq->last_used & (vq->num - 1)];
	u->head = __atomic_load_n(&e->id, __ATOMIC_RELAXED);
	u->len = __atomic_load_n(&e->len, __ATOMIC_RELAXED);
	vq->last_used++;
	if (u->head >= vq->num || vq->req[u->head].kind == VDRV_REQ_FREE) {
		d->err_op = "used entry for no request";
		return -EBADMSG;
	}
	r = &vq->req[u->head];
	u->kind = r->kind;
	u->token = r->token;
	u->buf = r->kind == VDRV_REQ_RAW ? NULL :
		 vq->bufs + (size_t)u->head * vq->buf_size;
	vdrv_desc_put(vq, u->head, r->ndesc);
	r->kind = VDRV_REQ_FREE;
	r->token = NULL;
	vq->inflight--;
	return 1;
}

/* ---------------------------------------------------------------------- */
/* TX */

/**
 * vdrv_tx_send() - make one frame available on the TX queue (no kick)
 * @d: driver
 * @frame: the Ethernet frame
 * @len: its length (0..cfg.tx_max_frame)
 * @hdr: vnet header to send (NULL: all zero)
 * @token: returned by vdrv_pop() with the used entry
 *
 * The frame is copied into the request's buffer; the layout (header split,
 * fragments, indirect table) follows the configuration.
 *
 * Return: the head index, -ENOSPC when the ring is full, -EMSGSIZE.
 */
int vdrv_tx_send(struct vdrv *d, const void *frame, size_t len,
		 const struct virtio_net_hdr_mrg_rxbuf *hdr, void *token)
{
	struct vdrv_vq *vq = &d->vq[VDRV_TX];
	struct vdrv_seg seg[64];
	unsigned int n = 0, frags = d->cfg.tx_frags, need;
	size_t chunk, off, first;
	uint8_t *buf;
	uint64_t gpa;
	uint16_t head;

	if (len > d->cfg.tx_max_frame)
		return -EMSGSIZE;
	if (frags > len)
		frags = len ? len : 0;
	need = (d->cfg.tx_split_hdr ? 1 : 0) + (frags ? frags : 1);
	if (need > 64)
		return -EMSGSIZE;
	/* The buffer belongs to the head, which is only known after
	 * allocation; peek at the free list for it.
	 */
	if (vq->nfree < ((vq->ind && need > 1) ? 1 : need) ||
	    vq->inflight + vq->raw_heads >= vq->num)
		return -ENOSPC;
	head = vq->free_head;
	buf = vq->bufs + (size_t)head * vq->buf_size;
	if (hdr)
		memcpy(buf, hdr, d->hdr_len);
	else
		memset(buf, 0, d->hdr_len);
	memcpy(buf + d->hdr_len, frame, len);
	gpa = vdrv_gpa(d, buf);

	chunk = frags ? (len + frags - 1) / frags : 0;
	off = 0;
	if (d->cfg.tx_split_hdr || !frags) {
		seg[n].addr = gpa;
		seg[n].len = d->hdr_len;
		seg[n++].flags = 0;
		first = 0;
	} else {
		/* header and the first fragment in one descriptor */
		first = chunk < len ? chunk : len;
		seg[n].addr = gpa;
		seg[n].len = d->hdr_len + first;
		seg[n++].flags = 0;
		off = first;
	}
	while (off < len) {
		size_t l = len - off < chunk ? len - off : chunk;

		seg[n].addr = gpa + d->hdr_len + off;
		seg[n].len = l;
		seg[n++].flags = 0;
		off += l;
	}
	return vdrv_add(d, vq, seg, n, VDRV_REQ_TX, token);
}

/**
 * vdrv_tx_reap() - reap completed TX requests
 * @d: driver
 * @max: most entries to reap (0: all pending)
 *
 * Raw requests on the TX queue are reaped too (and counted).
 *
 * Return: entries reaped, or -EBADMSG.
 */
int vdrv_tx_reap(struct vdrv *d, unsigned int max)
{
	struct vdrv_used u;
	int n = 0, ret;

	while (!max || (unsigned int)n < max) {
		ret = vdrv_pop(d, VDRV_TX, &u);
		if (ret < 0)
			return ret;
		if (!ret)
			break;
		n++;
	}
	return n;
}

/* ---------------------------------------------------------------------- */
/* RX */

static int vdrv_rx_post(struct vdrv *d, uint16_t head)
{
	struct vdrv_vq *vq = &d->vq[VDRV_RX];
	uint8_t *buf = vq->bufs + (size_t)head * vq->buf_size;
	uint64_t gpa = vdrv_gpa(d, buf);
	size_t off = 0, size = vq->buf_size;
	struct vdrv_seg seg[64];
	unsigned int n = 0;

	if (d->cfg.rx_split_hdr) {
		seg[n].addr = gpa;
		seg[n].len = d->hdr_len;
		seg[n++].flags = VRING_DESC_F_WRITE;
		off = d->hdr_len;
	}
	while (off < size && n < 64) {
		size_t l = size - off;

		if (!d->mrg_rxbuf && l > d->cfg.rx_chunk)
			l = d->cfg.rx_chunk;
		seg[n].addr = gpa + off;
		seg[n].len = l;
		seg[n++].flags = VRING_DESC_F_WRITE;
		off += l;
	}
	return vdrv_add(d, vq, seg, n, VDRV_REQ_RX, NULL);
}

/**
 * vdrv_rx_fill() - post RX buffers until the ring is full (no kick)
 * @d: driver
 *
 * Return: buffers posted, or -errno.
 */
int vdrv_rx_fill(struct vdrv *d)
{
	struct vdrv_vq *vq = &d->vq[VDRV_RX];
	unsigned int need = vq->ind ? 1 : vdrv_rx_ndesc(d);
	int n = 0, ret;

	while (vq->nfree >= need && vq->inflight + vq->raw_heads < vq->num) {
		ret = vdrv_rx_post(d, vq->free_head);
		if (ret < 0)
			return n ? n : ret;
		n++;
	}
	return n;
}

static void vdrv_copy_out(void *dst, size_t cap, size_t at, const void *src,
			  size_t len)
{
	if (at >= cap)
		return;
	if (len > cap - at)
		len = cap - at;
	memcpy((uint8_t *)dst + at, src, len);
}

/**
 * vdrv_rx_recv() - take one received frame
 * @d: driver
 * @buf: where to copy the frame (without vnet header)
 * @cap: size of @buf; longer frames are truncated
 * @info: header, buffer count and the first used entry
 *
 * With MRG_RXBUF the frame spans num_buffers used entries.  Buffers are not
 * re-posted: call vdrv_rx_fill().  An entry of a raw request is returned as
 * is, with @info->raw set and its used length as the result.
 *
 * Return: frame length (may exceed @cap), -EAGAIN when nothing is pending,
 * -EBADMSG when the device returned malformed entries.
 */
int vdrv_rx_recv(struct vdrv *d, void *buf, size_t cap,
		 struct vdrv_rx_info *info)
{
	struct vdrv_vq *vq = &d->vq[VDRV_RX];
	struct vdrv_used u;
	unsigned int k, nbufs = 1;
	size_t total;
	int ret;

	memset(info, 0, sizeof(*info));
	ret = vdrv_pop(d, VDRV_RX, &u);
	if (ret == 0)
		return -EAGAIN;
	if (ret < 0)
		return ret;
	info->used = u;
	if (u.kind == VDRV_REQ_RAW) {
		info->raw = true;
		return u.len;
	}
	if (u.len < d->hdr_len || u.len > vq->buf_size) {
		d->err_op = "RX used length";
		return -EBADMSG;
	}
	memcpy(&info->hdr, u.buf, d->hdr_len);
	if (d->mrg_rxbuf) {
		nbufs = info->hdr.num_buffers;
		if (!nbufs || nbufs > vq->num) {
			d->err_op = "RX num_buffers";
			return -EBADMSG;
		}
	}
	total = u.len - d->hdr_len;
	vdrv_copy_out(buf, cap, 0, u.buf + d->hdr_len, total);
	for (k = 1; k < nbufs; k++) {
		ret = vdrv_pop(d, VDRV_RX, &u);
		if (ret == 0) {
			d->err_op = "RX buffers of a frame missing";
			return -EBADMSG;
		}
		if (ret < 0)
			return ret;
		if (u.kind != VDRV_REQ_RX || u.len > vq->buf_size) {
			d->err_op = "RX continuation buffer";
			return -EBADMSG;
		}
		vdrv_copy_out(buf, cap, total, u.buf, u.len);
		total += u.len;
	}
	info->nbufs = nbufs;
	info->truncated = total > cap;
	return total;
}

/* ---------------------------------------------------------------------- */
/* Raw API */

/**
 * vdrv_raw_alloc() - take @n descriptors off the free list
 * @d: driver
 * @i: queue
 * @n: how many
 * @ids: their indices
 *
 * Fill them with vdrv_raw_desc() and make them available with
 * vdrv_raw_post(); the driver frees them when the device returns the head.
 *
 * Return: 0 or -ENOSPC.
 */
int vdrv_raw_alloc(struct vdrv *d, unsigned int i, unsigned int n,
		   uint16_t *ids)
{
	return vdrv_desc_get(&d->vq[i], n, ids);
}

/**
 * vdrv_raw_desc() - write one descriptor exactly as given
 * @d: driver
 * @i: queue
 * @id: descriptor index (must be < num)
 * @addr: guest-physical address
 * @len: length
 * @flags: VRING_DESC_F_*
 * @next: next index
 */
void vdrv_raw_desc(struct vdrv *d, unsigned int i, uint16_t id, uint64_t addr,
		   uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *dd = &d->vq[i].vr.desc[id & (d->vq[i].num - 1)];

	dd->addr = addr;
	dd->len = len;
	dd->flags = flags;
	dd->next = next;
}

/**
 * vdrv_raw_post() - make a raw chain available
 * @d: driver
 * @i: queue
 * @head: head index to publish (ids[0])
 * @ids: descriptors from vdrv_raw_alloc() owned by the request
 * @n: number of @ids
 * @token: returned by vdrv_pop()
 */
void vdrv_raw_post(struct vdrv *d, unsigned int i, uint16_t head,
		   const uint16_t *ids, unsigned int n, void *token)
{
	struct vdrv_vq *vq = &d->vq[i];
	unsigned int k;

	for (k = 0; k + 1 < n; k++)
		vq->chain[ids[k]] = ids[k + 1];
	vq->req[head].kind = VDRV_REQ_RAW;
	vq->req[head].ndesc = n;
	vq->req[head].token = token;
	vq->inflight++;
	vdrv_publish(vq, head);
}

/**
 * vdrv_raw_post_head() - publish an out-of-range value as an avail head
 * @d: driver
 * @i: queue
 * @head: the value (>= num; a device must skip it, never return it)
 *
 * The avail slot it takes is never known to be free again: the driver
 * posts one request less from now on.
 */
void vdrv_raw_post_head(struct vdrv *d, unsigned int i, uint16_t head)
{
	d->vq[i].raw_heads++;
	vdrv_publish(&d->vq[i], head);
}
