// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * /dev/vhost-xtap: the vhost-net compatible backend device.  This file is
 * the control plane: the ioctls, the owner and its workers, the memory
 * table and attaching xtap queues as backends.  The rings are in vq.c, the
 * workers in worker.c and the datapath in tx.c and rx.c.
 *
 * One open is one guest queue pair (an RX and a TX virtqueue).
 *
 * Lock order: xtap_vhost.mutex, then xtap_vq.mutex, then the wait-queue
 * locks of the polled files.  The control plane holds one vq mutex at a
 * time.  Workers never take the device mutex; a busy-polling worker, which
 * holds its own vq mutex, may also hold the other vq mutex of its device,
 * taken with mutex_trylock() only (xtap_busy_poll()), so there is no order
 * between the two vq mutexes and no wait on one while holding the other.
 */

#include "xtap.h"
#include "worker.h"
#include "queue.h"
#include "rx.h"
#include "sysfs.h"
#include "tx.h"
#include "vq.h"

#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/log2.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <uapi/linux/vhost.h>
#include <uapi/linux/virtio_config.h>
#include <uapi/linux/virtio_net.h>
#include <uapi/linux/virtio_ring.h>
#include <uapi/linux/xtap.h>

static unsigned int max_mem_regions = 64;
module_param(max_mem_regions, uint, 0644);
MODULE_PARM_DESC(max_mem_regions,
		 "Most regions in a VHOST_SET_MEM_TABLE (default 64, at most 65536)");

#define XTAP_VHOST_FEATURES	(BIT_ULL(VIRTIO_F_NOTIFY_ON_EMPTY) |	\
				 BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) |	\
				 BIT_ULL(VIRTIO_RING_F_EVENT_IDX) |	\
				 BIT_ULL(VIRTIO_F_VERSION_1) |		\
				 BIT_ULL(VIRTIO_NET_F_MRG_RXBUF) |	\
				 BIT_ULL(VHOST_NET_F_VIRTIO_NET_HDR) |	\
				 BIT_ULL(VHOST_F_LOG_ALL))
/* No IOTLB (no VIRTIO_F_ACCESS_PLATFORM): no backend features either. */
#define XTAP_VHOST_BACKEND_FEATURES	0ULL
/* Largest ring VHOST_SET_VRING_NUM accepts (the split ring maximum). */
#define XTAP_VHOST_MAX_RING	32768

#define XTAP_VHOST_VQ_RX	0
#define XTAP_VHOST_VQ_TX	1
#define XTAP_VHOST_NVQS		2

/* Worker thread names say the direction, from the guest's side. */
static const char * const xtap_vhost_vq_names[XTAP_VHOST_NVQS] = {
	[XTAP_VHOST_VQ_RX] = "rx",
	[XTAP_VHOST_VQ_TX] = "tx",
};

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
 * @rx: the RX virtqueue (guest receive)
 * @tx: the TX virtqueue (guest transmit)
 * @vqs: @rx.vq and @tx by vring index (fixed at open)
 * @qp: its queues/<n>/ sysfs directory while a backend is attached, else
 *	NULL; protected by @mutex
 */
struct xtap_vhost {
	struct mutex mutex; /* the control plane, before any vq mutex */
	u64 id;
	struct mm_struct *mm;
	struct xtap_mem *mem;
	u64 features;
	u64 backend_features;
	void __user *log_base;
	struct eventfd_ctx *log_ctx;
	struct xtap_rx_vq rx;
	struct xtap_vq tx;
	struct xtap_vq *vqs[XTAP_VHOST_NVQS];
	struct xtap_qp *qp;
};

static atomic64_t xtap_vhost_ids = ATOMIC64_INIT(0);

static int xtap_vhost_check_owner(struct xtap_vhost *xv)
{
	lockdep_assert_held(&xv->mutex);
	return xv->mm && xv->mm == current->mm ? 0 : -EPERM;
}

/* Detach the backend of @vq (vq mutex held): stop polling it, give frames
 * the RX worker still holds back to its ring and let another backend
 * consume it.  The worker cannot be using the queue (it runs under the same
 * mutex).  Returns the file, whose reference the caller drops.
 */
static struct file *xtap_vhost_detach(struct xtap_vq *vq)
{
	struct file *file = vq->backend;

