// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * vtest: helpers shared by the vhost test programs (see vtest.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "vtest.h"

static const uint8_t vtest_dst[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x02 };
static const uint8_t vtest_src[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x01 };

/* The first bytes of test frame @seq of @len bytes (header, seq, len). */
void vtest_frame_head(uint8_t *hdr, size_t len, uint32_t seq, uint16_t proto)
{
	uint32_t v;

	memcpy(hdr, vtest_dst, 6);
	memcpy(hdr + 6, vtest_src, 6);
	hdr[12] = proto >> 8;
	hdr[13] = proto & 0xff;
	v = htonl(seq);
	memcpy(hdr + 14, &v, 4);
	v = htonl((uint32_t)len);
	memcpy(hdr + 18, &v, 4);
}

/* Build the test frame number @seq of @len bytes (any length, even < 14). */
void vtest_frame(uint8_t *f, size_t len, uint32_t seq, uint16_t proto)
{
	uint8_t hdr[VTEST_MIN_SEQ_LEN];
	size_t i;

	vtest_frame_head(hdr, len, seq, proto);
	memcpy(f, hdr, len < sizeof(hdr) ? len : sizeof(hdr));
	for (i = sizeof(hdr); i < len; i++)
		f[i] = vtest_pat(seq, i);
}

/* Sequence number of a test frame (UINT32_MAX when it carries none). */
uint32_t vtest_seq(const uint8_t *f, size_t len)
{
	uint32_t v;

	if (len < VTEST_MIN_SEQ_LEN)
		return UINT32_MAX;
	memcpy(&v, f + 14, 4);
	return ntohl(v);
}

/*
 * Compare a received frame with test frame @seq of @len bytes.
 * Return: -1 when equal, else the first differing offset (len when only the
 * lengths differ).
 */
long vtest_frame_diff(const uint8_t *f, size_t got, size_t len,
		      uint32_t seq, uint16_t proto)
{
	uint8_t hdr[VTEST_MIN_SEQ_LEN];
	size_t i, n = got < len ? got : len;

	vtest_frame_head(hdr, len, seq, proto);
	for (i = 0; i < n && i < sizeof(hdr); i++)
		if (f[i] != hdr[i])
			return i;
	for (; i < n; i++)
		if (f[i] != vtest_pat(seq, i))
			return i;
	return got == len ? -1 : (long)n;
}

/* CLOCK_MONOTONIC in milliseconds. */
long vtest_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * The upstream variants (and the tests that hand xtap a tun fd) need tun
 * and vhost-net.  The test VM has the modules but nothing loads them.
 *
 * Return: NULL when both nodes exist (after loading the modules if needed),
 * else the reason to skip.
 */
const char *vtest_upstream_unavailable(void)
{
	static const char *const nodes[] = { "/dev/net/tun", "/dev/vhost-net" };
	static char why[128];
	unsigned int i;

	/* a failure shows in the checks below */
	if ((access(nodes[0], F_OK) || access(nodes[1], F_OK)) &&
	    system("modprobe -q -a tun vhost_net >/dev/null 2>&1") < 0)
		return "cannot run modprobe";
	for (i = 0; i < 2; i++) {
		if (access(nodes[i], F_OK)) {
			snprintf(why, sizeof(why),
				 "%s missing (modprobe tun vhost_net failed)",
				 nodes[i]);
			return why;
		}
	}
	return NULL;
}

/*
 * Development aid: with VTEST_ONLY=word in the environment, tests whose
 * "<backend>.<test>" name lacks the word skip (the 6.1 harness has no
 * filter option).  Never set in the suite.
 */
const char *vtest_filtered(enum vdrv_kind kind, const char *test)
{
	const char *only = getenv("VTEST_ONLY");
	static char name[128];

	if (!only)
		return NULL;
	snprintf(name, sizeof(name), "%s.%s", vdrv_kind_name(kind), test);
	return strstr(name, only) ? NULL : name;
}

/* Interface name unique to this test process. */
void vtest_ifname(char *name, size_t len, enum vdrv_kind kind, const char *tag)
{
	snprintf(name, len, "v%c%s%d", kind == VDRV_XTAP ? 'x' : 'u', tag,
		 (int)(getpid() % 1000000));
}

