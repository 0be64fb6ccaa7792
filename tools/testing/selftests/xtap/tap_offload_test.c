// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Checksum offload and GSO through the queue node, both directions, and
 * malformed vnet headers.
 *
 * Guest -> host: a 64 KB TSO write is received whole by a host TCP socket
 * (after a handshake the test plays as the guest), and, forwarded out of a
 * veth without offloads, arrives as valid MSS-sized segments.  Host ->
 * guest: a host TCP stream to the emulated guest is read as GSO frames with
 * the right vnet header fields once TUNSETOFFLOAD allows TSO, as partially
 * checksummed frames with only TUN_F_CSUM, and as complete frames with no
 * offload.
 */
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "tapq.h"
#include "kselftest_harness.h"
#include "xtest.h"

#define HDR10		((int)sizeof(struct virtio_net_hdr))
#define TCP_SYN		0x02
#define TCP_RST		0x04
#define TCP_PSH		0x08
#define TCP_ACK		0x10

/* One TCP connection as seen by the emulated guest. */
struct tconn {
	const char *peer_ip;	/* the host side's address */
	uint16_t lport;		/* guest port */
	uint16_t rport;		/* host port */
	uint32_t snd_nxt;	/* guest's next sequence number */
	uint32_t rcv_nxt;	/* next sequence number expected from host */
	uint16_t rwnd;		/* host's window */
	uint16_t rmss;		/* host's MSS option */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint16_t get16(const uint8_t *p)
{
	return (p[0] << 8) | p[1];
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)get16(p) << 16) | get16(p + 2);
}

/*
 * A TCP segment from the guest.  With @partial the checksum field holds the
 * pseudo-header sum only (what NEEDS_CSUM expects); else the full checksum.
 * Returns the frame length.
 */
static size_t tcp_frame(uint8_t *f, const uint8_t *dmac, struct tconn *c,
			uint8_t flags, const uint8_t *data, size_t plen,
			int partial)
{
	int opt = (flags & TCP_SYN) ? 4 : 0;
	size_t off = tapq_eth(f, dmac, tapq_peer_mac, ETH_P_IP);
	size_t l4len = 20 + opt + plen;
	uint8_t *iph = f + off, *th;
	uint16_t csum;

	off += tapq_ip(iph, TAPQ_PEER_IP, c->peer_ip, IPPROTO_TCP, l4len,
		       c->snd_nxt & 0xffff);
	th = f + off;
	memset(th, 0, 20 + opt);
	put16(th, c->lport);
	put16(th + 2, c->rport);
	put32(th + 4, c->snd_nxt);
	put32(th + 8, (flags & TCP_ACK) ? c->rcv_nxt : 0);
	th[12] = ((20 + opt) / 4) << 4;
	th[13] = flags;
	put16(th + 14, 65535);
	if (opt) {
		th[20] = 2;		/* MSS */
		th[21] = 4;
		put16(th + 22, 1460);
	}
	if (plen)
		memcpy(th + 20 + opt, data, plen);
	if (partial) {
		csum = tapq_fold(tapq_pseudo(iph, IPPROTO_TCP, l4len));
		put16(th + 16, csum);
	} else {
		csum = tapq_l4_csum(iph, l4len);
		memcpy(th + 16, &csum, 2);
	}
	return off + 20 + opt + plen;
}

/*
 * Finish a NEEDS_CSUM frame the way a device would: sum from csum_start to
 * the end and store the result at csum_start + csum_offset.
 */
static int complete_csum(struct tapq_frame *f)
{
	unsigned int start = f->vh.hdr.csum_start, off = f->vh.hdr.csum_offset;
	uint16_t c;

	if (start + off + 2 > f->len)
		return -1;
	c = htons(~tapq_fold(tapq_sum(f->data + start, f->len - start, 0)) &
		  0xffff);
	memcpy(f->data + start + off, &c, 2);
	return 0;
}

/* Is @f a TCP frame from the host to the guest port of @c?  Returns th. */
static const uint8_t *tcp_of(const struct tapq_frame *f, struct tconn *c)
{
	const uint8_t *iph = tapq_ipv4(f, IPPROTO_TCP), *th;

	if (!iph)
		return NULL;
	th = iph + (iph[0] & 0xf) * 4;
	if (get16(th + 2) != c->lport || get16(th) != c->rport)
		return NULL;
	return th;
}

