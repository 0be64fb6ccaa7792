// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * vdrv backends: create an interface (a tun/tap device or an xtap link),
 * open its queue and vhost nodes, and move frames on the host side with
 * AF_PACKET sockets bound to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>

#include "vdrv.h"

#define TUN_PATH	"/dev/net/tun"
#define VHOST_NET_PATH	"/dev/vhost-net"
#define VHOST_XTAP_PATH	"/dev/vhost-xtap"
#define XTAP_NODE_FMT	"/dev/xtap%d"

/**
 * vdrv_kind_name() - printable name of a backend kind
 * @kind: VDRV_UPSTREAM or VDRV_XTAP
 *
 * Return: a static string.
 */
const char *vdrv_kind_name(enum vdrv_kind kind)
{
	return kind == VDRV_XTAP ? "xtap" : "upstream";
}

/**
 * vdrv_vhost_path() - the vhost node of a backend kind
 * @kind: VDRV_UPSTREAM or VDRV_XTAP
 *
 * Return: a static string.
 */
const char *vdrv_vhost_path(enum vdrv_kind kind)
{
	return kind == VDRV_XTAP ? VHOST_XTAP_PATH : VHOST_NET_PATH;
}

static long vdrv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---------------------------------------------------------------------- */
/* Interfaces */