/* Driver half of vtest_env_up(): set up @e->d on @e->be and attach it. */
int vtest_env_attach(struct vtest_env *e, const struct vdrv_config *cfg)
{
	int ret;

	e->what = "vdrv_init";
	ret = vdrv_init(&e->d, cfg);
	e->d_ready = true;
	if (ret)
		return ret;
	e->what = "vdrv_setup";
	ret = vdrv_setup(&e->d, e->be.vhost_fd);
	if (ret)
		return ret;
	e->what = "TUNSETVNETHDRSZ";
	ret = vdrv_backend_set_hdr_len(&e->be, vdrv_sock_hdr_len(&e->d));
	if (ret)
		return ret;
	e->what = "vdrv_attach";
	ret = vdrv_attach(&e->d, e->be.tap_fd);
	if (ret)
		return ret;
	if (!e->no_rx_fill) {
		e->what = "vdrv_rx_fill";
		ret = vdrv_rx_fill(&e->d);
		if (ret < 0)
			return ret;
		vdrv_kick(&e->d, VDRV_RX);
	}
	e->what = "link running";
	return vdrv_backend_wait_running(&e->be, 5000);
}

/**
 * vtest_env_up() - create a backend, attach a guest, open the host socket
 * @e: environment
 * @kind: backend kind
 * @tag: short tag for the interface name
 * @cfg: driver configuration
 * @be_flags: VDRV_BE_*
 *
 * Return: 0 or -errno (@e->what names the step; call vtest_env_down()).
 */
int vtest_env_up(struct vtest_env *e, enum vdrv_kind kind,
		 const char *tag, const struct vdrv_config *cfg,
		 unsigned int be_flags)
{
	char name[IFNAMSIZ];
	int ret;

	memset(e, 0, sizeof(*e));
	e->pkt = -1;
	e->be.tap_fd = -1;
	e->be.vhost_fd = -1;
	e->no_rx_fill = be_flags & VTEST_NO_RX_FILL;
	be_flags &= ~VTEST_NO_RX_FILL;
	if (cfg->features & VDRV_F(VHOST_NET_F_VIRTIO_NET_HDR))
		be_flags |= VDRV_BE_NO_VNET_HDR;
	vtest_ifname(name, sizeof(name), kind, tag);
	e->what = "create backend";
	ret = vdrv_backend_create(&e->be, kind, name, be_flags);
	if (ret)
		return ret;
	ret = vtest_env_attach(e, cfg);
	if (ret)
		return ret;
	e->what = "AF_PACKET socket";
	ret = vdrv_pkt_open(e->be.ifindex);
	if (ret < 0)
		return ret;
	e->pkt = ret;
	return 0;
}

/* Tear down what vtest_env_up() built (safe on a partial setup). */
void vtest_env_down(struct vtest_env *e)
{
	if (e->pkt >= 0)
		close(e->pkt);
	e->pkt = -1;
	/* close the vhost fd before the queue fd, as QEMU does */
	vdrv_backend_destroy(&e->be);
	if (e->d_ready)
		vdrv_fini(&e->d);
	e->d_ready = false;
}

/* Re-post RX buffers and notify the device if it asks. */
int vtest_rx_refill(struct vtest_env *e)
{
	int ret = vdrv_rx_fill(&e->d);

	if (ret < 0)
		return ret;
	if (ret > 0)
		vdrv_kick(&e->d, VDRV_RX);
	return 0;
}

/**
 * vtest_guest_recv() - the guest receives the next frame
 * @e: environment
 * @buf: where to copy it
 * @cap: size of @buf
 * @info: details from vdrv_rx_recv()
 * @timeout_ms: how long to wait for it
 *
 * Refills RX buffers as they are consumed.  Probe frames (see
 * vtest_rx_sync()) are skipped.
 *
 * Return: frame length, -ETIMEDOUT, or another -errno.
 */
int vtest_guest_recv(struct vtest_env *e, void *buf, size_t cap,
		     struct vdrv_rx_info *info, int timeout_ms)
{
	long deadline = vtest_now_ms() + timeout_ms;
	int ret;

	for (;;) {
		ret = vdrv_rx_recv(&e->d, buf, cap, info);
		if (ret >= 0 && !info->raw &&
		    vtest_proto(buf, (size_t)ret < cap ? (size_t)ret : cap) ==
		    VTEST_ETH_P_PROBE)
			continue;
		if (ret != -EAGAIN) {
			if (ret < 0)
				e->what = e->d.err_op;
			return ret;
		}
		ret = vtest_rx_refill(e);
		if (ret)
			return ret;
		if (vtest_now_ms() > deadline)
			return -ETIMEDOUT;
		ret = vdrv_wait(&e->d, 1U << VDRV_RX, 50);
		if (ret < 0)
			return ret;
	}
}

