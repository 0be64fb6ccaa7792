// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Native XDP for the frames a queue's user writes (the netdev's receive
 * direction; for a vhost backend, guest TX).
 *
 * The vhost TX worker hands each frame to xtap_queue_write_batched(): a
 * frame without checksum or GSO request that fits one page is copied into
 * a page-frag buffer laid out for XDP (XDP_PACKET_HEADROOM in front, room
 * for skb_shared_info behind) and joins the round's batch; any other frame
 * takes the skb path of xtap_queue_write_iter() (through generic XDP when
 * a program is attached).  xtap_queue_write_batch_end() then runs the
 * batch in one local_bh_disable() + RCU section: the program on each
 * buffer, one xdp_do_flush() for the redirects, the XDP_TX frames into the
 * queue's own ring under one producer lock, and skbs built in bulk around
 * the passed buffers, handed to the stack as one list.  With no program
 * every buffer is passed: this is also the plain fast path.
 */

#include "xtap.h"
#include "queue.h"
#include "xdp.h"

#include <linux/bpf.h>
#include <linux/etherdevice.h>
#include <linux/filter.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/virtio_net.h>
#include <net/checksum.h>
#include <net/xdp.h>
#include <trace/events/xdp.h>

/**
 * xtap_xdp_init() - register one xdp_rxq_info per queue slot
 * @xt: the device, in ndo_init
 *
 * Context: rtnl_lock held.
 * Return: 0 or -ENOMEM.
 */
int xtap_xdp_init(struct xtap_dev *xt)
{
	struct net_device *dev = xt->dev;
	unsigned int i;
	int err;

	xt->xdp_rxq = kcalloc(dev->num_tx_queues, sizeof(*xt->xdp_rxq),
			      GFP_KERNEL);
	if (!xt->xdp_rxq)
		return -ENOMEM;
	for (i = 0; i < dev->num_tx_queues; i++) {
		err = xdp_rxq_info_reg(&xt->xdp_rxq[i], dev, i, 0);
		if (err)
			goto err_reg;
		/* Buffers are page frags: returned with page_frag_free(). */
		err = xdp_rxq_info_reg_mem_model(&xt->xdp_rxq[i],
						 MEM_TYPE_PAGE_SHARED, NULL);
		if (err) {
			xdp_rxq_info_unreg(&xt->xdp_rxq[i]);
			goto err_reg;
		}
	}
	return 0;

err_reg:
	while (i--)
		xdp_rxq_info_unreg(&xt->xdp_rxq[i]);
	kfree(xt->xdp_rxq);
	xt->xdp_rxq = NULL;
	return err;
}

/**
 * xtap_xdp_uninit() - unregister what xtap_xdp_init() registered
 * @xt: the device, being freed (no datapath can reach it)
 *
 * Context: process context.  Safe after a failed or no xtap_xdp_init().
 */
void xtap_xdp_uninit(struct xtap_dev *xt)
{
	unsigned int i;

	if (!xt->xdp_rxq)
		return;
	for (i = 0; i < xt->dev->num_tx_queues; i++)
		xdp_rxq_info_unreg(&xt->xdp_rxq[i]);
	kfree(xt->xdp_rxq);
	xt->xdp_rxq = NULL;
}

/* Install @prog (NULL: detach).  The core hands us a reference on @prog
 * and expects us to drop the one of the program replaced.  Readers run
 * the program under RCU only, and a program is freed only after an RCU
 * grace period once its last reference is gone, so the swap is safe
 * under traffic: a batch runs either the old or the new program.
 */
static int xtap_xdp_set_prog(struct xtap_dev *xt, struct bpf_prog *prog)
{
	struct bpf_prog *old;

	ASSERT_RTNL();
	old = rtnl_dereference(xt->xdp_prog);
	rcu_assign_pointer(xt->xdp_prog, prog);
	if (old)
		bpf_prog_put(old);
	return 0;
}

