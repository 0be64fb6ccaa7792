// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * The main job's XDP program (vm/demo.sh): attached to xtap0 with
 * `ip link set dev xtap0 xdpdrv obj xdp_demo.bpf.o sec xdp`, it counts
 * every frame the nested guest sends, and its bytes, and passes it on.
 * scripts/main-job.sh builds it with clang.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* demo_cnt[0]: frames seen, demo_cnt[1]: their bytes */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} demo_cnt SEC(".maps");

SEC("xdp")
int xtap_demo(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *c;

	c = bpf_map_lookup_elem(&demo_cnt, &k);
	if (c)
		__sync_fetch_and_add(c, 1);
	k = 1;
	c = bpf_map_lookup_elem(&demo_cnt, &k);
	if (c)
		__sync_fetch_and_add(c, ctx->data_end - ctx->data);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
