// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * The queue node /dev/xtap<ifindex>: each open is one queue of the device,
 * speaking the part of the tun ioctl ABI that QEMU uses on a tap fd, with
 * read/write/poll for userspace; attaching and detaching queues.
 */

#include "xtap.h"
#include "queue.h"

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/if_tun.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/rtnetlink.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/uio.h>
#include <linux/virtio_net.h>
#include <net/net_namespace.h>
#include <uapi/linux/xtap.h>

/* One minor per device; the region covers every minor. */
#define XTAP_MINORS		(MINORMASK + 1)
/* What TUNGETFEATURES reports and TUNSETIFF accepts. */
#define XTAP_IFF_FEATURES	(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | \
				 IFF_MULTI_QUEUE)
/* Flags TUNSETIFF may change. */
#define XTAP_IFF_CHANGEABLE	(IFF_VNET_HDR | IFF_MULTI_QUEUE)
/* Bytes of struct ifreq the queue ioctls read and write: name and flags. */
#define XTAP_IFREQ_LEN		offsetofend(struct ifreq, ifr_flags)

static dev_t xtap_devt;
static struct cdev xtap_cdev;
/* Minor -> device; protected by rtnl_lock. */
static DEFINE_IDR(xtap_minors);
static atomic64_t xtap_queue_ids = ATOMIC64_INIT(0);

static const struct file_operations xtap_queue_fops;
static struct class xtap_class;

/**
 * xtap_queue_from_file() - the queue behind a file
 * @file: any file
 *
 * Context: any; never sleeps.
 * Return: the queue, or NULL when @file is not an open xtap queue node.
 */
struct xtap_queue *xtap_queue_from_file(struct file *file)
{
	if (!file || file->f_op != &xtap_queue_fops)
		return NULL;
	return file->private_data;
}

/* Queue attach/detach.  All under rtnl_lock.
 */

/* Let every netdev tx queue run again: the queue mapping changed. */
static void xtap_wake_all_txqs(struct xtap_dev *xt)
{
	local_bh_disable();
	netif_tx_wake_all_queues(xt->dev);
	local_bh_enable();
}

/* Make @q receive frames: give it the next netdev tx queue index. */
static void xtap_queue_enable(struct xtap_dev *xt, struct xtap_queue *q)
{
	unsigned int n = xt->numqueues;

	ASSERT_RTNL();
	if (q->enabled)
		return;
	WRITE_ONCE(q->index, n);
	rcu_assign_pointer(xt->queues[n], q);
	WRITE_ONCE(q->enabled, true);
	/* Publish the slot before the count that makes it reachable. */
	smp_wmb();
	WRITE_ONCE(xt->numqueues, n + 1);
	if (n == 0)
		netif_carrier_on(xt->dev);
	xtap_wake_all_txqs(xt);
}

/* Stop @q receiving frames: the last enabled queue takes its index.  On
 * return no xmit can still be putting a frame into @q's ring.
 */
static void xtap_queue_disable(struct xtap_dev *xt, struct xtap_queue *q,
			       bool sync)
{
	unsigned int n = xt->numqueues, idx = q->index;
	struct xtap_queue *last;

	ASSERT_RTNL();
	if (!q->enabled)
		return;
	last = rtnl_dereference(xt->queues[n - 1]);
	if (last != q) {
		/* Until the grace period ends, slot n - 1 still points at
		 * @last too: an xmit that read the old count finds a live
		 * queue there.
		 */
		WRITE_ONCE(last->index, idx);
		rcu_assign_pointer(xt->queues[idx], last);
	}
	WRITE_ONCE(q->enabled, false);
	WRITE_ONCE(xt->numqueues, n - 1);
	if (n == 1)
		netif_carrier_off(xt->dev);
	if (sync)
		synchronize_net();
	RCU_INIT_POINTER(xt->queues[n - 1], NULL);
	xtap_wake_all_txqs(xt);
}

/* Free every entry of @q's ring; returns how many there were. */
static unsigned int xtap_queue_purge(struct xtap_queue *q)
{
	unsigned int n = 0;
	void *ptr;

	spin_lock_bh(&q->ring.consumer_lock);
	while ((ptr = __xtap_ring_consume(&q->ring))) {
		xtap_queue_ptr_free(ptr);
		n++;
	}
	spin_unlock_bh(&q->ring.consumer_lock);
	return n;
}