/**
 * xtap_xdp_bpf() - ndo_bpf: install or remove the native XDP program
 * @dev: the xtap device
 * @bpf: the command; only XDP_SETUP_PROG is supported
 *
 * The program runs on every frame written to the device's queues: in
 * driver mode on XDP buffers, and through generic XDP on the frames that
 * keep the skb path, so no frame bypasses it.
 *
 * Context: rtnl_lock held.
 * Return: 0, or -EINVAL for any other command.
 */
int xtap_xdp_bpf(struct net_device *dev, struct netdev_bpf *bpf)
{
	struct xtap_dev *xt = netdev_priv(dev);

	switch (bpf->command) {
	case XDP_SETUP_PROG:
		return xtap_xdp_set_prog(xt, bpf->prog);
	default:
		return -EINVAL;
	}
}

/* References the allocator takes on a page: more than it can cut from it. */
#define XTAP_FRAG_BIAS		((PAGE_SIZE << XTAP_FRAG_ORDER) + 1)

/* Take page @i out of the used-up pages of @f. */
static void xtap_frag_old_del(struct xtap_frag *f, unsigned int i)
{
	f->nold--;
	memmove(&f->old[i], &f->old[i + 1], (f->nold - i) * sizeof(f->old[0]));
	memmove(&f->old_bias[i], &f->old_bias[i + 1],
		(f->nold - i) * sizeof(f->old_bias[0]));
}

/* A used-up page whose buffers have all come back, its reference count
 * now XTAP_FRAG_BIAS; NULL if there is none.
 */
static struct page *xtap_frag_reuse(struct xtap_frag *f)
{
	unsigned int i, bias;
	struct page *page;

	for (i = 0; i < f->nold; i++) {
		page = f->old[i];
		bias = f->old_bias[i];
		if (page_ref_count(page) != bias)
			continue;
		xtap_frag_old_del(f, i);
		/* Only at 0 is no reference left but ours; a speculative
		 * one taken meanwhile keeps the page, and its holder frees
		 * it once we are gone.
		 */
		if (!page_ref_sub_and_test(page, bias))
			return NULL;
		set_page_count(page, XTAP_FRAG_BIAS);
		return page;
	}
	return NULL;
}

/* Move the current page of @f to the used-up ones, giving up the oldest
 * of those when there is no room.
 */
static void xtap_frag_retire(struct xtap_frag *f)
{
	if (f->nold == XTAP_FRAG_KEEP) {
		__page_frag_cache_drain(f->old[0], f->old_bias[0]);
		xtap_frag_old_del(f, 0);
	}
	f->old[f->nold] = f->page;
	f->old_bias[f->nold] = f->bias;
	f->nold++;
	f->page = NULL;
}

/* Cut @size bytes (at most a page) from @f; free them with
 * page_frag_free().  Returns NULL when no page can be had.
 */
static void *xtap_frag_alloc(struct xtap_frag *f, unsigned int size)
{
	struct page *page;
	void *va;

	if (f->page && f->offset + size > page_size(f->page))
		xtap_frag_retire(f);
	if (!f->page) {
		page = xtap_frag_reuse(f);
		if (!page) {
			page = alloc_pages(GFP_KERNEL | __GFP_COMP |
					   __GFP_NOWARN | __GFP_NORETRY |
					   __GFP_NOMEMALLOC, XTAP_FRAG_ORDER);
			if (!page)
				page = alloc_page(GFP_KERNEL | __GFP_NOWARN);
			if (!page)
				return NULL;
			page_ref_add(page, XTAP_FRAG_BIAS - 1);
		}
		f->page = page;
		f->bias = XTAP_FRAG_BIAS;
		f->offset = 0;
	}
	va = page_address(f->page) + f->offset;
	f->offset += size;
	f->bias--;
	return va;
}

/* Give up every page of @f (each is freed when its last buffer is). */
static void xtap_frag_drain(struct xtap_frag *f)
{
	if (f->page)
		__page_frag_cache_drain(f->page, f->bias);
	f->page = NULL;
	while (f->nold) {
		f->nold--;
		__page_frag_cache_drain(f->old[f->nold], f->old_bias[f->nold]);
	}
}

