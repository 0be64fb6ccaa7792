// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Allocation failures injected into xtap with the kernel's fault injection
 * (failslab, fail_page_alloc; needs CONFIG_FAULT_INJECTION_DEBUG_FS, which
 * the debug kernel of `make test-debug` has and Debian's kernel has not:
 * without it the program skips, a missing prerequisite that is not xtap).
 *
 * Control plane (device creation, queue attach, vhost setup from
 * VHOST_SET_OWNER to VHOST_NET_SET_BACKEND): systematically, the 1st, 2nd,
 * 3rd ... allocation of the test's own thread fails (/proc/thread-self/
 * fail-nth) until the operation no longer reaches the failure.  Each failed
 * run must return a clean errno and leave nothing behind (xtap's lifetime
 * pairs in the kernel log, per kind); afterwards the device must work.
 *
 * Datapath: every allocation of one worker thread fails (task-filter with
 * /proc/<tx_pid or rx_pid>/make-it-fail).  A guest TX frame whose skb
 * cannot be allocated is put back and retried (rx_nomem_retries) and
 * delivered once memory is back, or dropped and counted (rx_drop_nomem)
 * after the bound; host -> guest frames are delivered or counted.
 *
 * Last, with kmemleak, no unreferenced object allocated by xtap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "kselftest_harness.h"
#include "xtest.h"
#include "vtest.h"
#include "tapq.h"

#define DBGFS		"/sys/kernel/debug"
#define KMEMLEAK	DBGFS "/kmemleak"
#define WAIT_MS		10000
#define BUF_SIZE	(VDRV_MAX_FRAME + 64)
/* Larger than an XDP buffer holds: such a frame takes the skb path. */
#define SKB_FRAME	6000
#define SMALL_FRAME	200
/* Bound of the systematic runs: no operation allocates this often. */
#define MAX_NTH		4000
/* tx.c: XTAP_TX_NOMEM_RETRIES */
#define TX_RETRIES	8

static const char *const fi_attrs[] = { "failslab", "fail_page_alloc" };

/* ---- fault-injection knobs ---- */

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

static long read_long(const char *path)
{
	char buf[64];
	long v;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	if (sscanf(buf, "%ld", &v) != 1)
		return -1;
	return v;
}

static int fi_set(const char *attr, const char *knob, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), DBGFS "/%s/%s", attr, knob);
	return write_str(path, val);
}

static long fi_times(const char *attr)
{
	char path[128];

	snprintf(path, sizeof(path), DBGFS "/%s/times", attr);
	return read_long(path);
}

/* Both attributes inert (probability 0: only fail-nth fires), filtered by
 * task, failing sleeping allocations and order-0 pages too, quiet.
 */
static int fi_reset(void)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < 2; i++) {
		ret |= fi_set(fi_attrs[i], "probability", "0");
		ret |= fi_set(fi_attrs[i], "interval", "1");
		ret |= fi_set(fi_attrs[i], "times", "0");
		ret |= fi_set(fi_attrs[i], "space", "0");
		ret |= fi_set(fi_attrs[i], "verbose", "0");
		ret |= fi_set(fi_attrs[i], "task-filter", "Y");
		ret |= fi_set(fi_attrs[i], "ignore-gfp-wait", "N");
	}
	ret |= fi_set("fail_page_alloc", "ignore-gfp-highmem", "N");
	ret |= fi_set("fail_page_alloc", "min-order", "0");
	return ret ? -EIO : 0;
}

/* Fail the next @times allocations (-1: all) of tasks marked make-it-fail,
 * through @attr ("failslab", "fail_page_alloc" or NULL for both).
 */
static int fi_arm(const char *attr, const char *times)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < 2; i++) {
		if (attr && strcmp(attr, fi_attrs[i]))
			continue;
		ret |= fi_set(fi_attrs[i], "times", times);
		ret |= fi_set(fi_attrs[i], "probability", "100");
	}
	return ret ? -EIO : 0;
}

static int make_it_fail(int pid, bool on)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/make-it-fail", pid);
	return write_str(path, on ? "1" : "0");
}

