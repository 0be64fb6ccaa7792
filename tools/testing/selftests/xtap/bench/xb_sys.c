// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * xbench host plumbing: CPU affinity, the backends' worker threads and
 * their CPU time, interface addresses and counters, the two tiny XDP
 * programs (loaded from raw instructions: no compiler needed), veth pairs,
 * and the host-side sockets.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "xbench.h"

/**
 * xb_now() - monotonic time
 *
 * Return: seconds.
 */
double xb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int xb_pin(pid_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(tid, sizeof(set), &set) ? -errno : 0;
}

/**
 * xb_pin_self() - run the calling thread on one CPU only
 * @cpu: the CPU
 *
 * Return: 0 or -errno.
 */
int xb_pin_self(int cpu)
{
	return xb_pin(0, cpu);
}

/**
 * xb_find_workers() - find the worker threads of @e's backend
 * @e: environment (attached by this process)
 *
 * Upstream vhost-net runs one kernel thread "vhost-<owner pid>" per device;
 * xtap one per virtqueue, named "xtap-rx-<ifindex>q<queue>" and
 * "xtap-tx-<ifindex>q<queue>" once attached (drivers/net/xtap/vhost.c).
 *
 * Return: the number found, or -errno.
 */
int xb_find_workers(struct xb_env *e)
{
	static const char * const dirs[] = { "rx", "tx" };
	unsigned int i, room;
	char comm[32];
	int n;

	e->nworkers = 0;
	for (i = 0; i < 2; i++) {
		if (e->kind == VDRV_XTAP)
			vdrv_xtap_worker_name(comm, sizeof(comm), dirs[i],
					      e->be.ifindex, 0);
		else if (i)
			break;
		else
			snprintf(comm, sizeof(comm), "vhost-%d", getpid());
		room = XB_MAX_WORKERS - e->nworkers;
		n = vdrv_threads_named(comm, e->workers + e->nworkers, room);
		if (n < 0)
			return n;
		e->nworkers += (unsigned int)n < room ? (unsigned int)n : room;
	}
	return e->nworkers;
}

/**
 * xb_pin_workers() - move the backend's worker threads to one CPU
 * @e: environment with its workers found
 * @cpu: the CPU
 *
 * Return: 0, or the -errno of the first thread that refused.
 */
int xb_pin_workers(struct xb_env *e, int cpu)
{
	unsigned int i;
	int ret;

	for (i = 0; i < e->nworkers; i++) {
		ret = xb_pin(e->workers[i], cpu);
		if (ret)
			return ret;
	}
	e->pinned = true;
	return 0;
}

/**
 * xb_workers_cpu_ns() - CPU time the worker threads used so far
 * @e: environment
 *
 * Sum of utime and stime (fields 14 and 15 of /proc/<tid>/stat, in clock
 * ticks) of every worker.
 *
 * Return: nanoseconds.
 */
uint64_t xb_workers_cpu_ns(const struct xb_env *e)
{
	unsigned long long ut, st, ticks = 0;
	char path[64], buf[1024], *p;
	unsigned int i;
	long hz = sysconf(_SC_CLK_TCK);

	for (i = 0; i < e->nworkers; i++) {
		snprintf(path, sizeof(path), "/proc/%d/stat", e->workers[i]);
		if (vdrv_read_file(path, buf, sizeof(buf)))
			continue;
		/* the name may hold anything: fields resume after its ')' */
		p = strrchr(buf, ')');
		if (!p)
			continue;
		/* state ppid pgrp session tty tpgid flags minflt cminflt
		 * majflt cmajflt, then utime stime
		 */
		if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			   &ut, &st) == 2)
			ticks += ut + st;
	}
	return ticks * (1000000000ULL / (hz > 0 ? hz : 100));
}

/**
 * xb_workers_runtime_ns() - on-CPU time of the worker threads so far
 * @e: environment
 *
 * Sum of the first field of /proc/<tid>/schedstat (the scheduler's
 * nanosecond count): precise where utime+stime only sample at each tick.
 *
 * Return: nanoseconds.
 */
uint64_t xb_workers_runtime_ns(const struct xb_env *e)
{
	unsigned long long ns, sum = 0;
	char path[64], buf[128];
	unsigned int i;

	for (i = 0; i < e->nworkers; i++) {
		snprintf(path, sizeof(path), "/proc/%d/schedstat",
			 e->workers[i]);
		if (!vdrv_read_file(path, buf, sizeof(buf)) &&
		    sscanf(buf, "%llu", &ns) == 1)
			sum += ns;
	}
	return sum;
}

