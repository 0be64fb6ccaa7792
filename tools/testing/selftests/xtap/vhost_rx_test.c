// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * The vhost RX side and its queue: one vhost consumer per queue ring at a
 * time, and a guest without buffers does not turn every incoming frame into
 * a wake-up of its RX worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "xtest.h"
#include "vtest.h"

#define WAIT_MS		5000
#define FRAME_LEN	200
#define RING_NUM	16

/* voluntary_ctxt_switches of @pid: how often it went to sleep, or -errno. */
static long sleeps(int pid)
{
	char path[64], line[256];
	long n = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

FIXTURE(rx)
{
	struct vtest_env e;
	struct vdrv_config cfg;
	bool up;
};

FIXTURE_SETUP(rx)
{
	int ret;

	self->cfg = (struct vdrv_config){
		.features = VDRV_FEATURES_QEMU,
		.num = RING_NUM,
	};
	ret = vtest_env_up(&self->e, VDRV_XTAP, "r", &self->cfg, 0);
	self->up = true;
	if (!ret)
		ret = vtest_rx_sync(&self->e, WAIT_MS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->e.what, strerror(-ret));
}

FIXTURE_TEARDOWN(rx)
{
	if (self->up)
		vtest_env_down(&self->e);
}

/* One frame host -> guest, checked. */
static void rx_one(struct __test_metadata *_metadata, struct vtest_env *e,
		   uint32_t seq)
{
	int ret = vtest_host_to_guest(e, FRAME_LEN, seq, WAIT_MS);

	ASSERT_EQ(0, ret) TH_LOG("%s: %s", e->what, strerror(-ret));
}

/*
 * While the guest has no RX buffers, frames arriving one by one do not
 * wake the RX worker each time (it waits for the guest's kick); once the
 * guest posts buffers every frame arrives, in order, and the worker
 * listens to the queue again.
 */
TEST_F_TIMEOUT(rx, no_wakeup_per_frame_without_buffers, 120)
{
	uint8_t f[FRAME_LEN], r[FRAME_LEN + 64];
	const unsigned int n = 200;
	struct vdrv_rx_info info;
	long before, after;
	char comm[32], path[128];
	unsigned int i;
	int pid, ret, fd;

	snprintf(comm, sizeof(comm), "xtap-rx-%d", getpid());
	ASSERT_EQ(1, vdrv_threads_named(comm, &pid, 1))
		TH_LOG("not exactly one thread %s", comm);
	/* the stall watchdog would wake the worker every period: off */
	snprintf(path, sizeof(path), "/sys/class/net/%s/xtap/stall_ms",
		 self->e.be.ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", path, strerror(errno));
	ASSERT_EQ(1, write(fd, "0", 1));
	close(fd);

	ASSERT_EQ(0, vtest_rx_exhaust(&self->e, FRAME_LEN, 4 * WAIT_MS));
	/* the first frame finds no buffer: the worker settles down */
	vtest_frame(f, sizeof(f), 0, VTEST_ETH_P);
	ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt, self->e.be.ifindex, f,
				   sizeof(f)));
	usleep(200000);
	before = sleeps(pid);
	ASSERT_LE(0, before);
	for (i = 1; i < n; i++) {
		vtest_frame(f, sizeof(f), i, VTEST_ETH_P);
		ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt, self->e.be.ifindex, f,
					   sizeof(f)));
		/* one at a time: each could wake the worker on its own */
		usleep(2000);
	}
	usleep(200000);
	after = sleeps(pid);
	ASSERT_LE(0, after);
	/* nothing reached the guest meanwhile */
	EXPECT_EQ(-EAGAIN, vdrv_rx_recv(&self->e.d, r, sizeof(r), &info));
	EXPECT_GT(10, after - before)
		TH_LOG("the RX worker slept %ld times for %u frames", after - before,
		       n - 1);

	/* buffers again: everything arrives, in order */
	for (i = 0; i < n; i++) {
		ret = vtest_guest_recv(&self->e, r, sizeof(r), &info, WAIT_MS);
		ASSERT_EQ(FRAME_LEN, ret) TH_LOG("frame %u: %s", i,
						 self->e.what);
		EXPECT_EQ(-1, vtest_frame_diff(r, ret, FRAME_LEN, i,
					       VTEST_ETH_P)) TH_LOG("frame %u", i);
	}
	/* and new frames wake the worker again */
	for (i = 0; i < 10; i++)
		rx_one(_metadata, &self->e, 1000 + i);
}

/*
 * A queue ring has one vhost consumer at a time: a second vhost device
 * gets EBUSY for its RX ring until the first lets go (detach or close);
 * transmitting into the queue is not exclusive.
 */
TEST_F(rx, one_vhost_consumer_per_queue)
{
	int tap = self->e.be.tap_fd, fd2;
	struct vdrv d2;

	fd2 = vdrv_backend_open_vhost(&self->e.be);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, vdrv_init(&d2, &self->cfg));
	ASSERT_EQ(0, vdrv_setup(&d2, fd2)) TH_LOG("%s", d2.err_op);

	EXPECT_EQ(-EBUSY, vdrv_set_backend(&d2, VDRV_RX, tap));
	EXPECT_EQ(0, vdrv_set_backend(&d2, VDRV_TX, tap));
	/* the same device attaching the same queue again is fine */
	EXPECT_EQ(0, vdrv_set_backend(&self->e.d, VDRV_RX, tap));

	/* the claim moves with a detach ... */
	ASSERT_EQ(0, vdrv_set_backend(&self->e.d, VDRV_RX, -1));
	EXPECT_EQ(0, vdrv_set_backend(&d2, VDRV_RX, tap));
	EXPECT_EQ(-EBUSY, vdrv_set_backend(&self->e.d, VDRV_RX, tap));
	EXPECT_EQ(0, vdrv_set_backend(&d2, VDRV_RX, -1));
	EXPECT_EQ(0, vdrv_set_backend(&self->e.d, VDRV_RX, tap));
	EXPECT_EQ(-EBUSY, vdrv_set_backend(&d2, VDRV_RX, tap));

	/* ... and with a close */
	ASSERT_EQ(0, vdrv_set_backend(&self->e.d, VDRV_RX, -1));
	EXPECT_EQ(0, vdrv_set_backend(&d2, VDRV_RX, tap));
	close(fd2);
	vdrv_fini(&d2);
	EXPECT_EQ(0, vdrv_set_backend(&self->e.d, VDRV_RX, tap));
	rx_one(_metadata, &self->e, 1);
}

XTEST_HARNESS_MAIN
