// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * vhost datapath through the userspace virtio driver (lib/vdrv): the test
 * plays the guest on one side and the host stack (AF_PACKET on the
 * interface) on the other, against upstream vhost-net + tun and against
 * /dev/vhost-xtap + /dev/xtap<ifindex>, with the same code.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "xtest.h"
#include "vtest.h"

#define BUF_SIZE	(VDRV_MAX_FRAME + 64)
#define WAIT_MS		5000
/* MTU that lets the host send 65535-byte frames (65535 - Ethernet header) */
#define BIG_MTU		(VDRV_MAX_FRAME - VTEST_HDR)
/* Stream tests: frames per direction, frames in flight, time limit (s) */
#define STREAM_N	100000
#define STREAM_WIN	64
#define STREAM_TIMEOUT	300
/* Detach/attach tests: rounds, frames per round */
#define DETACH_ROUNDS	5
#define DETACH_BURST	64

static const size_t frame_sizes[] = { 14, 60, 1500, 9000, VDRV_MAX_FRAME };

FIXTURE(dp)
{
	struct vtest_env e;
	uint8_t *f;
	uint8_t *r;
};

FIXTURE_VARIANT(dp)
{
	enum vdrv_kind kind;
	uint64_t features;
	bool tx_split_hdr;
	unsigned int tx_frags;
	bool rx_split_hdr;
	uint32_t busyloop_us;
	int rx_cpu;
	int tx_cpu;
};

#define QEMU_F		VDRV_FEATURES_QEMU
#define NO(bit)		(QEMU_F & ~VDRV_F(bit))

#define DP_VARIANTS(K, k)						\
FIXTURE_VARIANT_ADD(dp, k##_qemu) {					\
	.kind = K, .features = QEMU_F,					\
	.tx_split_hdr = true, .tx_frags = 2,				\
};									\
FIXTURE_VARIANT_ADD(dp, k##_no_event_idx) {				\
	.kind = K, .features = NO(VIRTIO_RING_F_EVENT_IDX),		\
	.tx_split_hdr = true, .tx_frags = 2,				\
};									\
FIXTURE_VARIANT_ADD(dp, k##_no_indirect) {				\
	.kind = K, .features = NO(VIRTIO_RING_F_INDIRECT_DESC),	\
	.tx_split_hdr = true, .tx_frags = 2,				\
};									\
FIXTURE_VARIANT_ADD(dp, k##_no_mrg_rxbuf) {				\
	.kind = K, .features = NO(VIRTIO_NET_F_MRG_RXBUF),		\
	.tx_split_hdr = true, .tx_frags = 2, .rx_split_hdr = true,	\
};									\
FIXTURE_VARIANT_ADD(dp, k##_no_mrg_no_indirect) {			\
	.kind = K, .features = NO(VIRTIO_NET_F_MRG_RXBUF) &		\
			       ~VDRV_F(VIRTIO_RING_F_INDIRECT_DESC),	\
	.tx_frags = 3,							\
};									\
FIXTURE_VARIANT_ADD(dp, k##_legacy) {					\
	.kind = K, .features = 0,					\
	.tx_split_hdr = true, .tx_frags = 1, .rx_split_hdr = true,	\
};									\
FIXTURE_VARIANT_ADD(dp, k##_nethdr) {					\
	.kind = K,							\
	.features = QEMU_F | VDRV_F(VHOST_NET_F_VIRTIO_NET_HDR),	\
	.tx_frags = 1,							\
}

DP_VARIANTS(VDRV_UPSTREAM, upstream);
DP_VARIANTS(VDRV_XTAP, xtap);

/*
 * Busy polling on both virtqueues.  With both worker threads on one CPU a
 * worker that spins also serves the other direction of its pair
 * (xtap_busy_poll()), so every test runs through that path; with the
 * threads on two CPUs each spins for its own ring only.  The CPU numbers
 * are 1 + the CPU (0: not pinned).  No timing is checked, only what
 * arrives.
 */
FIXTURE_VARIANT_ADD(dp, xtap_busy_poll) {
	.kind = VDRV_XTAP, .features = QEMU_F,
	.tx_split_hdr = true, .tx_frags = 2, .busyloop_us = 50,
	.rx_cpu = 1, .tx_cpu = 1,
};
FIXTURE_VARIANT_ADD(dp, xtap_busy_poll_no_event_idx) {
	.kind = VDRV_XTAP, .features = NO(VIRTIO_RING_F_EVENT_IDX),
	.tx_split_hdr = true, .tx_frags = 2, .busyloop_us = 50,
	.rx_cpu = 1, .tx_cpu = 1,
};
FIXTURE_VARIANT_ADD(dp, xtap_busy_poll_two_cpus) {
	.kind = VDRV_XTAP, .features = QEMU_F,
	.tx_split_hdr = true, .tx_frags = 2, .busyloop_us = 50,
	.rx_cpu = 1, .tx_cpu = 2,
};

/* Pin the xtap worker of direction @dir ("rx" or "tx") attached to queue 0
 * of @ifindex to CPU @cpu - 1 (0: leave it).
 */
static int pin_worker(const char *dir, int ifindex, int cpu)
{
	char comm[32];
	cpu_set_t set;
	int pid, n;

	if (!cpu)
		return 0;
	if (sysconf(_SC_NPROCESSORS_ONLN) < cpu)
		return 0;
	vdrv_xtap_worker_name(comm, sizeof(comm), dir, ifindex, 0);
	n = vdrv_threads_named(comm, &pid, 1);
	if (n < 0)
		return n;
	if (n != 1)
		return -ESRCH;
	CPU_ZERO(&set);
	CPU_SET(cpu - 1, &set);
	return sched_setaffinity(pid, sizeof(set), &set) ? -errno : 0;
}

