// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * tapq: helpers for the xtap queue-node tests (see tapq.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/sockios.h>

#include "tapq.h"

const uint8_t tapq_peer_mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x02 };

/* Run a shell command built from @fmt; its exit status, or -1. */
int tapq_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ret = system(cmd);
	if (ret == -1 || !WIFEXITED(ret))
		return -1;
	return WEXITSTATUS(ret);
}

/* Read a whole small file (sysfs) into buf; returns bytes or -1. */
int tapq_read_file(const char *path, char *buf, size_t sz)
{
	int fd = open(path, O_RDONLY), n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sz - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* /sys/class/net/@dev/@attr as a number, or -1. */
long tapq_sysfs_long(const char *dev, const char *attr)
{
	char path[256], buf[64];

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", dev, attr);
	if (tapq_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 0);
}

/* The device's MAC address from sysfs; 0 or -1. */
int tapq_dev_mac(const char *dev, uint8_t mac[6])
{
	char path[256], buf[64];
	unsigned int m[6];
	int i;

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", dev);
	if (tapq_read_file(path, buf, sizeof(buf)) < 0)
		return -1;
	if (sscanf(buf, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3],
		   &m[4], &m[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		mac[i] = m[i];
	return 0;
}

/* A unique interface name for this process and a tag. */
void tapq_name(char *buf, const char *tag)
{
	snprintf(buf, IFNAMSIZ, "xq%s%d", tag, getpid() % 100000);
}

/*
 * Create an xtap device with @nq queues, IPv6 off (no stray frames), up,
 * with TAPQ_HOST_IP/24 and a static neighbour entry for TAPQ_PEER_IP.
 * Returns the ifindex, or -1.
 */
int tapq_dev_create(const char *name, int nq, int txqlen)
{
	if (tapq_sh("ip link add %s numtxqueues %d numrxqueues %d txqueuelen %d type xtap",
		    name, nq, nq, txqlen))
		return -1;
	tapq_sh("sysctl -qw net.ipv6.conf.%s.disable_ipv6=1", name);
	if (tapq_sh("ip addr add %s/24 dev %s && ip link set %s up",
		    TAPQ_HOST_IP, name, name))
		return -1;
	if (tapq_sh("ip neigh replace %s lladdr 02:00:5e:00:00:02 dev %s nud permanent",
		    TAPQ_PEER_IP, name))
		return -1;
	return if_nametoindex(name);
}

/* Delete the device named @name (nothing when the name is empty). */
void tapq_dev_delete(const char *name)
{
	if (name[0])
		tapq_sh("ip link del %s 2>/dev/null", name);
}

/* Open a queue of the device: /dev/xtap<ifindex>; fd or -1. */
int tapq_open(int ifindex, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/" XTAP_QUEUE_PREFIX "%d", ifindex);
	return open(path, O_RDWR | O_CLOEXEC | flags);
}

/*
 * Wait until the carrier change of an open/attach has reached the qdisc
 * layer: linkwatch sets operstate and activates the qdisc in one rtnl
 * section, so once operstate is "up", any ioctl that takes rtnl (TUNGETIFF
 * does) returns after the qdisc is active.  Returns 0 or -1.
 */
int tapq_wait_up(const char *dev, int fd)
{
	char path[256], buf[32];
	struct ifreq ifr;
	int i;

	snprintf(path, sizeof(path), "/sys/class/net/%s/operstate", dev);
	for (i = 0; i < 500; i++) {
		if (tapq_read_file(path, buf, sizeof(buf)) > 0 &&
		    !strncmp(buf, "up", 2))
			return ioctl(fd, TUNGETIFF, &ifr) ? -1 : 0;
		usleep(10000);
	}
	return -1;
}

/* ethtool -S counter by name, or -1. */
long long tapq_stat(const char *dev, const char *name)
{
	struct ethtool_sset_info *info;
	struct ethtool_gstrings *strs;
	struct ethtool_stats *st;
	long long ret = -1;
	struct ifreq ifr;
	unsigned int n, i;
	int s;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	info = calloc(1, sizeof(*info) + sizeof(__u32));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
	info->cmd = ETHTOOL_GSSET_INFO;
	info->sset_mask = 1ULL << ETH_SS_STATS;
	ifr.ifr_data = (void *)info;
	if (ioctl(s, SIOCETHTOOL, &ifr) || !info->sset_mask) {
		free(info);
		close(s);
		return -1;
	}
	n = info->data[0];
	free(info);
	strs = calloc(1, sizeof(*strs) + n * ETH_GSTRING_LEN);
	st = calloc(1, sizeof(*st) + n * sizeof(__u64));
	strs->cmd = ETHTOOL_GSTRINGS;
	strs->string_set = ETH_SS_STATS;
	strs->len = n;
	ifr.ifr_data = (void *)strs;
	if (ioctl(s, SIOCETHTOOL, &ifr))
		goto out;
	st->cmd = ETHTOOL_GSTATS;
	st->n_stats = n;
	ifr.ifr_data = (void *)st;
	if (ioctl(s, SIOCETHTOOL, &ifr))
		goto out;
	for (i = 0; i < n; i++)
		if (!strncmp((char *)strs->data + i * ETH_GSTRING_LEN, name,
			     ETH_GSTRING_LEN)) {
			ret = st->data[i];
			break;
		}
out:
	free(strs);
	free(st);
	close(s);
	return ret;
}

/* Legacy ethtool get of one feature flag (ETHTOOL_GTSO, _GTXCSUM...). */
int tapq_feature(const char *dev, __u32 cmd)
{
	struct ethtool_value ev = { .cmd = cmd };
	struct ifreq ifr;
	int s, ret;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
	ifr.ifr_data = (void *)&ev;
	ret = ioctl(s, SIOCETHTOOL, &ifr);
	close(s);
	return ret ? -1 : (int)ev.data;
}

/* Checksums. */

/* Add @len bytes to a ones' complement sum (host order, unfolded). */
uint32_t tapq_sum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	while (len > 1) {
		sum += (p[0] << 8) | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += p[0] << 8;
	return sum;
}

/* Fold a 32-bit ones' complement sum to 16 bits. */
uint16_t tapq_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* Host-order sum of the IPv4 pseudo header. */
uint32_t tapq_pseudo(const uint8_t *iph, uint8_t proto, uint16_t l4len)
{
	uint32_t sum = tapq_sum(iph + 12, 8, 0);

	return sum + proto + l4len;
}

/* Full L4 checksum of an IPv4 packet at @iph (network order result). */
uint16_t tapq_l4_csum(const uint8_t *iph, size_t l4len)
{
	const uint8_t *l4 = iph + (iph[0] & 0xf) * 4;
	uint32_t sum = tapq_pseudo(iph, iph[9], l4len);

	return htons(~tapq_fold(tapq_sum(l4, l4len, sum)) & 0xffff);
}

/* Does the IPv4 packet at @iph have valid IP and L4 checksums? */
int tapq_ipv4_valid(const uint8_t *iph, size_t len)
{
	size_t ihl = (iph[0] & 0xf) * 4, tot = (iph[2] << 8) | iph[3];

	if (len < 20 || tot > len || ihl < 20)
		return 0;
	if (tapq_fold(tapq_sum(iph, ihl, 0)) != 0xffff)
		return 0;
	if (iph[9] == IPPROTO_TCP || iph[9] == IPPROTO_UDP ||
	    iph[9] == IPPROTO_ICMP) {
		uint32_t sum = iph[9] == IPPROTO_ICMP ? 0 :
			       tapq_pseudo(iph, iph[9], tot - ihl);

		if (iph[9] == IPPROTO_UDP && !iph[ihl + 6] && !iph[ihl + 7])
			return 1;	/* no UDP checksum */
		return tapq_fold(tapq_sum(iph + ihl, tot - ihl, sum)) == 0xffff;
	}
	return 1;
}

/* Frame building: each returns the offset after the header it wrote. */

/* Ethernet header. */
size_t tapq_eth(uint8_t *p, const uint8_t *dst,
		const uint8_t *src, uint16_t type)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	p[12] = type >> 8;
	p[13] = type & 0xff;
	return 14;
}

/* IPv4 header with checksum; @l4len is the payload length after it. */
size_t tapq_ip(uint8_t *p, const char *src, const char *dst,
	       uint8_t proto, size_t l4len, uint16_t id)
{
	uint16_t tot = 20 + l4len, c;

	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = tot >> 8;
	p[3] = tot & 0xff;
	p[4] = id >> 8;
	p[5] = id & 0xff;
	p[6] = 0x40;	/* DF */
	p[8] = 64;
	p[9] = proto;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	c = ~tapq_fold(tapq_sum(p, 20, 0));
	p[10] = c >> 8;
	p[11] = c & 0xff;
	return 20;
}

/* Fill @len payload bytes with a pattern that depends on @seed. */
void tapq_pattern(uint8_t *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)((seed + i) * 2654435761u >> 24);
}

/*
 * Ethernet + IPv4 + UDP frame from the peer to @dst_ip:@dport with
 * @plen payload bytes of pattern @seed; full UDP checksum.  Returns the
 * frame length.
 */
size_t tapq_udp_frame(uint8_t *f, const uint8_t *dmac,
		      const char *dst_ip, uint16_t sport,
		      uint16_t dport, size_t plen, uint32_t seed)
{
	size_t off = tapq_eth(f, dmac, tapq_peer_mac, ETH_P_IP);
	uint8_t *iph = f + off, *u;
	uint16_t c;

	off += tapq_ip(iph, TAPQ_PEER_IP, dst_ip, IPPROTO_UDP, 8 + plen, 1);
	u = f + off;
	u[0] = sport >> 8;
	u[1] = sport & 0xff;
	u[2] = dport >> 8;
	u[3] = dport & 0xff;
	u[4] = (8 + plen) >> 8;
	u[5] = (8 + plen) & 0xff;
	u[6] = u[7] = 0;
	tapq_pattern(u + 8, plen, seed);
	c = tapq_l4_csum(iph, 8 + plen);
	memcpy(u + 6, &c, 2);
	return off + 8 + plen;
}

/* Write vnet header (of @hdr_sz bytes, from @vh) plus frame. */
ssize_t tapq_write(int fd, int hdr_sz,
		   const struct virtio_net_hdr *vh,
		   const void *frame, size_t len)
{
	uint8_t hdr[20] = {};
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = hdr_sz },
		{ .iov_base = (void *)frame, .iov_len = len },
	};

	if (vh)
		memcpy(hdr, vh, sizeof(*vh));
	return writev(fd, iov, 2);
}

