// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Native XDP on guest TX: a program attached to xtap (libbpf,
 * bpf_xdp_attach() in driver mode) sees every frame the userspace virtio
 * driver sends, and each verdict is checked with exact counts: the
 * program's own counter, xtap's ethtool counters, and what the stack (an
 * AF_PACKET socket, rx_packets) or the redirect target got.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kselftest_harness.h"
#include "xtest.h"
#include "vdrv.h"
#include "vtest.h"
#include "tapq.h"

#define WAIT_MS		10000
#define NFRAMES		200
#define FRAME_LEN	64
#define SWAP_FRAMES	100000
/* Guest TX frames larger than this take the skb path (generic XDP). */
#define BIG_LEN		4000
#define BUF_SIZE	8192

/* Verdicts as the program returns them (uapi enum xdp_action). */
#define V_ABORTED	XDP_ABORTED
#define V_DROP		XDP_DROP
#define V_PASS		XDP_PASS
#define V_TX		XDP_TX
#define V_REDIRECT	XDP_REDIRECT
#define V_INVALID	99

struct prog {
	struct bpf_object *obj;
	int fd;
	int cfg;
	int cnt;
};

/* bpf/<name> next to this program. */
static int prog_load(struct prog *p, const char *name, const char *func,
		     const char *cnt_map)
{
	char exe[PATH_MAX], path[PATH_MAX + 32];
	struct bpf_program *bp;
	ssize_t n;

	memset(p, 0, sizeof(*p));
	p->fd = p->cfg = p->cnt = -1;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = '\0';
	snprintf(path, sizeof(path), "%s/bpf/%s", dirname(exe), name);
	p->obj = bpf_object__open_file(path, NULL);
	if (!p->obj)
		return -errno ? -errno : -ENOENT;
	if (bpf_object__load(p->obj))
		return -EINVAL;
	bp = bpf_object__find_program_by_name(p->obj, func);
	if (!bp)
		return -ENOENT;
	p->fd = bpf_program__fd(bp);
	p->cnt = bpf_object__find_map_fd_by_name(p->obj, cnt_map);
	if (strcmp(cnt_map, "cnt") == 0)
		p->cfg = bpf_object__find_map_fd_by_name(p->obj, "cfg");
	return p->fd < 0 || p->cnt < 0 ? -ENOENT : 0;
}

static void prog_close(struct prog *p)
{
	if (p->obj)
		bpf_object__close(p->obj);
	p->obj = NULL;
}

static int prog_set(struct prog *p, unsigned int verdict, int ifindex)
{
	__u32 k = 0, v = verdict;

	if (bpf_map_update_elem(p->cfg, &k, &v, BPF_ANY))
		return -errno;
	k = 1;
	v = ifindex;
	return bpf_map_update_elem(p->cfg, &k, &v, BPF_ANY) ? -errno : 0;
}

static long long prog_count(struct prog *p, __u32 key)
{
	__u64 v = 0;

	if (bpf_map_lookup_elem(p->cnt, &key, &v))
		return -1;
	return v;
}

static long long link_stat(const char *ifname, const char *stat)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s",
		 ifname, stat);
	if (tapq_read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	return atoll(buf);
}

FIXTURE(xdp) {
	struct vtest_env e;
	struct prog p;
	uint8_t *f, *r;
	char veth[2][IFNAMSIZ];
};