static void dp_config(const FIXTURE_VARIANT(dp) *v, struct vdrv_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->features = v->features;
	cfg->tx_split_hdr = v->tx_split_hdr;
	cfg->tx_frags = v->tx_frags;
	cfg->rx_split_hdr = v->rx_split_hdr;
	cfg->busyloop_us = v->busyloop_us;
}

FIXTURE_SETUP(dp)
{
	struct vdrv_config cfg;
	int ret;

	VTEST_FILTER(variant->kind);
	VTEST_SKIP_UPSTREAM_UNAVAILABLE(variant->kind);
	self->f = malloc(BUF_SIZE);
	self->r = malloc(BUF_SIZE);
	ASSERT_NE(NULL, self->f);
	ASSERT_NE(NULL, self->r);
	dp_config(variant, &cfg);
	ret = vtest_env_up(&self->e, variant->kind, "d", &cfg, 0);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->e.what, strerror(-ret));
	ret = pin_worker("rx", self->e.be.ifindex, variant->rx_cpu);
	ASSERT_EQ(0, ret) TH_LOG("pin the RX worker: %s", strerror(-ret));
	ret = pin_worker("tx", self->e.be.ifindex, variant->tx_cpu);
	ASSERT_EQ(0, ret) TH_LOG("pin the TX worker: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(dp)
{
	vtest_env_down(&self->e);
	free(self->f);
	free(self->r);
}

/* Guest -> host: every size arrives intact, in one piece. */
TEST_F(dp, tx_sizes)
{
	unsigned int i;
	int ret;

	ASSERT_EQ(0, vdrv_link_set_mtu(self->e.be.ifname, BIG_MTU));
	for (i = 0; i < ARRAY_SIZE(frame_sizes); i++) {
		size_t len = frame_sizes[i];
		long diff;

		vtest_frame(self->f, len, i, VTEST_ETH_P);
		ASSERT_EQ(0, vtest_guest_send(&self->e, self->f, len, true,
					      WAIT_MS));
		ret = vtest_host_recv(&self->e, self->r, BUF_SIZE, VTEST_ETH_P,
				      WAIT_MS);
		ASSERT_EQ((int)len, ret) TH_LOG("frame of %zu bytes", len);
		diff = vtest_frame_diff(self->r, ret, len, i, VTEST_ETH_P);
		ASSERT_EQ(-1, diff) TH_LOG("%zu-byte frame differs at %ld",
					   len, diff);
	}
	ASSERT_EQ(0, vtest_tx_drain(&self->e, WAIT_MS));
	EXPECT_EQ(0U, self->e.d.vq[VDRV_TX].inflight);
}

/* Host -> guest: every size arrives intact, with a plain vnet header. */
TEST_F(dp, rx_sizes)
{
	struct vdrv_rx_info info;
	unsigned int i;
	int ret;

	ASSERT_EQ(0, vdrv_link_set_mtu(self->e.be.ifname, BIG_MTU));
	ASSERT_EQ(0, vtest_rx_sync(&self->e, WAIT_MS));
	for (i = 0; i < ARRAY_SIZE(frame_sizes); i++) {
		size_t len = frame_sizes[i];
		long diff;

		vtest_frame(self->f, len, i, VTEST_ETH_P);
		ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt, self->e.be.ifindex,
					   self->f, len));
		ret = vtest_guest_recv(&self->e, self->r, BUF_SIZE, &info,
				       WAIT_MS);
		ASSERT_EQ((int)len, ret) TH_LOG("frame of %zu bytes: %s", len,
						 self->e.what);
		EXPECT_FALSE(info.raw);
		EXPECT_EQ(VIRTIO_NET_HDR_GSO_NONE, info.hdr.hdr.gso_type);
		diff = vtest_frame_diff(self->r, ret, len, i, VTEST_ETH_P);
		ASSERT_EQ(-1, diff) TH_LOG("%zu-byte frame differs at %ld",
					   len, diff);
	}
}

/*
 * A 1-byte frame is no Ethernet frame: the backend completes the request
 * without delivering it (xtap and upstream alike), and the next frame goes
 * through.
 */
TEST_F(dp, tx_runt)
{
	int ret;

	vtest_frame(self->f, 1, 0, VTEST_ETH_P);
	ASSERT_LE(0, vdrv_tx_send(&self->e.d, self->f, 1, NULL, NULL));
	vtest_frame(self->f, 60, 7, VTEST_ETH_P);
	ASSERT_EQ(0, vtest_guest_send(&self->e, self->f, 60, true, WAIT_MS));
	/* the first frame the host sees is the good one */
	ret = vdrv_pkt_recv(self->e.pkt, self->r, BUF_SIZE, WAIT_MS);
	ASSERT_EQ(60, ret);
	EXPECT_EQ(-1, vtest_frame_diff(self->r, ret, 60, 7, VTEST_ETH_P));
	ASSERT_EQ(0, vtest_tx_drain(&self->e, WAIT_MS));
}

/* Frames per stream test; VTEST_STREAM_N overrides (for measurements). */
static unsigned int stream_n(void)
{
	const char *s = getenv("VTEST_STREAM_N");

	return s ? strtoul(s, NULL, 0) : STREAM_N;
}

static size_t stream_len(uint32_t seq)
{
	return 60 + (seq * 37) % 200;
}