/**
 * vtest_rx_sync() - wait until frames sent on the host reach the guest
 * @e: environment
 * @timeout_ms: how long to try
 *
 * A tap gets its carrier when a queue attaches, and the stack starts
 * transmitting on it asynchronously (linkwatch); frames sent before that
 * are dropped.  Send probe frames until one arrives, then drain the probes.
 * Raw requests found in the RX queue on the way are counted in
 * @e->raw_seen (the last one kept in @e->raw_used).
 *
 * Return: 0 or -ETIMEDOUT.
 */
int vtest_rx_sync(struct vtest_env *e, int timeout_ms)
{
	long deadline = vtest_now_ms() + timeout_ms;
	struct vdrv_rx_info info;
	uint8_t f[64];
	int ret;

	vtest_frame(f, sizeof(f), 0, VTEST_ETH_P_PROBE);
	while (vtest_now_ms() < deadline) {
		vdrv_pkt_send(e->pkt, e->be.ifindex, f, sizeof(f));
		vtest_rx_refill(e);
		if (vdrv_wait(&e->d, 1U << VDRV_RX, 20) < 0)
			return -EIO;
		ret = vdrv_rx_recv(&e->d, f, sizeof(f), &info);
		while (ret >= 0 && info.raw) {
			e->raw_seen++;
			e->raw_used = info.used;
			ret = vdrv_rx_recv(&e->d, f, sizeof(f), &info);
		}
		if (ret >= 0 && vtest_proto(f, ret) == VTEST_ETH_P_PROBE) {
			/* let stragglers arrive, then drop them */
			usleep(50000);
			while (vdrv_rx_recv(&e->d, f, sizeof(f), &info) >= 0)
				;
			vtest_frame(f, sizeof(f), 0, VTEST_ETH_P_PROBE);
			return vtest_rx_refill(e);
		}
		vtest_frame(f, sizeof(f), 0, VTEST_ETH_P_PROBE);
	}
	e->what = "RX sync: no probe frame reached the guest";
	return -ETIMEDOUT;
}

/**
 * vtest_rx_exhaust() - use up every RX buffer the guest has posted
 * @e: environment
 * @len: length of the frames sent to fill them (at most 1514)
 * @timeout_ms: how long the frames may take to arrive
 *
 * Sends one frame per posted buffer (pausing 20 ms after every 64, so the
 * queue ring is not outrun) and reaps them all without posting new ones:
 * afterwards the guest has no RX buffer left.
 *
 * Return: 0, -ETIMEDOUT, -EIO if buffers are still in flight, -errno.
 */
int vtest_rx_exhaust(struct vtest_env *e, size_t len, int timeout_ms)
{
	unsigned int n = e->d.vq[VDRV_RX].inflight, got = 0, i;
	uint8_t f[1514], r[1514 + 64];
	struct vdrv_rx_info info;
	long deadline;
	int ret;

	if (len > sizeof(f))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		vtest_frame(f, len, 500 + i, VTEST_ETH_P);
		ret = vdrv_pkt_send(e->pkt, e->be.ifindex, f, len);
		if (ret)
			return ret;
		if (i % 64 == 63)
			usleep(20000);
	}
	deadline = vtest_now_ms() + timeout_ms;
	while (got < n) {
		ret = vdrv_rx_recv(&e->d, r, sizeof(r), &info);
		if (ret >= 0) {
			got++;
			continue;
		}
		if (ret != -EAGAIN)
			return ret;
		if (vtest_now_ms() > deadline)
			return -ETIMEDOUT;
		vdrv_wait(&e->d, 1U << VDRV_RX, 50);
	}
	return e->d.vq[VDRV_RX].inflight ? -EIO : 0;
}

/**
 * vtest_guest_send() - the guest queues one frame for transmission
 * @e: environment
 * @frame: the frame
 * @len: its length
 * @kick: notify the device (when it asks) after queueing
 * @timeout_ms: how long to wait for ring space
 *
 * Return: 0, -ETIMEDOUT when the ring stays full, -errno.
 */
int vtest_guest_send(struct vtest_env *e, const void *frame,
		     size_t len, bool kick, int timeout_ms)
{
	long deadline = vtest_now_ms() + timeout_ms;
	int ret;

	for (;;) {
		ret = vdrv_tx_send(&e->d, frame, len, NULL, NULL);
		if (ret >= 0)
			break;
		if (ret != -ENOSPC)
			return ret;
		ret = vdrv_tx_reap(&e->d, 0);
		if (ret < 0)
			return ret;
		if (ret > 0)
			continue;
		vdrv_kick(&e->d, VDRV_TX);
		if (vtest_now_ms() > deadline)
			return -ETIMEDOUT;
		ret = vdrv_wait(&e->d, 1U << VDRV_TX, 50);
		if (ret < 0)
			return ret;
	}
	if (kick)
		vdrv_kick(&e->d, VDRV_TX);
	return 0;
}

