// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * ndo_xdp_xmit: frames a NIC's XDP program redirects into an xtap device
 * reach the queue's user without an skb.  The "NIC" is a veth pair: test
 * frames sent into veth0 arrive on veth1, whose native XDP program
 * (bpf/xdp_redirect_dev.bpf.o) redirects them through a devmap into the
 * xtap device.
 *
 *   AF_PACKET -> veth0 ==> veth1 [XDP: redirect_map] ==> xtap ring
 *                                              -> vhost guest (vdrv) or read()
 *
 * Every test owns one xtap device with exactly one queue, so the queue
 * ndo_xdp_xmit picks is known, and counts are exact.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kselftest_harness.h"
#include "xtest.h"
#include "tapq.h"
#include "vtest.h"

#define WAIT_MS		5000
#define BPF_OBJ		"bpf/xdp_redirect_dev.bpf.o"
#define BPF_PROG	"xdp_redirect_dev"
#define BPF_MAP		"xdp_tx_ports"

/*
 * Where test frames come from: frames sent out of ifindex0 (AF_PACKET)
 * arrive on ifindex1, whose XDP program redirects them into the target.
 * A veth pair (created and deleted here), the VM's two hub NICs, or no
 * sender at all (the program on an xtap device, fed by its guest).
 */
struct xdp_nic {
	char name0[IFNAMSIZ];
	char name1[IFNAMSIZ];
	int ifindex0;
	int ifindex1;
	int pkt;
	struct bpf_object *obj;
	bool attached;
	bool own_veth;
	bool promisc;
	const char *what;
};

/* The BPF object next to the test program (the VM's cwd may differ). */
static int xdp_obj_path(char *path, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return -errno;
	exe[n] = '\0';
	snprintf(path, len, "%s/%s", dirname(exe), BPF_OBJ);
	return access(path, R_OK) ? -errno : 0;
}

/*
 * Load the program, point its devmap at @target and attach it to
 * @n->ifindex1 in driver mode.
 * Return: 0, or -errno with @n->what naming the step.
 */
static int xdp_attach_redirect(struct xdp_nic *n, int target)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	char path[PATH_MAX];
	__u32 key = 0, val = target;
	int ret;

	n->what = "BPF object " BPF_OBJ;
	ret = xdp_obj_path(path, sizeof(path));
	if (ret)
		return ret;
	n->obj = bpf_object__open_file(path, NULL);
	if (!n->obj) {
		ret = -errno;
		return ret ? ret : -EINVAL;
	}
	n->what = "bpf_object__load";
	ret = bpf_object__load(n->obj);
	if (ret)
		return ret;
	prog = bpf_object__find_program_by_name(n->obj, BPF_PROG);
	map = bpf_object__find_map_by_name(n->obj, BPF_MAP);
	n->what = "program or map missing";
	if (!prog || !map)
		return -ENOENT;
	n->what = "devmap update with the target's ifindex";
	if (bpf_map_update_elem(bpf_map__fd(map), &key, &val, BPF_ANY))
		return -errno;
	n->what = "attach in driver mode";
	ret = bpf_xdp_attach(n->ifindex1, bpf_program__fd(prog),
			     XDP_FLAGS_DRV_MODE, NULL);
	if (ret)
		return ret;
	n->attached = true;
	return 0;
}

/* Bring both ends up and open the sending socket on the first. */
static int xdp_nic_start(struct xdp_nic *n)
{
	n->what = "links up";
	if (vdrv_link_set_up(n->name1, true) || vdrv_link_set_up(n->name0, true))
		return -EIO;
	n->what = "AF_PACKET socket on the sending end";
	n->pkt = vdrv_pkt_open(n->ifindex0);
	return n->pkt < 0 ? n->pkt : 0;
}

/*
 * A veth pair (IPv6 off: no stray frames) whose second end redirects test
 * frames into @target.
 * Return: 0, -ENODEV without veth, or -errno with @n->what set.
 */
