// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * /dev/vhost-xtap and malformed descriptor chains: each one makes the
 * device signal the vring's error eventfd and return the chain with length
 * 0 (or skip it when its head index is out of range), and the ring keeps
 * working: the next good frame goes through.  Upstream vhost-net stalls the
 * ring instead, so only xtap is tested here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "tapq.h"
#include "xtest.h"
#include "vtest.h"

#define WAIT_MS		5000
#define FRAME_LEN	300

/* Wait for one used entry of queue @i. */
static int pop_wait(struct vdrv *d, unsigned int i, struct vdrv_used *u,
		    int timeout_ms)
{
	long deadline = vtest_now_ms() + timeout_ms;
	int ret;

	for (;;) {
		ret = vdrv_pop(d, i, u);
		if (ret)
			return ret;
		if (vtest_now_ms() > deadline)
			return -ETIMEDOUT;
		ret = vdrv_wait(d, 1U << i, 50);
		if (ret < 0)
			return ret;
	}
}

/* A good TX frame still goes through, intact. */
static void tx_still_works(struct __test_metadata *_metadata,
			   struct vtest_env *e, uint32_t seq)
{
	uint8_t f[FRAME_LEN], r[FRAME_LEN + 64];
	int ret;

	vtest_frame(f, sizeof(f), seq, VTEST_ETH_P);
	ASSERT_EQ(0, vtest_guest_send(e, f, sizeof(f), true, WAIT_MS));
	ret = vtest_host_recv(e, r, sizeof(r), VTEST_ETH_P, WAIT_MS);
	ASSERT_EQ(FRAME_LEN, ret);
	EXPECT_EQ(-1, vtest_frame_diff(r, ret, FRAME_LEN, seq, VTEST_ETH_P));
	ASSERT_EQ(0, vtest_tx_drain(e, WAIT_MS));
}

FIXTURE(bad)
{
	struct vtest_env e;
	struct vdrv *d;
	uint8_t *buf;		/* a valid guest buffer */
	uint64_t buf_gpa;
	unsigned int num;
};

FIXTURE_VARIANT(bad)
{
	uint64_t features;
};

FIXTURE_VARIANT_ADD(bad, qemu) { .features = VDRV_FEATURES_QEMU };
FIXTURE_VARIANT_ADD(bad, no_indirect) {
	.features = VDRV_FEATURES_QEMU & ~VDRV_F(VIRTIO_RING_F_INDIRECT_DESC),
};

FIXTURE_SETUP(bad)
{
	struct vdrv_config cfg = { .features = variant->features };
	int ret;

	ret = vtest_env_up(&self->e, VDRV_XTAP, "m", &cfg, 0);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->e.what, strerror(-ret));
	self->d = &self->e.d;
	self->num = self->d->vq[VDRV_TX].num;
	self->buf = vdrv_alloc(self->d, 4096, 64);
	ASSERT_NE(NULL, self->buf);
	self->buf_gpa = vdrv_gpa(self->d, self->buf);
	/* a plausible frame with a zero vnet header in front */
	vtest_frame(self->buf + self->d->hdr_len, 100, 77, VTEST_ETH_P);
}

FIXTURE_TEARDOWN(bad)
{
	vtest_env_down(&self->e);
}

/*
 * Post the TX chain @ids[0..n) as written by the test, kick, and check the
 * policy: error eventfd, the head back with length 0, the ring still good.
 */