/**
 * xtap_write_batch_alloc() - allocate an empty write batch
 *
 * Context: process context.
 * Return: the batch, or NULL.
 */
struct xtap_write_batch *xtap_write_batch_alloc(void)
{
	struct xtap_write_batch *wb;

	wb = kvzalloc(sizeof(*wb), GFP_KERNEL_ACCOUNT);
	if (wb)
		INIT_LIST_HEAD(&wb->skbs);
	return wb;
}

/**
 * xtap_write_batch_free() - free a write batch and its page-frag cache
 * @wb: the batch (may be NULL); empty (every round ends with
 *	xtap_queue_write_batch_end())
 *
 * Context: process context.
 */
void xtap_write_batch_free(struct xtap_write_batch *wb)
{
	if (!wb)
		return;
	WARN_ON_ONCE(wb->n || !list_empty(&wb->skbs));
	xtap_frag_drain(&wb->frag);
	kvfree(wb);
}

/* Counters of one batch run, added to the slot once. */
struct xtap_xdp_count {
	u32 pass, drop, tx, tx_err, redirect, redirect_err, aborted;
	u32 pkts, nomem, malformed;
	u64 bytes;
};

static void xtap_xdp_count_add(struct xtap_dev *xt, unsigned int slot,
			       const struct xtap_xdp_count *c, unsigned int n,
			       bool prog)
{
	struct xtap_stats *st = get_cpu_ptr(xt->stats[slot]);
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&st->syncp);
	u64_stats_add(&st->v[XTAP_STAT_RX_PACKETS], c->pkts);
	u64_stats_add(&st->v[XTAP_STAT_RX_BYTES], c->bytes);
	u64_stats_add(&st->v[XTAP_STAT_RX_DROP_NOMEM], c->nomem);
	u64_stats_add(&st->v[XTAP_STAT_RX_DROP_MALFORMED], c->malformed);
	u64_stats_inc(&st->v[XTAP_STAT_RX_BATCHES]);
	u64_stats_add(&st->v[XTAP_STAT_RX_BATCH_FRAMES], n);
	if (prog) {
		u64_stats_add(&st->v[XTAP_STAT_RX_XDP_PASS], c->pass);
		u64_stats_add(&st->v[XTAP_STAT_RX_XDP_DROP], c->drop);
		u64_stats_add(&st->v[XTAP_STAT_RX_XDP_TX], c->tx);
		u64_stats_add(&st->v[XTAP_STAT_RX_XDP_TX_ERR], c->tx_err);
		u64_stats_add(&st->v[XTAP_STAT_RX_XDP_REDIRECT], c->redirect);
		u64_stats_add(&st->v[XTAP_STAT_RX_XDP_REDIRECT_ERR],
			      c->redirect_err);
		u64_stats_add(&st->v[XTAP_STAT_RX_XDP_ABORTED], c->aborted);
	}
	u64_stats_update_end_irqrestore(&st->syncp, flags);
	put_cpu_ptr(xt->stats[slot]);
}

static void xtap_xdp_free_buf(struct xdp_buff *xdp)
{
	page_frag_free(xdp->data_hard_start);
}

/* XDP_TX: the frames go back to the queue's own reader through its ring,
 * under one producer lock; what does not fit is dropped and counted.
 */
static void xtap_xdp_tx(struct xtap_queue *q, struct xtap_write_batch *wb,
			unsigned int n, struct xtap_xdp_count *c)
{
	struct xtap_ring *r = &q->ring;
	unsigned int i, done;

	spin_lock(&r->producer_lock);
	for (done = 0; done < n; done++)
		if (__xtap_ring_produce(r, (void *)((unsigned long)
				wb->frames[done] | XTAP_PTR_XDP)))
			break;
	spin_unlock(&r->producer_lock);
	for (i = done; i < n; i++)
		xdp_return_frame(wb->frames[i]);
	c->tx += done;
	c->tx_err += n - done;
	if (done)
		xtap_queue_wake_readers(q);
}

/* XDP_PASS: skbs around the buffers, allocated in bulk, appended to
 * wb->skbs in order.
 */
