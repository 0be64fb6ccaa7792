// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Busy polling tuned through sysfs (/sys/class/net/<dev>/xtap/): the
 * device's knobs and their bad inputs, the per-queue-pair directories and
 * their worker pids, the modes seen through the guest's kicks and the
 * per-queue counters of ethtool -S, and the stall watchdog serving a guest
 * that publishes without kicking.  Polling is shown by counters, never by
 * timing.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "xtest.h"
#include "vtest.h"

#define WAIT_MS		5000
#define FRAME_LEN	128
/* Frames per traffic phase. */
#define PHASE_N		200
/* Sparse request/response round trips (adaptive_serves_the_pair) */
#define PAIR_N		40
/* A window long enough to catch the guest's next frame under TCG. */
#define LONG_US		10000
/* Quiet time after which every worker sleeps and has flushed its counts. */
#define SETTLE_US	(3 * LONG_US + 200000)

/* ------------------------------------------------------------------ */
/* sysfs and ethtool helpers */

static void xt_path(char *p, size_t len, const char *ifname, const char *file)
{
	snprintf(p, len, "/sys/class/net/%s/xtap/%s", ifname, file);
}

/* Write @val to xtap/@file of @ifname in one write(); 0 or -errno. */
static int xt_write(const char *ifname, const char *file, const char *val)
{
	char p[160];
	ssize_t n;
	int fd;

	xt_path(p, sizeof(p), ifname, file);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

/* Read xtap/@file of @ifname without its newline; 0 or -errno. */
static int xt_read(const char *ifname, const char *file, char *buf,
		   size_t len)
{
	char p[160];
	int ret;

	xt_path(p, sizeof(p), ifname, file);
	ret = vdrv_read_file(p, buf, len);
	if (!ret)
		buf[strcspn(buf, "\n")] = 0;
	return ret;
}

/* Read a number from xtap/@file of @ifname; -errno on failure. */
static long xt_num(const char *ifname, const char *file)
{
	char buf[64], *end;
	long v;
	int ret;

	ret = xt_read(ifname, file, buf, sizeof(buf));
	if (ret)
		return ret;
	v = strtol(buf, &end, 10);
	return *end || end == buf ? -EBADMSG : v;
}

static bool xt_exists(const char *ifname, const char *file)
{
	char p[160];
	struct stat st;

	xt_path(p, sizeof(p), ifname, file);
	return !stat(p, &st);
}

/* The queue's poll counters, read together. */
struct poll_counts {
	long long hits, misses, ns, kicks, signals, wakeups, stalls;
};

static int read_counts(const char *ifname, struct poll_counts *c)
{
	c->hits = vdrv_ethtool_stat(ifname, "q0_busy_poll_hits");
	c->misses = vdrv_ethtool_stat(ifname, "q0_busy_poll_misses");
	c->ns = vdrv_ethtool_stat(ifname, "q0_busy_poll_ns");
	c->kicks = vdrv_ethtool_stat(ifname, "q0_kicks");
	c->signals = vdrv_ethtool_stat(ifname, "q0_signals");
	c->wakeups = vdrv_ethtool_stat(ifname, "q0_wakeups");
	c->stalls = vdrv_ethtool_stat(ifname, "q0_stalls");
	if (c->hits < 0 || c->misses < 0 || c->ns < 0 || c->kicks < 0 ||
	    c->signals < 0 || c->wakeups < 0 || c->stalls < 0)
		return -ENOENT;
	return 0;
}

/* Pin @pid to CPU @cpu; 0 or -errno. */
static int pin(int pid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(pid, sizeof(set), &set) ? -errno : 0;
}

/* The CPU list /proc/<pid>/status reports for @pid, e.g. "1". */
static int allowed_cpus(int pid, char *buf, size_t len)
{
	char path[64], line[256];
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Cpus_allowed_list: %63s", buf) == 1) {
			ret = 0;
			break;
		}
	}
	fclose(f);
	(void)len;
	return ret;
}

/* ------------------------------------------------------------------ */
/* A device without a guest: the knobs. */

FIXTURE(knobs)
{
	char ifname[IFNAMSIZ];
	int ifindex;
};

FIXTURE_SETUP(knobs)
{
	int ret;

	vtest_ifname(self->ifname, sizeof(self->ifname), VDRV_XTAP, "k");
	ret = vdrv_rtnl_newlink(self->ifname, "xtap");
	ASSERT_EQ(0, ret) TH_LOG("create %s: %s", self->ifname,
				 strerror(-ret));
	self->ifindex = if_nametoindex(self->ifname);
	ASSERT_LT(0, self->ifindex);
}