FIXTURE_SETUP(xdp)
{
	struct vdrv_config cfg = {
		.features = VDRV_FEATURES_QEMU,
	};
	int ret;

	self->f = malloc(BUF_SIZE);
	self->r = malloc(BUF_SIZE);
	ASSERT_NE(NULL, self->f);
	ASSERT_NE(NULL, self->r);
	ret = vtest_env_up(&self->e, VDRV_XTAP, "x", &cfg, 0);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->e.what, strerror(-ret));
	ret = prog_load(&self->p, "xdp_verdict.bpf.o", "xtap_verdict", "cnt");
	ASSERT_EQ(0, ret) TH_LOG("load bpf/xdp_verdict.bpf.o: %s",
				 strerror(-ret));
	ret = bpf_xdp_attach(self->e.be.ifindex, self->p.fd,
			     XDP_FLAGS_DRV_MODE, NULL);
	ASSERT_EQ(0, ret) TH_LOG("native XDP attach: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(xdp)
{
	if (self->e.be.ifindex > 0)
		bpf_xdp_detach(self->e.be.ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (self->veth[0][0])
		tapq_sh("ip link del %s 2>/dev/null", self->veth[0]);
	prog_close(&self->p);
	vtest_env_down(&self->e);
	free(self->f);
	free(self->r);
}

/* The guest sends @n test frames of @len bytes (sequence from @seq0) and
 * waits until the device has used them all: by then every verdict ran.
 */
static int send_frames(struct vtest_env *e, uint8_t *f, unsigned int n,
		       size_t len, uint32_t seq0)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		vtest_frame(f, len, seq0 + i, VTEST_ETH_P);
		ret = vtest_guest_send(e, f, len, i % 32 == 31, WAIT_MS);
		if (ret)
			return ret;
	}
	return vtest_tx_drain(e, WAIT_MS);
}

/* Frames the host socket @fd gets within @ms (payloads checked). */
static int host_count(struct vtest_env *e, int fd, uint8_t *r, size_t len,
		      uint32_t seq0, unsigned int max, int ms, long *bad)
{
	unsigned int got = 0;
	int ret;

	*bad = 0;
	while (got < max + 1) {
		ret = vdrv_pkt_recv(fd, r, BUF_SIZE, ms);
		if (ret < 0)
			break;
		if (vtest_proto(r, ret) != VTEST_ETH_P)
			continue;
		if ((size_t)ret != len ||
		    vtest_frame_diff(r, ret, len, seq0 + got, VTEST_ETH_P) != -1)
			(*bad)++;
		got++;
	}
	return got;
}

struct before {
	long long stat[8];
	long long rx_packets;
};

static const char * const stat_names[] = {
	"xdp_pass", "xdp_drop", "xdp_tx", "xdp_redirect", "xdp_redirect_err",
	"xdp_aborted", "xdp_generic", "rx_batches",
};

enum { S_PASS, S_DROP, S_TX, S_REDIR, S_REDIR_ERR, S_ABORTED, S_GENERIC,
       S_BATCHES };

static void snap(const char *ifname, struct before *b)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(stat_names); i++)
		b->stat[i] = tapq_stat(ifname, stat_names[i]);
	b->rx_packets = link_stat(ifname, "rx_packets");
}

/* Run @n frames through verdict @v; check the program's counter and that
 * exactly @n of xtap's counter @which moved and no other verdict's.
 */
static void run_verdict(struct __test_metadata *_metadata,
			FIXTURE_DATA(xdp) *self, unsigned int v, int which,
			struct before *b, struct before *a)
{
	unsigned int i;

	ASSERT_EQ(0, prog_set(&self->p, v, 0));
	snap(self->e.be.ifname, b);
	ASSERT_EQ(0, send_frames(&self->e, self->f, NFRAMES, FRAME_LEN, 0));
	snap(self->e.be.ifname, a);
	EXPECT_EQ(NFRAMES, prog_count(&self->p, 0));
	EXPECT_EQ(NFRAMES * FRAME_LEN, prog_count(&self->p, 1));
	for (i = 0; i < S_BATCHES; i++)
		EXPECT_EQ((int)i == which ? NFRAMES : 0,
			  a->stat[i] - b->stat[i]) TH_LOG("%s", stat_names[i]);
	/*
	 * Frames go in batches of at most 64 (XTAP_XDP_BATCH); how many
	 * kicks of 32 one batch takes in depends on how fast the worker runs.
	 */
	EXPECT_LE((NFRAMES + 63) / 64, a->stat[S_BATCHES] - b->stat[S_BATCHES]);
	EXPECT_GE(NFRAMES, a->stat[S_BATCHES] - b->stat[S_BATCHES]);
}

TEST_F(xdp, pass)
{
	struct before b, a;
	long bad;

	run_verdict(_metadata, self, V_PASS, S_PASS, &b, &a);
	EXPECT_EQ(NFRAMES, a.rx_packets - b.rx_packets);
	EXPECT_EQ(NFRAMES, host_count(&self->e, self->e.pkt, self->r,
				      FRAME_LEN, 0, NFRAMES, 500, &bad));
	EXPECT_EQ(0, bad);
}

