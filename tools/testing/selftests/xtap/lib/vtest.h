/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Helpers shared by the vhost test programs (lib/vtest.c): a guest (vdrv)
 * attached to a backend with an AF_PACKET socket on the host side, test
 * frames carrying a sequence number and a position-dependent pattern, and
 * the prerequisite check for the upstream variants.  Like vdrv, nothing here
 * asserts: functions return 0/-errno and name the failing step in
 * vtest_env::what.
 */
#ifndef _VTEST_H
#define _VTEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>

#include "vdrv.h"

/* EtherType of test frames (IEEE 802 local experimental 1) and probes (2). */
#define VTEST_ETH_P		0x88b5
#define VTEST_ETH_P_PROBE	0x88b6
#define VTEST_HDR		14
/* Frame body: seq (be32) and total length (be32), then the pattern. */
#define VTEST_MIN_SEQ_LEN	(VTEST_HDR + 8)

/* vtest_env_up() flag (with the VDRV_BE_* ones): post no RX buffers */
#define VTEST_NO_RX_FILL	0x10000

/**
 * struct vtest_env - a guest attached to a backend, and the host side
 * @be: the interface with its queue and vhost fds
 * @d: the driver
 * @pkt: AF_PACKET socket bound to the interface
 * @what: step that failed
 * @foreign: frames the host received that were no test frames
 * @raw_seen: raw requests vtest_rx_sync() found in the RX queue
 * @raw_used: the last of them
 * @no_rx_fill: do not post RX buffers when attaching
 * @d_ready: @d was initialised (vdrv_fini() needed)
 */
struct vtest_env {
	struct vdrv_backend be;
	struct vdrv d;
	int pkt;
	const char *what;
	unsigned long foreign;
	unsigned int raw_seen;
	struct vdrv_used raw_used;
	bool no_rx_fill;
	bool d_ready;
};

/* Pattern byte @i of test frame @seq. */
static inline uint8_t vtest_pat(uint32_t seq, size_t i)
{
	return (uint8_t)(seq * 131u + i * 7u + (i >> 8) * 13u + 1u);
}

/* EtherType of a received frame, or 0 when it is too short. */
static inline uint16_t vtest_proto(const uint8_t *f, size_t len)
{
	return len >= VTEST_HDR ? (uint16_t)(f[12] << 8 | f[13]) : 0;
}

/* Test frames. */
void vtest_frame_head(uint8_t *hdr, size_t len, uint32_t seq, uint16_t proto);
void vtest_frame(uint8_t *f, size_t len, uint32_t seq, uint16_t proto);
uint32_t vtest_seq(const uint8_t *f, size_t len);
long vtest_frame_diff(const uint8_t *f, size_t got, size_t len, uint32_t seq,
		      uint16_t proto);
long vtest_now_ms(void);

/* Prerequisites and test selection. */
const char *vtest_upstream_unavailable(void);
const char *vtest_filtered(enum vdrv_kind kind, const char *test);
void vtest_ifname(char *name, size_t len, enum vdrv_kind kind,
		  const char *tag);

/* The environment: a guest on a backend plus the host socket. */
int vtest_env_attach(struct vtest_env *e, const struct vdrv_config *cfg);
int vtest_env_up(struct vtest_env *e, enum vdrv_kind kind, const char *tag,
		 const struct vdrv_config *cfg, unsigned int be_flags);
void vtest_env_down(struct vtest_env *e);

/* Traffic: host -> guest. */
int vtest_rx_refill(struct vtest_env *e);
int vtest_guest_recv(struct vtest_env *e, void *buf, size_t cap,
		     struct vdrv_rx_info *info, int timeout_ms);
int vtest_rx_sync(struct vtest_env *e, int timeout_ms);
int vtest_rx_exhaust(struct vtest_env *e, size_t len, int timeout_ms);
int vtest_guest_expect(struct vtest_env *e, void *buf, size_t cap,
		       size_t len, uint32_t seq, int timeout_ms);
int vtest_host_to_guest(struct vtest_env *e, size_t len, uint32_t seq,
			int timeout_ms);

/* Traffic: guest -> host. */
int vtest_guest_send(struct vtest_env *e, const void *frame, size_t len,
		     bool kick, int timeout_ms);
int vtest_tx_drain(struct vtest_env *e, int timeout_ms);
int vtest_host_recv(struct vtest_env *e, void *buf, size_t cap,
		    uint16_t proto, int timeout_ms);
int vtest_check_frame(struct vtest_env *e, const uint8_t *buf, int ret,
		      size_t len, uint32_t seq);
int vtest_host_expect(struct vtest_env *e, void *buf, size_t cap,
		      size_t len, uint32_t seq, int timeout_ms);

#ifdef __KSELFTEST_HARNESS_H
/* In FIXTURE_SETUP: skip when the upstream backend cannot exist here. */
#define VTEST_SKIP_UPSTREAM_UNAVAILABLE(kind) do {			\
	const char *__why = vtest_upstream_unavailable();		\
	if (__why && (kind) == VDRV_UPSTREAM)				\
		SKIP(_exit(255), "%s", __why);				\
} while (0)

/* In FIXTURE_SETUP: skip tests that VTEST_ONLY filters out. */
#define VTEST_FILTER(kind) do {						\
	const char *__n = vtest_filtered((kind), _metadata->name);	\
	if (__n)							\
		SKIP(_exit(255), "%s filtered out by VTEST_ONLY", __n);	\
} while (0)
#endif

#endif /* _VTEST_H */