	lockdep_assert_held(&vq->mutex);
	if (!file)
		return NULL;
	if (vq->index == XTAP_VHOST_VQ_RX) {
		xtap_rx_stop(vq);
		xtap_queue_unclaim_reader(vq->q, vq);
	}
	vq->backend = NULL;
	vq->q = NULL;
	return file;
}

/* Show the queue pair in sysfs while one of its vqs has a backend (under
 * the device of the first queue attached), and stop showing it after the
 * last detach.  A failure only costs the directory: logged, and tried
 * again at the next attach.
 */
static void xtap_vhost_sync_sysfs(struct xtap_vhost *xv)
{
	struct xtap_vq *rx = xv->vqs[XTAP_VHOST_VQ_RX];
	struct xtap_vq *tx = xv->vqs[XTAP_VHOST_VQ_TX];
	struct xtap_queue *q = rx->q ? rx->q : tx->q;
	struct xtap_qp *qp;

	lockdep_assert_held(&xv->mutex);
	if (!q && xv->qp) {
		xtap_sysfs_qp_del(xv->qp);
		xv->qp = NULL;
	} else if (q && !xv->qp) {
		qp = xtap_sysfs_qp_add(q, rx, tx);
		if (IS_ERR(qp)) {
			if (PTR_ERR(qp) != -ENODEV)
				pr_warn_ratelimited("vhost %llu: no sysfs directory for its queues: %ld\n",
						    xv->id, PTR_ERR(qp));
			return;
		}
		xv->qp = qp;
	}
}

/* Stop everything an owner set up and forget it: backends, notifiers,
 * workers, memory table, ring state, features, the mm.  Never touches user
 * memory (the owner may be gone).
 */
static void xtap_vhost_stop(struct xtap_vhost *xv)
{
	struct file *backends[XTAP_VHOST_NVQS];
	int i;

	lockdep_assert_held(&xv->mutex);
	for (i = 0; i < XTAP_VHOST_NVQS; i++) {
		struct xtap_vq *vq = xv->vqs[i];

		xtap_vq_lock_ctl(vq);
		backends[i] = xtap_vhost_detach(vq);
		xtap_poll_stop(&vq->kick_poll);
		mutex_unlock(&vq->mutex);
	}
	/* The sysfs directory goes before the workers it names. */
	xtap_vhost_sync_sysfs(xv);
	/* Nothing can queue the workers any more. */
	for (i = 0; i < XTAP_VHOST_NVQS; i++) {
		struct xtap_vq *vq = xv->vqs[i];
		struct xtap_worker *w = vq->worker;

		xtap_worker_destroy(w);
		mutex_lock(&vq->mutex);
		vq->worker = NULL;
		if (vq->kick)
			fput(vq->kick);
		vq->kick = NULL;
		if (vq->call)
			eventfd_ctx_put(vq->call);
		vq->call = NULL;
		if (vq->err)
			eventfd_ctx_put(vq->err);
		vq->err = NULL;
		vq->mem = NULL;
		xtap_vq_reset(vq);
		mutex_unlock(&vq->mutex);
		if (backends[i])
			fput(backends[i]);
	}
	kvfree(xv->mem);
	xv->mem = NULL;
	xv->log_base = NULL;
	if (xv->log_ctx)
		eventfd_ctx_put(xv->log_ctx);
	xv->log_ctx = NULL;
	xv->features = 0;
	xv->backend_features = 0;
	if (xv->mm)
		mmdrop(xv->mm);
	xv->mm = NULL;
}

/* Switch every vq to a memory table, log base and features at once, after
 * checking that the log reaches far enough for all of them (see log.c).
 * Nothing changes on error.
 */
static int xtap_vhost_log_update(struct xtap_vhost *xv,
				 const struct xtap_mem *mem,
				 void __user *base, u64 features)
{
	bool all = features & BIT_ULL(VHOST_F_LOG_ALL);
	u64 npages[XTAP_VHOST_NVQS];
	int i, ret = 0;

	lockdep_assert_held(&xv->mutex);
	for (i = 0; i < XTAP_VHOST_NVQS && !ret; i++) {
		struct xtap_vq *vq = xv->vqs[i];

		xtap_vq_lock_ctl(vq);
		ret = xtap_log_check(mem, vq->num, base, all, vq->log.used,
				     vq->log.used_gpa, &npages[i]);
		mutex_unlock(&vq->mutex);
	}
	if (ret)
		return ret;
	for (i = 0; i < XTAP_VHOST_NVQS; i++) {
		struct xtap_vq *vq = xv->vqs[i];

		/* Workers only touch guest memory under their vq mutex. */
		xtap_vq_lock_ctl(vq);
		vq->mem = mem;
		vq->log.base = base;
		vq->log.all = all;
		vq->log.npages = npages[i];
		mutex_unlock(&vq->mutex);
	}
	return 0;
}

