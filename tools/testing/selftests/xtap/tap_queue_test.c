// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * The queue node /dev/xtap<ifindex>: QEMU's exact ioctl sequence on a tap
 * fd, every ioctl's error cases, the queue limit, carrier, nonblocking and
 * blocking reads, poll, frames both ways through the host stack, and
 * deleting the device under open fds.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "tapq.h"
#include "kselftest_harness.h"
#include "xtest.h"

#define HDR10	((int)sizeof(struct virtio_net_hdr))
#define HDR12	((int)sizeof(struct virtio_net_hdr_mrg_rxbuf))

static int ioctl_int(int fd, unsigned long cmd, int val)
{
	return ioctl(fd, cmd, &val);
}

static int get_flags(int fd, char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr))
		return -1;
	if (name)
		strcpy(name, ifr.ifr_name);
	return (unsigned short)ifr.ifr_flags;
}

static int set_queue(int fd, int flags)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = flags;
	return ioctl(fd, TUNSETQUEUE, &ifr);
}

/* An ARP request from the peer for TAPQ_HOST_IP. */
static size_t arp_request(uint8_t *f)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t off = tapq_eth(f, bcast, tapq_peer_mac, ETH_P_ARP);
	uint8_t *a = f + off;

	memset(a, 0, 28);
	a[1] = 1;		/* Ethernet */
	a[2] = 0x08;		/* IPv4 */
	a[4] = 6;
	a[5] = 4;
	a[7] = 1;		/* request */
	memcpy(a + 8, tapq_peer_mac, 6);
	inet_pton(AF_INET, TAPQ_PEER_IP, a + 14);
	inet_pton(AF_INET, TAPQ_HOST_IP, a + 24);
	return off + 28;
}

/* Read until an ARP reply; check it answers arp_request(). */
static int read_arp_reply(int fd, int hdr_sz, struct tapq_frame *f,
			  const uint8_t *devmac)
{
	uint8_t ip[4];
	int i;

	for (i = 0; i < 20; i++) {
		if (tapq_read(fd, hdr_sz, f, 5000) <= 0)
			return -1;
		if (f->len < 42 || f->data[12] != 0x08 || f->data[13] != 0x06)
			continue;
		if (f->data[21] != 2)		/* reply */
			return -2;
		if (memcmp(f->data, tapq_peer_mac, 6) ||
		    memcmp(f->data + 22, devmac, 6))
			return -3;
		inet_pton(AF_INET, TAPQ_HOST_IP, ip);
		if (memcmp(f->data + 28, ip, 4))
			return -4;
		return 0;
	}
	return -5;
}

FIXTURE(tq) {
	char name[IFNAMSIZ];
	int ifindex;
	int fd;
	uint8_t mac[6];
	struct tapq_frame f;
};

FIXTURE_SETUP(tq)
{
	tapq_name(self->name, "q");
	self->fd = -1;
	self->ifindex = tapq_dev_create(self->name, 1, 1000);
	ASSERT_LT(0, self->ifindex);
	ASSERT_EQ(0, tapq_dev_mac(self->name, self->mac));
	self->fd = tapq_open(self->ifindex, O_NONBLOCK);
	ASSERT_LE(0, self->fd) TH_LOG("open queue node: %m");
	ASSERT_EQ(0, tapq_wait_up(self->name, self->fd));
}

FIXTURE_TEARDOWN(tq)
{
	if (self->fd >= 0)
		close(self->fd);
	tapq_dev_delete(self->name);
}

TEST_F(tq, node_is_a_0600_char_device)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/xtap%d", self->ifindex);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600U, st.st_mode & 07777);
	EXPECT_NE(10U, major(st.st_rdev));	/* not a misc device */
}