/* Guest -> host: a long stream in windows, none lost, in order. */
TEST_F_TIMEOUT(dp, tx_stream, STREAM_TIMEOUT)
{
	unsigned int n = stream_n(), sent = 0, got = 0;
	long t0 = vtest_now_ms();
	int ret;

	while (got < n) {
		while (sent < n && sent - got < STREAM_WIN) {
			vtest_frame(self->f, stream_len(sent), sent,
				    VTEST_ETH_P);
			ASSERT_EQ(0, vtest_guest_send(&self->e, self->f,
						      stream_len(sent), false,
						      WAIT_MS));
			sent++;
		}
		vdrv_kick(&self->e.d, VDRV_TX);
		while (got < sent) {
			size_t len = stream_len(got);

			ret = vtest_host_recv(&self->e, self->r, BUF_SIZE,
					      VTEST_ETH_P, WAIT_MS);
			ASSERT_EQ((int)len, ret)
				TH_LOG("frame %u of %u: %s", got, n,
				       ret < 0 ? strerror(-ret) : "length");
			ASSERT_EQ(got, vtest_seq(self->r, ret));
			ASSERT_EQ(-1, vtest_frame_diff(self->r, ret, len, got,
						       VTEST_ETH_P));
			got++;
		}
		ASSERT_LE(0, vdrv_tx_reap(&self->e.d, 0));
	}
	ASSERT_EQ(0, vtest_tx_drain(&self->e, WAIT_MS));
	TH_LOG("%u frames in %ld ms, %llu kicks, %llu kicks saved, %llu calls",
	       n, vtest_now_ms() - t0,
	       (unsigned long long)self->e.d.vq[VDRV_TX].kicks,
	       (unsigned long long)self->e.d.vq[VDRV_TX].kicks_saved,
	       (unsigned long long)self->e.d.vq[VDRV_TX].calls);
}

/* Host -> guest: a long stream in windows, none lost, in order. */
TEST_F_TIMEOUT(dp, rx_stream, STREAM_TIMEOUT)
{
	unsigned int n = stream_n(), sent = 0, got = 0;
	struct vdrv_rx_info info;
	long t0;
	int ret;

	ASSERT_EQ(0, vtest_rx_sync(&self->e, WAIT_MS));
	t0 = vtest_now_ms();
	while (got < n) {
		while (sent < n && sent - got < STREAM_WIN) {
			vtest_frame(self->f, stream_len(sent), sent,
				    VTEST_ETH_P);
			ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt,
						   self->e.be.ifindex, self->f,
						   stream_len(sent)));
			sent++;
		}
		while (got < sent) {
			size_t len = stream_len(got);

			ret = vtest_guest_recv(&self->e, self->r, BUF_SIZE,
					       &info, WAIT_MS);
			ASSERT_EQ((int)len, ret)
				TH_LOG("frame %u of %u: %s", got, n,
				       ret < 0 ? self->e.what : "length");
			ASSERT_EQ(got, vtest_seq(self->r, ret));
			ASSERT_EQ(-1, vtest_frame_diff(self->r, ret, len, got,
						       VTEST_ETH_P));
			got++;
		}
	}
	TH_LOG("%u frames in %ld ms, %llu kicks, %llu kicks saved, %llu calls",
	       n, vtest_now_ms() - t0,
	       (unsigned long long)self->e.d.vq[VDRV_RX].kicks,
	       (unsigned long long)self->e.d.vq[VDRV_RX].kicks_saved,
	       (unsigned long long)self->e.d.vq[VDRV_RX].calls);
}

/* Fewer frames for the tests that only matter with busy polling on. */
static unsigned int pair_n(const FIXTURE_VARIANT(dp) *v)
{
	return v->busyloop_us ? stream_n() : stream_n() / 50;
}

/*
 * The busy-poll variants: did a spinning worker serve the other direction
 * of its pair inline?  It must have with both workers pinned to one CPU
 * (the request/response and both-ways tests always give it the chance: the
 * other direction has work while it spins), and it never may without busy
 * polling.  With them on two CPUs it is the exception (fewer runs than 1%
 * of the @n frames or round trips): a thread pinned while asleep still
 * reports its old CPU until it next runs.  Upstream has no such counter.
 */
static void check_pair_runs(struct __test_metadata *_metadata,
			    const FIXTURE_VARIANT(dp) *v,
			    const struct vtest_env *e, unsigned int n)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	long long runs;

	if (v->kind != VDRV_XTAP)
		return;
	runs = vdrv_ethtool_stat(e->be.ifname, "q0_busy_poll_pair_runs");
	ASSERT_LE(0, runs) TH_LOG("q0_busy_poll_pair_runs: %s",
				  strerror((int)-runs));
	TH_LOG("%lld runs served by the pair's worker", runs);
	if (v->busyloop_us && v->rx_cpu && v->rx_cpu == v->tx_cpu &&
	    ncpu >= v->rx_cpu) {
		EXPECT_LT(0, runs) TH_LOG("one CPU: no cross-serving");
	} else if (!v->busyloop_us) {
		EXPECT_EQ(0, runs) TH_LOG("cross-serving without busy polling");
	} else if (v->rx_cpu && v->tx_cpu && v->rx_cpu != v->tx_cpu &&
		   ncpu >= v->rx_cpu && ncpu >= v->tx_cpu) {
		EXPECT_GT(n / 100, runs) TH_LOG("cross-serving across CPUs");
	}
}

/*
 * Request/response: one frame in flight, the host answers each request
 * from the guest with a frame of its own.  With busy polling the worker
 * that spins after a request also delivers the response and takes the
 * next request (the other worker is never woken).  Every frame arrives,
 * in order, with its payload.
 */
TEST_F_TIMEOUT(dp, ping_pong, STREAM_TIMEOUT)
{
	unsigned int n = pair_n(variant) / 10, i;
	long t0;
	int ret;

	ASSERT_EQ(0, vtest_rx_sync(&self->e, WAIT_MS));
	t0 = vtest_now_ms();
	for (i = 0; i < n; i++) {
		size_t len = stream_len(i);

		vtest_frame(self->f, len, i, VTEST_ETH_P);
		ASSERT_EQ(0, vtest_guest_send(&self->e, self->f, len, true,
					      WAIT_MS));
		ret = vtest_host_expect(&self->e, self->r, BUF_SIZE, len, i,
					WAIT_MS);
		ASSERT_EQ(0, ret) TH_LOG("request %u of %u: %s: %s", i, n,
					 self->e.what, strerror(-ret));
		len = stream_len(i + 7);
		vtest_frame(self->f, len, i, VTEST_ETH_P);
		ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt, self->e.be.ifindex,
					   self->f, len));
		ret = vtest_guest_expect(&self->e, self->r, BUF_SIZE, len, i,
					 WAIT_MS);
		ASSERT_EQ(0, ret) TH_LOG("response %u of %u: %s: %s", i, n,
					 self->e.what, strerror(-ret));
		ASSERT_LE(0, vdrv_tx_reap(&self->e.d, 0));
	}
	ASSERT_EQ(0, vtest_tx_drain(&self->e, WAIT_MS));
	TH_LOG("%u round trips in %ld ms, %llu TX kicks, %llu RX calls",
	       n, vtest_now_ms() - t0,
	       (unsigned long long)self->e.d.vq[VDRV_TX].kicks,
	       (unsigned long long)self->e.d.vq[VDRV_RX].calls);
	check_pair_runs(_metadata, variant, &self->e, n);
}

