// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Split virtqueue access for the vhost backend.
 *
 * The rings live in the owner's address space at the user addresses given
 * by VHOST_SET_VRING_ADDR; the buffers are guest-physical addresses that go
 * through the memory table of VHOST_SET_MEM_TABLE.  Every access is a user
 * copy, done by the worker with the owner's mm in use, so a bad address
 * only ever costs an -EFAULT.
 *
 * A malformed chain (descriptor loop, chain too long, buffer outside guest
 * memory, length overflow, writable descriptor in a TX chain or read-only
 * one in an RX chain, bad indirect table) stops only that request: it is
 * returned to the used ring with length 0 when its head index is valid and
 * skipped otherwise; the vring's error eventfd is signalled and a
 * rate-limited message logged, and the ring keeps working.  Only rings that
 * cannot be read at all, or an available index that moved by more than the
 * ring size, stop the ring until the next kick (as upstream vhost does).
 */

#include "vq.h"
#include "xdp.h"

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/virtio_byteorder.h>
#include <uapi/linux/vhost_types.h>
#include <uapi/linux/virtio_config.h>
#include <uapi/linux/virtio_net.h>

/* Only little-endian rings exist here: VERSION_1 rings are little-endian and
 * legacy rings are native, which is little-endian on every host xtap builds
 * for (cross-endian rings are refused, see VHOST_SET_VRING_ENDIAN).
 */
static inline u16 xtap_v16(__virtio16 v)
{
	return __virtio16_to_cpu(true, v);
}

static inline __virtio16 xtap_cpu_to_v16(u16 v)
{
	return __cpu_to_virtio16(true, v);
}

/* Log a write of @len bytes at @p in the used ring (VHOST_VRING_F_LOG). */
static inline void xtap_vq_log_used(struct xtap_vq *vq, void __user *p,
				    size_t len)
{
	if (unlikely(vq->log.used))
		xtap_log_used_ring(vq, p - (void __user *)vq->used, len);
}

/**
 * xtap_vq_alloc() - set up a virtqueue in zeroed memory
 * @vq: the virtqueue
 * @dev_id: id of its device, for messages
 * @index: its index
 *
 * Return: 0 or -ENOMEM.
 */
int xtap_vq_alloc(struct xtap_vq *vq, u64 dev_id, unsigned int index)
{
	mutex_init(&vq->mutex);
	atomic_set(&vq->ctl_waiting, 0);
	vq->dev_id = dev_id;
	vq->index = index;
	vq->heads = kvmalloc_array(XTAP_VQ_MAX_HEADS, sizeof(*vq->heads),
				   GFP_KERNEL_ACCOUNT);
	if (!vq->heads)
		goto err_heads;
	vq->iov = kvmalloc_array(XTAP_VQ_MAX_IOV, sizeof(*vq->iov),
				 GFP_KERNEL_ACCOUNT);
	if (!vq->iov)
		goto err_iov;
	vq->wb = xtap_write_batch_alloc();
	if (!vq->wb)
		goto err_wb;
	xtap_poll_init(&vq->kick_poll, EPOLLIN);
	vq->kick_poll.events = &vq->kicks;
	xtap_vq_reset(vq);
	return 0;

err_wb:
	kvfree(vq->iov);
err_iov:
	kvfree(vq->heads);
err_heads:
	mutex_destroy(&vq->mutex);
	return -ENOMEM;
}

/**
 * xtap_vq_free() - free what xtap_vq_alloc() allocated
 * @vq: the virtqueue, reset, with nothing referenced
 */
void xtap_vq_free(struct xtap_vq *vq)
{
	xtap_write_batch_free(vq->wb);
	kvfree(vq->iov);
	kvfree(vq->heads);
	mutex_destroy(&vq->mutex);
}

/**
 * xtap_vq_reset() - forget the ring configuration and state
 * @vq: the virtqueue; no worker, notifier, backend or memory table may be
 *	attached any more
 */