/* Read until a TCP frame of @c with all of @flags set; NULL on timeout. */
static const uint8_t *read_tcp(int fd, struct tapq_frame *f, struct tconn *c,
			       uint8_t flags)
{
	const uint8_t *th;
	int i;

	for (i = 0; i < 200; i++) {
		if (tapq_read(fd, HDR10, f, 10000) <= 0)
			return NULL;
		th = tcp_of(f, c);
		if (th && (th[13] & flags) == flags)
			return th;
	}
	return NULL;
}

/* Parse the MSS option of a SYN. */
static uint16_t syn_mss(const uint8_t *th)
{
	int hl = (th[12] >> 4) * 4, i = 20;

	while (i + 1 < hl) {
		if (th[i] == 0)
			break;
		if (th[i] == 1) {
			i++;
			continue;
		}
		if (th[i] == 2 && th[i + 1] == 4)
			return get16(th + i + 2);
		if (th[i + 1] < 2)
			break;
		i += th[i + 1];
	}
	return 536;
}

static ssize_t send_frame(int fd, const struct virtio_net_hdr *vh,
			  const uint8_t *frame, size_t len)
{
	return tapq_write(fd, HDR10, vh, frame, len);
}

FIXTURE(off) {
	char name[IFNAMSIZ];
	char veth[IFNAMSIZ];
	int ifindex;
	int fd;
	uint8_t mac[6];
	struct tapq_frame f;
	uint8_t frame[70000];
	uint8_t data[70000];
	int fwd_was;
};

FIXTURE_SETUP(off)
{
	tapq_name(self->name, "o");
	self->fd = -1;
	self->fwd_was = -1;
	self->ifindex = tapq_dev_create(self->name, 1, 1000);
	ASSERT_LT(0, self->ifindex);
	ASSERT_EQ(0, tapq_dev_mac(self->name, self->mac));
	self->fd = tapq_open(self->ifindex, O_NONBLOCK);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, tapq_wait_up(self->name, self->fd));
}

FIXTURE_TEARDOWN(off)
{
	if (self->fd >= 0)
		close(self->fd);
	tapq_dev_delete(self->name);
	if (self->veth[0])
		tapq_sh("ip link del %sa 2>/dev/null", self->veth);
	if (self->fwd_was >= 0)
		tapq_sh("sysctl -qw net.ipv4.ip_forward=%d", self->fwd_was);
}

