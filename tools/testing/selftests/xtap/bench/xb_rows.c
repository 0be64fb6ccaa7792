// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * xbench measurements.  Each one sets up a fresh backend with the guest
 * (lib/vdrv) attached, warms up, then counts over a fixed window.
 *
 * The guest behaves like a Linux virtio-net driver in its fast path: TX
 * posts pre-built frames (one descriptor each, no copy: the frame already
 * sits in guest memory), publishes them one by one and notifies the device
 * once per batch, and only when the device asks (EVENT_IDX); it reaps
 * completions without interrupts while it has work, and sleeps on the call
 * eventfd with a delayed callback (signal after 3/4 of what is in flight)
 * only when it cannot go on.  RX takes used buffers without copying the
 * frames out and re-posts buffers as it goes.
 *
 * The host side of RX traffic (an AF_PACKET sender) and the RTT responder
 * run in the guest's thread on the guest's CPU, interleaved with it, so the
 * workers' CPU has nothing but the workers (and the softirq work they
 * trigger).
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>

#include "xbench.h"

/* Frames the guest posts before it considers notifying the device. */
#define XB_TX_BATCH	64
/* Frames the host sender gives the kernel per sendmmsg(). */
#define XB_RX_BURST	32
/* Safety timeout of a wait (a miss is counted as a stall). */
#define XB_WAIT_MS	100
/* RX waits are shorter, and end with a kick: see xb_rx_stream() */
#define XB_RX_WAIT_MS	10
#define XB_RR_WAIT_MS	1000
/* Waits without any frame after which the frames in flight count as lost
 * (the VM's vCPUs are host threads: a busy host stops them for tens of ms).
 */
#define XB_RX_GIVE_UP	50
/* Busy-poll probe: one TX frame every this many microseconds */
#define XB_PROBE_GAP_US	1000
#define XB_MAX_SAMPLES	(1U << 20)

#define XB_F64		64U
#define XB_F1500	1514U
/* A 64 KB TCP/IPv4 GSO frame: Ethernet + IPv4 + TCP + 65000 bytes. */
#define XB_GSO_PAYLOAD	65000U
#define XB_F64K		(14U + 20U + 20U + XB_GSO_PAYLOAD)
#define XB_GSO_MSS	1448U

static const uint8_t xb_guest_mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x02 };
/* A unicast MAC nobody on the link owns: the host stack drops the frame as
 * PACKET_OTHERHOST at the top of ip_rcv().
 */
static const uint8_t xb_other_mac[6] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x99 };

/* ---------------------------------------------------------------------- */
/* Frames */

static uint16_t xb_csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += p[0] << 8 | p[1];
	if (len)
		sum += p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

/* Ethernet + IPv4 header for @l4len bytes of @proto; returns the L4 start. */
static uint8_t *xb_ip_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src,
			    const char *sip, const char *dip, uint8_t proto,
			    size_t l4len)
{
	uint8_t *ip = f + 14;
	uint16_t c, tot = 20 + l4len;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETH_P_IP >> 8;
	f[13] = ETH_P_IP & 0xff;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = tot >> 8;
	ip[3] = tot & 0xff;
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = proto;
	inet_pton(AF_INET, sip, ip + 12);
	inet_pton(AF_INET, dip, ip + 16);
	c = xb_csum(ip, 20);
	memcpy(ip + 10, &c, 2);
	return ip + 20;
}

/* A UDP frame of @len bytes in all (UDP checksum 0: none). */
static void xb_udp_frame(uint8_t *f, size_t len, const uint8_t *dst,
			 const uint8_t *src, const char *sip, const char *dip)
{
	size_t ulen = len - 14 - 20;
	uint8_t *u = xb_ip_frame(f, dst, src, sip, dip, IPPROTO_UDP, ulen);
	size_t i;

	u[0] = XB_PORT >> 8;
	u[1] = XB_PORT & 0xff;
	u[2] = XB_PORT >> 8;
	u[3] = XB_PORT & 0xff;
	u[4] = ulen >> 8;
	u[5] = ulen & 0xff;
	u[6] = u[7] = 0;
	for (i = 8; i < ulen; i++)
		u[i] = (uint8_t)(i * 7 + 1);
}

/*
 * A TCP/IPv4 frame of XB_F64K bytes and the virtio-net header that makes
 * it a GSO frame (checksum left to the device, MSS XB_GSO_MSS).
 */
static void xb_gso_frame(uint8_t *f, struct virtio_net_hdr *vh,
			 const uint8_t *dst, const uint8_t *src,
			 const char *sip, const char *dip)
{
	uint8_t *t = xb_ip_frame(f, dst, src, sip, dip, IPPROTO_TCP,
				 20 + XB_GSO_PAYLOAD);
	size_t i;

	memset(t, 0, 20);
	t[0] = 0x9c;	/* ports 40000 -> 5001 */
	t[1] = 0x40;
	t[2] = 0x13;
	t[3] = 0x89;
	t[7] = 1;	/* seq 1 */
	t[12] = 5 << 4;
	t[13] = 0x10;	/* ACK */
	t[14] = 0xff;
	t[15] = 0xff;
	for (i = 20; i < 20 + XB_GSO_PAYLOAD; i++)
		t[i] = (uint8_t)(i * 13 + 5);
	memset(vh, 0, sizeof(*vh));
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	vh->hdr_len = 14 + 20 + 20;
	vh->gso_size = XB_GSO_MSS;
	vh->csum_start = 14 + 20;
	vh->csum_offset = 16;
}

/* ---------------------------------------------------------------------- */
/* Environment */

/* The VM's hub NICs (vm/run.sh), found by MAC: out, then in. */
static const char *const xb_hub_mac[2] = { "52:54:00:78:74:01",
					   "52:54:00:78:74:02" };

/* Name of the interface with MAC @mac into @name; 0 or -ENODEV. */
static int xb_if_by_mac(const char *mac, char *name)
{
	char cmd[256];
	FILE *p;
	int ok;

	snprintf(cmd, sizeof(cmd),
		 "grep -l '^%s$' /sys/class/net/*/address 2>/dev/null | head -n1 | cut -d/ -f5",
		 mac);
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	ok = fgets(name, IFNAMSIZ, p) != NULL;
	pclose(p);
	if (!ok)
		return -ENODEV;
	name[strcspn(name, "\n")] = '\0';
	return name[0] && if_nametoindex(name) ? 0 : -ENODEV;
}

/*
 * Both hub NICs up without IPv6 (no stray frames on the hub), the second
 * promiscuous (virtio_net drops unicast frames for other MACs otherwise).
 * The first gets an XDP_DROP program: virtio_net takes redirected frames
 * only with a program of its own.  The second's program drops every frame
 * (@in_redirect 0) or redirects it to ifindex @in_redirect.
 */