void xtap_vq_reset(struct xtap_vq *vq)
{
	vq->num = 0;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->features = 0;
	vq->busyloop_timeout = 0;
	vq->poll_window_ns = 0;
	vq->poll_pair_window_ns = 0;
	vq->poll_idle_at = 0;
	vq->poll_idle_max = 0;
	vq->poll_idle_cpu = 0;
	vq->poll_served = false;
	atomic_set(&vq->poll_pair_hint, 0);
	atomic_set(&vq->kicks, 0);
	atomic_set(&vq->wakeups, 0);
	memset(&vq->counts, 0, sizeof(vq->counts));
	vq->last_avail_idx = 0;
	vq->avail_idx = 0;
	vq->last_used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	vq->used_pending = false;
	vq->notify = true;
	vq->tx_retries = 0;
	vq->vhost_hlen = 0;
	vq->guest_hlen = sizeof(struct virtio_net_hdr);
	vq->nheads = 0;
	xtap_log_reset(&vq->log);
	memset(&vq->stats, 0, sizeof(vq->stats));
}

/**
 * xtap_vq_lock_ctl() - take the vq mutex from the control plane
 * @vq: the virtqueue
 *
 * Like mutex_lock(), but tells a busy-polling worker to let go first.
 */
void xtap_vq_lock_ctl(struct xtap_vq *vq)
{
	atomic_inc(&vq->ctl_waiting);
	mutex_lock(&vq->mutex);
	atomic_dec(&vq->ctl_waiting);
}

/**
 * xtap_vq_has_feature() - is a feature bit acked?
 * @vq: the virtqueue
 * @bit: the bit number
 *
 * Return: true when @bit is acked.
 */
bool xtap_vq_has_feature(const struct xtap_vq *vq, unsigned int bit)
{
	return vq->features & BIT_ULL(bit);
}

/**
 * xtap_vq_ring_aligned() - are ring addresses aligned as vhost requires?
 * @desc: user address of the descriptor table
 * @avail: user address of the available ring
 * @used: user address of the used ring
 *
 * The rings the device writes or reads as 16- and 32-bit words must be
 * aligned for them; the descriptor table is read with copies and, as in
 * upstream vhost, may lie anywhere (virtio asks 16 bytes of the driver,
 * which is not the device's to enforce).
 *
 * Return: true when they are.
 */
bool xtap_vq_ring_aligned(u64 desc, u64 avail, u64 used)
{
	return IS_ALIGNED(avail, VRING_AVAIL_ALIGN_SIZE) &&
	       IS_ALIGNED(used, VRING_USED_ALIGN_SIZE);
}

/**
 * xtap_vq_ring_ok() - are ring addresses usable for a ring size?
 * @num: ring size, a power of two
 * @desc: user address of the descriptor table
 * @avail: user address of the available ring
 * @used: user address of the used ring
 *
 * The rings must be set, aligned as the virtio spec requires and lie in
 * user space, including the event-index fields.
 *
 * Return: true when they are.
 */
bool xtap_vq_ring_ok(unsigned int num, u64 desc, u64 avail, u64 used)
{
	size_t dsz = (size_t)num * sizeof(struct vring_desc);
	size_t asz = sizeof(struct vring_avail) + (num + 1) * sizeof(__virtio16);
	size_t usz = sizeof(struct vring_used) +
		     (size_t)num * sizeof(struct vring_used_elem) +
		     sizeof(__virtio16);

	if (!num || !desc || !avail || !used)
		return false;
	if (!xtap_vq_ring_aligned(desc, avail, used))
		return false;
	return access_ok(u64_to_user_ptr(desc), dsz) &&
	       access_ok(u64_to_user_ptr(avail), asz) &&
	       access_ok(u64_to_user_ptr(used), usz);
}

/**
 * xtap_vq_start() - check the ring and take over its state from the guest
 * @vq: the virtqueue, mutex held; called by the owner, whose mm is current
 *
 * Used when a backend is attached: needs a memory table and a complete,
 * accessible ring.  Reads used->idx and enables notifications.
 *
 * Return: 0 or -EFAULT.
 */