static void post_bad_tx(struct __test_metadata *_metadata,
			FIXTURE_DATA(bad) *self, const uint16_t *ids,
			unsigned int n)
{
	uint8_t r[FRAME_LEN + 64];
	long long bad0, dropped0;
	struct vdrv_used u;
	int ret;

	bad0 = tapq_stat(self->e.be.ifname, "rx_drop_bad_chain");
	ASSERT_LE(0, bad0);
	dropped0 = tapq_sysfs_long(self->e.be.ifname, "statistics/rx_dropped");
	vdrv_raw_post(self->d, VDRV_TX, ids[0], ids, n, self);
	ASSERT_EQ(0, vdrv_kick_force(self->d, VDRV_TX));
	ASSERT_EQ(1, vdrv_wait_err(self->d, VDRV_TX, WAIT_MS))
		TH_LOG("no error signal");
	ret = pop_wait(self->d, VDRV_TX, &u, WAIT_MS);
	ASSERT_EQ(1, ret) TH_LOG("bad chain not returned: %d", ret);
	EXPECT_EQ(ids[0], u.head);
	EXPECT_EQ(0U, u.len);
	EXPECT_EQ((int)VDRV_REQ_RAW, (int)u.kind);
	EXPECT_EQ(self, u.token);
	/* the lost frame is a counted drop */
	EXPECT_EQ(bad0 + 1, tapq_stat(self->e.be.ifname, "rx_drop_bad_chain"));
	EXPECT_EQ(dropped0 + 1,
		  tapq_sysfs_long(self->e.be.ifname, "statistics/rx_dropped"));
	/* nothing of it reached the host */
	EXPECT_EQ(-ETIMEDOUT, vtest_host_recv(&self->e, r, sizeof(r),
					      VTEST_ETH_P, xtest_ms(200)));
	tx_still_works(_metadata, &self->e, 1);
	/* and no other error was reported */
	EXPECT_EQ(0, vdrv_wait_err(self->d, VDRV_TX, 0));
}

static void alloc_ids(struct __test_metadata *_metadata,
		      FIXTURE_DATA(bad) *self, unsigned int n, uint16_t *ids)
{
	ASSERT_EQ(0, vdrv_raw_alloc(self->d, VDRV_TX, n, ids));
}

/* Guest-physical address of a fresh, zeroed indirect table. */
static uint64_t table(struct __test_metadata *_metadata,
		      FIXTURE_DATA(bad) *self, unsigned int n,
		      struct vring_desc **t)
{
	*t = vdrv_alloc(self->d, n * sizeof(**t), 16);
	if (!*t)
		return 0;
	return vdrv_gpa(self->d, *t);
}

TEST_F(bad, tx_loop)
{
	uint16_t ids[2];

	alloc_ids(_metadata, self, 2, ids);
	vdrv_raw_desc(self->d, VDRV_TX, ids[0], self->buf_gpa, 64,
		      VRING_DESC_F_NEXT, ids[1]);
	vdrv_raw_desc(self->d, VDRV_TX, ids[1], self->buf_gpa + 64, 64,
		      VRING_DESC_F_NEXT, ids[0]);
	post_bad_tx(_metadata, self, ids, 2);
}

TEST_F(bad, tx_self_loop)
{
	uint16_t ids[1];

	alloc_ids(_metadata, self, 1, ids);
	vdrv_raw_desc(self->d, VDRV_TX, ids[0], self->buf_gpa, 64,
		      VRING_DESC_F_NEXT, ids[0]);
	post_bad_tx(_metadata, self, ids, 1);
}

TEST_F(bad, tx_next_out_of_range)
{
	uint16_t ids[1];

	alloc_ids(_metadata, self, 1, ids);
	vdrv_raw_desc(self->d, VDRV_TX, ids[0], self->buf_gpa, 64,
		      VRING_DESC_F_NEXT, self->num + 7);
	post_bad_tx(_metadata, self, ids, 1);
}

TEST_F(bad, tx_writable_descriptor)
{
	uint16_t ids[2];

	alloc_ids(_metadata, self, 2, ids);
	vdrv_raw_desc(self->d, VDRV_TX, ids[0], self->buf_gpa, 12,
		      VRING_DESC_F_NEXT, ids[1]);
	vdrv_raw_desc(self->d, VDRV_TX, ids[1], self->buf_gpa + 12, 100,
		      VRING_DESC_F_WRITE, 0);
	post_bad_tx(_metadata, self, ids, 2);
}