static int xb_nic_setup(struct xb_env *e, int in_redirect)
{
	char cmd[160];
	int i, ret;

	/* The runner's VM does not load virtio_net by itself. */
	if (system("modprobe -q virtio_net") < 0)
		return -errno;
	for (i = 0; i < 2; i++) {
		ret = xb_if_by_mac(xb_hub_mac[i], e->nic[i]);
		if (ret) {
			e->nic[0][0] = 0;
			return ret;
		}
	}
	for (i = 0; i < 2; i++)
		vdrv_link_disable_ipv6(e->nic[i]);
	snprintf(cmd, sizeof(cmd),
		 "ip link set %s up && ip link set %s up promisc on",
		 e->nic[0], e->nic[1]);
	if (system(cmd))
		return -EIO;
	ret = xb_xdp_attach(if_nametoindex(e->nic[0]), 0);
	if (ret)
		return ret;
	return xb_xdp_attach(if_nametoindex(e->nic[1]), in_redirect);
}

static void xb_nic_down(struct xb_env *e)
{
	char cmd[192];

	if (!e->nic[0][0])
		return;
	/* iproute2 takes no other argument after "xdpdrv off". */
	snprintf(cmd, sizeof(cmd),
		 "ip link set %s xdpdrv off && ip link set %s xdpdrv off && ip link set %s promisc off",
		 e->nic[0], e->nic[1], e->nic[1]);
	if (system(cmd))
		fprintf(stderr, "# cannot detach XDP from %s, %s\n", e->nic[0],
			e->nic[1]);
	e->nic[0][0] = 0;
}

/**
 * xb_env_up() - a fresh backend with the guest attached
 * @e: environment to fill (call xb_env_down() whatever this returns)
 * @kind: backend
 * @c: what the measurement needs
 * @o: options (CPUs)
 *
 * Return: 0 or -errno (with a message on stderr).
 */
int xb_env_up(struct xb_env *e, enum vdrv_kind kind,
	      const struct xb_envcfg *c, const struct xb_opts *o)
{
	/* a row that polls polls for -p's window when one is given */
	unsigned int poll_us = c->busyloop_us && o->poll_us ? o->poll_us :
			       c->busyloop_us;
	struct vdrv_config cfg = {
		.features = VDRV_FEATURES_QEMU,
		.num = c->num,
		.rx_buf_size = c->rx_buf_size,
		.busyloop_us = c->xtap_mode && kind == VDRV_XTAP ? 0 : poll_us,
	};
	static unsigned int seq;
	const char *what;
	char name[IFNAMSIZ];
	unsigned int k;
	int ret, fd;

	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->udp = -1;
	e->pkt = -1;
	for (k = 0; k < XB_FLOWS; k++)
		e->flow_fd[k] = -1;
	e->be.tap_fd = -1;
	e->be.vhost_fd = -1;
	seq++;
	snprintf(name, sizeof(name), "xb%c%u", kind == VDRV_XTAP ? 'x' : 'u',
		 seq);

	what = "create backend";
	ret = vdrv_backend_create(&e->be, kind, name, 0);
	if (ret)
		goto err;
	e->gap_us = c->gap_us;
	e->runtime_cpu = c->xtap_mode;
	if (c->xtap_mode && kind == VDRV_XTAP) {
		char us[16];

		snprintf(us, sizeof(us), "%u", poll_us);
		what = "xtap/busy_poll_us";
		ret = xb_xtap_set(name, "busy_poll_us", us);
		if (ret)
			goto err;
		what = "xtap/busy_poll_mode";
		ret = xb_xtap_set(name, "busy_poll_mode", c->xtap_mode);
		if (ret)
			goto err;
	}
	if (c->xtap_stall_off && kind == VDRV_XTAP) {
		what = "xtap/stall_ms";
		ret = xb_xtap_set(name, "stall_ms", "0");
		if (ret)
			goto err;
	}
	if (c->xtap_fc_off && kind == VDRV_XTAP) {
		what = "xtap/flow_control";
		ret = xb_xtap_set(name, "flow_control", "0");
		if (ret)
			goto err;
	}
	what = "vdrv_init";
	e->d_ready = true;
	ret = vdrv_init(&e->d, &cfg);
	if (ret)
		goto err;
	what = "vdrv_setup";
	ret = vdrv_setup(&e->d, e->be.vhost_fd);
	if (ret)
		goto err;
	what = "TUNSETVNETHDRSZ";
	ret = vdrv_backend_set_hdr_len(&e->be, vdrv_sock_hdr_len(&e->d));
	if (ret)
		goto err;
	what = "TUNSETOFFLOAD";
	if (c->offload && ioctl(e->be.tap_fd, TUNSETOFFLOAD, c->offload) < 0) {
		ret = -errno;
		goto err;
	}
	what = "interface MAC";
	ret = xb_if_mac(name, e->mac);
	if (ret)
		goto err;
	if (c->addr) {
		what = "interface address";
		ret = xb_if_addr(name, XB_HOST_IP, 24);
		if (ret)
			goto err;
		what = "neighbour entry";
		ret = xb_neigh_add(name, XB_GUEST_IP, xb_guest_mac);
		if (ret)
			goto err;
	}
	if (c->udp) {
		what = "UDP socket";
		ret = xb_udp_socket(XB_HOST_IP, XB_PORT);
		if (ret < 0)
			goto err;
		e->udp = ret;
	}
	if (c->xdp_drop) {
		what = "attach XDP_DROP";
		ret = xb_xdp_attach(e->be.ifindex, 0);
		if (ret)
			goto err;
	}
	what = "VHOST_NET_SET_BACKEND";
	ret = vdrv_attach(&e->d, e->be.tap_fd);
	if (ret)
		goto err;
	/* SET_OWNER started the workers; xtap's are renamed (new threads)
	 * when their queue is attached
	 */
	what = "find worker threads";
	ret = xb_find_workers(e);
	if (ret <= 0) {
		ret = ret ? ret : -ESRCH;
		goto err;
	}
	what = "pin worker threads";
	ret = xb_pin_workers(e, c->one_cpu ? o->guest_cpu : o->worker_cpu);
	if (ret)
		goto err;
	what = "RX fill";
	ret = vdrv_rx_fill(&e->d);
	if (ret < 0)
		goto err;
	vdrv_kick(&e->d, VDRV_RX);
	what = "link running";
	ret = vdrv_backend_wait_running(&e->be, 5000);
	if (ret)
		goto err;
	if (c->veth_redirect) {
		snprintf(e->veth[0], IFNAMSIZ, "xbv%ua", seq);
		snprintf(e->veth[1], IFNAMSIZ, "xbv%ub", seq);
		what = "veth pair";
		ret = xb_veth_create(e->veth[0], e->veth[1]);
		if (ret)
			goto err;
		what = "attach XDP redirect on veth";
		ret = xb_xdp_attach(if_nametoindex(e->veth[1]), e->be.ifindex);
		if (ret)
			goto err;
	}
	if (c->tx_redirect) {
		snprintf(e->veth[0], IFNAMSIZ, "xbv%ua", seq);
		snprintf(e->veth[1], IFNAMSIZ, "xbv%ub", seq);
		what = "veth pair";
		ret = xb_veth_create(e->veth[0], e->veth[1]);
		if (ret)
			goto err;
		/* veth takes redirected frames only with a program on its peer */
		what = "attach XDP_DROP on the veth peer";
		ret = xb_xdp_attach(if_nametoindex(e->veth[1]), 0);
		if (ret)
			goto err;
		what = "attach XDP redirect to the veth";
		ret = xb_xdp_attach(e->be.ifindex, if_nametoindex(e->veth[0]));
		if (ret)
			goto err;
	}
	if (c->nic_redirect) {
		what = "hub NICs (vm/run.sh)";
		ret = xb_nic_setup(e, 0);
		if (ret)
			goto err;
		what = "attach XDP redirect to the hub NIC";
		ret = xb_xdp_attach(e->be.ifindex, if_nametoindex(e->nic[0]));
		if (ret)
			goto err;
		e->host_on_nic = true;
	}
	if (c->nic_rx_redirect) {
		what = "hub NICs (vm/run.sh), XDP redirect into the interface";
		ret = xb_nic_setup(e, e->be.ifindex);
		if (ret)
			goto err;
	}
	for (k = 0; k < c->flows && k < XB_FLOWS; k++) {
		what = "AF_PACKET flow sender";
		fd = xb_pkt_sender_qdisc(e->be.ifindex, c->pkt_vnet_hdr);
		if (fd < 0) {
			ret = fd;
			goto err;
		}
		e->flow_fd[k] = fd;
		e->nflows = k + 1;
	}
	if (c->pkt || c->veth_redirect || c->nic_rx_redirect) {
		what = "AF_PACKET sender";
		fd = xb_pkt_sender(c->veth_redirect ?
				   (int)if_nametoindex(e->veth[0]) :
				   c->nic_rx_redirect ?
				   (int)if_nametoindex(e->nic[0]) :
				   e->be.ifindex, c->pkt_vnet_hdr);
		if (fd < 0) {
			ret = fd;
			goto err;
		}
		e->pkt = fd;
	}
	/* TX completions are reaped while sending; no interrupt unless asked */
	vdrv_disable_cb(&e->d, VDRV_TX);
	return 0;
err:
	fprintf(stderr, "# %s: %s failed: %s%s%s\n", vdrv_kind_name(kind), what,
		strerror(-ret), e->d.err_op ? " at " : "",
		e->d.err_op ? e->d.err_op : "");
	return ret;
}

