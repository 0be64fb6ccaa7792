/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Helpers for the xtap queue-node tests (lib/tapq.c): device set-up, the
 * queue node, frame building (Ethernet/IPv4/UDP/TCP/ICMP/ARP with real
 * checksums), reading frames with a timeout, and ethtool counters.
 */
#ifndef _XTAP_TAPQ_H
#define _XTAP_TAPQ_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <linux/xtap.h>

#define TAPQ_HOST_IP	"10.77.0.1"	/* address of the xtap device */
#define TAPQ_PEER_IP	"10.77.0.2"	/* the "guest" behind the queue fd */
#define TAPQ_FAR_IP	"10.78.0.2"	/* behind a veth, for forwarding */
/* MAC address of the peer (TAPQ_PEER_IP's static neighbour entry). */
extern const uint8_t tapq_peer_mac[6];

/* A frame as read from or written to a queue: vnet header then frame. */
struct tapq_frame {
	struct virtio_net_hdr_mrg_rxbuf vh;	/* valid for hdr_sz >= 10 */
	int hdr_sz;
	size_t len;				/* frame length, no header */
	uint8_t data[70000];
};

/* Shell, sysfs and device set-up. */
int tapq_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tapq_read_file(const char *path, char *buf, size_t sz);
long tapq_sysfs_long(const char *dev, const char *attr);
int tapq_dev_mac(const char *dev, uint8_t mac[6]);
void tapq_name(char *buf, const char *tag);
int tapq_dev_create(const char *name, int nq, int txqlen);
void tapq_dev_delete(const char *name);
int tapq_open(int ifindex, int flags);
int tapq_wait_up(const char *dev, int fd);
long long tapq_stat(const char *dev, const char *name);
int tapq_feature(const char *dev, __u32 cmd);

/* Checksums. */
uint32_t tapq_sum(const void *data, size_t len, uint32_t sum);
uint16_t tapq_fold(uint32_t sum);
uint32_t tapq_pseudo(const uint8_t *iph, uint8_t proto, uint16_t l4len);
uint16_t tapq_l4_csum(const uint8_t *iph, size_t l4len);
int tapq_ipv4_valid(const uint8_t *iph, size_t len);

/* Frame building. */
size_t tapq_eth(uint8_t *p, const uint8_t *dst, const uint8_t *src,
		uint16_t type);
size_t tapq_ip(uint8_t *p, const char *src, const char *dst, uint8_t proto,
	       size_t l4len, uint16_t id);
void tapq_pattern(uint8_t *p, size_t len, uint32_t seed);
size_t tapq_udp_frame(uint8_t *f, const uint8_t *dmac, const char *dst_ip,
		      uint16_t sport, uint16_t dport, size_t plen,
		      uint32_t seed);

/* Queue fd I/O and sockets. */
ssize_t tapq_write(int fd, int hdr_sz, const struct virtio_net_hdr *vh,
		   const void *frame, size_t len);
ssize_t tapq_read(int fd, int hdr_sz, struct tapq_frame *f, int timeout_ms);
const uint8_t *tapq_ipv4(const struct tapq_frame *f, uint8_t proto);
const uint8_t *tapq_read_ipv4(int fd, int hdr_sz, struct tapq_frame *f,
			      uint8_t proto, int timeout_ms);
int tapq_drain(int fd);
int tapq_set_nonblock(int fd, int on);
int tapq_udp_sock(uint16_t port);

#endif /* _XTAP_TAPQ_H */