TEST_F(bad, tx_outside_guest_memory)
{
	uint16_t ids[1];

	alloc_ids(_metadata, self, 1, ids);
	vdrv_raw_desc(self->d, VDRV_TX, ids[0], vdrv_gpa_end(self->d) + 4096,
		      112, 0, 0);
	post_bad_tx(_metadata, self, ids, 1);
}

TEST_F(bad, tx_straddles_end_of_memory)
{
	uint16_t ids[1];

	alloc_ids(_metadata, self, 1, ids);
	vdrv_raw_desc(self->d, VDRV_TX, ids[0], vdrv_gpa_end(self->d) - 16,
		      112, 0, 0);
	post_bad_tx(_metadata, self, ids, 1);
}

TEST_F(bad, tx_address_wraps)
{
	uint16_t ids[1];

	alloc_ids(_metadata, self, 1, ids);
	vdrv_raw_desc(self->d, VDRV_TX, ids[0], UINT64_MAX - 15, 112, 0, 0);
	post_bad_tx(_metadata, self, ids, 1);
}

TEST_F(bad, tx_huge_length)
{
	uint16_t ids[2];

	alloc_ids(_metadata, self, 2, ids);
	vdrv_raw_desc(self->d, VDRV_TX, ids[0], self->buf_gpa, UINT32_MAX,
		      VRING_DESC_F_NEXT, ids[1]);
	vdrv_raw_desc(self->d, VDRV_TX, ids[1], self->buf_gpa, UINT32_MAX,
		      0, 0);
	post_bad_tx(_metadata, self, ids, 2);
}

TEST_F(bad, tx_indirect_bad_length)
{
	struct vring_desc *t;
	uint64_t gpa = table(_metadata, self, 2, &t);
	uint16_t ids[1];

	ASSERT_NE(0ULL, gpa);
	t[0].addr = self->buf_gpa;
	t[0].len = 112;
	alloc_ids(_metadata, self, 1, ids);
	vdrv_raw_desc(self->d, VDRV_TX, ids[0], gpa, 24,
		      VRING_DESC_F_INDIRECT, 0);
	post_bad_tx(_metadata, self, ids, 1);
}

TEST_F(bad, tx_indirect_loop)
{
	struct vring_desc *t;
	uint64_t gpa = table(_metadata, self, 2, &t);
	uint16_t ids[1];

	ASSERT_NE(0ULL, gpa);
	t[0] = (struct vring_desc){ self->buf_gpa, 12, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ self->buf_gpa + 12, 100,
				    VRING_DESC_F_NEXT, 0 };
	alloc_ids(_metadata, self, 1, ids);
	vdrv_raw_desc(self->d, VDRV_TX, ids[0], gpa, 2 * sizeof(*t),
		      VRING_DESC_F_INDIRECT, 0);
	post_bad_tx(_metadata, self, ids, 1);
}

TEST_F(bad, tx_indirect_nested)
{
	struct vring_desc *t, *t2;
	uint64_t gpa = table(_metadata, self, 1, &t);
	uint64_t gpa2 = table(_metadata, self, 1, &t2);
	uint16_t ids[1];

	ASSERT_NE(0ULL, gpa);
	ASSERT_NE(0ULL, gpa2);
	t2[0] = (struct vring_desc){ self->buf_gpa, 112, 0, 0 };
	t[0] = (struct vring_desc){ gpa2, sizeof(*t2),
				    VRING_DESC_F_INDIRECT, 0 };
	alloc_ids(_metadata, self, 1, ids);
	vdrv_raw_desc(self->d, VDRV_TX, ids[0], gpa, sizeof(*t),
		      VRING_DESC_F_INDIRECT, 0);
	post_bad_tx(_metadata, self, ids, 1);
}

