// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * TEMPORARY stand-in for the queue API of queue.h until the netdev branch
 * (queue.c) is merged: no file is a queue, so VHOST_NET_SET_BACKEND always
 * fails with -ENOTSOCK.  Delete together with its Kbuild line on merge.
 */

#include "queue.h"

#include <linux/errno.h>
#include <linux/list.h>

/**
 * xtap_queue_from_file() - stub
 * @file: any file
 *
 * Return: NULL.
 */
struct xtap_queue *xtap_queue_from_file(struct file *file)
{
	return NULL;
}

/**
 * xtap_queue_vnet_hdr_len() - stub
 * @q: unused
 *
 * Return: 0.
 */
int xtap_queue_vnet_hdr_len(struct xtap_queue *q)
{
	return 0;
}

/**
 * xtap_queue_tx_iter() - stub
 * @q: unused
 * @from: unused
 * @batch: unused
 *
 * Return: -EBADFD.
 */
ssize_t xtap_queue_tx_iter(struct xtap_queue *q, struct iov_iter *from,
			   struct list_head *batch)
{
	return -EBADFD;
}

/**
 * xtap_queue_tx_flush() - stub
 * @q: unused
 * @batch: unused
 */
void xtap_queue_tx_flush(struct xtap_queue *q, struct list_head *batch)
{
}

/**
 * xtap_queue_consume_batch() - stub
 * @q: unused
 * @ptrs: unused
 * @n: unused
 *
 * Return: 0.
 */
int xtap_queue_consume_batch(struct xtap_queue *q, void **ptrs, int n)
{
	return 0;
}

/**
 * xtap_queue_unconsume() - stub
 * @q: unused
 * @ptrs: unused
 * @n: unused
 */
void xtap_queue_unconsume(struct xtap_queue *q, void **ptrs, int n)
{
}

/**
 * xtap_queue_ptr_len() - stub
 * @ptr: unused
 *
 * Return: 0.
 */
int xtap_queue_ptr_len(const void *ptr)
{
	return 0;
}

/**
 * xtap_queue_rx_ptr() - stub
 * @q: unused
 * @ptr: unused
 * @to: unused
 *
 * Return: -EBADFD.
 */
ssize_t xtap_queue_rx_ptr(struct xtap_queue *q, void *ptr, struct iov_iter *to)
{
	return -EBADFD;
}

/**
 * xtap_queue_ptr_free() - stub
 * @ptr: unused
 */
void xtap_queue_ptr_free(void *ptr)
{
}

/**
 * xtap_queue_rx_empty() - stub
 * @q: unused
 *
 * Return: true.
 */
bool xtap_queue_rx_empty(struct xtap_queue *q)
{
	return true;
}