/* shared/QEMU-ABI.md section 1.2, steps 1 to 10, on a passed-in fd. */
TEST_F(tq, qemu_fd_sequence)
{
	char name[IFNAMSIZ];
	int fd = self->fd, fl, orig, len, i;
	uint8_t frame[64];
	size_t flen;

	/* 1. nonblocking */
	fl = fcntl(fd, F_GETFL);
	ASSERT_LE(0, fl);
	ASSERT_EQ(0, fcntl(fd, F_SETFL, fl | O_NONBLOCK));

	/* 2. TUNGETIFF: only IFF_VNET_HDR is used */
	fl = get_flags(fd, name);
	ASSERT_LE(0, fl);
	EXPECT_EQ(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE, fl);
	EXPECT_STREQ(self->name, name);

	/* 3. UFO probe, offload probe and set, header length probe */
	EXPECT_EQ(0, ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_UFO));
	EXPECT_EQ(0, ioctl(fd, TUNSETOFFLOAD, 0));
	EXPECT_EQ(0, ioctl(fd, TUNSETOFFLOAD, 0));
	ASSERT_EQ(0, ioctl(fd, TUNGETVNETHDRSZ, &orig));
	EXPECT_EQ(HDR10, orig);
	EXPECT_EQ(0, ioctl_int(fd, TUNSETVNETHDRSZ, HDR10));
	EXPECT_EQ(0, ioctl_int(fd, TUNSETVNETHDRSZ, orig));
	EXPECT_EQ(0, ioctl_int(fd, TUNSETVNETHDRSZ, HDR10));

	/* 4. send buffer */
	EXPECT_EQ(0, ioctl_int(fd, TUNSETSNDBUF, 0x7fffffff));

	/* 5. vhost_net_init's probe for 12 */
	ASSERT_EQ(0, ioctl(fd, TUNGETVNETHDRSZ, &orig));
	EXPECT_EQ(0, ioctl_int(fd, TUNSETVNETHDRSZ, HDR12));
	EXPECT_EQ(0, ioctl_int(fd, TUNSETVNETHDRSZ, orig));

	/* 6. realize and reset */
	ASSERT_EQ(0, ioctl(fd, TUNGETVNETHDRSZ, &orig));
	EXPECT_EQ(0, ioctl_int(fd, TUNSETVNETHDRSZ, HDR10));
	EXPECT_EQ(0, ioctl_int(fd, TUNSETVNETHDRSZ, orig));
	EXPECT_EQ(0, ioctl_int(fd, TUNSETVNETHDRSZ, HDR10));
	EXPECT_EQ(0, ioctl(fd, TUNSETOFFLOAD, 0));
	EXPECT_EQ(0, ioctl(fd, TUNSETOFFLOAD, 0));

	/* 7. FEATURES_OK: 12-byte header, all offloads */
	ASSERT_EQ(0, ioctl(fd, TUNGETVNETHDRSZ, &orig));
	EXPECT_EQ(0, ioctl_int(fd, TUNSETVNETHDRSZ, HDR12));
	EXPECT_EQ(0, ioctl_int(fd, TUNSETVNETHDRSZ, orig));
	EXPECT_EQ(0, ioctl_int(fd, TUNSETVNETHDRSZ, HDR12));
	EXPECT_EQ(0, ioctl(fd, TUNSETOFFLOAD, 0));
	EXPECT_EQ(0, ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 |
			   TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_UFO));
	EXPECT_EQ(1, tapq_feature(self->name, ETHTOOL_GTSO));
	EXPECT_EQ(1, tapq_feature(self->name, ETHTOOL_GTXCSUM));
	ASSERT_EQ(0, ioctl(fd, TUNGETVNETHDRSZ, &len));
	EXPECT_EQ(HDR12, len);

	/* The datapath with a 12-byte header: ARP in, reply with num_buffers 1. */
	tapq_drain(fd);
	flen = arp_request(frame);
	ASSERT_EQ(HDR12 + (ssize_t)flen, tapq_write(fd, HDR12, NULL, frame, flen));
	ASSERT_EQ(0, read_arp_reply(fd, HDR12, &self->f, self->mac));
	EXPECT_EQ(1, self->f.vh.num_buffers);

	/* 8. no TUNSETVNETLE on an LE host; if asked, EINVAL = unsupported */
	errno = 0;
	EXPECT_EQ(-1, ioctl_int(fd, TUNSETVNETLE, 1));
	EXPECT_EQ(EINVAL, errno);

	/* 9. reset / power-off */
	EXPECT_EQ(0, ioctl_int(fd, TUNSETVNETHDRSZ, HDR10));
	EXPECT_EQ(0, ioctl(fd, TUNSETOFFLOAD, 0));
	EXPECT_EQ(0, ioctl(fd, TUNSETOFFLOAD, 0));
	EXPECT_EQ(0, tapq_feature(self->name, ETHTOOL_GTSO));
	EXPECT_EQ(0, tapq_feature(self->name, ETHTOOL_GTXCSUM));

	/* Multiqueue extras QEMU issues: detach/attach and steering off. */
	EXPECT_EQ(0, set_queue(fd, IFF_DETACH_QUEUE));
	EXPECT_EQ(0, set_queue(fd, IFF_ATTACH_QUEUE));
	EXPECT_EQ(0, ioctl_int(fd, TUNSETSTEERINGEBPF, -1));

	/* 10. close: the queue goes away with it */
	EXPECT_EQ(1, tapq_sysfs_long(self->name, "carrier"));
	close(fd);
	self->fd = -1;
	for (i = 0; i < 50 && tapq_sysfs_long(self->name, "carrier") != 0; i++)
		usleep(100000);
	EXPECT_EQ(0, tapq_sysfs_long(self->name, "carrier"));
}

TEST_F(tq, get_features)
{
	unsigned int feat = 0;

	ASSERT_EQ(0, ioctl(self->fd, TUNGETFEATURES, &feat));
	EXPECT_EQ(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE, (int)feat);
}

TEST_F(tq, bad_pointers_efault)
{
	void *bad = (void *)8;
	int fd = self->fd;
	unsigned long cmds[] = {
		TUNGETFEATURES, TUNSETIFF, TUNGETIFF, TUNSETQUEUE,
		TUNGETVNETHDRSZ, TUNSETVNETHDRSZ, TUNGETSNDBUF, TUNSETSNDBUF,
		TUNSETSTEERINGEBPF,
	};
	unsigned int i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(fd, cmds[i], bad));
		EXPECT_EQ(EFAULT, errno) TH_LOG("ioctl %#lx", cmds[i]);
	}
	/* Nothing changed. */
	EXPECT_EQ(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE,
		  get_flags(fd, NULL));
}