TEST_F(off, setoffload_selects_features)
{
	struct {
		unsigned long arg;
		int csum, tso;
	} cases[] = {
		{ 0, 0, 0 },
		{ TUN_F_CSUM, 1, 0 },
		{ TUN_F_CSUM | TUN_F_TSO4, 1, 1 },
		{ TUN_F_CSUM | TUN_F_TSO6 | TUN_F_TSO_ECN, 1, 1 },
		{ TUN_F_TSO4 | TUN_F_TSO6, 0, 0 },	/* TSO needs CSUM */
		{ TUN_F_UFO, 0, 0 },
		{ TUN_F_CSUM | TUN_F_UFO, 1, 0 },
		{ 0x1f, 1, 1 },
		{ 0, 0, 0 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ASSERT_EQ(0, ioctl(self->fd, TUNSETOFFLOAD, cases[i].arg));
		EXPECT_EQ(cases[i].csum,
			  tapq_feature(self->name, ETHTOOL_GTXCSUM))
			TH_LOG("offload %#lx", cases[i].arg);
		EXPECT_EQ(cases[i].tso, tapq_feature(self->name, ETHTOOL_GTSO))
			TH_LOG("offload %#lx", cases[i].arg);
	}
}

TEST_F(off, malformed_vnet_headers_rejected)
{
	struct virtio_net_hdr vh;
	size_t flen, big;
	long long bad0;
	int n = 0, s;
	char buf[256];

	flen = tapq_udp_frame(self->frame, self->mac, TAPQ_HOST_IP, 1234,
			      4321, 100, 5);
	bad0 = tapq_stat(self->name, "rx_drop_malformed");

#define REJECT(desc, hdr, len) do {					\
		errno = 0;						\
		EXPECT_EQ(-1, send_frame(self->fd, hdr, self->frame, len)) \
			TH_LOG("%s accepted", desc);			\
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", desc);		\
		n++;							\
	} while (0)

	memset(&vh, 0, sizeof(vh));
	vh.gso_type = 7;
	vh.gso_size = 1000;
	REJECT("unknown gso_type", &vh, flen);

	memset(&vh, 0, sizeof(vh));
	vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	vh.gso_size = 0;
	REJECT("zero gso_size", &vh, flen);

	memset(&vh, 0, sizeof(vh));
	vh.hdr_len = flen + 1;
	REJECT("hdr_len beyond the frame", &vh, flen);

	memset(&vh, 0, sizeof(vh));
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.csum_start = flen - 1;
	vh.csum_offset = 0;
	REJECT("csum_start at the end", &vh, flen);

	memset(&vh, 0, sizeof(vh));
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.csum_start = 34;
	vh.csum_offset = 0xfff0;
	REJECT("csum_offset out of range", &vh, flen);

	memset(&vh, 0, sizeof(vh));
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.csum_start = 0xffff;
	vh.csum_offset = 0xffff;
	REJECT("csum_start and offset at the limit", &vh, flen);

	memset(&vh, 0, sizeof(vh));
	REJECT("frame shorter than Ethernet", &vh, 13);
	REJECT("empty frame", &vh, 0);

	/* A TCP GSO header on a frame too short to hold a TCP header. */
	memset(&vh, 0, sizeof(vh));
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	vh.gso_size = 1000;
	vh.csum_start = 34;
	vh.csum_offset = 16;
	REJECT("TCP GSO with a short frame", &vh, 40);

	/* GSO TCP with a checksum offset that is not the TCP one. */
	vh.csum_offset = 6;
	REJECT("TCP GSO with the UDP csum_offset", &vh, flen);

	/* Longer than 64 KiB plus headers. */
	big = 65535 + 18 + 1;
	memset(&vh, 0, sizeof(vh));
	REJECT("frame above 64 KiB", &vh, big);

	/* Only the header, or less. */
	errno = 0;
	EXPECT_EQ(-1, write(self->fd, &vh, HDR10));
	EXPECT_EQ(EINVAL, errno);
	n++;
	errno = 0;
	EXPECT_EQ(-1, write(self->fd, &vh, 4));
	EXPECT_EQ(EINVAL, errno);
	n++;
#undef REJECT

	EXPECT_EQ(bad0 + n, tapq_stat(self->name, "rx_drop_malformed"));
	EXPECT_EQ(n, tapq_sysfs_long(self->name, "statistics/rx_frame_errors"));

	/* Still fine afterwards. */
	s = tapq_udp_sock(4321);
	ASSERT_LE(0, s);
	memset(&vh, 0, sizeof(vh));
	ASSERT_EQ(HDR10 + (ssize_t)flen, send_frame(self->fd, &vh, self->frame,
						     flen));
	EXPECT_EQ(100, recv(s, buf, sizeof(buf), 0));
	close(s);
}

/* Bad user memory in a write: EFAULT, counted, nothing delivered. */
TEST_F(off, write_fault_efault)
{
	struct iovec iov[2];
	uint8_t hdr[HDR10] = {};

	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)8;
	iov[1].iov_len = 100;
	errno = 0;
	EXPECT_EQ(-1, writev(self->fd, iov, 2));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(1, tapq_stat(self->name, "rx_drop_fault"));
	EXPECT_EQ(0, tapq_sysfs_long(self->name, "statistics/rx_packets"));
}

/* Guest handshake with a host listener; returns the accepted socket. */
static int guest_connect(struct __test_metadata *_metadata,
			 FIXTURE_DATA(off) *self, struct tconn *c, int lsock)
{
	const uint8_t *th;
	size_t flen;
	int s;

	tapq_drain(self->fd);
	flen = tcp_frame(self->frame, self->mac, c, TCP_SYN, NULL, 0, 0);
	EXPECT_EQ(HDR10 + (ssize_t)flen, send_frame(self->fd, NULL,
						     self->frame, flen));
	c->snd_nxt++;
	th = read_tcp(self->fd, &self->f, c, TCP_SYN | TCP_ACK);
	if (!th)
		return -1;
	c->rcv_nxt = get32(th + 4) + 1;
	c->rwnd = get16(th + 14);
	c->rmss = syn_mss(th);
	flen = tcp_frame(self->frame, self->mac, c, TCP_ACK, NULL, 0, 0);
	EXPECT_EQ(HDR10 + (ssize_t)flen, send_frame(self->fd, NULL,
						     self->frame, flen));
	s = accept(lsock, NULL, NULL);
	return s;
}