FIXTURE_TEARDOWN(knobs)
{
	if (self->ifindex > 0)
		vdrv_rtnl_dellink(self->ifindex);
}

/* Defaults, every valid value round-trips, the ranges' ends work. */
TEST_F(knobs, defaults_and_ranges)
{
	static const char *const modes[] = { "off", "fixed", "adaptive",
					     "vhost" };
	const char *ifn = self->ifname;
	char buf[64];
	unsigned int i;

	ASSERT_EQ(0, xt_read(ifn, "busy_poll_mode", buf, sizeof(buf)));
	EXPECT_STREQ("vhost", buf);
	EXPECT_EQ(50, xt_num(ifn, "busy_poll_us"));
	EXPECT_EQ(100, xt_num(ifn, "stall_ms"));
	EXPECT_TRUE(xt_exists(ifn, "queues"));
	/* no queue pair attached, no directory */
	EXPECT_FALSE(xt_exists(ifn, "queues/0"));

	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		ASSERT_EQ(0, xt_write(ifn, "busy_poll_mode", modes[i]));
		ASSERT_EQ(0, xt_read(ifn, "busy_poll_mode", buf, sizeof(buf)));
		EXPECT_STREQ(modes[i], buf);
	}
	/* with the newline echo adds */
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_mode", "fixed\n"));
	ASSERT_EQ(0, xt_read(ifn, "busy_poll_mode", buf, sizeof(buf)));
	EXPECT_STREQ("fixed", buf);

	/* writing the window does not change the mode */
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_us", "0"));
	EXPECT_EQ(0, xt_num(ifn, "busy_poll_us"));
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_us", "10000\n"));
	EXPECT_EQ(10000, xt_num(ifn, "busy_poll_us"));
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_us", "7"));
	EXPECT_EQ(7, xt_num(ifn, "busy_poll_us"));
	ASSERT_EQ(0, xt_read(ifn, "busy_poll_mode", buf, sizeof(buf)));
	EXPECT_STREQ("fixed", buf);

	ASSERT_EQ(0, xt_write(ifn, "stall_ms", "0"));
	EXPECT_EQ(0, xt_num(ifn, "stall_ms"));
	ASSERT_EQ(0, xt_write(ifn, "stall_ms", "10000"));
	EXPECT_EQ(10000, xt_num(ifn, "stall_ms"));
	ASSERT_EQ(0, xt_write(ifn, "stall_ms", "250\n"));
	EXPECT_EQ(250, xt_num(ifn, "stall_ms"));
}

/* Every bad write fails with EINVAL and changes nothing. */
TEST_F(knobs, bad_input)
{
	static const char *const bad_modes[] = {
		"\n", "fast", "FIXED", "fixed2", "fixed x", " fixed",
		"fixed\n\n", "adaptiv", "0", "vhost off",
	};
	static const char *const bad_nums[] = {
		"\n", "abc", "-1", "5x", "5 5", " 5", "0x10", "1e3",
		"99999999999999999999", "4294967296", "12.5",
	};
	const char *ifn = self->ifname;
	char buf[64];
	unsigned int i;

	ASSERT_EQ(0, xt_write(ifn, "busy_poll_mode", "adaptive"));
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_us", "123"));
	ASSERT_EQ(0, xt_write(ifn, "stall_ms", "456"));

	for (i = 0; i < ARRAY_SIZE(bad_modes); i++) {
		EXPECT_EQ(-EINVAL, xt_write(ifn, "busy_poll_mode",
					    bad_modes[i]))
			TH_LOG("mode \"%s\"", bad_modes[i]);
		ASSERT_EQ(0, xt_read(ifn, "busy_poll_mode", buf, sizeof(buf)));
		EXPECT_STREQ("adaptive", buf);
	}
	for (i = 0; i < ARRAY_SIZE(bad_nums); i++) {
		EXPECT_EQ(-EINVAL, xt_write(ifn, "busy_poll_us", bad_nums[i]))
			TH_LOG("busy_poll_us \"%s\"", bad_nums[i]);
		EXPECT_EQ(123, xt_num(ifn, "busy_poll_us"));
		EXPECT_EQ(-EINVAL, xt_write(ifn, "stall_ms", bad_nums[i]))
			TH_LOG("stall_ms \"%s\"", bad_nums[i]);
		EXPECT_EQ(456, xt_num(ifn, "stall_ms"));
	}
	/* an empty write() never reaches the driver: nothing changes */
	EXPECT_EQ(0, xt_write(ifn, "busy_poll_mode", ""));
	EXPECT_EQ(0, xt_write(ifn, "busy_poll_us", ""));
	EXPECT_EQ(0, xt_write(ifn, "stall_ms", ""));
	EXPECT_EQ(123, xt_num(ifn, "busy_poll_us"));
	EXPECT_EQ(456, xt_num(ifn, "stall_ms"));
	/* just out of range */
	EXPECT_EQ(-EINVAL, xt_write(ifn, "busy_poll_us", "10001"));
	EXPECT_EQ(123, xt_num(ifn, "busy_poll_us"));
	EXPECT_EQ(-EINVAL, xt_write(ifn, "stall_ms", "10001"));
	EXPECT_EQ(456, xt_num(ifn, "stall_ms"));
	ASSERT_EQ(0, xt_read(ifn, "busy_poll_mode", buf, sizeof(buf)));
	EXPECT_STREQ("adaptive", buf);
}