TEST_F(tq, bad_values_einval)
{
	int fd = self->fd, bad_sz[] = { -1, 0, 8, 9, 11, 13, 16, 19, 21, 64 };
	struct ifreq ifr;
	unsigned int i;
	int v;

	for (i = 0; i < sizeof(bad_sz) / sizeof(bad_sz[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl_int(fd, TUNSETVNETHDRSZ, bad_sz[i]));
		EXPECT_EQ(EINVAL, errno) TH_LOG("size %d", bad_sz[i]);
	}
	ASSERT_EQ(0, ioctl(fd, TUNGETVNETHDRSZ, &v));
	EXPECT_EQ(HDR10, v);
	EXPECT_EQ(0, ioctl_int(fd, TUNSETVNETHDRSZ, 20));
	EXPECT_EQ(0, ioctl(fd, TUNGETVNETHDRSZ, &v));
	EXPECT_EQ(20, v);

	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, TUNSETOFFLOAD, 0x20));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, TUNSETOFFLOAD, ~0UL));
	EXPECT_EQ(EINVAL, errno);

	errno = 0;
	EXPECT_EQ(-1, ioctl_int(fd, TUNSETSNDBUF, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl_int(fd, TUNSETSNDBUF, -5));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, ioctl_int(fd, TUNSETSNDBUF, 4096));
	EXPECT_EQ(0, ioctl(fd, TUNGETSNDBUF, &v));
	EXPECT_EQ(4096, v);

	EXPECT_EQ(-1, set_queue(fd, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_queue(fd, IFF_ATTACH_QUEUE | IFF_DETACH_QUEUE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_queue(fd, IFF_TAP));
	EXPECT_EQ(EINVAL, errno);

	errno = 0;
	EXPECT_EQ(-1, ioctl_int(fd, TUNSETSTEERINGEBPF, 3));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, ioctl_int(fd, TUNSETSTEERINGEBPF, -1));

	/* Endianness: "unsupported" is EINVAL, set or get. */
	errno = 0;
	EXPECT_EQ(-1, ioctl_int(fd, TUNSETVNETBE, 1));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, TUNGETVNETLE, &v));
	EXPECT_EQ(EINVAL, errno);

	/* TUNSETIFF: a tun, no IFF_NO_PI, unknown flags, another name. */
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	EXPECT_EQ(-1, ioctl(fd, TUNSETIFF, &ifr));
	EXPECT_EQ(EINVAL, errno);
	ifr.ifr_flags = IFF_TAP | IFF_VNET_HDR;
	EXPECT_EQ(-1, ioctl(fd, TUNSETIFF, &ifr));
	EXPECT_EQ(EINVAL, errno);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_NAPI;
	EXPECT_EQ(-1, ioctl(fd, TUNSETIFF, &ifr));
	EXPECT_EQ(EINVAL, errno);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	strcpy(ifr.ifr_name, "notthisone");
	EXPECT_EQ(-1, ioctl(fd, TUNSETIFF, &ifr));
	EXPECT_EQ(EINVAL, errno);
	/* Nothing changed. */
	EXPECT_EQ(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE,
		  get_flags(fd, NULL));
}

TEST_F(tq, unknown_ioctls_enotty)
{
	unsigned long cmds[] = {
		TUNSETPERSIST, TUNSETOWNER, TUNSETGROUP, TUNSETLINK,
		TUNSETDEBUG, TUNSETNOCSUM, TUNSETTXFILTER, TUNATTACHFILTER,
		TUNDETACHFILTER, TUNGETFILTER, TUNSETIFINDEX,
		TUNSETFILTEREBPF, TUNSETCARRIER, TUNGETDEVNETNS,
		SIOCGIFHWADDR, SIOCSIFHWADDR, _IOR('T', 250, int), FIONREAD,
	};
	char buf[256] = {};
	unsigned int i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, cmds[i], buf));
		EXPECT_EQ(ENOTTY, errno) TH_LOG("ioctl %#lx", cmds[i]);
	}
}

TEST_F(tq, setiff_changes_only_vnet_hdr_and_mq)
{
	struct ifreq ifr;
	uint8_t frame[64];
	size_t flen;

	/* Without a vnet header: frames are bare. */
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_ONE_QUEUE;
	ASSERT_EQ(0, ioctl(self->fd, TUNSETIFF, &ifr));
	EXPECT_STREQ(self->name, ifr.ifr_name);
	EXPECT_EQ(IFF_TAP | IFF_NO_PI, get_flags(self->fd, NULL));

	tapq_drain(self->fd);
	flen = arp_request(frame);
	ASSERT_EQ((ssize_t)flen, tapq_write(self->fd, 0, NULL, frame, flen));
	ASSERT_EQ(0, read_arp_reply(self->fd, 0, &self->f, self->mac));
	EXPECT_EQ(42U, self->f.len);

	/* Back, with the name given explicitly. */
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, self->name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
	ASSERT_EQ(0, ioctl(self->fd, TUNSETIFF, &ifr));
	EXPECT_EQ(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE,
		  get_flags(self->fd, NULL));
	ASSERT_EQ(HDR10 + (ssize_t)flen, tapq_write(self->fd, HDR10, NULL,
						     frame, flen));
	ASSERT_EQ(0, read_arp_reply(self->fd, HDR10, &self->f, self->mac));
}

TEST_F(tq, carrier_follows_attached_queues)
{
	EXPECT_EQ(1, tapq_sysfs_long(self->name, "carrier"));
	EXPECT_EQ(0, set_queue(self->fd, IFF_DETACH_QUEUE));
	EXPECT_EQ(0, tapq_sysfs_long(self->name, "carrier"));
	/* As tun: detaching a detached queue is EINVAL (QEMU never does). */
	errno = 0;
	EXPECT_EQ(-1, set_queue(self->fd, IFF_DETACH_QUEUE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, tapq_sysfs_long(self->name, "carrier"));
	EXPECT_EQ(0, set_queue(self->fd, IFF_ATTACH_QUEUE));
	EXPECT_EQ(1, tapq_sysfs_long(self->name, "carrier"));
	/* ... and so is attaching an attached one. */
	errno = 0;
	EXPECT_EQ(-1, set_queue(self->fd, IFF_ATTACH_QUEUE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, tapq_sysfs_long(self->name, "carrier"));
}

TEST_F(tq, eagain_and_poll)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN | POLLOUT };
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons(4242) };
	const char msg[] = "hello through xtap";
	char buf[2048];
	const uint8_t *iph;
	int s;

	tapq_drain(self->fd);
	errno = 0;
	EXPECT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLOUT, pfd.revents);

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, s);
	inet_pton(AF_INET, TAPQ_PEER_IP, &dst.sin_addr);
	ASSERT_EQ((ssize_t)sizeof(msg),
		  sendto(s, msg, sizeof(msg), 0, (void *)&dst, sizeof(dst)));
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	EXPECT_EQ(POLLIN | POLLOUT, pfd.revents);
	iph = tapq_read_ipv4(self->fd, HDR10, &self->f, IPPROTO_UDP, 5000);
	ASSERT_NE(NULL, iph);
	EXPECT_EQ(0, memcmp(iph + 28, msg, sizeof(msg)));
	EXPECT_EQ(0, memcmp(self->f.data, tapq_peer_mac, 6));
	EXPECT_EQ(0, memcmp(self->f.data + 6, self->mac, 6));
	EXPECT_TRUE(tapq_ipv4_valid(iph, self->f.len - 14));
	/* Nothing else is waiting. */
	errno = 0;
	EXPECT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLOUT, pfd.revents);
	/* A zero-length read consumes nothing. */
	EXPECT_EQ(0, read(self->fd, buf, 0));
	close(s);
}