/**
 * xb_if_stat() - one counter of /sys/class/net/<if>/statistics
 * @ifname: interface
 * @name: counter, e.g. "rx_packets"
 *
 * Return: its value, or -1.
 */
long long xb_if_stat(const char *ifname, const char *name)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s",
		 ifname, name);
	if (vdrv_read_file(path, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 10);
}

static int xb_ioctl_inet(unsigned long req, void *arg)
{
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, req, arg) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/**
 * xb_if_addr() - give an interface an IPv4 address
 * @ifname: interface
 * @ip: dotted address
 * @prefix: prefix length
 *
 * Return: 0 or -errno.
 */
int xb_if_addr(const char *ifname, const char *ip, unsigned int prefix)
{
	struct ifreq ifr = {};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int ret;

	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1)
		return -EINVAL;
	ret = xb_ioctl_inet(SIOCSIFADDR, &ifr);
	if (ret)
		return ret;
	sin = (struct sockaddr_in *)&ifr.ifr_netmask;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(prefix ? ~0U << (32 - prefix) : 0);
	return xb_ioctl_inet(SIOCSIFNETMASK, &ifr);
}

/**
 * xb_neigh_add() - a permanent neighbour entry (no ARP in the way)
 * @ifname: interface
 * @ip: the neighbour's address
 * @mac: its MAC
 *
 * Return: 0 or -errno.
 */
int xb_neigh_add(const char *ifname, const char *ip, const uint8_t *mac)
{
	struct arpreq r = {};
	struct sockaddr_in *sin = (struct sockaddr_in *)&r.arp_pa;

	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, ip, &sin->sin_addr) != 1)
		return -EINVAL;
	r.arp_ha.sa_family = ARPHRD_ETHER;
	memcpy(r.arp_ha.sa_data, mac, 6);
	r.arp_flags = ATF_PERM | ATF_COM;
	strncpy(r.arp_dev, ifname, sizeof(r.arp_dev) - 1);
	return xb_ioctl_inet(SIOCSARP, &r);
}

/**
 * xb_if_mac() - an interface's MAC address
 * @ifname: interface
 * @mac: where to put it
 *
 * Return: 0 or -errno.
 */
int xb_if_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr = {};
	int ret;

	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	ret = xb_ioctl_inet(SIOCGIFHWADDR, &ifr);
	if (!ret)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* XDP */

#define XB_INSN(c, d, s, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), \
			    .off = (o), .imm = (i) })

/*
 * Load an XDP program: XDP_DROP for every frame, or bpf_redirect() of
 * every frame to @redirect_ifindex (when not 0).
 */
static int xb_xdp_load(int redirect_ifindex)
{
	struct bpf_insn drop[] = {
		XB_INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_DROP),
		XB_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	struct bpf_insn redirect[] = {
		XB_INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_1, 0, 0,
			redirect_ifindex),
		XB_INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_2, 0, 0, 0),
		XB_INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect),
		XB_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	static char log[4096];
	union bpf_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_XDP;
	if (redirect_ifindex) {
		a.insns = (uintptr_t)redirect;
		a.insn_cnt = sizeof(redirect) / sizeof(redirect[0]);
	} else {
		a.insns = (uintptr_t)drop;
		a.insn_cnt = sizeof(drop) / sizeof(drop[0]);
	}
	a.license = (uintptr_t)"GPL";
	a.log_buf = (uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	fd = syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	if (fd < 0) {
		fd = -errno;
		fprintf(stderr, "# BPF_PROG_LOAD: %s\n%s\n", strerror(-fd), log);
	}
	return fd;
}

/**
 * xb_xdp_attach() - attach an XDP program in native (driver) mode
 * @ifindex: the interface
 * @redirect_ifindex: 0 for XDP_DROP, else redirect every frame there
 *
 * The interface keeps the program until it is deleted.
 *
 * Return: 0 or -errno.
 */