/*
 * Both directions at once, in windows: the guest's frames and the host's
 * are in flight together, so a spinning worker keeps serving the other
 * direction too.  None lost, each direction in order.
 */
TEST_F_TIMEOUT(dp, both_ways_stream, STREAM_TIMEOUT)
{
	unsigned int n = pair_n(variant), sent = 0, got = 0, k;
	long t0;
	int ret;

	ASSERT_EQ(0, vtest_rx_sync(&self->e, WAIT_MS));
	t0 = vtest_now_ms();
	while (got < n) {
		unsigned int first = sent;

		for (k = 0; sent < n && k < STREAM_WIN / 2; k++, sent++) {
			vtest_frame(self->f, stream_len(sent), sent,
				    VTEST_ETH_P);
			ASSERT_EQ(0, vtest_guest_send(&self->e, self->f,
						      stream_len(sent), false,
						      WAIT_MS));
			ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt,
						   self->e.be.ifindex, self->f,
						   stream_len(sent)));
		}
		vdrv_kick(&self->e.d, VDRV_TX);
		/* host side: the guest's frames */
		for (k = first; k < sent; k++) {
			ret = vtest_host_expect(&self->e, self->r, BUF_SIZE,
						stream_len(k), k, WAIT_MS);
			ASSERT_EQ(0, ret) TH_LOG("TX frame %u of %u: %s: %s",
						 k, n, self->e.what,
						 strerror(-ret));
		}
		/* guest side: the host's frames */
		for (; got < sent; got++) {
			ret = vtest_guest_expect(&self->e, self->r, BUF_SIZE,
						 stream_len(got), got,
						 WAIT_MS);
			ASSERT_EQ(0, ret) TH_LOG("RX frame %u of %u: %s: %s",
						 got, n, self->e.what,
						 strerror(-ret));
		}
		ASSERT_LE(0, vdrv_tx_reap(&self->e.d, 0));
	}
	ASSERT_EQ(0, vtest_tx_drain(&self->e, WAIT_MS));
	TH_LOG("%u frames each way in %ld ms, %llu TX kicks, %llu RX calls",
	       n, vtest_now_ms() - t0,
	       (unsigned long long)self->e.d.vq[VDRV_TX].kicks,
	       (unsigned long long)self->e.d.vq[VDRV_RX].calls);
	check_pair_runs(_metadata, variant, &self->e, n);
}

static unsigned int get_base(struct vtest_env *e, unsigned int i)
{
	struct vhost_vring_state s = { .index = i, .num = 0xdeadbeef };

	if (ioctl(e->be.vhost_fd, VHOST_GET_VRING_BASE, &s) < 0)
		return 0xdeadbeef;
	return s.num;
}

/*
 * Guest -> host with the backend detached while frames are in flight:
 * what the device took is completed, what it did not take waits in the
 * ring, and after attaching again (no kick) everything arrives in order.
 */
TEST_F_TIMEOUT(dp, tx_detach_attach, 120)
{
	unsigned int round, sent = 0, got = 0, k;
	int ret;

	for (round = 0; round < DETACH_ROUNDS; round++) {
		for (k = 0; k < DETACH_BURST; k++, sent++) {
			vtest_frame(self->f, stream_len(sent), sent,
				    VTEST_ETH_P);
			ASSERT_EQ(0, vtest_guest_send(&self->e, self->f,
						      stream_len(sent), true,
						      WAIT_MS));
		}
		ASSERT_EQ(0, vdrv_detach(&self->e.d));
		/* GET_VRING_BASE: consumed == completed, nothing invented */
		EXPECT_EQ(self->e.d.vq[VDRV_TX].vr.used->idx,
			  get_base(&self->e, VDRV_TX));
		EXPECT_GE(self->e.d.vq[VDRV_TX].avail_idx,
			  get_base(&self->e, VDRV_TX));
		/* while detached, as many as fit in the ring */
		for (k = 0; k < DETACH_BURST / 2; k++, sent++) {
			vtest_frame(self->f, stream_len(sent), sent,
				    VTEST_ETH_P);
			ret = vdrv_tx_send(&self->e.d, self->f,
					   stream_len(sent), NULL, NULL);
			if (ret == -ENOSPC)
				break;
			ASSERT_LE(0, ret);
		}
		vdrv_kick(&self->e.d, VDRV_TX);
		ASSERT_EQ(0, vdrv_attach(&self->e.d, self->e.be.tap_fd));
		while (got < sent) {
			ret = vtest_host_recv(&self->e, self->r, BUF_SIZE,
					      VTEST_ETH_P, WAIT_MS);
			ASSERT_EQ((int)stream_len(got), ret)
				TH_LOG("round %u frame %u: %s", round, got,
				       ret < 0 ? strerror(-ret) : "length");
			ASSERT_EQ(-1, vtest_frame_diff(self->r, ret,
						       stream_len(got), got,
						       VTEST_ETH_P));
			got++;
		}
		ASSERT_LE(0, vdrv_tx_reap(&self->e.d, 0));
	}
	ASSERT_EQ(0, vtest_tx_drain(&self->e, WAIT_MS));
}