TEST_F(bad, tx_indirect_next_out_of_range)
{
	struct vring_desc *t;
	uint64_t gpa = table(_metadata, self, 2, &t);
	uint16_t ids[1];

	ASSERT_NE(0ULL, gpa);
	t[0] = (struct vring_desc){ self->buf_gpa, 12, VRING_DESC_F_NEXT, 5 };
	alloc_ids(_metadata, self, 1, ids);
	vdrv_raw_desc(self->d, VDRV_TX, ids[0], gpa, 2 * sizeof(*t),
		      VRING_DESC_F_INDIRECT, 0);
	post_bad_tx(_metadata, self, ids, 1);
}

TEST_F(bad, tx_indirect_table_outside)
{
	uint16_t ids[1];

	alloc_ids(_metadata, self, 1, ids);
	vdrv_raw_desc(self->d, VDRV_TX, ids[0], vdrv_gpa_end(self->d) + 4096,
		      64, VRING_DESC_F_INDIRECT, 0);
	post_bad_tx(_metadata, self, ids, 1);
}

/* More descriptors in one chain than the device takes (1024). */
TEST_F(bad, tx_chain_too_long)
{
	const unsigned int n = 1100;
	struct vring_desc *t;
	uint64_t gpa = table(_metadata, self, n, &t);
	uint16_t ids[1];
	unsigned int i;

	ASSERT_NE(0ULL, gpa);
	for (i = 0; i < n; i++)
		t[i] = (struct vring_desc){ self->buf_gpa + i % 64, 1,
					    i + 1 < n ? VRING_DESC_F_NEXT : 0,
					    i + 1 };
	alloc_ids(_metadata, self, 1, ids);
	vdrv_raw_desc(self->d, VDRV_TX, ids[0], gpa, n * sizeof(*t),
		      VRING_DESC_F_INDIRECT, 0);
	post_bad_tx(_metadata, self, ids, 1);
}

/* A head index >= num cannot be returned: skipped, reported, ring works. */
TEST_F(bad, tx_head_out_of_range)
{
	struct vdrv_used u;

	vdrv_raw_post_head(self->d, VDRV_TX, self->num + 3);
	ASSERT_EQ(0, vdrv_kick_force(self->d, VDRV_TX));
	ASSERT_EQ(1, vdrv_wait_err(self->d, VDRV_TX, WAIT_MS));
	tx_still_works(_metadata, &self->e, 2);
	/* nothing was returned for the bogus head */
	EXPECT_EQ(0, vdrv_pop(self->d, VDRV_TX, &u));
}

/*
 * An available index more than a ring ahead stops the ring (as upstream)
 * until the guest fixes it and kicks again.
 */
TEST_F(bad, tx_avail_index_too_far)
{
	struct vring_avail *avail = self->d->vq[VDRV_TX].vr.avail;
	uint16_t good = avail->idx;

	__atomic_store_n(&avail->idx, (uint16_t)(good + self->num + 1),
			 __ATOMIC_RELEASE);
	ASSERT_EQ(0, vdrv_kick_force(self->d, VDRV_TX));
	ASSERT_EQ(1, vdrv_wait_err(self->d, VDRV_TX, WAIT_MS));
	__atomic_store_n(&avail->idx, good, __ATOMIC_RELEASE);
	tx_still_works(_metadata, &self->e, 3);
}