/* The directory goes with the device. */
TEST_F(knobs, gone_with_the_device)
{
	char p[160];
	struct stat st;

	xt_path(p, sizeof(p), self->ifname, "busy_poll_mode");
	ASSERT_EQ(0, stat(p, &st));
	ASSERT_EQ(0, vdrv_rtnl_dellink(self->ifindex));
	self->ifindex = 0;
	EXPECT_EQ(-1, stat(p, &st));
	EXPECT_EQ(ENOENT, errno);
}

/* ------------------------------------------------------------------ */
/* A guest attached: queue pairs, modes, counters, the watchdog. */

FIXTURE(bp)
{
	struct vtest_env e;
	struct vdrv_config cfg;
	bool up;
	uint8_t f[FRAME_LEN];
	uint8_t r[FRAME_LEN + 64];
	uint32_t seq;
};

FIXTURE_VARIANT(bp)
{
	uint32_t busyloop_us;
};

/* What QEMU's poll-us= asks for, or nothing. */
FIXTURE_VARIANT_ADD(bp, guest_polls) { .busyloop_us = LONG_US, };
FIXTURE_VARIANT_ADD(bp, guest_no_poll) { .busyloop_us = 0, };

FIXTURE_SETUP(bp)
{
	int ret;

	self->cfg = (struct vdrv_config){
		.features = VDRV_FEATURES_QEMU,
		.busyloop_us = variant->busyloop_us,
	};
	/* the test (the guest) on CPU 0, the workers on CPU 1 (if any) */
	ASSERT_EQ(0, pin(0, 0));
	ret = vtest_env_up(&self->e, VDRV_XTAP, "b", &self->cfg, 0);
	self->up = true;
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->e.what, strerror(-ret));
	ASSERT_EQ(0, vdrv_link_disable_ipv6(self->e.be.ifname));
}

FIXTURE_TEARDOWN(bp)
{
	if (self->up)
		vtest_env_down(&self->e);
}

/* The name of the worker of direction @dir ("tx" or "rx") attached to
 * queue @q of the device with index @ifindex.
 */
static void worker_name(char *buf, size_t len, const char *dir, int ifindex,
			unsigned int q)
{
	vdrv_xtap_worker_name(buf, len, dir, ifindex, q);
}

/* The name of thread @pid, or "" when there is none. */
static void thread_name(long pid, char *buf, size_t len)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/%ld/comm", pid);
	if (vdrv_read_file(p, buf, len))
		buf[0] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

/*
 * Worker pid from queues/0/@dir_pid of @ifname, checked against its
 * thread name: the worker of queue 0 of @ifindex.
 */
static int worker_pid(struct __test_metadata *_metadata, const char *ifname,
			 int ifindex, const char *dir)
{
	char comm[64], want[32], file[32];
	long pid;

	snprintf(file, sizeof(file), "queues/0/%s_pid", dir);
	pid = xt_num(ifname, file);
	if (pid <= 0) {
		TH_LOG("%s: %ld", file, pid);
		return -1;
	}
	thread_name(pid, comm, sizeof(comm));
	worker_name(want, sizeof(want), dir, ifindex, 0);
	if (strcmp(comm, want)) {
		TH_LOG("%s is %ld, named \"%s\", not \"%s\"", file, pid, comm,
		       want);
		return -1;
	}
	return (int)pid;
}

/* Pin both workers to CPU 1 (when there is one) through their sysfs pids. */
static void pin_workers(struct __test_metadata *_metadata, const char *ifname,
			int ifindex)
{
	int tx = worker_pid(_metadata, ifname, ifindex, "tx");
	int rx = worker_pid(_metadata, ifname, ifindex, "rx");

	ASSERT_LT(0, tx);
	ASSERT_LT(0, rx);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return;
	ASSERT_EQ(0, pin(tx, 1));
	ASSERT_EQ(0, pin(rx, 1));
}

