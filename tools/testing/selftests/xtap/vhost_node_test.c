// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * /dev/vhost-xtap: the node exists with mode 0600 and every open is
 * independent.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/vhost.h>
#include <linux/xtap.h>

#include "kselftest_harness.h"
#include "xtest.h"

#define VHOST_NODE "/dev/" XTAP_VHOST_NAME

TEST(node_exists_with_mode_0600)
{
	struct stat st;

	ASSERT_EQ(0, stat(VHOST_NODE, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600U, st.st_mode & 07777);
	EXPECT_EQ(0U, st.st_uid);
	/* misc devices live on major 10 */
	EXPECT_EQ(10U, major(st.st_rdev));
}

TEST(open_close_many)
{
	int fds[64], i;

	for (i = 0; i < 64; i++) {
		fds[i] = open(VHOST_NODE, O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fds[i]) TH_LOG("open %d: %m", i);
	}
	for (i = 0; i < 64; i++)
		ASSERT_EQ(0, close(fds[i]));
}

TEST(unknown_ioctl_enotty)
{
	int fd = open(VHOST_NODE, O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	/* _IO(VHOST_VIRTIO, 0xff) is no vhost ioctl */
	EXPECT_EQ(-1, ioctl(fd, _IO(VHOST_VIRTIO, 0xff), 0));
	EXPECT_EQ(ENOTTY, errno);
	/* a tun ioctl on the vhost node is not ours either */
	EXPECT_EQ(-1, ioctl(fd, _IOR('T', 210, unsigned int), 0));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

XTEST_HARNESS_MAIN