/*
 * Read one frame into @f within @timeout_ms; returns the frame length
 * (without header), 0 on timeout, -errno on error.
 */
ssize_t tapq_read(int fd, int hdr_sz, struct tapq_frame *f, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint8_t hdr[20];
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = hdr_sz },
		{ .iov_base = f->data, .iov_len = sizeof(f->data) },
	};
	ssize_t n;

	for (;;) {
		n = poll(&pfd, 1, timeout_ms);
		if (n == 0)
			return 0;
		if (n < 0)
			return -errno;
		n = readv(fd, iov, 2);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n < 0)
			return -errno;
		if (n < hdr_sz)
			return -EPROTO;
		memset(&f->vh, 0, sizeof(f->vh));
		memcpy(&f->vh, hdr, hdr_sz < 12 ? hdr_sz : 12);
		f->hdr_sz = hdr_sz;
		f->len = n - hdr_sz;
		return f->len;
	}
}

/* Is @f an IPv4 frame with protocol @proto (0 = any)? Returns iph. */
const uint8_t *tapq_ipv4(const struct tapq_frame *f, uint8_t proto)
{
	if (f->len < 34 || f->data[12] != 0x08 || f->data[13] != 0x00)
		return NULL;
	if (proto && f->data[14 + 9] != proto)
		return NULL;
	return f->data + 14;
}

