// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Dirty-page logging for live migration (VHOST_F_LOG_ALL), turned on and
 * off while the rings run, the way QEMU does it: VHOST_SET_LOG_BASE, then
 * VHOST_SET_FEATURES with VHOST_F_LOG_ALL, then VHOST_SET_VRING_ADDR with
 * VHOST_VRING_F_LOG.  Every page the backend writes must appear in the
 * bitmap (the RX buffer bytes, the used entries and the used index), and
 * nothing else: no page it did not write and no byte beyond the bitmap.
 * Run against upstream vhost-net + tun as well, to show the test is right.
 *
 * The guest memory layout puts the rings and buffers at guest-physical
 * 16 MiB, away from their user addresses, so a log of user addresses (or
 * of the wrong region) shows up.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "xtest.h"
#include "vtest.h"

#define WAIT_MS		5000
#define LOG_PAGE	4096ULL
/* Guest memory: 512 KiB at 0 and 3.5 MiB at 16 MiB. */
#define HIGH_GPA	0x1000000ULL
#define HIGH_OFF	0x80000ULL
#define HIGH_SIZE	0x380000ULL
#define MEM_END		(HIGH_GPA + HIGH_SIZE)
/* Bytes of bitmap the layout needs, and what the test maps. */
#define LOG_BYTES	((MEM_END / LOG_PAGE + 7) / 8)
#define LOG_MAP		4096UL
#define KERNEL_ADDR	0xffff888000000000ULL

static const struct vdrv_layout layout = {
	.nregions = 2,
	.region = {
		{ .gpa = 0, .offset = 0, .size = HIGH_OFF },
		{ .gpa = HIGH_GPA, .offset = HIGH_OFF, .size = HIGH_SIZE },
	},
	.arena_size = HIGH_OFF + HIGH_SIZE,
	.alloc_offset = HIGH_OFF,
};

static int vio(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? errno : 0;
}

/* A set of guest pages, one byte per page of the layout. */
struct pageset {
	uint8_t p[MEM_END / LOG_PAGE];
};

static void pageset_add(struct pageset *s, uint64_t gpa, uint64_t len)
{
	uint64_t pg;

	for (pg = gpa / LOG_PAGE; len && pg <= (gpa + len - 1) / LOG_PAGE; pg++)
		if (pg < sizeof(s->p))
			s->p[pg] = 1;
}

static bool log_bit(const uint8_t *log, uint64_t pg)
{
	return log[pg / 8] & (1U << (pg % 8));
}

FIXTURE(lg)
{
	struct vtest_env e;
	struct vdrv_config cfg;
	uint8_t *log;		/* LOG_MAP bytes, page-aligned */
	uint8_t *log2;
	int logfd;
	uint32_t seq;
	struct pageset written;	/* pages the backend wrote since the clear */
	struct pageset used;	/* pages of both used rings */
};

FIXTURE_VARIANT(lg)
{
	enum vdrv_kind kind;
};

FIXTURE_VARIANT_ADD(lg, upstream) { .kind = VDRV_UPSTREAM };
FIXTURE_VARIANT_ADD(lg, xtap) { .kind = VDRV_XTAP };

FIXTURE_SETUP(lg)
{
	unsigned int i;
	int ret;

	VTEST_SKIP_UPSTREAM_UNAVAILABLE(variant->kind);
	VTEST_FILTER(variant->kind);
	self->logfd = -1;
	self->log = aligned_alloc(LOG_MAP, LOG_MAP);
	self->log2 = aligned_alloc(LOG_MAP, LOG_MAP);
	ASSERT_TRUE(self->log && self->log2);
	memset(self->log, 0, LOG_MAP);
	memset(self->log2, 0, LOG_MAP);
	self->cfg = (struct vdrv_config){
		.features = VDRV_FEATURES_QEMU,
		.num = 64,
		.tx_max_frame = 2048,
		.layout = &layout,
	};
	ret = vtest_env_up(&self->e, variant->kind, "l", &self->cfg, 0);
	if (!ret)
		ret = vtest_rx_sync(&self->e, WAIT_MS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->e.what, strerror(-ret));
	for (i = 0; i < VDRV_NVQ; i++) {
		struct vdrv_vq *vq = &self->e.d.vq[i];

		pageset_add(&self->used, vdrv_gpa(&self->e.d, vq->vr.used),
			    sizeof(struct vring_used) +
			    vq->num * sizeof(struct vring_used_elem) + 2);
	}
	self->logfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, self->logfd);
}

