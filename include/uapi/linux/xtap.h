/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * xtap speaks the tun ioctl ABI (<linux/if_tun.h>) on its queue nodes and the
 * vhost-net ioctl ABI (<linux/vhost.h>) on /dev/vhost-xtap.  This header only
 * holds what xtap adds beyond those two ABIs.
 *
 * Nodes:
 *   /dev/vhost-xtap        the vhost backend; one open per guest queue pair
 *   /dev/xtap<ifindex>     the queue node of interface <ifindex>; each open
 *                          is one queue of that interface
 */
#ifndef _UAPI_LINUX_XTAP_H
#define _UAPI_LINUX_XTAP_H

/* rtnl_link kind: ip link add NAME type xtap */
#define XTAP_LINK_KIND		"xtap"
/* Name of the vhost misc device under /dev */
#define XTAP_VHOST_NAME		"vhost-xtap"
/* Prefix of the per-device queue node under /dev, followed by the ifindex */
#define XTAP_QUEUE_PREFIX	"xtap"

#endif /* _UAPI_LINUX_XTAP_H */
