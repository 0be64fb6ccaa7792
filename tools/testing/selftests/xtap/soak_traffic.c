// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * soak_traffic: the soak's traffic with every frame accounted for (run by
 * soak.sh; not a suite test).
 *
 * One multiqueue xtap device (SOAK_QUEUES queues, default 4, MTU 65535),
 * each queue attached to its own /dev/vhost-xtap instance driven by a
 * thread that plays the guest (lib/vdrv.c).  For SOAK_TRAFFIC_SECONDS
 * (default 60):
 *
 *  - host -> guest: a sender thread writes IPv4/UDP frames of random size
 *    (64 B to MTU + 14) on an AF_PACKET socket, over SOAK_FLOWS flows
 *    (source ports), so that the device's flow hash steers them to every
 *    queue; each guest checks every byte of what it receives and that each
 *    flow's sequence numbers only grow;
 *  - guest -> host: each guest sends frames of random size (64 B to the
 *    64 KiB + 18 a queue takes) carrying its queue and a sequence number;
 *    an AF_PACKET socket bound to the device for their EtherType receives
 *    them, checks every byte and that each queue's numbers only grow;
 *  - every SOAK_DETACH_MS (default 3000, staggered) each guest detaches
 *    its backend (VHOST_NET_SET_BACKEND -1 on both virtqueues) for 20 to
 *    300 ms while traffic keeps coming, then attaches it again.
 *
 * Both directions are paced by small windows (frames sent and not yet
 * delivered), so that neither the qdisc nor the host socket overflows in
 * normal operation; a window that makes no progress for a second is
 * written off for pacing only (never for the accounting below).  With
 * SOAK_DROP_PHASES=1 the host's windows grow every other 20 s phase, once
 * with the device's xtap/flow_control off (a detached queue's full ring
 * drops, tx_drop_ring_full) and once with it on (the qdisc holds and
 * drops), so that drops take part in the accounting (see run_phases()).
 *
 * At the end the senders stop, the queues drain, and every frame is
 * accounted for:
 *
 *   host -> guest: sent (sendto() that reached the device layer) =
 *     delivered (checked in a guest) + the qdisc's drops (tc -s) +
 *     the device's tx_dropped (xtap's tx_drop_* and the core's);
 *   guest -> host: sent (made available on a TX ring) =
 *     delivered (checked on the host) + the device's rx_dropped (xtap's
 *     rx_drop_* and XDP drops, and the core's) + the socket's drops
 *     (PACKET_STATISTICS);
 *
 * lost = sent - delivered - drops, which must be 0 both ways.  Per queue:
 * the ring counters (q<i>_tx_packets = delivered + the read-time drops of
 * that slot; sent = q<i>_rx_packets + q<i>_rx_drop_*), detaches, and the
 * longest gap between two deliveries on the queue in each direction while
 * it stayed attached.  Exit 0 when nothing was lost or corrupted, 1
 * otherwise, 4 (skip) when a prerequisite that is not xtap is missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>

#include "vdrv.h"

#define SOAK_ETH_G2H	0x88b5	/* guest -> host frames */
#define SOAK_MAGIC	0x58534f4bU	/* "XSOK" */
#define SOAK_MAX_Q	16
#define SOAK_MAX_FLOWS	1024
/* Largest frame a queue takes (64 KiB + VLAN Ethernet header). */
#define SOAK_G2H_MAX	(65535 + 18)
/* Largest frame the host can send: MTU 65535 plus the Ethernet header. */
#define SOAK_H2G_MAX	(65535 + 14)
#define SOAK_BUF	(SOAK_G2H_MAX + 64)
/* Frames a guest may have sent and the host not yet received. */
#define SOAK_G2H_WIN	48
/* Frames of one flow sent and not yet received (more in drop phases). */
#define SOAK_FLOW_WIN	8
#define SOAK_FLOW_WIN_BIG	64
#define SOAK_PHASE_S	20
/* A window without progress for this long is written off (pacing only). */
#define SOAK_STUCK_NS	1000000000LL
#define SOAK_DRAIN_S	30

/* UDP frame: Ethernet, IPv4, UDP, then struct soak_hdr, then the pattern. */
#define SOAK_L2L4	(14 + 20 + 8)

struct soak_hdr {
	uint32_t magic;
	uint32_t id;	/* flow (host -> guest) or queue (guest -> host) */
	uint32_t seq;
	uint32_t len;	/* whole frame */
};

struct soak_gap {
	long long last;		/* time of the last delivery, 0: none yet */
	unsigned int epoch;	/* the queue's attach epoch then */
	long long max;		/* longest gap, ns */
};