/*
 * Host -> guest with the backend detached while frames are in flight:
 * frames sent while detached wait in the queue and arrive after attaching
 * again, in order, none lost.
 */
TEST_F_TIMEOUT(dp, rx_detach_attach, 120)
{
	unsigned int round, sent = 0, got = 0, k;
	struct vdrv_rx_info info;
	int ret;

	ASSERT_EQ(0, vtest_rx_sync(&self->e, WAIT_MS));
	for (round = 0; round < DETACH_ROUNDS; round++) {
		for (k = 0; k < DETACH_BURST / 2; k++, sent++) {
			vtest_frame(self->f, stream_len(sent), sent,
				    VTEST_ETH_P);
			ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt,
						   self->e.be.ifindex, self->f,
						   stream_len(sent)));
		}
		ASSERT_EQ(0, vdrv_detach(&self->e.d));
		EXPECT_EQ(self->e.d.vq[VDRV_RX].vr.used->idx,
			  get_base(&self->e, VDRV_RX));
		for (k = 0; k < DETACH_BURST / 2; k++, sent++) {
			vtest_frame(self->f, stream_len(sent), sent,
				    VTEST_ETH_P);
			ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt,
						   self->e.be.ifindex, self->f,
						   stream_len(sent)));
		}
		ASSERT_EQ(0, vdrv_attach(&self->e.d, self->e.be.tap_fd));
		while (got < sent) {
			ret = vtest_guest_recv(&self->e, self->r, BUF_SIZE,
					       &info, WAIT_MS);
			ASSERT_EQ((int)stream_len(got), ret)
				TH_LOG("round %u frame %u: %s", round, got,
				       ret < 0 ? self->e.what : "length");
			ASSERT_EQ(-1, vtest_frame_diff(self->r, ret,
						       stream_len(got), got,
						       VTEST_ETH_P));
			got++;
		}
	}
}

/* ---------------------------------------------------------------------- */
/*
 * Malformed descriptor chains.  Every backend signals the vring's error
 * eventfd.  xtap's policy on top: the bad request goes back to the used
 * ring with len 0 when its head is a valid index (otherwise it is skipped),
 * and the queue keeps working.  Upstream vhost-net stops processing the
 * queue instead, so for it only the error eventfd and sane used entries
 * are checked.
 */
FIXTURE(bad)
{
	struct vtest_env e;
	uint8_t f[2048];
	uint8_t r[2048];
	uint8_t *scratch;
	uint64_t sgpa;
};

FIXTURE_VARIANT(bad)
{
	enum vdrv_kind kind;
	uint64_t features;
};

FIXTURE_VARIANT_ADD(bad, upstream_qemu) {
	.kind = VDRV_UPSTREAM, .features = QEMU_F,
};
FIXTURE_VARIANT_ADD(bad, upstream_no_event_idx) {
	.kind = VDRV_UPSTREAM, .features = NO(VIRTIO_RING_F_EVENT_IDX),
};
FIXTURE_VARIANT_ADD(bad, xtap_qemu) {
	.kind = VDRV_XTAP, .features = QEMU_F,
};
FIXTURE_VARIANT_ADD(bad, xtap_no_event_idx) {
	.kind = VDRV_XTAP, .features = NO(VIRTIO_RING_F_EVENT_IDX),
};

FIXTURE_SETUP(bad)
{
	struct vdrv_config cfg = { .features = variant->features };
	int ret;

	VTEST_FILTER(variant->kind);
	VTEST_SKIP_UPSTREAM_UNAVAILABLE(variant->kind);
	/* RX buffers are posted by each test, after its malformed one */
	ret = vtest_env_up(&self->e, variant->kind, "b", &cfg,
			   VTEST_NO_RX_FILL);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->e.what, strerror(-ret));
	self->scratch = vdrv_alloc(&self->e.d, 16384, 4096);
	ASSERT_NE(NULL, self->scratch);
	self->sgpa = vdrv_gpa(&self->e.d, self->scratch);
}

FIXTURE_TEARDOWN(bad)
{
	vtest_env_down(&self->e);
}

#define BAD_NO_HEAD	(-1)

/* Reap what the device returned on @q; returns the raw entries found. */
static int bad_collect(struct __test_metadata *_metadata, struct vdrv *d,
		       unsigned int q, int want_raw, struct vdrv_used *raw)
{
	long deadline = vtest_now_ms() + WAIT_MS;
	struct vdrv_used u;
	int nraw = 0, ret;

	for (;;) {
		ret = vdrv_pop(d, q, &u);
		EXPECT_LE(0, ret) TH_LOG("device returned garbage: %s",
					 d->err_op);
		if (ret < 0)
			return nraw;
		if (ret > 0) {
			if (u.kind == VDRV_REQ_RAW)
				raw[nraw++] = u;
			continue;
		}
		if (nraw >= want_raw || vtest_now_ms() > deadline)
			return nraw;
		vdrv_wait(d, 1U << q, 50);
	}
}

/*
 * @head: the bad request's head (BAD_NO_HEAD when the avail entry itself
 * is out of range).  Kicks, then checks what the backend did.
 */