static int vdrv_ifreq(const char *ifname, unsigned long req, struct ifreq *ifr)
{
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strncpy(ifr->ifr_name, ifname, IFNAMSIZ - 1);
	if (ioctl(fd, req, ifr) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/**
 * vdrv_link_set_up() - set or clear IFF_UP
 * @ifname: interface
 * @up: new state
 *
 * Return: 0 or -errno.
 */
int vdrv_link_set_up(const char *ifname, bool up)
{
	struct ifreq ifr = {};
	int ret;

	ret = vdrv_ifreq(ifname, SIOCGIFFLAGS, &ifr);
	if (ret)
		return ret;
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	return vdrv_ifreq(ifname, SIOCSIFFLAGS, &ifr);
}

/**
 * vdrv_link_set_mtu() - set the MTU
 * @ifname: interface
 * @mtu: new MTU
 *
 * Return: 0 or -errno.
 */
int vdrv_link_set_mtu(const char *ifname, unsigned int mtu)
{
	struct ifreq ifr = { .ifr_mtu = mtu };

	return vdrv_ifreq(ifname, SIOCSIFMTU, &ifr);
}

/**
 * vdrv_link_get_mtu() - read the MTU
 * @ifname: interface
 *
 * Return: the MTU or -errno.
 */
int vdrv_link_get_mtu(const char *ifname)
{
	struct ifreq ifr = {};
	int ret = vdrv_ifreq(ifname, SIOCGIFMTU, &ifr);

	return ret ? ret : ifr.ifr_mtu;
}

/**
 * vdrv_link_disable_ipv6() - keep the stack from sending its own frames
 * @ifname: interface
 *
 * Without this, bringing the link up sends router solicitations and MLD
 * reports that would land in the guest's RX queue.
 *
 * Return: 0, or -errno (0 as well when the kernel has no IPv6).
 */
int vdrv_link_disable_ipv6(const char *ifname)
{
	char path[128];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (write(fd, "1", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

/**
 * vdrv_nla_put() - append an attribute to a netlink message
 * @nh: the message; its buffer must have room for the attribute
 * @type: attribute type (with NLA_F_NESTED for a nest, then @len 0)
 * @data: payload, or NULL with @len 0
 * @len: payload length
 */
void vdrv_nla_put(struct nlmsghdr *nh, unsigned short type, const void *data,
		  size_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)nh +
					     NLMSG_ALIGN(nh->nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/**
 * vdrv_rtnl_talk() - send one rtnetlink request and wait for its ack
 * @nh: the request (NLM_F_REQUEST | NLM_F_ACK and a sequence are added)
 *
 * Return: 0 or the -errno the kernel answered.
 */
int vdrv_rtnl_talk(struct nlmsghdr *nh)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[4096];
	struct nlmsghdr *rh;
	struct nlmsgerr *e;
	int fd, ret;
	ssize_t n;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	nh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nh->nlmsg_seq = 1;
	if (sendto(fd, nh, nh->nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		for (rh = (struct nlmsghdr *)buf; NLMSG_OK(rh, n);
		     rh = NLMSG_NEXT(rh, n)) {
			if (rh->nlmsg_type != NLMSG_ERROR)
				continue;
			e = NLMSG_DATA(rh);
			ret = e->error;
			goto out;
		}
	}
out:
	close(fd);
	return ret;
}

/**
 * vdrv_rtnl_newlink() - ip link add NAME type KIND
 * @ifname: interface name
 * @kind: rtnl link kind
 *
 * Return: 0 or -errno (as the kernel answered).
 */
int vdrv_rtnl_newlink(const char *ifname, const char *kind)
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
	vdrv_nla_put(&m.nh, IFLA_INFO_KIND, kind, strlen(kind));
	li->nla_len = m.buf + m.nh.nlmsg_len - (char *)li;
	return vdrv_rtnl_talk(&m.nh);
}

/**
 * vdrv_rtnl_dellink() - ip link del dev INDEX
 * @ifindex: interface index
 *
 * Return: 0 or -errno.
 */
int vdrv_rtnl_dellink(int ifindex)
{
	union {
		struct nlmsghdr nh;
		char buf[128];
	} m = {};
	struct ifinfomsg *ifi;

	m.nh.nlmsg_type = RTM_DELLINK;
	m.nh.nlmsg_len = NLMSG_LENGTH(sizeof(*ifi));
	ifi = NLMSG_DATA(&m.nh);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return vdrv_rtnl_talk(&m.nh);
}

/* ---------------------------------------------------------------------- */
/* Backends */

static int vdrv_tun_open(const char *ifname, unsigned int flags)
{
	struct ifreq ifr = {};
	int fd;

	fd = open(TUN_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (!(flags & VDRV_BE_NO_VNET_HDR))
		ifr.ifr_flags |= IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/**
 * vdrv_backend_open_queue() - open one more queue of the interface
 * @be: backend
 *
 * Upstream: /dev/net/tun + TUNSETIFF on the name (the device takes one
 * queue at a time without IFF_MULTI_QUEUE); xtap: /dev/xtap<ifindex> (as
 * many queues as the link has tx queues), plus TUNSETIFF without
 * IFF_VNET_HDR for VDRV_BE_NO_VNET_HDR.
 *
 * Return: the fd or -errno.
 */
int vdrv_backend_open_queue(const struct vdrv_backend *be)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	char path[64];
	long deadline;
	int fd, err;

	if (be->kind == VDRV_UPSTREAM)
		return vdrv_tun_open(be->ifname, be->flags);
	snprintf(path, sizeof(path), XTAP_NODE_FMT, be->ifindex);
	/* devtmpfs creates the node when the link registers; allow a moment */
	deadline = vdrv_now_ms() + 2000;
	for (;;) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0)
			break;
		if (errno != ENOENT || vdrv_now_ms() > deadline)
			return -errno;
		usleep(10000);
	}
	/* a queue starts with IFF_VNET_HDR; TUNSETIFF drops it, as in tun */
	if (be->flags & VDRV_BE_NO_VNET_HDR) {
		snprintf(ifr.ifr_name, IFNAMSIZ, "%s", be->ifname);
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			err = -errno;
			close(fd);
			return err;
		}
	}
	return fd;
}

/**
 * vdrv_backend_open_vhost() - open the vhost node of the backend's kind
 * @be: backend
 *
 * Return: the fd or -errno.
 */
int vdrv_backend_open_vhost(const struct vdrv_backend *be)
{
	int fd = open(vdrv_vhost_path(be->kind), O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/**
 * vdrv_backend_close_fds() - close the queue and vhost fds (link stays)
 * @be: backend
 */
void vdrv_backend_close_fds(struct vdrv_backend *be)
{
	if (be->vhost_fd >= 0)
		close(be->vhost_fd);
	if (be->tap_fd >= 0)
		close(be->tap_fd);
	be->vhost_fd = -1;
	be->tap_fd = -1;
}

/**
 * vdrv_backend_reopen() - close and open again the queue and vhost fds
 * @be: backend (upstream needs VDRV_BE_PERSIST for the link to survive)
 *
 * Both are opened, whatever flags the backend was created with.
 *
 * Return: 0 or -errno.
 */
int vdrv_backend_reopen(struct vdrv_backend *be)
{
	int fd;

	vdrv_backend_close_fds(be);
	fd = vdrv_backend_open_queue(be);
	if (fd < 0)
		return fd;
	be->tap_fd = fd;
	fd = vdrv_backend_open_vhost(be);
	if (fd < 0)
		return fd;
	be->vhost_fd = fd;
	return 0;
}

/**
 * vdrv_backend_create() - create an interface and open its nodes
 * @be: backend to fill
 * @kind: upstream (tun + vhost-net) or xtap
 * @ifname: interface name
 * @flags: VDRV_BE_*
 *
 * Creates the interface (a tap device through /dev/net/tun, or an xtap link
 * through rtnetlink), disables IPv6 on it, opens one queue and the vhost
 * node, and sets the link up.
 *
 * Return: 0 or -errno; on error nothing is left behind.
 */
int vdrv_backend_create(struct vdrv_backend *be, enum vdrv_kind kind,
			const char *ifname, unsigned int flags)
{
	int ret, fd;

	memset(be, 0, sizeof(*be));
	be->kind = kind;
	be->flags = flags;
	be->tap_fd = -1;
	be->vhost_fd = -1;
	strncpy(be->ifname, ifname, IFNAMSIZ - 1);

	if (kind == VDRV_UPSTREAM) {
		fd = vdrv_tun_open(ifname, flags);
		if (fd < 0)
			return fd;
		be->tap_fd = fd;
		if ((flags & VDRV_BE_PERSIST) &&
		    ioctl(fd, TUNSETPERSIST, 1) < 0) {
			ret = -errno;
			goto err;
		}
	} else {
		ret = vdrv_rtnl_newlink(ifname, "xtap");
		if (ret)
			return ret;
	}
	be->ifindex = if_nametoindex(ifname);
	if (!be->ifindex) {
		ret = -ENODEV;
		goto err;
	}
	ret = vdrv_link_disable_ipv6(ifname);
	if (ret)
		goto err;
	if (kind == VDRV_XTAP && !(flags & VDRV_BE_NO_QUEUE)) {
		fd = vdrv_backend_open_queue(be);
		if (fd < 0) {
			ret = fd;
			goto err;
		}
		be->tap_fd = fd;
	}
	if (kind == VDRV_UPSTREAM && (flags & VDRV_BE_NO_QUEUE)) {
		close(be->tap_fd);
		be->tap_fd = -1;
	}
	if (!(flags & VDRV_BE_NO_VHOST)) {
		fd = vdrv_backend_open_vhost(be);
		if (fd < 0) {
			ret = fd;
			goto err;
		}
		be->vhost_fd = fd;
	}
	ret = vdrv_link_set_up(ifname, true);
	if (ret)
		goto err;
	return 0;
err:
	vdrv_backend_destroy(be);
	return ret;
}

/**
 * vdrv_backend_destroy() - close the fds and delete the interface
 * @be: backend (may be partly set up, or already destroyed)
 */
void vdrv_backend_destroy(struct vdrv_backend *be)
{
	int fd;

	vdrv_backend_close_fds(be);
	if (!be->ifname[0])
		return;
	if (be->kind == VDRV_XTAP) {
		if (be->ifindex)
			vdrv_rtnl_dellink(be->ifindex);
	} else if (be->flags & VDRV_BE_PERSIST) {
		fd = vdrv_tun_open(be->ifname, be->flags);
		if (fd >= 0) {
			ioctl(fd, TUNSETPERSIST, 0);
			close(fd);
		}
	}
	be->ifname[0] = 0;
	be->ifindex = 0;
}

/**
 * vdrv_backend_set_hdr_len() - TUNSETVNETHDRSZ on the queue fd
 * @be: backend
 * @len: header size; 0 does nothing (the queue carries no header)
 *
 * Return: 0 or -errno.
 */
int vdrv_backend_set_hdr_len(const struct vdrv_backend *be, int len)
{
	if (!len)
		return 0;
	if (ioctl(be->tap_fd, TUNSETVNETHDRSZ, &len) < 0)
		return -errno;
	return 0;
}

/**
 * vdrv_read_file() - read a small file (sysfs, procfs) into a string
 * @path: the file
 * @buf: receives at most @len - 1 bytes and a terminating NUL
 * @len: size of @buf, at least 1
 *
 * Return: 0 or -errno.
 */
int vdrv_read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = 0;
	return 0;
}

static int vdrv_read_sysfs(const char *ifname, const char *attr, char *buf,
			   size_t len)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname, attr);
	return vdrv_read_file(path, buf, len);
}

/**
 * vdrv_backend_wait_running() - wait until the link can transmit
 * @be: backend
 * @timeout_ms: how long to wait
 *
 * The link must be up with carrier and an operational state of "up" or
 * "unknown" (a tap gets carrier when a queue attaches, and the state
 * follows asynchronously).
 *
 * Return: 0, or -ETIMEDOUT.
 */
int vdrv_backend_wait_running(const struct vdrv_backend *be, int timeout_ms)
{
	long deadline = vdrv_now_ms() + timeout_ms;
	char carrier[16], oper[32];

	for (;;) {
		if (!vdrv_read_sysfs(be->ifname, "carrier", carrier,
				     sizeof(carrier)) &&
		    !vdrv_read_sysfs(be->ifname, "operstate", oper,
				     sizeof(oper)) &&
		    carrier[0] == '1' &&
		    (!strncmp(oper, "up", 2) || !strncmp(oper, "unknown", 7)))
			return 0;
		if (vdrv_now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(10000);
	}
}

/* ---------------------------------------------------------------------- */
/* AF_PACKET */

/**
 * vdrv_pkt_drain() - discard everything queued on a packet socket
 * @fd: socket
 *
 * Return: frames discarded.
 */
int vdrv_pkt_drain(int fd)
{
	char buf[64];
	int n = 0;

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC) >= 0)
		n++;
	return n;
}

/**
 * vdrv_pkt_open() - an AF_PACKET socket bound to the interface (ETH_P_ALL)
 * @ifindex: interface
 *
 * Large socket buffers; non-blocking.
 *
 * Return: the fd or -errno.
 */
int vdrv_pkt_open(int ifindex)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = ifindex,
	};
	int fd, size = 8 << 20;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    htons(ETH_P_ALL));
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	/* frames of other interfaces may have arrived before bind() */
	vdrv_pkt_drain(fd);
	return fd;
}