static const char *fi_unavailable(void)
{
	if (access(DBGFS "/failslab", F_OK))
		mount("debugfs", DBGFS, "debugfs", 0, NULL);
	if (access(DBGFS "/failslab/probability", F_OK))
		return DBGFS "/failslab missing (no CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS)";
	if (access(DBGFS "/fail_page_alloc/probability", F_OK))
		return DBGFS "/fail_page_alloc missing (no CONFIG_FAIL_PAGE_ALLOC)";
	if (access("/proc/thread-self/fail-nth", F_OK))
		return "/proc/thread-self/fail-nth missing";
	return NULL;
}

/* ---- xtap's lifetime pairs ("xtap: <kind> <id> created/destroyed") ---- */

static const char *const life_kinds[] = {
	"device", "queue", "queue pair directory", "vhost worker", "vhost",
};
#define NKINDS	(sizeof(life_kinds) / sizeof(life_kinds[0]))

struct life {
	long created[NKINDS];
	long destroyed[NKINDS];
};

/* Does @s, after "xtap: ", read "<kind> <digits> <what>" exactly? */
static bool life_match(const char *s, const char *kind, const char *what)
{
	size_t k = strlen(kind);

	if (strncmp(s, kind, k) || s[k] != ' ')
		return false;
	s += k + 1;
	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9')
		s++;
	return *s == ' ' && !strncmp(s + 1, what, strlen(what)) &&
	       (s[1 + strlen(what)] == '\n' || !s[1 + strlen(what)]);
}

/* The kernel log is read once, then only what is new: /dev/kmsg, opened
 * at the first call, keeps the running counts (no dmesg process per run,
 * which under the debug kernel would cost more than the run itself).
 */
static int kmsg_fd = -1;
static struct life kmsg_life;

static int life_read(struct life *l)
{
	char rec[2048];
	const char *p;
	unsigned int k;
	ssize_t n;

	if (kmsg_fd < 0) {
		kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (kmsg_fd < 0)
			return -errno;
	}
	for (;;) {
		n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		rec[n] = 0;
		p = strchr(rec, ';');
		if (!p || strncmp(p + 1, "xtap: ", 6))
			continue;
		p += 7;
		for (k = 0; k < NKINDS; k++) {
			if (life_match(p, life_kinds[k], "created"))
				kmsg_life.created[k]++;
			else if (life_match(p, life_kinds[k], "destroyed"))
				kmsg_life.destroyed[k]++;
		}
	}
	*l = kmsg_life;
	return 0;
}

/* Objects of each kind alive now that were not alive at @base. */
static long life_diff(const struct life *base, const struct life *now,
		      char *why, size_t len)
{
	long d, total = 0;
	unsigned int k;

	why[0] = 0;
	for (k = 0; k < NKINDS; k++) {
		d = (now->created[k] - now->destroyed[k]) -
		    (base->created[k] - base->destroyed[k]);
		if (d)
			snprintf(why + strlen(why), len - strlen(why),
				 " %s:%+ld", life_kinds[k], d);
		total += labs(d);
	}
	return total;
}

/* Wait up to 5 s for what was freed after an RCU grace period or from a
 * work item; 0 when every kind is back to @base.
 */
static long life_settled(const struct life *base, struct life *now,
			 char *why, size_t len)
{
	long left = -1;
	int i;

	for (i = 0; i < 100; i++) {
		if (life_read(now))
			return -1;
		left = life_diff(base, now, why, len);
		if (!left)
			break;
		usleep(50000);
	}
	return left;
}

/* ---- netlink on one socket opened before any failure is armed ---- */

static int nl_talk(int fd, struct nlmsghdr *nh)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[4096];
	struct nlmsghdr *rh;
	ssize_t n;

	nh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nh->nlmsg_seq++;
	if (sendto(fd, nh, nh->nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		return -errno;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -errno;
		for (rh = (struct nlmsghdr *)buf; NLMSG_OK(rh, n);
		     rh = NLMSG_NEXT(rh, n)) {
			if (rh->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(rh))->error;
		}
	}
}