static int xdp_nic_up(struct xdp_nic *n, const char *tag, int target)
{
	int ret;

	memset(n, 0, sizeof(*n));
	n->pkt = -1;
	snprintf(n->name0, IFNAMSIZ, "xv%sa%d", tag, getpid() % 100000);
	snprintf(n->name1, IFNAMSIZ, "xv%sb%d", tag, getpid() % 100000);
	n->what = "ip link add type veth";
	/* the VM loads no module by itself */
	tapq_sh("modprobe -q veth 2>/dev/null");
	if (tapq_sh("ip link add %s type veth peer name %s", n->name0,
		    n->name1))
		return -ENODEV;
	n->own_veth = true;
	vdrv_link_disable_ipv6(n->name0);
	vdrv_link_disable_ipv6(n->name1);
	n->ifindex0 = if_nametoindex(n->name0);
	n->ifindex1 = if_nametoindex(n->name1);
	ret = xdp_attach_redirect(n, target);
	return ret ? ret : xdp_nic_start(n);
}

/* The VM runner's two virtio-net NICs on one QEMU hub (vm/run.sh): what
 * leaves the first arrives on the second.
 */
#define HUB_MAC_OUT	"52:54:00:78:74:01"
#define HUB_MAC_IN	"52:54:00:78:74:02"

/* Name and ifindex of the interface with MAC @mac; 0 when none. */
static int xdp_ifname_by_mac(const char *mac, char *name)
{
	char path[PATH_MAX], buf[64];
	struct if_nameindex *all, *i;
	int ifindex = 0;

	all = if_nameindex();
	if (!all)
		return 0;
	for (i = all; i->if_index; i++) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/address",
			 i->if_name);
		if (tapq_read_file(path, buf, sizeof(buf)) > 0 &&
		    !strncmp(buf, mac, strlen(mac))) {
			snprintf(name, IFNAMSIZ, "%s", i->if_name);
			ifindex = i->if_index;
			break;
		}
	}
	if_freenameindex(all);
	return ifindex;
}

/*
 * The hub NICs: the second one's program redirects into @target.
 * virtio_net drops unicast frames for other MACs unless promiscuous.
 * Return: 0, -ENODEV without the NICs, or -errno with @n->what set.
 */
static int xdp_hub_up(struct xdp_nic *n, int target)
{
	int ret;

	memset(n, 0, sizeof(*n));
	n->pkt = -1;
	tapq_sh("modprobe -q virtio_net 2>/dev/null");
	n->what = "hub NICs " HUB_MAC_OUT " and " HUB_MAC_IN;
	n->ifindex0 = xdp_ifname_by_mac(HUB_MAC_OUT, n->name0);
	n->ifindex1 = xdp_ifname_by_mac(HUB_MAC_IN, n->name1);
	if (!n->ifindex0 || !n->ifindex1)
		return -ENODEV;
	vdrv_link_disable_ipv6(n->name0);
	vdrv_link_disable_ipv6(n->name1);
	n->what = "promiscuous mode";
	if (tapq_sh("ip link set %s promisc on", n->name1))
		return -EIO;
	n->promisc = true;
	ret = xdp_attach_redirect(n, target);
	return ret ? ret : xdp_nic_start(n);
}

static void xdp_nic_down(struct xdp_nic *n)
{
	if (n->pkt >= 0)
		close(n->pkt);
	n->pkt = -1;
	if (n->attached)
		bpf_xdp_detach(n->ifindex1, XDP_FLAGS_DRV_MODE, NULL);
	n->attached = false;
	if (n->obj)
		bpf_object__close(n->obj);
	n->obj = NULL;
	if (n->promisc)
		tapq_sh("ip link set %s promisc off", n->name1);
	n->promisc = false;
	if (n->own_veth)
		tapq_sh("ip link del %s 2>/dev/null", n->name0);
	n->own_veth = false;
}