/**
 * xtap_queue_node_add() - create /dev/xtap<ifindex> for a registered device
 * @xt: the device
 *
 * The node's sysfs device is a virtual one (/sys/devices/virtual/xtap/),
 * tagged with the device's network namespace; links join the two both
 * ways ("device" in the node, xtap<ifindex> in the net device).  As a
 * child of the net device, a namespace-tagged class would put it in an
 * "xtap" glue directory under the net device, the place of xtap's own
 * attributes (/sys/class/net/<dev>/xtap/).
 *
 * Context: rtnl_lock held.
 * Return: 0 or a negative errno.
 */
int xtap_queue_node_add(struct xtap_dev *xt)
{
	struct device *node;
	int minor, ret;

	ASSERT_RTNL();
	minor = idr_alloc(&xtap_minors, xt, 0, XTAP_MINORS, GFP_KERNEL);
	if (minor < 0)
		return minor;
	node = device_create(&xtap_class, NULL, MKDEV(MAJOR(xtap_devt), minor),
			     xt, XTAP_QUEUE_PREFIX "%d", xt->dev->ifindex);
	if (IS_ERR(node)) {
		ret = PTR_ERR(node);
		goto err_create;
	}
	ret = sysfs_create_link(&node->kobj, &xt->dev->dev.kobj, "device");
	if (ret)
		goto err_link_dev;
	ret = sysfs_create_link(&xt->dev->dev.kobj, &node->kobj,
				dev_name(node));
	if (ret)
		goto err_link_node;
	xt->minor = minor;
	xt->node = node;
	return 0;

err_link_node:
	sysfs_remove_link(&node->kobj, "device");
err_link_dev:
	device_destroy(&xtap_class, MKDEV(MAJOR(xtap_devt), minor));
err_create:
	idr_remove(&xtap_minors, minor);
	return ret;
}

/**
 * xtap_queue_node_del() - remove the queue node and detach every queue
 * @xt: the device, about to be unregistered
 *
 * Open files stay valid: their queue no longer has a device, so later
 * calls fail with -EBADFD and poll reports EPOLLERR.  Frames still queued
 * are freed, and waiters are woken.
 *
 * Context: rtnl_lock held; sleeps (an RCU grace period).
 */
void xtap_queue_node_del(struct xtap_dev *xt)
{
	struct xtap_queue *q, *tmp;
	LIST_HEAD(gone);

	ASSERT_RTNL();
	if (xt->node) {
		sysfs_remove_link(&xt->dev->dev.kobj, dev_name(xt->node));
		sysfs_remove_link(&xt->node->kobj, "device");
		device_destroy(&xtap_class, MKDEV(MAJOR(xtap_devt), xt->minor));
		idr_remove(&xtap_minors, xt->minor);
		xt->node = NULL;
		xt->minor = -1;
	}
	if (list_empty(&xt->queue_list))
		return;

	list_for_each_entry_safe(q, tmp, &xt->queue_list, node) {
		xtap_queue_disable(xt, q, false);
		RCU_INIT_POINTER(q->xt, NULL);
		list_move_tail(&q->node, &gone);
		xt->nqueues--;
	}
	/* No xmit or datapath call still sees the device through a queue. */
	synchronize_net();
	list_for_each_entry_safe(q, tmp, &gone, node) {
		list_del_init(&q->node);
		xtap_queue_purge(q);
		wake_up_interruptible_poll(&q->wq, EPOLLIN | EPOLLRDNORM |
					   EPOLLERR | EPOLLHUP);
	}
}

/* File operations.
 */