static int nl_newlink(int fd, const char *ifname)
{
	union {
		struct nlmsghdr nh;
		char buf[512];
	} m = {};
	struct ifinfomsg *ifi;
	struct nlattr *li;

	m.nh.nlmsg_type = RTM_NEWLINK;
	m.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	m.nh.nlmsg_len = NLMSG_LENGTH(sizeof(*ifi));
	ifi = NLMSG_DATA(&m.nh);
	ifi->ifi_family = AF_UNSPEC;
	vdrv_nla_put(&m.nh, IFLA_IFNAME, ifname, strlen(ifname) + 1);
	li = (struct nlattr *)(m.buf + NLMSG_ALIGN(m.nh.nlmsg_len));
	vdrv_nla_put(&m.nh, IFLA_LINKINFO, NULL, 0);
	vdrv_nla_put(&m.nh, IFLA_INFO_KIND, "xtap", 4);
	li->nla_len = m.buf + m.nh.nlmsg_len - (char *)li;
	return nl_talk(fd, &m.nh);
}

/* ---- the systematic run ---- */

struct fi_op {
	const char *name;
	/* the operation, armed: 0 or -errno; must undo its own partial work */
	int (*run)(void *arg);
	/* after a successful run, disarmed: undo it */
	void (*undo)(void *arg);
	/* disarmed: does the device still work / is the state clean? */
	int (*check)(void *arg, bool ok);
	void *arg;
};

/* The errors an allocation failure may give: ENOMEM, or ENOBUFS where the
 * core reports a failed skb (netlink) that way.
 */
static bool clean_errno(int err)
{
	return err == -ENOMEM || err == -ENOBUFS;
}

static int nth_set(int fd, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(fd, buf, len, 0) == len ? 0 : -errno;
}

static long nth_get(int fd)
{
	char buf[16];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

/* Fail the 1st, 2nd, ... allocation of this thread during @op->run until a
 * run completes before its n-th allocation.  Returns the number of runs
 * that failed cleanly, or -1 after a recorded failure.
 */
static int fi_systematic(struct __test_metadata *_metadata,
			 const struct fi_op *op)
{
	int nth_fd, ret, failed = 0, tolerated = 0;
	struct life base, now;
	unsigned int n;
	char why[256];
	long left;

	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (nth_fd < 0) {
		ksft_print_msg("%s: open fail-nth: %s\n", op->name,
			       strerror(errno));
		_metadata->passed = 0;
		return -1;
	}
	for (n = 1; n <= MAX_NTH; n++) {
		if (life_read(&base)) {
			ksft_print_msg("%s: dmesg failed\n", op->name);
			goto fail;
		}
		if (nth_set(nth_fd, n))
			goto fail;
		ret = op->run(op->arg);
		left = nth_get(nth_fd);
		nth_set(nth_fd, 0);
		if (ret) {
			if (!clean_errno(ret)) {
				ksft_print_msg("%s: allocation %u failed: %s, not ENOMEM/ENOBUFS\n",
					       op->name, n, strerror(-ret));
				goto fail;
			}
			failed++;
		} else {
			if (!left)
				tolerated++;
			op->undo(op->arg);
		}
		if (life_settled(&base, &now, why, sizeof(why))) {
			ksft_print_msg("%s: allocation %u failed (%s): objects left behind:%s\n",
				       op->name, n, ret ? strerror(-ret) : "run succeeded",
				       why);
			goto fail;
		}
		if (op->check && op->check(op->arg, !ret)) {
			ksft_print_msg("%s: after allocation %u failed: state broken\n",
				       op->name, n);
			goto fail;
		}
		/* The run ended before its n-th allocation: all were tried. */
		if (!ret && left > 0)
			break;
	}
	close(nth_fd);
	if (n > MAX_NTH) {
		ksft_print_msg("%s: still reaching allocation %u\n", op->name,
			       MAX_NTH);
		_metadata->passed = 0;
		return -1;
	}
	ksft_print_msg("%s: %u allocations tried: %d failed cleanly, %d failures absorbed\n",
		       op->name, n - 1, failed, tolerated);
	return failed;
fail:
	nth_set(nth_fd, 0);
	close(nth_fd);
	_metadata->passed = 0;
	return -1;
}

/* ---- the fixture: fault injection reset around each test ---- */

FIXTURE(fi)
{
	struct vtest_env e;
	bool env;
	int marked;
	uint8_t *f;
	uint8_t *r;
};

FIXTURE_SETUP(fi)
{
	const char *why = fi_unavailable();

	if (why)
		SKIP(_exit(255), "%s", why);
	VTEST_FILTER(VDRV_XTAP);
	self->marked = 0;
	self->env = false;
	self->f = malloc(BUF_SIZE);
	self->r = malloc(BUF_SIZE);
	ASSERT_TRUE(self->f && self->r);
	ASSERT_EQ(0, fi_reset());
}

FIXTURE_TEARDOWN(fi)
{
	fi_reset();
	if (self->marked > 0)
		make_it_fail(self->marked, false);
	if (self->env)
		vtest_env_down(&self->e);
	free(self->f);
	free(self->r);
}

static int env_up(struct __test_metadata *_metadata,
		  FIXTURE_DATA(fi) *self, const char *tag)
{
	struct vdrv_config cfg = { .features = VDRV_FEATURES_QEMU };
	int ret;

	self->env = true;
	ret = vtest_env_up(&self->e, VDRV_XTAP, tag, &cfg, 0);
	if (ret)
		ksft_print_msg("env: %s: %s\n", self->e.what, strerror(-ret));
	if (!ret)
		ret = vdrv_link_set_mtu(self->e.be.ifname, 9000);
	return ret;
}

/* Worker thread of queue pair 0: "tx_pid" or "rx_pid". */
static int worker_pid(const char *ifname, const char *which)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/class/net/%s/xtap/queues/0/%s",
		 ifname, which);
	return (int)read_long(path);
}

