// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Module init and exit only: each part of xtap registers itself here, and
 * is unregistered in exactly the reverse order.
 */

#include "xtap.h"

#include <linux/module.h>
#include <net/rtnetlink.h>
#include <uapi/linux/xtap.h>

/* Kconfig says so; an out-of-tree build does not read Kconfig. */
#if !defined(CONFIG_64BIT) || defined(CONFIG_CPU_BIG_ENDIAN)
#error "xtap supports 64-bit little-endian hosts only (see xtap.rst)"
#endif

static int __init xtap_init(void)
{
	int ret;

	/* Debug builds only; before anything is registered. */
	if (!xtap_selftest())
		return -ENOTRECOVERABLE;

	ret = xtap_tap_init();
	if (ret)
		goto err_tap;

	ret = xtap_vhost_init();
	if (ret)
		goto err_vhost;

	pr_info("xtap " XTAP_DRV_VERSION " loaded\n");
	return 0;

err_vhost:
	xtap_tap_exit();
err_tap:
	return ret;
}

static void __exit xtap_exit(void)
{
	xtap_vhost_exit();
	xtap_tap_exit();
	pr_debug("unloaded\n");
}

module_init(xtap_init);
module_exit(xtap_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Tap device with an in-kernel virtio-net backend");
MODULE_AUTHOR("The xtap authors");
MODULE_VERSION(XTAP_DRV_VERSION);
MODULE_ALIAS_RTNL_LINK(XTAP_LINK_KIND);