/*
 * Read frames until one is IPv4 @proto (skipping others), within
 * @timeout_ms in total; returns its L3 header or NULL.
 */
const uint8_t *tapq_read_ipv4(int fd, int hdr_sz,
			      struct tapq_frame *f,
			      uint8_t proto, int timeout_ms)
{
	int i;

	for (i = 0; i < 100; i++) {
		const uint8_t *iph;

		if (tapq_read(fd, hdr_sz, f, timeout_ms) <= 0)
			return NULL;
		iph = tapq_ipv4(f, proto);
		if (iph)
			return iph;
	}
	return NULL;
}

/* Drain whatever is queued on a nonblocking queue fd; returns count. */
int tapq_drain(int fd)
{
	static uint8_t buf[70000];
	int n = 0;

	while (read(fd, buf, sizeof(buf)) >= 0)
		n++;
	return n;
}

/* Set or clear O_NONBLOCK; 0 or -1. */
int tapq_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* A UDP socket bound to TAPQ_HOST_IP:@port; returns fd or -1. */
int tapq_udp_sock(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, TAPQ_HOST_IP, &a.sin_addr);
	if (s < 0 || bind(s, (void *)&a, sizeof(a))) {
		if (s >= 0)
			close(s);
		return -1;
	}
	return s;
}
