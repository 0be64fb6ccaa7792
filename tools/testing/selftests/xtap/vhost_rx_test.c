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
#include <pthread.h>
#include <stdatomic.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "tapq.h"
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
	long before, after, dropped0;
	char comm[32], path[128];
	unsigned int i;
	int pid, ret, fd;

	vdrv_xtap_worker_name(comm, sizeof(comm), "rx", self->e.be.ifindex, 0);
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
	dropped0 = tapq_sysfs_long(self->e.be.ifname, "statistics/tx_dropped");
	ASSERT_LE(0, dropped0);
	/* the first frame finds no buffer: the worker settles down */
	vtest_frame(f, sizeof(f), 0, VTEST_ETH_P);
	ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt, self->e.be.ifindex, f,
				   sizeof(f)));
	usleep(1000 * xtest_ms(200));
	before = sleeps(pid);
	ASSERT_LE(0, before);
	for (i = 1; i < n; i++) {
		vtest_frame(f, sizeof(f), i, VTEST_ETH_P);
		ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt, self->e.be.ifindex, f,
					   sizeof(f)));
		/* one at a time: each could wake the worker on its own */
		usleep(2000);
	}
	usleep(1000 * xtest_ms(200));
	after = sleeps(pid);
	ASSERT_LE(0, after);
	/* the frames are held, not dropped */
	EXPECT_EQ(dropped0, tapq_sysfs_long(self->e.be.ifname,
					    "statistics/tx_dropped"));
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

/* Flip the queue's vnet header size between 12 and 20 until told to stop. */
struct flipper {
	int fd;
	atomic_bool stop;
	unsigned long flips;
};

static void *flip_hdr_size(void *arg)
{
	struct flipper *fl = arg;
	int sz = 20;

	while (!atomic_load(&fl->stop)) {
		if (ioctl(fl->fd, TUNSETVNETHDRSZ, &sz))
			break;
		sz = sz == 20 ? 12 : 20;
		fl->flips++;
	}
	return NULL;
}

/*
 * TUNSETVNETHDRSZ while frames flow to the guest: each frame is delivered
 * with one header size, 12 or 20 bytes, whole.  The guest parses 12-byte
 * headers, so a 20-byte one shows as 8 more bytes before the frame.  The
 * frame length makes 12 + frame exactly fill 4 buffers: a backend that
 * sized the gather with 12 and then wrote 20 truncates the frame.
 */
TEST_F_TIMEOUT(rx, vnet_hdr_size_changed_under_traffic, 180)
{
	const size_t buf_size = 256, len = 4 * buf_size - 12;
	struct vdrv_config cfg = {
		.features = VDRV_FEATURES_QEMU,
		.num = 64,
		.rx_buf_size = buf_size,
	};
	unsigned int i, n = 0, n20 = 0, bad = 0;
	struct flipper fl = { .flips = 0 };
	struct vdrv_rx_info info;
	uint8_t *f, *r;
	pthread_t t;
	int ret, sz = 12;
	long end;

	vtest_env_down(&self->e);
	self->up = false;
	ret = vtest_env_up(&self->e, VDRV_XTAP, "h", &cfg, 0);
	self->up = true;
	if (!ret)
		ret = vtest_rx_sync(&self->e, WAIT_MS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->e.what, strerror(-ret));
	f = malloc(len);
	r = malloc(len + 64);
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, r);
	fl.fd = self->e.be.tap_fd;
	atomic_init(&fl.stop, false);
	ASSERT_EQ(0, pthread_create(&t, NULL, flip_hdr_size, &fl));
	end = vtest_now_ms() + 20000;
	while (vtest_now_ms() < end && bad < 5) {
		for (i = 0; i < 4; i++) {
			vtest_frame(f, len, n + i, VTEST_ETH_P);
			ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt,
						   self->e.be.ifindex, f, len));
		}
		for (i = 0; i < 4; i++, n++) {
			ret = vtest_guest_recv(&self->e, r, len + 64, &info,
					       WAIT_MS);
			if (ret == (int)len &&
			    vtest_frame_diff(r, ret, len, n, VTEST_ETH_P) == -1)
				continue;
			if (ret == (int)len + 8 &&
			    vtest_frame_diff(r + 8, len, len, n,
					     VTEST_ETH_P) == -1) {
				n20++;
				continue;
			}
			bad++;
			TH_LOG("frame %u: got %d bytes (%s)", n, ret,
			       ret < 0 ? strerror(-ret) : "corrupt");
			if (ret < 0)
				break;
		}
		if (ret < 0)
			break;
	}
	atomic_store(&fl.stop, true);
	pthread_join(t, NULL);
	ASSERT_EQ(0, ioctl(self->e.be.tap_fd, TUNSETVNETHDRSZ, &sz));
	TH_LOG("%u frames, %u with a 20-byte header, %lu size changes", n,
	       n20, fl.flips);
	EXPECT_EQ(0U, bad);
	/* both sizes were seen: the race was really run */
	EXPECT_LT(0U, n20);
	EXPECT_LT(n20, n);
	free(f);
	free(r);
}

