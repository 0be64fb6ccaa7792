/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Core definitions shared by the files of the xtap module.
 */
#ifndef _XTAP_H
#define _XTAP_H

#include <linux/netdevice.h>

#define XTAP_DRV_NAME		"xtap"
#define XTAP_DRV_VERSION	"0.1"

/**
 * struct xtap_dev - private part of an xtap net_device
 * @dev: the net_device this is the private area of
 * @id: serial number, for lifetime messages
 */
struct xtap_dev {
	struct net_device *dev;
	u64 id;
};

/* tap.c */
int xtap_tap_init(void);
void xtap_tap_exit(void);

/* vhost.c */
int xtap_vhost_init(void);
void xtap_vhost_exit(void);

#endif /* _XTAP_H */