int xtap_vq_start(struct xtap_vq *vq)
{
	__virtio16 __user *avail_event;
	__virtio16 idx;

	lockdep_assert_held(&vq->mutex);
	if (!vq->mem ||
	    !xtap_vq_ring_ok(vq->num, (u64)(uintptr_t)vq->desc,
			     (u64)(uintptr_t)vq->avail,
			     (u64)(uintptr_t)vq->used))
		return -EFAULT;
	/* The ring size is final now: so is the extent the log must cover. */
	if (xtap_log_check(vq->mem, vq->num, vq->log.base, vq->log.all,
			   vq->log.used, vq->log.used_gpa, &vq->log.npages))
		return -EFAULT;
	if (put_user(xtap_cpu_to_v16(0), &vq->used->flags))
		return -EFAULT;
	xtap_vq_log_used(vq, &vq->used->flags, sizeof(vq->used->flags));
	avail_event = (__virtio16 __user *)&vq->used->ring[vq->num];
	if (xtap_vq_has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
		if (put_user(xtap_cpu_to_v16(vq->last_avail_idx), avail_event))
			return -EFAULT;
		xtap_vq_log_used(vq, avail_event, sizeof(*avail_event));
	}
	if (get_user(idx, &vq->used->idx))
		return -EFAULT;
	vq->last_used_idx = xtap_v16(idx);
	vq->avail_idx = vq->last_avail_idx;
	vq->signalled_used_valid = false;
	vq->used_pending = false;
	vq->notify = true;
	vq->nheads = 0;
	return 0;
}

/**
 * xtap_vq_ready() - may the worker process the ring?
 * @vq: the virtqueue, mutex held
 *
 * Return: true when a backend is attached.
 */
bool xtap_vq_ready(const struct xtap_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	return vq->q && vq->worker;
}

static int xtap_mem_cmp(const void *a, const void *b)
{
	const struct xtap_mem_region *ra = a, *rb = b;

	if (ra->gpa < rb->gpa)
		return -1;
	return ra->gpa > rb->gpa;
}

/**
 * xtap_mem_build() - validate regions and build a memory table
 * @r: the regions as userspace gave them (already copied in)
 * @nregions: their number
 *
 * A region must not be empty, its guest-physical and user ranges must not
 * wrap, the user range must lie in user space, and no two regions may
 * overlap in guest-physical space.
 *
 * Return: the table (free with kvfree()), ERR_PTR(-EFAULT) for a bad
 * region, ERR_PTR(-EINVAL) for overlapping regions or ERR_PTR(-ENOMEM).
 */
struct xtap_mem *xtap_mem_build(const struct vhost_memory_region *r,
				u32 nregions)
{
	struct xtap_mem *mem;
	u32 i;

	mem = kvzalloc(struct_size(mem, regions, nregions), GFP_KERNEL_ACCOUNT);
	if (!mem)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < nregions; i++) {
		u64 gpa = r[i].guest_phys_addr;
		u64 size = r[i].memory_size;
		u64 uaddr = r[i].userspace_addr;

		if (!size || gpa + (size - 1) < gpa ||
		    uaddr + (size - 1) < uaddr ||
		    !access_ok(u64_to_user_ptr(uaddr), size))
			goto err_fault;
		mem->regions[i].gpa = gpa;
		mem->regions[i].size = size;
		mem->regions[i].uaddr = uaddr;
	}
	sort(mem->regions, nregions, sizeof(mem->regions[0]), xtap_mem_cmp,
	     NULL);
	for (i = 1; i < nregions; i++) {
		const struct xtap_mem_region *prev = &mem->regions[i - 1];

		if (mem->regions[i].gpa <= prev->gpa + (prev->size - 1)) {
			kvfree(mem);
			return ERR_PTR(-EINVAL);
		}
	}
	mem->nregions = nregions;
	return mem;

err_fault:
	kvfree(mem);
	return ERR_PTR(-EFAULT);
}

