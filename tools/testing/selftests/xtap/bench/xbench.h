/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * xbench: xtap against upstream vhost-net + tun, side by side in one boot.
 *
 * The program plays the guest with lib/vdrv (one queue pair) on one CPU
 * and leaves the other CPU to the backend's worker threads.  Every row of
 * the table is measured for both backends in each round, the order of the
 * two alternating from round to round, and the table reports medians over
 * rounds with their min and max, the ratio xtap/upstream, and the CPU time
 * the backend's worker threads spent per packet.
 *
 * Files: xbench.c (rounds, statistics, table), xb_rows.c (the
 * measurements), xb_sys.c (host plumbing: CPUs, worker threads, addresses,
 * XDP programs, veth).
 */
#ifndef _XBENCH_H
#define _XBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vdrv.h"

#define XB_BACKENDS	2
#define XB_MAX_WORKERS	8
#define XB_MAX_ROUNDS	64
/* Senders of the multi-flow rows (one AF_PACKET socket per flow). */
#define XB_FLOWS	8

/* Host and guest addresses on the tap link (host side owns .1). */
#define XB_HOST_IP	"10.77.0.1"
#define XB_GUEST_IP	"10.77.0.2"
#define XB_PORT		7777

/* What a row measures. */
enum xb_unit {
	XB_KPPS,	/* thousands of frames per second (higher is better) */
	XB_GBPS,	/* Gbit/s of frame bytes (higher is better) */
	XB_USEC,	/* microseconds (lower is better) */
	XB_CPU_USEC,	/* worker CPU microseconds (lower is better) */
};

/**
 * struct xb_opts - command line
 * @rounds: A/B rounds
 * @warm: seconds of warm-up before each measurement window
 * @secs: seconds of each measurement window
 * @smoke: tiny run for the test suite
 * @only: run only rows whose id contains this string, or one of these
 *	comma-separated strings ("=ID": whose id is ID; NULL: all)
 * @backend: run only this backend ("xtap" or "upstream"; NULL: both)
 * @guest_cpu: CPU of the driver (and of the host-side sender/responder)
 * @worker_cpu: CPU of the backend's worker threads
 * @verbose: print details of RX stalls, and xtap's ethtool -S counters
 *	after each measurement
 * @poll_us: busy-poll window of the rows that poll (their busy-loop
 *	timeout and xtap's busy_poll_us) instead of the row's own (0: the
 *	row's own)
 */
struct xb_opts {
	unsigned int rounds;
	double warm;
	double secs;
	bool smoke;
	const char *only;
	const char *backend;
	int guest_cpu;
	int worker_cpu;
	bool verbose;
	unsigned int poll_us;
};

/**
 * struct xb_result - one measurement of one row for one backend
 * @value: the row's figure (see the row's unit); for RTT rows, p50
 * @p99: RTT rows: 99th percentile (us)
 * @p999: RTT rows: 99.9th percentile (us)
 * @packets: frames (or requests) counted in the window
 * @bytes: frame bytes counted in the window (bulk rows)
 * @cpu_ns: worker CPU time in the window (ns, from utime+stime)
 * @host_pkts: the interface's rx (TX rows) or tx (RX rows) packet counter
 *	delta over the window: a cross-check of @packets
 * @stalls: waits that ran into their safety timeout
 * @lost: frames sent but never delivered (RX rows)
 * @spin_ns: xtap request/response rows with a busy_poll_mode: time the
 *	workers spent busy polling in the window (ethtool -S
 *	q0_busy_poll_ns), else 0
 * @drops: multi-flow rows: the interface's tx_dropped delta over the
 *	window (frames the backend dropped: a full queue ring)
 * @refused: multi-flow rows: frames the host's stack refused to take
 *	(a full qdisc or socket buffer: ENOBUFS, EAGAIN), for the sender to
 *	try again
 * @na: not measurable for this backend (the reason is in the row)
 */
struct xb_result {
	double value;
	double p99;
	double p999;
	uint64_t packets;
	uint64_t bytes;
	uint64_t cpu_ns;
	uint64_t host_pkts;
	uint64_t stalls;
	uint64_t lost;
	uint64_t spin_ns;
	uint64_t drops;
	uint64_t refused;
	bool na;
};

/* Per-measurement environment: one backend with the guest attached. */
struct xb_env {
	enum vdrv_kind kind;
	struct vdrv_backend be;
	struct vdrv d;
	bool d_ready;
	uint8_t mac[6];			/* the interface's MAC */
	pid_t workers[XB_MAX_WORKERS];	/* the backend's worker threads */
	unsigned int nworkers;
	bool pinned;			/* all workers on opts.worker_cpu */
	int udp;			/* host UDP socket on XB_HOST_IP, or -1 */
	int pkt;			/* host AF_PACKET sender, or -1 */
	char veth[2][IFNAMSIZ];		/* veth pair (redirect row), or "" */
	char nic[2][IFNAMSIZ];		/* hub NICs out, in (NIC rows), or "" */
	bool host_on_nic;		/* cross-check counter: nic[1]'s */
	int flow_fd[XB_FLOWS];		/* multi-flow senders, or -1 */
	unsigned int nflows;
	unsigned int gap_us;		/* request/response: pause between */
	bool runtime_cpu;		/* worker CPU from schedstat */
};