/* Send test frame @seq of @len bytes out of the sending end. */
static int xdp_nic_send(struct xdp_nic *n, size_t len, uint32_t seq)
{
	uint8_t f[1514];

	vtest_frame(f, len, seq, VTEST_ETH_P);
	return vdrv_pkt_send(n->pkt, n->ifindex0, f, len);
}

/* Frame lengths of the tests: 60 to 1514 bytes. */
static size_t xdp_len(uint32_t seq)
{
	return 60 + (seq * 97) % (1514 - 60 + 1);
}

/* Wait until ethtool counter @stat of @dev reaches @want; returns it. */
static long long xdp_wait_stat(const char *dev, const char *stat,
			       long long want)
{
	long deadline = vtest_now_ms() + WAIT_MS;
	long long v;

	for (;;) {
		v = tapq_stat(dev, stat);
		if (v >= want || vtest_now_ms() > deadline)
			return v;
		usleep(10000);
	}
}

/* Read one frame from a non-blocking queue fd within WAIT_MS. */
static ssize_t xdp_read(int fd, void *buf, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	n = read(fd, buf, cap);
	if (n >= 0 || errno != EAGAIN)
		return n < 0 ? -errno : n;
	if (poll(&p, 1, WAIT_MS) != 1)
		return -ETIMEDOUT;
	n = read(fd, buf, cap);
	return n < 0 ? -errno : n;
}

/*
 * Read test frame @seq of @len bytes from @fd, behind a zeroed vnet header
 * of the queue's current size.  Return: NULL, or what was wrong.
 */
static const char *xdp_read_expect(int fd, size_t len, uint32_t seq)
{
	static const uint8_t zero[20];
	static uint8_t buf[sizeof(zero) + 1514 + 64];
	int hs = 0;
	ssize_t n;

	if (ioctl(fd, TUNGETVNETHDRSZ, &hs) || hs < 10 || hs > 20)
		return "TUNGETVNETHDRSZ";
	n = xdp_read(fd, buf, sizeof(buf));
	if (n < 0)
		return strerror(-n);
	if ((size_t)n != hs + len)
		return "frame of the wrong length";
	/* num_buffers (12- and 20-byte headers) is 1, the rest zero */
	if (hs >= 12 && (buf[10] != 1 || buf[11] != 0))
		return "num_buffers not 1";
	if (memcmp(buf, zero, 10) || (hs > 12 && memcmp(buf + 12, zero, hs - 12)))
		return "vnet header not zeroed";
	if (vtest_frame_diff(buf + hs, len, len, seq, VTEST_ETH_P) != -1)
		return "frame with the wrong content";
	return NULL;
}

/* ------------------------------------------------------------------ */
/* A vhost guest (the userspace driver) behind the xtap queue. */

FIXTURE(guest)
{
	struct vtest_env e;
	struct vdrv_config cfg;
	struct xdp_nic nic;
	bool up;
};

FIXTURE_SETUP(guest)
{
	int ret;

	self->cfg = (struct vdrv_config){ .features = VDRV_FEATURES_QEMU };
	self->nic.pkt = -1;
	ret = vtest_env_up(&self->e, VDRV_XTAP, "g", &self->cfg,
			   VTEST_NO_RX_FILL);
	self->up = true;
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->e.what, strerror(-ret));
	ret = xdp_nic_up(&self->nic, "g", self->e.be.ifindex);
	if (ret == -ENODEV) {
		/* veth is a prerequisite, not xtap: skip the test */
		xdp_nic_down(&self->nic);
		vtest_env_down(&self->e);
		SKIP(_exit(255), "no veth: %s", self->nic.what);
	}
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->nic.what, strerror(-ret));
}

FIXTURE_TEARDOWN(guest)
{
	xdp_nic_down(&self->nic);
	if (self->up)
		vtest_env_down(&self->e);
}

/*
 * Frames redirected from @nic reach @e's guest in order, intact, with a
 * zeroed vnet header; every one is counted as xdp_xmit, none as a drop,
 * and the RX worker delivered them in batches.
 */