static int xtap_node_open(struct inode *inode, struct file *file)
{
	struct xtap_queue *q;
	struct xtap_dev *xt;
	int ret;

	q = kzalloc(sizeof(*q), GFP_KERNEL_ACCOUNT);
	if (!q)
		return -ENOMEM;
	init_waitqueue_head(&q->wq);
	INIT_LIST_HEAD(&q->node);
	q->flags = XTAP_IFF_FEATURES;
	q->vnet_hdr_sz = sizeof(struct virtio_net_hdr);
	q->sndbuf = INT_MAX;

	rtnl_lock();
	xt = idr_find(&xtap_minors, iminor(inode));
	if (!xt) {
		ret = -ENXIO;
		goto err_unlock;
	}
	if (xt->nqueues >= xt->dev->num_tx_queues) {
		ret = -EBUSY;
		goto err_unlock;
	}
	ret = xtap_ring_init(&q->ring, xtap_queue_ring_size(xt->dev),
			     GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_unlock;

	q->id = atomic64_inc_return(&xtap_queue_ids);
	rcu_assign_pointer(q->xt, xt);
	list_add_tail(&q->node, &xt->queue_list);
	xt->nqueues++;
	xtap_queue_enable(xt, q);
	rtnl_unlock();

	file->private_data = q;
	stream_open(inode, file);
	pr_debug("queue %llu created\n", q->id);
	return 0;

err_unlock:
	rtnl_unlock();
	kfree(q);
	return ret;
}

static int xtap_node_release(struct inode *inode, struct file *file)
{
	struct xtap_queue *q = file->private_data;
	struct xtap_dev *xt;
	unsigned int n;

	rtnl_lock();
	xt = rtnl_dereference(q->xt);
	if (xt) {
		xtap_queue_disable(xt, q, true);
		n = xtap_queue_purge(q);
		if (n)
			xtap_stats_add(xt, xtap_queue_slot(xt, q),
				       XTAP_STAT_TX_DROP_DETACHED, n);
		list_del_init(&q->node);
		xt->nqueues--;
		RCU_INIT_POINTER(q->xt, NULL);
	}
	rtnl_unlock();

	/* A backend holds a reference on the file while it has the claim. */
	WARN_ON_ONCE(READ_ONCE(q->reader));
	/* Entries given back by a backend after a purge are freed here. */
	xtap_ring_cleanup(&q->ring, xtap_queue_ptr_free);
	pr_debug("queue %llu destroyed\n", q->id);
	kfree(q);
	return 0;
}

/* Wait for one entry.  Returns it, or NULL with *err set: -EAGAIN
 * (nonblocking and empty), -ERESTARTSYS (signal) or -EBADFD (device gone).
 */
static void *xtap_queue_wait_ptr(struct xtap_queue *q, bool nonblock,
				 ssize_t *err)
{
	DEFINE_WAIT(wait);
	void *ptr = NULL;

	for (;;) {
		if (!nonblock)
			prepare_to_wait(&q->wq, &wait, TASK_INTERRUPTIBLE);
		/* Gone means gone, even for frames a backend gave back after
		 * the purge: read() agrees with poll()'s EPOLLERR.
		 */
		if (!rcu_access_pointer(q->xt)) {
			*err = -EBADFD;
			break;
		}
		if (xtap_queue_consume_batch(q, &ptr, 1))
			break;
		if (nonblock) {
			*err = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			*err = -ERESTARTSYS;
			break;
		}
		schedule();
	}
	if (!nonblock)
		finish_wait(&q->wq, &wait);
	return ptr;
}

static ssize_t xtap_node_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct file *file = iocb->ki_filp;
	struct xtap_queue *q = file->private_data;
	bool nonblock = (file->f_flags & O_NONBLOCK) ||
			(iocb->ki_flags & IOCB_NOWAIT);
	ssize_t ret = 0;
	void *ptr;

	if (!iov_iter_count(to))
		return 0;
	ptr = xtap_queue_wait_ptr(q, nonblock, &ret);
	if (!ptr)
		return ret;
	return xtap_queue_read_ptr(q, ptr, to);
}

static ssize_t xtap_node_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct xtap_queue *q = iocb->ki_filp->private_data;
	ssize_t ret;

	ret = xtap_queue_write_iter(q, from, NULL);
	if (ret == -ENOMEM)
		xtap_queue_count(q, XTAP_STAT_RX_DROP_NOMEM);
	return ret;
}