/* Many bad chains at once, mixed with good frames: all come back. */
TEST_F(bad, tx_many_bad_chains)
{
	const unsigned int n = 100;
	struct vdrv_used u;
	unsigned int i, bad = 0, good = 0;
	uint8_t f[FRAME_LEN];
	uint16_t id;
	int ret;

	for (i = 0; i < n; i++) {
		if (i % 2) {
			vtest_frame(f, sizeof(f), 100 + i, VTEST_ETH_P);
			ASSERT_LE(0, vdrv_tx_send(self->d, f, sizeof(f), NULL,
						  NULL));
			continue;
		}
		ASSERT_EQ(0, vdrv_raw_alloc(self->d, VDRV_TX, 1, &id));
		vdrv_raw_desc(self->d, VDRV_TX, id, self->buf_gpa, 64,
			      VRING_DESC_F_NEXT, id);
		vdrv_raw_post(self->d, VDRV_TX, id, &id, 1, self);
	}
	ASSERT_EQ(0, vdrv_kick_force(self->d, VDRV_TX));
	while (bad + good < n) {
		ret = pop_wait(self->d, VDRV_TX, &u, WAIT_MS);
		ASSERT_EQ(1, ret) TH_LOG("after %u bad, %u good", bad, good);
		if (u.kind == VDRV_REQ_RAW) {
			EXPECT_EQ(0U, u.len);
			bad++;
		} else {
			good++;
		}
	}
	EXPECT_EQ(n / 2, bad);
	for (i = 0; i < n / 2; i++) {
		uint8_t r[FRAME_LEN + 64];

		ret = vtest_host_recv(&self->e, r, sizeof(r), VTEST_ETH_P,
				      WAIT_MS);
		ASSERT_EQ(FRAME_LEN, ret);
		EXPECT_EQ(101U + 2 * i, vtest_seq(r, ret));
	}
	EXPECT_EQ(1, vdrv_wait_err(self->d, VDRV_TX, WAIT_MS));
	tx_still_works(_metadata, &self->e, 4);
}

/*
 * A GSO frame whose Ethernet type cannot carry it (type 0 under UDP GSO,
 * IPv6 under TCPv4 GSO): the request completes with nothing delivered and
 * the drop is counted as malformed, as the same frame written to the queue
 * node is refused with EINVAL (tap_offload_test).
 */
TEST_F(bad, tx_gso_on_wrong_ethertype)
{
	static const struct {
		uint8_t gso_type, flags;
		uint16_t csum_offset, ethertype;
	} cases[] = {
		{ VIRTIO_NET_HDR_GSO_UDP, 0, 0, 0 },
		{ VIRTIO_NET_HDR_GSO_UDP, VIRTIO_NET_HDR_F_NEEDS_CSUM, 6, 0 },
		{ VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_F_NEEDS_CSUM, 16, 0 },
		{ VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_F_NEEDS_CSUM, 16,
		  0x86dd },
	};
	static const uint8_t dmac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x02 };
	const char *dev = self->e.be.ifname;
	struct virtio_net_hdr_mrg_rxbuf vh;
	uint8_t f[FRAME_LEN], r[FRAME_LEN + 64];
	long long bad0;
	unsigned int i;
	size_t flen;

	bad0 = tapq_stat(dev, "rx_drop_malformed");
	ASSERT_LE(0, bad0);
	flen = tapq_udp_frame(f, dmac, TAPQ_HOST_IP, 1234, 4321, 200, 3);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&vh, 0, sizeof(vh));
		vh.hdr.gso_type = cases[i].gso_type;
		vh.hdr.gso_size = 60;
		vh.hdr.hdr_len = 42;
		vh.hdr.flags = cases[i].flags;
		vh.hdr.csum_start = 34;
		vh.hdr.csum_offset = cases[i].csum_offset;
		f[12] = cases[i].ethertype >> 8;
		f[13] = cases[i].ethertype & 0xff;
		ASSERT_LE(0, vdrv_tx_send(self->d, f, flen, &vh, NULL));
		ASSERT_EQ(0, vdrv_kick_force(self->d, VDRV_TX));
		ASSERT_EQ(0, vtest_tx_drain(&self->e, WAIT_MS));
		EXPECT_EQ(bad0 + i + 1, tapq_stat(dev, "rx_drop_malformed"))
			TH_LOG("case %u delivered", i);
		EXPECT_EQ(-ETIMEDOUT, vtest_host_recv(&self->e, r, sizeof(r),
						      cases[i].ethertype, xtest_ms(100)))
			TH_LOG("case %u reached the host", i);
	}
	tx_still_works(_metadata, &self->e, 2);
}