static int listen_on(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 20 };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	inet_pton(AF_INET, TAPQ_HOST_IP, &a.sin_addr);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(s, (void *)&a, sizeof(a)) || listen(s, 1)) {
		close(s);
		return -1;
	}
	return s;
}

/* A 64 KB TSO write is received whole, in order, by a host TCP socket. */
TEST_F_TIMEOUT(off, tso_write_received_by_host_socket, 120)
{
	struct tconn c = { .peer_ip = TAPQ_HOST_IP, .lport = 40001,
			   .rport = 5001, .snd_nxt = 1000 };
	struct timeval tv = { .tv_sec = 20 };
	struct virtio_net_hdr vh = {};
	size_t plen = 64000, flen, got = 0;
	long long rx0, rxb0;
	uint8_t *rbuf;
	int ls, s;
	ssize_t n;

	ls = listen_on(c.rport);
	ASSERT_LE(0, ls);
	s = guest_connect(_metadata, self, &c, ls);
	ASSERT_LE(0, s) TH_LOG("no handshake");
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (c.rwnd < plen)
		plen = c.rwnd - c.rwnd % 1448;
	ASSERT_LE(14480U, plen);

	tapq_pattern(self->data, plen, 77);
	flen = tcp_frame(self->frame, self->mac, &c, TCP_ACK | TCP_PSH,
			 self->data, plen, 1);
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	vh.gso_size = 1448;
	vh.hdr_len = 54;
	vh.csum_start = 34;
	vh.csum_offset = 16;
	rx0 = tapq_sysfs_long(self->name, "statistics/rx_packets");
	rxb0 = tapq_sysfs_long(self->name, "statistics/rx_bytes");
	ASSERT_EQ(HDR10 + (ssize_t)flen, send_frame(self->fd, &vh, self->frame,
						     flen));
	EXPECT_EQ(rx0 + 1, tapq_sysfs_long(self->name, "statistics/rx_packets"));
	EXPECT_EQ(rxb0 + (long long)flen, tapq_sysfs_long(self->name, "statistics/rx_bytes"));

	rbuf = malloc(plen);
	while (got < plen) {
		n = recv(s, rbuf + got, plen - got, 0);
		ASSERT_LT(0, n) TH_LOG("received %zu of %zu", got, plen);
		got += n;
	}
	EXPECT_EQ(0, memcmp(rbuf, self->data, plen));
	EXPECT_EQ(0, tapq_stat(self->name, "rx_drop_malformed"));
	free(rbuf);
	close(s);
	close(ls);
}

/* A UFO write reaches a host UDP socket as one datagram. */
TEST_F(off, ufo_write_received_by_host_socket)
{
	struct virtio_net_hdr vh = {};
	uint8_t *rbuf;
	size_t flen;
	int s;

	s = tapq_udp_sock(5002);
	ASSERT_LE(0, s);
	flen = tapq_udp_frame(self->frame, self->mac, TAPQ_HOST_IP, 40002,
			      5002, 8000, 33);
	/* UFO leaves the fragmenting to the host: no DF. */
	self->frame[14 + 6] = 0;
	self->frame[14 + 10] = self->frame[14 + 11] = 0;
	{
		uint16_t c = htons(~tapq_fold(tapq_sum(self->frame + 14, 20,
							 0)) & 0xffff);

		memcpy(self->frame + 14 + 10, &c, 2);
	}
	vh.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	vh.gso_size = 1472;
	vh.hdr_len = 42;
	ASSERT_EQ(HDR10 + (ssize_t)flen, send_frame(self->fd, &vh, self->frame,
						     flen));
	rbuf = malloc(9000);
	ASSERT_EQ(8000, recv(s, rbuf, 9000, 0));
	EXPECT_EQ(0, memcmp(rbuf, self->frame + 42, 8000));
	free(rbuf);
	close(s);
}

/*
 * Forwarding set-up: TAPQ_FAR_IP is reached through veth <veth>a, whose
 * peer <veth>b has a packet socket; <veth>a does no offload, so GSO and
 * checksums are done in software before the frames reach <veth>b.
 * Returns the packet socket.
 */
