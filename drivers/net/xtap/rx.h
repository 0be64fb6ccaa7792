/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Host -> guest: the RX virtqueue handler.
 */
#ifndef _XTAP_RX_H
#define _XTAP_RX_H

#include <linux/types.h>

struct xtap_vq;

/* rx.c */
void xtap_rx_handle(struct xtap_vq *vq);
void xtap_rx_serve(struct xtap_vq *vq);
bool xtap_rx_has_work(struct xtap_vq *vq);
void xtap_rx_return_pending(struct xtap_vq *vq);

#endif /* _XTAP_RX_H */