/**
 * xb_env_down() - tear down what xb_env_up() built (any part of it)
 * @e: environment
 */
void xb_env_down(struct xb_env *e)
{
	unsigned int k;

	for (k = 0; k < e->nflows; k++)
		if (e->flow_fd[k] >= 0)
			close(e->flow_fd[k]);
	e->nflows = 0;
	if (e->pkt >= 0)
		close(e->pkt);
	if (e->udp >= 0)
		close(e->udp);
	e->pkt = -1;
	e->udp = -1;
	if (e->veth[0][0])
		xb_link_del(e->veth[0]);
	e->veth[0][0] = 0;
	xb_nic_down(e);
	/* the vhost fd goes first, as QEMU does */
	vdrv_backend_destroy(&e->be);
	if (e->d_ready)
		vdrv_fini(&e->d);
	e->d_ready = false;
}

/* ---------------------------------------------------------------------- */
/* Guest helpers */

/*
 * Sleep until the device has used @want more entries of queue @q (or
 * @timeout_ms passed), virtio's "delayed callback": used_event is set
 * @want - 1 entries ahead, so one interrupt covers many completions.  A
 * wake-up that finds nothing new (a signal for entries the guest had
 * already taken while polling, normal with event idx) does not end the
 * wait: only the timeout makes it return 0, which callers count as stalls.
 * Return: 1 when entries are pending, 0 on timeout, -errno.
 */
static int xb_wait_used(struct xb_env *e, unsigned int q, unsigned int want,
			int timeout_ms)
{
	struct vdrv_vq *vq = &e->d.vq[q];
	struct pollfd p = { .fd = vq->call_fd, .events = POLLIN };
	double end = xb_now() + timeout_ms / 1e3;
	int ret, left = timeout_ms;
	uint64_t v;

	if (!want)
		want = 1;
	for (;;) {
		if (e->d.event_idx) {
			__atomic_store_n(&vring_used_event(&vq->vr),
					 (uint16_t)(vq->last_used + want - 1),
					 __ATOMIC_RELAXED);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (vdrv_used_pending(&e->d, q))
				return 1;
		} else if (vdrv_enable_cb(&e->d, q)) {
			return 1;
		}
		ret = poll(&p, 1, left);
		if (ret < 0)
			return -errno;
		if (read(vq->call_fd, &v, sizeof(v)) == sizeof(v))
			vq->calls += v;
		vdrv_disable_cb(&e->d, q);
		if (vdrv_used_pending(&e->d, q))
			return 1;
		left = (int)((end - xb_now()) * 1e3);
		if (!ret || left <= 0)
			return 0;
	}
}

static int xb_rx_take_max(struct xb_env *e, uint64_t *bytes, int max);

/*
 * Take every received frame without copying it; count frames and bytes.
 * Return: frames taken or -errno.
 */
static int xb_rx_take(struct xb_env *e, uint64_t *bytes)
{
	return xb_rx_take_max(e, bytes, -1);
}

/* The same, at most @max frames (-1: no limit). */
static int xb_rx_take_max(struct xb_env *e, uint64_t *bytes, int max)
{
	struct vdrv *d = &e->d;
	struct virtio_net_hdr_mrg_rxbuf h;
	struct vdrv_used u;
	unsigned int k, nb;
	int n = 0, ret;
	size_t len;

	while (n != max) {
		ret = vdrv_pop(d, VDRV_RX, &u);
		if (ret < 0)
			return ret;
		if (!ret || !u.buf)
			break;
		if (u.len < d->hdr_len)
			return -EBADMSG;
		memcpy(&h, u.buf, d->hdr_len);
		nb = d->mrg_rxbuf ? h.num_buffers : 1;
		len = u.len - d->hdr_len;
		for (k = 1; k < nb; k++) {
			ret = vdrv_pop(d, VDRV_RX, &u);
			if (ret <= 0)
				return ret ? ret : -EBADMSG;
			len += u.len;
		}
		*bytes += len;
		n++;
	}
	return n;
}

static int xb_rx_refill(struct xb_env *e)
{
	int ret = vdrv_rx_fill(&e->d);

	if (ret > 0)
		vdrv_kick(&e->d, VDRV_RX);
	return ret < 0 ? ret : 0;
}

/* Post one pre-built TX request (vnet header + frame at @gpa). */
static int xb_tx_post(struct xb_env *e, uint64_t gpa, uint32_t len)
{
	uint16_t id;

	if (vdrv_raw_alloc(&e->d, VDRV_TX, 1, &id))
		return -ENOSPC;
	vdrv_raw_desc(&e->d, VDRV_TX, id, gpa, len, 0, 0);
	vdrv_raw_post(&e->d, VDRV_TX, id, &id, 1, NULL);
	return 0;
}