TEST_F(xdp, drop)
{
	struct before b, a;
	long bad;

	run_verdict(_metadata, self, V_DROP, S_DROP, &b, &a);
	/* The stack sees nothing. */
	EXPECT_EQ(0, a.rx_packets - b.rx_packets);
	EXPECT_EQ(0, host_count(&self->e, self->e.pkt, self->r, FRAME_LEN, 0,
				NFRAMES, 300, &bad));
	EXPECT_EQ(NFRAMES, link_stat(self->e.be.ifname, "rx_dropped"));
}

TEST_F(xdp, aborted)
{
	struct before b, a;
	long bad;

	run_verdict(_metadata, self, V_ABORTED, S_ABORTED, &b, &a);
	EXPECT_EQ(0, a.rx_packets - b.rx_packets);
	EXPECT_EQ(0, host_count(&self->e, self->e.pkt, self->r, FRAME_LEN, 0,
				NFRAMES, 300, &bad));
}

/* An invalid verdict is counted as aborted and dropped. */
TEST_F(xdp, invalid_verdict)
{
	struct before b, a;
	long bad;

	run_verdict(_metadata, self, V_INVALID, S_ABORTED, &b, &a);
	EXPECT_EQ(0, a.rx_packets - b.rx_packets);
	EXPECT_EQ(0, host_count(&self->e, self->e.pkt, self->r, FRAME_LEN, 0,
				NFRAMES, 300, &bad));
}

/* XDP_TX: every frame comes back to the same guest, intact. */
TEST_F(xdp, tx_back_to_guest)
{
	struct vdrv_rx_info info;
	struct before b, a;
	unsigned int i;
	int ret;

	run_verdict(_metadata, self, V_TX, S_TX, &b, &a);
	EXPECT_EQ(0, a.rx_packets - b.rx_packets);
	for (i = 0; i < NFRAMES; i++) {
		ret = vtest_guest_recv(&self->e, self->r, BUF_SIZE, &info,
				       WAIT_MS);
		ASSERT_EQ(FRAME_LEN, ret) TH_LOG("frame %u", i);
		ASSERT_EQ(-1, vtest_frame_diff(self->r, ret, FRAME_LEN, i,
					       VTEST_ETH_P)) TH_LOG("frame %u", i);
	}
	EXPECT_EQ(0, tapq_stat(self->e.be.ifname, "xdp_tx_err"));
}

/* Frames larger than a page keep the skb path and meet the program
 * through generic XDP: none bypasses it.
 */
TEST_F(xdp, big_frames_generic)
{
	struct before b, a;
	long bad;

	ASSERT_EQ(0, prog_set(&self->p, V_DROP, 0));
	snap(self->e.be.ifname, &b);
	ASSERT_EQ(0, send_frames(&self->e, self->f, 20, BIG_LEN, 0));
	snap(self->e.be.ifname, &a);
	EXPECT_EQ(20, prog_count(&self->p, 0));
	EXPECT_EQ(20, a.stat[S_GENERIC] - b.stat[S_GENERIC]);
	EXPECT_EQ(0, a.stat[S_DROP] - b.stat[S_DROP]);
	EXPECT_EQ(0, a.rx_packets - b.rx_packets);
	EXPECT_EQ(0, host_count(&self->e, self->e.pkt, self->r, BIG_LEN, 0,
				20, 300, &bad));
	/* And with XDP_PASS they reach the stack intact. */
	ASSERT_EQ(0, prog_set(&self->p, V_PASS, 0));
	ASSERT_EQ(0, vdrv_link_set_mtu(self->e.be.ifname, BIG_LEN));
	ASSERT_EQ(0, send_frames(&self->e, self->f, 20, BIG_LEN, 0));
	EXPECT_EQ(20, host_count(&self->e, self->e.pkt, self->r, BIG_LEN, 0,
				 20, 500, &bad));
	EXPECT_EQ(0, bad);
}

/* XDP_REDIRECT into a veth whose peer runs a counting program: every frame
 * arrives (payload checked) or veth counts it as an xmit error.
 */