static void guest_receives_redirected(struct __test_metadata *_metadata,
				      struct vtest_env *e, struct xdp_nic *nic,
				      unsigned int rounds)
{
	const char *dev = e->be.ifname;
	long long xmit0, drops0, bf0, b0, b1;
	const unsigned int per = 48;
	uint8_t r[1514 + 64];
	struct vdrv_rx_info info;
	unsigned int i, k;
	uint32_t seq;
	int ret;

	ASSERT_LE(0, vtest_rx_refill(e));
	xmit0 = tapq_stat(dev, "xdp_xmit");
	drops0 = tapq_stat(dev, "xdp_xmit_drops");
	bf0 = tapq_stat(dev, "tx_batch_frames");
	b0 = tapq_stat(dev, "tx_batches");
	ASSERT_LE(0, xmit0);
	ASSERT_LE(0, drops0);
	ASSERT_LE(0, bf0);

	for (k = 0; k < rounds; k++) {
		/* a round fits the guest's buffers: nothing can be dropped */
		for (i = 0; i < per; i++) {
			seq = k * per + i;
			ASSERT_EQ(0, xdp_nic_send(nic, xdp_len(seq), seq));
		}
		for (i = 0; i < per; i++) {
			seq = k * per + i;
			ret = vtest_guest_recv(e, r, sizeof(r), &info, WAIT_MS);
			ASSERT_EQ(0, vtest_check_frame(e, r, ret, xdp_len(seq),
						       seq))
				TH_LOG("frame %u: %s", seq, e->what);
			EXPECT_EQ(0, info.hdr.hdr.flags);
			EXPECT_EQ(VIRTIO_NET_HDR_GSO_NONE, info.hdr.hdr.gso_type);
			EXPECT_EQ(0, info.hdr.hdr.csum_start);
			EXPECT_EQ(0, info.hdr.hdr.gso_size);
			EXPECT_EQ(1U, info.nbufs);
		}
	}
	EXPECT_EQ(xmit0 + rounds * per, tapq_stat(dev, "xdp_xmit"));
	EXPECT_EQ(drops0, tapq_stat(dev, "xdp_xmit_drops"));
	EXPECT_EQ(bf0 + rounds * per, tapq_stat(dev, "tx_batch_frames"));
	b1 = tapq_stat(dev, "tx_batches");
	EXPECT_LT(b0, b1);
	EXPECT_GE(b0 + rounds * per, b1);
	EXPECT_LE(1, tapq_stat(dev, "tx_batch_avg"));
}

/* veth -> xtap -> guest, then the queue's own stack traffic still
 * arrives next to the redirected frames.
 */
TEST_F_TIMEOUT(guest, veth_redirect_to_guest, 120)
{
	guest_receives_redirected(_metadata, &self->e, &self->nic, 4);
	ASSERT_EQ(0, vtest_rx_sync(&self->e, WAIT_MS))
		TH_LOG("%s", self->e.what);
}

/* NIC -> xtap -> guest: frames sent out of the first hub NIC arrive on
 * the second (virtio_net), whose program redirects them into xtap.
 */
TEST_F_TIMEOUT(guest, nic_redirect_to_guest, 120)
{
	struct xdp_nic hub;
	int ret;

	/* only one program may redirect into the device at a time */
	xdp_nic_down(&self->nic);
	ret = xdp_hub_up(&hub, self->e.be.ifindex);
	if (ret == -ENODEV) {
		xdp_nic_down(&hub);
		SKIP(return, "no %s (vm/run.sh provides them)", hub.what);
	}
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", hub.what, strerror(-ret));
	guest_receives_redirected(_metadata, &self->e, &hub, 2);
	xdp_nic_down(&hub);
}

/*
 * Detaching the vhost backend while xdp_frames wait in the ring (and in the
 * RX worker's hands: the guest has no buffers) gives every one back, once:
 * a plain read() then gets them all, in order.  Deleting the device with
 * frames in the ring frees them (read() sees the device gone), and the
 * module unloads cleanly afterwards.
 */
