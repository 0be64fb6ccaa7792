// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * XDP program for the ndo_xdp_xmit tests: test frames (EtherType 0x88b5)
 * are redirected through a devmap to the device in slot 0 (the test puts
 * an xtap device there); everything else goes to the stack.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define XDP_TEST_ETH_P	0x88b5

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} xdp_tx_ports SEC(".maps");

SEC("xdp")
int xdp_redirect_dev(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(XDP_TEST_ETH_P))
		return XDP_PASS;
	return bpf_redirect_map(&xdp_tx_ports, 0, XDP_DROP);
}

char _license[] SEC("license") = "GPL";