int xb_xdp_attach(int ifindex, int redirect_ifindex)
{
	union {
		struct nlmsghdr nh;
		char buf[256];
	} m;
	struct ifinfomsg *ifi;
	struct nlattr *xdp;
	uint32_t flags = XDP_FLAGS_DRV_MODE;
	int fd, ret;

	fd = xb_xdp_load(redirect_ifindex);
	if (fd < 0)
		return fd;
	memset(&m, 0, sizeof(m));
	m.nh.nlmsg_type = RTM_SETLINK;
	m.nh.nlmsg_len = NLMSG_LENGTH(sizeof(*ifi));
	ifi = NLMSG_DATA(&m.nh);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	xdp = (struct nlattr *)(m.buf + NLMSG_ALIGN(m.nh.nlmsg_len));
	vdrv_nla_put(&m.nh, IFLA_XDP | NLA_F_NESTED, NULL, 0);
	vdrv_nla_put(&m.nh, IFLA_XDP_FD, &fd, sizeof(fd));
	vdrv_nla_put(&m.nh, IFLA_XDP_FLAGS, &flags, sizeof(flags));
	xdp->nla_len = m.buf + m.nh.nlmsg_len - (char *)xdp;
	ret = vdrv_rtnl_talk(&m.nh);
	close(fd);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* veth and sockets */

/**
 * xb_veth_create() - create a veth pair, both ends up, no IPv6
 * @a: first end
 * @b: second end
 *
 * Return: 0 or -errno.
 */
int xb_veth_create(const char *a, const char *b)
{
	char cmd[256];
	int ret;

	snprintf(cmd, sizeof(cmd),
		 "ip link add %s type veth peer name %s && sysctl -qw net.ipv6.conf.%s.disable_ipv6=1 net.ipv6.conf.%s.disable_ipv6=1; ip link set %s up && ip link set %s up",
		 a, b, a, b, a, b);
	ret = system(cmd);
	return ret == 0 ? 0 : -EIO;
}

/**
 * xb_link_del() - delete an interface (errors ignored)
 * @ifname: interface
 */
void xb_link_del(const char *ifname)
{
	int ifindex = if_nametoindex(ifname);

	if (ifindex)
		vdrv_rtnl_dellink(ifindex);
}

/* An AF_PACKET socket that only transmits (see the two callers). */
static int xb_pkt_open(int ifindex, bool vnet_hdr, bool bypass)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = ifindex,
	};
	int fd, one = 1, size = 8 << 20;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	if ((bypass && setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one,
				  sizeof(one)) < 0) ||
	    (vnet_hdr && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one,
				    sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/**
 * xb_pkt_sender() - an AF_PACKET socket that only transmits
 * @ifindex: interface it sends on
 * @vnet_hdr: frames are preceded by a struct virtio_net_hdr
 *
 * Bound with protocol 0, so it never receives (no tap on the receive
 * path); frames bypass the qdisc (PACKET_QDISC_BYPASS), as pktgen does.
 *
 * Return: the fd or -errno.
 */
int xb_pkt_sender(int ifindex, bool vnet_hdr)
{
	return xb_pkt_open(ifindex, vnet_hdr, true);
}

/**
 * xb_pkt_sender_qdisc() - an AF_PACKET sender whose frames go through the
 *	interface's qdisc
 * @ifindex: interface it sends on
 * @vnet_hdr: frames are preceded by a struct virtio_net_hdr
 *
 * As xb_pkt_sender(), but dev_queue_xmit() queues the frames, so that a
 * stopped tx queue holds them in the qdisc (a full qdisc refuses them with
 * ENOBUFS), as it holds a TCP sender's segments.
 *
 * Return: the fd or -errno.
 */
int xb_pkt_sender_qdisc(int ifindex, bool vnet_hdr)
{
	return xb_pkt_open(ifindex, vnet_hdr, false);
}

/**
 * xb_udp_socket() - a non-blocking UDP socket bound to @ip:@port
 * @ip: local address
 * @port: local port
 *
 * Return: the fd or -errno.
 */
int xb_udp_socket(const char *ip, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int fd, size = 8 << 20;

	inet_pton(AF_INET, ip, &a.sin_addr);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/**
 * xb_xtap_set() - write one file of an xtap interface's sysfs directory
 * @ifname: the interface
 * @file: the file under /sys/class/net/<ifname>/xtap/
 * @val: what to write
 *
 * Return: 0 or -errno.
 */
int xb_xtap_set(const char *ifname, const char *file, const char *val)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/xtap/%s", ifname,
		 file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		n = -errno;
	close(fd);
	return n < 0 ? (int)n : 0;
}

/**
 * xb_dump_counters() - print the interface's non-zero ethtool -S counters
 * @e: environment, before xb_env_down()
 *
 * For -v: where the frames went (batches, stops, wakes, drops).
 */
void xb_dump_counters(const struct xb_env *e)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd),
		 "ethtool -S %s | grep -v ': 0$' | sed 's/^/# /' >&2",
		 e->be.ifname);
	if (system(cmd))
		fprintf(stderr, "# ethtool -S %s failed\n", e->be.ifname);
}
