// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * sysfs: /sys/class/net/<dev>/xtap/ holds the device's busy-poll and stall
 * watchdog settings (busy_poll_mode, busy_poll_us, stall_ms), its queue
 * rings' flow control (flow_control), and
 * queues/<n>/ one directory per vhost queue pair attached to one of the
 * device's queues (tx_pid, rx_pid, busy_poll_window_us).
 *
 * Lifetime and locking.  xtap_sysfs_lock protects every device's list of
 * queue pairs and the registration of their directories.  A queue pair's
 * directory goes away when its vhost device lets go of the queues
 * (xtap_sysfs_qp_del()) or when the net device is deleted
 * (xtap_sysfs_del()), whichever comes first; both remove it under
 * xtap_sysfs_lock, and kobject_del() waits for the attribute readers in
 * progress, so a reader of queues/<n>/ never sees a vhost device or a net
 * device that is going away; it takes no lock for that (tx_pid and rx_pid
 * take the vq mutex for the worker, which attaching to another queue
 * replaces: the vq mutex comes last in the order below).  The device's own
 * files are removed after xtap_sysfs_lock is dropped: their stores take it.
 * Lock order: the vhost device mutex, xtap_sysfs_lock, a vq mutex; rtnl_lock
 * (device deletion) before xtap_sysfs_lock.
 */

#include "xtap.h"
#include "sysfs.h"
#include "vq.h"
#include "worker.h"

#include <linux/jiffies.h>
#include <linux/kobject.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/rtnetlink.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

/* Protects xtap_dev.qps, .sysfs_dead and the queue pair registrations. */
static DEFINE_MUTEX(xtap_sysfs_lock);

static atomic64_t xtap_qp_ids = ATOMIC64_INIT(0);

static const char * const xtap_busy_poll_modes[XTAP_BUSY_POLL_NMODES] = {
	[XTAP_BUSY_POLL_VHOST]		= "vhost",
	[XTAP_BUSY_POLL_OFF]		= "off",
	[XTAP_BUSY_POLL_FIXED]		= "fixed",
	[XTAP_BUSY_POLL_ADAPTIVE]	= "adaptive",
};

/**
 * struct xtap_qp - the queues/<n>/ directory of one vhost queue pair
 * @kobj: the directory; one reference is held while it is registered,
 *	one by the vhost device
 * @node: entry in xtap_dev.qps while registered, else empty; protected
 *	by xtap_sysfs_lock
 * @xt: the device (fixed; only used while registered)
 * @n: the directory's number (fixed)
 * @vq: the RX and the TX virtqueue (fixed)
 * @id: serial number, for lifetime messages
 */
struct xtap_qp {
	struct kobject kobj;
	struct list_head node;
	struct xtap_dev *xt;
	unsigned int n;
	struct xtap_vq *vq[2];
	u64 id;
};

/**
 * xtap_poll_conf_init() - the defaults of a new device
 * @conf: the settings
 */
void xtap_poll_conf_init(struct xtap_poll_conf *conf)
{
	conf->mode = XTAP_BUSY_POLL_VHOST;
	conf->us = XTAP_BUSY_POLL_US_DEFAULT;
	conf->stall_ms = XTAP_STALL_MS_DEFAULT;
}

/* The device of the xtap/ directory: its parent is the net device's. */
static struct xtap_dev *xtap_sysfs_dev(struct kobject *kobj)
{
	return netdev_priv(to_net_dev(kobj_to_dev(kobj->parent)));
}

/* Set the watchdog period of both workers of @qp and let them re-arm. */
static void xtap_qp_set_stall(struct xtap_qp *qp, unsigned int ms)
{
	unsigned long j = ms ? msecs_to_jiffies(ms) : 0;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(qp->vq); i++) {
		struct xtap_vq *vq = qp->vq[i];

		xtap_vq_lock_ctl(vq);
		if (vq->worker)
			xtap_worker_set_stall(vq->worker, j);
		mutex_unlock(&vq->mutex);
	}
}

/* Parse a whole decimal number in [0, max]; anything else is -EINVAL. */
static int xtap_sysfs_uint(const char *buf, unsigned int max, u32 *val)
{
	unsigned int v;

	if (kstrtouint(buf, 10, &v) || v > max)
		return -EINVAL;
	*val = v;
	return 0;
}

static ssize_t busy_poll_mode_show(struct kobject *kobj,
				   struct kobj_attribute *attr, char *buf)
{
	struct xtap_dev *xt = xtap_sysfs_dev(kobj);

