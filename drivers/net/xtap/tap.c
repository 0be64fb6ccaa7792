// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * The xtap net_device and its rtnl_link_ops (ip link add NAME type xtap).
 */

#include "xtap.h"

#include <linux/etherdevice.h>
#include <linux/if_ether.h>
#include <linux/netdevice.h>
#include <net/rtnetlink.h>
#include <uapi/linux/xtap.h>

#define XTAP_MIN_MTU	68
#define XTAP_MAX_MTU	65535

static atomic64_t xtap_dev_ids = ATOMIC64_INIT(0);

static netdev_tx_t xtap_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	/* No queue can be attached yet: every frame is a counted drop. */
	dev_core_stats_tx_dropped_inc(dev);
	kfree_skb(skb);
	return NETDEV_TX_OK;
}

static const struct net_device_ops xtap_netdev_ops = {
	.ndo_start_xmit		= xtap_start_xmit,
	.ndo_set_mac_address	= eth_mac_addr,
	.ndo_validate_addr	= eth_validate_addr,
};

static void xtap_dev_free(struct net_device *dev)
{
	struct xtap_dev *xt = netdev_priv(dev);

	pr_debug("device %llu destroyed\n", xt->id);
}

static void xtap_setup(struct net_device *dev)
{
	struct xtap_dev *xt = netdev_priv(dev);

	ether_setup(dev);
	xt->dev = dev;
	dev->netdev_ops = &xtap_netdev_ops;
	dev->needs_free_netdev = true;
	dev->priv_destructor = xtap_dev_free;
	dev->priv_flags &= ~IFF_TX_SKB_SHARING;
	dev->priv_flags |= IFF_LIVE_ADDR_CHANGE | IFF_NO_QUEUE;
	dev->min_mtu = XTAP_MIN_MTU;
	dev->max_mtu = XTAP_MAX_MTU;
	eth_hw_addr_random(dev);
}

static int xtap_validate(struct nlattr *tb[], struct nlattr *data[],
			 struct netlink_ext_ack *extack)
{
	if (tb[IFLA_ADDRESS]) {
		if (nla_len(tb[IFLA_ADDRESS]) != ETH_ALEN) {
			NL_SET_ERR_MSG_ATTR(extack, tb[IFLA_ADDRESS],
					    "xtap: MAC address must be 6 bytes");
			return -EINVAL;
		}
		if (!is_valid_ether_addr(nla_data(tb[IFLA_ADDRESS]))) {
			NL_SET_ERR_MSG_ATTR(extack, tb[IFLA_ADDRESS],
					    "xtap: MAC address is not a valid unicast address");
			return -EADDRNOTAVAIL;
		}
	}
	return 0;
}

static int xtap_newlink(struct net *src_net, struct net_device *dev,
			struct nlattr *tb[], struct nlattr *data[],
			struct netlink_ext_ack *extack)
{
	struct xtap_dev *xt = netdev_priv(dev);
	int ret;

	xt->id = atomic64_inc_return(&xtap_dev_ids);
	ret = register_netdevice(dev);
	if (ret)
		return ret;

	pr_debug("device %llu created\n", xt->id);
	return 0;
}

static struct rtnl_link_ops xtap_link_ops __read_mostly = {
	.kind		= XTAP_LINK_KIND,
	.priv_size	= sizeof(struct xtap_dev),
	.setup		= xtap_setup,
	.validate	= xtap_validate,
	.newlink	= xtap_newlink,
};

/**
 * xtap_tap_init() - register the xtap rtnl link kind
 *
 * Return: 0 or a negative errno.
 */
int xtap_tap_init(void)
{
	return rtnl_link_register(&xtap_link_ops);
}

/**
 * xtap_tap_exit() - unregister the link kind, deleting every xtap device
 */
void xtap_tap_exit(void)
{
	rtnl_link_unregister(&xtap_link_ops);
}