/* One frame each way through a fresh environment's device. */
static int traffic_ok(struct vtest_env *e, uint8_t *f, uint8_t *r,
		      uint32_t seq)
{
	int ret;

	vtest_frame(f, 1000, seq, VTEST_ETH_P);
	ret = vtest_guest_send(e, f, 1000, true, WAIT_MS);
	if (!ret)
		ret = vtest_host_expect(e, r, BUF_SIZE, 1000, seq, WAIT_MS);
	if (!ret)
		ret = vtest_tx_drain(e, WAIT_MS);
	if (!ret)
		ret = vtest_host_to_guest(e, 1000, seq + 1, WAIT_MS);
	return ret;
}

/* ---- control plane ---- */

struct newlink_arg {
	int nl;
	char name[IFNAMSIZ];
};

static int newlink_run(void *arg)
{
	struct newlink_arg *a = arg;

	return nl_newlink(a->nl, a->name);
}

static void newlink_undo(void *arg)
{
	struct newlink_arg *a = arg;
	int idx = if_nametoindex(a->name);

	if (idx)
		vdrv_rtnl_dellink(idx);
}

/* A failed creation leaves no link; a successful one was deleted. */
static int newlink_check(void *arg, bool ok)
{
	struct newlink_arg *a = arg;

	return if_nametoindex(a->name) ? -EEXIST : 0;
}

TEST_F_TIMEOUT(fi, ctl_device_create, 900)
{
	struct newlink_arg a = {};
	struct fi_op op = {
		.name = "ip link add type xtap", .run = newlink_run,
		.undo = newlink_undo, .check = newlink_check, .arg = &a,
	};
	struct life l;

	vtest_ifname(a.name, sizeof(a.name), VDRV_XTAP, "fc");
	a.nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	ASSERT_LE(0, a.nl);
	/* The lifetime pairs are what the leak check reads: they must be on. */
	ASSERT_EQ(0, newlink_run(&a));
	newlink_undo(&a);
	ASSERT_EQ(0, life_read(&l));
	ASSERT_LT(0, l.created[0]) TH_LOG("no \"device N created\" in dmesg: xtap not loaded with dyndbg=+p");
	EXPECT_LT(0, fi_systematic(_metadata, &op));
	close(a.nl);
	ASSERT_EQ(0, env_up(_metadata, self, "fc"));
	EXPECT_EQ(0, traffic_ok(&self->e, self->f, self->r, 1)) TH_LOG("%s", self->e.what);
}

struct queue_arg {
	char path[64];
	int fd;
};

static int queue_run(void *arg)
{
	struct queue_arg *a = arg;

	a->fd = open(a->path, O_RDWR | O_CLOEXEC);
	return a->fd < 0 ? -errno : 0;
}

static void queue_undo(void *arg)
{
	struct queue_arg *a = arg;

	close(a->fd);
	a->fd = -1;
}