TEST_F_TIMEOUT(guest, teardown_with_frames_in_ring, 120)
{
	char dev[IFNAMSIZ];
	const unsigned int n = 40;
	long long xmit0;
	uint8_t buf[64];
	const char *why;
	unsigned int i;
	int fd = self->e.be.tap_fd;
	char *ko = getenv("XTAP_KO");

	snprintf(dev, sizeof(dev), "%s", self->e.be.ifname);
	xmit0 = tapq_stat(dev, "xdp_xmit");
	ASSERT_LE(0, xmit0);
	/* the guest has posted no buffers: the frames stay in the ring */
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, xdp_nic_send(&self->nic, xdp_len(i), i));
	ASSERT_EQ(xmit0 + n, xdp_wait_stat(dev, "xdp_xmit", xmit0 + n));
	usleep(100000);

	ASSERT_EQ(0, vdrv_detach(&self->e.d)) TH_LOG("%s", self->e.d.err_op);
	ASSERT_EQ(0, fcntl(fd, F_SETFL, O_NONBLOCK));
	for (i = 0; i < n; i++) {
		why = xdp_read_expect(fd, xdp_len(i), i);
		ASSERT_EQ(NULL, why) TH_LOG("frame %u: %s", i, why);
	}
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);

	/* frames in the ring of a device that is deleted */
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, xdp_nic_send(&self->nic, xdp_len(i), 100 + i));
	ASSERT_EQ(xmit0 + 2 * n,
		  xdp_wait_stat(dev, "xdp_xmit", xmit0 + 2 * n));
	xdp_nic_down(&self->nic);
	ASSERT_EQ(0, vdrv_rtnl_dellink(self->e.be.ifindex));
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EBADFD, errno);
	vtest_env_down(&self->e);
	self->up = false;

	/* nothing left that pins the module or was freed twice */
	if (!ko)
		SKIP(return, "XTAP_KO not set: module unload not tried");
	EXPECT_EQ(0, tapq_sh("rmmod xtap"));
	EXPECT_EQ(0, tapq_sh("insmod %s dyndbg=+p", ko));
}

/* ------------------------------------------------------------------ */
/* Guest to guest: a program on the first xtap device redirects what its
 * guest sends into the second device, whose guest receives it.
 */

FIXTURE(g2g)
{
	struct vtest_env a;
	struct vtest_env b;
	struct vdrv_config cfg;
	struct xdp_nic nic;
	bool up_a;
	bool up_b;
};

FIXTURE_SETUP(g2g)
{
	int ret;

	self->cfg = (struct vdrv_config){ .features = VDRV_FEATURES_QEMU };
	self->nic.pkt = -1;
	ret = vtest_env_up(&self->a, VDRV_XTAP, "ga", &self->cfg, 0);
	self->up_a = true;
	ASSERT_EQ(0, ret) TH_LOG("A %s: %s", self->a.what, strerror(-ret));
	ret = vtest_env_up(&self->b, VDRV_XTAP, "gb", &self->cfg, 0);
	self->up_b = true;
	ASSERT_EQ(0, ret) TH_LOG("B %s: %s", self->b.what, strerror(-ret));
	/* the program runs natively on xtap A (its ndo_bpf) */
	self->nic.ifindex1 = self->a.be.ifindex;
	ret = xdp_attach_redirect(&self->nic, self->b.be.ifindex);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->nic.what, strerror(-ret));
}

FIXTURE_TEARDOWN(g2g)
{
	xdp_nic_down(&self->nic);
	if (self->up_b)
		vtest_env_down(&self->b);
	if (self->up_a)
		vtest_env_down(&self->a);
}

/* What guest A sends reaches guest B, in order and intact, without going
 * through any stack: A counts the redirects, B the xdp_xmit frames.
 */