static __poll_t xtap_node_poll(struct file *file, poll_table *wait)
{
	struct xtap_queue *q = file->private_data;
	__poll_t mask;

	poll_wait(file, &q->wq, wait);
	/* Pairs with wq_has_sleeper() in xtap_queue_wake_readers(). */
	smp_mb();
	if (!rcu_access_pointer(q->xt))
		return EPOLLERR;
	/* Writes never wait: there is no send buffer accounting. */
	mask = EPOLLOUT | EPOLLWRNORM;
	if (!xtap_ring_empty_lockless(&q->ring))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

/* ioctl helpers: all run under rtnl_lock with the device present. */

static int xtap_ioctl_setiff(struct xtap_dev *xt, struct xtap_queue *q,
			     void __user *argp)
{
	struct ifreq ifr = {};
	unsigned int flags;

	if (copy_from_user(&ifr, argp, XTAP_IFREQ_LEN))
		return -EFAULT;
	flags = (u16)ifr.ifr_flags;
	/* IFF_ONE_QUEUE is obsolete in tun too: accepted and ignored. */
	flags &= ~IFF_ONE_QUEUE;
	if ((flags & ~XTAP_IFF_CHANGEABLE) != (IFF_TAP | IFF_NO_PI))
		return -EINVAL;
	ifr.ifr_name[IFNAMSIZ - 1] = '\0';
	if (ifr.ifr_name[0] && strcmp(ifr.ifr_name, xt->dev->name))
		return -EINVAL;
	WRITE_ONCE(q->flags, (q->flags & ~XTAP_IFF_CHANGEABLE) | flags);

	strscpy(ifr.ifr_name, xt->dev->name, IFNAMSIZ);
	ifr.ifr_flags = q->flags;
	if (copy_to_user(argp, &ifr, XTAP_IFREQ_LEN))
		return -EFAULT;
	return 0;
}

static int xtap_ioctl_getiff(struct xtap_dev *xt, struct xtap_queue *q,
			     void __user *argp)
{
	struct ifreq ifr = {};

	strscpy(ifr.ifr_name, xt->dev->name, IFNAMSIZ);
	ifr.ifr_flags = q->flags;
	if (copy_to_user(argp, &ifr, XTAP_IFREQ_LEN))
		return -EFAULT;
	return 0;
}

static int xtap_ioctl_setqueue(struct xtap_dev *xt, struct xtap_queue *q,
			       void __user *argp)
{
	struct ifreq ifr;

	if (copy_from_user(&ifr, argp, XTAP_IFREQ_LEN))
		return -EFAULT;
	/* As tun: attaching an attached queue or detaching a detached one
	 * is -EINVAL.  QEMU asserts that this never fails, and issues it only
	 * when the queue's state changes (tap_enable()/tap_disable()).
	 */
	switch ((u16)ifr.ifr_flags) {
	case IFF_ATTACH_QUEUE:
		if (q->enabled)
			return -EINVAL;
		xtap_queue_enable(xt, q);
		return 0;
	case IFF_DETACH_QUEUE:
		if (!q->enabled)
			return -EINVAL;
		xtap_queue_disable(xt, q, true);
		return 0;
	default:
		return -EINVAL;
	}
}

static long xtap_node_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct xtap_queue *q = file->private_data;
	void __user *argp = (void __user *)arg;
	int __user *ip = argp;
	struct xtap_dev *xt;
	long ret;
	int val;

	/* Commands that need no device, or that are not ours. */
	switch (cmd) {
	case TUNGETFEATURES:
		return put_user(XTAP_IFF_FEATURES, (unsigned int __user *)argp);
	case TUNSETIFF:
	case TUNGETIFF:
	case TUNSETQUEUE:
	case TUNSETOFFLOAD:
	case TUNGETVNETHDRSZ:
	case TUNSETVNETHDRSZ:
	case TUNGETSNDBUF:
	case TUNSETSNDBUF:
	case TUNSETVNETLE:
	case TUNGETVNETLE:
	case TUNSETVNETBE:
	case TUNGETVNETBE:
	case TUNSETSTEERINGEBPF:
		break;
	default:
		return -ENOTTY;
	}

	rtnl_lock();
	xt = rtnl_dereference(q->xt);
	if (!xt) {
		ret = -EBADFD;
		goto out;
	}
	switch (cmd) {
	case TUNSETIFF:
		ret = xtap_ioctl_setiff(xt, q, argp);
		break;
	case TUNGETIFF:
		ret = xtap_ioctl_getiff(xt, q, argp);
		break;
	case TUNSETQUEUE:
		ret = xtap_ioctl_setqueue(xt, q, argp);
		break;
	case TUNSETOFFLOAD:
		ret = xtap_tap_set_offload(xt, arg);
		break;
	case TUNGETVNETHDRSZ:
		ret = put_user(q->vnet_hdr_sz, ip);
		break;
	case TUNSETVNETHDRSZ:
		ret = get_user(val, ip);
		if (ret)
			break;
		if (val != sizeof(struct virtio_net_hdr) &&
		    val != sizeof(struct virtio_net_hdr_mrg_rxbuf) &&
		    val != sizeof(struct xtap_vnet_hdr)) {
			ret = -EINVAL;
			break;
		}
		WRITE_ONCE(q->vnet_hdr_sz, val);
		break;
	case TUNGETSNDBUF:
		ret = put_user(q->sndbuf, ip);
		break;
	case TUNSETSNDBUF:
		ret = get_user(val, ip);
		if (ret)
			break;
		if (val <= 0) {
			ret = -EINVAL;
			break;
		}
		WRITE_ONCE(q->sndbuf, val);
		break;
	case TUNSETSTEERINGEBPF:
		/* Only "no program" (-1), which is what QEMU sets. */
		ret = get_user(val, ip);
		if (!ret && val != -1)
			ret = -EINVAL;
		break;
	default:
		/* TUNSET/GETVNETLE/BE: EINVAL tells QEMU "unsupported". */
		ret = -EINVAL;
		break;
	}
out:
	rtnl_unlock();
	return ret;
}