static void on_alarm(int sig)
{
}

struct sender {
	int count;
	uint16_t port;
	int delay_ms;
};

static void *send_udp(void *arg)
{
	struct sender *sd = arg;
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons(sd->port) };
	char msg[64];
	int s, i;

	usleep(sd->delay_ms * 1000);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, TAPQ_PEER_IP, &dst.sin_addr);
	for (i = 0; i < sd->count; i++) {
		snprintf(msg, sizeof(msg), "msg %d", i);
		sendto(s, msg, sizeof(msg), 0, (void *)&dst, sizeof(dst));
	}
	close(s);
	return NULL;
}

TEST_F(tq, blocking_read_sleeps_until_a_frame_or_signal)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct sender sd = { .count = 1, .port = 4243, .delay_ms = 300 };
	struct iovec iov[2];
	uint8_t hdr[HDR10];
	pthread_t t;
	ssize_t n;

	tapq_drain(self->fd);
	ASSERT_EQ(0, tapq_set_nonblock(self->fd, 0));

	/* A signal without SA_RESTART ends the wait with EINTR. */
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	alarm(1);
	errno = 0;
	EXPECT_EQ(-1, read(self->fd, self->f.data, sizeof(self->f.data)));
	EXPECT_EQ(EINTR, errno);

	/* A frame arriving later ends the wait. */
	ASSERT_EQ(0, pthread_create(&t, NULL, send_udp, &sd));
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = self->f.data;
	iov[1].iov_len = sizeof(self->f.data);
	for (;;) {
		n = readv(self->fd, iov, 2);
		ASSERT_LT(HDR10, n);
		self->f.len = n - HDR10;
		if (tapq_ipv4(&self->f, IPPROTO_UDP))
			break;
	}
	pthread_join(t, NULL);
	EXPECT_EQ(0, strcmp((char *)self->f.data + 42, "msg 0"));
}

TEST_F(tq, arp_and_icmp_echo_answered_by_the_host)
{
	uint8_t frame[256], *iph, *icmp;
	const uint8_t *r;
	size_t off, flen, plen = 100;
	long long rx0, tx0;
	uint16_t c;

	tapq_drain(self->fd);
	rx0 = tapq_sysfs_long(self->name, "statistics/rx_packets");
	tx0 = tapq_sysfs_long(self->name, "statistics/tx_packets");

	flen = arp_request(frame);
	ASSERT_EQ(HDR10 + (ssize_t)flen, tapq_write(self->fd, HDR10, NULL,
						     frame, flen));
	ASSERT_EQ(0, read_arp_reply(self->fd, HDR10, &self->f, self->mac));

	/* ICMP echo request with a 100-byte pattern. */
	off = tapq_eth(frame, self->mac, tapq_peer_mac, ETH_P_IP);
	iph = frame + off;
	off += tapq_ip(iph, TAPQ_PEER_IP, TAPQ_HOST_IP, IPPROTO_ICMP,
		       8 + plen, 7);
	icmp = frame + off;
	memset(icmp, 0, 8);
	icmp[0] = 8;
	icmp[4] = 0x12;		/* id */
	icmp[5] = 0x34;
	icmp[7] = 5;		/* seq */
	tapq_pattern(icmp + 8, plen, 99);
	c = htons(~tapq_fold(tapq_sum(icmp, 8 + plen, 0)) & 0xffff);
	memcpy(icmp + 2, &c, 2);
	flen = off + 8 + plen;
	ASSERT_EQ(HDR10 + (ssize_t)flen, tapq_write(self->fd, HDR10, NULL,
						     frame, flen));

	r = tapq_read_ipv4(self->fd, HDR10, &self->f, IPPROTO_ICMP, 5000);
	ASSERT_NE(NULL, r);
	EXPECT_TRUE(tapq_ipv4_valid(r, self->f.len - 14));
	EXPECT_EQ(0, r[20]);			/* echo reply */
	EXPECT_EQ(0, memcmp(r + 24, icmp + 4, 4));	/* id, seq */
	EXPECT_EQ(0, memcmp(r + 28, icmp + 8, plen));
	EXPECT_EQ(0, memcmp(r + 12, iph + 16, 4));	/* from the host */

	EXPECT_EQ(rx0 + 2, tapq_sysfs_long(self->name, "statistics/rx_packets"));
	EXPECT_LE(tx0 + 2, tapq_sysfs_long(self->name, "statistics/tx_packets"));
	EXPECT_EQ(0, tapq_stat(self->name, "rx_drop_malformed"));
}