struct soak_queue {
	unsigned int idx;
	struct vdrv d;
	bool d_ready;
	int tap_fd;
	int vhost_fd;
	pthread_t thread;
	bool started;
	/* odd while detached; bumped by the guest thread at each change */
	atomic_uint epoch;
	unsigned long detaches;
	/* guest -> host */
	atomic_ulong g2h_sent;
	atomic_ulong g2h_delivered;	/* by the host receiver */
	long long g2h_writeoff;		/* pacing only */
	unsigned long g2h_win_seen;
	long long g2h_win_since;
	uint32_t g2h_last_seq;		/* receiver's */
	bool g2h_any;
	struct soak_gap g2h_gap;	/* receiver's */
	/* host -> guest */
	unsigned long h2g_delivered;
	unsigned long h2g_probes;
	unsigned long h2g_foreign;
	unsigned long h2g_other0;	/* probes and foreign at the baseline */
	struct soak_gap h2g_gap;
	unsigned long bad;		/* payload or order errors */
	char err[160];
};

struct soak_flow {
	uint16_t sport;
	atomic_ulong sent;
	atomic_ulong delivered;
	long long writeoff;		/* sender's, pacing only */
	unsigned long win_seen;
	long long win_since;
	atomic_uint last_seq;		/* last delivered seq + 1, 0: none */
};

static struct soak_queue qs[SOAK_MAX_Q];
static struct soak_flow flows[SOAK_MAX_FLOWS];
static unsigned int nq = 4, nflows = 128, drop_phases;
static long long detach_ns = 3000000000LL;
static char ifname[IFNAMSIZ];
static int ifindex;
static atomic_int stop_send, stop_all, sync_done, go;
static atomic_int flow_win = SOAK_FLOW_WIN;
static atomic_ulong h2g_sent, h2g_refused, g2h_foreign;
static atomic_ulong bad_total;

static const uint8_t mac_guest[6] = { 0x02, 0x58, 0x53, 0x00, 0x00, 0x02 };
static const uint8_t mac_host[6] = { 0x02, 0x58, 0x53, 0x00, 0x00, 0x01 };

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* 64 B .. @max: mostly small frames, some jumbo, some near the top. */
static size_t rnd_len(uint64_t *s, size_t max)
{
	uint64_t r = rnd(s);

	switch (r % 8) {
	case 0: case 1: case 2: case 3: case 4:
		return 64 + (r >> 8) % (1514 - 64 + 1);
	case 5: case 6:
		return 1515 + (r >> 8) % (9018 - 1515 + 1);
	default:
		return 9019 + (r >> 8) % (max - 9019 + 1);
	}
}

static inline uint8_t pat(uint32_t id, uint32_t seq, size_t i)
{
	return (uint8_t)(seq * 131u + id * 29u + i * 7u + (i >> 8) * 13u + 1u);
}

static void fill(uint8_t *f, size_t off, size_t len, uint32_t id,
		 uint32_t seq)
{
	struct soak_hdr h = {
		.magic = htonl(SOAK_MAGIC), .id = htonl(id),
		.seq = htonl(seq), .len = htonl((uint32_t)len),
	};
	size_t i;

	memcpy(f + off, &h, sizeof(h));
	for (i = off + sizeof(h); i < len; i++)
		f[i] = pat(id, seq, i);
}

/* 0 when the frame's soak header and pattern are intact. */
static int check(const uint8_t *f, size_t got, size_t off, uint32_t *id,
		 uint32_t *seq, char *why, size_t wlen)
{
	struct soak_hdr h;
	size_t i;

	if (got < off + sizeof(h)) {
		snprintf(why, wlen, "short frame of %zu bytes", got);
		return -1;
	}
	memcpy(&h, f + off, sizeof(h));
	*id = ntohl(h.id);
	*seq = ntohl(h.seq);
	if (ntohl(h.magic) != SOAK_MAGIC) {
		snprintf(why, wlen, "bad magic 0x%08x", ntohl(h.magic));
		return -1;
	}
	if (ntohl(h.len) != got) {
		snprintf(why, wlen, "id %u seq %u: %zu bytes, sent %u",
			 *id, *seq, got, ntohl(h.len));
		return -1;
	}
	for (i = off + sizeof(h); i < got; i++) {
		if (f[i] != pat(*id, *seq, i)) {
			snprintf(why, wlen,
				 "id %u seq %u len %zu: byte %zu is 0x%02x, sent 0x%02x",
				 *id, *seq, got, i, f[i], pat(*id, *seq, i));
			return -1;
		}
	}
	return 0;
}

/* A delivery on a queue in @epoch at @t: extend the queue's longest gap. */
static void gap_note(struct soak_gap *g, unsigned int epoch, long long t)
{
	if (g->last && g->epoch == epoch && !(epoch & 1) &&
	    t - g->last > g->max)
		g->max = t - g->last;
	g->last = t;
	g->epoch = epoch;
}