/* Guest -> host, @n frames one at a time, each checked on arrival. */
static void send_frames(struct __test_metadata *_metadata, FIXTURE_DATA(bp) *self,
			unsigned int n)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++, self->seq++) {
		vtest_frame(self->f, FRAME_LEN, self->seq, VTEST_ETH_P);
		ASSERT_EQ(0, vtest_guest_send(&self->e, self->f, FRAME_LEN,
					      true, WAIT_MS));
		ret = vtest_host_expect(&self->e, self->r, sizeof(self->r),
					FRAME_LEN, self->seq, WAIT_MS);
		ASSERT_EQ(0, ret) TH_LOG("frame %u: %s", self->seq,
					 self->e.what);
		ASSERT_LE(0, vdrv_tx_reap(&self->e.d, 0));
	}
}

/* Host -> guest, @n frames one at a time, each checked on arrival. */
static void recv_frames(struct __test_metadata *_metadata, FIXTURE_DATA(bp) *self,
			unsigned int n)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++, self->seq++) {
		ret = vtest_host_to_guest(&self->e, FRAME_LEN, self->seq,
					  WAIT_MS);
		ASSERT_EQ(0, ret) TH_LOG("frame %u: %s", self->seq,
					 self->e.what);
	}
}

static uint64_t guest_kicks(const struct vdrv *d)
{
	return d->vq[VDRV_RX].kicks + d->vq[VDRV_TX].kicks;
}

static uint64_t guest_kicks_saved(const struct vdrv *d)
{
	return d->vq[VDRV_RX].kicks_saved + d->vq[VDRV_TX].kicks_saved;
}

/*
 * The queue pair's directory: pids of the two workers (their names match),
 * pinning them through those pids works, the window follows the mode, and
 * the directory goes with a detach and comes back with an attach.
 */
TEST_F_TIMEOUT(bp, queue_pair_dir, 120)
{
	const char *ifn = self->e.be.ifname;
	char cpus[64];
	int tx, rx;

	ASSERT_TRUE(xt_exists(ifn, "queues/0"));
	tx = worker_pid(_metadata, ifn, self->e.be.ifindex, "tx");
	rx = worker_pid(_metadata, ifn, self->e.be.ifindex, "rx");
	ASSERT_LT(0, tx);
	ASSERT_LT(0, rx);
	EXPECT_NE(tx, rx);
	ASSERT_EQ(0, pin(tx, 0));
	ASSERT_EQ(0, allowed_cpus(tx, cpus, sizeof(cpus)));
	EXPECT_STREQ("0", cpus);
	ASSERT_EQ(0, pin(rx, 0));
	ASSERT_EQ(0, allowed_cpus(rx, cpus, sizeof(cpus)));
	EXPECT_STREQ("0", cpus);

	/* vhost mode: what the guest asked for */
	EXPECT_EQ(variant->busyloop_us,
		  xt_num(ifn, "queues/0/busy_poll_window_us"));
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_us", "30"));
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_mode", "fixed"));
	EXPECT_EQ(30, xt_num(ifn, "queues/0/busy_poll_window_us"));
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_mode", "off"));
	EXPECT_EQ(0, xt_num(ifn, "queues/0/busy_poll_window_us"));
	/* a queue pair's files are read-only, for root too */
	EXPECT_EQ(-EACCES, xt_write(ifn, "queues/0/tx_pid", "1"));
	EXPECT_EQ(-EACCES, xt_write(ifn, "queues/0/rx_pid", "1"));
	EXPECT_EQ(-EACCES, xt_write(ifn, "queues/0/busy_poll_window_us", "5"));
	EXPECT_EQ(tx, xt_num(ifn, "queues/0/tx_pid"));
	EXPECT_EQ(rx, xt_num(ifn, "queues/0/rx_pid"));
	EXPECT_EQ(0, xt_num(ifn, "queues/0/busy_poll_window_us"));
	/* adaptive starts without polling */
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_mode", "adaptive"));
	EXPECT_EQ(0, xt_num(ifn, "queues/0/busy_poll_window_us"));
	recv_frames(_metadata, self, 4);

	/* detach: gone; attach again: back, same workers */
	ASSERT_EQ(0, vdrv_detach(&self->e.d));
	EXPECT_FALSE(xt_exists(ifn, "queues/0"));
	ASSERT_EQ(0, vdrv_set_backend(&self->e.d, VDRV_TX, self->e.be.tap_fd));
	ASSERT_TRUE(xt_exists(ifn, "queues/0"));
	EXPECT_EQ(tx, xt_num(ifn, "queues/0/tx_pid"));
	EXPECT_EQ(rx, xt_num(ifn, "queues/0/rx_pid"));
	ASSERT_EQ(0, vdrv_set_backend(&self->e.d, VDRV_RX, self->e.be.tap_fd));
	recv_frames(_metadata, self, 4);
	send_frames(_metadata, self, 4);

	/* closing the vhost fd removes it */
	close(self->e.be.vhost_fd);
	self->e.be.vhost_fd = -1;
	EXPECT_FALSE(xt_exists(ifn, "queues/0"));
	EXPECT_TRUE(xt_exists(ifn, "busy_poll_mode"));
}