TEST_F_TIMEOUT(g2g, guest_to_guest_redirect, 120)
{
	long long redir0, xmit0, drops0, rx0;
	const unsigned int rounds = 3, per = 48;
	uint8_t f[1514], r[1514 + 64];
	struct vdrv_rx_info info;
	unsigned int i, k;
	uint32_t seq;
	int ret;

	redir0 = tapq_stat(self->a.be.ifname, "xdp_redirect");
	rx0 = tapq_sysfs_long(self->a.be.ifname, "statistics/rx_packets");
	xmit0 = tapq_stat(self->b.be.ifname, "xdp_xmit");
	drops0 = tapq_stat(self->b.be.ifname, "xdp_xmit_drops");
	ASSERT_LE(0, redir0);
	ASSERT_LE(0, rx0);
	ASSERT_LE(0, xmit0);
	for (k = 0; k < rounds; k++) {
		for (i = 0; i < per; i++) {
			seq = k * per + i;
			vtest_frame(f, xdp_len(seq), seq, VTEST_ETH_P);
			ASSERT_EQ(0, vtest_guest_send(&self->a, f, xdp_len(seq),
						      i == per - 1, WAIT_MS));
		}
		ASSERT_EQ(0, vtest_tx_drain(&self->a, WAIT_MS));
		for (i = 0; i < per; i++) {
			seq = k * per + i;
			ret = vtest_guest_recv(&self->b, r, sizeof(r), &info,
					       WAIT_MS);
			ASSERT_EQ(0, vtest_check_frame(&self->b, r, ret,
						       xdp_len(seq), seq))
				TH_LOG("frame %u: %s", seq, self->b.what);
			EXPECT_EQ(0, info.hdr.hdr.flags);
			EXPECT_EQ(VIRTIO_NET_HDR_GSO_NONE, info.hdr.hdr.gso_type);
		}
	}
	EXPECT_EQ(redir0 + rounds * per,
		  tapq_stat(self->a.be.ifname, "xdp_redirect"));
	EXPECT_EQ(rx0, tapq_sysfs_long(self->a.be.ifname,
				       "statistics/rx_packets"));
	EXPECT_EQ(xmit0 + rounds * per,
		  tapq_stat(self->b.be.ifname, "xdp_xmit"));
	EXPECT_EQ(drops0, tapq_stat(self->b.be.ifname, "xdp_xmit_drops"));
}

/* ------------------------------------------------------------------ */
/* A plain read() user of the queue (no vhost). */

FIXTURE(reader)
{
	char name[IFNAMSIZ];
	int ifindex;
	int fd;
	struct xdp_nic nic;
};

/* The ring holds 16 frames (txqueuelen 16). */
#define SMALL_RING	16

FIXTURE_SETUP(reader)
{
	int ret;

	self->fd = -1;
	self->nic.pkt = -1;
	tapq_name(self->name, "x");
	self->ifindex = tapq_dev_create(self->name, 1, SMALL_RING);
	ASSERT_LT(0, self->ifindex) TH_LOG("cannot create %s", self->name);
	self->fd = tapq_open(self->ifindex, O_NONBLOCK);
	ASSERT_LE(0, self->fd);
	ret = xdp_nic_up(&self->nic, "r", self->ifindex);
	if (ret == -ENODEV) {
		xdp_nic_down(&self->nic);
		close(self->fd);
		tapq_dev_delete(self->name);
		SKIP(_exit(255), "no veth: %s", self->nic.what);
	}
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", self->nic.what, strerror(-ret));
}

FIXTURE_TEARDOWN(reader)
{
	xdp_nic_down(&self->nic);
	if (self->fd >= 0)
		close(self->fd);
	tapq_dev_delete(self->name);
}

