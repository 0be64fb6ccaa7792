// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * /dev/vhost-xtap: the vhost-net compatible backend device.
 */

#include "xtap.h"

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/slab.h>
#include <uapi/linux/xtap.h>

/**
 * struct xtap_vhost - state of one open of /dev/vhost-xtap
 * @id: serial number, for lifetime messages
 */
struct xtap_vhost {
	u64 id;
};

static atomic64_t xtap_vhost_ids = ATOMIC64_INIT(0);

static int xtap_vhost_open(struct inode *inode, struct file *file)
{
	struct xtap_vhost *xv;

	xv = kzalloc(sizeof(*xv), GFP_KERNEL_ACCOUNT);
	if (!xv)
		return -ENOMEM;
	xv->id = atomic64_inc_return(&xtap_vhost_ids);
	file->private_data = xv;
	pr_debug("vhost %llu created\n", xv->id);
	return 0;
}

static int xtap_vhost_release(struct inode *inode, struct file *file)
{
	struct xtap_vhost *xv = file->private_data;

	pr_debug("vhost %llu destroyed\n", xv->id);
	kfree(xv);
	return 0;
}

static long xtap_vhost_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	return -ENOTTY;
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