TEST_F(xdp, redirect_veth)
{
	struct prog peer;
	struct before b, a;
	int ifa, ifb, fd, got, ret;
	long long errs;
	unsigned int i;
	long bad, total_bad = 0;

	snprintf(self->veth[0], IFNAMSIZ, "vxa%d", (int)(getpid() % 100000));
	snprintf(self->veth[1], IFNAMSIZ, "vxb%d", (int)(getpid() % 100000));
	tapq_sh("modprobe -q veth");
	ASSERT_EQ(0, tapq_sh("ip link add %s type veth peer name %s",
			     self->veth[0], self->veth[1]))
		SKIP(return, "no veth");
	tapq_sh("sysctl -qw net.ipv6.conf.%s.disable_ipv6=1", self->veth[0]);
	tapq_sh("sysctl -qw net.ipv6.conf.%s.disable_ipv6=1", self->veth[1]);
	ASSERT_EQ(0, tapq_sh("ip link set %s up && ip link set %s up",
			     self->veth[0], self->veth[1]));
	ifa = if_nametoindex(self->veth[0]);
	ifb = if_nametoindex(self->veth[1]);
	ASSERT_LT(0, ifa);
	ASSERT_LT(0, ifb);
	ret = prog_load(&peer, "xdp_count.bpf.o", "xtap_count", "xcnt");
	ASSERT_EQ(0, ret) TH_LOG("load bpf/xdp_count.bpf.o: %s",
				 strerror(-ret));
	ret = bpf_xdp_attach(ifb, peer.fd, XDP_FLAGS_DRV_MODE, NULL);
	ASSERT_EQ(0, ret) TH_LOG("attach to veth: %s", strerror(-ret));
	fd = vdrv_pkt_open(ifb);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, prog_set(&self->p, V_REDIRECT, ifa));

	snap(self->e.be.ifname, &b);
	got = 0;
	/* Bursts the veth ring (256) can hold; a redirect has no
	 * backpressure, so losses are accounted, not excluded.
	 */
	for (i = 0; i < NFRAMES; i += 50) {
		ASSERT_EQ(0, send_frames(&self->e, self->f, 50, FRAME_LEN, i));
		got += host_count(&self->e, fd, self->r, FRAME_LEN, i, 50, 300,
				  &bad);
		total_bad += bad;
	}
	snap(self->e.be.ifname, &a);
	/* veth shows what its ndo_xdp_xmit refused as a tx queue stat. */
	errs = tapq_stat(self->veth[0], "tx_queue_0_xdp_xmit_errors");
	ASSERT_LE(0, errs);
	EXPECT_EQ(NFRAMES - errs,
		  tapq_stat(self->veth[0], "tx_queue_0_xdp_xmit"));
	EXPECT_EQ(NFRAMES, prog_count(&self->p, 0));
	EXPECT_EQ(NFRAMES, a.stat[S_REDIR] - b.stat[S_REDIR]);
	EXPECT_EQ(0, a.stat[S_REDIR_ERR] - b.stat[S_REDIR_ERR]);
	EXPECT_EQ(0, a.rx_packets - b.rx_packets);
	EXPECT_EQ(got, prog_count(&peer, 0));
	TH_LOG("%d arrived, %lld xmit errors", got, errs);
	EXPECT_LT(0, got);
	EXPECT_EQ(NFRAMES, got + errs);
	EXPECT_EQ(0, total_bad);
	EXPECT_EQ(0, host_count(&self->e, self->e.pkt, self->r, FRAME_LEN, 0,
				NFRAMES, 100, &bad));
	close(fd);
	bpf_xdp_detach(ifb, XDP_FLAGS_DRV_MODE, NULL);
	prog_close(&peer);
}

/* The VM runner's two virtio-net NICs on one QEMU hub (vm/run.sh). */
#define HUB_MAC_OUT	"52:54:00:78:74:01"
#define HUB_MAC_IN	"52:54:00:78:74:02"