TEST_F(tq, udp_both_ways_with_payload)
{
	struct sockaddr_in dst = { .sin_family = AF_INET }, from;
	socklen_t fl = sizeof(from);
	uint8_t frame[2048], buf[2048], want[1400];
	const uint8_t *iph;
	size_t flen;
	int s;

	tapq_drain(self->fd);
	s = tapq_udp_sock(5555);
	ASSERT_LE(0, s);

	/* Guest -> host socket: 1400-byte pattern. */
	flen = tapq_udp_frame(frame, self->mac, TAPQ_HOST_IP, 6666, 5555,
			      1400, 11);
	ASSERT_EQ(HDR10 + (ssize_t)flen, tapq_write(self->fd, HDR10, NULL,
						     frame, flen));
	ASSERT_EQ(1400, recvfrom(s, buf, sizeof(buf), 0, (void *)&from, &fl));
	tapq_pattern(want, 1400, 11);
	EXPECT_EQ(0, memcmp(buf, want, 1400));
	EXPECT_EQ(htons(6666), from.sin_port);

	/* Host socket -> guest: the reply, read from the fd. */
	tapq_pattern(want, 1000, 12);
	dst.sin_port = htons(6666);
	inet_pton(AF_INET, TAPQ_PEER_IP, &dst.sin_addr);
	ASSERT_EQ(1000, sendto(s, want, 1000, 0, (void *)&dst, sizeof(dst)));
	iph = tapq_read_ipv4(self->fd, HDR10, &self->f, IPPROTO_UDP, 5000);
	ASSERT_NE(NULL, iph);
	EXPECT_EQ(14U + 20 + 8 + 1000, self->f.len);
	EXPECT_TRUE(tapq_ipv4_valid(iph, self->f.len - 14));
	EXPECT_EQ(0, memcmp(iph + 28, want, 1000));
	/* Offloads off: no checksum or GSO work left for the reader. */
	EXPECT_EQ(0, self->f.vh.hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
	EXPECT_EQ(VIRTIO_NET_HDR_GSO_NONE, self->f.vh.hdr.gso_type);
	close(s);
}

TEST_F(tq, short_read_buffers)
{
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons(4244) };
	char msg[100] = "short";
	uint8_t buf[64];
	long long hdr0, tr0;
	int s;

	tapq_drain(self->fd);
	hdr0 = tapq_stat(self->name, "tx_drop_hdr");
	tr0 = tapq_stat(self->name, "tx_truncated");
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, s);
	inet_pton(AF_INET, TAPQ_PEER_IP, &dst.sin_addr);

	/* Shorter than the vnet header: EINVAL, frame dropped. */
	ASSERT_EQ((ssize_t)sizeof(msg),
		  sendto(s, msg, sizeof(msg), 0, (void *)&dst, sizeof(dst)));
	errno = 0;
	EXPECT_EQ(-1, read(self->fd, buf, HDR10 - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(hdr0 + 1, tapq_stat(self->name, "tx_drop_hdr"));

	/* Room for the header and 30 bytes: truncated, 40 returned. */
	ASSERT_EQ((ssize_t)sizeof(msg),
		  sendto(s, msg, sizeof(msg), 0, (void *)&dst, sizeof(dst)));
	EXPECT_EQ(HDR10 + 30, read(self->fd, buf, HDR10 + 30));
	EXPECT_EQ(0, memcmp(buf + HDR10, tapq_peer_mac, 6));
	EXPECT_EQ(tr0 + 1, tapq_stat(self->name, "tx_truncated"));
	errno = 0;
	EXPECT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);
	close(s);
}

/* A read into bad memory: EFAULT, and the frame it lost is a counted drop. */
TEST_F(tq, read_fault_is_a_counted_drop)
{
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons(4245) };
	long long fault0, dropped0;
	char msg[100] = "fault";
	void *volatile bad = (void *)8;
	uint8_t buf[256];
	int s;

	tapq_drain(self->fd);
	fault0 = tapq_stat(self->name, "tx_drop_fault");
	ASSERT_LE(0, fault0);
	dropped0 = tapq_sysfs_long(self->name, "statistics/tx_dropped");
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, s);
	inet_pton(AF_INET, TAPQ_PEER_IP, &dst.sin_addr);
	ASSERT_EQ((ssize_t)sizeof(msg),
		  sendto(s, msg, sizeof(msg), 0, (void *)&dst, sizeof(dst)));
	errno = 0;
	EXPECT_EQ(-1, read(self->fd, bad, sizeof(buf)));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(fault0 + 1, tapq_stat(self->name, "tx_drop_fault"));
	EXPECT_EQ(dropped0 + 1,
		  tapq_sysfs_long(self->name, "statistics/tx_dropped"));
	/* the frame is gone, not left for the next read */
	errno = 0;
	EXPECT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);
	close(s);
}

TEST_F(tq, write_while_down_is_eio)
{
	uint8_t frame[128];
	size_t flen;

	ASSERT_EQ(0, tapq_sh("ip link set %s down", self->name));
	flen = tapq_udp_frame(frame, self->mac, TAPQ_HOST_IP, 1, 2, 20, 1);
	errno = 0;
	EXPECT_EQ(-1, tapq_write(self->fd, HDR10, NULL, frame, flen));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(1, tapq_stat(self->name, "rx_drop_down"));
}

/* Open fds up to the queue count, then EBUSY; a close frees a slot. */
TEST(queue_limit_ebusy)
{
	char name[IFNAMSIZ];
	int ifindex, fds[5], fd, i;

	tapq_name(name, "l");
	ifindex = tapq_dev_create(name, 4, 1000);
	ASSERT_LT(0, ifindex);
	for (i = 0; i < 4; i++) {
		fds[i] = tapq_open(ifindex, 0);
		ASSERT_LE(0, fds[i]);
	}
	errno = 0;
	EXPECT_EQ(-1, tapq_open(ifindex, 0));
	EXPECT_EQ(EBUSY, errno);
	/* A detached queue still counts as open. */
	EXPECT_EQ(0, set_queue(fds[3], IFF_DETACH_QUEUE));
	errno = 0;
	EXPECT_EQ(-1, tapq_open(ifindex, 0));
	EXPECT_EQ(EBUSY, errno);
	close(fds[1]);
	fd = tapq_open(ifindex, 0);
	EXPECT_LE(0, fd);
	close(fd);
	for (i = 0; i < 4; i++)
		if (i != 1)
			close(fds[i]);
	tapq_dev_delete(name);
}

#define MQ_N		4
#define MQ_FRAMES	400

struct mq_sender {
	atomic_int next;	/* sequence number of the next frame */
	atomic_int done;
	int count;
};