/*
 * RX: a read-only descriptor in a receive chain.  The chain comes back with
 * length 0 when a frame arrives, and the frame goes to the next buffer.
 */
TEST_F(bad, rx_readonly_descriptor)
{
	struct vdrv_rx_info info;
	uint8_t f[FRAME_LEN], r[FRAME_LEN + 64];
	struct vdrv_used u;
	long deadline;
	uint16_t id;
	int ret;

	/* The setup filled the RX ring; start over with the bad chain first. */
	vtest_env_down(&self->e);
	{
		struct vdrv_config cfg = { .features = variant->features };
		struct vtest_env *e = &self->e;
		char name[IFNAMSIZ];

		memset(e, 0, sizeof(*e));
		e->pkt = -1;
		e->be.tap_fd = e->be.vhost_fd = -1;
		vtest_ifname(name, sizeof(name), VDRV_XTAP, "r");
		ASSERT_EQ(0, vdrv_backend_create(&e->be, VDRV_XTAP, name, 0));
		ASSERT_EQ(0, vdrv_init(&e->d, &cfg));
		e->d_ready = true;
		ASSERT_EQ(0, vdrv_setup(&e->d, e->be.vhost_fd));
		ASSERT_EQ(0, vdrv_backend_set_hdr_len(&e->be,
						      vdrv_sock_hdr_len(&e->d)));
		ASSERT_EQ(0, vdrv_attach(&e->d, e->be.tap_fd));
		self->d = &e->d;
		self->buf = vdrv_alloc(self->d, 4096, 64);
		ASSERT_NE(NULL, self->buf);
		self->buf_gpa = vdrv_gpa(self->d, self->buf);
		/* the bad chain first, then the normal buffers */
		ASSERT_EQ(0, vdrv_raw_alloc(self->d, VDRV_RX, 1, &id));
		vdrv_raw_desc(self->d, VDRV_RX, id, self->buf_gpa, 2048, 0, 0);
		vdrv_raw_post(self->d, VDRV_RX, id, &id, 1, self);
		ASSERT_LT(0, vdrv_rx_fill(self->d));
		vdrv_kick_force(self->d, VDRV_RX);
		ASSERT_EQ(0, vdrv_backend_wait_running(&e->be, WAIT_MS));
		e->pkt = vdrv_pkt_open(e->be.ifindex);
		ASSERT_LE(0, e->pkt);
	}
	/* a frame arrives: the bad chain is reported and returned empty */
	vtest_frame(f, sizeof(f), 9, VTEST_ETH_P);
	ret = 0;
	deadline = vtest_now_ms() + WAIT_MS;
	while (!ret && vtest_now_ms() < deadline) {
		/* frames sent before the carrier settles may be dropped */
		ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt, self->e.be.ifindex, f,
					   sizeof(f)));
		ret = vdrv_wait_err(self->d, VDRV_RX, 100);
	}
	ASSERT_EQ(1, ret) TH_LOG("no error signal");
	ret = pop_wait(self->d, VDRV_RX, &u, WAIT_MS);
	ASSERT_EQ(1, ret);
	EXPECT_EQ(id, u.head);
	EXPECT_EQ(0U, u.len);
	EXPECT_EQ((int)VDRV_REQ_RAW, (int)u.kind);
	/* frames still arrive intact in the good buffers */
	vdrv_pkt_send(self->e.pkt, self->e.be.ifindex, f, sizeof(f));
	ret = vtest_guest_recv(&self->e, r, sizeof(r), &info, WAIT_MS);
	ASSERT_EQ(FRAME_LEN, ret);
	EXPECT_EQ(-1, vtest_frame_diff(r, ret, FRAME_LEN, 9, VTEST_ETH_P));
}

/*
 * Not malformed, but hostile: chains of 1,024 descriptors (an indirect
 * table of one data descriptor and 1,022 empty ones) are valid.  The TX
 * handler counts descriptors into its work budget, so 64 of them are not
 * one round of 64k descriptor reads under the vq mutex: the handler
 * publishes used entries and signals the guest every few chains.  Without
 * EVENT_IDX every round that completes chains signals once, so the number
 * of signals shows the number of rounds.
 */