/**
 * vdrv_pkt_send() - transmit one frame on the interface
 * @fd: socket from vdrv_pkt_open()
 * @ifindex: interface
 * @frame: Ethernet frame
 * @len: its length
 *
 * Return: 0, or -errno (-ENOBUFS when the device queue is full).
 */
int vdrv_pkt_send(int fd, int ifindex, const void *frame, size_t len)
{
	const uint8_t *f = frame;
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = ifindex,
		.sll_halen = ETH_ALEN,
	};
	ssize_t n;

	if (len >= ETH_HLEN) {
		memcpy(sll.sll_addr, f, ETH_ALEN);
		memcpy(&sll.sll_protocol, f + 2 * ETH_ALEN, 2);
	}
	n = sendto(fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll));
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

/**
 * vdrv_pkt_recv() - receive one frame that arrived on the interface
 * @fd: socket from vdrv_pkt_open()
 * @buf: where to put it
 * @cap: size of @buf
 * @timeout_ms: how long to wait
 *
 * Frames the host itself transmitted on the interface are skipped.
 *
 * Return: the frame's full length (may exceed @cap), -ETIMEDOUT, -errno.
 */
int vdrv_pkt_recv(int fd, void *buf, size_t cap, int timeout_ms)
{
	long deadline = vdrv_now_ms() + timeout_ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct sockaddr_ll sll;
	socklen_t sl;
	ssize_t n;
	long left;

	for (;;) {
		sl = sizeof(sll);
		n = recvfrom(fd, buf, cap, MSG_DONTWAIT | MSG_TRUNC,
			     (struct sockaddr *)&sll, &sl);
		if (n >= 0) {
			if (sll.sll_pkttype == PACKET_OUTGOING)
				continue;
			return n;
		}
		if (errno != EAGAIN)
			return -errno;
		left = deadline - vdrv_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, left) < 0 && errno != EINTR)
			return -errno;
	}
}