static const struct xtap_mem_region *xtap_mem_find(const struct xtap_mem *mem,
						   u64 gpa)
{
	u32 lo = 0, hi = mem->nregions;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;
		const struct xtap_mem_region *r = &mem->regions[mid];

		if (gpa < r->gpa)
			hi = mid;
		else if (gpa - r->gpa >= r->size)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

/* Guest-physical [gpa, gpa + len) to user iovecs appended at iov[*n].
 * -EFAULT when a byte is outside guest memory (or the range wraps),
 * -ENOBUFS when more than @max iovecs would be needed.
 */
static int xtap_mem_translate(const struct xtap_mem *mem, u64 gpa, u32 len,
			      struct iovec *iov, unsigned int max,
			      unsigned int *n)
{
	if (!len)
		return 0;
	if (!mem || gpa + (len - 1) < gpa)
		return -EFAULT;
	while (len) {
		const struct xtap_mem_region *r = xtap_mem_find(mem, gpa);
		u64 off, chunk;

		if (!r)
			return -EFAULT;
		if (*n >= max)
			return -ENOBUFS;
		off = gpa - r->gpa;
		chunk = min_t(u64, len, r->size - off);
		iov[*n].iov_base = u64_to_user_ptr(r->uaddr + off);
		iov[*n].iov_len = chunk;
		(*n)++;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

/* Copy @len bytes of guest-physical memory at @gpa into @buf. */
static int xtap_mem_read(const struct xtap_mem *mem, u64 gpa, void *buf,
			 u32 len)
{
	if (!mem || gpa + (len - 1) < gpa)
		return -EFAULT;
	while (len) {
		const struct xtap_mem_region *r = xtap_mem_find(mem, gpa);
		u64 off, chunk;

		if (!r)
			return -EFAULT;
		off = gpa - r->gpa;
		chunk = min_t(u64, len, r->size - off);
		if (copy_from_user(buf, u64_to_user_ptr(r->uaddr + off), chunk))
			return -EFAULT;
		buf += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

/**
 * xtap_vq_error() - report a guest error on a virtqueue
 * @vq: the virtqueue, mutex held
 * @fmt: printf format of the message
 *
 * Logs rate-limited and signals the vring's error eventfd, if any.
 */
void xtap_vq_error(struct xtap_vq *vq, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	lockdep_assert_held(&vq->mutex);
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_warn_ratelimited("vhost %llu vq %u: %pV\n", vq->dev_id, vq->index,
			    &vaf);
	va_end(args);
	if (vq->err)
		eventfd_signal(vq->err, 1);
}

/* One buffer descriptor (not indirect) appended to the chain. */
static int xtap_vq_add_desc(struct xtap_vq *vq, const struct vring_desc *d,
			    bool writable, struct iovec *iov,
			    unsigned int max_iov, struct xtap_chain *c)
{
	u16 flags = xtap_v16(d->flags);
	u64 addr = __virtio64_to_cpu(true, d->addr);
	u32 len = __virtio32_to_cpu(true, d->len);
	int ret;

	if (!!(flags & VRING_DESC_F_WRITE) != writable) {
		xtap_vq_error(vq, "%s descriptor in a %s chain (head %u)",
			      writable ? "read-only" : "writable",
			      writable ? "receive" : "transmit", c->head);
		return -EINVAL;
	}
	if (c->len + len > XTAP_VQ_MAX_CHAIN_LEN) {
		xtap_vq_error(vq, "chain length overflow (head %u)", c->head);
		return -EINVAL;
	}
	ret = xtap_mem_translate(vq->mem, addr, len, iov, max_iov, &c->niov);
	if (ret == -EFAULT) {
		xtap_vq_error(vq, "buffer %#llx+%u outside guest memory (head %u)",
			      addr, len, c->head);
		return ret;
	}
	if (ret)
		return ret;
	c->len += len;
	return 0;
}

/* The chain of an indirect table described by @d. */
static int xtap_vq_add_indirect(struct xtap_vq *vq, const struct vring_desc *d,
				bool writable, struct iovec *iov,
				unsigned int max_iov, struct xtap_chain *c,
				unsigned int *ndescs)
{
	u64 addr = __virtio64_to_cpu(true, d->addr);
	u32 len = __virtio32_to_cpu(true, d->len);
	unsigned int count, seen = 0, i = 0;
	struct vring_desc id;
	int ret;

	if (!xtap_vq_has_feature(vq, VIRTIO_RING_F_INDIRECT_DESC)) {
		xtap_vq_error(vq, "indirect descriptor not negotiated (head %u)",
			      c->head);
		return -EINVAL;
	}
	if (!len || len % sizeof(id)) {
		xtap_vq_error(vq, "indirect table of %u bytes (head %u)", len,
			      c->head);
		return -EINVAL;
	}
	count = len / sizeof(id);
	for (;;) {
		if (++seen > count || ++*ndescs > XTAP_VQ_MAX_IOV) {
			xtap_vq_error(vq, "indirect descriptor loop or chain too long (head %u)",
				      c->head);
			return -ELOOP;
		}
		if (xtap_mem_read(vq->mem, addr + (u64)i * sizeof(id), &id,
				  sizeof(id))) {
			xtap_vq_error(vq, "indirect table %#llx+%u outside guest memory (head %u)",
				      addr, len, c->head);
			return -EFAULT;
		}
		if (xtap_v16(id.flags) & VRING_DESC_F_INDIRECT) {
			xtap_vq_error(vq, "nested indirect table (head %u)",
				      c->head);
			return -EINVAL;
		}
		ret = xtap_vq_add_desc(vq, &id, writable, iov, max_iov, c);
		if (ret)
			return ret;
		if (!(xtap_v16(id.flags) & VRING_DESC_F_NEXT))
			return 0;
		i = xtap_v16(id.next);
		if (i >= count) {
			xtap_vq_error(vq, "indirect next %u out of range %u (head %u)",
				      i, count, c->head);
			return -EINVAL;
		}
	}
}

static int xtap_vq_walk(struct xtap_vq *vq, bool writable, struct iovec *iov,
			unsigned int max_iov, struct xtap_chain *c)
{
	unsigned int i = c->head, seen = 0;
	struct vring_desc d;
	int ret;

	for (;;) {
		if (++seen > vq->num || ++c->ndescs > XTAP_VQ_MAX_IOV) {
			xtap_vq_error(vq, "descriptor loop or chain too long (head %u)",
				      c->head);
			return -ELOOP;
		}
		if (copy_from_user(&d, vq->desc + i, sizeof(d))) {
			xtap_vq_error(vq, "cannot read descriptor %u", i);
			return -EFAULT;
		}
		if (xtap_v16(d.flags) & VRING_DESC_F_INDIRECT)
			ret = xtap_vq_add_indirect(vq, &d, writable, iov,
						   max_iov, c, &c->ndescs);
		else
			ret = xtap_vq_add_desc(vq, &d, writable, iov, max_iov,
					       c);
		if (ret)
			return ret;
		if (!(xtap_v16(d.flags) & VRING_DESC_F_NEXT))
			return 0;
		i = xtap_v16(d.next);
		if (i >= vq->num) {
			xtap_vq_error(vq, "next %u out of range %u (head %u)",
				      i, vq->num, c->head);
			return -EINVAL;
		}
	}
}

/**
 * xtap_vq_get_chain() - take the next descriptor chain
 * @vq: the virtqueue, mutex held, owner's mm in use
 * @writable: the chain must be device-writable (RX) or read-only (TX)
 * @iov: where its buffers go as user iovecs
 * @max_iov: room at @iov
 * @c: the chain taken
 *
 * Return: see &enum xtap_chain_status.  BAD and SKIP have been reported
 * through xtap_vq_error() already.
 */
enum xtap_chain_status xtap_vq_get_chain(struct xtap_vq *vq, bool writable,
					 struct iovec *iov,
					 unsigned int max_iov,
					 struct xtap_chain *c)
{
	__virtio16 v;
	u16 idx, head;
	int ret;

	lockdep_assert_held(&vq->mutex);
	if (vq->avail_idx == vq->last_avail_idx) {
		if (get_user(v, &vq->avail->idx)) {
			xtap_vq_error(vq, "cannot read the available index");
			return XTAP_CHAIN_FAULT;
		}
		idx = xtap_v16(v);
		if ((u16)(idx - vq->last_avail_idx) > vq->num) {
			xtap_vq_error(vq, "available index moved from %u to %u",
				      vq->last_avail_idx, idx);
			return XTAP_CHAIN_FAULT;
		}
		vq->avail_idx = idx;
		if (idx == vq->last_avail_idx)
			return XTAP_CHAIN_EMPTY;
		/* Read ring entries only after the index that exposed them. */
		smp_rmb();
	}
	if (get_user(v, &vq->avail->ring[vq->last_avail_idx & (vq->num - 1)])) {
		xtap_vq_error(vq, "cannot read the available ring");
		return XTAP_CHAIN_FAULT;
	}
	head = xtap_v16(v);
	vq->last_avail_idx++;
	if (head >= vq->num) {
		xtap_vq_error(vq, "head %u out of range %u", head, vq->num);
		return XTAP_CHAIN_SKIP;
	}

	c->head = head;
	c->niov = 0;
	c->len = 0;
	c->ndescs = 0;
	ret = xtap_vq_walk(vq, writable, iov, max_iov, c);
	if (ret == -ENOBUFS && max_iov < XTAP_VQ_MAX_IOV) {
		/* Fits on its own, just not behind what the caller has. */
		vq->last_avail_idx--;
		return XTAP_CHAIN_NOSPACE;
	}
	if (ret == -ENOBUFS)
		xtap_vq_error(vq, "chain needs more than %u iovecs (head %u)",
			      XTAP_VQ_MAX_IOV, head);
	return ret ? XTAP_CHAIN_BAD : XTAP_CHAIN_OK;
}

/**
 * xtap_vq_discard() - put back the last chains taken
 * @vq: the virtqueue, mutex held
 * @n: how many available-ring entries to give back
 */
void xtap_vq_discard(struct xtap_vq *vq, unsigned int n)
{
	lockdep_assert_held(&vq->mutex);
	vq->last_avail_idx -= n;
}

/**
 * xtap_vq_add_used() - queue a used element
 * @vq: the virtqueue, mutex held, owner's mm in use
 * @head: head index of the chain
 * @len: bytes written into it
 *
 * Writes the queued elements out first when the buffer is full.
 */
void xtap_vq_add_used(struct xtap_vq *vq, u16 head, u32 len)
{
	lockdep_assert_held(&vq->mutex);
	if (vq->nheads == XTAP_VQ_MAX_HEADS)
		xtap_vq_flush_used(vq);
	vq->heads[vq->nheads].id = __cpu_to_virtio32(true, head);
	vq->heads[vq->nheads].len = __cpu_to_virtio32(true, len);
	vq->nheads++;
}

/**
 * xtap_vq_flush_used() - publish the queued used elements
 * @vq: the virtqueue, mutex held, owner's mm in use
 *
 * Writes the elements, then (after a write barrier) used->idx.
 */
void xtap_vq_flush_used(struct xtap_vq *vq)
{
	unsigned int n = vq->nheads, done = 0;
	u16 old = vq->last_used_idx, new = old + n;

	lockdep_assert_held(&vq->mutex);
	if (!n)
		return;
	vq->nheads = 0;
	while (done < n) {
		unsigned int start = (u16)(old + done) & (vq->num - 1);
		unsigned int chunk = min(n - done, vq->num - start);

		if (copy_to_user(&vq->used->ring[start], &vq->heads[done],
				 chunk * sizeof(vq->heads[0]))) {
			xtap_vq_error(vq, "cannot write the used ring");
			return;
		}
		xtap_vq_log_used(vq, &vq->used->ring[start],
				 chunk * sizeof(vq->heads[0]));
		done += chunk;
	}
	/* The elements must be visible before the index that exposes them. */
	smp_wmb();
	if (put_user(xtap_cpu_to_v16(new), &vq->used->idx)) {
		xtap_vq_error(vq, "cannot write the used index");
		return;
	}
	if (unlikely(vq->log.used)) {
		xtap_log_used_ring(vq, offsetof(struct vring_used, idx),
				   sizeof(vq->used->idx));
		xtap_log_signal(vq);
	}
	vq->last_used_idx = new;
	vq->used_pending = true;
	/* If more than 2^16 entries went by since the last signal, the event
	 * index comparison would be meaningless: signal next time for sure.
	 */
	if ((u16)(new - vq->signalled_used) < (u16)(new - old))
		vq->signalled_used_valid = false;
}

static bool xtap_vq_need_signal(struct xtap_vq *vq)
{
	__virtio16 v;
	u16 old, new;
	bool valid;

	/* Publish used->idx before reading the guest's suppression state;
	 * pairs with the barrier the guest has between enabling interrupts
	 * and re-reading used->idx.
	 */
	smp_mb();
	if (xtap_vq_has_feature(vq, VIRTIO_F_NOTIFY_ON_EMPTY) &&
	    vq->avail_idx == vq->last_avail_idx)
		return true;
	if (!xtap_vq_has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
		if (get_user(v, &vq->avail->flags))
			return true;
		return !(xtap_v16(v) & VRING_AVAIL_F_NO_INTERRUPT);
	}
	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	new = vq->last_used_idx;
	vq->signalled_used = new;
	vq->signalled_used_valid = true;
	if (!valid)
		return true;
	/* used_event lives right after the available ring. */
	if (get_user(v, &vq->avail->ring[vq->num]))
		return true;
	return vring_need_event(xtap_v16(v), new, old);
}

/**
 * xtap_vq_signal() - interrupt the guest if it wants to know
 * @vq: the virtqueue, mutex held, owner's mm in use
 *
 * Does nothing unless used elements were published since the last call;
 * honours EVENT_IDX, VRING_AVAIL_F_NO_INTERRUPT and NOTIFY_ON_EMPTY.
 */
void xtap_vq_signal(struct xtap_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	if (!vq->used_pending)
		return;
	vq->used_pending = false;
	if (vq->call && xtap_vq_need_signal(vq)) {
		eventfd_signal(vq->call, 1);
		vq->counts.signals++;
	}
}

/**
 * xtap_vq_avail_empty() - is the available ring empty?
 * @vq: the virtqueue, mutex held, owner's mm in use
 *
 * Return: true when no entry is waiting (or the ring cannot be read).
 */
bool xtap_vq_avail_empty(struct xtap_vq *vq)
{
	__virtio16 v;

	lockdep_assert_held(&vq->mutex);
	if (vq->avail_idx != vq->last_avail_idx)
		return false;
	if (get_user(v, &vq->avail->idx))
		return true;
	return xtap_v16(v) == vq->last_avail_idx;
}

/**
 * xtap_vq_avail_grew() - did the guest add entries since we last looked?
 * @vq: the virtqueue, mutex held, owner's mm in use
 *
 * Return: true when avail->idx moved past the last value read.
 */
bool xtap_vq_avail_grew(struct xtap_vq *vq)
{
	__virtio16 v;

	lockdep_assert_held(&vq->mutex);
	if (get_user(v, &vq->avail->idx))
		return false;
	return xtap_v16(v) != vq->avail_idx;
}

/**
 * xtap_vq_disable_notify() - ask the guest not to kick
 * @vq: the virtqueue, mutex held, owner's mm in use
 *
 * With EVENT_IDX nothing is written: the guest stops kicking once it is
 * past the last avail_event we published.
 */
void xtap_vq_disable_notify(struct xtap_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	if (!vq->notify)
		return;
	vq->notify = false;
	if (xtap_vq_has_feature(vq, VIRTIO_RING_F_EVENT_IDX))
		return;
	if (put_user(xtap_cpu_to_v16(VRING_USED_F_NO_NOTIFY), &vq->used->flags))
		xtap_vq_error(vq, "cannot write the used flags");
	else
		xtap_vq_log_used(vq, &vq->used->flags, sizeof(vq->used->flags));
}

/**
 * xtap_vq_enable_notify() - ask the guest to kick again
 * @vq: the virtqueue, mutex held, owner's mm in use
 *
 * Then re-reads avail->idx, so an entry added while notifications were
 * off is not missed.
 *
 * Return: true when the guest added entries the caller has not seen; the
 * caller must then look again (and may disable notifications again).
 */
bool xtap_vq_enable_notify(struct xtap_vq *vq)
{
	__virtio16 __user *p;
	int ret;

	lockdep_assert_held(&vq->mutex);
	vq->notify = true;
	if (xtap_vq_has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
		/* avail_event lives right after the used ring. */
		p = (__virtio16 __user *)&vq->used->ring[vq->num];
		ret = put_user(xtap_cpu_to_v16(vq->avail_idx), p);
	} else {
		p = &vq->used->flags;
		ret = put_user(xtap_cpu_to_v16(0), p);
	}
	if (ret) {
		xtap_vq_error(vq, "cannot enable notifications");
		return false;
	}
	xtap_vq_log_used(vq, p, sizeof(*p));
	/* The enable must be visible before avail->idx is read again. */
	smp_mb();
	return xtap_vq_avail_grew(vq);
}