/*
 * Worker names follow the queue: attached to queue 0 of another device,
 * the pair's workers are new threads named after that device (the old
 * ones are gone), placed where the old ones were pinned; attached back,
 * the names (and new threads) are the first device's again, and traffic
 * wakes them (kicks and queue wake-ups reach the new threads).
 */
TEST_F_TIMEOUT(bp, worker_named_after_queue, 120)
{
	const char *ifn = self->e.be.ifname;
	int tx, rx, tx2, rx2, tx3, rx3, cpu;
	struct vdrv_backend be2;
	char name[IFNAMSIZ], comm[64], want[32], cpus[64];

	tx = worker_pid(_metadata, ifn, self->e.be.ifindex, "tx");
	rx = worker_pid(_metadata, ifn, self->e.be.ifindex, "rx");
	ASSERT_LT(0, tx);
	ASSERT_LT(0, rx);
	cpu = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0;
	ASSERT_EQ(0, pin(tx, cpu));
	ASSERT_EQ(0, pin(rx, cpu));

	snprintf(name, sizeof(name), "xbn%d", (int)(getpid() % 100000));
	ASSERT_EQ(0, vdrv_backend_create(&be2, VDRV_XTAP, name,
					 VDRV_BE_NO_VHOST));
	ASSERT_EQ(0, vdrv_detach(&self->e.d));
	ASSERT_EQ(0, vdrv_set_backend(&self->e.d, VDRV_RX, be2.tap_fd));
	ASSERT_EQ(0, vdrv_set_backend(&self->e.d, VDRV_TX, be2.tap_fd));
	EXPECT_FALSE(xt_exists(ifn, "queues/0"));
	tx2 = worker_pid(_metadata, name, be2.ifindex, "tx");
	rx2 = worker_pid(_metadata, name, be2.ifindex, "rx");
	EXPECT_LT(0, tx2);
	EXPECT_LT(0, rx2);
	EXPECT_NE(tx, tx2);
	EXPECT_NE(rx, rx2);
	/* the threads it replaced are gone */
	thread_name(tx, comm, sizeof(comm));
	worker_name(want, sizeof(want), "tx", self->e.be.ifindex, 0);
	EXPECT_STRNE(want, comm);
	thread_name(rx, comm, sizeof(comm));
	worker_name(want, sizeof(want), "rx", self->e.be.ifindex, 0);
	EXPECT_STRNE(want, comm);
	/* the pinning carried over */
	snprintf(want, sizeof(want), "%d", cpu);
	if (tx2 > 0) {
		ASSERT_EQ(0, allowed_cpus(tx2, cpus, sizeof(cpus)));
		EXPECT_STREQ(want, cpus);
	}
	if (rx2 > 0) {
		ASSERT_EQ(0, allowed_cpus(rx2, cpus, sizeof(cpus)));
		EXPECT_STREQ(want, cpus);
	}

	/* back on the first device: its names again, new threads, working */
	ASSERT_EQ(0, vdrv_detach(&self->e.d));
	ASSERT_EQ(0, vdrv_attach(&self->e.d, self->e.be.tap_fd));
	vdrv_backend_destroy(&be2);
	tx3 = worker_pid(_metadata, ifn, self->e.be.ifindex, "tx");
	rx3 = worker_pid(_metadata, ifn, self->e.be.ifindex, "rx");
	ASSERT_LT(0, tx3);
	ASSERT_LT(0, rx3);
	EXPECT_NE(tx2, tx3);
	EXPECT_NE(rx2, rx3);
	recv_frames(_metadata, self, 8);
	send_frames(_metadata, self, 8);
}