static int fwd_setup(struct __test_metadata *_metadata,
		     FIXTURE_DATA(off) *self)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL) };
	char v[IFNAMSIZ + 1];
	int ps;

	if (tapq_sh("modprobe veth 2>/dev/null; ip link help veth >/dev/null 2>&1"))
		return -2;
	tapq_name(self->veth, "v");
	self->fwd_was = tapq_sh("exit $(sysctl -n net.ipv4.ip_forward)");
	if (tapq_sh("ip link add %sa type veth peer name %sb", self->veth,
		    self->veth))
		return -2;
	tapq_sh("sysctl -qw net.ipv6.conf.%sa.disable_ipv6=1", self->veth);
	tapq_sh("sysctl -qw net.ipv6.conf.%sb.disable_ipv6=1", self->veth);
	EXPECT_EQ(0, tapq_sh("ethtool -K %sa tx off >/dev/null 2>&1",
			     self->veth));
	EXPECT_EQ(0, tapq_sh("ip addr add 10.78.0.1/24 dev %sa && ip link set %sa up && ip link set %sb up",
			     self->veth, self->veth, self->veth));
	/* A neighbour MAC that <veth>b does not own: it drops the frames
	 * after the packet socket has seen them (no loop back).
	 */
	EXPECT_EQ(0, tapq_sh("ip neigh replace %s lladdr 02:00:5e:00:00:99 dev %sa nud permanent",
			     TAPQ_FAR_IP, self->veth));
	EXPECT_EQ(0, tapq_sh("sysctl -qw net.ipv4.ip_forward=1"));
	snprintf(v, sizeof(v), "%sb", self->veth);
	ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (ps < 0)
		return -1;
	sll.sll_ifindex = if_nametoindex(v);
	if (bind(ps, (void *)&sll, sizeof(sll))) {
		close(ps);
		return -1;
	}
	return ps;
}

/* Read TCP/UDP frames of the flow to TAPQ_FAR_IP from the packet socket. */
static ssize_t fwd_read(int ps, uint8_t *buf, size_t sz, uint8_t proto)
{
	struct pollfd pfd = { .fd = ps, .events = POLLIN };
	uint8_t far[4];
	ssize_t n;

	inet_pton(AF_INET, TAPQ_FAR_IP, far);
	for (;;) {
		if (poll(&pfd, 1, 10000) != 1)
			return -1;
		n = recv(ps, buf, sz, 0);
		if (n < 34)
			continue;
		if (buf[12] == 0x08 && buf[13] == 0 && buf[14 + 9] == proto &&
		    !memcmp(buf + 14 + 16, far, 4))
			return n;
	}
}

/* A 64 KB TSO write, forwarded, arrives as valid MSS-sized segments. */
TEST_F_TIMEOUT(off, tso_write_forwarded_as_valid_segments, 120)
{
	struct tconn c = { .peer_ip = TAPQ_FAR_IP, .lport = 40003,
			   .rport = 5003, .snd_nxt = 5000 };
	struct virtio_net_hdr vh = {};
	size_t plen = 64000, flen, got = 0, mss = 1400;
	static uint8_t rx[70000], buf[2048];
	int ps, segs = 0;

	ps = fwd_setup(_metadata, self);
	if (ps == -2)
		SKIP(return, "no veth");
	ASSERT_LE(0, ps);

	tapq_pattern(self->data, plen, 55);
	flen = tcp_frame(self->frame, self->mac, &c, TCP_ACK | TCP_PSH,
			 self->data, plen, 1);
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	vh.gso_size = mss;
	vh.hdr_len = 54;
	vh.csum_start = 34;
	vh.csum_offset = 16;
	ASSERT_EQ(HDR10 + (ssize_t)flen, send_frame(self->fd, &vh, self->frame,
						     flen));

	while (got < plen) {
		ssize_t n = fwd_read(ps, buf, sizeof(buf), IPPROTO_TCP);
		const uint8_t *iph = buf + 14, *th = iph + 20;
		size_t tot, dlen, seq;

		ASSERT_LT(0, n) TH_LOG("%zu of %zu bytes, %d segments", got,
				       plen, segs);
		tot = get16(iph + 2);
		ASSERT_GE((size_t)n - 14, tot);
		EXPECT_TRUE(tapq_ipv4_valid(iph, tot)) TH_LOG("segment %d", segs);
		EXPECT_EQ(63, iph[8]);			/* forwarded */
		dlen = tot - 20 - (th[12] >> 4) * 4;
		seq = get32(th + 4) - 5000;
		EXPECT_GE(mss, dlen);
		ASSERT_GE(plen, seq + dlen);
		memcpy(rx + seq, th + (th[12] >> 4) * 4, dlen);
		got += dlen;
		segs++;
	}
	EXPECT_EQ((int)((plen + mss - 1) / mss), segs);
	EXPECT_EQ(0, memcmp(rx, self->data, plen));
	close(ps);
}

