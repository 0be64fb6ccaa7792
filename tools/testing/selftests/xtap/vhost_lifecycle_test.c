// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * /dev/vhost-xtap under a hostile or careless owner: killed mid-traffic,
 * fds closed in odd orders, the link deleted under a running backend, the
 * memory table and the call eventfd changed while running,
 * VHOST_GET_VRING_BASE on a running ring, frames held when the guest has no
 * buffers (back-pressure, then delivery in order, or return to the queue on
 * detach), busy polling, and VHOST_RESET_OWNER.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "tapq.h"
#include "xtest.h"
#include "vtest.h"

#define WAIT_MS		5000
#define FRAME_LEN	200

static int vio(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? errno : 0;
}

static int vfile(int fd, unsigned long req, unsigned int idx, int efd)
{
	struct vhost_vring_file f = { .index = idx, .fd = efd };

	return vio(fd, req, &f);
}

/* One frame guest -> host, checked. */
static void tx_one(struct __test_metadata *_metadata, struct vtest_env *e,
		   uint32_t seq)
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

/* One frame host -> guest, checked. */
static void rx_one(struct __test_metadata *_metadata, struct vtest_env *e,
		   uint32_t seq)
{
	int ret = vtest_host_to_guest(e, FRAME_LEN, seq, WAIT_MS);

	ASSERT_EQ(0, ret) TH_LOG("%s: %s", e->what, strerror(-ret));
}

static int module_refcnt(void)
{
	char buf[32];
	ssize_t n;
	int fd;

	fd = open("/sys/module/xtap/refcnt", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	return atoi(buf);
}

FIXTURE(lc)
{
	struct vtest_env e;
	bool up;
};

FIXTURE_VARIANT(lc)
{
	uint32_t busyloop_us;
};

FIXTURE_VARIANT_ADD(lc, sleep) { .busyloop_us = 0 };
FIXTURE_VARIANT_ADD(lc, busy_poll) { .busyloop_us = 50 };

static int lc_up(FIXTURE_DATA(lc) *self, const FIXTURE_VARIANT(lc) *variant,
		 uint32_t busyloop_us)
{
	struct vdrv_config cfg = {
		.features = VDRV_FEATURES_QEMU,
		.busyloop_us = busyloop_us ? busyloop_us :
			       variant->busyloop_us,
	};
	int ret;

	ret = vtest_env_up(&self->e, VDRV_XTAP, "l", &cfg, 0);
	self->up = true;
	if (!ret)
		ret = vtest_rx_sync(&self->e, WAIT_MS);
	return ret;
}

FIXTURE_SETUP(lc)
{
	int ret;

	ret = lc_up(self, variant, 0);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->e.what, strerror(-ret));
}

FIXTURE_TEARDOWN(lc)
{
	if (self->up)
		vtest_env_down(&self->e);
}

/* Many frames both ways, in order. */
TEST_F(lc, traffic_both_ways)
{
	unsigned int i;

	for (i = 0; i < 100; i++) {
		tx_one(_metadata, &self->e, i);
		rx_one(_metadata, &self->e, 1000 + i);
	}
}

/* QEMU may close its tap fd first: the backend keeps the queue. */
TEST_F(lc, tap_fd_closed_while_attached)
{
	close(self->e.be.tap_fd);
	self->e.be.tap_fd = -1;
	tx_one(_metadata, &self->e, 1);
	rx_one(_metadata, &self->e, 2);
}

/* Deleting the link under a running backend: rings keep completing. */
TEST_F(lc, link_deleted_while_attached)
{
	uint8_t f[FRAME_LEN];
	unsigned int i;

	ASSERT_EQ(0, vdrv_rtnl_dellink(self->e.be.ifindex));
	self->e.be.ifindex = 0;
	self->e.be.ifname[0] = 0;
	for (i = 0; i < 20; i++) {
		vtest_frame(f, sizeof(f), i, VTEST_ETH_P);
		ASSERT_EQ(0, vtest_guest_send(&self->e, f, sizeof(f), true,
					      WAIT_MS));
	}
	/* every request comes back although the frames have nowhere to go */
	ASSERT_EQ(0, vtest_tx_drain(&self->e, WAIT_MS));
	/* QEMU's stop sequence still succeeds */
	EXPECT_EQ(0, vdrv_detach(&self->e.d));
	EXPECT_EQ(0, vfile(self->e.be.vhost_fd, VHOST_NET_SET_BACKEND, 0, -1));
}