/* Name of the interface with MAC @mac, or 0 (empty) when none. */
static int ifname_by_mac(const char *mac, char *name)
{
	char cmd[256];
	FILE *p;
	int ok;

	snprintf(cmd, sizeof(cmd),
		 "grep -l '^%s$' /sys/class/net/*/address 2>/dev/null | head -n1 | cut -d/ -f5",
		 mac);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	ok = fgets(name, IFNAMSIZ, p) != NULL;
	pclose(p);
	if (!ok)
		return 0;
	name[strcspn(name, "\n")] = '\0';
	return name[0] ? (int)if_nametoindex(name) : 0;
}

/* Sum of virtio_net's per-queue xdp_tx_drops of @ifname. */
static long long virtio_xdp_drops(const char *ifname)
{
	char stat[ETH_GSTRING_LEN];
	long long sum = 0, v;
	unsigned int q;

	for (q = 0; q < 16; q++) {
		snprintf(stat, sizeof(stat), "tx_queue_%u_xdp_tx_drops", q);
		v = tapq_stat(ifname, stat);
		if (v > 0)
			sum += v;
	}
	return sum;
}

/* XDP_REDIRECT to a real NIC driver's ndo_xdp_xmit (virtio_net): what
 * leaves the first hub NIC arrives on the second, payload checked, or is
 * counted as dropped by virtio_net.
 */
TEST_F(xdp, redirect_nic)
{
	char out[IFNAMSIZ] = "", in[IFNAMSIZ] = "";
	struct prog pout, pin;
	struct before b, a;
	int ifo, ifi, fd, got, ret;
	long long drops;
	unsigned int i;
	long bad, total_bad = 0;

	tapq_sh("modprobe -q virtio_net");
	ifo = ifname_by_mac(HUB_MAC_OUT, out);
	ifi = ifname_by_mac(HUB_MAC_IN, in);
	if (!ifo || !ifi)
		SKIP(return, "no hub NICs " HUB_MAC_OUT " and " HUB_MAC_IN
		     " (vm/run.sh provides them)");
	tapq_sh("sysctl -qw net.ipv6.conf.%s.disable_ipv6=1", out);
	tapq_sh("sysctl -qw net.ipv6.conf.%s.disable_ipv6=1", in);
	ASSERT_EQ(0, tapq_sh("ip link set %s up && ip link set %s up promisc on",
			     out, in));
	/* virtio_net takes redirected frames only with a program of its own. */
	ret = prog_load(&pout, "xdp_count.bpf.o", "xtap_count", "xcnt");
	ASSERT_EQ(0, ret);
	ret = prog_load(&pin, "xdp_count.bpf.o", "xtap_count", "xcnt");
	ASSERT_EQ(0, ret);
	ret = bpf_xdp_attach(ifo, pout.fd, XDP_FLAGS_DRV_MODE, NULL);
	ASSERT_EQ(0, ret) TH_LOG("attach to %s: %s", out, strerror(-ret));
	ret = bpf_xdp_attach(ifi, pin.fd, XDP_FLAGS_DRV_MODE, NULL);
	ASSERT_EQ(0, ret) TH_LOG("attach to %s: %s", in, strerror(-ret));
	fd = vdrv_pkt_open(ifi);
	ASSERT_LE(0, fd);
	vdrv_pkt_drain(fd);
	ASSERT_EQ(0, prog_set(&self->p, V_REDIRECT, ifo));

	drops = virtio_xdp_drops(out);
	snap(self->e.be.ifname, &b);
	got = 0;
	for (i = 0; i < NFRAMES; i += 25) {
		ASSERT_EQ(0, send_frames(&self->e, self->f, 25, FRAME_LEN, i));
		got += host_count(&self->e, fd, self->r, FRAME_LEN, i, 25,
				  1000, &bad);
		total_bad += bad;
	}
	snap(self->e.be.ifname, &a);
	drops = virtio_xdp_drops(out) - drops;
	EXPECT_EQ(NFRAMES, prog_count(&self->p, 0));
	EXPECT_EQ(NFRAMES, a.stat[S_REDIR] - b.stat[S_REDIR]);
	EXPECT_EQ(0, a.stat[S_REDIR_ERR] - b.stat[S_REDIR_ERR]);
	EXPECT_EQ(got, prog_count(&pin, 0));
	TH_LOG("%d arrived on %s, %lld dropped by %s", got, in, drops, out);
	EXPECT_LT(0, got);
	EXPECT_EQ(NFRAMES, got + drops);
	EXPECT_EQ(0, total_bad);
	close(fd);
	bpf_xdp_detach(ifo, XDP_FLAGS_DRV_MODE, NULL);
	bpf_xdp_detach(ifi, XDP_FLAGS_DRV_MODE, NULL);
	tapq_sh("ip link set %s promisc off", in);
	prog_close(&pout);
	prog_close(&pin);
}