/*
 * Deleting the device while the guest is attached removes the whole
 * directory; the vhost fd still closes cleanly afterwards.
 */
TEST_F(bp, device_deleted_while_attached)
{
	const char *ifn = self->e.be.ifname;
	char p[160];
	struct stat st;

	ASSERT_TRUE(xt_exists(ifn, "queues/0/tx_pid"));
	xt_path(p, sizeof(p), ifn, "queues/0/tx_pid");
	ASSERT_EQ(0, vdrv_rtnl_dellink(self->e.be.ifindex));
	EXPECT_EQ(-1, stat(p, &st));
	/* the guest detaches from a queue of a deleted device */
	EXPECT_EQ(0, vdrv_detach(&self->e.d));
	close(self->e.be.vhost_fd);
	self->e.be.vhost_fd = -1;
}

/*
 * off: whatever the guest asked, no polling: no spin time, no hits or
 * misses, and the guest kicks for (nearly) every frame: the sleeping
 * device wants to hear of each (a frame can slip in before the worker has
 * turned notifications back on).  The kicks the device counted are exactly
 * the ones the guest sent.
 */
TEST_F_TIMEOUT(bp, off_never_polls, 120)
{
	const char *ifn = self->e.be.ifname;
	struct poll_counts a, b;
	uint64_t kicks;

	pin_workers(_metadata, ifn, self->e.be.ifindex);
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_mode", "off"));
	send_frames(_metadata, self, 2);
	usleep(SETTLE_US);
	ASSERT_EQ(0, read_counts(ifn, &a));
	kicks = self->e.d.vq[VDRV_TX].kicks;
	EXPECT_EQ((long long)guest_kicks(&self->e.d), a.kicks);

	send_frames(_metadata, self, PHASE_N);
	recv_frames(_metadata, self, PHASE_N / 4);
	usleep(SETTLE_US);
	ASSERT_EQ(0, read_counts(ifn, &b));
	EXPECT_EQ(a.ns, b.ns);
	EXPECT_EQ(a.hits, b.hits);
	EXPECT_EQ(a.misses, b.misses);
	EXPECT_LE(kicks + PHASE_N / 2, self->e.d.vq[VDRV_TX].kicks)
		TH_LOG("%llu TX kicks for %u frames",
		       (unsigned long long)(self->e.d.vq[VDRV_TX].kicks - kicks),
		       PHASE_N);
	EXPECT_EQ((long long)guest_kicks(&self->e.d), b.kicks);
	/* the guest was interrupted; the frames woke the workers */
	EXPECT_LT(a.signals, b.signals);
	EXPECT_LE(a.wakeups + PHASE_N / 2, b.wakeups);
	EXPECT_EQ(0, b.stalls);
}

/*
 * fixed: every queue polls, whatever the guest asked (here possibly
 * nothing): spin time and polls are counted, and the guest hardly kicks
 * because the polling worker keeps its notifications off.
 */
TEST_F_TIMEOUT(bp, fixed_always_polls, 120)
{
	const char *ifn = self->e.be.ifname;
	struct poll_counts a, b;
	uint64_t kicks, saved;

	pin_workers(_metadata, ifn, self->e.be.ifindex);
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_us", "10000"));
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_mode", "fixed"));
	EXPECT_EQ(LONG_US, xt_num(ifn, "queues/0/busy_poll_window_us"));
	send_frames(_metadata, self, 2);
	usleep(SETTLE_US);
	ASSERT_EQ(0, read_counts(ifn, &a));
	saved = guest_kicks_saved(&self->e.d);
	kicks = self->e.d.vq[VDRV_TX].kicks;

	send_frames(_metadata, self, PHASE_N);
	usleep(SETTLE_US);
	ASSERT_EQ(0, read_counts(ifn, &b));
	EXPECT_LT(a.ns, b.ns);
	EXPECT_LT(a.hits, b.hits);
	EXPECT_LT(a.misses, b.misses) TH_LOG("the last poll found nothing");
	EXPECT_LT(saved, guest_kicks_saved(&self->e.d))
		TH_LOG("the guest never found notifications off");
	EXPECT_GT(kicks + PHASE_N / 2, self->e.d.vq[VDRV_TX].kicks)
		TH_LOG("%llu TX kicks for %u frames",
		       (unsigned long long)(self->e.d.vq[VDRV_TX].kicks - kicks),
		       PHASE_N);
	EXPECT_EQ((long long)guest_kicks(&self->e.d), b.kicks);
}

/*
 * vhost mode is upstream's: the guest's own busy-loop timeout decides.
 */
