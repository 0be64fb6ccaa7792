/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Guest transmit (guest -> host): the TX virtqueue handler.
 */
#ifndef _XTAP_TX_H
#define _XTAP_TX_H

#include <linux/types.h>

struct xtap_vq;

/* tx.c */
void xtap_tx_handle(struct xtap_vq *vq);
void xtap_tx_serve(struct xtap_vq *vq);
bool xtap_tx_has_work(struct xtap_vq *vq);

#endif /* _XTAP_TX_H */