static long xtap_vhost_set_log_base(struct xtap_vhost *xv, u64 __user *argp)
{
	void __user *base;
	u64 p;
	int ret;

	lockdep_assert_held(&xv->mutex);
	if (copy_from_user(&p, argp, sizeof(p)))
		return -EFAULT;
	if ((u64)(unsigned long)p != p)
		return -EFAULT;
	base = u64_to_user_ptr(p);
	ret = xtap_vhost_log_update(xv, xv->mem, base, xv->features);
	if (ret)
		return ret;
	xv->log_base = base;
	return 0;
}

static long xtap_vhost_set_log_fd(struct xtap_vhost *xv, int __user *argp)
{
	struct eventfd_ctx *ctx = NULL;
	int fd, i;

	lockdep_assert_held(&xv->mutex);
	if (get_user(fd, argp))
		return -EFAULT;
	if (fd != VHOST_FILE_UNBIND) {
		ctx = eventfd_ctx_fdget(fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}
	swap(ctx, xv->log_ctx);
	for (i = 0; i < XTAP_VHOST_NVQS; i++) {
		xtap_vq_lock_ctl(xv->vqs[i]);
		xv->vqs[i]->log.ctx = xv->log_ctx;
		mutex_unlock(&xv->vqs[i]->mutex);
	}
	if (ctx)
		eventfd_ctx_put(ctx);
	return 0;
}

/* VHOST_VRING_F_LOG and log_guest_addr of VHOST_SET_VRING_ADDR: checked
 * against the log, then taken over; nothing changes on error.
 */
static long xtap_vhost_vring_log(struct xtap_vhost *xv, struct xtap_vq *vq,
				 const struct vhost_vring_addr *a)
{
	bool used = a->flags & BIT(VHOST_VRING_F_LOG);
	u64 npages;

	lockdep_assert_held(&xv->mutex);
	lockdep_assert_held(&vq->mutex);
	if (xtap_log_check(vq->mem, vq->num, vq->log.base, vq->log.all, used,
			   a->log_guest_addr, &npages))
		return -EINVAL;
	vq->log.used = used;
	vq->log.used_gpa = a->log_guest_addr;
	vq->log.npages = npages;
	return 0;
}

static long xtap_vhost_set_owner(struct xtap_vhost *xv)
{
	struct xtap_worker *w[XTAP_VHOST_NVQS] = {};
	char name[XTAP_WORKER_NAME_LEN];
	int i, err;

	lockdep_assert_held(&xv->mutex);
	if (xv->mm)
		return -EBUSY;
	if (!current->mm)
		return -EINVAL;

	for (i = 0; i < XTAP_VHOST_NVQS; i++) {
		/* Renamed after the queue at attach: see below. */
		snprintf(name, sizeof(name), "xtap-%s-%d",
			 xtap_vhost_vq_names[i], task_pid_nr(current));
		w[i] = xtap_worker_create(xv->vqs[i],
					  i == XTAP_VHOST_VQ_RX ?
					  xtap_rx_handle : xtap_tx_handle,
					  current->mm, name);
		if (IS_ERR(w[i])) {
			err = PTR_ERR(w[i]);
			goto err_workers;
		}
	}

	xv->mm = current->mm;
	mmgrab(xv->mm);
	for (i = 0; i < XTAP_VHOST_NVQS; i++) {
		mutex_lock(&xv->vqs[i]->mutex);
		xv->vqs[i]->worker = w[i];
		mutex_unlock(&xv->vqs[i]->mutex);
	}
	return 0;

err_workers:
	while (--i >= 0)
		xtap_worker_destroy(w[i]);
	return err;
}

static long xtap_vhost_set_features(struct xtap_vhost *xv, u64 features)
{
	size_t hlen;
	int i, ret;

	lockdep_assert_held(&xv->mutex);
	if (features & ~XTAP_VHOST_FEATURES)
		return -EOPNOTSUPP;
	/* VHOST_F_LOG_ALL: the log must cover the whole memory table. */
	ret = xtap_vhost_log_update(xv, xv->mem, xv->log_base, features);
	if (ret)
		return ret;
	hlen = features & (BIT_ULL(VIRTIO_NET_F_MRG_RXBUF) |
			   BIT_ULL(VIRTIO_F_VERSION_1)) ?
		sizeof(struct virtio_net_hdr_mrg_rxbuf) :
		sizeof(struct virtio_net_hdr);
	for (i = 0; i < XTAP_VHOST_NVQS; i++) {
		struct xtap_vq *vq = xv->vqs[i];

		xtap_vq_lock_ctl(vq);
		vq->features = features;
		vq->guest_hlen = hlen;
		vq->vhost_hlen = features & BIT_ULL(VHOST_NET_F_VIRTIO_NET_HDR) ?
				 hlen : 0;
		/* The suppression scheme may have changed. */
		vq->signalled_used_valid = false;
		mutex_unlock(&vq->mutex);
	}
	xv->features = features;
	return 0;
}

static long xtap_vhost_set_mem_table(struct xtap_vhost *xv,
				     struct vhost_memory __user *um)
{
	struct vhost_memory_region *regions = NULL;
	struct xtap_mem *mem, *old;
	struct vhost_memory hdr;
	u32 limit;
	int ret;

	lockdep_assert_held(&xv->mutex);
	if (copy_from_user(&hdr, um, sizeof(hdr)))
		return -EFAULT;
	if (hdr.padding)
		return -EOPNOTSUPP;
	limit = min_t(u32, READ_ONCE(max_mem_regions), XTAP_MEM_MAX_REGIONS);
	if (hdr.nregions > limit)
		return -E2BIG;
	if (hdr.nregions) {
		regions = vmemdup_user(um->regions,
				       array_size(hdr.nregions,
						  sizeof(*regions)));
		if (IS_ERR(regions))
			return PTR_ERR(regions);
	}
	mem = xtap_mem_build(regions, hdr.nregions);
	kvfree(regions);
	if (IS_ERR(mem))
		return PTR_ERR(mem);

	/* While logging, the log must cover the new table too. */
	ret = xtap_vhost_log_update(xv, mem, xv->log_base, xv->features);
	if (ret) {
		kvfree(mem);
		return ret;
	}
	old = xv->mem;
	xv->mem = mem;
	kvfree(old);
	return 0;
}

/* The worker of @vq must be named after @q (see xtap_vhost_swap_worker()):
 * return a new worker with that name, or NULL when the current one has it
 * already or the device is gone (the attach fails then).  The caller holds
 * the device mutex, under which vq->worker does not change.
 */
static struct xtap_worker *xtap_vhost_rename_worker(struct xtap_vhost *xv,
						    struct xtap_vq *vq,
						    struct xtap_queue *q)
{
	char name[XTAP_WORKER_NAME_LEN];
	struct xtap_dev *xt;
	int ifindex = 0;

	lockdep_assert_held(&xv->mutex);
	rcu_read_lock();
	xt = rcu_dereference(q->xt);
	if (xt)
		ifindex = xt->dev->ifindex;
	rcu_read_unlock();
	if (!xt || !vq->worker)
		return NULL;
	snprintf(name, sizeof(name), "xtap-%s-%dq%u",
		 xtap_vhost_vq_names[vq->index], ifindex, READ_ONCE(q->index));
	if (!strcmp(name, vq->worker->name))
		return NULL;
	return xtap_worker_clone(vq->worker, name);
}

/* Let @w serve @vq from now on, in place of its worker, which is returned
 * for the caller to destroy once it let go of @vq's mutex.  Everything
 * that queued the old worker (the kick eventfd, the RX queue) queues @w
 * now; its watchdog period carries over.  The old thread may still run
 * the handler once (under @vq's mutex, like any run) before it stops.
 */
static struct xtap_worker *xtap_vhost_swap_worker(struct xtap_vq *vq,
						  struct xtap_worker *w)
{
	struct xtap_worker *old = vq->worker;

	lockdep_assert_held(&vq->mutex);
	vq->worker = w;
	xtap_worker_set_stall(w, READ_ONCE(old->stall));
	/* An eventfd never reports EPOLLERR. */
	xtap_poll_retarget(&vq->kick_poll, w, vq->kick);
	if (vq->index == XTAP_VHOST_VQ_RX &&
	    xtap_poll_retarget(&container_of(vq, struct xtap_rx_vq, vq)->queue_poll,
			       w, vq->backend))
		/* The device went away: as xtap_rx_start() failing later. */
		pr_debug("vhost %llu: RX queue gone while renaming its worker\n",
			 vq->dev_id);
	return old;
}

static long xtap_vhost_set_backend(struct xtap_vhost *xv,
				   struct vhost_vring_file __user *argp)
{
	struct xtap_worker *w = NULL, *old_w = NULL;
	struct file *file = NULL, *old;
	struct xtap_queue *q = NULL;
	struct vhost_vring_file f;
	struct xtap_vq *vq;
	int ret;

	lockdep_assert_held(&xv->mutex);
	if (copy_from_user(&f, argp, sizeof(f)))
		return -EFAULT;
	if (f.index >= XTAP_VHOST_NVQS)
		return -ENOBUFS;
	vq = xv->vqs[array_index_nospec(f.index, XTAP_VHOST_NVQS)];

	if (f.fd != -1) {
		/* Like vhost-net, a bad fd is "not a socket" too. */
		file = fget(f.fd);
		q = xtap_queue_from_file(file);
		if (!q) {
			if (file)
				fput(file);
			return -ENOTSOCK;
		}
		/* The thread will be named after the queue. */
		w = xtap_vhost_rename_worker(xv, vq, q);
		if (IS_ERR(w)) {
			fput(file);
			return PTR_ERR(w);
		}
	}

	xtap_vq_lock_ctl(vq);
	if (file == vq->backend) {
		/* Same queue again (or detached twice): nothing changes. */
		mutex_unlock(&vq->mutex);
		xtap_worker_destroy(w);
		if (file)
			fput(file);
		return 0;
	}
	old = NULL;
	if (file) {
		/* The queue of a deleted device reports EPOLLERR. */
		ret = -EINVAL;
		if (vfs_poll(file, NULL) & EPOLLERR)
			goto err_unlock;
		/* One vhost consumer per queue ring. */
		if (vq->index == XTAP_VHOST_VQ_RX) {
			ret = xtap_queue_claim_reader(q, vq);
			if (ret)
				goto err_unlock;
		}
		ret = xtap_vq_start(vq);
		if (ret)
			goto err_unclaim;
	}
	old = xtap_vhost_detach(vq);
	if (file) {
		vq->backend = file;
		vq->q = q;
		if (vq->index == XTAP_VHOST_VQ_RX) {
			ret = xtap_rx_start(vq);
			if (ret)
				goto err_attached;
		}
		if (w)
			old_w = xtap_vhost_swap_worker(vq, w);
		/* Buffers may already be waiting: look once. */
		xtap_worker_queue(vq->worker);
	}
	mutex_unlock(&vq->mutex);
	xtap_worker_destroy(old_w);
	xtap_vhost_sync_sysfs(xv);
	if (old)
		fput(old);
	return 0;

err_attached:
	vq->backend = NULL;
	vq->q = NULL;
err_unclaim:
	if (vq->index == XTAP_VHOST_VQ_RX)
		xtap_queue_unclaim_reader(q, vq);
err_unlock:
	mutex_unlock(&vq->mutex);
	xtap_worker_destroy(w);
	fput(file);
	if (old)
		fput(old);
	return ret;
}

static long xtap_vhost_set_kick(struct xtap_vq *vq, int fd)
{
	struct file *file = NULL, *old;
	int ret = 0;

	lockdep_assert_held(&vq->mutex);
	if (fd != VHOST_FILE_UNBIND) {
		file = eventfd_fget(fd);
		if (IS_ERR(file))
			return PTR_ERR(file);
	}
	if (file == vq->kick) {
		if (file)
			fput(file);
		return 0;
	}
	xtap_poll_stop(&vq->kick_poll);
	old = vq->kick;
	vq->kick = file;
	if (file)
		ret = xtap_poll_start(&vq->kick_poll, vq->worker, file);
	else if (vq->worker)
		/* One run: a worker that waited for kicks now listens to
		 * its queue instead (xtap_rx_park()).
		 */
		xtap_worker_queue(vq->worker);
	if (old)
		fput(old);
	return ret;
}

static long xtap_vhost_set_eventfd(struct eventfd_ctx **slot, int fd)
{
	struct eventfd_ctx *ctx = NULL;

	if (fd != VHOST_FILE_UNBIND) {
		ctx = eventfd_ctx_fdget(fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}
	swap(ctx, *slot);
	if (ctx)
		eventfd_ctx_put(ctx);
	return 0;
}

static long xtap_vhost_set_vring_num(struct xtap_vq *vq,
				     struct vhost_vring_state __user *argp)
{
	struct vhost_vring_state s;

	lockdep_assert_held(&vq->mutex);
	/* No resizing under a running backend. */
	if (vq->backend)
		return -EBUSY;
	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (!s.num || s.num > XTAP_VHOST_MAX_RING || !is_power_of_2(s.num))
		return -EINVAL;
	vq->num = s.num;
	return 0;
}

static long xtap_vhost_set_vring_addr(struct xtap_vhost *xv,
				      struct xtap_vq *vq,
				      struct vhost_vring_addr __user *argp)
{
	struct vhost_vring_addr a;
	long ret;

	lockdep_assert_held(&vq->mutex);
	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (a.flags & ~BIT(VHOST_VRING_F_LOG))
		return -EOPNOTSUPP;
	/* The log address is checked as upstream does: like the used ring. */
	if (!xtap_vq_ring_aligned(a.desc_user_addr, a.avail_user_addr,
				  a.used_user_addr) ||
	    !IS_ALIGNED(a.log_guest_addr, VRING_USED_ALIGN_SIZE))
		return -EINVAL;
	/* A running ring must stay usable; others are checked on attach. */
	if (vq->backend &&
	    !xtap_vq_ring_ok(vq->num, a.desc_user_addr, a.avail_user_addr,
			     a.used_user_addr))
		return -EINVAL;
	ret = xtap_vhost_vring_log(xv, vq, &a);
	if (ret)
		return ret;
	vq->desc = u64_to_user_ptr(a.desc_user_addr);
	vq->avail = u64_to_user_ptr(a.avail_user_addr);
	vq->used = u64_to_user_ptr(a.used_user_addr);
	if (vq->backend)
		xtap_worker_queue(vq->worker);
	return 0;
}

static long xtap_vhost_set_vring_base(struct xtap_vq *vq,
				      struct vhost_vring_state __user *argp)
{
	struct vhost_vring_state s;

	lockdep_assert_held(&vq->mutex);
	if (vq->backend)
		return -EBUSY;
	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (s.num > U16_MAX)
		return -EINVAL;
	vq->last_avail_idx = s.num;
	vq->avail_idx = s.num;
	return 0;
}

static long xtap_vhost_get_vring_base(struct xtap_vq *vq,
				      struct vhost_vring_state __user *argp)
{
	struct vhost_vring_state s = {
		.index = vq->index,
		.num = vq->last_avail_idx,
	};

	lockdep_assert_held(&vq->mutex);
	/* A read, as upstream's: a running ring goes on (QEMU detaches the
	 * backend first, so its base does not move).
	 */
	return copy_to_user(argp, &s, sizeof(s)) ? -EFAULT : 0;
}

static long xtap_vhost_set_vring_file(struct xtap_vq *vq, unsigned int cmd,
				      struct vhost_vring_file __user *argp)
{
	struct vhost_vring_file f;

	lockdep_assert_held(&vq->mutex);
	if (copy_from_user(&f, argp, sizeof(f)))
		return -EFAULT;
	switch (cmd) {
	case VHOST_SET_VRING_KICK:
		return xtap_vhost_set_kick(vq, f.fd);
	case VHOST_SET_VRING_CALL:
		return xtap_vhost_set_eventfd(&vq->call, f.fd);
	default:
		return xtap_vhost_set_eventfd(&vq->err, f.fd);
	}
}

static long xtap_vhost_set_busyloop(struct xtap_vq *vq,
				    struct vhost_vring_state __user *argp)
{
	struct vhost_vring_state s;

	lockdep_assert_held(&vq->mutex);
	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	vq->busyloop_timeout = s.num;
	return 0;
}

static long xtap_vhost_get_busyloop(struct xtap_vq *vq,
				    struct vhost_vring_state __user *argp)
{
	struct vhost_vring_state s = {
		.index = vq->index,
		.num = vq->busyloop_timeout,
	};

	lockdep_assert_held(&vq->mutex);
	return copy_to_user(argp, &s, sizeof(s)) ? -EFAULT : 0;
}

/* Per-vring ioctls; the device mutex is held, the owner checked.  Every
 * argument starts with the vring index.
 */
static long xtap_vhost_vring_ioctl(struct xtap_vhost *xv, unsigned int cmd,
				   void __user *argp)
{
	struct xtap_vq *vq;
	long ret;
	u32 idx;

	lockdep_assert_held(&xv->mutex);
	if (get_user(idx, (u32 __user *)argp))
		return -EFAULT;
	if (idx >= XTAP_VHOST_NVQS)
		return -ENOBUFS;
	vq = xv->vqs[array_index_nospec(idx, XTAP_VHOST_NVQS)];

	xtap_vq_lock_ctl(vq);
	switch (cmd) {
	case VHOST_SET_VRING_NUM:
		ret = xtap_vhost_set_vring_num(vq, argp);
		break;
	case VHOST_SET_VRING_ADDR:
		ret = xtap_vhost_set_vring_addr(xv, vq, argp);
		break;
	case VHOST_SET_VRING_BASE:
		ret = xtap_vhost_set_vring_base(vq, argp);
		break;
	case VHOST_GET_VRING_BASE:
		ret = xtap_vhost_get_vring_base(vq, argp);
		break;
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
	case VHOST_SET_VRING_ERR:
		ret = xtap_vhost_set_vring_file(vq, cmd, argp);
		break;
	case VHOST_SET_VRING_BUSYLOOP_TIMEOUT:
		ret = xtap_vhost_set_busyloop(vq, argp);
		break;
	case VHOST_GET_VRING_BUSYLOOP_TIMEOUT:
		ret = xtap_vhost_get_busyloop(vq, argp);
		break;
	default:
		/* VHOST_SET/GET_VRING_ENDIAN: no cross-endian rings (ENOTTY). */
		ret = -ENOIOCTLCMD;
		break;
	}
	mutex_unlock(&vq->mutex);
	return ret;
}

static bool xtap_vhost_is_vring_ioctl(unsigned int cmd)
{
	switch (cmd) {
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_ADDR:
	case VHOST_SET_VRING_BASE:
	case VHOST_GET_VRING_BASE:
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
	case VHOST_SET_VRING_ERR:
	case VHOST_SET_VRING_ENDIAN:
	case VHOST_GET_VRING_ENDIAN:
	case VHOST_SET_VRING_BUSYLOOP_TIMEOUT:
	case VHOST_GET_VRING_BUSYLOOP_TIMEOUT:
		return true;
	default:
		return false;
	}
}

static long xtap_vhost_ioctl_locked(struct xtap_vhost *xv, unsigned int cmd,
				    void __user *argp)
{
	u64 __user *featurep = argp;
	u64 features;
	long ret;

	lockdep_assert_held(&xv->mutex);
	/* Open to anyone holding the fd, as in vhost-net. */
	switch (cmd) {
	case VHOST_GET_FEATURES:
		features = XTAP_VHOST_FEATURES;
		return copy_to_user(featurep, &features, sizeof(features)) ?
		       -EFAULT : 0;
	case VHOST_SET_FEATURES:
		if (copy_from_user(&features, featurep, sizeof(features)))
			return -EFAULT;
		return xtap_vhost_set_features(xv, features);
	case VHOST_GET_BACKEND_FEATURES:
		features = XTAP_VHOST_BACKEND_FEATURES;
		return copy_to_user(featurep, &features, sizeof(features)) ?
		       -EFAULT : 0;
	case VHOST_SET_BACKEND_FEATURES:
		if (copy_from_user(&features, featurep, sizeof(features)))
			return -EFAULT;
		if (features & ~XTAP_VHOST_BACKEND_FEATURES)
			return -EOPNOTSUPP;
		xv->backend_features = features;
		return 0;
	case VHOST_SET_OWNER:
		return xtap_vhost_set_owner(xv);
	}

	/* Everything else is the owner's. */
	if (cmd != VHOST_RESET_OWNER && cmd != VHOST_SET_MEM_TABLE &&
	    cmd != VHOST_SET_LOG_BASE && cmd != VHOST_SET_LOG_FD &&
	    cmd != VHOST_NET_SET_BACKEND && !xtap_vhost_is_vring_ioctl(cmd))
		return -ENOIOCTLCMD;
	ret = xtap_vhost_check_owner(xv);
	if (ret)
		return ret;

	switch (cmd) {
	case VHOST_RESET_OWNER:
		xtap_vhost_stop(xv);
		return 0;
	case VHOST_SET_MEM_TABLE:
		return xtap_vhost_set_mem_table(xv, argp);
	case VHOST_SET_LOG_BASE:
		return xtap_vhost_set_log_base(xv, argp);
	case VHOST_SET_LOG_FD:
		return xtap_vhost_set_log_fd(xv, argp);
	case VHOST_NET_SET_BACKEND:
		return xtap_vhost_set_backend(xv, argp);
	default:
		return xtap_vhost_vring_ioctl(xv, cmd, argp);
	}
}

static long xtap_vhost_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct xtap_vhost *xv = file->private_data;
	long ret;

	mutex_lock(&xv->mutex);
	ret = xtap_vhost_ioctl_locked(xv, cmd, (void __user *)arg);
	mutex_unlock(&xv->mutex);
	return ret;
}

static int xtap_vhost_open(struct inode *inode, struct file *file)
{
	struct xtap_vhost *xv;
	int i, err;

	xv = kzalloc(sizeof(*xv), GFP_KERNEL_ACCOUNT);
	if (!xv)
		return -ENOMEM;
	xv->id = atomic64_inc_return(&xtap_vhost_ids);
	mutex_init(&xv->mutex);
	xv->vqs[XTAP_VHOST_VQ_RX] = &xv->rx.vq;
	xv->vqs[XTAP_VHOST_VQ_TX] = &xv->tx;
	for (i = 0; i < XTAP_VHOST_NVQS; i++) {
		err = xtap_vq_alloc(xv->vqs[i], xv->id, i);
		if (err)
			goto err_vqs;
	}
	xtap_poll_init(&xv->rx.queue_poll, EPOLLIN);
	/* The two directions serve each other while busy polling. */
	xv->rx.vq.pair = &xv->tx;
	xv->rx.vq.serve = xtap_rx_serve;
	xv->rx.vq.has_work = xtap_rx_has_work;
	xv->tx.pair = &xv->rx.vq;
	xv->tx.serve = xtap_tx_serve;
	xv->tx.has_work = xtap_tx_has_work;
	file->private_data = xv;
	pr_debug("vhost %llu created\n", xv->id);
	return 0;

err_vqs:
	while (--i >= 0)
		xtap_vq_free(xv->vqs[i]);
	mutex_destroy(&xv->mutex);
	kfree(xv);
	return err;
}

static int xtap_vhost_release(struct inode *inode, struct file *file)
{
	struct xtap_vhost *xv = file->private_data;
	int i;

	mutex_lock(&xv->mutex);
	xtap_vhost_stop(xv);
	mutex_unlock(&xv->mutex);
	for (i = 0; i < XTAP_VHOST_NVQS; i++)
		xtap_vq_free(xv->vqs[i]);
	mutex_destroy(&xv->mutex);
	pr_debug("vhost %llu destroyed\n", xv->id);
	kfree(xv);
	return 0;
}

static const struct file_operations xtap_vhost_fops = {
	.owner		= THIS_MODULE,
	.open		= xtap_vhost_open,
	.release	= xtap_vhost_release,
	.unlocked_ioctl	= xtap_vhost_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice xtap_vhost_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= XTAP_VHOST_NAME,
	.fops	= &xtap_vhost_fops,
	.mode	= 0600,
};

/**
 * xtap_vhost_init() - register /dev/vhost-xtap
 *
 * Return: 0 or a negative errno.
 */
int xtap_vhost_init(void)
{
	return misc_register(&xtap_vhost_misc);
}

/**
 * xtap_vhost_exit() - unregister /dev/vhost-xtap
 */
void xtap_vhost_exit(void)
{
	misc_deregister(&xtap_vhost_misc);
}