/* Copy header and frame into guest memory once; return the buffer. */
static uint8_t *xb_guest_frame(struct xb_env *e, const void *frame, size_t len,
			       const struct virtio_net_hdr *vh)
{
	uint8_t *buf = vdrv_alloc(&e->d, e->d.hdr_len + len, 64);

	if (!buf)
		return NULL;
	memset(buf, 0, e->d.hdr_len);
	if (vh)
		memcpy(buf, vh, sizeof(*vh));
	memcpy(buf + e->d.hdr_len, frame, len);
	return buf;
}

/* Drain the host UDP socket; return datagrams read. */
static uint64_t xb_udp_drain(int fd)
{
	static char bufs[64][64];
	struct mmsghdr m[64];
	struct iovec iov[64];
	uint64_t n = 0;
	int i, got;

	for (i = 0; i < 64; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		memset(&m[i].msg_hdr, 0, sizeof(m[i].msg_hdr));
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	do {
		got = recvmmsg(fd, m, 64, MSG_DONTWAIT, NULL);
		if (got > 0)
			n += got;
	} while (got == 64);
	return n;
}

/* The measurement window: counters at its start and end. */
struct xb_window {
	double t_open, t_close, t0, t1;
	bool open;
	bool nic;		/* tx64_nic: the rate is the NIC's tx_packets */
	uint64_t pk0, bytes0, cpu0;
	long long host0, nic0;
	const char *host_stat;
};

static void xb_window_init(struct xb_window *w, const struct xb_opts *o,
			   const char *host_stat)
{
	double now = xb_now();

	memset(w, 0, sizeof(*w));
	w->t_open = now + o->warm;
	w->t_close = w->t_open + o->secs;
	w->host_stat = host_stat;
}

/*
 * Open the window when its time comes, with the packet count @pk and byte
 * count @bytes (0 when the caller does not count bytes).
 * Return: false once it has closed (and fills @r's counts).
 */
static bool xb_window_tick(struct xb_window *w, struct xb_env *e, uint64_t pk,
			   uint64_t bytes, struct xb_result *r)
{
	double now = xb_now();

	if (!w->open) {
		if (now < w->t_open)
			return true;
		w->open = true;
		w->t0 = now;
		w->pk0 = pk;
		w->bytes0 = bytes;
		w->cpu0 = xb_workers_cpu_ns(e);
		w->host0 = xb_if_stat(e->host_on_nic ? e->nic[1] : e->be.ifname,
				      w->host_stat);
		w->nic = e->host_on_nic;
		if (w->nic)
			w->nic0 = xb_if_stat(e->nic[0], "tx_packets");
		return true;
	}
	if (now < w->t_close)
		return true;
	w->t1 = now;
	r->packets = pk - w->pk0;
	r->bytes = bytes - w->bytes0;
	r->cpu_ns = xb_workers_cpu_ns(e) - w->cpu0;
	r->host_pkts = xb_if_stat(e->host_on_nic ? e->nic[1] : e->be.ifname,
				  w->host_stat) - w->host0;
	if (w->nic)
		r->nic_tx = xb_if_stat(e->nic[0], "tx_packets") - w->nic0;
	return false;
}

static void xb_set_rate(struct xb_result *r, const struct xb_window *w,
			enum xb_unit unit, size_t frame_len)
{
	double dt = w->t1 - w->t0;

	if (dt <= 0)
		return;
	if (!r->bytes)
		r->bytes = r->packets * frame_len;
	if (unit == XB_GBPS)
		r->value = r->bytes * 8.0 / dt / 1e9;
	else if (w->nic)
		r->value = r->nic_tx / dt / 1e3;
	else
		r->value = r->packets / dt / 1e3;
}

/* ---------------------------------------------------------------------- */
/* TX: guest -> tap */

/*
 * Stream @frame from the guest for the window.  With a host UDP socket the
 * datagrams it receives are what counts, else the completed requests.
 */
static int xb_tx_stream(struct xb_env *e, const struct xb_opts *o,
			const void *frame, size_t len,
			const struct virtio_net_hdr *vh, enum xb_unit unit,
			struct xb_result *r)
{
	struct vdrv_vq *vq = &e->d.vq[VDRV_TX];
	uint64_t done = 0, udp = 0, gpa;
	struct xb_window w;
	unsigned int posted;
	uint8_t *buf;
	int n, ret;

	buf = xb_guest_frame(e, frame, len, vh);
	if (!buf)
		return -ENOMEM;
	gpa = vdrv_gpa(&e->d, buf);
	xb_window_init(&w, o, "rx_packets");
	while (xb_window_tick(&w, e, e->udp >= 0 ? udp : done, 0, r)) {
		n = vdrv_tx_reap(&e->d, 0);
		if (n < 0)
			return n;
		done += n;
		for (posted = 0; posted < XB_TX_BATCH; posted++)
			if (xb_tx_post(e, gpa, e->d.hdr_len + len))
				break;
		if (posted)
			vdrv_kick(&e->d, VDRV_TX);
		if (e->udp >= 0)
			udp += xb_udp_drain(e->udp);
		if (!posted && !n) {
			ret = xb_wait_used(e, VDRV_TX, vq->inflight * 3 / 4,
					   XB_WAIT_MS);
			if (ret < 0)
				return ret;
			if (!ret)
				r->stalls++;
		}
	}
	xb_set_rate(r, &w, unit, len);
	return 0;
}

static int xb_tx_drop(struct xb_env *e, const struct xb_opts *o,
		      size_t len, enum xb_unit unit, struct xb_result *r)
{
	uint8_t f[XB_F1500];

	xb_udp_frame(f, len, xb_other_mac, xb_guest_mac, XB_GUEST_IP,
		     XB_HOST_IP);
	return xb_tx_stream(e, o, f, len, NULL, unit, r);
}

static int xb_run_tx64_drop(struct xb_env *e, const struct xb_opts *o,
			    struct xb_result *r)
{
	return xb_tx_drop(e, o, XB_F64, XB_KPPS, r);
}

/* As tx64_drop, with the UDP checksum left to the device (NEEDS_CSUM), as
 * real guests send.
 */
static int xb_run_tx64_csum(struct xb_env *e, const struct xb_opts *o,
			    struct xb_result *r)
{
	struct virtio_net_hdr vh = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.csum_start = 14 + 20,
		.csum_offset = 6,
	};
	uint8_t f[XB_F64];

	xb_udp_frame(f, sizeof(f), xb_other_mac, xb_guest_mac, XB_GUEST_IP,
		     XB_HOST_IP);
	return xb_tx_stream(e, o, f, sizeof(f), &vh, XB_KPPS, r);
}

static int xb_run_tx1500(struct xb_env *e, const struct xb_opts *o,
			 struct xb_result *r)
{
	return xb_tx_drop(e, o, XB_F1500, XB_GBPS, r);
}

static int xb_run_tx64k(struct xb_env *e, const struct xb_opts *o,
			struct xb_result *r)
{
	struct virtio_net_hdr vh;
	uint8_t *f = malloc(XB_F64K);
	int ret;