/* A NEEDS_CSUM UDP write, forwarded, carries a correct checksum. */
TEST_F(off, partial_csum_write_forwarded_complete)
{
	struct virtio_net_hdr vh = {};
	static uint8_t buf[2048];
	size_t flen;
	uint16_t c;
	ssize_t n;
	int ps;

	ps = fwd_setup(_metadata, self);
	if (ps == -2)
		SKIP(return, "no veth");
	ASSERT_LE(0, ps);

	flen = tapq_udp_frame(self->frame, self->mac, TAPQ_FAR_IP, 40004, 5004,
			      1000, 44);
	/* Pseudo-header sum only; the host must finish it. */
	c = tapq_fold(tapq_pseudo(self->frame + 14, IPPROTO_UDP, 1008));
	put16(self->frame + 34 + 6, c);
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.csum_start = 34;
	vh.csum_offset = 6;
	ASSERT_EQ(HDR10 + (ssize_t)flen, send_frame(self->fd, &vh, self->frame,
						     flen));
	n = fwd_read(ps, buf, sizeof(buf), IPPROTO_UDP);
	ASSERT_EQ((ssize_t)flen, n);
	EXPECT_TRUE(tapq_ipv4_valid(buf + 14, n - 14));
	EXPECT_NE(0, get16(buf + 34 + 6));
	EXPECT_EQ(0, memcmp(buf + 42, self->frame + 42, 1000));
	close(ps);
}

FIXTURE(hs) {
	char name[IFNAMSIZ];
	int ifindex;
	int fd;
	uint8_t mac[6];
	struct tapq_frame f;
	uint8_t frame[2048];
	uint8_t data[30000];
};

FIXTURE_VARIANT(hs) {
	unsigned long offload;
	int expect_gso;
	int expect_partial;
};

FIXTURE_VARIANT_ADD(hs, none) {
	.offload = 0,
};

FIXTURE_VARIANT_ADD(hs, csum) {
	.offload = TUN_F_CSUM,
	.expect_partial = 1,
};

FIXTURE_VARIANT_ADD(hs, tso4) {
	.offload = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN |
		   TUN_F_UFO,
	.expect_gso = 1,
	.expect_partial = 1,
};

FIXTURE_SETUP(hs)
{
	tapq_name(self->name, "h");
	self->fd = -1;
	self->ifindex = tapq_dev_create(self->name, 1, 1000);
	ASSERT_LT(0, self->ifindex);
	ASSERT_EQ(0, tapq_dev_mac(self->name, self->mac));
	self->fd = tapq_open(self->ifindex, O_NONBLOCK);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, tapq_wait_up(self->name, self->fd));
}

FIXTURE_TEARDOWN(hs)
{
	if (self->fd >= 0)
		close(self->fd);
	tapq_dev_delete(self->name);
}

/*
 * Host TCP stream to the emulated guest: what the reader gets depends on
 * TUNSETOFFLOAD.  Every byte arrives in order whatever the offloads.
 */