TEST(tx_descriptors_count_into_the_budget)
{
	struct vdrv_config cfg = {
		.features = VDRV_FEATURES_QEMU &
			    ~VDRV_F(VIRTIO_RING_F_EVENT_IDX),
		.num = 256,
	};
	const unsigned int nchains = 64, tlen = 1023;
	struct vring_desc *t;
	struct vtest_env e;
	struct vdrv_used u;
	uint64_t tgpa, bgpa, v = 0;
	unsigned int i, done = 0;
	uint16_t ids[64];
	uint8_t *buf;
	long deadline;
	int ret, calls;

	ret = vtest_env_up(&e, VDRV_XTAP, "w", &cfg, 0);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", e.what, strerror(-ret));
	buf = vdrv_alloc(&e.d, 4096, 64);
	t = vdrv_alloc(&e.d, tlen * sizeof(*t), 16);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, t);
	bgpa = vdrv_gpa(&e.d, buf);
	tgpa = vdrv_gpa(&e.d, t);
	vtest_frame(buf + e.d.hdr_len, 100, 5, VTEST_ETH_P);
	for (i = 0; i < tlen; i++) {
		t[i].addr = bgpa;
		t[i].len = i ? 0 : e.d.hdr_len + 100;
		t[i].flags = i + 1 < tlen ? VRING_DESC_F_NEXT : 0;
		t[i].next = i + 1 < tlen ? i + 1 : 0;
	}
	ASSERT_EQ(0, vdrv_raw_alloc(&e.d, VDRV_TX, nchains, ids));
	vdrv_enable_cb(&e.d, VDRV_TX);
	while (read(e.d.vq[VDRV_TX].call_fd, &v, sizeof(v)) > 0)
		;
	for (i = 0; i < nchains; i++) {
		vdrv_raw_desc(&e.d, VDRV_TX, ids[i], tgpa,
			      tlen * sizeof(*t), VRING_DESC_F_INDIRECT, 0);
		vdrv_raw_post(&e.d, VDRV_TX, ids[i], &ids[i], 1, NULL);
	}
	ASSERT_EQ(0, vdrv_kick_force(&e.d, VDRV_TX));
	deadline = vtest_now_ms() + 4 * WAIT_MS;
	while (done < nchains && vtest_now_ms() < deadline) {
		ret = vdrv_pop(&e.d, VDRV_TX, &u);
		ASSERT_LE(0, ret);
		if (ret)
			done++;
		else
			usleep(10000);
	}
	ASSERT_EQ(nchains, done);
	/* all of them valid: no error reported */
	EXPECT_EQ(0, vdrv_wait_err(&e.d, VDRV_TX, 0));
	v = 0;
	ASSERT_EQ((ssize_t)sizeof(v),
		  read(e.d.vq[VDRV_TX].call_fd, &v, sizeof(v)));
	calls = (int)v;
	TH_LOG("%u chains of %u descriptors completed in %d signals",
	       nchains, tlen + 1, calls);
	/* 64 Ki descriptors in rounds of at most 8 Ki */
	EXPECT_LE(8, calls);
	vtest_env_down(&e);
}

/*
 * The same on the RX side: 64 frames wait in the queue while the guest has
 * no buffers; then it posts 64 receive chains of 1,024 descriptors (an
 * indirect table of one 2 KiB buffer and 1,022 empty ones, all writable)
 * and kicks once.  Without counting descriptors the handler would fill
 * them all in one batch (up to 64 frames) and signal once; with them it
 * signals at least once per 8 Ki descriptors.
 */
