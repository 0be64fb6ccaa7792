/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * The API of one xtap queue (one open of /dev/xtap<ifindex>), as called
 * directly by the vhost backend: no socket and no msghdr in between.
 *
 * The calls are named after the file operation they stand for, so they
 * need neither the netdev's nor the guest's direction names
 * (Documentation/networking/xtap.rst, "Directions").  A queue owns a
 * pointer ring filled by the netdev's tx (skb pointers from ndo_start_xmit;
 * later xdp_frame pointers tagged with XTAP_PTR_XDP from ndo_xdp_xmit) and
 * drained by exactly one consumer at a time, the reader: read()/read_iter()
 * from userspace, or the vhost RX worker (guest receive).  What the queue's
 * user writes (write(), or the vhost TX worker: guest transmit) becomes
 * skbs for the stack, the netdev's rx.
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
 * called with a reference on the queue's file held.  Their kernel-doc is
 * with the implementation (queue.c; xtap_queue_from_file() in node.c).
 */
#ifndef _XTAP_QUEUE_H
#define _XTAP_QUEUE_H

#include <linux/types.h>
#include <linux/virtio_net.h>

struct file;
struct iov_iter;
struct list_head;
struct xtap_queue;

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

/* node.c */
struct xtap_queue *xtap_queue_from_file(struct file *file);

/* queue.c */
int xtap_queue_vnet_hdr_len(struct xtap_queue *q);

/* write(): the queue's user -> the stack (netdev rx; guest transmit) */
ssize_t xtap_queue_write_iter(struct xtap_queue *q, struct iov_iter *from,
			      struct list_head *batch);
void xtap_queue_write_flush(struct xtap_queue *q, struct list_head *batch);

/* read(): the ring -> the queue's user (netdev tx; guest receive) */
int xtap_queue_claim_reader(struct xtap_queue *q, const void *owner);
void xtap_queue_unclaim_reader(struct xtap_queue *q, const void *owner);
int xtap_queue_consume_batch(struct xtap_queue *q, void **ptrs, int n);
void xtap_queue_unconsume(struct xtap_queue *q, void **ptrs, int n);
int xtap_queue_ptr_len(const void *ptr);
ssize_t xtap_queue_read_ptr(struct xtap_queue *q, void *ptr,
			    struct iov_iter *to);
void xtap_queue_ptr_free(void *ptr);
bool xtap_queue_ring_empty(struct xtap_queue *q);

#endif /* _XTAP_QUEUE_H */