TEST_F_TIMEOUT(hs, host_tcp_stream_read_with_offloads, 150)
{
	struct tconn c = { .peer_ip = TAPQ_HOST_IP, .lport = 5005,
			   .snd_nxt = 9000 };
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(5005) };
	size_t plen = sizeof(self->data), got = 0, sent = 0, flen, maxlen = 0;
	int s, gso = 0, partial = 0, bad_csum = 0, frames = 0;
	const uint8_t *th, *iph;
	struct pollfd pfd;
	static uint8_t rx[30000];
	ssize_t n;

	ASSERT_EQ(0, ioctl(self->fd, TUNSETOFFLOAD, variant->offload));
	tapq_drain(self->fd);

	/* The route's features are cached at connect: offloads first. */
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ASSERT_LE(0, s);
	inet_pton(AF_INET, TAPQ_PEER_IP, &a.sin_addr);
	ASSERT_EQ(-1, connect(s, (void *)&a, sizeof(a)));
	ASSERT_EQ(EINPROGRESS, errno);

	/* SYN from the host; answer it. */
	c.rport = 0;
	for (;;) {
		ASSERT_LT(0, tapq_read(self->fd, HDR10, &self->f, 10000));
		iph = tapq_ipv4(&self->f, IPPROTO_TCP);
		if (!iph)
			continue;
		th = iph + 20;
		if (get16(th + 2) == c.lport && (th[13] & TCP_SYN))
			break;
	}
	c.rport = get16(th);
	c.rcv_nxt = get32(th + 4) + 1;
	flen = tcp_frame(self->frame, self->mac, &c, TCP_SYN | TCP_ACK, NULL,
			 0, 0);
	ASSERT_EQ(HDR10 + (ssize_t)flen, send_frame(self->fd, NULL,
						     self->frame, flen));
	c.snd_nxt++;
	pfd.fd = s;
	pfd.events = POLLOUT;
	ASSERT_EQ(1, poll(&pfd, 1, 10000));

	tapq_pattern(self->data, plen, 66);

	while (got < plen) {
		size_t tot, dlen;
		uint32_t seq;

		/* Send what the socket takes; the ACKs below free room. */
		if (sent < plen) {
			n = send(s, self->data + sent, plen - sent,
				 MSG_DONTWAIT);
			if (n > 0)
				sent += n;
		}
		ASSERT_LT(0, tapq_read(self->fd, HDR10, &self->f, 10000))
			TH_LOG("%zu of %zu bytes", got, plen);
		th = tcp_of(&self->f, &c);
		if (!th)
			continue;
		iph = self->f.data + 14;
		tot = get16(iph + 2);
		dlen = tot - 20 - (th[12] >> 4) * 4;
		if (!dlen)
			continue;
		frames++;
		if (self->f.len > maxlen)
			maxlen = self->f.len;
		if (self->f.vh.hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
			gso++;
			EXPECT_EQ(VIRTIO_NET_HDR_GSO_TCPV4,
				  self->f.vh.hdr.gso_type & ~VIRTIO_NET_HDR_GSO_ECN);
			EXPECT_EQ(1460, self->f.vh.hdr.gso_size);
			EXPECT_LE(54, self->f.vh.hdr.hdr_len);
			EXPECT_LT(1460U, dlen);
			EXPECT_TRUE(self->f.vh.hdr.flags &
				    VIRTIO_NET_HDR_F_NEEDS_CSUM);
		}
		if (self->f.vh.hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			partial++;
			EXPECT_EQ(34, self->f.vh.hdr.csum_start);
			EXPECT_EQ(16, self->f.vh.hdr.csum_offset);
			if (self->f.vh.hdr.gso_type == VIRTIO_NET_HDR_GSO_NONE)
				EXPECT_EQ(0, complete_csum(&self->f));
		}
		if (self->f.vh.hdr.gso_type == VIRTIO_NET_HDR_GSO_NONE &&
		    !tapq_ipv4_valid(iph, tot))
			bad_csum++;
		seq = get32(th + 4);
		if (seq == c.rcv_nxt) {
			ASSERT_GE(plen, got + dlen);
			memcpy(rx + got, th + (th[12] >> 4) * 4, dlen);
			got += dlen;
			c.rcv_nxt += dlen;
		}
		/* ACK what we have. */
		flen = tcp_frame(self->frame, self->mac, &c, TCP_ACK, NULL, 0,
				 0);
		ASSERT_EQ(HDR10 + (ssize_t)flen,
			  send_frame(self->fd, NULL, self->frame, flen));
	}
	EXPECT_EQ(0, memcmp(rx, self->data, plen));
	EXPECT_EQ(0, bad_csum);
	if (variant->expect_gso) {
		EXPECT_LE(1, gso) TH_LOG("%d frames, none GSO", frames);
		EXPECT_LT(1514U, maxlen);
	} else {
		EXPECT_EQ(0, gso);
		EXPECT_GE(1514U, maxlen);
	}
	if (variant->expect_partial) {
		EXPECT_LE(1, partial);
	} else {
		EXPECT_EQ(0, partial);
	}
	EXPECT_EQ(0, tapq_stat(self->name, "tx_drop_hdr"));
	close(s);
}

XTEST_HARNESS_MAIN