/* UDP from many source ports, so that flows hash to every queue. */
static void *mq_send(void *arg)
{
	struct mq_sender *ms = arg;
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons(7000) };
	int socks[16], i, seq;
	char msg[32];

	inet_pton(AF_INET, TAPQ_PEER_IP, &dst.sin_addr);
	for (i = 0; i < 16; i++)
		socks[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (i = 0; i < ms->count; i++) {
		seq = atomic_fetch_add(&ms->next, 1);
		snprintf(msg, sizeof(msg), "seq %d", seq);
		sendto(socks[seq % 16], msg, sizeof(msg), MSG_DONTWAIT,
		       (void *)&dst, sizeof(dst));
		if (i % 16 == 0)
			usleep(1000);
	}
	for (i = 0; i < 16; i++)
		close(socks[i]);
	atomic_store(&ms->done, 1);
	return NULL;
}

/* Read every UDP frame waiting on @fd; mark seqs; returns max seq. */
static int mq_collect(int fd, unsigned char *seen, int *dups, int *count)
{
	static struct tapq_frame f;
	int seq, max = -1;

	while (tapq_read(fd, HDR10, &f, 0) > 0) {
		if (!tapq_ipv4(&f, IPPROTO_UDP) ||
		    sscanf((char *)f.data + 42, "seq %d", &seq) != 1 ||
		    seq < 0 || seq >= MQ_FRAMES)
			continue;
		if (seen[seq])
			(*dups)++;
		seen[seq] = 1;
		(*count)++;
		if (seq > max)
			max = seq;
	}
	return max;
}

TEST(multiqueue_attach_detach_under_traffic)
{
	static unsigned char seen[MQ_FRAMES];
	struct mq_sender ms = { .count = MQ_FRAMES };
	int fds[MQ_N], counts[MQ_N] = {}, dups = 0, total = 0;
	int ifindex, i, round, snap, max, used = 0;
	long long tx0, txp;
	char name[IFNAMSIZ];
	pthread_t t;

	tapq_name(name, "m");
	ifindex = tapq_dev_create(name, MQ_N, 1000);
	ASSERT_LT(0, ifindex);
	for (i = 0; i < MQ_N; i++) {
		fds[i] = tapq_open(ifindex, O_NONBLOCK);
		ASSERT_LE(0, fds[i]);
	}
	ASSERT_EQ(0, tapq_wait_up(name, fds[0]));
	tx0 = tapq_sysfs_long(name, "statistics/tx_packets");
	ASSERT_EQ(0, pthread_create(&t, NULL, mq_send, &ms));

	for (round = 0; !atomic_load(&ms.done); round++) {
		int k = 1 + round % (MQ_N - 1);

		/* Detach queue k: nothing sent after this returns reaches it. */
		ASSERT_EQ(0, set_queue(fds[k], IFF_DETACH_QUEUE));
		snap = atomic_load(&ms.next);
		usleep(20000);
		for (i = 0; i < MQ_N; i++) {
			int c = 0;

			max = mq_collect(fds[i], seen, &dups, &c);
			counts[i] += c;
			if (i == k)
				EXPECT_GE(snap, max) TH_LOG("queue %d got seq %d after detach at %d",
							    k, max, snap);
		}
		ASSERT_EQ(0, set_queue(fds[k], IFF_ATTACH_QUEUE));
		usleep(20000);
	}
	pthread_join(t, NULL);
	usleep(200000);
	for (i = 0; i < MQ_N; i++) {
		int c = 0;

		mq_collect(fds[i], seen, &dups, &c);
		counts[i] += c;
		total += counts[i];
		if (counts[i])
			used++;
	}
	txp = tapq_sysfs_long(name, "statistics/tx_packets") - tx0;
	EXPECT_EQ(0, dups);
	/* Every frame that went into a ring was read exactly once. */
	EXPECT_EQ(txp, total);
	/* Frames are only lost while no queue was attached (never here). */
	EXPECT_EQ(MQ_FRAMES, total);
	EXPECT_EQ(0, tapq_stat(name, "tx_drop_ring_full"));
	EXPECT_EQ(0, tapq_stat(name, "tx_drop_no_queue"));
	EXPECT_LE(2, used) TH_LOG("flows spread over %d queues", used);
	EXPECT_LE(1, round);
	for (i = 0; i < MQ_N; i++)
		close(fds[i]);
	tapq_dev_delete(name);
}

/*
 * Fill the ring with no reader: the tx queue stops and the qdisc keeps
 * the rest; nothing is dropped.  Draining wakes the queue and every frame
 * arrives, in order.
 */
