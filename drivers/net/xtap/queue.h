/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * The API of one xtap queue (one open of /dev/xtap<ifindex>), as called
 * directly by the vhost backend: no socket and no msghdr in between.
 *
 * A queue owns a pointer ring filled by the netdev (host -> guest: skb
 * pointers from ndo_start_xmit; later xdp_frame pointers tagged with
 * XTAP_PTR_XDP from ndo_xdp_xmit) and drained by exactly one consumer at a
 * time: read()/read_iter() from userspace, or the vhost RX worker.  In the
 * other direction (guest -> host) frames are handed to the queue, which
 * builds skbs and gives them to the stack.
 *
 * Wake-ups use the queue file's poll wait queue: after every frame the
 * producer puts into the ring it wakes the queue with EPOLLIN if anybody
 * waits on it (wq_has_sleeper(): a cheap test when nobody does; "only on
 * empty -> non-empty" cannot be decided by the producer without racing the
 * consumer).  The vhost side registers on it with vfs_poll() on the queue
 * file, the way vhost-net polls a tun socket; its wakeup callback sees the
 * EPOLLIN key.  Writes never wait (there is no send buffer accounting), so
 * poll always reports EPOLLOUT and there is no EPOLLOUT wake-up.  When the
 * device is deleted the queue is woken once with EPOLLIN | EPOLLERR |
 * EPOLLHUP, poll then reports EPOLLERR, and every call below that needs the
 * device fails (-EBADFD) or finds an empty ring.
 *
 * Unless stated otherwise, the functions below may sleep (they copy from or
 * to user memory; the vhost worker runs with the owner's mm) and must be
 * called with a reference on the queue's file held.
 */
#ifndef _XTAP_QUEUE_H
#define _XTAP_QUEUE_H

#include <linux/types.h>
#include <linux/virtio_net.h>

struct file;
struct iov_iter;
struct list_head;
struct xdp_frame;
struct xtap_queue;
struct xtap_write_batch;

/* The largest vnet header (VIRTIO_NET_F_HASH_REPORT layout); the smaller
 * ones are its prefixes.
 */
struct xtap_vnet_hdr {
	struct virtio_net_hdr_mrg_rxbuf mrg;
	__le32 hash_value;
	__le16 hash_report;
	__le16 padding;
};

/* Bit 0 of a ring entry: the entry is an xdp_frame, not an sk_buff. */
#define XTAP_PTR_XDP	0x1UL

/* Most delivered xdp_frames one struct xtap_frame_bulk holds. */
#define XTAP_FRAME_BULK	64

/**
 * struct xtap_frame_bulk - delivered xdp_frames waiting to be returned
 * @n: frames in @frames
 * @frames: the frames, returned together by xtap_queue_frames_return()
 *
 * Owned by one reader (on its stack); no lock.
 */
struct xtap_frame_bulk {
	unsigned int n;
	struct xdp_frame *frames[XTAP_FRAME_BULK];
};

/* node.c */
struct xtap_queue *xtap_queue_from_file(struct file *file);

/* queue.c */
int xtap_queue_vnet_hdr_len(struct xtap_queue *q);

/* write(): the queue's user -> the stack (netdev rx, guest TX) */
ssize_t xtap_queue_write_iter(struct xtap_queue *q, struct iov_iter *from,
			      struct list_head *batch);
void xtap_queue_write_flush(struct xtap_queue *q, struct list_head *batch);
/* ... in batches of XDP buffers (xdp.c) */
ssize_t xtap_queue_write_batched(struct xtap_queue *q, struct iov_iter *from,
				 struct xtap_write_batch *wb);
void xtap_queue_write_batch_end(struct xtap_queue *q,
				struct xtap_write_batch *wb);

/* read(): the ring -> the queue's user (netdev tx, guest RX) */
int xtap_queue_claim_reader(struct xtap_queue *q, const void *owner);
void xtap_queue_unclaim_reader(struct xtap_queue *q, const void *owner);
int xtap_queue_consume_batch(struct xtap_queue *q, void **ptrs, int n);
void xtap_queue_unconsume(struct xtap_queue *q, void **ptrs, int n);
int xtap_queue_ptr_len(const void *ptr);
ssize_t xtap_queue_read_ptr(struct xtap_queue *q, void *ptr,
			    struct iov_iter *to);
ssize_t xtap_queue_read_ptr_bulk(struct xtap_queue *q, void *ptr,
				 struct iov_iter *to,
				 struct xtap_frame_bulk *done);
void xtap_queue_frames_return(struct xtap_frame_bulk *done);
void xtap_queue_count_batch(struct xtap_queue *q, unsigned int frames);
void xtap_queue_ptr_free(void *ptr);
bool xtap_queue_ring_empty(struct xtap_queue *q);

/* Contract (kernel-doc with the implementation in queue.c):
 *
 * xtap_queue_from_file(): the queue behind @file, or NULL when @file is not
 *   an open xtap queue node.  Never sleeps.
 * xtap_queue_vnet_hdr_len(): bytes of virtio-net header that precede every
 *   frame in tx_iter/rx_ptr (0 without IFF_VNET_HDR; else the size set by
 *   TUNSETVNETHDRSZ: 10, 12 or 20).
 * xtap_queue_write_iter(): @from holds exactly what write() would get: the
 *   vnet header of the current size, then one Ethernet frame.  Validates the
 *   header (-EINVAL, counted), builds an skb with the offloads applied and,
 *   when @batch is NULL, hands it to the stack at once; otherwise appends it
 *   to @batch for xtap_queue_write_flush(), which hands a whole list to the
 *   stack (netif_receive_skb_list with BHs disabled).  Returns the bytes
 *   consumed from @from, or -errno: -EINVAL malformed, -ENOMEM, -EFAULT,
 *   -EBADFD when the device is gone.
 *   Also -EIO when the interface is down (counted, as tun does).  The
 *   bytes consumed are always all of @from.  With @batch, the skbs are
 *   counted as received when appended.
 * xtap_queue_write_batched(): what xtap_queue_write_iter() does, for a
 *   writer that moves frames in rounds (the vhost TX worker): small plain
 *   frames are copied into XDP buffers that wait in @wb; others go the skb
 *   way onto @wb's list.  xtap_queue_write_batch_end() ends the round: the
 *   XDP program runs on the buffers (verdicts in xdp.c), and the round's
 *   skbs reach the stack as one list.  Same return values.
 * xtap_queue_claim_reader() / xtap_queue_unclaim_reader(): one vhost RX
 *   virtqueue at a time consumes a queue ring: a second claim is -EBUSY until the
 *   first is given up (on detach).  read() is not excluded.
 * xtap_queue_consume_batch(): takes up to @n entries from the ring into
 *   @ptrs (consumer side; wakes the netdev tx queue at the low watermark,
 *   half the ring).  Returns the number taken; 0 when empty or the device
 *   is gone.  Process context only (the consumer lock is taken without
 *   disabling BHs).
 * xtap_queue_unconsume(): puts entries taken by consume_batch back at the
 *   head, in order (used when a backend detaches with entries in hand);
 *   entries that no longer fit are freed and counted as drops.
 * xtap_queue_ptr_len(): length of the frame behind a ring entry, without
 *   any vnet header.  Never sleeps.
 * xtap_queue_read_ptr(): writes the vnet header (current size; num_buffers,
 *   if present, is written as 1) then the frame into @to, and frees @ptr in
 *   every case.  Returns the bytes written or -errno (-EFAULT; -EINVAL when
 *   the frame cannot be described by a vnet header, e.g. a GSO skb on a
 *   queue without IFF_VNET_HDR, or when @to cannot hold the whole vnet
 *   header; both counted as tx_drop_hdr).  When @to is shorter than the
 *   header plus frame, the frame is truncated, counted (tx_truncated, the
 *   netdev's tx_errors), and the bytes written are returned.
 *   An xdp_frame (from ndo_xdp_xmit or XDP_TX) gets a zeroed vnet header
 *   (no checksum or GSO state; num_buffers 1).
 * xtap_queue_read_ptr_bulk(): the same, but a delivered xdp_frame is not
 *   returned at once: it joins @done, and xtap_queue_frames_return()
 *   returns all of @done with xdp_return_frame_bulk() in one RCU section
 *   (read_ptr_bulk does that itself when @done is full).  Entries that
 *   fail are freed at once as with xtap_queue_read_ptr().
 * xtap_queue_count_batch(): counts one batch of @frames frames delivered
 *   by a reader (tx_batches, tx_batch_frames).  Never sleeps.
 * xtap_queue_ptr_free(): frees a ring entry without delivering it (not
 *   counted: the caller counts the drop if it is one).
 * xtap_queue_ring_empty(): lockless "ring looks empty" test for pollers.
 *   Never sleeps.
 */

#endif /* _XTAP_QUEUE_H */