/* A redirect to an ifindex that does not exist fails: redirect_err. */
TEST_F(xdp, redirect_error)
{
	struct before b, a;

	ASSERT_EQ(0, prog_set(&self->p, V_REDIRECT, 0x7ffffff0));
	snap(self->e.be.ifname, &b);
	ASSERT_EQ(0, send_frames(&self->e, self->f, NFRAMES, FRAME_LEN, 0));
	snap(self->e.be.ifname, &a);
	EXPECT_EQ(NFRAMES, a.stat[S_REDIR_ERR] - b.stat[S_REDIR_ERR]);
	EXPECT_EQ(0, a.stat[S_REDIR] - b.stat[S_REDIR]);
	EXPECT_EQ(0, a.rx_packets - b.rx_packets);
}

struct swapper {
	int ifindex;
	int fd[2];
	volatile int stop;
	unsigned int swaps;
	int err;
};

static void *swap_thread(void *arg)
{
	struct swapper *s = arg;
	unsigned int i = 0;
	int ret;

	while (!s->stop) {
		/* PASS program, DROP program, detached, in turn. */
		switch (i++ % 3) {
		case 0:
		case 1:
			ret = bpf_xdp_attach(s->ifindex, s->fd[i % 3 == 1 ? 0 : 1],
					     XDP_FLAGS_DRV_MODE, NULL);
			break;
		default:
			ret = bpf_xdp_detach(s->ifindex, XDP_FLAGS_DRV_MODE,
					     NULL);
			break;
		}
		if (ret) {
			s->err = ret;
			break;
		}
		s->swaps++;
		usleep(2000);
	}
	return NULL;
}

/* Swap and detach programs while 10^5 frames flow: every frame is passed
 * to the stack or dropped by the DROP program, nothing else.
 */
TEST_F(xdp, swap_under_traffic)
{
	struct swapper s = { .ifindex = self->e.be.ifindex };
	struct before b, a;
	struct prog drop;
	pthread_t t;
	long long seen;
	int ret;

	ASSERT_EQ(0, prog_set(&self->p, V_PASS, 0));
	ret = prog_load(&drop, "xdp_verdict.bpf.o", "xtap_verdict", "cnt");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, prog_set(&drop, V_DROP, 0));
	/* Nobody reads the host socket: close it, the stack counts. */
	close(self->e.pkt);
	self->e.pkt = -1;
	s.fd[0] = self->p.fd;
	s.fd[1] = drop.fd;
	snap(self->e.be.ifname, &b);
	ASSERT_EQ(0, pthread_create(&t, NULL, swap_thread, &s));
	ret = send_frames(&self->e, self->f, SWAP_FRAMES, FRAME_LEN, 0);
	s.stop = 1;
	pthread_join(t, NULL);
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, s.err) TH_LOG("attach/detach: %s", strerror(-s.err));
	snap(self->e.be.ifname, &a);
	TH_LOG("%u swaps while %d frames flowed", s.swaps, SWAP_FRAMES);
	EXPECT_LT(3U, s.swaps);
	seen = prog_count(&self->p, 0) + prog_count(&drop, 0);
	EXPECT_EQ(SWAP_FRAMES, (a.rx_packets - b.rx_packets) +
			       (a.stat[S_DROP] - b.stat[S_DROP]));
	EXPECT_EQ(prog_count(&self->p, 0), a.stat[S_PASS] - b.stat[S_PASS]);
	EXPECT_EQ(prog_count(&drop, 0), a.stat[S_DROP] - b.stat[S_DROP]);
	EXPECT_GE(SWAP_FRAMES, seen);
	prog_close(&drop);
}

XTEST_HARNESS_MAIN