static void xtap_xdp_build_skbs(struct xtap_dev *xt, unsigned int slot,
				struct xtap_write_batch *wb, unsigned int n,
				struct xtap_xdp_count *c)
{
	unsigned int i, k, len;
	struct sk_buff *skb;
	struct xdp_buff *xdp;

	if (unlikely(xdp_alloc_skb_bulk(wb->heads, n, GFP_ATOMIC))) {
		for (i = 0; i < n; i++)
			xtap_xdp_free_buf(wb->pass[i]);
		c->nomem += n;
		return;
	}
	for (i = 0; i < n; i++) {
		xdp = wb->pass[i];
		skb = wb->heads[i];
		memset(skb, 0, offsetof(struct sk_buff, tail));
		skb = build_skb_around(skb, xdp->data_hard_start,
				       xdp->frame_sz);
		skb_reserve(skb, xdp->data - xdp->data_hard_start);
		len = xdp->data_end - xdp->data;
		__skb_put(skb, len);
		if (xdp->data_meta < xdp->data)
			skb_metadata_set(skb, xdp->data - xdp->data_meta);
		/* What virtio_net_hdr_to_skb() does for such a header. */
		k = xdp - wb->xdp;
		if (wb->csum_start[k] != XTAP_XDP_NO_CSUM &&
		    unlikely(!skb_partial_csum_set(skb, wb->csum_start[k],
						   wb->csum_off[k]))) {
			kfree_skb(skb);
			c->malformed++;
			continue;
		}
		skb->protocol = eth_type_trans(skb, xt->dev);
		skb_reset_network_header(skb);
		skb_record_rx_queue(skb, slot);
		list_add_tail(&skb->list, &wb->skbs);
		c->pkts++;
		c->bytes += len;
	}
}

/* A frame that asked for a checksum meets a program attached after it
 * was written (the others take the skb path, through generic XDP): the
 * program and whoever it sends the frame to get it complete.  Fold the
 * sum of the bytes from csum_start on (the field holds the pseudo-header
 * sum) into the field at csum_offset, as skb_checksum_help() does.
 */
static void xtap_xdp_csum_help(struct xtap_write_batch *wb, unsigned int k)
{
	struct xdp_buff *xdp = &wb->xdp[k];
	unsigned int start = wb->csum_start[k], off = wb->csum_off[k];
	unsigned int len = xdp->data_end - xdp->data;
	__sum16 *field;

	wb->csum_start[k] = XTAP_XDP_NO_CSUM;
	/* Checked when the frame was written, and nothing moved since. */
	if (WARN_ON_ONCE(start + off + sizeof(__sum16) > len))
		return;
	field = xdp->data + start + off;
	*field = csum_fold(csum_partial(xdp->data + start, len - start, 0)) ?:
		 CSUM_MANGLED_0;
}

/* Run the program on every buffer of @wb and act on the verdicts.  Called
 * with BHs disabled, in an RCU read-side section, with the device @xt
 * reached from the queue.
 */
static void xtap_xdp_run(struct xtap_queue *q, struct xtap_dev *xt,
			 struct xtap_write_batch *wb)
{
	unsigned int slot = xtap_queue_slot(xt, q);
	struct xdp_rxq_info *rxq = &xt->xdp_rxq[slot];
	unsigned int i, n = wb->n, npass = 0, ntx = 0;
	struct xtap_xdp_count c = {};
	bool flush = false;
	struct bpf_prog *prog;
	struct xdp_buff *xdp;
	u32 act;