TEST(watermark_stop_and_wake)
{
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons(7100) };
	const int ring = 64, extra = 100;
	static struct tapq_frame f;
	char name[IFNAMSIZ], msg[32];
	int ifindex, fd, s, i, seq, next = 0;
	long long busy;

	tapq_name(name, "w");
	ifindex = tapq_dev_create(name, 1, ring);
	ASSERT_LT(0, ifindex);
	/* A plain FIFO qdisc: fq_codel would drop what waits too long. */
	ASSERT_EQ(0, tapq_sh("tc qdisc replace dev %s root pfifo limit 1000",
			     name));
	fd = tapq_open(ifindex, O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, tapq_wait_up(name, fd));
	tapq_drain(fd);

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, s);
	inet_pton(AF_INET, TAPQ_PEER_IP, &dst.sin_addr);
	for (i = 0; i < ring + extra; i++) {
		snprintf(msg, sizeof(msg), "seq %d", i);
		ASSERT_EQ((ssize_t)sizeof(msg),
			  sendto(s, msg, sizeof(msg), MSG_DONTWAIT,
				 (void *)&dst, sizeof(dst)));
	}
	EXPECT_EQ(ring, tapq_sysfs_long(name, "statistics/tx_packets"));
	EXPECT_LE(1, tapq_stat(name, "tx_stops"));
	EXPECT_EQ(0, tapq_stat(name, "tx_drop_ring_full"));
	EXPECT_EQ(0, tapq_stat(name, "tx_drop_no_queue"));
	EXPECT_EQ(0, tapq_sh("tc -s qdisc show dev %s | grep -q 'backlog [0-9]*b %dp'",
			     name, extra));

	/* Drain: the queue wakes and the rest follows, in order. */
	while (next < ring + extra) {
		ASSERT_LT(0, tapq_read(fd, HDR10, &f, 5000))
			TH_LOG("frame %d missing", next);
		if (!tapq_ipv4(&f, IPPROTO_UDP) ||
		    sscanf((char *)f.data + 42, "seq %d", &seq) != 1)
			continue;
		ASSERT_EQ(next, seq);
		next++;
	}
	EXPECT_EQ(ring + extra, tapq_sysfs_long(name, "statistics/tx_packets"));
	EXPECT_LE(1, tapq_stat(name, "tx_wakes"));
	busy = tapq_stat(name, "tx_busy");
	EXPECT_EQ(0, busy);
	EXPECT_EQ(0, tapq_stat(name, "tx_drop_ring_full"));
	EXPECT_EQ(0, tapq_sh("tc -s qdisc show dev %s | grep -q 'dropped 0,'",
			     name));
	close(s);
	close(fd);
	tapq_dev_delete(name);
}

/* Write @val to xtap/flow_control of @name; 0 or -errno. */
static int flow_control_write(const char *name, const char *val)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/xtap/flow_control",
		 name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	n = n < 0 ? -errno : 0;
	close(fd);
	return n;
}

/*
 * With xtap/flow_control 0 a full ring drops, as tun does: the tx queue is
 * never stopped, the qdisc keeps nothing, the frames that did not fit are
 * counted, and the reader gets exactly the ring's worth, in order.
 */
TEST(flow_control_off_drops)
{
	static const char *const bad[] = { "2", "-1", "on", "1x", "01 1" };
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons(7101) };
	const int ring = 64, extra = 100;
	static struct tapq_frame f;
	char name[IFNAMSIZ], msg[32], path[128], buf[16];
	int ifindex, fd, s, i, seq, next = 0;
	unsigned int k;

	tapq_name(name, "f");
	ifindex = tapq_dev_create(name, 1, ring);
	ASSERT_LT(0, ifindex);
	snprintf(path, sizeof(path), "/sys/class/net/%s/xtap/flow_control",
		 name);
	ASSERT_LT(0, tapq_read_file(path, buf, sizeof(buf)));
	EXPECT_STREQ("1\n", buf);
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		EXPECT_EQ(-EINVAL, flow_control_write(name, bad[k]))
			TH_LOG("bad value %u", k);
	ASSERT_EQ(0, flow_control_write(name, "0\n"));
	ASSERT_LT(0, tapq_read_file(path, buf, sizeof(buf)));
	EXPECT_STREQ("0\n", buf);
	ASSERT_EQ(0, tapq_sh("tc qdisc replace dev %s root pfifo limit 1000",
			     name));
	fd = tapq_open(ifindex, O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, tapq_wait_up(name, fd));
	tapq_drain(fd);

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, s);
	inet_pton(AF_INET, TAPQ_PEER_IP, &dst.sin_addr);
	for (i = 0; i < ring + extra; i++) {
		snprintf(msg, sizeof(msg), "seq %d", i);
		ASSERT_EQ((ssize_t)sizeof(msg),
			  sendto(s, msg, sizeof(msg), MSG_DONTWAIT,
				 (void *)&dst, sizeof(dst)));
	}
	EXPECT_EQ(ring, tapq_sysfs_long(name, "statistics/tx_packets"));
	EXPECT_EQ(extra, tapq_stat(name, "tx_drop_ring_full"));
	EXPECT_EQ(extra, tapq_sysfs_long(name, "statistics/tx_dropped"));
	EXPECT_EQ(0, tapq_stat(name, "tx_stops"));
	EXPECT_EQ(0, tapq_stat(name, "tx_busy"));
	EXPECT_EQ(0, tapq_sh("tc -s qdisc show dev %s | grep -q 'backlog 0b 0p'",
			     name));

	/* The ring's worth arrives, in order, and nothing after it. */
	while (next < ring) {
		ASSERT_LT(0, tapq_read(fd, HDR10, &f, 5000))
			TH_LOG("frame %d missing", next);
		if (!tapq_ipv4(&f, IPPROTO_UDP) ||
		    sscanf((char *)f.data + 42, "seq %d", &seq) != 1)
			continue;
		ASSERT_EQ(next, seq);
		next++;
	}
	while (tapq_read(fd, HDR10, &f, 100) > 0)
		EXPECT_TRUE(!tapq_ipv4(&f, IPPROTO_UDP))
			TH_LOG("a frame beyond the ring's worth arrived");

	/* Back on: the next overflow stops the queue again. */
	ASSERT_EQ(0, flow_control_write(name, "1"));
	for (i = 0; i < ring + extra; i++) {
		snprintf(msg, sizeof(msg), "seq %d", i);
		ASSERT_EQ((ssize_t)sizeof(msg),
			  sendto(s, msg, sizeof(msg), MSG_DONTWAIT,
				 (void *)&dst, sizeof(dst)));
	}
	EXPECT_LE(1, tapq_stat(name, "tx_stops"));
	EXPECT_EQ(extra, tapq_stat(name, "tx_drop_ring_full"));
	close(s);
	close(fd);
	tapq_dev_delete(name);
}

struct blocked_reader {
	int fd;
	ssize_t ret;
	int err;
};

static void *read_blocking(void *arg)
{
	struct blocked_reader *br = arg;
	static uint8_t buf[70000];

	br->ret = read(br->fd, buf, sizeof(buf));
	br->err = errno;
	return NULL;
}

