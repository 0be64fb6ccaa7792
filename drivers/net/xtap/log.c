// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Dirty-page logging (VHOST_F_LOG_ALL) for live migration.
 *
 * While QEMU migrates a guest it hands the backend a bitmap in its own
 * memory (VHOST_SET_LOG_BASE) and expects a bit set for every 4 KiB
 * guest-physical page the backend writes: receive buffers while
 * VHOST_F_LOG_ALL is acked, the used ring (at the guest-physical address
 * log_guest_addr of VHOST_SET_VRING_ADDR) while the ring has
 * VHOST_VRING_F_LOG.  QEMU clears bits concurrently, so each bit is set
 * with an atomic bit operation: the worker (running in the owner's mm) pins
 * the bitmap page, sets the bits through a kernel mapping of it and unpins
 * it marked dirty.  A plain user read-modify-write could lose a bit QEMU
 * cleared and re-set, or one the other worker set at the same time.
 *
 * The bitmap has no size of its own: it must cover every page of the
 * memory table and the logged used rings.  That is checked (access_ok())
 * whenever the base, the table, the features or a ring change, and no bit
 * at or beyond the checked extent is ever written.
 */

#include "log.h"
#include "vq.h"

#include <linux/eventfd.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/uaccess.h>
#include <asm/bitops.h>
#include <uapi/linux/vhost_types.h>

#define XTAP_LOG_PAGE_SHIFT	12
#define XTAP_LOG_BITS_PER_PAGE	(PAGE_SIZE * BITS_PER_BYTE)

static_assert(VHOST_PAGE_SIZE == 1 << XTAP_LOG_PAGE_SHIFT);

/* Debug builds: CONFIG_XTAP_DEBUG defines DEBUG (see Kbuild). */
#ifdef DEBUG
/* Only to show that the migration test notices a missing bit. */
static bool log_broken;
module_param(log_broken, bool, 0644);
MODULE_PARM_DESC(log_broken,
		 "Debug builds only: never set dirty bits (breaks live migration)");
#else
#define log_broken false
#endif

/* Bytes of used ring, including avail_event, of a ring of @num entries. */
static u64 xtap_log_used_size(unsigned int num)
{
	return sizeof(struct vring_used) +
	       (u64)num * sizeof(struct vring_used_elem) + sizeof(__virtio16);
}

/**
 * xtap_log_check() - how far must a bitmap reach, and does it?
 * @mem: the memory table, or NULL
 * @num: ring size (0: not set yet)
 * @base: the bitmap, or NULL
 * @all: buffers are logged (VHOST_F_LOG_ALL)
 * @used: the used ring is logged (VHOST_VRING_F_LOG)
 * @used_gpa: guest-physical address of the used ring
 * @npages: the guest pages the bitmap must cover
 *
 * When @base is set and something is logged, the bitmap must lie in user
 * space for all of @npages.
 *
 * Return: 0, or -EFAULT when it does not (or the used ring wraps).
 */
int xtap_log_check(const struct xtap_mem *mem, unsigned int num,
		   void __user *base, bool all, bool used, u64 used_gpa,
		   u64 *npages)
{
	u64 pages = 0, last;
	u32 i;

	for (i = 0; mem && i < mem->nregions; i++) {
		last = mem->regions[i].gpa + (mem->regions[i].size - 1);
		pages = max(pages, (last >> XTAP_LOG_PAGE_SHIFT) + 1);
	}
	if (used && num) {
		last = used_gpa + (xtap_log_used_size(num) - 1);
		if (last < used_gpa)
			return -EFAULT;
		pages = max(pages, (last >> XTAP_LOG_PAGE_SHIFT) + 1);
	}
	*npages = pages;
	if (!base || (!all && !used))
		return 0;
	if (pages > ULONG_MAX - (BITS_PER_BYTE - 1) ||
	    !access_ok(base, DIV_ROUND_UP(pages, BITS_PER_BYTE)))
		return -EFAULT;
	return 0;
}

/**
 * xtap_log_reset() - forget all logging state
 * @log: the state; its eventfd is not referenced by it
 */
void xtap_log_reset(struct xtap_vq_log *log)
{
	memset(log, 0, sizeof(*log));
}

static void xtap_log_fail(struct xtap_vq *vq, u64 gpa, u64 len)
{
	vq->log.errors++;
	pr_warn_ratelimited("vhost %llu vq %u: cannot log %#llx+%llu as dirty\n",
			    vq->dev_id, vq->index, gpa, len);
}

/* Set the bits of guest pages [first, last]; they lie inside the bitmap. */
static int xtap_log_set_bits(void __user *base, u64 first, u64 last)
{
	unsigned long ubase = (unsigned long)base;
	u64 bit = offset_in_page(ubase) * BITS_PER_BYTE + first;
	u64 end = bit + (last - first);
	struct page *page;
	void *kaddr;

	if (log_broken)
		return 0;
	while (bit <= end) {
		unsigned long upage = (ubase & PAGE_MASK) +
				      (bit / XTAP_LOG_BITS_PER_PAGE) * PAGE_SIZE;
		u64 stop = min_t(u64, end,
				 round_down(bit, XTAP_LOG_BITS_PER_PAGE) +
				 XTAP_LOG_BITS_PER_PAGE - 1);

		if (pin_user_pages_fast(upage, 1, FOLL_WRITE, &page) != 1)
			return -EFAULT;
		kaddr = kmap_local_page(page);
		for (; bit <= stop; bit++)
			set_bit_le(bit % XTAP_LOG_BITS_PER_PAGE, kaddr);
		kunmap_local(kaddr);
		unpin_user_pages_dirty_lock(&page, 1, true);
	}
	return 0;
}

/**
 * xtap_log_write() - mark guest-physical pages dirty
 * @vq: the virtqueue, mutex held, owner's mm in use
 * @gpa: first byte written
 * @len: bytes written
 *
 * Return: 0, or -EFAULT when a bit could not be set: no bitmap, a page
 * outside the checked extent, or an unusable bitmap page.  Failures are
 * counted and reported rate-limited.
 */
int xtap_log_write(struct xtap_vq *vq, u64 gpa, u64 len)
{
	struct xtap_vq_log *log = &vq->log;
	u64 first, last;

	lockdep_assert_held(&vq->mutex);
	if (!len)
		return 0;
	last = gpa + (len - 1);
	if (!log->base || last < gpa ||
	    (last >> XTAP_LOG_PAGE_SHIFT) >= log->npages)
		goto err;
	first = gpa >> XTAP_LOG_PAGE_SHIFT;
	last >>= XTAP_LOG_PAGE_SHIFT;
	if (xtap_log_set_bits(log->base, first, last))
		goto err;
	log->dirty = true;
	return 0;

err:
	xtap_log_fail(vq, gpa, len);
	return -EFAULT;
}

/* Log [uaddr, uaddr + len) of the owner's memory: every guest-physical
 * range of the memory table mapped there (aliases included).
 */
static void xtap_log_user(struct xtap_vq *vq, u64 uaddr, u64 len)
{
	const struct xtap_mem *mem = vq->mem;
	bool found = false;
	u32 i;

	for (i = 0; mem && i < mem->nregions; i++) {
		const struct xtap_mem_region *r = &mem->regions[i];
		u64 start = max(uaddr, r->uaddr);
		u64 end = min(uaddr + (len - 1), r->uaddr + (r->size - 1));

		if (start > end)
			continue;
		found = true;
		xtap_log_write(vq, r->gpa + (start - r->uaddr),
			       end - start + 1);
	}
	if (!found)
		xtap_log_fail(vq, uaddr, len);
}

/**
 * xtap_log_iov() - mark the guest pages behind written iovecs dirty
 * @vq: the virtqueue, mutex held, owner's mm in use
 * @iov: the iovecs, translated from guest buffers through @vq's memory
 *	table
 * @niov: their number
 * @len: bytes written, from the start of @iov
 */
void xtap_log_iov(struct xtap_vq *vq, const struct iovec *iov,
		  unsigned int niov, size_t len)
{
	unsigned int i;

	lockdep_assert_held(&vq->mutex);
	for (i = 0; i < niov && len; i++) {
		size_t n = min(len, iov[i].iov_len);

		if (n)
			xtap_log_user(vq, (u64)(uintptr_t)iov[i].iov_base, n);
		len -= n;
	}
}

/**
 * xtap_log_used_ring() - mark a written part of the used ring dirty
 * @vq: the virtqueue, mutex held, owner's mm in use
 * @off: offset of the write from the start of the used ring
 * @len: bytes written
 *
 * Does nothing unless the ring has VHOST_VRING_F_LOG.
 */
void xtap_log_used_ring(struct xtap_vq *vq, size_t off, size_t len)
{
	lockdep_assert_held(&vq->mutex);
	if (vq->log.used)
		xtap_log_write(vq, vq->log.used_gpa + off, len);
}

/**
 * xtap_log_signal() - tell the log eventfd that bits were set
 * @vq: the virtqueue, mutex held
 *
 * Signals once for everything logged since the last call.
 */
void xtap_log_signal(struct xtap_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	if (!vq->log.dirty)
		return;
	vq->log.dirty = false;
	if (vq->log.ctx)
		eventfd_signal(vq->log.ctx, 1);
}