TEST_F_TIMEOUT(bp, vhost_mode_follows_the_guest, 120)
{
	const char *ifn = self->e.be.ifname;
	struct poll_counts a, b;

	pin_workers(_metadata, ifn, self->e.be.ifindex);
	send_frames(_metadata, self, 2);
	usleep(SETTLE_US);
	ASSERT_EQ(0, read_counts(ifn, &a));
	send_frames(_metadata, self, PHASE_N / 2);
	usleep(SETTLE_US);
	ASSERT_EQ(0, read_counts(ifn, &b));
	if (variant->busyloop_us) {
		EXPECT_LT(a.ns, b.ns);
		EXPECT_LT(a.hits + a.misses, b.hits + b.misses);
	} else {
		EXPECT_EQ(a.ns, b.ns);
		EXPECT_EQ(a.hits + a.misses, b.hits + b.misses);
	}
}

/*
 * adaptive: steady traffic grows the window (hits), sparse traffic (gaps
 * longer than the ceiling) shrinks it to nothing, after which nothing is
 * spun any more.
 */
TEST_F_TIMEOUT(bp, adaptive_grows_and_shrinks, 120)
{
	const char *ifn = self->e.be.ifname;
	struct poll_counts a, b, c;
	long win, max_win = 0;
	unsigned int i;

	pin_workers(_metadata, ifn, self->e.be.ifindex);
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_us", "10000"));
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_mode", "adaptive"));
	ASSERT_EQ(0, read_counts(ifn, &a));
	/* steady: frames back to back */
	for (i = 0; i < 10; i++) {
		send_frames(_metadata, self, PHASE_N / 10);
		win = xt_num(ifn, "queues/0/busy_poll_window_us");
		ASSERT_LE(0, win);
		EXPECT_GE(LONG_US, win);
		if (win > max_win)
			max_win = win;
	}
	EXPECT_LT(0, max_win) TH_LOG("the window never grew");
	usleep(SETTLE_US);
	ASSERT_EQ(0, read_counts(ifn, &b));
	EXPECT_LT(a.hits, b.hits);
	EXPECT_LT(a.ns, b.ns);

	/* sparse: each frame after more than the ceiling */
	for (i = 0; i < 12; i++) {
		usleep(3 * LONG_US);
		send_frames(_metadata, self, 1);
	}
	usleep(SETTLE_US);
	EXPECT_EQ(0, xt_num(ifn, "queues/0/busy_poll_window_us"));
	ASSERT_EQ(0, read_counts(ifn, &b));
	for (i = 0; i < 5; i++) {
		usleep(3 * LONG_US);
		send_frames(_metadata, self, 1);
	}
	usleep(SETTLE_US);
	ASSERT_EQ(0, read_counts(ifn, &c));
	EXPECT_EQ(b.ns, c.ns) TH_LOG("spun on sparse traffic at window 0");
	EXPECT_LT(b.misses, c.misses + 1);
}

/*
 * adaptive, sparse request/response with both workers on one CPU: the
 * guest's frame, the host's answer, then a pause of three ceilings.  The
 * TX worker's own next work always comes after the ceiling (its own
 * window stays 0), but the answer comes within it and has to wake the RX
 * worker: the TX worker learns to wait for it (its window for the pair's
 * work) and then delivers the answers itself: busy_poll_pair_runs moves
 * and the window is not 0.  With one window judged by the own ring's work
 * alone it would never spin here.
 */
TEST_F_TIMEOUT(bp, adaptive_serves_the_pair, 120)
{
	const char *ifn = self->e.be.ifname;
	long long runs0, runs1;
	unsigned int i;

	pin_workers(_metadata, ifn, self->e.be.ifindex);
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_us", "10000"));
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_mode", "adaptive"));
	runs0 = vdrv_ethtool_stat(ifn, "q0_busy_poll_pair_runs");
	ASSERT_LE(0, runs0);
	for (i = 0; i < PAIR_N; i++) {
		send_frames(_metadata, self, 1);
		recv_frames(_metadata, self, 1);
		usleep(3 * LONG_US);
	}
	EXPECT_LT(0, xt_num(ifn, "queues/0/busy_poll_window_us"));
	usleep(SETTLE_US);
	runs1 = vdrv_ethtool_stat(ifn, "q0_busy_poll_pair_runs");
	TH_LOG("%lld runs for the pair in %u round trips", runs1 - runs0,
	       PAIR_N);
	EXPECT_LT(runs0, runs1) TH_LOG("the pair was never served");
}

/*
 * Switching modes under traffic, both directions: nothing is lost or
 * reordered, and each mode's polling shows in the counters.
 */