TEST(rx_descriptors_count_into_the_budget)
{
	struct vdrv_config cfg = {
		.features = VDRV_FEATURES_QEMU &
			    ~VDRV_F(VIRTIO_RING_F_EVENT_IDX),
		.num = 256,
	};
	const unsigned int nchains = 64, tlen = 1023, flen = 100;
	uint8_t f[100];
	struct vring_desc *t;
	struct vtest_env e;
	struct vdrv_used u;
	uint64_t tgpa, bgpa, v = 0;
	unsigned int i, done = 0, badlen = 0;
	long tx0, tx = 0;
	uint16_t ids[64];
	uint8_t *buf;
	long deadline;
	int ret, calls;

	ret = vtest_env_up(&e, VDRV_XTAP, "w", &cfg, VTEST_NO_RX_FILL);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", e.what, strerror(-ret));
	buf = vdrv_alloc(&e.d, 2048, 64);
	t = vdrv_alloc(&e.d, tlen * sizeof(*t), 16);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, t);
	bgpa = vdrv_gpa(&e.d, buf);
	tgpa = vdrv_gpa(&e.d, t);
	for (i = 0; i < tlen; i++) {
		t[i].addr = bgpa;
		t[i].len = i ? 0 : 2048;
		t[i].flags = VRING_DESC_F_WRITE |
			     (i + 1 < tlen ? VRING_DESC_F_NEXT : 0);
		t[i].next = i + 1 < tlen ? i + 1 : 0;
	}

	/* The frames first: with no guest buffer they wait in the queue. */
	tx0 = tapq_sysfs_long(e.be.ifname, "statistics/tx_packets");
	ASSERT_LE(0, tx0);
	for (i = 0; i < nchains; i++) {
		vtest_frame(f, flen, 100 + i, VTEST_ETH_P);
		ASSERT_EQ(0, vdrv_pkt_send(e.pkt, e.be.ifindex, f, flen));
	}
	deadline = vtest_now_ms() + 4 * WAIT_MS;
	while (vtest_now_ms() < deadline) {
		tx = tapq_sysfs_long(e.be.ifname, "statistics/tx_packets");
		if (tx - tx0 >= nchains)
			break;
		usleep(10000);
	}
	ASSERT_LE(nchains, tx - tx0);

	ASSERT_EQ(0, vdrv_raw_alloc(&e.d, VDRV_RX, nchains, ids));
	vdrv_enable_cb(&e.d, VDRV_RX);
	while (read(e.d.vq[VDRV_RX].call_fd, &v, sizeof(v)) > 0)
		;
	for (i = 0; i < nchains; i++) {
		vdrv_raw_desc(&e.d, VDRV_RX, ids[i], tgpa,
			      tlen * sizeof(*t), VRING_DESC_F_INDIRECT, 0);
		vdrv_raw_post(&e.d, VDRV_RX, ids[i], &ids[i], 1, NULL);
	}
	ASSERT_EQ(0, vdrv_kick_force(&e.d, VDRV_RX));
	deadline = vtest_now_ms() + 4 * WAIT_MS;
	while (done < nchains && vtest_now_ms() < deadline) {
		ret = vdrv_pop(&e.d, VDRV_RX, &u);
		ASSERT_LE(0, ret);
		if (ret) {
			done++;
			if (u.len != e.d.hdr_len + flen)
				badlen++;
		} else {
			usleep(10000);
		}
	}
	ASSERT_EQ(nchains, done);
	/* every chain got one whole frame, and no error was reported */
	EXPECT_EQ(0U, badlen);
	EXPECT_EQ(0, vdrv_wait_err(&e.d, VDRV_RX, 0));
	v = 0;
	ASSERT_EQ((ssize_t)sizeof(v),
		  read(e.d.vq[VDRV_RX].call_fd, &v, sizeof(v)));
	calls = (int)v;
	TH_LOG("%u frames into chains of %u descriptors in %d signals",
	       nchains, tlen + 1, calls);
	/* 64 Ki descriptors in rounds of at most 8 Ki */
	EXPECT_LE(8, calls);
	vtest_env_down(&e);
}

XTEST_HARNESS_MAIN