/* A new memory table while running applies at once, both ways. */
TEST_F(lc, mem_table_replaced_while_running)
{
	struct vhost_memory empty = { .nregions = 0 };
	uint8_t f[FRAME_LEN], r[FRAME_LEN + 64];
	struct vdrv_used u;
	long deadline;
	int ret;

	tx_one(_metadata, &self->e, 1);
	ASSERT_EQ(0, vio(self->e.be.vhost_fd, VHOST_SET_MEM_TABLE, &empty));
	/* no guest memory: the frame's buffers are out of range */
	vtest_frame(f, sizeof(f), 2, VTEST_ETH_P);
	ASSERT_LE(0, vdrv_tx_send(&self->e.d, f, sizeof(f), NULL, NULL));
	ASSERT_EQ(0, vdrv_kick_force(&self->e.d, VDRV_TX));
	ASSERT_EQ(1, vdrv_wait_err(&self->e.d, VDRV_TX, WAIT_MS));
	deadline = vtest_now_ms() + WAIT_MS;
	while (!(ret = vdrv_pop(&self->e.d, VDRV_TX, &u)) &&
	       vtest_now_ms() < deadline)
		vdrv_wait(&self->e.d, 1U << VDRV_TX, 50);
	ASSERT_EQ(1, ret);
	EXPECT_EQ(0U, u.len);
	EXPECT_EQ(-ETIMEDOUT, vtest_host_recv(&self->e, r, sizeof(r),
					      VTEST_ETH_P, xtest_ms(200)));
	/* the real table again: everything works */
	ASSERT_EQ(0, vdrv_set_mem_table(&self->e.d));
	tx_one(_metadata, &self->e, 3);
	rx_one(_metadata, &self->e, 4);
}

/* The call eventfd can be swapped (and unset) while running. */
TEST_F(lc, call_eventfd_swapped_while_running)
{
	int vfd = self->e.be.vhost_fd, efd, orig = self->e.d.vq[VDRV_TX].call_fd;
	struct pollfd pfd;
	uint8_t f[FRAME_LEN];
	uint64_t v;

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ASSERT_EQ(0, vfile(vfd, VHOST_SET_VRING_CALL, VDRV_TX, efd));
	vdrv_enable_cb(&self->e.d, VDRV_TX);
	vtest_frame(f, sizeof(f), 1, VTEST_ETH_P);
	ASSERT_LE(0, vdrv_tx_send(&self->e.d, f, sizeof(f), NULL, NULL));
	ASSERT_EQ(0, vdrv_kick_force(&self->e.d, VDRV_TX));
	pfd = (struct pollfd){ .fd = efd, .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, WAIT_MS)) TH_LOG("no call on the new eventfd");
	ASSERT_EQ((ssize_t)sizeof(v), read(efd, &v, sizeof(v)));
	EXPECT_LE(1ULL, v);
	ASSERT_EQ(1, vdrv_tx_reap(&self->e.d, 0));

	/* no call eventfd at all: requests still complete */
	ASSERT_EQ(0, vfile(vfd, VHOST_SET_VRING_CALL, VDRV_TX, -1));
	close(efd);
	ASSERT_LE(0, vdrv_tx_send(&self->e.d, f, sizeof(f), NULL, NULL));
	ASSERT_EQ(0, vdrv_kick_force(&self->e.d, VDRV_TX));
	ASSERT_EQ(0, vtest_tx_drain(&self->e, WAIT_MS));

	ASSERT_EQ(0, vfile(vfd, VHOST_SET_VRING_CALL, VDRV_TX, orig));
	usleep(100000);
	vdrv_pkt_drain(self->e.pkt);
	tx_one(_metadata, &self->e, 3);
}

