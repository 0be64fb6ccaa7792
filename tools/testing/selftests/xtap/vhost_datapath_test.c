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
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vtest.h"

#define BUF_SIZE	(VDRV_MAX_FRAME + 64)
#define WAIT_MS		5000
/* MTU that lets the host send 65535-byte frames (65535 - Ethernet header) */
#define BIG_MTU		(VDRV_MAX_FRAME - VTEST_HDR)

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

static void dp_config(const FIXTURE_VARIANT(dp) *v, struct vdrv_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->features = v->features;
	cfg->tx_split_hdr = v->tx_split_hdr;
	cfg->tx_frags = v->tx_frags;
	cfg->rx_split_hdr = v->rx_split_hdr;
}

FIXTURE_SETUP(dp)
{
	struct vdrv_config cfg;
	int ret;

	VTEST_SKIP_XTAP_UNIMPLEMENTED(variant->kind);
	self->f = malloc(BUF_SIZE);
	self->r = malloc(BUF_SIZE);
	ASSERT_NE(NULL, self->f);
	ASSERT_NE(NULL, self->r);
	dp_config(variant, &cfg);
	ret = vtest_env_up(&self->e, variant->kind, "d", &cfg, 0);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->e.what, strerror(-ret));
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
	for (i = 0; i < sizeof(frame_sizes) / sizeof(frame_sizes[0]); i++) {
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
	for (i = 0; i < sizeof(frame_sizes) / sizeof(frame_sizes[0]); i++) {
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

TEST_HARNESS_MAIN