	if (!f)
		return -ENOMEM;
	xb_gso_frame(f, &vh, xb_other_mac, xb_guest_mac, XB_GUEST_IP,
		     XB_HOST_IP);
	ret = xb_tx_stream(e, o, f, XB_F64K, &vh, XB_GBPS, r);
	free(f);
	return ret;
}

static int xb_run_tx64_stack(struct xb_env *e, const struct xb_opts *o,
			     struct xb_result *r)
{
	uint8_t f[XB_F64];

	xb_udp_frame(f, sizeof(f), e->mac, xb_guest_mac, XB_GUEST_IP,
		     XB_HOST_IP);
	return xb_tx_stream(e, o, f, sizeof(f), NULL, XB_KPPS, r);
}

/* ---------------------------------------------------------------------- */
/* RX: host -> guest */

/*
 * The host sends @frame (after @vh when the sender carries vnet headers)
 * with sendmmsg() in bursts, keeping at most a window of frames between
 * sent and received, so neither backend ever drops for lack of room; the
 * guest takes what arrives and re-posts buffers.
 *
 * Under TCG both backends now and then leave a full window queued for tens
 * of milliseconds with their worker asleep (seen with the worker's state
 * and the rings dumped at that moment; the cause is not known).  So the
 * guest waits at most XB_RX_WAIT_MS and then kicks the RX queue, which
 * wakes the worker; each such wait counts as a stall.
 */
static int xb_rx_stream(struct xb_env *e, const struct xb_opts *o,
			const void *frame, size_t len,
			const struct virtio_net_hdr *vh, enum xb_unit unit,
			struct xb_result *r)
{
	size_t per = e->d.vq[VDRV_RX].buf_size - e->d.hdr_len;
	unsigned int bufs = (len + per - 1) / per, win;
	uint64_t sent = 0, recvd = 0, bytes = 0;
	struct mmsghdr m[XB_RX_BURST];
	struct iovec iov[2];
	struct xb_window w;
	unsigned int idle = 0;
	int n, ret, k;
	long room;

	win = e->d.vq[VDRV_RX].num / (bufs ? bufs : 1) / 2;
	if (!win)
		win = 1;
	iov[0].iov_base = (void *)vh;
	iov[0].iov_len = sizeof(*vh);
	iov[1].iov_base = (void *)frame;
	iov[1].iov_len = len;
	memset(m, 0, sizeof(m));
	for (k = 0; k < XB_RX_BURST; k++) {
		m[k].msg_hdr.msg_iov = vh ? iov : iov + 1;
		m[k].msg_hdr.msg_iovlen = vh ? 2 : 1;
	}
	xb_window_init(&w, o, "tx_packets");
	while (xb_window_tick(&w, e, recvd, bytes, r)) {
		room = (long)win - (long)(sent - recvd);
		if (room > 0) {
			n = sendmmsg(e->pkt, m, room < XB_RX_BURST ? room :
				     XB_RX_BURST, 0);
			if (n > 0)
				sent += n;
			else if (n < 0 && errno != ENOBUFS && errno != EAGAIN)
				return -errno;
		}
		n = xb_rx_take(e, &bytes);
		if (n < 0)
			return n;
		recvd += n;
		/* late frames of a window given up for lost */
		if (recvd > sent) {
			r->lost -= recvd - sent < r->lost ? recvd - sent :
				   r->lost;
			sent = recvd;
		}
		if (n) {
			idle = 0;
			ret = xb_rx_refill(e);
			if (ret)
				return ret;
			continue;
		}
		if (room > 0)
			continue;
		ret = xb_wait_used(e, VDRV_RX, (sent - recvd) / 2, XB_RX_WAIT_MS);
		if (ret < 0)
			return ret;
		if (ret) {
			idle = 0;
			continue;
		}
		r->stalls++;
		if (o->verbose)
			fprintf(stderr, "# RX stall at %.3f s: sent %llu received %llu; used idx %u last_used %u used_event %u avail_event %u avail idx %u\n",
				xb_now() - w.t_open + o->warm,
				(unsigned long long)sent,
				(unsigned long long)recvd,
				e->d.vq[VDRV_RX].vr.used->idx,
				e->d.vq[VDRV_RX].last_used,
				vring_used_event(&e->d.vq[VDRV_RX].vr),
				vring_avail_event(&e->d.vq[VDRV_RX].vr),
				e->d.vq[VDRV_RX].vr.avail->idx);
		/* wake the worker through its kick eventfd */
		ret = vdrv_kick_force(&e->d, VDRV_RX);
		if (ret)
			return ret;
		if (++idle >= XB_RX_GIVE_UP) {
			/* whatever is still out is not coming */
			r->lost += sent - recvd;
			sent = recvd;
			idle = 0;
		}
	}
	xb_set_rate(r, &w, unit, len);
	return 0;
}

static int xb_rx_plain(struct xb_env *e, const struct xb_opts *o, size_t len,
		       enum xb_unit unit, struct xb_result *r)
{
	uint8_t f[XB_F1500];

	xb_udp_frame(f, len, xb_guest_mac, e->mac, XB_HOST_IP, XB_GUEST_IP);
	return xb_rx_stream(e, o, f, len, NULL, unit, r);
}

static int xb_run_rx64(struct xb_env *e, const struct xb_opts *o,
		       struct xb_result *r)
{
	return xb_rx_plain(e, o, XB_F64, XB_KPPS, r);
}

static int xb_run_rx1500(struct xb_env *e, const struct xb_opts *o,
			 struct xb_result *r)
{
	return xb_rx_plain(e, o, XB_F1500, XB_GBPS, r);
}

static int xb_run_rx64k(struct xb_env *e, const struct xb_opts *o,
			struct xb_result *r)
{
	struct virtio_net_hdr vh;
	uint8_t *f = malloc(XB_F64K);
	int ret;