FIXTURE_TEARDOWN(lg)
{
	vtest_env_down(&self->e);
	if (self->logfd >= 0)
		close(self->logfd);
	free(self->log);
	free(self->log2);
}

static int set_log_base(struct vtest_env *e, const void *base)
{
	uint64_t p = (uintptr_t)base;

	return vio(e->be.vhost_fd, VHOST_SET_LOG_BASE, &p);
}

static int set_log_base_u64(struct vtest_env *e, uint64_t p)
{
	return vio(e->be.vhost_fd, VHOST_SET_LOG_BASE, &p);
}

static int set_features(struct vtest_env *e, uint64_t f)
{
	return vio(e->be.vhost_fd, VHOST_SET_FEATURES, &f);
}

/* VHOST_SET_VRING_ADDR as vdrv_setup_vq() does, with @flags. */
static int set_vring_log(struct vtest_env *e, unsigned int i,
			 unsigned int flags, uint64_t log_gpa)
{
	struct vdrv_vq *vq = &e->d.vq[i];
	struct vhost_vring_addr a = {
		.index = i,
		.flags = flags,
		.desc_user_addr = (uintptr_t)vq->vr.desc,
		.avail_user_addr = (uintptr_t)vq->vr.avail,
		.used_user_addr = (uintptr_t)vq->vr.used,
		.log_guest_addr = log_gpa,
	};

	return vio(e->be.vhost_fd, VHOST_SET_VRING_ADDR, &a);
}

static uint64_t used_gpa(struct vtest_env *e, unsigned int i)
{
	return vdrv_gpa(&e->d, e->d.vq[i].vr.used);
}

/* What QEMU does when migration starts (vhost_log_global_start()). */
static int log_start(struct vtest_env *e, const void *base)
{
	unsigned int i;
	int ret;

	ret = set_log_base(e, base);
	if (!ret)
		ret = set_features(e, e->d.features | VDRV_F(VHOST_F_LOG_ALL));
	for (i = 0; !ret && i < VDRV_NVQ; i++)
		ret = set_vring_log(e, i, 1U << VHOST_VRING_F_LOG,
				    used_gpa(e, i));
	return ret;
}

/* ... and when it ends without moving the guest. */
static int log_stop(struct vtest_env *e)
{
	unsigned int i;
	int ret;

	ret = set_features(e, e->d.features);
	for (i = 0; !ret && i < VDRV_NVQ; i++)
		ret = set_vring_log(e, i, 0, used_gpa(e, i));
	return ret;
}