	prog = rcu_dereference(xt->xdp_prog);
	for (i = 0; i < n; i++) {
		xdp = &wb->xdp[i];
		xdp->rxq = rxq;
		if (!prog) {
			wb->pass[npass++] = xdp;
			continue;
		}
		if (unlikely(wb->csum_start[i] != XTAP_XDP_NO_CSUM))
			xtap_xdp_csum_help(wb, i);
		act = bpf_prog_run_xdp(prog, xdp);
		switch (act) {
		case XDP_PASS:
			wb->pass[npass++] = xdp;
			c.pass++;
			break;
		case XDP_DROP:
			xtap_xdp_free_buf(xdp);
			c.drop++;
			break;
		case XDP_TX:
			wb->frames[ntx] = xdp_convert_buff_to_frame(xdp);
			if (unlikely(!wb->frames[ntx])) {
				xtap_xdp_free_buf(xdp);
				c.tx_err++;
				break;
			}
			ntx++;
			break;
		case XDP_REDIRECT:
			flush = true;
			if (xdp_do_redirect(xt->dev, xdp, prog)) {
				xtap_xdp_free_buf(xdp);
				c.redirect_err++;
				break;
			}
			c.redirect++;
			break;
		default:
			bpf_warn_invalid_xdp_action(xt->dev, prog, act);
			fallthrough;
		case XDP_ABORTED:
			trace_xdp_exception(xt->dev, prog, act);
			xtap_xdp_free_buf(xdp);
			c.aborted++;
			break;
		}
	}
	wb->n = 0;
	if (flush)
		xdp_do_flush();
	if (ntx)
		xtap_xdp_tx(q, wb, ntx, &c);
	if (npass)
		xtap_xdp_build_skbs(xt, slot, wb, npass, &c);
	xtap_xdp_count_add(xt, slot, &c, n, prog);
}

/* Free every buffer of @wb without running it. */
static void xtap_xdp_discard(struct xtap_write_batch *wb)
{
	unsigned int i;

	for (i = 0; i < wb->n; i++)
		xtap_xdp_free_buf(&wb->xdp[i]);
	wb->n = 0;
}

/* Run the pending buffers in a section of their own (before a frame that
 * takes the skb path, to keep the order, or when the batch is full).
 */
static void xtap_xdp_run_pending(struct xtap_queue *q,
				 struct xtap_write_batch *wb)
{
	struct xtap_dev *xt;

	if (!wb->n)
		return;
	local_bh_disable();
	rcu_read_lock();
	xt = rcu_dereference(q->xt);
	if (xt)
		xtap_xdp_run(q, xt, wb);
	else
		xtap_xdp_discard(wb);
	rcu_read_unlock();
	local_bh_enable();
}

/* Can a frame of @len bytes with the vnet header @hdr take an XDP
 * buffer?  Not when it asks for segmentation, nor for a checksum while a
 * program is attached (@prog): generic XDP runs the program on its skb,
 * CHECKSUM_PARTIAL and all.  A checksum request is kept in @csum_start
 * and @csum_off for the skb built on XDP_PASS.  A header that does not
 * fit the frame is left to the skb path, which counts it.
 */
