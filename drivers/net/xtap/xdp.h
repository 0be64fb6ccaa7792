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

/* csum_start of a buffer whose frame asked for no checksum. */
#define XTAP_XDP_NO_CSUM	U16_MAX

/* Pages the XDP buffers are cut from: 32 KiB (one page when that fails). */
#define XTAP_FRAG_ORDER		3
/* Used-up pages kept until their buffers come back, to be cut again. */
#define XTAP_FRAG_KEEP		3

/**
 * struct xtap_frag - page-frag allocator that cuts the same pages again
 * @page: the page buffers are cut from now (NULL: none yet)
 * @offset: bytes of @page not handed out yet, from its start
 * @bias: references on @page held by the allocator; one goes with each
 *	buffer handed out, and buffers are freed with page_frag_free()
 * @old: used-up pages, oldest first, each still holding @old_bias
 *	references of the allocator's; once a page's reference count is back
 *	to that (every buffer cut from it was freed), it is cut again instead
 *	of allocating (and, with init_on_alloc, zeroing) a fresh one
 * @old_bias: the allocator's references on each page of @old
 * @nold: pages in @old
 *
 * page_frag_cache reuses a page only if all its buffers are back at the
 * moment it is used up, which is never the case in the middle of a batch
 * (the batch's buffers are still waiting to run), so it allocates a page
 * every 51 frames of 64 B; this one looks at the earlier pages too.
 */
struct xtap_frag {
	struct page *page;
	unsigned int offset;
	unsigned int bias;
	struct page *old[XTAP_FRAG_KEEP];
	unsigned int old_bias[XTAP_FRAG_KEEP];
	unsigned int nold;
};

/**
 * struct xtap_write_batch - frames written by one user in one round
 * @frag: page-frag allocator the XDP buffers are cut from
 * @skbs: skbs for the stack, in the order their frames were written: the
 *	skb path appends at once, the XDP path when its batch has run
 * @n: XDP buffers waiting in @xdp
 * @xdp: the XDP buffers, oldest first; the vnet header of each was read
 *	(and found to ask for no segmentation) before it was filled, so the
 *	program can neither see nor overwrite it
 * @csum_start: per buffer of @xdp, the vnet header's csum_start when it
 *	asked for a checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM), else
 *	%XTAP_XDP_NO_CSUM
 * @csum_off: per buffer of @xdp, the vnet header's csum_offset (with
 *	@csum_start)
 * @pass: buffers a batch run hands to the stack
 * @frames: XDP_TX frames of a batch run
 * @heads: skb heads allocated in bulk for @pass
 *
 * Owned by one writer at a time (the vhost TX virtqueue, under its mutex);
 * no lock of its own.
 */
struct xtap_write_batch {
	struct xtap_frag frag;
	struct list_head skbs;
	unsigned int n;
	struct xdp_buff xdp[XTAP_XDP_BATCH];
	u16 csum_start[XTAP_XDP_BATCH];
	u16 csum_off[XTAP_XDP_BATCH];
	struct xdp_buff *pass[XTAP_XDP_BATCH];
	struct xdp_frame *frames[XTAP_XDP_BATCH];
	void *heads[XTAP_XDP_BATCH];
};

/* xdp.c */
struct xtap_write_batch *xtap_write_batch_alloc(void);
void xtap_write_batch_free(struct xtap_write_batch *wb);

#endif /* _XTAP_XDP_H */