static uint64_t eventfd_count(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/*
 * @n frames host -> guest, all received; every frame the guest got (test
 * frames and anything else) adds the bytes the backend wrote to
 * self->written.
 */
static void traffic(struct __test_metadata *_metadata,
		    FIXTURE_DATA(lg) * self, unsigned int n)
{
	static const size_t lens[] = { 60, 1514, 333, 1000, 64, 1200, 777 };
	uint8_t f[1514], r[1514 + 64];
	struct vtest_env *e = &self->e;
	struct vdrv_rx_info info;
	unsigned int i, got = 0;
	long deadline;
	int ret;

	for (i = 0; i < n; i++) {
		size_t len = lens[(self->seq + i) % ARRAY_SIZE(lens)];

		vtest_frame(f, len, self->seq + i, VTEST_ETH_P);
		ASSERT_EQ(0, vdrv_pkt_send(e->pkt, e->be.ifindex, f, len));
		if (i % 16 == 15)
			usleep(10000);
	}
	deadline = vtest_now_ms() + WAIT_MS;
	while (got < n) {
		ret = vdrv_rx_recv(&e->d, r, sizeof(r), &info);
		if (ret == -EAGAIN) {
			ASSERT_EQ(0, vtest_rx_refill(e));
			ASSERT_GT(deadline, vtest_now_ms())
				TH_LOG("%u of %u frames arrived", got, n);
			ASSERT_LE(0, vdrv_wait(&e->d, 1U << VDRV_RX, 50));
			continue;
		}
		ASSERT_LE(0, ret) TH_LOG("%s", e->d.err_op);
		ASSERT_FALSE(info.raw);
		ASSERT_EQ(1U, info.nbufs);
		pageset_add(&self->written, vdrv_gpa(&e->d, info.used.buf),
			    info.used.len);
		if (vtest_proto(r, ret) != VTEST_ETH_P)
			continue;
		EXPECT_EQ(-1, vtest_frame_diff(r, ret,
					       lens[(self->seq + got) %
						    ARRAY_SIZE(lens)],
					       self->seq + got, VTEST_ETH_P));
		got++;
	}
	/* stragglers of the stack, if any, count as written too */
	usleep(50000);
	while (vdrv_rx_recv(&e->d, r, sizeof(r), &info) >= 0)
		pageset_add(&self->written, vdrv_gpa(&e->d, info.used.buf),
			    info.used.len);
	ASSERT_EQ(0, vtest_rx_refill(e));
	self->seq += n;
}

/*
 * Every page in self->written and the RX used ring's page are in @log;
 * every bit set is one of those or a page of a used ring; no byte of the
 * mapping beyond the bitmap is touched.
 */
static void check_log(struct __test_metadata *_metadata,
		      FIXTURE_DATA(lg) * self, const uint8_t *log)
{
	uint64_t rx_used = used_gpa(&self->e, VDRV_RX) / LOG_PAGE;
	unsigned int missing = 0, extra = 0, nwritten = 0;
	uint64_t pg;
	size_t i;

	for (pg = 0; pg < sizeof(self->written.p); pg++) {
		bool want = self->written.p[pg] || pg == rx_used;
		bool may = want || self->used.p[pg];

		nwritten += self->written.p[pg];
		if (want && !log_bit(log, pg)) {
			missing++;
			TH_LOG("page %#llx written but not logged",
			       (unsigned long long)pg * LOG_PAGE);
		}
		if (!may && log_bit(log, pg)) {
			extra++;
			TH_LOG("page %#llx logged but not written",
			       (unsigned long long)pg * LOG_PAGE);
		}
	}
	EXPECT_LT(0U, nwritten);
	EXPECT_EQ(0U, missing);
	EXPECT_EQ(0U, extra);
	for (i = LOG_BYTES; i < LOG_MAP; i++)
		if (log[i])
			break;
	EXPECT_EQ(LOG_MAP, i) TH_LOG("byte %zu beyond the bitmap written", i);
}

/* Logging on while the rings run: RX buffers and used rings, nothing else. */
TEST_F_TIMEOUT(lg, rx_pages_logged, 120)
{
	uint64_t offered;

	ASSERT_EQ(0, vio(self->e.be.vhost_fd, VHOST_GET_FEATURES, &offered));
	ASSERT_NE(0ULL, offered & VDRV_F(VHOST_F_LOG_ALL));
	ASSERT_EQ(0, vio(self->e.be.vhost_fd, VHOST_SET_LOG_FD, &self->logfd));
	ASSERT_EQ(0, log_start(&self->e, self->log));
	/* the rings are running: start from a clean log */
	usleep(50000);
	memset(self->log, 0, LOG_MAP);
	eventfd_count(self->logfd);

	traffic(_metadata, self, 200);
	check_log(_metadata, self, self->log);
	EXPECT_LT(0ULL, eventfd_count(self->logfd))
		TH_LOG("the log eventfd was not signalled");
	ASSERT_EQ(0, log_stop(&self->e));
}

/* Logging off again, or never on: the bitmap stays clean. */
TEST_F_TIMEOUT(lg, off_logs_nothing, 120)
{
	size_t i;

	/* a log base alone does not turn logging on */
	ASSERT_EQ(0, set_log_base(&self->e, self->log));
	ASSERT_EQ(0, vio(self->e.be.vhost_fd, VHOST_SET_LOG_FD, &self->logfd));
	traffic(_metadata, self, 50);
	for (i = 0; i < LOG_MAP && !self->log[i]; i++)
		;
	EXPECT_EQ(LOG_MAP, i) TH_LOG("byte %zu of the log set", i);

	/* on, then off */
	ASSERT_EQ(0, log_start(&self->e, self->log));
	traffic(_metadata, self, 20);
	ASSERT_EQ(0, log_stop(&self->e));
	usleep(50000);
	memset(self->log, 0, LOG_MAP);
	eventfd_count(self->logfd);
	traffic(_metadata, self, 50);
	for (i = 0; i < LOG_MAP && !self->log[i]; i++)
		;
	EXPECT_EQ(LOG_MAP, i) TH_LOG("byte %zu of the log set", i);
	EXPECT_EQ(0ULL, eventfd_count(self->logfd));
}

/* QEMU moves the log (it grows with the memory map): the new one is used. */
TEST_F_TIMEOUT(lg, log_base_change, 120)
{
	ASSERT_EQ(0, log_start(&self->e, self->log));
	traffic(_metadata, self, 50);
	ASSERT_EQ(0, set_log_base(&self->e, self->log2));
	/* the old log is left alone from here on */
	memset(&self->written, 0, sizeof(self->written));
	{
		uint8_t before[LOG_MAP];

		memcpy(before, self->log, LOG_MAP);
		traffic(_metadata, self, 100);
		EXPECT_EQ(0, memcmp(before, self->log, LOG_MAP))
			TH_LOG("the old log still changed");
	}
	check_log(_metadata, self, self->log2);
	ASSERT_EQ(0, log_stop(&self->e));
}

/*
 * Bad log arguments: a clear errno, the working log stays in use and
 * nothing is written outside it.
 */
TEST_F_TIMEOUT(lg, bad_arguments, 120)
{
	struct vtest_env *e = &self->e;
	int pfd[2], bad = 100000;
	uint64_t rx = used_gpa(e, VDRV_RX);

	ASSERT_EQ(0, pipe(pfd));
	EXPECT_EQ(EFAULT, vio(e->be.vhost_fd, VHOST_SET_LOG_BASE, NULL));
	EXPECT_EQ(EFAULT, vio(e->be.vhost_fd, VHOST_SET_LOG_FD, NULL));
	EXPECT_EQ(EBADF, vio(e->be.vhost_fd, VHOST_SET_LOG_FD, &bad));
	EXPECT_EQ(EINVAL, vio(e->be.vhost_fd, VHOST_SET_LOG_FD, &pfd[0]));
	close(pfd[0]);
	close(pfd[1]);

	/* a base in the kernel, or one whose bitmap would wrap: logging
	 * cannot start with it
	 */
	ASSERT_EQ(0, set_log_base_u64(e, KERNEL_ADDR));
	EXPECT_EQ(EFAULT, set_features(e, e->d.features |
				       VDRV_F(VHOST_F_LOG_ALL)));
	EXPECT_EQ(EINVAL, set_vring_log(e, VDRV_RX, 1U << VHOST_VRING_F_LOG,
					rx));
	ASSERT_EQ(0, set_log_base_u64(e, UINT64_MAX - 100));
	EXPECT_EQ(EFAULT, set_features(e, e->d.features |
				       VDRV_F(VHOST_F_LOG_ALL)));
	/* unknown ring flags */
	EXPECT_EQ(EOPNOTSUPP, set_vring_log(e, VDRV_RX, 1U << 1, rx));

	/* with logging on, a bad base is refused and the old one stays */
	ASSERT_EQ(0, log_start(e, self->log));
	EXPECT_EQ(EFAULT, set_log_base_u64(e, KERNEL_ADDR));
	EXPECT_EQ(EFAULT, set_log_base_u64(e, UINT64_MAX - 100));
	/* a misaligned used ring address for the log */
	EXPECT_EQ(EINVAL, set_vring_log(e, VDRV_RX, 1U << VHOST_VRING_F_LOG,
					rx + 2));
	usleep(50000);
	memset(self->log, 0, LOG_MAP);
	traffic(_metadata, self, 100);
	check_log(_metadata, self, self->log);
	ASSERT_EQ(0, log_stop(e));
}

XTEST_HARNESS_MAIN