/**
 * vdrv_ethtool_stat() - one counter of ethtool -S
 * @ifname: the interface
 * @name: the counter's name, e.g. "q0_kicks"
 *
 * Return: its value, or -errno (-ENOENT: no such counter).
 */
long long vdrv_ethtool_stat(const char *ifname, const char *name)
{
	struct ethtool_sset_info *sset;
	struct ethtool_gstrings *strs = NULL;
	struct ethtool_stats *st = NULL;
	long long ret = -ENOENT;
	struct ifreq ifr = {};
	unsigned int n, i;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sset = calloc(1, sizeof(*sset) + sizeof(__u32));
	if (!sset) {
		close(fd);
		return -ENOMEM;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	sset->cmd = ETHTOOL_GSSET_INFO;
	sset->sset_mask = 1ULL << ETH_SS_STATS;
	ifr.ifr_data = (void *)sset;
	if (ioctl(fd, SIOCETHTOOL, &ifr)) {
		ret = -errno;
		goto out;
	}
	n = sset->data[0];
	strs = calloc(1, sizeof(*strs) + (size_t)n * ETH_GSTRING_LEN);
	st = calloc(1, sizeof(*st) + (size_t)n * sizeof(__u64));
	if (!strs || !st) {
		ret = -ENOMEM;
		goto out;
	}
	strs->cmd = ETHTOOL_GSTRINGS;
	strs->string_set = ETH_SS_STATS;
	strs->len = n;
	ifr.ifr_data = (void *)strs;
	if (ioctl(fd, SIOCETHTOOL, &ifr)) {
		ret = -errno;
		goto out;
	}
	st->cmd = ETHTOOL_GSTATS;
	st->n_stats = n;
	ifr.ifr_data = (void *)st;
	if (ioctl(fd, SIOCETHTOOL, &ifr)) {
		ret = -errno;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!strncmp((char *)strs->data + i * ETH_GSTRING_LEN, name,
			     ETH_GSTRING_LEN)) {
			ret = (long long)st->data[i];
			break;
		}
	}
out:
	free(st);
	free(strs);
	free(sset);
	close(fd);
	return ret;
}