TEST_F_TIMEOUT(fi, ctl_queue_attach, 600)
{
	struct queue_arg a = { .fd = -1 };
	struct fi_op op = {
		.name = "open /dev/xtapN", .run = queue_run, .undo = queue_undo,
		.arg = &a,
	};

	ASSERT_EQ(0, env_up(_metadata, self, "fq"));
	snprintf(a.path, sizeof(a.path), "/dev/xtap%d", self->e.be.ifindex);
	EXPECT_LT(0, fi_systematic(_metadata, &op));
	/* The device's own queue, attached before, still carries traffic. */
	EXPECT_EQ(0, traffic_ok(&self->e, self->f, self->r, 1)) TH_LOG("%s", self->e.what);
	/* And a second queue can still be had. */
	ASSERT_EQ(0, queue_run(&a));
	queue_undo(&a);
}

struct vhost_arg {
	struct vtest_env *e;
	struct vdrv_config cfg;
};

/* What QEMU does for one NIC: open, SET_OWNER, features, memory table,
 * rings, eventfds, SET_BACKEND both ways, link running.
 */
static int vhost_run(void *arg)
{
	struct vhost_arg *a = arg;
	int fd = open("/dev/vhost-xtap", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	a->e->be.vhost_fd = fd;
	return vtest_env_attach(a->e, &a->cfg);
}

static void vhost_undo(void *arg)
{
	struct vhost_arg *a = arg;

	if (a->e->be.vhost_fd >= 0)
		close(a->e->be.vhost_fd);
	a->e->be.vhost_fd = -1;
	if (a->e->d_ready)
		vdrv_fini(&a->e->d);
	a->e->d_ready = false;
}

static int vhost_run_clean(void *arg)
{
	int ret = vhost_run(arg);

	if (ret)
		vhost_undo(arg);
	return ret;
}

TEST_F_TIMEOUT(fi, ctl_vhost_setup, 900)
{
	struct vhost_arg a = {
		.e = &self->e, .cfg = { .features = VDRV_FEATURES_QEMU },
	};
	struct fi_op op = {
		.name = "vhost setup", .run = vhost_run_clean,
		.undo = vhost_undo, .arg = &a,
	};

	ASSERT_EQ(0, env_up(_metadata, self, "fv"));
	vhost_undo(&a);
	EXPECT_LT(0, fi_systematic(_metadata, &op));
	ASSERT_EQ(0, vhost_run(&a)) TH_LOG("%s", self->e.what);
	EXPECT_EQ(0, traffic_ok(&self->e, self->f, self->r, 1)) TH_LOG("%s", self->e.what);
}

/* ---- datapath ---- */

struct counts {
	long long retries, nomem, dropped, rx_packets;
};

static void counts_read(const char *ifname, struct counts *c)
{
	char path[128];

	/* absent (a build without the retry) reads as 0 */
	c->retries = tapq_stat(ifname, "rx_nomem_retries");
	if (c->retries < 0)
		c->retries = 0;
	c->nomem = tapq_stat(ifname, "rx_drop_nomem");
	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/rx_dropped",
		 ifname);
	c->dropped = read_long(path);
	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/rx_packets",
		 ifname);
	c->rx_packets = read_long(path);
}

/* Mark the TX worker and fail its next @times slab allocations. */
static void fail_tx_worker(struct __test_metadata *_metadata,
			   FIXTURE_DATA(fi) *self, const char *times)
{
	self->marked = worker_pid(self->e.be.ifname, "tx_pid");
	ASSERT_LT(0, self->marked);
	ASSERT_EQ(0, make_it_fail(self->marked, true));
	ASSERT_EQ(0, fi_arm("failslab", times));
}

static void stop_failing(FIXTURE_DATA(fi) *self)
{
	fi_reset();
	make_it_fail(self->marked, false);
	self->marked = 0;
}

/*
 * Issue 15 item 5: a transient failure.  The first three tries to build
 * the skb of a frame fail; the frame is put back each time, tried again
 * and delivered intact: three retries counted, no drop.
 */