	return sysfs_emit(buf, "%s\n",
			  xtap_busy_poll_modes[READ_ONCE(xt->poll.mode)]);
}

/* Synchronization: xtap_sysfs_lock; running workers read the mode live. */
static ssize_t busy_poll_mode_store(struct kobject *kobj,
				    struct kobj_attribute *attr,
				    const char *buf, size_t len)
{
	struct xtap_dev *xt = xtap_sysfs_dev(kobj);
	int mode = sysfs_match_string(xtap_busy_poll_modes, buf);

	if (mode < 0)
		return -EINVAL;
	mutex_lock(&xtap_sysfs_lock);
	WRITE_ONCE(xt->poll.mode, mode);
	mutex_unlock(&xtap_sysfs_lock);
	return len;
}

static ssize_t busy_poll_us_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(xtap_sysfs_dev(kobj)->poll.us));
}

/* Synchronization: xtap_sysfs_lock; running workers read it live. */
static ssize_t busy_poll_us_store(struct kobject *kobj,
				  struct kobj_attribute *attr,
				  const char *buf, size_t len)
{
	struct xtap_dev *xt = xtap_sysfs_dev(kobj);
	u32 us;

	if (xtap_sysfs_uint(buf, XTAP_BUSY_POLL_US_MAX, &us))
		return -EINVAL;
	mutex_lock(&xtap_sysfs_lock);
	WRITE_ONCE(xt->poll.us, us);
	mutex_unlock(&xtap_sysfs_lock);
	return len;
}

static ssize_t stall_ms_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  READ_ONCE(xtap_sysfs_dev(kobj)->poll.stall_ms));
}

/* Synchronization: xtap_sysfs_lock, then each attached pair's vq mutexes
 * (the sleeping workers re-arm their watchdog at once).
 */
static ssize_t stall_ms_store(struct kobject *kobj, struct kobj_attribute *attr,
			      const char *buf, size_t len)
{
	struct xtap_dev *xt = xtap_sysfs_dev(kobj);
	struct xtap_qp *qp;
	u32 ms;

	if (xtap_sysfs_uint(buf, XTAP_STALL_MS_MAX, &ms))
		return -EINVAL;
	mutex_lock(&xtap_sysfs_lock);
	WRITE_ONCE(xt->poll.stall_ms, ms);
	list_for_each_entry(qp, &xt->qps, node)
		xtap_qp_set_stall(qp, ms);
	mutex_unlock(&xtap_sysfs_lock);
	return len;
}

static ssize_t flow_control_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n",
			  !READ_ONCE(xtap_sysfs_dev(kobj)->txq_drop));
}

/* Synchronization: xtap_sysfs_lock; ndo_start_xmit reads it live. */
static ssize_t flow_control_store(struct kobject *kobj,
				  struct kobj_attribute *attr,
				  const char *buf, size_t len)
{
	struct xtap_dev *xt = xtap_sysfs_dev(kobj);
	u32 on;

	if (xtap_sysfs_uint(buf, 1, &on))
		return -EINVAL;
	mutex_lock(&xtap_sysfs_lock);
	WRITE_ONCE(xt->txq_drop, !on);
	mutex_unlock(&xtap_sysfs_lock);
	return len;
}

static struct kobj_attribute xtap_attr_busy_poll_mode = __ATTR_RW(busy_poll_mode);
static struct kobj_attribute xtap_attr_busy_poll_us = __ATTR_RW(busy_poll_us);
static struct kobj_attribute xtap_attr_stall_ms = __ATTR_RW(stall_ms);
static struct kobj_attribute xtap_attr_flow_control = __ATTR_RW(flow_control);

static struct attribute *xtap_dev_attrs[] = {
	&xtap_attr_busy_poll_mode.attr,
	&xtap_attr_busy_poll_us.attr,
	&xtap_attr_stall_ms.attr,
	&xtap_attr_flow_control.attr,
	NULL
};

static const struct attribute_group xtap_dev_group = {
	.attrs = xtap_dev_attrs,
};

/* queues/<n>/: readers run only while the directory is registered, so the
 * vqs, their workers and the device are all there (see the top).
 */
static struct xtap_qp *to_xtap_qp(struct kobject *kobj)
{
	return container_of(kobj, struct xtap_qp, kobj);
}

