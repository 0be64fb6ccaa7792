# SPDX-License-Identifier: GPL-2.0
#
# Sort `perf script -F comm,sym` call chains (innermost frame first, one
# sample per block) into the stages of guest TX, for xtap and for
# vhost-net + tun: each sample counts for the stage of the innermost frame
# that the table below names; samples with none count as "loop, other".

BEGIN {
	n = split("xtap_vq_get_chain vhost_get_vq_desc get_tx_bufs translate_desc xtap_vq_avail_empty", a)
	for (i = 1; i <= n; i++) stage[a[i]] = "1 avail read, descriptor translation"
	n = split("page_frag_alloc_align xtap_frag_alloc xtap_frag_refill vhost_net_page_frag_refill sock_alloc_send_pskb alloc_skb_with_frags __alloc_pages get_page_from_freelist clear_page_erms page_frag_free free_unref_page __free_pages __page_frag_cache_drain free_the_page", a)
	for (i = 1; i <= n; i++) stage[a[i]] = "2 buffer pages (alloc, zero, free)"
	n = split("_copy_from_iter copy_page_from_iter copy_from_iter skb_copy_datagram_from_iter __check_object_size iov_iter_advance iov_iter_init", a)
	for (i = 1; i <= n; i++) stage[a[i]] = "3 copy from the guest"
	n = split("bpf_dispatcher_xdp bpf_prog_run_xdp tun_xdp_act xdp_do_redirect dev_xdp_enqueue bq_enqueue xdp_do_flush __dev_flush bq_xmit_all veth_ndo_xdp_xmit veth_xdp_xmit dev_get_by_index_rcu trace_xdp_exception", a)
	for (i = 1; i <= n; i++) stage[a[i]] = "4 program, redirect enqueue"
	n = split("net_rx_action __napi_poll veth_poll veth_xdp_rcv veth_xdp_rcv_one", a)
	for (i = 1; i <= n; i++) stage[a[i]] = "5 redirect target (veth NAPI)"
	n = split("xdp_alloc_skb_bulk kmem_cache_alloc_bulk build_skb_around build_skb __build_skb napi_build_skb eth_type_trans virtio_net_hdr_to_skb skb_probe_transport_header __skb_flow_dissect xtap_xdp_build_skbs kmem_cache_alloc", a)
	for (i = 1; i <= n; i++) stage[a[i]] = "6 skb build"
	n = split("netif_receive_skb_list netif_receive_skb netif_receive_skb_list_internal __netif_receive_skb_list_core __netif_receive_skb_one_core __netif_receive_skb_core ip_list_rcv ip_rcv ip_rcv_core kfree_skb_reason kfree_skb_list_reason skb_release_data kmem_cache_free __slab_free", a)
	for (i = 1; i <= n; i++) stage[a[i]] = "7 stack (delivery, drop)"
	n = split("xtap_vq_add_used xtap_vq_flush_used xtap_vq_signal eventfd_signal eventfd_signal_mask vhost_add_used_and_signal_n vhost_add_used_n __vhost_add_used_n vhost_signal vhost_notify", a)
	for (i = 1; i <= n; i++) stage[a[i]] = "8 used ring, signal"
}

function flush() {
	if (!insample)
		return
	total++
	count[found ? found : "9 loop, other"]++
	insample = 0
	found = ""
}

/^[^ \t]/ { flush(); insample = 1; next }
/^[ \t]*$/ { flush(); next }
{
	if (found)
		next
	sym = $2
	sub(/\+0x[0-9a-f]+$/, "", sym)
	sub(/\.(constprop|isra|part)\..*$/, "", sym)
	if (sym in stage)
		found = stage[sym]
}

END {
	flush()
	if (!total) {
		print "no samples"
		exit 1
	}
	for (s in count)
		printf "%s|%5.1f%%|%6d\n", s, 100 * count[s] / total, count[s] | "sort -n"
	close("sort -n")
	printf "%6d samples\n", total
}