TEST_F_TIMEOUT(fi, tx_nomem_retried, 120)
{
	struct counts c0, c1;

	ASSERT_EQ(0, env_up(_metadata, self, "ft"));
	ASSERT_EQ(0, traffic_ok(&self->e, self->f, self->r, 1)) TH_LOG("%s", self->e.what);
	counts_read(self->e.be.ifname, &c0);
	fail_tx_worker(_metadata, self, "3");
	vtest_frame(self->f, SKB_FRAME, 10, VTEST_ETH_P);
	ASSERT_EQ(0, vtest_guest_send(&self->e, self->f, SKB_FRAME, true, WAIT_MS));
	EXPECT_EQ(0, vtest_host_expect(&self->e, self->r, BUF_SIZE, SKB_FRAME,
				       10, WAIT_MS)) TH_LOG("%s", self->e.what);
	EXPECT_EQ(0, vtest_tx_drain(&self->e, WAIT_MS));
	EXPECT_EQ(0, fi_times("failslab")) TH_LOG("the failures were not all injected");
	stop_failing(self);
	counts_read(self->e.be.ifname, &c1);
	EXPECT_EQ(3, c1.retries - c0.retries);
	EXPECT_EQ(0, c1.nomem - c0.nomem);
	EXPECT_EQ(0, c1.dropped - c0.dropped);
	EXPECT_EQ(1, c1.rx_packets - c0.rx_packets);
	EXPECT_EQ(0, traffic_ok(&self->e, self->f, self->r, 20)) TH_LOG("%s", self->e.what);
}

/*
 * A lasting failure: every try fails.  After the bound the frame is
 * dropped and counted, its chain returned, and the ring goes on: the next
 * frame, sent once memory is back, is the first the host sees.
 */
TEST_F_TIMEOUT(fi, tx_nomem_bounded, 120)
{
	struct counts c0, c1;

	ASSERT_EQ(0, env_up(_metadata, self, "fb"));
	ASSERT_EQ(0, traffic_ok(&self->e, self->f, self->r, 1)) TH_LOG("%s", self->e.what);
	counts_read(self->e.be.ifname, &c0);
	fail_tx_worker(_metadata, self, "-1");
	vtest_frame(self->f, SKB_FRAME, 10, VTEST_ETH_P);
	ASSERT_EQ(0, vtest_guest_send(&self->e, self->f, SKB_FRAME, true, WAIT_MS));
	/* The chain comes back once the frame is given up. */
	EXPECT_EQ(0, vtest_tx_drain(&self->e, WAIT_MS));
	stop_failing(self);
	counts_read(self->e.be.ifname, &c1);
	EXPECT_EQ(TX_RETRIES, c1.retries - c0.retries);
	EXPECT_EQ(1, c1.nomem - c0.nomem);
	EXPECT_EQ(1, c1.dropped - c0.dropped);
	EXPECT_EQ(0, c1.rx_packets - c0.rx_packets);
	vtest_frame(self->f, SKB_FRAME, 11, VTEST_ETH_P);
	ASSERT_EQ(0, vtest_guest_send(&self->e, self->f, SKB_FRAME, true, WAIT_MS));
	/* Frame 10 arriving first would be -EBADMSG here. */
	EXPECT_EQ(0, vtest_host_expect(&self->e, self->r, BUF_SIZE, SKB_FRAME,
				       11, WAIT_MS)) TH_LOG("%s", self->e.what);
	EXPECT_EQ(0, traffic_ok(&self->e, self->f, self->r, 20)) TH_LOG("%s", self->e.what);
}

/*
 * Small frames take the XDP path, whose skbs are made in bulk after the
 * batch's chains were used (as vhost-net's batched path): a failure there
 * is a counted drop, never a silent loss.
 */