/* read() gets redirected frames too: a zeroed header, then the frame. */
TEST_F_TIMEOUT(reader, veth_redirect_to_read, 60)
{
	long long xmit0 = tapq_stat(self->name, "xdp_xmit");
	long pkts0 = tapq_sysfs_long(self->name, "statistics/tx_packets");
	const char *why;
	uint32_t seq;

	ASSERT_LE(0, xmit0);
	for (seq = 0; seq < 100; seq++) {
		ASSERT_EQ(0, xdp_nic_send(&self->nic, xdp_len(seq), seq));
		why = xdp_read_expect(self->fd, xdp_len(seq), seq);
		ASSERT_EQ(NULL, why) TH_LOG("frame %u: %s", seq, why);
	}
	EXPECT_EQ(xmit0 + 100, tapq_stat(self->name, "xdp_xmit"));
	ASSERT_LE(0, pkts0);
	EXPECT_EQ(pkts0 + 100,
		  tapq_sysfs_long(self->name, "statistics/tx_packets"));
	EXPECT_EQ(0, tapq_stat(self->name, "xdp_xmit_drops"));
}

/*
 * A full ring drops what does not fit and counts it; the frames in the
 * ring are intact and in order, and once read the queue takes frames
 * again.
 */
TEST_F_TIMEOUT(reader, full_ring_drops_and_recovers, 60)
{
	const unsigned int extra = 8, more = 4;
	long long xmit0, drops0;
	uint8_t buf[64];
	const char *why;
	uint32_t seq;

	xmit0 = tapq_stat(self->name, "xdp_xmit");
	drops0 = tapq_stat(self->name, "xdp_xmit_drops");
	ASSERT_LE(0, xmit0);
	ASSERT_LE(0, drops0);
	for (seq = 0; seq < SMALL_RING + extra; seq++)
		ASSERT_EQ(0, xdp_nic_send(&self->nic, xdp_len(seq), seq));
	ASSERT_EQ(drops0 + extra,
		  xdp_wait_stat(self->name, "xdp_xmit_drops", drops0 + extra));
	EXPECT_EQ(xmit0 + SMALL_RING, tapq_stat(self->name, "xdp_xmit"));
	EXPECT_LE(drops0 + extra, tapq_sysfs_long(self->name,
						  "statistics/tx_dropped"));

	for (seq = 0; seq < SMALL_RING; seq++) {
		why = xdp_read_expect(self->fd, xdp_len(seq), seq);
		ASSERT_EQ(NULL, why) TH_LOG("frame %u: %s", seq, why);
	}
	EXPECT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);

	/* recovered: new frames are taken again */
	for (seq = 1000; seq < 1000 + more; seq++)
		ASSERT_EQ(0, xdp_nic_send(&self->nic, xdp_len(seq), seq));
	for (seq = 1000; seq < 1000 + more; seq++) {
		why = xdp_read_expect(self->fd, xdp_len(seq), seq);
		ASSERT_EQ(NULL, why) TH_LOG("frame %u: %s", seq, why);
	}
	EXPECT_EQ(xmit0 + SMALL_RING + more, tapq_stat(self->name, "xdp_xmit"));
	EXPECT_EQ(drops0 + extra, tapq_stat(self->name, "xdp_xmit_drops"));
}

/* Closing the queue with frames in the ring frees them, counted. */
TEST_F_TIMEOUT(reader, close_with_frames_in_ring, 60)
{
	long long det0 = tapq_stat(self->name, "tx_drop_detached");
	uint32_t seq;

	ASSERT_LE(0, det0);
	for (seq = 0; seq < SMALL_RING; seq++)
		ASSERT_EQ(0, xdp_nic_send(&self->nic, xdp_len(seq), seq));
	ASSERT_EQ(SMALL_RING,
		  xdp_wait_stat(self->name, "xdp_xmit", SMALL_RING));
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(det0 + SMALL_RING,
		  tapq_stat(self->name, "tx_drop_detached"));
	/* no queue: the redirected frames are dropped and counted */
	ASSERT_EQ(0, xdp_nic_send(&self->nic, 100, 99));
	EXPECT_EQ(1, xdp_wait_stat(self->name, "xdp_xmit_drops", 1));
}

XTEST_HARNESS_MAIN