	if (!f)
		return -ENOMEM;
	xb_gso_frame(f, &vh, xb_guest_mac, e->mac, XB_HOST_IP, XB_GUEST_IP);
	ret = xb_rx_stream(e, o, f, XB_F64K, &vh, XB_GBPS, r);
	free(f);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* RX: several flows through the qdisc */

/* Frames each flow offers per turn of the loop: together twice what the
 * guest takes per turn, so that the host outruns the guest.
 */
#define XB_FLOW_BURST	16
/* Frames the guest takes per turn: a Linux guest's NAPI weight. */
#define XB_FLOW_TAKE	64

/*
 * Bulk host -> guest from e->nflows senders at once, each its own flow
 * (UDP or TCP source port 40000 + flow), through the interface's qdisc:
 * the host side of several TCP streams to one guest, without TCP.  Open
 * loop: each turn every flow offers XB_FLOW_BURST frames, whatever is in
 * flight, and the guest takes at most XB_FLOW_TAKE (a NAPI poll), so the
 * host offers more than the guest takes and the backend's ring fills up:
 * the case flow control is for.  What the stack refuses (a full qdisc behind a stopped tx queue:
 * ENOBUFS) is counted as refused and offered again next turn, which is
 * what a TCP sender does with its unsent data.  A backend that never
 * stops its queue drops what does not fit into its ring instead: counted
 * from the interface's tx_dropped as drops.  When every flow was refused
 * and the guest found nothing, the guest sleeps until the backend has
 * delivered something (the sender could not go on either).
 */
static int xb_rx_flows(struct xb_env *e, const struct xb_opts *o,
		       uint8_t *frame, size_t len, struct virtio_net_hdr *vh,
		       uint8_t *port, struct xb_result *r)
{
	uint64_t recvd = 0, bytes = 0, refused = 0, refused0 = 0;
	uint64_t turns = 0, offered = 0, waits = 0;
	struct mmsghdr m[XB_FLOWS][XB_FLOW_BURST];
	struct iovec iov[XB_FLOWS][2];
	uint8_t *fr[XB_FLOWS];
	long long drops0 = 0;
	struct xb_window w;
	unsigned int f, k;
	bool was_open;
	int n, ret, sent;

	memset(m, 0, sizeof(m));
	for (f = 0; f < e->nflows; f++) {
		fr[f] = malloc(len);
		if (!fr[f]) {
			while (f--)
				free(fr[f]);
			return -ENOMEM;
		}
		memcpy(fr[f], frame, len);
		/* source port 40000 + f: one flow each */
		fr[f][port - frame] = (40000 + f) >> 8;
		fr[f][port - frame + 1] = (40000 + f) & 0xff;
		iov[f][0].iov_base = vh;
		iov[f][0].iov_len = sizeof(*vh);
		iov[f][1].iov_base = fr[f];
		iov[f][1].iov_len = len;
		for (k = 0; k < XB_FLOW_BURST; k++) {
			m[f][k].msg_hdr.msg_iov = vh ? iov[f] : iov[f] + 1;
			m[f][k].msg_hdr.msg_iovlen = vh ? 2 : 1;
		}
	}
	xb_window_init(&w, o, "tx_packets");
	ret = 0;
	for (;;) {
		was_open = w.open;
		if (!xb_window_tick(&w, e, recvd, bytes, r))
			break;
		if (!was_open && w.open) {
			drops0 = xb_if_stat(e->be.ifname, "tx_dropped");
			refused0 = refused;
		}
		sent = 0;
		turns++;
		for (f = 0; f < e->nflows; f++) {
			n = sendmmsg(e->flow_fd[f], m[f], XB_FLOW_BURST,
				     MSG_DONTWAIT);
			if (n < 0 && errno != ENOBUFS && errno != EAGAIN) {
				ret = -errno;
				goto out;
			}
			n = n < 0 ? 0 : n;
			offered += XB_FLOW_BURST;
			sent += n;
			refused += XB_FLOW_BURST - n;
		}
		n = xb_rx_take_max(e, &bytes, XB_FLOW_TAKE);
		if (n < 0) {
			ret = n;
			goto out;
		}
		recvd += n;
		if (n) {
			ret = xb_rx_refill(e);
			if (ret)
				goto out;
			continue;
		}
		if (sent)
			continue;
		waits++;
		ret = xb_wait_used(e, VDRV_RX, 1, XB_RX_WAIT_MS);
		if (ret < 0)
			goto out;
		if (!ret) {
			r->stalls++;
			ret = vdrv_kick_force(&e->d, VDRV_RX);
			if (ret)
				goto out;
		}
		ret = 0;
	}
	r->drops = xb_if_stat(e->be.ifname, "tx_dropped") - drops0;
	r->refused = refused - refused0;
	if (o->verbose)
		fprintf(stderr, "# flows: %llu turns, %llu offered, %llu refused, %llu received, %llu waits\n",
			(unsigned long long)turns,
			(unsigned long long)offered,
			(unsigned long long)refused,
			(unsigned long long)recvd, (unsigned long long)waits);
	xb_set_rate(r, &w, XB_GBPS, len);
out:
	for (f = 0; f < e->nflows; f++)
		free(fr[f]);
	return ret;
}

static int xb_run_flows1500(struct xb_env *e, const struct xb_opts *o,
			    struct xb_result *r)
{
	uint8_t f[XB_F1500];

	xb_udp_frame(f, sizeof(f), xb_guest_mac, e->mac, XB_HOST_IP,
		     XB_GUEST_IP);
	return xb_rx_flows(e, o, f, sizeof(f), NULL, f + 14 + 20, r);
}

static int xb_run_flows64k(struct xb_env *e, const struct xb_opts *o,
			   struct xb_result *r)
{
	struct virtio_net_hdr vh;
	uint8_t *f = malloc(XB_F64K);
	int ret;

	if (!f)
		return -ENOMEM;
	xb_gso_frame(f, &vh, xb_guest_mac, e->mac, XB_HOST_IP, XB_GUEST_IP);
	ret = xb_rx_flows(e, o, f, XB_F64K, &vh, f + 14 + 20, r);
	free(f);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Request/response */

static int xb_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double xb_pct(const double *s, size_t n, double p)
{
	size_t i = (size_t)ceil(p * n) - 1;

	return n ? s[i < n ? i : n - 1] : 0;
}

/*
 * The guest sends a 64-byte UDP request to the host socket and waits for
 * the 64-byte answer (sleeping on the RX call eventfd, as a guest waits
 * for its interrupt); the responder answers as soon as poll() says the
 * request is there.  One request in flight.
 */
static int xb_run_rr(struct xb_env *e, const struct xb_opts *o,
		     struct xb_result *r)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(XB_PORT) };
	struct pollfd p = { .fd = e->udp, .events = POLLIN };
	uint8_t f[XB_F64], msg[XB_F64 - 14 - 20 - 8], in[256];
	struct timespec gap = { .tv_nsec = e->gap_us * 1000L };
	uint64_t gpa, bytes = 0, reqs = 0, rt0 = 0;
	long long spin0 = -1, spin1;
	double t0, *s;
	struct xb_window w;
	size_t ns = 0;
	uint8_t *buf;
	int ret = 0, n;

