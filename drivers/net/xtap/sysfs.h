/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * /sys/class/net/<dev>/xtap/: the busy-poll and watchdog knobs of a device
 * and one queues/<n>/ directory per attached vhost queue pair.
 */
#ifndef _XTAP_SYSFS_H
#define _XTAP_SYSFS_H

struct xtap_dev;
struct xtap_poll_conf;
struct xtap_qp;
struct xtap_queue;
struct xtap_vq;

void xtap_poll_conf_init(struct xtap_poll_conf *conf);
int xtap_sysfs_add(struct xtap_dev *xt);
void xtap_sysfs_del(struct xtap_dev *xt);
struct xtap_qp *xtap_sysfs_qp_add(struct xtap_queue *q, struct xtap_vq *rx,
				  struct xtap_vq *tx);
void xtap_sysfs_qp_del(struct xtap_qp *qp);

#endif /* _XTAP_SYSFS_H */
