// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Counts the test frames (EtherType 0x88b5, see lib/vtest.h) it sees and
 * their bytes, and passes every frame.  Attached to xtap0 by xdp.sh (with
 * ip link ... xdpdrv obj), to the far end of a redirect by xdp_test.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define TEST_ETH_P	0x88b5

/* cnt[0]: test frames seen, cnt[1]: their bytes */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} xcnt SEC(".maps");

SEC("xdp")
int xtap_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 k = 0;
	__u64 *c;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(TEST_ETH_P))
		return XDP_PASS;
	c = bpf_map_lookup_elem(&xcnt, &k);
	if (c)
		__sync_fetch_and_add(c, 1);
	k = 1;
	c = bpf_map_lookup_elem(&xcnt, &k);
	if (c)
		__sync_fetch_and_add(c, end - data);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