static void bad_check_tx(struct __test_metadata *_metadata,
			 FIXTURE_DATA(bad) *self,
			 const FIXTURE_VARIANT(bad) *variant, int head)
{
	struct vdrv *d = &self->e.d;
	struct vdrv_used raw[2];
	int ret, nraw;

	ASSERT_EQ(0, vdrv_kick_force(d, VDRV_TX));
	ASSERT_EQ(1, vdrv_wait_err(d, VDRV_TX, WAIT_MS))
		TH_LOG("the TX error eventfd did not fire");
	if (variant->kind == VDRV_UPSTREAM) {
		/* upstream stalls the queue; what it returned must be sane */
		bad_collect(_metadata, d, VDRV_TX, 0, raw);
		return;
	}
	nraw = bad_collect(_metadata, d, VDRV_TX, head >= 0, raw);
	if (head >= 0) {
		ASSERT_EQ(1, nraw) TH_LOG("bad request not returned");
		EXPECT_EQ((uint32_t)head, raw[0].head);
		EXPECT_EQ(0U, raw[0].len);
	} else {
		ASSERT_EQ(0, nraw);
	}
	/* the queue keeps working */
	vtest_frame(self->f, 100, 42, VTEST_ETH_P);
	ASSERT_EQ(0, vtest_guest_send(&self->e, self->f, 100, true, WAIT_MS));
	ret = vtest_host_recv(&self->e, self->r, sizeof(self->r), VTEST_ETH_P,
			      WAIT_MS);
	ASSERT_EQ(100, ret);
	EXPECT_EQ(-1, vtest_frame_diff(self->r, ret, 100, 42, VTEST_ETH_P));
	ASSERT_EQ(0, vtest_tx_drain(&self->e, WAIT_MS));
	EXPECT_EQ(0, vdrv_wait_err(d, VDRV_TX, 0))
		TH_LOG("the good frame raised an error too");
}

static void bad_check_rx(struct __test_metadata *_metadata,
			 FIXTURE_DATA(bad) *self,
			 const FIXTURE_VARIANT(bad) *variant, int head)
{
	struct vdrv *d = &self->e.d;
	struct vdrv_rx_info info;
	int ret;

	/* good buffers behind the bad one; frames make the device look */
	ASSERT_LT(0, vdrv_rx_fill(d));
	ASSERT_EQ(0, vdrv_kick_force(d, VDRV_RX));
	ret = vtest_rx_sync(&self->e, variant->kind == VDRV_XTAP ?
			    WAIT_MS : 1000);
	ASSERT_EQ(1, vdrv_wait_err(d, VDRV_RX, WAIT_MS))
		TH_LOG("the RX error eventfd did not fire");
	if (variant->kind == VDRV_UPSTREAM)
		return;
	ASSERT_EQ(0, ret) TH_LOG("%s", self->e.what);
	if (head >= 0) {
		ASSERT_EQ(1U, self->e.raw_seen) TH_LOG("bad buffer not returned");
		EXPECT_EQ((uint32_t)head, self->e.raw_used.head);
		EXPECT_EQ(0U, self->e.raw_used.len);
	} else {
		ASSERT_EQ(0U, self->e.raw_seen);
	}
	vtest_frame(self->f, 100, 43, VTEST_ETH_P);
	ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt, self->e.be.ifindex, self->f,
				   100));
	ret = vtest_guest_recv(&self->e, self->r, sizeof(self->r), &info,
			       WAIT_MS);
	ASSERT_EQ(100, ret) TH_LOG("%s", self->e.what);
	EXPECT_FALSE(info.raw);
	EXPECT_EQ(-1, vtest_frame_diff(self->r, ret, 100, 43, VTEST_ETH_P));
}

/* A chain of @n descriptors a[0] -> ... -> a[n-1] -> a[@back] (a loop) */
static int bad_loop(FIXTURE_DATA(bad) *self, unsigned int q, unsigned int n,
		    unsigned int back, uint16_t flags)
{
	struct vdrv *d = &self->e.d;
	uint16_t ids[VDRV_DEFAULT_NUM];
	unsigned int k;

	if (vdrv_raw_alloc(d, q, n, ids))
		return -1;
	for (k = 0; k < n; k++)
		vdrv_raw_desc(d, q, ids[k], self->sgpa + 16 * k, 16,
			      flags | VRING_DESC_F_NEXT,
			      ids[k + 1 < n ? k + 1 : back]);
	vdrv_raw_post(d, q, ids[0], ids, n, NULL);
	return ids[0];
}

/* One descriptor as given. */
static int bad_one(FIXTURE_DATA(bad) *self, unsigned int q, uint64_t addr,
		   uint32_t len, uint16_t flags)
{
	struct vdrv *d = &self->e.d;
	uint16_t id;

	if (vdrv_raw_alloc(d, q, 1, &id))
		return -1;
	vdrv_raw_desc(d, q, id, addr, len, flags, 0);
	vdrv_raw_post(d, q, id, &id, 1, NULL);
	return id;
}

TEST_F(bad, tx_loop)
{
	int head = bad_loop(self, VDRV_TX, 2, 0, 0);

	ASSERT_LE(0, head);
	bad_check_tx(_metadata, self, variant, head);
}

TEST_F(bad, tx_chain_longer_than_ring)
{
	/* every descriptor of the ring, and then the first one again */
	int head = bad_loop(self, VDRV_TX, self->e.d.vq[VDRV_TX].num, 0, 0);

	ASSERT_LE(0, head);
	bad_check_tx(_metadata, self, variant, head);
}

TEST_F(bad, tx_addr_outside_memory)
{
	int head = bad_one(self, VDRV_TX, vdrv_gpa_end(&self->e.d) + (1 << 20),
			   100, 0);

	ASSERT_LE(0, head);
	bad_check_tx(_metadata, self, variant, head);
}

TEST_F(bad, tx_addr_len_wraps)
{
	int head = bad_one(self, VDRV_TX, UINT64_MAX - 15, 100, 0);

	ASSERT_LE(0, head);
	bad_check_tx(_metadata, self, variant, head);
}

TEST_F(bad, tx_len_past_region)
{
	int head = bad_one(self, VDRV_TX, vdrv_gpa_end(&self->e.d) - 16,
			   4096, 0);

	ASSERT_LE(0, head);
	bad_check_tx(_metadata, self, variant, head);
}

TEST_F(bad, tx_huge_len)
{
	int head = bad_one(self, VDRV_TX, self->sgpa, UINT32_MAX, 0);

	ASSERT_LE(0, head);
	bad_check_tx(_metadata, self, variant, head);
}