/* Wait until every queued TX request has come back. */
int vtest_tx_drain(struct vtest_env *e, int timeout_ms)
{
	long deadline = vtest_now_ms() + timeout_ms;
	int ret;

	vdrv_kick(&e->d, VDRV_TX);
	while (e->d.vq[VDRV_TX].inflight) {
		ret = vdrv_tx_reap(&e->d, 0);
		if (ret < 0)
			return ret;
		if (ret > 0)
			continue;
		if (vtest_now_ms() > deadline)
			return -ETIMEDOUT;
		ret = vdrv_wait(&e->d, 1U << VDRV_TX, 50);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/**
 * vtest_host_recv() - the host receives the next test frame from the guest
 * @e: environment
 * @buf: where to put it
 * @cap: size of @buf
 * @proto: EtherType to accept; other frames are skipped and counted
 * @timeout_ms: how long to wait
 *
 * Return: frame length, -ETIMEDOUT, -errno.
 */
int vtest_host_recv(struct vtest_env *e, void *buf, size_t cap,
		    uint16_t proto, int timeout_ms)
{
	long deadline = vtest_now_ms() + timeout_ms;
	int ret;

	for (;;) {
		long left = deadline - vtest_now_ms();

		ret = vdrv_pkt_recv(e->pkt, buf, cap, left > 0 ? left : 0);
		if (ret < 0)
			return ret;
		if (vtest_proto(buf, (size_t)ret < cap ? (size_t)ret : cap) == proto)
			return ret;
		e->foreign++;
	}
}

/* Check a frame received by vtest_guest_recv()/vtest_host_recv(): @ret is
 * what the receive returned, @len and @seq what test frame is expected.
 * Return: 0, @ret when it is an error, -EBADMSG with @e->what set.
 */
int vtest_check_frame(struct vtest_env *e, const uint8_t *buf,
		      int ret, size_t len, uint32_t seq)
{
	if (ret < 0)
		return ret;
	if ((size_t)ret != len) {
		e->what = "frame of the wrong length";
		return -EBADMSG;
	}
	if (vtest_frame_diff(buf, ret, len, seq, VTEST_ETH_P) != -1) {
		e->what = "frame with the wrong content";
		return -EBADMSG;
	}
	return 0;
}

/**
 * vtest_guest_expect() - the guest receives test frame @seq of @len bytes
 * @e: environment
 * @buf: receive buffer
 * @cap: its size
 * @len: expected length
 * @seq: expected sequence number
 * @timeout_ms: how long to wait
 *
 * Return: 0, -EBADMSG for another frame, -errno; @e->what says what failed.
 */
int vtest_guest_expect(struct vtest_env *e, void *buf,
		       size_t cap, size_t len, uint32_t seq,
		       int timeout_ms)
{
	struct vdrv_rx_info info;

	return vtest_check_frame(e, buf,
				 vtest_guest_recv(e, buf, cap, &info,
						  timeout_ms), len, seq);
}

/**
 * vtest_host_to_guest() - send test frame @seq of @len bytes from the host
 *	and check that the guest receives exactly it
 * @e: environment
 * @len: frame length, at most 1514
 * @seq: sequence number
 * @timeout_ms: how long to wait
 *
 * Return: 0, -EBADMSG for another frame, -errno; @e->what says what failed.
 */
int vtest_host_to_guest(struct vtest_env *e, size_t len,
			uint32_t seq, int timeout_ms)
{
	uint8_t f[1514], r[1514 + 64];
	int ret;

	if (len > sizeof(f))
		return -EINVAL;
	vtest_frame(f, len, seq, VTEST_ETH_P);
	ret = vdrv_pkt_send(e->pkt, e->be.ifindex, f, len);
	if (ret) {
		e->what = "host send";
		return ret;
	}
	return vtest_guest_expect(e, r, sizeof(r), len, seq, timeout_ms);
}

/**
 * vtest_host_expect() - the host receives test frame @seq of @len bytes
 * @e: environment
 * @buf: receive buffer
 * @cap: its size
 * @len: expected length
 * @seq: expected sequence number
 * @timeout_ms: how long to wait
 *
 * Return: 0, -EBADMSG for another frame, -errno; @e->what says what failed.
 */
int vtest_host_expect(struct vtest_env *e, void *buf,
		      size_t cap, size_t len, uint32_t seq,
		      int timeout_ms)
{
	int ret = vtest_host_recv(e, buf, cap, VTEST_ETH_P, timeout_ms);

	if (ret < 0)
		e->what = "host receive";
	return vtest_check_frame(e, buf, ret, len, seq);
}