/*
 * A guest without MRG_RXBUF whose buffers are too small for a frame: the
 * frame is dropped (the buffer is kept for the next one) and counted, in
 * tx_drop_guest_buf and the netdev's tx_dropped; the next frame that fits
 * arrives.
 */
TEST(rx_frame_larger_than_guest_buffer_counted)
{
	struct vdrv_config cfg = {
		.features = VDRV_FEATURES_QEMU &
			    ~VDRV_F(VIRTIO_NET_F_MRG_RXBUF),
		.num = RING_NUM,
		.rx_buf_size = 10 + 128,
	};
	uint8_t f[FRAME_LEN], r[FRAME_LEN + 64];
	long long drop0, dropped0;
	struct vdrv_rx_info info;
	struct vtest_env e;
	const char *dev;
	long deadline;
	int ret;

	ret = vtest_env_up(&e, VDRV_XTAP, "b", &cfg, 0);
	if (!ret)
		ret = vtest_rx_sync(&e, WAIT_MS);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", e.what, strerror(-ret));
	dev = e.be.ifname;
	drop0 = tapq_stat(dev, "tx_drop_guest_buf");
	ASSERT_LE(0, drop0);
	dropped0 = tapq_sysfs_long(dev, "statistics/tx_dropped");
	vtest_frame(f, sizeof(f), 1, VTEST_ETH_P);
	ASSERT_EQ(0, vdrv_pkt_send(e.pkt, e.be.ifindex, f, sizeof(f)));
	deadline = vtest_now_ms() + WAIT_MS;
	while (tapq_stat(dev, "tx_drop_guest_buf") == drop0 &&
	       vtest_now_ms() < deadline)
		usleep(10000);
	EXPECT_EQ(drop0 + 1, tapq_stat(dev, "tx_drop_guest_buf"));
	EXPECT_EQ(dropped0 + 1, tapq_sysfs_long(dev, "statistics/tx_dropped"));
	/* the buffers are still there for a frame that fits */
	vtest_frame(f, 100, 2, VTEST_ETH_P);
	ASSERT_EQ(0, vdrv_pkt_send(e.pkt, e.be.ifindex, f, 100));
	ret = vtest_guest_recv(&e, r, sizeof(r), &info, WAIT_MS);
	ASSERT_EQ(100, ret);
	EXPECT_EQ(-1, vtest_frame_diff(r, ret, 100, 2, VTEST_ETH_P));
	vtest_env_down(&e);
}

/*
 * Without a kick eventfd on the RX ring nothing but frames can wake the RX
 * worker: it must not stop listening to the queue when the guest runs out
 * of buffers.  The guest refills (it cannot kick) and the next frame
 * delivers both the held one and itself.
 */
TEST_F(rx, frames_wake_the_worker_without_a_kick_eventfd)
{
	struct vhost_vring_file k = { .index = VDRV_RX, .fd = -1 };
	uint8_t f[FRAME_LEN], r[FRAME_LEN + 64];
	struct vdrv_rx_info info;
	unsigned int i;
	int ret;

	ASSERT_EQ(0, ioctl(self->e.be.vhost_fd, VHOST_SET_VRING_KICK, &k));
	ASSERT_EQ(0, vtest_rx_exhaust(&self->e, FRAME_LEN, 4 * WAIT_MS));
	/* frame 1 finds no buffer */
	vtest_frame(f, sizeof(f), 1, VTEST_ETH_P);
	ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt, self->e.be.ifindex, f,
				   sizeof(f)));
	usleep(1000 * xtest_ms(200));
	/* buffers again, without a kick the device could hear */
	ASSERT_LT(0, vdrv_rx_fill(&self->e.d));
	/* frame 2 wakes the worker: both arrive, in order */
	vtest_frame(f, sizeof(f), 2, VTEST_ETH_P);
	ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt, self->e.be.ifindex, f,
				   sizeof(f)));
	for (i = 1; i <= 2; i++) {
		ret = vtest_guest_recv(&self->e, r, sizeof(r), &info, WAIT_MS);
		ASSERT_EQ(FRAME_LEN, ret) TH_LOG("frame %u: %s", i,
						 self->e.what);
		EXPECT_EQ(-1, vtest_frame_diff(r, ret, FRAME_LEN, i,
					       VTEST_ETH_P));
	}
}

XTEST_HARNESS_MAIN
