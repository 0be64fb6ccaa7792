/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * /dev/vhost-xtap: one open is one guest queue pair (an RX and a TX
 * virtqueue), driven through the vhost-net ioctl ABI.
 *
 * Lock order: xtap_vhost.mutex, then xtap_vq.mutex, then the wait-queue
 * locks of the polled files.  The control plane holds one vq mutex at a
 * time.  Workers never take the device mutex; a busy-polling worker, which
 * holds its own vq mutex, may also hold the other vq mutex of its device,
 * taken with mutex_trylock() only (xtap_busy_poll()), so there is no order
 * between the two vq mutexes and no wait on one while holding the other.
 */
#ifndef _XTAP_VHOST_H
#define _XTAP_VHOST_H

#include "vq.h"

#include <linux/mutex.h>
#include <linux/types.h>

struct eventfd_ctx;
struct mm_struct;

#define XTAP_VHOST_VQ_RX	0
#define XTAP_VHOST_VQ_TX	1
#define XTAP_VHOST_NVQS		2

/**
 * struct xtap_vhost - state of one open of /dev/vhost-xtap
 * @mutex: serializes the control plane (every ioctl and release) and
 *	protects @mm, @mem, @features, @backend_features, @log_base and
 *	@log_ctx; taken before any vq mutex
 * @id: serial number, for lifetime messages
 * @mm: the owner's mm (VHOST_SET_OWNER), grabbed; NULL without an owner
 * @mem: the memory table, also referenced by each vq; NULL before
 *	VHOST_SET_MEM_TABLE
 * @features: acked features (VHOST_SET_FEATURES)
 * @backend_features: acked backend features
 * @log_base: the dirty log bitmap (VHOST_SET_LOG_BASE), NULL when none;
 *	each vq has a copy
 * @log_ctx: the log eventfd (VHOST_SET_LOG_FD), referenced; NULL when none;
 *	each vq has an unreferenced copy
 * @vqs: the RX and the TX virtqueue
 */
struct xtap_vhost {
	struct mutex mutex; /* control plane; see kernel-doc above */
	u64 id;
	struct mm_struct *mm;
	struct xtap_mem *mem;
	u64 features;
	u64 backend_features;
	void __user *log_base;
	struct eventfd_ctx *log_ctx;
	struct xtap_vq vqs[XTAP_VHOST_NVQS];
};

#endif /* _XTAP_VHOST_H */
