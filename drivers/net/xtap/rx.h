/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Guest receive (host -> guest): the RX virtqueue handler and the state
 * only the RX virtqueue has.
 */
#ifndef _XTAP_RX_H
#define _XTAP_RX_H

#include "vq.h"
#include "worker.h"

#include <linux/types.h>

/**
 * struct xtap_rx_vq - the RX virtqueue: a generic virtqueue plus the state
 *	only guest receive needs (as vhost-net wraps vhost_virtqueue in
 *	vhost_net_virtqueue)
 * @vq: the generic virtqueue; its mutex protects every field below
 * @queue_poll: wait-queue entry on @vq.backend; stopped ("parked") while
 *	the guest has no buffers, until the handler runs again
 * @rxq: pointers taken from the queue ring but not yet delivered
 * @rxq_head: first valid entry of @rxq
 * @rxq_count: valid entries of @rxq
 */
struct xtap_rx_vq {
	struct xtap_vq vq;
	struct xtap_poll queue_poll;
	void *rxq[XTAP_VQ_BATCH];
	unsigned int rxq_head;
	unsigned int rxq_count;
};

/* rx.c */
void xtap_rx_handle(struct xtap_vq *vq);
void xtap_rx_serve(struct xtap_vq *vq);
bool xtap_rx_has_work(struct xtap_vq *vq);
int xtap_rx_start(struct xtap_vq *vq);
void xtap_rx_stop(struct xtap_vq *vq);

#endif /* _XTAP_RX_H */