TEST_F(bad, tx_writable_desc)
{
	struct vdrv *d = &self->e.d;
	uint16_t ids[2];

	ASSERT_EQ(0, vdrv_raw_alloc(d, VDRV_TX, 2, ids));
	vdrv_raw_desc(d, VDRV_TX, ids[0], self->sgpa, d->hdr_len,
		      VRING_DESC_F_NEXT, ids[1]);
	vdrv_raw_desc(d, VDRV_TX, ids[1], self->sgpa + 64, 100,
		      VRING_DESC_F_WRITE, 0);
	vdrv_raw_post(d, VDRV_TX, ids[0], ids, 2, NULL);
	bad_check_tx(_metadata, self, variant, ids[0]);
}

TEST_F(bad, tx_head_out_of_range)
{
	vdrv_raw_post_head(&self->e.d, VDRV_TX,
			   self->e.d.vq[VDRV_TX].num + 3);
	bad_check_tx(_metadata, self, variant, BAD_NO_HEAD);
}

TEST_F(bad, tx_next_out_of_range)
{
	struct vdrv *d = &self->e.d;
	uint16_t id;

	ASSERT_EQ(0, vdrv_raw_alloc(d, VDRV_TX, 1, &id));
	vdrv_raw_desc(d, VDRV_TX, id, self->sgpa, 100, VRING_DESC_F_NEXT,
		      d->vq[VDRV_TX].num + 1);
	vdrv_raw_post(d, VDRV_TX, id, &id, 1, NULL);
	bad_check_tx(_metadata, self, variant, id);
}

/* An indirect table at scratch + 4096 with @n entries as given. */
static int bad_indirect(FIXTURE_DATA(bad) *self, const struct vring_desc *t,
			unsigned int n, uint32_t len)
{
	memcpy(self->scratch + 4096, t, n * sizeof(*t));
	return bad_one(self, VDRV_TX, self->sgpa + 4096, len,
		       VRING_DESC_F_INDIRECT);
}

TEST_F(bad, tx_indirect_bad_len)
{
	struct vring_desc t[2] = {
		{ .addr = self->sgpa, .len = 100 },
	};
	int head = bad_indirect(self, t, 2, 17);

	ASSERT_LE(0, head);
	bad_check_tx(_metadata, self, variant, head);
}

TEST_F(bad, tx_indirect_nested)
{
	struct vring_desc t[1] = {
		{ .addr = self->sgpa, .len = 32,
		  .flags = VRING_DESC_F_INDIRECT },
	};
	int head = bad_indirect(self, t, 1, sizeof(t));

	ASSERT_LE(0, head);
	bad_check_tx(_metadata, self, variant, head);
}

TEST_F(bad, tx_indirect_loop)
{
	struct vring_desc t[2] = {
		{ .addr = self->sgpa, .len = 50, .flags = VRING_DESC_F_NEXT,
		  .next = 1 },
		{ .addr = self->sgpa + 64, .len = 50,
		  .flags = VRING_DESC_F_NEXT, .next = 0 },
	};
	int head = bad_indirect(self, t, 2, sizeof(t));

	ASSERT_LE(0, head);
	bad_check_tx(_metadata, self, variant, head);
}

TEST_F(bad, tx_indirect_outside_memory)
{
	int head = bad_one(self, VDRV_TX, vdrv_gpa_end(&self->e.d) + (1 << 20),
			   32, VRING_DESC_F_INDIRECT);

	ASSERT_LE(0, head);
	bad_check_tx(_metadata, self, variant, head);
}

TEST_F(bad, rx_readonly_desc)
{
	int head = bad_one(self, VDRV_RX, self->sgpa, 2048, 0);

	ASSERT_LE(0, head);
	bad_check_rx(_metadata, self, variant, head);
}

TEST_F(bad, rx_addr_outside_memory)
{
	int head = bad_one(self, VDRV_RX, vdrv_gpa_end(&self->e.d) + (1 << 20),
			   2048, VRING_DESC_F_WRITE);

	ASSERT_LE(0, head);
	bad_check_rx(_metadata, self, variant, head);
}

TEST_F(bad, rx_loop)
{
	int head = bad_loop(self, VDRV_RX, 2, 0, VRING_DESC_F_WRITE);

	ASSERT_LE(0, head);
	bad_check_rx(_metadata, self, variant, head);
}

TEST_F(bad, rx_head_out_of_range)
{
	vdrv_raw_post_head(&self->e.d, VDRV_RX,
			   self->e.d.vq[VDRV_RX].num + 3);
	bad_check_rx(_metadata, self, variant, BAD_NO_HEAD);
}

/* ---------------------------------------------------------------------- */
/* Lifetimes: queue and vhost fds closed in any order, a killed driver. */

FIXTURE(life)
{
	struct vtest_env e;
	uint8_t f[2048];
	uint8_t r[2048];
};

FIXTURE_VARIANT(life)
{
	enum vdrv_kind kind;
	uint32_t busyloop_us;
};

FIXTURE_VARIANT_ADD(life, upstream) { .kind = VDRV_UPSTREAM };
FIXTURE_VARIANT_ADD(life, xtap) { .kind = VDRV_XTAP };
/* Closes and kills while the workers spin (and serve each other). */
FIXTURE_VARIANT_ADD(life, xtap_busy_poll) {
	.kind = VDRV_XTAP, .busyloop_us = 50,
};

FIXTURE_SETUP(life)
{
	VTEST_FILTER(variant->kind);
	VTEST_SKIP_UPSTREAM_UNAVAILABLE(variant->kind);
	memset(&self->e, 0, sizeof(self->e));
	self->e.pkt = -1;
	self->e.be.tap_fd = -1;
	self->e.be.vhost_fd = -1;
}

FIXTURE_TEARDOWN(life)
{
	vtest_env_down(&self->e);
}