	inet_pton(AF_INET, XB_GUEST_IP, &to.sin_addr);
	memset(msg, 0x5a, sizeof(msg));
	xb_udp_frame(f, sizeof(f), e->mac, xb_guest_mac, XB_GUEST_IP,
		     XB_HOST_IP);
	buf = xb_guest_frame(e, f, sizeof(f), NULL);
	s = malloc(XB_MAX_SAMPLES * sizeof(*s));
	if (!buf || !s) {
		free(s);
		return -ENOMEM;
	}
	gpa = vdrv_gpa(&e->d, buf);
	xb_window_init(&w, o, "rx_packets");
	while (xb_window_tick(&w, e, reqs, 0, r)) {
		if (w.open && !rt0) {
			rt0 = xb_workers_runtime_ns(e);
			if (e->runtime_cpu && e->kind == VDRV_XTAP)
				spin0 = vdrv_ethtool_stat(e->be.ifname,
							  "q0_busy_poll_ns");
		}
		if (e->gap_us)
			nanosleep(&gap, NULL);
		t0 = xb_now();
		ret = xb_tx_post(e, gpa, e->d.hdr_len + sizeof(f));
		if (ret)
			break;
		vdrv_kick(&e->d, VDRV_TX);
		/* host: answer */
		n = poll(&p, 1, XB_RR_WAIT_MS);
		if (n <= 0 || recv(e->udp, in, sizeof(in), 0) < 0) {
			r->stalls++;
			vdrv_tx_reap(&e->d, 0);
			continue;
		}
		if (sendto(e->udp, msg, sizeof(msg), 0, (struct sockaddr *)&to,
			   sizeof(to)) < 0) {
			ret = -errno;
			break;
		}
		/* guest: wait for it */
		while (!(n = xb_rx_take(e, &bytes))) {
			n = xb_wait_used(e, VDRV_RX, 1, XB_RR_WAIT_MS);
			if (n < 0)
				break;
			if (!n) {
				r->stalls++;
				break;
			}
		}
		if (n < 0) {
			ret = n;
			break;
		}
		if (!n)
			continue;
		if (w.open && ns < XB_MAX_SAMPLES)
			s[ns++] = (xb_now() - t0) * 1e6;
		reqs++;
		ret = xb_rx_refill(e);
		if (ret)
			break;
		if (vdrv_tx_reap(&e->d, 0) < 0) {
			ret = -EBADMSG;
			break;
		}
	}
	/* spins of tens of microseconds escape the tick-sampled utime */
	if (e->runtime_cpu)
		r->cpu_ns = xb_workers_runtime_ns(e) - rt0;
	if (spin0 >= 0) {
		spin1 = vdrv_ethtool_stat(e->be.ifname, "q0_busy_poll_ns");
		if (spin1 >= spin0)
			r->spin_ns = spin1 - spin0;
	}
	if (!ret) {
		qsort(s, ns, sizeof(*s), xb_cmp_double);
		r->value = xb_pct(s, ns, 0.50);
		r->p99 = xb_pct(s, ns, 0.99);
		r->p999 = xb_pct(s, ns, 0.999);
	}
	free(s);
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Busy-poll probe */

/*
 * Does the backend spin?  The guest sends one 64-byte frame (stack drop)
 * every XB_PROBE_GAP_US, so the TX worker always runs out of work and, with
 * a busy-loop timeout, spins before it sleeps.  The figure is the workers'
 * on-CPU time per frame from schedstat (tick-sampled utime+stime cannot see
 * tens of microseconds per wakeup).
 */
static int xb_run_probe(struct xb_env *e, const struct xb_opts *o,
			struct xb_result *r)
{
	struct timespec gap = { .tv_nsec = XB_PROBE_GAP_US * 1000L };
	uint64_t sent = 0, gpa, rt0 = 0;
	uint8_t f[XB_F64], *buf;
	struct xb_window w;