/**
 * vdrv_xtap_worker_name() - the name of an attached xtap worker thread
 * @buf: receives the name
 * @len: size of @buf
 * @dir: "rx" or "tx" (the guest's side)
 * @ifindex: the device of the queue the virtqueue is attached to
 * @queue: that queue's index when it was attached
 *
 * xtap names a worker "xtap-<dir>-<owner pid>" at VHOST_SET_OWNER and
 * "xtap-<dir>-<ifindex>q<queue>" once its virtqueue is attached.
 */
void vdrv_xtap_worker_name(char *buf, size_t len, const char *dir,
			   int ifindex, unsigned int queue)
{
	snprintf(buf, len, "xtap-%s-%dq%u", dir, ifindex, queue);
}

/**
 * vdrv_threads_named() - find the threads (or kernel threads) named @comm
 * @comm: the exact name, as in /proc/<pid>/comm
 * @pids: receives up to @max pids; may be NULL when @max is 0
 * @max: size of @pids
 *
 * Kernel threads are processes of their own, so this scans /proc.
 *
 * Return: how many there are (which may exceed @max), or -errno.
 */
int vdrv_threads_named(const char *comm, int *pids, int max)
{
	char path[300], name[64];
	struct dirent *de;
	size_t len;
	int n = 0;
	DIR *dir;

	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		if (vdrv_read_file(path, name, sizeof(name)))
			continue;
		len = strlen(name);
		if (len && name[len - 1] == '\n')
			name[len - 1] = 0;
		if (strcmp(name, comm))
			continue;
		if (n < max)
			pids[n] = atoi(de->d_name);
		n++;
	}
	closedir(dir);
	return n;
}