static const struct file_operations xtap_queue_fops = {
	.owner		= THIS_MODULE,
	.open		= xtap_node_open,
	.release	= xtap_node_release,
	.read_iter	= xtap_node_read_iter,
	.write_iter	= xtap_node_write_iter,
	.poll		= xtap_node_poll,
	.unlocked_ioctl	= xtap_node_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= no_llseek,
};

static char *xtap_node_devnode(struct device *dev, umode_t *mode)
{
	if (mode)
		*mode = 0600;
	return NULL;
}

/* The network namespace of the device a queue node belongs to (its
 * drvdata, set before the node is added): sysfs shows each namespace only
 * its own nodes, so the same ifindex in two namespaces is no conflict
 * (macvtap's class is tagged the same way).
 */
static const void *xtap_node_namespace(struct device *d)
{
	const struct xtap_dev *xt = dev_get_drvdata(d);

	return dev_net(xt->dev);
}

static struct class xtap_class = {
	.name		= XTAP_DRV_NAME,
	.owner		= THIS_MODULE,
	.devnode	= xtap_node_devnode,
	.ns_type	= &net_ns_type_operations,
	.namespace	= xtap_node_namespace,
};

/**
 * xtap_node_init() - register the queue node's char region and class
 *
 * Context: module init.
 * Return: 0 or a negative errno.
 */
int xtap_node_init(void)
{
	int ret;

	ret = alloc_chrdev_region(&xtap_devt, 0, XTAP_MINORS, XTAP_DRV_NAME);
	if (ret)
		goto err_region;

	ret = class_register(&xtap_class);
	if (ret)
		goto err_class;

	cdev_init(&xtap_cdev, &xtap_queue_fops);
	xtap_cdev.owner = THIS_MODULE;
	ret = cdev_add(&xtap_cdev, xtap_devt, XTAP_MINORS);
	if (ret)
		goto err_cdev;
	return 0;

err_cdev:
	class_unregister(&xtap_class);
err_class:
	unregister_chrdev_region(xtap_devt, XTAP_MINORS);
err_region:
	return ret;
}

/**
 * xtap_node_exit() - unregister what xtap_node_init() registered
 *
 * Context: module exit, after every device is gone.
 */
void xtap_node_exit(void)
{
	cdev_del(&xtap_cdev);
	class_unregister(&xtap_class);
	unregister_chrdev_region(xtap_devt, XTAP_MINORS);
	WARN_ON(!idr_is_empty(&xtap_minors));
	idr_destroy(&xtap_minors);
}