TEST_F_TIMEOUT(bp, live_switching, 120)
{
	static const char *const modes[] = { "fixed", "off", "adaptive",
					     "vhost", "off", "fixed" };
	const char *ifn = self->e.be.ifname;
	struct poll_counts a, b;
	unsigned int i;
	char buf[16];

	pin_workers(_metadata, ifn, self->e.be.ifindex);
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_us", "10000"));
	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		ASSERT_EQ(0, xt_write(ifn, "busy_poll_mode", modes[i]));
		ASSERT_EQ(0, read_counts(ifn, &a));
		send_frames(_metadata, self, PHASE_N / 4);
		recv_frames(_metadata, self, PHASE_N / 4);
		/* the next mode takes over while frames are in flight */
		vtest_frame(self->f, FRAME_LEN, self->seq, VTEST_ETH_P);
		ASSERT_EQ(0, vtest_guest_send(&self->e, self->f, FRAME_LEN,
					      true, WAIT_MS));
		snprintf(buf, sizeof(buf), "%s",
			 modes[(i + 1) % ARRAY_SIZE(modes)]);
		ASSERT_EQ(0, xt_write(ifn, "busy_poll_mode", buf));
		ASSERT_EQ(0, vtest_host_expect(&self->e, self->r,
					       sizeof(self->r), FRAME_LEN,
					       self->seq, WAIT_MS))
			TH_LOG("%s", self->e.what);
		self->seq++;
		ASSERT_EQ(0, xt_write(ifn, "busy_poll_mode", modes[i]));
		usleep(SETTLE_US);
		ASSERT_EQ(0, read_counts(ifn, &b));
		if (!strcmp(modes[i], "fixed"))
			EXPECT_LT(a.ns, b.ns) TH_LOG("%s did not poll", modes[i]);
	}
	ASSERT_EQ(0, xt_write(ifn, "busy_poll_mode", "off"));
	usleep(SETTLE_US);
	ASSERT_EQ(0, read_counts(ifn, &a));
	send_frames(_metadata, self, PHASE_N / 4);
	recv_frames(_metadata, self, PHASE_N / 4);
	usleep(SETTLE_US);
	ASSERT_EQ(0, read_counts(ifn, &b));
	EXPECT_EQ(a.ns, b.ns);
}

/*
 * A guest that publishes a frame without kicking: with the watchdog off
 * nothing happens; with it on, the frame leaves within about stall_ms,
 * counted once as a stall.
 */
TEST_F_TIMEOUT(bp, stall_watchdog, 120)
{
	const char *ifn = self->e.be.ifname;
	struct poll_counts a, b;
	int ret;

	ASSERT_EQ(0, xt_write(ifn, "busy_poll_mode", "off"));
	ASSERT_EQ(0, xt_write(ifn, "stall_ms", "0"));
	send_frames(_metadata, self, 2);
	usleep(SETTLE_US);
	ASSERT_EQ(0, read_counts(ifn, &a));

	vtest_frame(self->f, FRAME_LEN, self->seq, VTEST_ETH_P);
	ASSERT_EQ(0, vtest_guest_send(&self->e, self->f, FRAME_LEN, false,
				      WAIT_MS));
	ret = vtest_host_recv(&self->e, self->r, sizeof(self->r), VTEST_ETH_P,
			      1000);
	EXPECT_EQ(-ETIMEDOUT, ret) TH_LOG("served without a kick or watchdog");
	ASSERT_EQ(0, read_counts(ifn, &b));
	EXPECT_EQ(a.stalls, b.stalls);

	/* the sleeping worker re-arms at once */
	ASSERT_EQ(0, xt_write(ifn, "stall_ms", "100"));
	ret = vtest_host_expect(&self->e, self->r, sizeof(self->r), FRAME_LEN,
				self->seq, 2000);
	ASSERT_EQ(0, ret) TH_LOG("not served by the watchdog: %s",
				 self->e.what);
	self->seq++;
	usleep(SETTLE_US);
	ASSERT_EQ(0, read_counts(ifn, &b));
	EXPECT_EQ(a.stalls + 1, b.stalls);
	EXPECT_EQ((long long)guest_kicks(&self->e.d), b.kicks);

	/* and normal traffic is no stall */
	send_frames(_metadata, self, PHASE_N / 4);
	usleep(SETTLE_US);
	ASSERT_EQ(0, read_counts(ifn, &a));
	EXPECT_EQ(b.stalls, a.stalls);
}

XTEST_HARNESS_MAIN