/*
 * VHOST_GET_VRING_BASE is a read without side effects, as upstream's: on a
 * running ring it returns the current base and the ring goes on; re-attaching
 * the same backend changes nothing either.  QEMU detaches the backend first
 * (SET_BACKEND -1), so the base it reads does not move under it.
 */
TEST_F(lc, get_vring_base_is_a_read)
{
	struct vhost_vring_state s = { .index = VDRV_TX };
	int vfd = self->e.be.vhost_fd;
	unsigned int base;

	tx_one(_metadata, &self->e, 1);
	ASSERT_EQ(0, vio(vfd, VHOST_GET_VRING_BASE, &s));
	base = s.num;
	EXPECT_EQ(self->e.d.vq[VDRV_TX].avail_idx, base);

	/* the ring keeps running */
	tx_one(_metadata, &self->e, 2);
	s.num = 0xdead;
	ASSERT_EQ(0, vio(vfd, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(base + 1, s.num);

	/* re-attaching the same backend keeps it running */
	ASSERT_EQ(0, vfile(vfd, VHOST_NET_SET_BACKEND, VDRV_TX,
			   self->e.be.tap_fd));
	tx_one(_metadata, &self->e, 3);

	/* QEMU's stop: detach, then read the base; attach resumes there */
	ASSERT_EQ(0, vfile(vfd, VHOST_NET_SET_BACKEND, VDRV_TX, -1));
	ASSERT_EQ(0, vio(vfd, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(base + 2, s.num);
	ASSERT_EQ(0, vfile(vfd, VHOST_NET_SET_BACKEND, VDRV_TX,
			   self->e.be.tap_fd));
	tx_one(_metadata, &self->e, 4);
	ASSERT_EQ(0, vio(vfd, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(base + 3, s.num);
}

/*
 * No guest buffers: frames wait (nothing is dropped), and arrive in order
 * once the guest posts buffers again.
 */
TEST_F(lc, rx_waits_for_guest_buffers)
{
	uint8_t f[FRAME_LEN], r[FRAME_LEN + 64];
	struct vdrv_rx_info info;
	const unsigned int n = 50;
	long dropped0;
	unsigned int i;
	int ret;

	ASSERT_EQ(0, vtest_rx_exhaust(&self->e, FRAME_LEN, 4 * WAIT_MS));
	dropped0 = tapq_sysfs_long(self->e.be.ifname, "statistics/tx_dropped");
	ASSERT_LE(0, dropped0);
	for (i = 0; i < n; i++) {
		vtest_frame(f, sizeof(f), 2000 + i, VTEST_ETH_P);
		ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt, self->e.be.ifindex, f,
					   sizeof(f)));
	}
	usleep(1000 * xtest_ms(300));
	/* held, not dropped (an empty RX ring cannot show anything else) */
	EXPECT_EQ(dropped0, tapq_sysfs_long(self->e.be.ifname,
					    "statistics/tx_dropped"));
	for (i = 0; i < n; i++) {
		ret = vtest_guest_recv(&self->e, r, sizeof(r), &info, WAIT_MS);
		ASSERT_EQ(FRAME_LEN, ret) TH_LOG("frame %u: %s", i,
						 self->e.what);
		EXPECT_EQ(-1, vtest_frame_diff(r, ret, FRAME_LEN, 2000 + i,
					       VTEST_ETH_P));
	}
}

/*
 * Frames the backend holds for want of guest buffers go back to the queue
 * on detach: QEMU's userspace reader gets them, in order.
 */
TEST_F(lc, held_frames_return_to_the_queue)
{
	uint8_t f[FRAME_LEN], r[FRAME_LEN + 64];
	const unsigned int n = 50, hlen = self->e.d.hdr_len;
	struct pollfd pfd;
	unsigned int i;
	ssize_t len;

	ASSERT_EQ(0, vtest_rx_exhaust(&self->e, FRAME_LEN, 4 * WAIT_MS));
	for (i = 0; i < n; i++) {
		vtest_frame(f, sizeof(f), 3000 + i, VTEST_ETH_P);
		ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt, self->e.be.ifindex, f,
					   sizeof(f)));
	}
	usleep(1000 * xtest_ms(300));
	ASSERT_EQ(0, vdrv_detach(&self->e.d));
	pfd = (struct pollfd){ .fd = self->e.be.tap_fd, .events = POLLIN };
	for (i = 0; i < n; i++) {
		ASSERT_EQ(1, poll(&pfd, 1, WAIT_MS)) TH_LOG("frame %u", i);
		len = read(self->e.be.tap_fd, r, sizeof(r));
		ASSERT_EQ((ssize_t)(hlen + FRAME_LEN), len);
		EXPECT_EQ(-1, vtest_frame_diff(r + hlen, len - hlen, FRAME_LEN,
					       3000 + i, VTEST_ETH_P))
			TH_LOG("frame %u", i);
	}
}

/*
 * Frames held by the backend when the link is deleted are not readable
 * afterwards: once the device is gone read() is EBADFD and poll() reports
 * EPOLLERR, even after the backend detaches and gives its frames back.
 */
TEST_F(lc, held_frames_gone_with_the_link)
{
	uint8_t f[FRAME_LEN], r[FRAME_LEN + 64];
	int fd = self->e.be.tap_fd;
	const unsigned int n = 20;
	struct pollfd pfd;
	unsigned int i;

	ASSERT_EQ(0, vtest_rx_exhaust(&self->e, FRAME_LEN, 4 * WAIT_MS));
	for (i = 0; i < n; i++) {
		vtest_frame(f, sizeof(f), 4000 + i, VTEST_ETH_P);
		ASSERT_EQ(0, vdrv_pkt_send(self->e.pkt, self->e.be.ifindex, f,
					   sizeof(f)));
	}
	usleep(1000 * xtest_ms(300));
	ASSERT_EQ(0, vdrv_rtnl_dellink(self->e.be.ifindex));
	self->e.be.ifindex = 0;
	self->e.be.ifname[0] = 0;
	ASSERT_EQ(0, vdrv_detach(&self->e.d));
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLERR, pfd.revents);
	errno = 0;
	EXPECT_EQ(-1, read(fd, r, sizeof(r)));
	EXPECT_EQ(EBADFD, errno);
}

/* A huge busy-loop timeout does not delay the owner's ioctls or close. */
TEST_F(lc, long_busy_poll_then_close)
{
	vtest_env_down(&self->e);
	self->up = false;
	ASSERT_EQ(0, lc_up(self, variant, 30 * 1000 * 1000));
	tx_one(_metadata, &self->e, 1);
	rx_one(_metadata, &self->e, 2);
	/* the workers spin now; control-plane calls make them let go */
	ASSERT_EQ(0, vdrv_set_mem_table(&self->e.d));
	ASSERT_EQ(0, vdrv_detach(&self->e.d));
	ASSERT_EQ(0, vdrv_attach(&self->e.d, self->e.be.tap_fd));
	tx_one(_metadata, &self->e, 3);
	vtest_env_down(&self->e);
	self->up = false;
}

/* VHOST_RESET_OWNER: everything is forgotten; the device can be set up again. */
TEST_F(lc, reset_owner_and_set_up_again)
{
	int vfd = self->e.be.vhost_fd, status;
	struct vhost_vring_state s = { .index = 0 };
	pid_t pid;

	tx_one(_metadata, &self->e, 1);
	ASSERT_EQ(0, vio(vfd, VHOST_RESET_OWNER, NULL));
	EXPECT_EQ(EPERM, vio(vfd, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(EPERM, vio(vfd, VHOST_RESET_OWNER, NULL));

	/* another process may own it now; its exit leaves a dead owner */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(vio(vfd, VHOST_SET_OWNER, NULL) ||
		      vdrv_set_mem_table(&self->e.d));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(EBUSY, vio(vfd, VHOST_SET_OWNER, NULL));
	EXPECT_EQ(EPERM, vio(vfd, VHOST_RESET_OWNER, NULL));
	vtest_env_down(&self->e);
	self->up = false;

	/* a fresh device in this process works as before ... */
	ASSERT_EQ(0, lc_up(self, variant, 0));
	tx_one(_metadata, &self->e, 2);
	/* ... and again after a reset, resuming at the saved ring bases */
	vfd = self->e.be.vhost_fd;
	ASSERT_EQ(0, vdrv_detach(&self->e.d));
	ASSERT_EQ(0, vio(vfd, VHOST_GET_VRING_BASE, &s));
	ASSERT_EQ(0, vio(vfd, VHOST_RESET_OWNER, NULL));
	ASSERT_EQ(0, vdrv_setup(&self->e.d, vfd)) TH_LOG("%s",
							  self->e.d.err_op);
	ASSERT_EQ(0, vio(vfd, VHOST_SET_VRING_BASE, &s));
	ASSERT_EQ(0, vdrv_attach(&self->e.d, self->e.be.tap_fd));
	tx_one(_metadata, &self->e, 3);
	rx_one(_metadata, &self->e, 4);
}

/*
 * The owner dies by SIGKILL in the middle of traffic: its workers go away
 * and nothing stays referenced once the link is deleted.
 */
TEST_F_TIMEOUT(lc, owner_killed_mid_traffic, 120)
{
	int p[2], status, base, ifindex = 0, ret;
	char comm[32];
	long deadline;
	pid_t pid;

	vtest_env_down(&self->e);
	self->up = false;
	base = module_refcnt();
	ASSERT_LE(0, base);
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint8_t f[FRAME_LEN], r[FRAME_LEN + 64];
		struct vdrv_rx_info info;
		uint32_t seq = 0;

		close(p[0]);
		if (lc_up(self, variant, 0))
			_exit(1);
		if (write(p[1], &self->e.be.ifindex, sizeof(int)) != sizeof(int))
			_exit(1);
		for (;;) {
			vtest_frame(f, sizeof(f), seq++, VTEST_ETH_P);
			vdrv_tx_send(&self->e.d, f, sizeof(f), NULL, NULL);
			vdrv_kick(&self->e.d, VDRV_TX);
			vdrv_tx_reap(&self->e.d, 0);
			vdrv_pkt_send(self->e.pkt, self->e.be.ifindex, f,
				      sizeof(f));
			while (vdrv_rx_recv(&self->e.d, r, sizeof(r), &info) >= 0)
				;
			vtest_rx_refill(&self->e);
		}
	}
	close(p[1]);
	ret = read(p[0], &ifindex, sizeof(ifindex));
	close(p[0]);
	if (ret != sizeof(ifindex)) {
		waitpid(pid, &status, 0);
		ASSERT_EQ((int)sizeof(ifindex), ret) TH_LOG("child setup failed");
	}
	vdrv_xtap_worker_name(comm, sizeof(comm), "tx", ifindex, 0);
	EXPECT_EQ(1, vdrv_threads_named(comm, NULL, 0));
	vdrv_xtap_worker_name(comm, sizeof(comm), "rx", ifindex, 0);
	EXPECT_EQ(1, vdrv_threads_named(comm, NULL, 0));
	usleep(500000);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));

	EXPECT_EQ(0, vdrv_threads_named(comm, NULL, 0));
	vdrv_xtap_worker_name(comm, sizeof(comm), "tx", ifindex, 0);
	EXPECT_EQ(0, vdrv_threads_named(comm, NULL, 0));
	ASSERT_EQ(0, vdrv_rtnl_dellink(ifindex));
	deadline = vtest_now_ms() + WAIT_MS;
	while (module_refcnt() != base && vtest_now_ms() < deadline)
		usleep(10000);
	EXPECT_EQ(base, module_refcnt());
}

XTEST_HARNESS_MAIN