/* A worker is replaced (and freed) under its vq mutex when its vq is
 * attached to another queue (the thread's name changes), so it is read
 * under that mutex.
 */
static ssize_t xtap_qp_pid(struct kobject *kobj, char *buf, unsigned int i)
{
	struct xtap_vq *vq = to_xtap_qp(kobj)->vq[i];
	pid_t pid;

	xtap_vq_lock_ctl(vq);
	pid = vq->worker ? task_pid_vnr(vq->worker->task) : 0;
	mutex_unlock(&vq->mutex);
	return sysfs_emit(buf, "%d\n", pid);
}

static ssize_t tx_pid_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	return xtap_qp_pid(kobj, buf, 1);
}

static ssize_t rx_pid_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	return xtap_qp_pid(kobj, buf, 0);
}

static ssize_t busy_poll_window_us_show(struct kobject *kobj,
					struct kobj_attribute *attr, char *buf)
{
	struct xtap_qp *qp = to_xtap_qp(kobj);
	struct xtap_poll_conf conf = {
		.mode = READ_ONCE(qp->xt->poll.mode),
		.us = READ_ONCE(qp->xt->poll.us),
	};
	u32 rx = xtap_busy_poll_window_ns(qp->vq[0], &conf);
	u32 tx = xtap_busy_poll_window_ns(qp->vq[1], &conf);

	return sysfs_emit(buf, "%u\n", (u32)(max(rx, tx) / NSEC_PER_USEC));
}

static struct kobj_attribute xtap_attr_tx_pid = __ATTR_RO(tx_pid);
static struct kobj_attribute xtap_attr_rx_pid = __ATTR_RO(rx_pid);
static struct kobj_attribute xtap_attr_busy_poll_window_us =
	__ATTR_RO(busy_poll_window_us);

static struct attribute *xtap_qp_attrs[] = {
	&xtap_attr_tx_pid.attr,
	&xtap_attr_rx_pid.attr,
	&xtap_attr_busy_poll_window_us.attr,
	NULL
};
ATTRIBUTE_GROUPS(xtap_qp);

static void xtap_qp_release(struct kobject *kobj)
{
	struct xtap_qp *qp = to_xtap_qp(kobj);

	pr_debug("queue pair directory %llu destroyed\n", qp->id);
	kfree(qp);
}

static const struct kobj_type xtap_qp_ktype = {
	.release	= xtap_qp_release,
	.sysfs_ops	= &kobj_sysfs_ops,
	.default_groups	= xtap_qp_groups,
};

/**
 * xtap_sysfs_add() - create /sys/class/net/<dev>/xtap/
 * @xt: a registered device
 *
 * Context: rtnl_lock held, before the queue node exists.
 * Return: 0 or a negative errno (nothing is left behind).
 */
int xtap_sysfs_add(struct xtap_dev *xt)
{
	struct kobject *dir, *queues;
	int err;

	ASSERT_RTNL();
	dir = kobject_create_and_add("xtap", &xt->dev->dev.kobj);
	if (!dir)
		return -ENOMEM;
	err = sysfs_create_group(dir, &xtap_dev_group);
	if (err)
		goto err_dir;
	queues = kobject_create_and_add("queues", dir);
	if (!queues) {
		err = -ENOMEM;
		goto err_group;
	}
	mutex_lock(&xtap_sysfs_lock);
	xt->sysfs = dir;
	xt->sysfs_queues = queues;
	mutex_unlock(&xtap_sysfs_lock);
	return 0;

err_group:
	sysfs_remove_group(dir, &xtap_dev_group);
err_dir:
	kobject_put(dir);
	return err;
}

/**
 * xtap_sysfs_del() - remove /sys/class/net/<dev>/xtap/ and its queue pairs
 * @xt: the device
 *
 * The vhost devices still attached keep working; their directories are
 * gone and their watchdogs keep their period until they let go of the
 * queues.  Calling it again, or without xtap_sysfs_add(), does nothing.
 *
 * Context: rtnl_lock held (ndo_uninit), before the net device leaves sysfs.
 */