TEST(delete_device_under_open_fds)
{
	struct blocked_reader br = {};
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons(7200) };
	struct pollfd pfd;
	char name[IFNAMSIZ], path[64], msg[16] = "x";
	int ifindex, fd, fd2, s, i, v;
	unsigned int feat;
	uint8_t buf[2048];
	pthread_t t;

	tapq_name(name, "d");
	ifindex = tapq_dev_create(name, 2, 1000);
	ASSERT_LT(0, ifindex);
	fd = tapq_open(ifindex, O_NONBLOCK);
	ASSERT_LE(0, fd);
	fd2 = tapq_open(ifindex, 0);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, tapq_wait_up(name, fd));
	snprintf(path, sizeof(path), "/dev/xtap%d", ifindex);

	/* Leave frames in the rings. */
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, TAPQ_PEER_IP, &dst.sin_addr);
	for (i = 0; i < 20; i++) {
		dst.sin_port = htons(7200 + i);
		sendto(s, msg, sizeof(msg), 0, (void *)&dst, sizeof(dst));
	}
	close(s);

	/* fd2 has a blocked reader once its ring is drained. */
	while (tapq_read(fd2, HDR10, &(struct tapq_frame){}, 0) > 0)
		;
	br.fd = fd2;
	ASSERT_EQ(0, pthread_create(&t, NULL, read_blocking, &br));
	usleep(200000);

	ASSERT_EQ(0, tapq_sh("ip link del %s", name));
	pthread_join(t, NULL);
	EXPECT_EQ(-1, br.ret);
	EXPECT_EQ(EBADFD, br.err);

	EXPECT_EQ(-1, access(path, F_OK));
	errno = 0;
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EBADFD, errno);
	errno = 0;
	EXPECT_EQ(-1, write(fd, buf, 60));
	EXPECT_EQ(EBADFD, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, TUNGETIFF, buf));
	EXPECT_EQ(EBADFD, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, TUNGETVNETHDRSZ, &v));
	EXPECT_EQ(EBADFD, errno);
	errno = 0;
	EXPECT_EQ(-1, set_queue(fd, IFF_ATTACH_QUEUE));
	EXPECT_EQ(EBADFD, errno);
	EXPECT_EQ(0, ioctl(fd, TUNGETFEATURES, &feat));
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, TUNSETPERSIST, 0));
	EXPECT_EQ(ENOTTY, errno);
	pfd.fd = fd;
	pfd.events = POLLIN | POLLOUT;
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLERR, pfd.revents);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, close(fd2));

	/* A new device reuses nothing stale. */
	ifindex = tapq_dev_create(name, 1, 1000);
	ASSERT_LT(0, ifindex);
	fd = tapq_open(ifindex, O_NONBLOCK);
	EXPECT_LE(0, fd);
	close(fd);
	tapq_dev_delete(name);
}

struct hammer {
	int fd;
	const uint8_t *mac;
	atomic_int *stop;
	int writes, reads, err;
};

/* Write UDP frames to the host as fast as possible until an error. */
static void *hammer_write(void *arg)
{
	struct hammer *h = arg;
	uint8_t frame[256];
	size_t flen = tapq_udp_frame(frame, h->mac, TAPQ_HOST_IP, 1, 9, 100, 3);

	while (!atomic_load(h->stop)) {
		if (tapq_write(h->fd, HDR10, NULL, frame, flen) < 0) {
			h->err = errno;
			if (errno != EIO)
				break;
		} else {
			h->writes++;
		}
	}
	return NULL;
}

/* Read frames until an error other than EAGAIN. */
static void *hammer_read(void *arg)
{
	struct hammer *h = arg;
	static __thread uint8_t buf[70000];

	while (!atomic_load(h->stop)) {
		if (read(h->fd, buf, sizeof(buf)) < 0) {
			if (errno == EAGAIN)
				continue;
			h->err = errno;
			break;
		}
		h->reads++;
	}
	return NULL;
}

/* Delete the device while its queues are written, read and polled. */
TEST(delete_device_under_traffic)
{
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons(7300) };
	struct hammer h[4] = {};
	atomic_int stop = 0;
	char name[IFNAMSIZ], msg[64] = "flood";
	uint8_t mac[6];
	pthread_t t[4];
	int ifindex, fds[2], s, i;

	tapq_name(name, "t");
	ifindex = tapq_dev_create(name, 2, 1000);
	ASSERT_LT(0, ifindex);
	ASSERT_EQ(0, tapq_dev_mac(name, mac));
	for (i = 0; i < 2; i++) {
		fds[i] = tapq_open(ifindex, O_NONBLOCK);
		ASSERT_LE(0, fds[i]);
	}
	ASSERT_EQ(0, tapq_wait_up(name, fds[0]));
	for (i = 0; i < 4; i++) {
		h[i].fd = fds[i / 2];
		h[i].mac = mac;
		h[i].stop = &stop;
		ASSERT_EQ(0, pthread_create(&t[i], NULL,
					    i % 2 ? hammer_read : hammer_write,
					    &h[i]));
	}
	/* Host traffic to the queues meanwhile. */
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, TAPQ_PEER_IP, &dst.sin_addr);
	for (i = 0; i < 300; i++) {
		dst.sin_port = htons(7300 + i % 32);
		sendto(s, msg, sizeof(msg), MSG_DONTWAIT, (void *)&dst,
		       sizeof(dst));
	}
	close(s);
	ASSERT_EQ(0, tapq_sh("ip link del %s", name));
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(EBADFD, h[i].err) TH_LOG("thread %d", i);
	}
	EXPECT_LT(0, h[0].writes + h[2].writes);
	EXPECT_LT(0, h[1].reads + h[3].reads);
	for (i = 0; i < 2; i++)
		EXPECT_EQ(0, close(fds[i]));
}

XTEST_HARNESS_MAIN