/* @n frames each way through an attached environment. */
static void life_traffic(struct __test_metadata *_metadata,
			 struct vtest_env *e, uint8_t *f, uint8_t *r,
			 unsigned int n)
{
	struct vdrv_rx_info info;
	unsigned int i;
	int ret;

	ASSERT_EQ(0, vtest_rx_sync(e, WAIT_MS)) TH_LOG("%s", e->what);
	for (i = 0; i < n; i++) {
		vtest_frame(f, stream_len(i), i, VTEST_ETH_P);
		ASSERT_EQ(0, vtest_guest_send(e, f, stream_len(i), true,
					      WAIT_MS));
		ret = vtest_host_recv(e, r, 2048, VTEST_ETH_P, WAIT_MS);
		ASSERT_EQ((int)stream_len(i), ret);
		ASSERT_EQ(-1, vtest_frame_diff(r, ret, stream_len(i), i,
					       VTEST_ETH_P));
		ASSERT_EQ(0, vdrv_pkt_send(e->pkt, e->be.ifindex, f,
					   stream_len(i)));
		ret = vtest_guest_recv(e, r, 2048, &info, WAIT_MS);
		ASSERT_EQ((int)stream_len(i), ret) TH_LOG("%s", e->what);
		ASSERT_EQ(-1, vtest_frame_diff(r, ret, stream_len(i), i,
					       VTEST_ETH_P));
	}
}

/* The queue fd closed while attached: vhost keeps it alive until detach. */
TEST_F(life, queue_closed_while_attached)
{
	struct vdrv_config cfg = {
		.features = QEMU_F, .busyloop_us = variant->busyloop_us,
	};
	int ret;

	ret = vtest_env_up(&self->e, variant->kind, "l", &cfg, 0);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->e.what, strerror(-ret));
	ASSERT_EQ(0, close(self->e.be.tap_fd));
	self->e.be.tap_fd = -1;
	life_traffic(_metadata, &self->e, self->f, self->r, 20);
	ASSERT_EQ(0, vdrv_detach(&self->e.d));
}

/* The vhost fd closed with frames pending in both directions. */
TEST_F(life, vhost_closed_with_frames_pending)
{
	struct vdrv_config cfg = {
		.features = QEMU_F, .busyloop_us = variant->busyloop_us,
	};
	unsigned int i;
	int ret;

	ret = vtest_env_up(&self->e, variant->kind, "l", &cfg, 0);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->e.what, strerror(-ret));
	life_traffic(_metadata, &self->e, self->f, self->r, 5);
	ASSERT_EQ(0, vdrv_set_backend(&self->e.d, VDRV_TX, -1));
	for (i = 0; i < 32; i++) {
		vtest_frame(self->f, 200, i, VTEST_ETH_P);
		ASSERT_LE(0, vdrv_tx_send(&self->e.d, self->f, 200, NULL,
					  NULL));
		ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt, self->e.be.ifindex,
					   self->f, 200));
	}
	vdrv_kick(&self->e.d, VDRV_TX);
	ASSERT_EQ(0, close(self->e.be.vhost_fd));
	self->e.be.vhost_fd = -1;
	/* the queue is usable by a new vhost instance */
	ret = vdrv_backend_open_vhost(&self->e.be);
	ASSERT_LE(0, ret);
	self->e.be.vhost_fd = ret;
	vdrv_fini(&self->e.d);
	self->e.d_ready = false;
	ret = vtest_env_attach(&self->e, &cfg);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->e.what, strerror(-ret));
	vdrv_pkt_drain(self->e.pkt);
	life_traffic(_metadata, &self->e, self->f, self->r, 5);
}

/*
 * A driver process killed in the middle of traffic: its fds go away in
 * whatever order the kernel closes them; the interface then works with a
 * fresh driver.
 */
TEST_F_TIMEOUT(life, driver_killed_mid_traffic, 120)
{
	struct vdrv_config cfg = {
		.features = QEMU_F, .busyloop_us = variant->busyloop_us,
	};
	char name[IFNAMSIZ], c;
	int ret, p[2], status;
	pid_t pid;

	vtest_ifname(name, sizeof(name), variant->kind, "k");
	ret = vdrv_backend_create(&self->e.be, variant->kind, name,
				  VDRV_BE_PERSIST | VDRV_BE_NO_QUEUE |
				  VDRV_BE_NO_VHOST);
	ASSERT_EQ(0, ret) TH_LOG("create: %s", strerror(-ret));
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct vtest_env *e = &self->e;
		struct vdrv_rx_info info;
		unsigned int i;

		close(p[0]);
		e->d_ready = false;
		if (vdrv_backend_reopen(&e->be) ||
		    vtest_env_attach(e, &cfg))
			_exit(1);
		e->pkt = vdrv_pkt_open(e->be.ifindex);
		if (e->pkt < 0 || vtest_rx_sync(e, WAIT_MS))
			_exit(2);
		for (i = 0; ; i++) {
			vtest_frame(self->f, 300, i, VTEST_ETH_P);
			/* the guest sends in bursts and leaves frames queued */
			vtest_guest_send(e, self->f, 300, i % 8 == 7, WAIT_MS);
			vdrv_pkt_send(e->pkt, e->be.ifindex, self->f, 300);
			if (i % 2)
				vtest_guest_recv(e, self->r, sizeof(self->r),
						 &info, 100);
			vdrv_tx_reap(&e->d, 0);
			if (i == 200 && write(p[1], "x", 1) != 1)
				_exit(3);
		}
	}
	close(p[1]);
	ret = read(p[0], &c, 1);
	close(p[0]);
	usleep(20000);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(1, ret) TH_LOG("the child did not get traffic going (exit %d)",
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	ASSERT_TRUE(WIFSIGNALED(status));

	/* a fresh driver on a fresh queue of the same interface */
	ASSERT_EQ(0, vdrv_backend_reopen(&self->e.be));
	ret = vtest_env_attach(&self->e, &cfg);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->e.what, strerror(-ret));
	self->e.pkt = vdrv_pkt_open(self->e.be.ifindex);
	ASSERT_LE(0, self->e.pkt);
	life_traffic(_metadata, &self->e, self->f, self->r, 20);
}

XTEST_HARNESS_MAIN