	xb_udp_frame(f, sizeof(f), xb_other_mac, xb_guest_mac, XB_GUEST_IP,
		     XB_HOST_IP);
	buf = xb_guest_frame(e, f, sizeof(f), NULL);
	if (!buf)
		return -ENOMEM;
	gpa = vdrv_gpa(&e->d, buf);
	xb_window_init(&w, o, "rx_packets");
	while (xb_window_tick(&w, e, sent, 0, r)) {
		if (w.open && !rt0)
			rt0 = xb_workers_runtime_ns(e);
		if (vdrv_tx_reap(&e->d, 0) < 0)
			return -EBADMSG;
		if (xb_tx_post(e, gpa, e->d.hdr_len + sizeof(f)))
			return -ENOSPC;
		vdrv_kick(&e->d, VDRV_TX);
		sent++;
		nanosleep(&gap, NULL);
	}
	if (r->packets)
		r->value = (xb_workers_runtime_ns(e) - rt0) / 1e3 / r->packets;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The table */

#define XB_NUM		256
#define XB_BULK_NUM	512

const struct xb_row xb_rows[] = {
	{
		.id = "tx64_drop",
		.title = "TX 64 B guest→tap, stack drop (PACKET_OTHERHOST, ip_rcv)",
		.unit = XB_KPPS,
		.run = xb_run_tx64_drop,
		.cfg = { .num = XB_NUM },
	}, {
		.id = "tx64_csum",
		.title = "TX 64 B guest→tap with checksum offload (NEEDS_CSUM), stack drop",
		.unit = XB_KPPS,
		.run = xb_run_tx64_csum,
		.cfg = { .num = XB_NUM },
	}, {
		.id = "tx64_xdp",
		.title = "TX 64 B guest→tap, XDP_DROP on the tap",
		.unit = XB_KPPS,
		.run = xb_run_tx64_drop,
		.cfg = { .num = XB_NUM, .xdp_drop = true },
	}, {
		.id = "tx64_redirect",
		.title = "TX 64 B guest→tap, XDP_REDIRECT to a veth (XDP_DROP on its peer)",
		.unit = XB_KPPS,
		.run = xb_run_tx64_drop,
		.cfg = { .num = XB_NUM, .tx_redirect = true },
	}, {
		.id = "tx64_nic",
		.title = "TX 64 B guest→tap, XDP_REDIRECT to a NIC (virtio_net): frames the NIC transmitted",
		.unit = XB_KPPS,
		.run = xb_run_tx64_drop,
		.cfg = { .num = XB_NUM, .nic_redirect = true },
	}, {
		.id = "tx64_stack",
		.title = "TX 64 B guest→tap→host UDP socket",
		.unit = XB_KPPS,
		.run = xb_run_tx64_stack,
		.cfg = { .num = XB_NUM, .addr = true, .udp = true },
	}, {
		.id = "rx64",
		.title = "RX 64 B host AF_PACKET→tap→guest",
		.unit = XB_KPPS,
		.run = xb_run_rx64,
		.cfg = { .num = XB_NUM, .pkt = true },
	}, {
		.id = "tx64_drop_wd_off",
		.title = "TX 64 B guest→tap, stack drop, xtap stall watchdog off (compare with tx64_drop: default 100 ms)",
		.unit = XB_KPPS,
		.run = xb_run_tx64_drop,
		.cfg = { .num = XB_NUM, .xtap_stall_off = true },
	}, {
		.id = "rx64_wd_off",
		.title = "RX 64 B host AF_PACKET→tap→guest, xtap stall watchdog off (compare with rx64: default 100 ms)",
		.unit = XB_KPPS,
		.run = xb_run_rx64,
		.cfg = { .num = XB_NUM, .pkt = true, .xtap_stall_off = true },
	}, {
		.id = "rx64_redirect",
		.title = "RX 64 B veth XDP_REDIRECT→tap→guest (ndo_xdp_xmit)",
		.unit = XB_KPPS,
		.run = xb_run_rx64,
		.cfg = { .num = XB_NUM, .veth_redirect = true },
	}, {
		.id = "rx64_nic_redirect",
		.title = "RX 64 B NIC→NIC (QEMU hub), XDP_REDIRECT on the second→tap→guest (ndo_xdp_xmit)",
		.unit = XB_KPPS,
		.run = xb_run_rx64,
		.cfg = { .num = XB_NUM, .nic_rx_redirect = true },
	}, {
		.id = "rr",
		.title = "UDP request/response 64 B, busy-poll off",
		.unit = XB_USEC,
		.run = xb_run_rr,
		.cfg = { .num = XB_NUM, .addr = true, .udp = true },
	}, {
		.id = "rr_poll50",
		.title = "UDP request/response 64 B, busyloop timeout 50 µs",
		.unit = XB_USEC,
		.run = xb_run_rr,
		.cfg = { .num = XB_NUM, .addr = true, .udp = true,
			 .busyloop_us = 50 },
	}, {
		.id = "rr_1cpu",
		.title = "UDP request/response 64 B, busy-poll off, driver and workers on one vCPU (informational)",
		.unit = XB_USEC,
		.run = xb_run_rr,
		.cfg = { .num = XB_NUM, .addr = true, .udp = true,
			 .one_cpu = true },
	}, {
		.id = "rr_mode_off",
		.title = "UDP request/response 64 B, xtap busy_poll_mode=off (upstream: busy-poll off)",
		.unit = XB_USEC,
		.run = xb_run_rr,
		.cfg = { .num = XB_NUM, .addr = true, .udp = true,
			 .xtap_mode = "off" },
	}, {
		.id = "rr_mode_fixed50",
		.title = "UDP request/response 64 B, xtap busy_poll_mode=fixed 50 µs (upstream: busyloop timeout 50 µs)",
		.unit = XB_USEC,
		.run = xb_run_rr,
		.cfg = { .num = XB_NUM, .addr = true, .udp = true,
			 .xtap_mode = "fixed", .busyloop_us = 50 },
	}, {
		.id = "rr_mode_adaptive",
		.title = "UDP request/response 64 B, xtap busy_poll_mode=adaptive up to 50 µs (upstream: busyloop timeout 50 µs)",
		.unit = XB_USEC,
		.run = xb_run_rr,
		.cfg = { .num = XB_NUM, .addr = true, .udp = true,
			 .xtap_mode = "adaptive", .busyloop_us = 50 },
	}, {
		.id = "rr_sparse_off",
		.title = "UDP request/response 64 B, 1 request/ms, xtap busy_poll_mode=off (upstream: busy-poll off)",
		.unit = XB_USEC,
		.run = xb_run_rr,
		.cfg = { .num = XB_NUM, .addr = true, .udp = true,
			 .xtap_mode = "off", .gap_us = 1000 },
	}, {
		.id = "rr_sparse_fixed50",
		.title = "UDP request/response 64 B, 1 request/ms, xtap busy_poll_mode=fixed 50 µs (upstream: busyloop timeout 50 µs)",
		.unit = XB_USEC,
		.run = xb_run_rr,
		.cfg = { .num = XB_NUM, .addr = true, .udp = true,
			 .xtap_mode = "fixed", .busyloop_us = 50,
			 .gap_us = 1000 },
	}, {
		.id = "rr_sparse_adaptive",
		.title = "UDP request/response 64 B, 1 request/ms, xtap busy_poll_mode=adaptive up to 50 µs (upstream: busyloop timeout 50 µs)",
		.unit = XB_USEC,
		.run = xb_run_rr,
		.cfg = { .num = XB_NUM, .addr = true, .udp = true,
			 .xtap_mode = "adaptive", .busyloop_us = 50,
			 .gap_us = 1000 },
	}, {
		.id = "probe",
		.title = "Busy-poll probe: worker CPU per TX frame at 1 frame/ms, busy-poll off",
		.unit = XB_CPU_USEC,
		.run = xb_run_probe,
		.cfg = { .num = XB_NUM },
	}, {
		.id = "probe_poll50",
		.title = "Busy-poll probe: worker CPU per TX frame at 1 frame/ms, busyloop timeout 50 µs",
		.unit = XB_CPU_USEC,
		.run = xb_run_probe,
		.cfg = { .num = XB_NUM, .busyloop_us = 50 },
	}, {
		.id = "tx1500",
		.title = "TX bulk 1514 B frames, stack drop",
		.unit = XB_GBPS,
		.run = xb_run_tx1500,
		.cfg = { .num = XB_NUM },
	}, {
		.id = "tx64k",
		.title = "TX bulk 64 KB TCP GSO frames, stack drop",
		.unit = XB_GBPS,
		.run = xb_run_tx64k,
		.cfg = { .num = XB_NUM },
	}, {
		.id = "rx1500",
		.title = "RX bulk 1514 B frames",
		.unit = XB_GBPS,
		.run = xb_run_rx1500,
		.cfg = { .num = XB_NUM, .pkt = true },
	}, {
		.id = "rx64k",
		.title = "RX bulk 64 KB TCP GSO frames",
		.unit = XB_GBPS,
		.run = xb_run_rx64k,
		.cfg = { .num = XB_BULK_NUM, .rx_buf_size = 4096, .pkt = true,
			 .pkt_vnet_hdr = true,
			 .offload = TUN_F_CSUM | TUN_F_TSO4 },
	}, {
		.id = "rx8f1500",
		.title = "RX bulk 8 flows 1514 B frames through the qdisc (xtap: flow control on)",
		.unit = XB_GBPS,
		.run = xb_run_flows1500,
		.cfg = { .num = XB_NUM, .flows = XB_FLOWS },
	}, {
		.id = "rx8f1500_fc_off",
		.title = "RX bulk 8 flows 1514 B frames through the qdisc, xtap flow control off (drops on a full ring, as tun)",
		.unit = XB_GBPS,
		.run = xb_run_flows1500,
		.cfg = { .num = XB_NUM, .flows = XB_FLOWS,
			 .xtap_fc_off = true },
	}, {
		.id = "rx8f64k",
		.title = "RX bulk 8 flows 64 KB TCP GSO frames through the qdisc (xtap: flow control on)",
		.unit = XB_GBPS,
		.run = xb_run_flows64k,
		.cfg = { .num = XB_BULK_NUM, .rx_buf_size = 4096,
			 .flows = XB_FLOWS, .pkt_vnet_hdr = true,
			 .offload = TUN_F_CSUM | TUN_F_TSO4 },
	}, {
		.id = "rx8f64k_fc_off",
		.title = "RX bulk 8 flows 64 KB TCP GSO frames through the qdisc, xtap flow control off (drops on a full ring, as tun)",
		.unit = XB_GBPS,
		.run = xb_run_flows64k,
		.cfg = { .num = XB_BULK_NUM, .rx_buf_size = 4096,
			 .flows = XB_FLOWS, .pkt_vnet_hdr = true,
			 .offload = TUN_F_CSUM | TUN_F_TSO4,
			 .xtap_fc_off = true },
	},
};

const unsigned int xb_nrows = sizeof(xb_rows) / sizeof(xb_rows[0]);
