/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Native XDP on the frames the queues' users write (guest TX): the batch
 * of XDP buffers the vhost TX worker fills, and its allocation.  The
 * functions that fill and run a batch are queue functions (queue.h:
 * xtap_queue_write_batched(), xtap_queue_write_batch_end()); ndo_bpf and
 * the per-slot xdp_rxq_info are declared in xtap.h.
 */
#ifndef _XTAP_XDP_H
#define _XTAP_XDP_H

#include <linux/skbuff.h>
#include <net/xdp.h>

/* Most XDP buffers in one batch (vhost-net's VHOST_NET_BATCH too). */
#define XTAP_XDP_BATCH		64
/* Room before the frame: what every XDP program may count on. */
#define XTAP_XDP_HEADROOM	XDP_PACKET_HEADROOM
/* Room after the frame for the skb_shared_info of an skb built on it. */
#define XTAP_XDP_TAILROOM	SKB_DATA_ALIGN(sizeof(struct skb_shared_info))
/* Longest frame that takes the XDP path: buffer and frame in one page. */
#define XTAP_XDP_MAX_FRAME	(PAGE_SIZE - XTAP_XDP_HEADROOM - \
				 XTAP_XDP_TAILROOM)

/**
 * struct xtap_write_batch - frames written by one user in one round
 * @frag: page-frag cache the XDP buffers are cut from
 * @skbs: skbs for the stack, in the order their frames were written: the
 *	skb path appends at once, the XDP path when its batch has run
 * @n: XDP buffers waiting in @xdp
 * @xdp: the XDP buffers, oldest first; the vnet header of each was read
 *	(and found to ask for nothing) before it was filled, so the program
 *	can neither see nor overwrite it
 * @pass: buffers a batch run hands to the stack
 * @frames: XDP_TX frames of a batch run
 * @heads: skb heads allocated in bulk for @pass
 *
 * Owned by one writer at a time (the vhost TX virtqueue, under its mutex);
 * no lock of its own.
 */
struct xtap_write_batch {
	struct page_frag_cache frag;
	struct list_head skbs;
	unsigned int n;
	struct xdp_buff xdp[XTAP_XDP_BATCH];
	struct xdp_buff *pass[XTAP_XDP_BATCH];
	struct xdp_frame *frames[XTAP_XDP_BATCH];
	void *heads[XTAP_XDP_BATCH];
};

/* xdp.c */
struct xtap_write_batch *xtap_write_batch_alloc(void);
void xtap_write_batch_free(struct xtap_write_batch *wb);

#endif /* _XTAP_XDP_H */
