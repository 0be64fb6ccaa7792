// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * xdp_test's program: counts every frame, then returns the verdict the
 * test put in cfg[0] (an invalid one included); XDP_REDIRECT goes to the
 * ifindex in cfg[1].
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define CFG_VERDICT	0
#define CFG_IFINDEX	1

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} cfg SEC(".maps");

/* cnt[0]: frames seen, cnt[1]: their bytes */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} cnt SEC(".maps");

static __always_inline void count(__u32 key, __u64 val)
{
	__u64 *c = bpf_map_lookup_elem(&cnt, &key);

	if (c)
		__sync_fetch_and_add(c, val);
}

SEC("xdp")
int xtap_verdict(struct xdp_md *ctx)
{
	__u32 k = CFG_VERDICT, *act, *ifindex;

	count(0, 1);
	count(1, ctx->data_end - ctx->data);
	act = bpf_map_lookup_elem(&cfg, &k);
	if (!act)
		return XDP_ABORTED;
	if (*act == XDP_REDIRECT) {
		k = CFG_IFINDEX;
		ifindex = bpf_map_lookup_elem(&cfg, &k);
		return ifindex ? bpf_redirect(*ifindex, 0) : XDP_ABORTED;
	}
	return *act;
}

char _license[] SEC("license") = "GPL";