static void qerr(struct soak_queue *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void qerr(struct soak_queue *q, const char *fmt, ...)
{
	va_list ap;

	q->bad++;
	atomic_fetch_add(&bad_total, 1);
	if (q->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(q->err, sizeof(q->err), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* The guests. */

static void guest_rx(struct soak_queue *q, uint8_t *buf)
{
	struct vdrv_rx_info info;
	uint32_t id = 0, seq = 0, last;
	char why[128];
	int n;

	while ((n = vdrv_rx_recv(&q->d, buf, SOAK_BUF, &info)) >= 0) {
		struct soak_flow *fl;

		if (info.raw || n > SOAK_BUF) {
			qerr(q, "queue %u: RX entry raw or of %d bytes", q->idx, n);
			continue;
		}
		if (n >= 14 && buf[12] == 0x88 && buf[13] == 0xb6) {
			q->h2g_probes++;
			atomic_store(&sync_done, 1);
			continue;
		}
		/* not ours (the stack's own frames, if any): counted apart */
		if (n < SOAK_L2L4 || buf[12] != 0x08 || buf[13] != 0x00 ||
		    buf[23] != 17 || buf[36] != 0x23 || buf[37] != 0x28) {
			q->h2g_foreign++;
			continue;
		}
		if (check(buf, n, SOAK_L2L4, &id, &seq, why, sizeof(why))) {
			qerr(q, "queue %u: host -> guest frame: %s", q->idx,
			     why);
			continue;
		}
		if (id >= nflows) {
			qerr(q, "queue %u: host -> guest frame of flow %u",
			     q->idx, id);
			continue;
		}
		fl = &flows[id];
		last = atomic_load(&fl->last_seq);
		if (last && seq < last) {
			qerr(q, "queue %u: flow %u: seq %u after %u", q->idx,
			     id, seq, last - 1);
			continue;
		}
		atomic_store(&fl->last_seq, seq + 1);
		atomic_fetch_add(&fl->delivered, 1);
		q->h2g_delivered++;
		gap_note(&q->h2g_gap, atomic_load(&q->epoch), now_ns());
	}
	if (n != -EAGAIN)
		qerr(q, "queue %u: vdrv_rx_recv: %s", q->idx, strerror(-n));
	n = vdrv_rx_fill(&q->d);
	if (n > 0)
		vdrv_kick(&q->d, VDRV_RX);
}

static void guest_tx(struct soak_queue *q, uint8_t *f, uint64_t *rs)
{
	unsigned long sent, done;
	long long t = now_ns();
	int n, queued = 0;

	if (vdrv_tx_reap(&q->d, 0) < 0)
		qerr(q, "queue %u: vdrv_tx_reap failed", q->idx);
	/* nothing before the baseline, nothing after the end */
	if (!atomic_load(&go) || atomic_load(&stop_send))
		return;
	for (;;) {
		sent = atomic_load(&q->g2h_sent);
		done = atomic_load(&q->g2h_delivered);
		if (done != q->g2h_win_seen) {
			q->g2h_win_seen = done;
			q->g2h_win_since = t;
		}
		if ((long long)(sent - done) < q->g2h_writeoff)
			q->g2h_writeoff = sent - done;
		if ((long long)(sent - done) - q->g2h_writeoff < SOAK_G2H_WIN)
			;
		else if (t - q->g2h_win_since > SOAK_STUCK_NS &&
			 !(atomic_load(&q->epoch) & 1)) {
			q->g2h_writeoff = sent - done;
			q->g2h_win_since = t;
		} else {
			break;
		}
		{
			size_t len = rnd_len(rs, SOAK_G2H_MAX);

			memcpy(f, mac_host, 6);
			memcpy(f + 6, mac_guest, 6);
			f[12] = SOAK_ETH_G2H >> 8;
			f[13] = SOAK_ETH_G2H & 0xff;
			fill(f, 14, len, q->idx, (uint32_t)sent);
			n = vdrv_tx_send(&q->d, f, len, NULL, NULL);
		}
		if (n == -ENOSPC)
			break;
		if (n < 0) {
			qerr(q, "queue %u: vdrv_tx_send: %s", q->idx,
			     strerror(-n));
			break;
		}
		atomic_fetch_add(&q->g2h_sent, 1);
		if (++queued == 16)
			break;
	}
	if (queued)
		vdrv_kick(&q->d, VDRV_TX);
}

static int set_attached(struct soak_queue *q, bool on)
{
	int ret = on ? vdrv_attach(&q->d, q->tap_fd) : vdrv_detach(&q->d);

	if (ret) {
		qerr(q, "queue %u: %s: %s", q->idx, on ? "attach" : "detach",
		     strerror(-ret));
		return ret;
	}
	atomic_fetch_add(&q->epoch, 1);
	if (on) {
		/* buffers the guest may have posted meanwhile */
		vdrv_kick_force(&q->d, VDRV_RX);
		vdrv_kick_force(&q->d, VDRV_TX);
	} else {
		q->detaches++;
	}
	return 0;
}

static void *guest(void *arg)
{
	struct soak_queue *q = arg;
	uint64_t rs = 0x9e3779b97f4a7c15ULL ^ (q->idx + 1) * 0x1234567ULL;
	long long next = now_ns() + detach_ns * (q->idx + 1) / nq;
	long long until = 0;
	uint8_t *buf = malloc(SOAK_BUF), *f = malloc(SOAK_BUF);

	if (!buf || !f) {
		qerr(q, "queue %u: out of memory", q->idx);
		goto out;
	}
	while (!atomic_load(&stop_all)) {
		long long t = now_ns();
		bool detached = atomic_load(&q->epoch) & 1;

		if (detached && (t >= until || atomic_load(&stop_send))) {
			if (set_attached(q, true))
				break;
			next = t + detach_ns / 2 + rnd(&rs) % detach_ns;
		} else if (!detached && detach_ns && t >= next &&
			   !atomic_load(&stop_send)) {
			if (set_attached(q, false))
				break;
			until = t + (20 + rnd(&rs) % 281) * 1000000LL;
		}
		guest_rx(q, buf);
		guest_tx(q, f, &rs);
		vdrv_wait(&q->d, (1U << VDRV_RX) | (1U << VDRV_TX), 10);
	}
out:
	free(buf);
	free(f);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The host. */

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static size_t h2g_frame(uint8_t *f, uint64_t *rs, unsigned int flow,
			uint32_t seq)
{
	size_t len = rnd_len(rs, SOAK_H2G_MAX);
	uint8_t *ip = f + 14, *udp = f + 34;
	uint16_t v;

	memcpy(f, mac_guest, 6);
	memcpy(f + 6, mac_host, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	v = htons((uint16_t)(len - 14));
	memcpy(ip + 2, &v, 2);
	v = htons((uint16_t)seq);
	memcpy(ip + 4, &v, 2);
	ip[6] = 0x40;	/* DF */
	ip[8] = 64;
	ip[9] = 17;	/* UDP */
	ip[12] = 10; ip[13] = 79; ip[14] = 0; ip[15] = 1;
	ip[16] = 10; ip[17] = 79; ip[18] = 0; ip[19] = 2;
	v = htons(ip_csum(ip, 20));
	memcpy(ip + 10, &v, 2);
	v = htons(flows[flow].sport);
	memcpy(udp, &v, 2);
	v = htons(9000);
	memcpy(udp + 2, &v, 2);
	v = htons((uint16_t)(len - 34));
	memcpy(udp + 4, &v, 2);
	udp[6] = udp[7] = 0;	/* no UDP checksum */
	fill(f, SOAK_L2L4, len, flow, seq);
	return len;
}

static int pkt_send(int fd, const uint8_t *f, size_t len)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = ifindex,
		.sll_halen = ETH_ALEN,
	};
	ssize_t n;

	memcpy(sll.sll_addr, f, ETH_ALEN);
	memcpy(&sll.sll_protocol, f + 12, 2);
	n = sendto(fd, f, len, 0, (struct sockaddr *)&sll, sizeof(sll));
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

static int send_fd = -1, recv_fd = -1;

/* Probe frames until a guest receives one: the qdisc is live. */
static int host_sync(void)
{
	uint8_t f[64] = {};
	long long end = now_ns() + 10000000000LL;

	memcpy(f, mac_guest, 6);
	memcpy(f + 6, mac_host, 6);
	f[12] = 0x88;
	f[13] = 0xb6;
	while (!atomic_load(&sync_done)) {
		if (now_ns() > end)
			return -ETIMEDOUT;
		pkt_send(send_fd, f, sizeof(f));
		usleep(20000);
	}
	/* let stragglers arrive before the counters are read */
	usleep(200000);
	return 0;
}

static unsigned long refused_errno[4];	/* ENETDOWN, EMSGSIZE, EAGAIN, other */

static void *host_sender(void *arg)
{
	uint64_t rs = 0x243f6a8885a308d3ULL;
	uint8_t *f = malloc(SOAK_BUF);
	unsigned int idle = 0;

	if (!f)
		return NULL;
	while (!atomic_load(&stop_send)) {
		unsigned int i = rnd(&rs) % nflows;
		struct soak_flow *fl = &flows[i];
		unsigned long sent = atomic_load(&fl->sent);
		unsigned long done = atomic_load(&fl->delivered);
		long long t = now_ns();
		uint32_t seq = (uint32_t)sent;
		size_t len;
		int ret;

		if (done != fl->win_seen) {
			fl->win_seen = done;
			fl->win_since = t;
		}
		if ((long long)(sent - done) < fl->writeoff)
			fl->writeoff = sent - done;
		if ((long long)(sent - done) - fl->writeoff >=
		    atomic_load(&flow_win)) {
			/*
			 * The flow's queue may be detached; or frames were
			 * dropped somewhere (counted below): write them off
			 * for pacing after a while.
			 */
			if (t - fl->win_since > 3 * SOAK_STUCK_NS) {
				fl->writeoff = sent - done;
				fl->win_since = t;
			} else {
				if (++idle >= nflows) {
					usleep(1000);
					idle = 0;
				}
				continue;
			}
		}
		idle = 0;
		len = h2g_frame(f, &rs, i, seq);
		ret = pkt_send(send_fd, f, len);
		if (ret == 0 || ret == -ENOBUFS) {
			/* ENOBUFS: the qdisc dropped it, and counted it */
			atomic_fetch_add(&fl->sent, 1);
			atomic_fetch_add(&h2g_sent, 1);
			continue;
		}
		atomic_fetch_add(&h2g_refused, 1);
		refused_errno[ret == -ENETDOWN ? 0 : ret == -EMSGSIZE ? 1 :
			      ret == -EAGAIN ? 2 : 3]++;
		usleep(1000);
	}
	free(f);
	return NULL;
}

static void *host_receiver(void *arg)
{
	uint8_t *buf = malloc(SOAK_BUF);
	struct pollfd pfd = { .fd = recv_fd, .events = POLLIN };
	uint32_t id = 0, seq = 0;
	char why[128];

	if (!buf)
		return NULL;
	while (!atomic_load(&stop_all)) {
		struct soak_queue *q;
		ssize_t n;

		n = recv(recv_fd, buf, SOAK_BUF, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				poll(&pfd, 1, 50);
				continue;
			}
			break;
		}
		if (n > SOAK_BUF) {
			qerr(&qs[0], "guest -> host frame of %zd bytes", n);
			continue;
		}
		if (n < 14 || buf[12] != (SOAK_ETH_G2H >> 8) ||
		    buf[13] != (SOAK_ETH_G2H & 0xff)) {
			atomic_fetch_add(&g2h_foreign, 1);
			continue;
		}
		if (check(buf, n, 14, &id, &seq, why, sizeof(why))) {
			qerr(&qs[0], "guest -> host frame: %s", why);
			continue;
		}
		if (id >= nq) {
			qerr(&qs[0], "guest -> host frame of queue %u", id);
			continue;
		}
		q = &qs[id];
		if (q->g2h_any && seq <= q->g2h_last_seq) {
			qerr(q, "queue %u: guest -> host seq %u after %u",
			     id, seq, q->g2h_last_seq);
			continue;
		}
		q->g2h_any = true;
		q->g2h_last_seq = seq;
		atomic_fetch_add(&q->g2h_delivered, 1);
		gap_note(&q->g2h_gap, atomic_load(&q->epoch), now_ns());
	}
	free(buf);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Counters. */

static long long sysfs_stat(const char *name)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s",
		 ifname, name);
	if (vdrv_read_file(path, buf, sizeof(buf)))
		return -1;
	return atoll(buf);
}

/* The root qdisc's "dropped" (tc -s qdisc show), -1 when unreadable. */
static long long qdisc_dropped(void)
{
	char cmd[128], line[512];
	long long v = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "tc -s qdisc show dev %s 2>/dev/null",
		 ifname);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char *s = strstr(line, "(dropped ");

		if (s && v < 0)
			v = atoll(s + 9);
	}
	pclose(p);
	return v;
}

static long long qstat(unsigned int i, const char *name)
{
	char n[64];

	snprintf(n, sizeof(n), "q%u_%s", i, name);
	return vdrv_ethtool_stat(ifname, n);
}

static const char *const tx_read_drops[] = {
	"tx_drop_hdr", "tx_drop_detached", "tx_drop_guest_buf",
	"tx_drop_fault",
};
static const char *const rx_drops[] = {
	"rx_drop_malformed", "rx_drop_nomem", "rx_drop_fault",
	"rx_drop_down", "rx_drop_bad_chain", "xdp_drop", "xdp_tx_err",
	"xdp_redirect_err", "xdp_aborted",
};

struct soak_base {
	long long tx_dropped, rx_dropped, qdisc;
	long long q_tx[SOAK_MAX_Q], q_rx[SOAK_MAX_Q];
	long long q_txd[SOAK_MAX_Q], q_rxd[SOAK_MAX_Q];
	unsigned int sock_drops;
};

static unsigned int sock_drops(void)
{
	struct tpacket_stats st = {};
	socklen_t l = sizeof(st);

	/* reading resets the kernel's count: callers accumulate */
	if (getsockopt(recv_fd, SOL_PACKET, PACKET_STATISTICS, &st, &l))
		return 0;
	return st.tp_drops;
}

static void read_counters(struct soak_base *b)
{
	unsigned int i, k;

	b->tx_dropped = sysfs_stat("tx_dropped");
	b->rx_dropped = sysfs_stat("rx_dropped");
	b->qdisc = qdisc_dropped();
	for (i = 0; i < nq; i++) {
		b->q_tx[i] = qstat(i, "tx_packets");
		b->q_rx[i] = qstat(i, "rx_packets");
		b->q_txd[i] = 0;
		for (k = 0; k < sizeof(tx_read_drops) / sizeof(*tx_read_drops); k++)
			b->q_txd[i] += qstat(i, tx_read_drops[k]);
		b->q_rxd[i] = 0;
		for (k = 0; k < sizeof(rx_drops) / sizeof(*rx_drops); k++)
			b->q_rxd[i] += qstat(i, rx_drops[k]);
	}
}

/* ------------------------------------------------------------------ */
/* Set-up. */

static int env_long(const char *name, long def, long min, long max)
{
	const char *s = getenv(name);
	long v;

	if (!s || !*s)
		return def;
	v = atol(s);
	return v < min ? min : v > max ? max : v;
}

static int queue_up(struct soak_queue *q)
{
	struct vdrv_config cfg = {
		.features = VDRV_FEATURES_QEMU,
		.num = 256,
		.tx_max_frame = SOAK_G2H_MAX,
		/* half the queues also busy-poll from the guest's side */
		.busyloop_us = q->idx % 2 ? 50 : 0,
	};
	char path[64];
	int ret, hdr;

	snprintf(path, sizeof(path), "/dev/xtap%d", ifindex);
	q->tap_fd = open(path, O_RDWR | O_CLOEXEC);
	if (q->tap_fd < 0)
		return -errno;
	q->vhost_fd = open("/dev/vhost-xtap", O_RDWR | O_CLOEXEC);
	if (q->vhost_fd < 0)
		return -errno;
	ret = vdrv_init(&q->d, &cfg);
	q->d_ready = true;
	if (ret)
		return ret;
	ret = vdrv_setup(&q->d, q->vhost_fd);
	if (ret)
		return ret;
	hdr = (int)vdrv_sock_hdr_len(&q->d);
	if (hdr && ioctl(q->tap_fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return -errno;
	ret = vdrv_attach(&q->d, q->tap_fd);
	if (ret)
		return ret;
	ret = vdrv_rx_fill(&q->d);
	if (ret < 0)
		return ret;
	vdrv_kick(&q->d, VDRV_RX);
	return 0;
}

static void queue_down(struct soak_queue *q)
{
	if (q->vhost_fd >= 0)
		close(q->vhost_fd);
	if (q->tap_fd >= 0)
		close(q->tap_fd);
	if (q->d_ready)
		vdrv_fini(&q->d);
	q->vhost_fd = q->tap_fd = -1;
	q->d_ready = false;
}

static int open_sockets(void)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(SOAK_ETH_G2H),
		.sll_ifindex = ifindex,
	};
	int size = 64 << 20;

	/* protocol 0: this socket receives nothing */
	send_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (send_fd < 0)
		return -errno;
	setsockopt(send_fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	recv_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC,
			 htons(SOAK_ETH_G2H));
	if (recv_fd < 0)
		return -errno;
	setsockopt(recv_fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	if (bind(recv_fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -errno;
	return 0;
}

/* xtap/flow_control of the soak's device: 0 or 1, or -errno. */
static int set_flow_control(int on)
{
	char path[128];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/sys/class/net/%s/xtap/flow_control",
		 ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, on ? "1\n" : "0\n", 2) != 2)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * SOAK_DROP_PHASES=1: every SOAK_PHASE_S seconds the next of three phases,
 * so that the drop counters take part in the accounting:
 *   0: flow control on, small windows (nothing should be dropped);
 *   1: flow control off, big windows: a detached queue's ring fills and
 *      the rest is dropped (tx_drop_ring_full);
 *   2: flow control on, big windows: the tx queue stops and the qdisc
 *      holds the rest (and drops what exceeds its limit, counted there).
 */
static unsigned int phase_runs[3];

static void run_phases(long secs)
{
	long long end = now_ns() + secs * 1000000000LL;
	unsigned int phase = 0;
	int ret;

	while (now_ns() < end) {
		long long left = (end - now_ns()) / 1000000000LL;

		ret = set_flow_control(phase != 1);
		if (ret) {
			printf("# drop phases: flow_control: %s; phases off\n",
			       strerror(-ret));
			atomic_store(&flow_win, SOAK_FLOW_WIN);
			sleep(left > 0 ? left : 1);
			return;
		}
		atomic_store(&flow_win, phase ? SOAK_FLOW_WIN_BIG :
			     SOAK_FLOW_WIN);
		phase_runs[phase]++;
		sleep(left < SOAK_PHASE_S ? (left > 0 ? left : 1) :
		      SOAK_PHASE_S);
		phase = (phase + 1) % 3;
	}
	set_flow_control(1);
	atomic_store(&flow_win, SOAK_FLOW_WIN);
}

static unsigned long sum_g2h(bool delivered)
{
	unsigned long s = 0;
	unsigned int i;

	for (i = 0; i < nq; i++)
		s += atomic_load(delivered ? &qs[i].g2h_delivered :
				 &qs[i].g2h_sent);
	return s;
}

static unsigned long sum_h2g(void)
{
	unsigned long s = 0;
	unsigned int i;

	for (i = 0; i < nflows; i++)
		s += atomic_load(&flows[i].delivered);
	return s;
}

int main(void)
{
	long secs = env_long("SOAK_TRAFFIC_SECONDS", 60, 1, 86400);
	struct soak_base b0 = {}, b1 = {};
	pthread_t ts, tr;
	bool ts_on = false, tr_on = false;
	long long h2g_drops, g2h_drops, h2g_lost, g2h_lost, t_end;
	unsigned long h2g_del, g2h_sent, g2h_del, sdrops = 0;
	unsigned int i;
	int ret, rc = 1;
	char cmd[160];

	setvbuf(stdout, NULL, _IOLBF, 0);
	nq = env_long("SOAK_QUEUES", 4, 1, SOAK_MAX_Q);
	nflows = env_long("SOAK_FLOWS", 128, 1, SOAK_MAX_FLOWS);
	detach_ns = env_long("SOAK_DETACH_MS", 3000, 0, 3600000) * 1000000LL;
	drop_phases = env_long("SOAK_DROP_PHASES", 0, 0, 1);
	if (access("/dev/vhost-xtap", F_OK) ||
	    access("/sys/module/xtap", F_OK)) {
		printf("# FAIL: xtap is not loaded\n");
		return 1;
	}
	if (system("command -v tc >/dev/null 2>&1")) {
		printf("# SKIP: tc (iproute2) is missing\n");
		return 4;
	}
	for (i = 0; i < SOAK_MAX_Q; i++)
		qs[i].tap_fd = qs[i].vhost_fd = -1;
	for (i = 0; i < nflows; i++)
		flows[i].sport = 10000 + i * 7;

	snprintf(ifname, sizeof(ifname), "xsoak%d", (int)(getpid() % 100000));
	snprintf(cmd, sizeof(cmd),
		 "ip link add %s numtxqueues %u numrxqueues %u type xtap",
		 ifname, nq, nq);
	if (system(cmd)) {
		printf("# FAIL: %s\n", cmd);
		return 1;
	}
	ifindex = if_nametoindex(ifname);
	if (!ifindex || vdrv_link_disable_ipv6(ifname) ||
	    vdrv_link_set_mtu(ifname, 65535) ||
	    vdrv_link_set_up(ifname, true)) {
		printf("# FAIL: setting up %s\n", ifname);
		goto out;
	}
	for (i = 0; i < nq; i++) {
		qs[i].idx = i;
		ret = queue_up(&qs[i]);
		if (ret) {
			printf("# FAIL: queue %u: %s: %s\n", i,
			       qs[i].d.err_op ? qs[i].d.err_op : "open",
			       strerror(-ret));
			goto out;
		}
	}
	ret = open_sockets();
	if (ret) {
		printf("# FAIL: AF_PACKET sockets: %s\n", strerror(-ret));
		goto out;
	}
	for (i = 0; i < nq; i++) {
		if (pthread_create(&qs[i].thread, NULL, guest, &qs[i])) {
			printf("# FAIL: pthread_create\n");
			goto stop;
		}
		qs[i].started = true;
	}
	if (host_sync()) {
		printf("# FAIL: no probe frame reached a guest in 10 s\n");
		goto stop;
	}
	sock_drops();
	read_counters(&b0);
	for (i = 0; i < nq; i++)
		qs[i].h2g_other0 = qs[i].h2g_probes + qs[i].h2g_foreign;
	atomic_store(&go, 1);
	if (b0.qdisc < 0 || b0.tx_dropped < 0 || b0.rx_dropped < 0) {
		printf("# FAIL: cannot read the counters\n");
		goto stop;
	}
	if (pthread_create(&tr, NULL, host_receiver, NULL))
		goto stop;
	tr_on = true;
	if (pthread_create(&ts, NULL, host_sender, NULL))
		goto stop;
	ts_on = true;
	printf("# soak_traffic: %s, %u queues, %u flows, %ld s, detach every %lld ms\n",
	       ifname, nq, nflows, secs, detach_ns / 1000000);
	if (drop_phases)
		run_phases(secs);
	else
		sleep(secs);
	atomic_store(&stop_send, 1);
	pthread_join(ts, NULL);
	ts_on = false;

	/* Drain: until everything sent is delivered or counted, or no change. */
	t_end = now_ns() + SOAK_DRAIN_S * 1000000000LL;
	{
		unsigned long last = ~0UL;
		int still = 0;

		while (now_ns() < t_end) {
			unsigned long cur;

			usleep(200000);
			sdrops += sock_drops();
			read_counters(&b1);
			cur = sum_h2g() + sum_g2h(true) + b1.tx_dropped +
			      b1.rx_dropped + b1.qdisc + sdrops;
			if (sum_h2g() + (b1.tx_dropped - b0.tx_dropped) +
			    (b1.qdisc - b0.qdisc) == atomic_load(&h2g_sent) &&
			    sum_g2h(true) + (b1.rx_dropped - b0.rx_dropped) +
			    sdrops == sum_g2h(false))
				break;
			still = cur == last ? still + 1 : 0;
			last = cur;
			/* 3 s without any change: what is missing is lost */
			if (still >= 15)
				break;
		}
	}
	atomic_store(&stop_all, 1);
	pthread_join(tr, NULL);
	tr_on = false;
	for (i = 0; i < nq; i++)
		if (qs[i].started)
			pthread_join(qs[i].thread, NULL);
	sdrops += sock_drops();
	read_counters(&b1);

	h2g_del = sum_h2g();
	g2h_sent = sum_g2h(false);
	g2h_del = sum_g2h(true);
	h2g_drops = (b1.tx_dropped - b0.tx_dropped) + (b1.qdisc - b0.qdisc);
	g2h_drops = (b1.rx_dropped - b0.rx_dropped) + sdrops;
	h2g_lost = (long long)atomic_load(&h2g_sent) - (long long)h2g_del -
		   h2g_drops;
	g2h_lost = (long long)g2h_sent - (long long)g2h_del - g2h_drops;

	for (i = 0; i < nq; i++) {
		struct soak_queue *q = &qs[i];
		long long ring = b1.q_tx[i] - b0.q_tx[i];
		long long rdrop = b1.q_txd[i] - b0.q_txd[i];
		long long stack = b1.q_rx[i] - b0.q_rx[i];
		long long sdrop = b1.q_rxd[i] - b0.q_rxd[i];
		unsigned long gs = atomic_load(&q->g2h_sent);
		long long other = q->h2g_probes + q->h2g_foreign - q->h2g_other0;

		printf("# queue %u: host->guest delivered %lu (ring %lld, read drops %lld, other frames %lld, unaccounted %lld), longest gap %.1f ms\n",
		       i, q->h2g_delivered, ring, rdrop, other,
		       ring - (long long)q->h2g_delivered - rdrop - other,
		       q->h2g_gap.max / 1e6);
		printf("# queue %u: guest->host sent %lu delivered %lu (to the stack %lld, xtap drops %lld, unaccounted before the stack %lld), longest gap %.1f ms\n",
		       i, gs, atomic_load(&q->g2h_delivered), stack, sdrop,
		       (long long)gs - stack - sdrop, q->g2h_gap.max / 1e6);
		printf("# queue %u: %lu detaches, %lu foreign frames, %lu bad frames%s%s\n",
		       i, q->detaches, q->h2g_foreign, q->bad,
		       q->err[0] ? ": " : "", q->err);
	}
	if (drop_phases)
		printf("# drop phases run: %u normal, %u without flow control, %u with big windows\n",
		       phase_runs[0], phase_runs[1], phase_runs[2]);
	printf("# host->guest: sent %lu delivered %lu drops %lld (qdisc %lld, tx_dropped %lld) lost %lld; refused by sendto %lu (ENETDOWN %lu EMSGSIZE %lu EAGAIN %lu other %lu)\n",
	       atomic_load(&h2g_sent), h2g_del, h2g_drops, b1.qdisc - b0.qdisc,
	       b1.tx_dropped - b0.tx_dropped, h2g_lost,
	       atomic_load(&h2g_refused), refused_errno[0], refused_errno[1],
	       refused_errno[2], refused_errno[3]);
	printf("# guest->host: sent %lu delivered %lu drops %lld (rx_dropped %lld, socket %lu) lost %lld; foreign frames %lu\n",
	       g2h_sent, g2h_del, g2h_drops, b1.rx_dropped - b0.rx_dropped,
	       sdrops, g2h_lost, atomic_load(&g2h_foreign));
	{
		long long gmax = 0;

		for (i = 0; i < nq; i++) {
			if (qs[i].h2g_gap.max > gmax)
				gmax = qs[i].h2g_gap.max;
			if (qs[i].g2h_gap.max > gmax)
				gmax = qs[i].g2h_gap.max;
		}
		printf("# totals: sent %lu delivered %lu drops %lld lost %lld bad %lu longest gap %.1f ms\n",
		       atomic_load(&h2g_sent) + g2h_sent, h2g_del + g2h_del,
		       h2g_drops + g2h_drops, h2g_lost + g2h_lost,
		       atomic_load(&bad_total), gmax / 1e6);
	}
	if (h2g_lost || g2h_lost || atomic_load(&bad_total) ||
	    !atomic_load(&h2g_sent) || !g2h_sent || !h2g_del || !g2h_del)
		rc = 1;
	else
		rc = 0;
	printf("%s soak_traffic\n", rc ? "not ok" : "ok");
	goto out;

stop:
	atomic_store(&stop_send, 1);
	atomic_store(&stop_all, 1);
	if (ts_on)
		pthread_join(ts, NULL);
	if (tr_on)
		pthread_join(tr, NULL);
	for (i = 0; i < nq; i++)
		if (qs[i].started)
			pthread_join(qs[i].thread, NULL);
out:
	for (i = 0; i < nq; i++)
		queue_down(&qs[i]);
	if (send_fd >= 0)
		close(send_fd);
	if (recv_fd >= 0)
		close(recv_fd);
	if (ifindex)
		vdrv_rtnl_dellink(ifindex);
	return rc;
}