/**
 * struct xb_envcfg - how to set an environment up
 * @num: ring size
 * @rx_buf_size: bytes per RX buffer (0: default)
 * @busyloop_us: VHOST_SET_VRING_BUSYLOOP_TIMEOUT on both queues
 * @offload: TUNSETOFFLOAD argument for the queue fd (0: none)
 * @addr: give the interface XB_HOST_IP/24 and a static neighbour entry
 *	for XB_GUEST_IP
 * @udp: open a host UDP socket bound to XB_HOST_IP:XB_PORT
 * @pkt: open an AF_PACKET sender on the interface (qdisc bypass)
 * @pkt_vnet_hdr: the sender carries a virtio_net_hdr (PACKET_VNET_HDR)
 * @xdp_drop: attach an XDP_DROP program (native mode)
 * @veth_redirect: create a veth pair whose second end redirects every frame
 *	into the interface with XDP; the sender sits on the first end
 * @tx_redirect: create a veth pair with an XDP_DROP program on its second
 *	end, and redirect every frame the interface receives into the first
 *	end with XDP
 * @nic_redirect: redirect every frame the interface receives with XDP to
 *	the VM's first hub NIC (vm/run.sh: two virtio-net NICs on one QEMU
 *	hub); the frames arrive on the second one (promiscuous, XDP_DROP),
 *	whose rx_packets is the row's cross-check.  virtio_net takes
 *	redirected frames only with a program of its own: XDP_DROP, which
 *	sees nothing there
 * @nic_rx_redirect: the VM's two hub NICs (vm/run.sh) as for
 *	@nic_redirect, but the other way: frames sent out of the first
 *	arrive on the second, whose XDP program redirects them into the
 *	interface (ndo_xdp_xmit); the sender sits on the first
 * @one_cpu: run the worker threads on the guest's CPU instead
 * @xtap_mode: xtap only: write this to the interface's
 *	xtap/busy_poll_mode (with xtap/busy_poll_us = @busyloop_us) and let
 *	the guest ask for no busy-loop timeout, so that sysfs alone decides;
 *	upstream keeps @busyloop_us (NULL: no sysfs, both use @busyloop_us)
 * @gap_us: request/response: pause between requests (0: none)
 * @xtap_stall_off: xtap only: stall watchdog off (xtap/stall_ms = 0)
 * @flows: open this many AF_PACKET senders (at most XB_FLOWS) whose frames
 *	go through the interface's qdisc (0: none)
 * @xtap_fc_off: xtap only: flow control off (xtap/flow_control = 0): a
 *	full queue ring drops, as upstream tun does, instead of stopping
 *	the tx queue
 */
struct xb_envcfg {
	unsigned int num;
	unsigned int rx_buf_size;
	uint32_t busyloop_us;
	unsigned int offload;
	bool addr;
	bool udp;
	bool pkt;
	bool pkt_vnet_hdr;
	bool xdp_drop;
	bool veth_redirect;
	bool tx_redirect;
	bool nic_redirect;
	bool nic_rx_redirect;
	bool one_cpu;
	const char *xtap_mode;
	unsigned int gap_us;
	bool xtap_stall_off;
	unsigned int flows;
	bool xtap_fc_off;
};

/**
 * struct xb_row - one line of the table
 * @id: short name (command line, raw output, smoke test)
 * @title: what the table shows
 * @unit: XB_*
 * @xtap_na: why xtap cannot run this row (NULL: it can)
 * @run: measure it once on @e; fills @r
 * @cfg: environment for the measurement
 */
struct xb_row {
	const char *id;
	const char *title;
	enum xb_unit unit;
	const char *xtap_na;
	int (*run)(struct xb_env *e, const struct xb_opts *o,
		   struct xb_result *r);
	struct xb_envcfg cfg;
};

extern const struct xb_row xb_rows[];
extern const unsigned int xb_nrows;

/* xb_sys.c */
double xb_now(void);
int xb_pin_self(int cpu);
int xb_find_workers(struct xb_env *e);
int xb_pin_workers(struct xb_env *e, int cpu);
uint64_t xb_workers_cpu_ns(const struct xb_env *e);
uint64_t xb_workers_runtime_ns(const struct xb_env *e);
long long xb_if_stat(const char *ifname, const char *name);
int xb_if_addr(const char *ifname, const char *ip, unsigned int prefix);
int xb_neigh_add(const char *ifname, const char *ip, const uint8_t *mac);
int xb_if_mac(const char *ifname, uint8_t mac[6]);
int xb_xdp_attach(int ifindex, int redirect_ifindex);
int xb_veth_create(const char *a, const char *b);
void xb_link_del(const char *ifname);
int xb_pkt_sender(int ifindex, bool vnet_hdr);
int xb_pkt_sender_qdisc(int ifindex, bool vnet_hdr);
int xb_udp_socket(const char *ip, uint16_t port);
int xb_xtap_set(const char *ifname, const char *file, const char *val);
void xb_dump_counters(const struct xb_env *e);

/* xb_rows.c */
int xb_env_up(struct xb_env *e, enum vdrv_kind kind,
	      const struct xb_envcfg *cfg, const struct xb_opts *o);
void xb_env_down(struct xb_env *e);

#endif /* _XBENCH_H */