void xtap_sysfs_del(struct xtap_dev *xt)
{
	struct kobject *dir, *queues;
	struct xtap_qp *qp, *tmp;

	ASSERT_RTNL();
	mutex_lock(&xtap_sysfs_lock);
	xt->sysfs_dead = true;
	list_for_each_entry_safe(qp, tmp, &xt->qps, node) {
		list_del_init(&qp->node);
		kobject_del(&qp->kobj);
		kobject_put(&qp->kobj);
	}
	dir = xt->sysfs;
	queues = xt->sysfs_queues;
	xt->sysfs = NULL;
	xt->sysfs_queues = NULL;
	mutex_unlock(&xtap_sysfs_lock);
	/* Outside the lock: a store waiting for it must be able to finish. */
	kobject_del(queues);
	kobject_put(queues);
	if (dir)
		sysfs_remove_group(dir, &xtap_dev_group);
	kobject_del(dir);
	kobject_put(dir);
}

static bool xtap_qp_taken(struct xtap_dev *xt, unsigned int n)
{
	struct xtap_qp *qp;

	lockdep_assert_held(&xtap_sysfs_lock);
	list_for_each_entry(qp, &xt->qps, node)
		if (qp->n == n)
			return true;
	return false;
}

/* The directory number of a new pair: the queue's index, unless another
 * pair has it (a queue re-indexed meanwhile), then the lowest free one.
 */
static unsigned int xtap_qp_pick(struct xtap_dev *xt, unsigned int want)
{
	unsigned int n = 0;

	if (!xtap_qp_taken(xt, want))
		return want;
	while (xtap_qp_taken(xt, n))
		n++;
	return n;
}

/**
 * xtap_sysfs_qp_add() - show an attached vhost queue pair
 * @q: the queue its first backend was attached to (referenced by the
 *	caller)
 * @rx: its RX virtqueue
 * @tx: its TX virtqueue
 *
 * Creates queues/<n>/ (n is @q's index) and arms the watchdog of both
 * workers with the device's stall_ms.
 *
 * Context: the vhost device mutex held, no vq mutex.
 * Return: the pair, to be given to xtap_sysfs_qp_del(), or an ERR_PTR()
 * (-ENODEV when the device is gone).
 */
struct xtap_qp *xtap_sysfs_qp_add(struct xtap_queue *q, struct xtap_vq *rx,
				  struct xtap_vq *tx)
{
	struct xtap_dev *xt;
	struct xtap_qp *qp;
	int err;

	qp = kzalloc(sizeof(*qp), GFP_KERNEL_ACCOUNT);
	if (!qp)
		return ERR_PTR(-ENOMEM);
	INIT_LIST_HEAD(&qp->node);
	qp->vq[0] = rx;
	qp->vq[1] = tx;
	kobject_init(&qp->kobj, &xtap_qp_ktype);
	qp->id = atomic64_inc_return(&xtap_qp_ids);
	pr_debug("queue pair directory %llu created\n", qp->id);

	mutex_lock(&xtap_sysfs_lock);
	/* A device that is not dead yet cannot go before we unlock. */
	rcu_read_lock();
	xt = rcu_dereference(q->xt);
	if (xt && (xt->sysfs_dead || !xt->sysfs_queues))
		xt = NULL;
	rcu_read_unlock();
	err = -ENODEV;
	if (!xt)
		goto err_unlock;
	qp->n = xtap_qp_pick(xt, READ_ONCE(q->index));
	err = kobject_add(&qp->kobj, xt->sysfs_queues, "%u", qp->n);
	if (err)
		goto err_unlock;
	qp->xt = xt;
	list_add_tail(&qp->node, &xt->qps);
	/* The registration keeps the first reference, the caller this one. */
	kobject_get(&qp->kobj);
	xtap_qp_set_stall(qp, READ_ONCE(xt->poll.stall_ms));
	mutex_unlock(&xtap_sysfs_lock);
	return qp;

err_unlock:
	mutex_unlock(&xtap_sysfs_lock);
	kobject_put(&qp->kobj);
	return ERR_PTR(err);
}

/**
 * xtap_sysfs_qp_del() - the vhost queue pair lets go of its queues
 * @qp: what xtap_sysfs_qp_add() returned
 *
 * Removes the directory (unless the device's deletion did already) and
 * disarms the workers' watchdog.
 *
 * Context: the vhost device mutex held, no vq mutex.
 */
void xtap_sysfs_qp_del(struct xtap_qp *qp)
{
	mutex_lock(&xtap_sysfs_lock);
	if (!list_empty(&qp->node)) {
		list_del_init(&qp->node);
		kobject_del(&qp->kobj);
		kobject_put(&qp->kobj);
	}
	mutex_unlock(&xtap_sysfs_lock);
	xtap_qp_set_stall(qp, 0);
	kobject_put(&qp->kobj);
}