static bool xtap_xdp_hdr_fits(const struct virtio_net_hdr *hdr, size_t len,
			      bool prog, u16 *csum_start, u16 *csum_off)
{
	bool le = virtio_legacy_is_little_endian();
	u32 start, off;

	if (hdr->gso_type != VIRTIO_NET_HDR_GSO_NONE ||
	    __virtio16_to_cpu(le, hdr->hdr_len) > len)
		return false;
	*csum_start = XTAP_XDP_NO_CSUM;
	if (!(hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return true;
	start = __virtio16_to_cpu(le, hdr->csum_start);
	off = __virtio16_to_cpu(le, hdr->csum_offset);
	if (prog || start + off + sizeof(__sum16) > len)
		return false;
	*csum_start = start;
	*csum_off = off;
	return true;
}

/**
 * xtap_queue_write_batched() - write() one frame as part of a batch
 * @q: the queue
 * @from: the vnet header of the current size, then one Ethernet frame
 * @wb: the writer's batch
 *
 * A frame of at most %XTAP_XDP_MAX_FRAME bytes whose vnet header asks for
 * no segmentation (and no checksum while a program is attached) is copied
 * into a page-frag XDP buffer and waits in @wb for
 * xtap_queue_write_batch_end().  Any other frame, and
 * any frame when the interface is down or no buffer can be had, takes the
 * path of xtap_queue_write_iter() (its skb appended to @wb's list, after
 * the buffers waiting before it have run).  Errors are those of
 * xtap_queue_write_iter(); a frame taking the XDP path cannot fail here
 * (it is counted when its batch runs).
 *
 * Context: process context; may sleep.  The caller serialises the users
 * of @wb.
 * Return: the bytes consumed from @from (all of it), or -errno.
 */
ssize_t xtap_queue_write_batched(struct xtap_queue *q, struct iov_iter *from,
				 struct xtap_write_batch *wb)
{
	size_t total = iov_iter_count(from);
	int hdr_sz = xtap_queue_vnet_hdr_len(q);
	u16 csum_start = XTAP_XDP_NO_CSUM, csum_off = 0;
	struct virtio_net_hdr hdr;
	struct xtap_dev *xt;
	struct iov_iter at;
	size_t len, buflen;
	bool up, prog;
	void *buf;

	if (total < hdr_sz + ETH_HLEN || total - hdr_sz > XTAP_XDP_MAX_FRAME)
		goto skb_path;
	len = total - hdr_sz;

	rcu_read_lock();
	xt = rcu_dereference(q->xt);
	up = xt && (READ_ONCE(xt->dev->flags) & IFF_UP);
	prog = xt && rcu_access_pointer(xt->xdp_prog);
	rcu_read_unlock();
	if (!up)
		goto skb_path;

	at = *from;
	if (hdr_sz) {
		if (!copy_from_iter_full(&hdr, sizeof(hdr), &at) ||
		    !xtap_xdp_hdr_fits(&hdr, len, prog, &csum_start,
				       &csum_off))
			goto skb_path;
		iov_iter_advance(&at, hdr_sz - sizeof(hdr));
	}

	buflen = SKB_DATA_ALIGN(XTAP_XDP_HEADROOM + len) + XTAP_XDP_TAILROOM;
	buf = xtap_frag_alloc(&wb->frag, buflen);
	if (unlikely(!buf))
		goto skb_path;
	if (unlikely(!copy_from_iter_full(buf + XTAP_XDP_HEADROOM, len,
					  &at))) {
		/* The skb path copies again and counts the fault. */
		page_frag_free(buf);
		goto skb_path;
	}
	if (wb->n == XTAP_XDP_BATCH)
		xtap_xdp_run_pending(q, wb);
	wb->csum_start[wb->n] = csum_start;
	wb->csum_off[wb->n] = csum_off;
	xdp_init_buff(&wb->xdp[wb->n], buflen, NULL);
	xdp_prepare_buff(&wb->xdp[wb->n], buf, XTAP_XDP_HEADROOM, len, true);
	wb->n++;
	iov_iter_advance(from, total);
	return total;

skb_path:
	xtap_xdp_run_pending(q, wb);
	return xtap_queue_write_iter(q, from, &wb->skbs);
}

/**
 * xtap_queue_write_batch_end() - run a batch and hand its frames over
 * @q: the queue
 * @wb: the batch filled by xtap_queue_write_batched(); empty on return
 *
 * In one local_bh_disable() + RCU section: runs the XDP program on the
 * waiting buffers and acts on each verdict (one xdp_do_flush() for the
 * batch), then hands every skb of the round to the stack as one list
 * (netif_receive_skb_list()).  If the device went away, everything is
 * freed.
 *
 * Context: process context.
 */
void xtap_queue_write_batch_end(struct xtap_queue *q,
				struct xtap_write_batch *wb)
{
	struct sk_buff *skb, *next;
	struct xtap_dev *xt;

	if (!wb->n && list_empty(&wb->skbs))
		return;
	local_bh_disable();
	rcu_read_lock();
	xt = rcu_dereference(q->xt);
	if (xt) {
		if (wb->n)
			xtap_xdp_run(q, xt, wb);
		if (!list_empty(&wb->skbs))
			netif_receive_skb_list(&wb->skbs);
	} else {
		xtap_xdp_discard(wb);
		list_for_each_entry_safe(skb, next, &wb->skbs, list) {
			skb_list_del_init(skb);
			kfree_skb(skb);
		}
	}
	rcu_read_unlock();
	local_bh_enable();
	INIT_LIST_HEAD(&wb->skbs);
}