TEST_F_TIMEOUT(fi, tx_xdp_path_counted, 120)
{
	struct counts c0, c1;
	long long got;
	int ret;

	ASSERT_EQ(0, env_up(_metadata, self, "fx"));
	ASSERT_EQ(0, traffic_ok(&self->e, self->f, self->r, 1)) TH_LOG("%s", self->e.what);
	counts_read(self->e.be.ifname, &c0);
	fail_tx_worker(_metadata, self, "1");
	vtest_frame(self->f, SMALL_FRAME, 10, VTEST_ETH_P);
	ASSERT_EQ(0, vtest_guest_send(&self->e, self->f, SMALL_FRAME, true, WAIT_MS));
	EXPECT_EQ(0, vtest_tx_drain(&self->e, WAIT_MS));
	EXPECT_EQ(0, fi_times("failslab")) TH_LOG("the failure was not injected");
	stop_failing(self);
	counts_read(self->e.be.ifname, &c1);
	/* Delivered (retried) or dropped and counted: one of the two. */
	got = c1.rx_packets - c0.rx_packets;
	EXPECT_EQ(1, got + (c1.nomem - c0.nomem));
	EXPECT_EQ(c1.nomem - c0.nomem, c1.dropped - c0.dropped);
	if (got) {
		ret = vtest_host_expect(&self->e, self->r, BUF_SIZE, SMALL_FRAME,
					10, WAIT_MS);
		EXPECT_EQ(0, ret) TH_LOG("%s", self->e.what);
	}
	ksft_print_msg("small frame under a slab failure: %s\n",
		       got ? "retried and delivered" : "dropped, counted");
	EXPECT_EQ(0, traffic_ok(&self->e, self->f, self->r, 20)) TH_LOG("%s", self->e.what);
}

/*
 * Host -> guest with every allocation of the RX worker failing: each frame
 * reaches the guest intact or is counted as a drop.
 */
TEST_F_TIMEOUT(fi, rx_worker_failing, 180)
{
	long long drops0, drops1;
	int i, ok = 0, ret;
	char path[128];
	const int n = 16;

	ASSERT_EQ(0, env_up(_metadata, self, "fr"));
	ASSERT_EQ(0, traffic_ok(&self->e, self->f, self->r, 1)) TH_LOG("%s", self->e.what);
	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_dropped",
		 self->e.be.ifname);
	drops0 = read_long(path);
	self->marked = worker_pid(self->e.be.ifname, "rx_pid");
	ASSERT_LT(0, self->marked);
	ASSERT_EQ(0, make_it_fail(self->marked, true));
	ASSERT_EQ(0, fi_arm(NULL, "-1"));
	for (i = 0; i < n; i++) {
		ret = vtest_host_to_guest(&self->e, 1000, 100 + i, WAIT_MS);
		if (!ret)
			ok++;
		else if (ret != -ETIMEDOUT)
			ksft_print_msg("frame %d: %s: %s\n", i, self->e.what,
				       strerror(-ret));
	}
	stop_failing(self);
	drops1 = read_long(path);
	ksft_print_msg("%d of %d frames delivered, %lld dropped\n", ok, n,
		       drops1 - drops0);
	EXPECT_EQ(n, ok + (drops1 - drops0));
	EXPECT_EQ(0, traffic_ok(&self->e, self->f, self->r, 200)) TH_LOG("%s", self->e.what);
}

/* ---- leaks ---- */

/*
 * kmemleak (debug kernel): after the runs above, no unreferenced object
 * whose allocation went through xtap.  kmemleak reports an object only
 * once it is older than 5 s, hence the wait and the two scans.
 */
TEST_F_TIMEOUT(fi, kmemleak_no_xtap_object, 600)
{
	char line[512];
	int xtap = 0, all = 0;
	FILE *f;

	if (access(KMEMLEAK, W_OK))
		SKIP(return, "no %s (CONFIG_DEBUG_KMEMLEAK)", KMEMLEAK);
	sleep(6);
	ASSERT_EQ(0, write_str(KMEMLEAK, "scan"));
	ASSERT_EQ(0, write_str(KMEMLEAK, "scan"));
	f = fopen(KMEMLEAK, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "unreferenced object"))
			all++;
		if (strstr(line, "[xtap]"))
			xtap++;
		if (all && all <= 20)
			ksft_print_msg("%s", line);
	}
	fclose(f);
	ksft_print_msg("kmemleak: %d unreferenced object(s), %d backtrace line(s) in xtap\n",
		       all, xtap);
	EXPECT_EQ(0, xtap);
}

/* Without fault injection the whole program skips (exit 4): the kernel
 * lacks a feature, xtap is not at fault.
 */
int main(int argc, char **argv)
{
	const char *why;

	xtest_require_xtap();
	why = fi_unavailable();
	if (why) {
		ksft_print_header();
		ksft_exit_skip("%s\n", why);
	}
	xtest_scale_timeouts();
	xtest_omit_variants();
	return test_harness_run(argc, argv);
}
