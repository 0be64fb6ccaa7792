/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Dirty-page logging for live migration (VHOST_F_LOG_ALL): a bitmap in the
 * owner's memory, one bit per 4 KiB page of guest-physical address space,
 * bit (gpa >> 12) % 8 of byte (gpa >> 12) / 8.  Bits are only ever set,
 * atomically, through a pinned kernel mapping of the bitmap page; the owner
 * (QEMU) clears them.
 */
#ifndef _XTAP_LOG_H
#define _XTAP_LOG_H

#include <linux/compiler.h>
#include <linux/types.h>

struct eventfd_ctx;
struct iovec;
struct xtap_mem;
struct xtap_vq;

/**
 * struct xtap_vq_log - dirty logging state of one virtqueue
 * @base: the bitmap (VHOST_SET_LOG_BASE), NULL when none is set
 * @npages: guest pages the bitmap was checked to cover: every page of the
 *	memory table and, with @used, of the used ring; no bit at or beyond
 *	it is ever written
 * @ctx: the device's log eventfd (VHOST_SET_LOG_FD), not referenced here;
 *	NULL when none
 * @used_gpa: guest-physical address of the used ring (log_guest_addr)
 * @all: VHOST_F_LOG_ALL is acked: log every buffer byte written
 * @used: VHOST_VRING_F_LOG: log every used-ring write
 * @dirty: bits were set since @ctx was last signalled
 * @errors: bits that could not be set (no bitmap, outside it, or the
 *	bitmap page could not be pinned)
 *
 * Protected by the vq mutex; the control plane also holds the device mutex
 * when it changes them.
 */
struct xtap_vq_log {
	void __user *base;
	u64 npages;
	struct eventfd_ctx *ctx;
	u64 used_gpa;
	bool all;
	bool used;
	bool dirty;
	u64 errors;
};

int xtap_log_check(const struct xtap_mem *mem, unsigned int num,
		   void __user *base, bool all, bool used, u64 used_gpa,
		   u64 *npages);
void xtap_log_reset(struct xtap_vq_log *log);
int xtap_log_write(struct xtap_vq *vq, u64 gpa, u64 len);
void xtap_log_iov(struct xtap_vq *vq, const struct iovec *iov,
		  unsigned int niov, size_t len);
void xtap_log_used_ring(struct xtap_vq *vq, size_t off, size_t len);
void xtap_log_signal(struct xtap_vq *vq);

#endif /* _XTAP_LOG_H */
