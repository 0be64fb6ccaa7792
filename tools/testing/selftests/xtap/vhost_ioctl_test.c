// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * The vhost-net ioctl ABI, success and error paths, run against upstream
 * /dev/vhost-net (+ tun) and against /dev/vhost-xtap (+ /dev/xtap<ifindex>)
 * with the same assertions: the errno values are those Linux 6.1 returns,
 * and xtap must return the same.  Where xtap is deliberately stricter the
 * expectation depends on the backend and says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>

#include "kselftest_harness.h"
#include "xtest.h"
#include "vtest.h"

#define WAIT_MS		5000
/* A user address no process can map, and an fd number nobody opened. */
#define KERNEL_ADDR	0xffff888000000000ULL
#define BAD_FD		4000

/* ioctl() and its errno (0 on success). */
static int vio(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? errno : 0;
}

static int vstate(int fd, unsigned long req, unsigned int idx,
		  unsigned int num)
{
	struct vhost_vring_state s = { .index = idx, .num = num };

	return vio(fd, req, &s);
}

static int vfile(int fd, unsigned long req, unsigned int idx, int efd)
{
	struct vhost_vring_file f = { .index = idx, .fd = efd };

	return vio(fd, req, &f);
}

static int vget(int fd, unsigned long req, unsigned int idx,
		unsigned int *num)
{
	struct vhost_vring_state s = { .index = idx, .num = 0xdeadbeef };
	int ret = vio(fd, req, &s);

	*num = s.num;
	return ret;
}

static int vfeat(int fd, unsigned long req, uint64_t v)
{
	return vio(fd, req, &v);
}

static struct vhost_memory *mem_alloc(unsigned int n)
{
	struct vhost_memory *m;

	m = calloc(1, sizeof(*m) + n * sizeof(m->regions[0]));
	if (m)
		m->nregions = n;
	return m;
}

static int set_mem(int fd, struct vhost_memory *m)
{
	int ret = vio(fd, VHOST_SET_MEM_TABLE, m);

	free(m);
	return ret;
}

FIXTURE(vh)
{
	struct vdrv_backend be;
	struct vdrv d;
	bool d_ready;
	int vfd;
};

FIXTURE_VARIANT(vh)
{
	enum vdrv_kind kind;
};

FIXTURE_VARIANT_ADD(vh, upstream) { .kind = VDRV_UPSTREAM };
FIXTURE_VARIANT_ADD(vh, xtap) { .kind = VDRV_XTAP };

FIXTURE_SETUP(vh)
{
	struct vdrv_config cfg = { .features = VDRV_FEATURES_QEMU };
	char name[IFNAMSIZ];
	int ret;

	VTEST_FILTER(variant->kind);
	VTEST_SKIP_UPSTREAM_UNAVAILABLE(variant->kind);
	vtest_ifname(name, sizeof(name), variant->kind, "i");
	ret = vdrv_backend_create(&self->be, variant->kind, name, 0);
	ASSERT_EQ(0, ret) TH_LOG("create %s backend: %s",
				 vdrv_kind_name(variant->kind), strerror(-ret));
	self->vfd = self->be.vhost_fd;
	ret = vdrv_init(&self->d, &cfg);
	self->d_ready = true;
	ASSERT_EQ(0, ret) TH_LOG("vdrv_init: %s", strerror(-ret));
	self->d.vhost_fd = self->vfd;
}

FIXTURE_TEARDOWN(vh)
{
	vdrv_backend_destroy(&self->be);
	if (self->d_ready)
		vdrv_fini(&self->d);
}

/* Owner, memory table and both rings, no backend. */
static int own_setup(struct vdrv *d)
{
	return vdrv_setup(d, d->vhost_fd);
}

TEST_F(vh, set_owner_twice_ebusy)
{
	EXPECT_EQ(0, vio(self->vfd, VHOST_SET_OWNER, NULL));
	EXPECT_EQ(EBUSY, vio(self->vfd, VHOST_SET_OWNER, NULL));
	/* the first owner still works */
	EXPECT_EQ(0, vdrv_set_mem_table(&self->d));
}

/* Everything that touches the device needs an owner first. */
TEST_F(vh, before_owner_eperm)
{
	struct vhost_vring_addr a = { .index = 0 };
	int efd = self->d.vq[0].call_fd;
	unsigned int num;
	uint64_t f;

	EXPECT_EQ(EPERM, set_mem(self->vfd, vdrv_mem_table(&self->d)));
	EXPECT_EQ(EPERM, vstate(self->vfd, VHOST_SET_VRING_NUM, 0, 256));
	EXPECT_EQ(EPERM, vstate(self->vfd, VHOST_SET_VRING_BASE, 0, 0));
	EXPECT_EQ(EPERM, vget(self->vfd, VHOST_GET_VRING_BASE, 0, &num));
	EXPECT_EQ(EPERM, vio(self->vfd, VHOST_SET_VRING_ADDR, &a));
	EXPECT_EQ(EPERM, vfile(self->vfd, VHOST_SET_VRING_KICK, 0, efd));
	EXPECT_EQ(EPERM, vfile(self->vfd, VHOST_SET_VRING_CALL, 0, efd));
	EXPECT_EQ(EPERM, vfile(self->vfd, VHOST_SET_VRING_ERR, 0, efd));
	EXPECT_EQ(EPERM, vstate(self->vfd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT,
				0, 50));
	EXPECT_EQ(EPERM, vget(self->vfd, VHOST_GET_VRING_BUSYLOOP_TIMEOUT, 0,
			      &num));
	EXPECT_EQ(EPERM, vfile(self->vfd, VHOST_NET_SET_BACKEND, 0,
			       self->be.tap_fd));
	EXPECT_EQ(EPERM, vfile(self->vfd, VHOST_NET_SET_BACKEND, 0, -1));
	/* feature queries need no owner */
	EXPECT_EQ(0, vio(self->vfd, VHOST_GET_FEATURES, &f));
	EXPECT_EQ(0, vio(self->vfd, VHOST_GET_BACKEND_FEATURES, &f));
	/* and the device can still be owned afterwards */
	EXPECT_EQ(0, own_setup(&self->d)) TH_LOG("%s", self->d.err_op);
}

/* The owner is the process (mm) that called SET_OWNER. */
TEST_F(vh, other_process_eperm)
{
	int status;
	pid_t pid;

	ASSERT_EQ(0, own_setup(&self->d)) TH_LOG("%s", self->d.err_op);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int bad = 0;

		bad |= vio(self->vfd, VHOST_SET_OWNER, NULL) != EBUSY;
		bad |= (set_mem(self->vfd, vdrv_mem_table(&self->d)) !=
			EPERM) << 1;
		bad |= (vstate(self->vfd, VHOST_SET_VRING_NUM, 0, 256) !=
			EPERM) << 2;
		bad |= (vfile(self->vfd, VHOST_NET_SET_BACKEND, 0,
			      self->be.tap_fd) != EPERM) << 3;
		bad |= (vfile(self->vfd, VHOST_SET_VRING_KICK, 0,
			      self->d.vq[0].kick_fd) != EPERM) << 4;
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("bitmask of ioctls with the wrong result in the child: %#x",
		       WEXITSTATUS(status));
	/* the owner is unaffected */
	EXPECT_EQ(0, vdrv_attach(&self->d, self->be.tap_fd));
}

TEST_F(vh, features)
{
	const uint64_t need = VDRV_FEATURES_QEMU |
			      VDRV_F(VHOST_NET_F_VIRTIO_NET_HDR);
	uint64_t offered, bf;
	unsigned int bit;

	ASSERT_EQ(0, vio(self->vfd, VHOST_SET_OWNER, NULL));
	ASSERT_EQ(0, vio(self->vfd, VHOST_GET_FEATURES, &offered));
	TH_LOG("offered %#llx", (unsigned long long)offered);
	if (variant->kind == VDRV_UPSTREAM) {
		EXPECT_EQ(VDRV_FEATURES_VHOST_NET_6_1, offered);
	} else {
		/* what QEMU needs, nothing upstream lacks but packed ring */
		EXPECT_EQ(need, offered & need);
		EXPECT_EQ(0ULL, offered & ~(VDRV_FEATURES_VHOST_NET_6_1 |
					 VDRV_F(VIRTIO_F_RING_PACKED)));
	}
	/* every bit not offered is refused on its own */
	for (bit = 0; bit < 64; bit++) {
		if (offered & VDRV_F(bit))
			continue;
		EXPECT_EQ(EOPNOTSUPP, vfeat(self->vfd, VHOST_SET_FEATURES,
					    VDRV_F(bit)))
			TH_LOG("feature bit %u", bit);
	}
	EXPECT_EQ(EOPNOTSUPP, vfeat(self->vfd, VHOST_SET_FEATURES,
				    VDRV_FEATURES_QEMU | ~offered));
	/* what QEMU acks: modern guest, tap without vnet header, 0 */
	EXPECT_EQ(0, vfeat(self->vfd, VHOST_SET_FEATURES, 0x130008000ULL));
	EXPECT_EQ(0, vfeat(self->vfd, VHOST_SET_FEATURES, 0x138008000ULL));
	EXPECT_EQ(0, vfeat(self->vfd, VHOST_SET_FEATURES, 0));

	ASSERT_EQ(0, vio(self->vfd, VHOST_GET_BACKEND_FEATURES, &bf));
	if (variant->kind == VDRV_UPSTREAM)
		EXPECT_EQ(1ULL << VHOST_BACKEND_F_IOTLB_MSG_V2, bf);
	EXPECT_EQ(0, vfeat(self->vfd, VHOST_SET_BACKEND_FEATURES, bf));
	EXPECT_EQ(EOPNOTSUPP, vfeat(self->vfd, VHOST_SET_BACKEND_FEATURES,
				    ~bf));
}

TEST_F(vh, mem_table_ok)
{
	struct vhost_memory *m;
	unsigned int i;

	ASSERT_EQ(0, vio(self->vfd, VHOST_SET_OWNER, NULL));
	EXPECT_EQ(0, vdrv_set_mem_table(&self->d));
	/* replacing the table is allowed, also with the max of 64 regions */
	m = mem_alloc(64);
	ASSERT_NE(NULL, m);
	for (i = 0; i < 64; i++) {
		m->regions[i].guest_phys_addr = (uint64_t)i << 24;
		m->regions[i].memory_size = 4096;
		m->regions[i].userspace_addr =
			(uintptr_t)self->d.arena + i * 4096;
	}
	EXPECT_EQ(0, set_mem(self->vfd, m));
	/* and again the real one */
	EXPECT_EQ(0, vdrv_set_mem_table(&self->d));
}

TEST_F(vh, mem_table_errors)
{
	uintptr_t ua = (uintptr_t)self->d.arena;
	struct vhost_memory *m;
	unsigned int i;
	uint8_t *pg;

	ASSERT_EQ(0, vio(self->vfd, VHOST_SET_OWNER, NULL));

	/* more regions than vhost's max_mem_regions (64) */
	m = mem_alloc(65);
	ASSERT_NE(NULL, m);
	for (i = 0; i < 65; i++) {
		m->regions[i].guest_phys_addr = (uint64_t)i << 24;
		m->regions[i].memory_size = 4096;
		m->regions[i].userspace_addr = ua + i * 4096;
	}
	EXPECT_EQ(E2BIG, set_mem(self->vfd, m));

	/* padding must be zero */
	m = mem_alloc(1);
	ASSERT_NE(NULL, m);
	m->padding = 1;
	m->regions[0].memory_size = 4096;
	m->regions[0].userspace_addr = ua;
	EXPECT_EQ(EOPNOTSUPP, set_mem(self->vfd, m));

	/* guest-physical range wraps around */
	m = mem_alloc(1);
	ASSERT_NE(NULL, m);
	m->regions[0].guest_phys_addr = 0xfffffffffffff000ULL;
	m->regions[0].memory_size = 0x2000;
	m->regions[0].userspace_addr = ua;
	EXPECT_EQ(EFAULT, set_mem(self->vfd, m));

	/* empty region */
	m = mem_alloc(1);
	ASSERT_NE(NULL, m);
	m->regions[0].guest_phys_addr = 0x100000;
	m->regions[0].memory_size = 0;
	m->regions[0].userspace_addr = ua;
	EXPECT_EQ(EFAULT, set_mem(self->vfd, m));

	/* bad pointers: the header, or regions past the end of the mapping */
	EXPECT_EQ(EFAULT, vio(self->vfd, VHOST_SET_MEM_TABLE, NULL));
	EXPECT_EQ(EFAULT, vio(self->vfd, VHOST_SET_MEM_TABLE,
			      (void *)(uintptr_t)KERNEL_ADDR));
	pg = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pg);
	ASSERT_EQ(0, munmap(pg + 4096, 4096));
	m = (struct vhost_memory *)(pg + 4096 - sizeof(*m));
	m->nregions = 1;
	m->padding = 0;
	EXPECT_EQ(EFAULT, vio(self->vfd, VHOST_SET_MEM_TABLE, m));
	munmap(pg, 4096);

	/* none of that replaced the table: the rings still start */
	for (i = 0; i < VDRV_NVQ; i++)
		ASSERT_EQ(0, vdrv_setup_vq(&self->d, i));
	EXPECT_EQ(0, vdrv_set_mem_table(&self->d));
	EXPECT_EQ(0, vdrv_attach(&self->d, self->be.tap_fd));
}

/*
 * User ranges that are not user memory.  Upstream checks them only against
 * attached rings: SET_MEM_TABLE takes them while detached and the next
 * attach fails; while attached SET_MEM_TABLE fails.  xtap may refuse them at
 * once instead, but must never use them.
 */
TEST_F(vh, mem_table_bad_user_range)
{
	static const uint64_t bad_ua[][2] = {
		{ 0xfffffffffffff000ULL, 0x2000 },	/* wraps around */
		{ KERNEL_ADDR, 0x1000 },		/* kernel space */
	};
	struct vhost_memory *m;
	unsigned int i, k;
	int ret;

	ASSERT_EQ(0, own_setup(&self->d)) TH_LOG("%s", self->d.err_op);
	for (k = 0; k < 2; k++) {
		m = mem_alloc(2);
		ASSERT_NE(NULL, m);
		m->regions[0].guest_phys_addr = 0;
		m->regions[0].memory_size = self->d.arena_size;
		m->regions[0].userspace_addr = (uintptr_t)self->d.arena;
		m->regions[1].guest_phys_addr = 1ULL << 46;
		m->regions[1].userspace_addr = bad_ua[k][0];
		m->regions[1].memory_size = bad_ua[k][1];

		/* detached */
		ret = set_mem(self->vfd, m);
		if (variant->kind == VDRV_UPSTREAM) {
			EXPECT_EQ(0, ret) TH_LOG("case %u", k);
		} else {
			EXPECT_TRUE(ret == 0 || ret == EFAULT)
				TH_LOG("case %u: %s", k, strerror(ret));
		}
		if (ret == 0) {
			for (i = 0; i < 2; i++)
				EXPECT_EQ(EFAULT,
					  vfile(self->vfd, VHOST_NET_SET_BACKEND,
						i, self->be.tap_fd))
					TH_LOG("case %u vq %u", k, i);
		}

		/* attached */
		ASSERT_EQ(0, vdrv_set_mem_table(&self->d));
		ASSERT_EQ(0, vdrv_attach(&self->d, self->be.tap_fd));
		m = mem_alloc(2);
		ASSERT_NE(NULL, m);
		m->regions[0].guest_phys_addr = 0;
		m->regions[0].memory_size = self->d.arena_size;
		m->regions[0].userspace_addr = (uintptr_t)self->d.arena;
		m->regions[1].guest_phys_addr = 1ULL << 46;
		m->regions[1].userspace_addr = bad_ua[k][0];
		m->regions[1].memory_size = bad_ua[k][1];
		EXPECT_EQ(EFAULT, set_mem(self->vfd, m)) TH_LOG("case %u", k);
		ASSERT_EQ(0, vdrv_detach(&self->d));
	}
}

/* Overlapping regions: upstream takes them, xtap refuses them. */
TEST_F(vh, mem_table_overlap)
{
	uintptr_t ua = (uintptr_t)self->d.arena;
	struct vhost_memory *m;

	ASSERT_EQ(0, vio(self->vfd, VHOST_SET_OWNER, NULL));
	m = mem_alloc(2);
	ASSERT_NE(NULL, m);
	m->regions[0].guest_phys_addr = 0;
	m->regions[0].memory_size = 0x10000;
	m->regions[0].userspace_addr = ua;
	m->regions[1].guest_phys_addr = 0x8000;
	m->regions[1].memory_size = 0x10000;
	m->regions[1].userspace_addr = ua + 0x10000;
	EXPECT_EQ(variant->kind == VDRV_XTAP ? EINVAL : 0,
		  set_mem(self->vfd, m));
}

TEST_F(vh, vring_num)
{
	ASSERT_EQ(0, own_setup(&self->d)) TH_LOG("%s", self->d.err_op);
	EXPECT_EQ(EINVAL, vstate(self->vfd, VHOST_SET_VRING_NUM, 0, 0));
	EXPECT_EQ(EINVAL, vstate(self->vfd, VHOST_SET_VRING_NUM, 0, 3));
	EXPECT_EQ(EINVAL, vstate(self->vfd, VHOST_SET_VRING_NUM, 0, 255));
	EXPECT_EQ(EINVAL, vstate(self->vfd, VHOST_SET_VRING_NUM, 1, 65536));
	EXPECT_EQ(EINVAL, vstate(self->vfd, VHOST_SET_VRING_NUM, 1,
				 UINT_MAX));
	EXPECT_EQ(ENOBUFS, vstate(self->vfd, VHOST_SET_VRING_NUM, 2, 256));
	EXPECT_EQ(ENOBUFS, vstate(self->vfd, VHOST_SET_VRING_NUM, UINT_MAX,
				  256));
	EXPECT_EQ(0, vstate(self->vfd, VHOST_SET_VRING_NUM, 0, 32768));
	EXPECT_EQ(0, vstate(self->vfd, VHOST_SET_VRING_NUM, 1, 1));
	/* back to the real size; then no resize while attached */
	EXPECT_EQ(0, vstate(self->vfd, VHOST_SET_VRING_NUM, 0, 256));
	EXPECT_EQ(0, vstate(self->vfd, VHOST_SET_VRING_NUM, 1, 256));
	ASSERT_EQ(0, vdrv_attach(&self->d, self->be.tap_fd));
	EXPECT_EQ(EBUSY, vstate(self->vfd, VHOST_SET_VRING_NUM, 0, 256));
	EXPECT_EQ(EBUSY, vstate(self->vfd, VHOST_SET_VRING_NUM, 1, 128));
	ASSERT_EQ(0, vdrv_detach(&self->d));
	EXPECT_EQ(0, vstate(self->vfd, VHOST_SET_VRING_NUM, 1, 256));
}

TEST_F(vh, vring_addr)
{
	struct vdrv_vq *vq = &self->d.vq[0];
	struct vhost_vring_addr a = {
		.index = 0,
		.desc_user_addr = (uintptr_t)vq->vr.desc,
		.avail_user_addr = (uintptr_t)vq->vr.avail,
		.used_user_addr = (uintptr_t)vq->vr.used,
		.log_guest_addr = vdrv_gpa(&self->d, vq->vr.used),
	};
	struct vhost_vring_addr b;

	ASSERT_EQ(0, own_setup(&self->d)) TH_LOG("%s", self->d.err_op);
	EXPECT_EQ(0, vio(self->vfd, VHOST_SET_VRING_ADDR, &a));
	b = a;
	b.index = 2;
	EXPECT_EQ(ENOBUFS, vio(self->vfd, VHOST_SET_VRING_ADDR, &b));
	/* No alignment asked of the descriptor table, as upstream. */
	b = a;
	b.desc_user_addr += 8;
	EXPECT_EQ(0, vio(self->vfd, VHOST_SET_VRING_ADDR, &b));
	b.desc_user_addr -= 7;
	EXPECT_EQ(0, vio(self->vfd, VHOST_SET_VRING_ADDR, &b));
	EXPECT_EQ(0, vio(self->vfd, VHOST_SET_VRING_ADDR, &a));
	b = a;
	b.avail_user_addr += 1;
	EXPECT_EQ(EINVAL, vio(self->vfd, VHOST_SET_VRING_ADDR, &b));
	b = a;
	b.used_user_addr += 2;
	EXPECT_EQ(EINVAL, vio(self->vfd, VHOST_SET_VRING_ADDR, &b));
	b = a;
	b.log_guest_addr += 2;
	EXPECT_EQ(EINVAL, vio(self->vfd, VHOST_SET_VRING_ADDR, &b));
	b = a;
	b.flags = 1U << 1;
	EXPECT_EQ(EOPNOTSUPP, vio(self->vfd, VHOST_SET_VRING_ADDR, &b));
	EXPECT_EQ(EFAULT, vio(self->vfd, VHOST_SET_VRING_ADDR, NULL));

	/* While detached, addresses are only checked at attach time. */
	b = a;
	b.used_user_addr = KERNEL_ADDR;
	EXPECT_EQ(0, vio(self->vfd, VHOST_SET_VRING_ADDR, &b));
	EXPECT_EQ(EFAULT, vfile(self->vfd, VHOST_NET_SET_BACKEND, 0,
				self->be.tap_fd));
	EXPECT_EQ(0, vio(self->vfd, VHOST_SET_VRING_ADDR, &a));

	/* While attached they are checked at once; the good ones stay. */
	ASSERT_EQ(0, vdrv_attach(&self->d, self->be.tap_fd));
	EXPECT_EQ(EINVAL, vio(self->vfd, VHOST_SET_VRING_ADDR, &b));
	EXPECT_EQ(0, vio(self->vfd, VHOST_SET_VRING_ADDR, &a));
	EXPECT_EQ(0, vdrv_detach(&self->d));
}

TEST_F(vh, vring_base)
{
	unsigned int num;

	ASSERT_EQ(0, own_setup(&self->d)) TH_LOG("%s", self->d.err_op);
	EXPECT_EQ(0, vget(self->vfd, VHOST_GET_VRING_BASE, 0, &num));
	EXPECT_EQ(0U, num);
	EXPECT_EQ(0, vstate(self->vfd, VHOST_SET_VRING_BASE, 0, 5));
	EXPECT_EQ(0, vstate(self->vfd, VHOST_SET_VRING_BASE, 1, 0xffff));
	EXPECT_EQ(0, vget(self->vfd, VHOST_GET_VRING_BASE, 0, &num));
	EXPECT_EQ(5U, num);
	EXPECT_EQ(0, vget(self->vfd, VHOST_GET_VRING_BASE, 1, &num));
	EXPECT_EQ(0xffffU, num);
	EXPECT_EQ(EINVAL, vstate(self->vfd, VHOST_SET_VRING_BASE, 0,
				 0x10000));
	EXPECT_EQ(ENOBUFS, vstate(self->vfd, VHOST_SET_VRING_BASE, 2, 0));
	EXPECT_EQ(ENOBUFS, vget(self->vfd, VHOST_GET_VRING_BASE, 2, &num));
	EXPECT_EQ(0, vget(self->vfd, VHOST_GET_VRING_BASE, 0, &num));
	EXPECT_EQ(5U, num);

	/* attached: the base is the device's, readable but not settable */
	EXPECT_EQ(0, vstate(self->vfd, VHOST_SET_VRING_BASE, 0, 0));
	EXPECT_EQ(0, vstate(self->vfd, VHOST_SET_VRING_BASE, 1, 0));
	ASSERT_EQ(0, vdrv_attach(&self->d, self->be.tap_fd));
	EXPECT_EQ(EBUSY, vstate(self->vfd, VHOST_SET_VRING_BASE, 1, 0));
	EXPECT_EQ(0, vget(self->vfd, VHOST_GET_VRING_BASE, 1, &num));
	EXPECT_EQ(0U, num);
	ASSERT_EQ(0, vdrv_detach(&self->d));
	EXPECT_EQ(0, vstate(self->vfd, VHOST_SET_VRING_BASE, 1, 0));
}

TEST_F(vh, vring_eventfds)
{
	static const unsigned long reqs[] = {
		VHOST_SET_VRING_KICK, VHOST_SET_VRING_CALL, VHOST_SET_VRING_ERR,
	};
	static const char *const names[] = { "KICK", "CALL", "ERR" };
	int efd = eventfd(0, EFD_CLOEXEC), p[2];
	unsigned int i;

	ASSERT_LE(0, efd);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, own_setup(&self->d)) TH_LOG("%s", self->d.err_op);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, vfile(self->vfd, reqs[i], 0, efd))
			TH_LOG("%s", names[i]);
		EXPECT_EQ(0, vfile(self->vfd, reqs[i], 0, -1))
			TH_LOG("%s -1", names[i]);
		EXPECT_EQ(0, vfile(self->vfd, reqs[i], 1, -1))
			TH_LOG("%s -1 twice", names[i]);
		EXPECT_EQ(EBADF, vfile(self->vfd, reqs[i], 0, BAD_FD))
			TH_LOG("%s bad fd", names[i]);
		EXPECT_EQ(EBADF, vfile(self->vfd, reqs[i], 0, -2))
			TH_LOG("%s fd -2", names[i]);
		EXPECT_EQ(EINVAL, vfile(self->vfd, reqs[i], 0, p[0]))
			TH_LOG("%s pipe", names[i]);
		EXPECT_EQ(EINVAL, vfile(self->vfd, reqs[i], 1,
					self->be.tap_fd))
			TH_LOG("%s tap fd", names[i]);
		EXPECT_EQ(ENOBUFS, vfile(self->vfd, reqs[i], 2, efd))
			TH_LOG("%s index 2", names[i]);
		EXPECT_EQ(EFAULT, vio(self->vfd, reqs[i], NULL))
			TH_LOG("%s NULL", names[i]);
	}
	/* the eventfd can be closed by the caller once set (QEMU does) */
	EXPECT_EQ(0, vfile(self->vfd, VHOST_SET_VRING_CALL, 0, efd));
	close(efd);
	close(p[0]);
	close(p[1]);
	/* the queue still works with the driver's own eventfds */
	for (i = 0; i < VDRV_NVQ; i++)
		EXPECT_EQ(0, vdrv_setup_vq(&self->d, i));
	EXPECT_EQ(0, vdrv_attach(&self->d, self->be.tap_fd));
}

TEST_F(vh, busyloop_timeout)
{
	unsigned int num;

	ASSERT_EQ(0, vio(self->vfd, VHOST_SET_OWNER, NULL));
	EXPECT_EQ(0, vget(self->vfd, VHOST_GET_VRING_BUSYLOOP_TIMEOUT, 0,
			  &num));
	EXPECT_EQ(0U, num);
	EXPECT_EQ(0, vstate(self->vfd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, 0,
			    50));
	EXPECT_EQ(0, vstate(self->vfd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, 1,
			    1000));
	EXPECT_EQ(0, vget(self->vfd, VHOST_GET_VRING_BUSYLOOP_TIMEOUT, 0,
			  &num));
	EXPECT_EQ(50U, num);
	EXPECT_EQ(0, vget(self->vfd, VHOST_GET_VRING_BUSYLOOP_TIMEOUT, 1,
			  &num));
	EXPECT_EQ(1000U, num);
	EXPECT_EQ(0, vstate(self->vfd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, 0,
			    0));
	EXPECT_EQ(0, vget(self->vfd, VHOST_GET_VRING_BUSYLOOP_TIMEOUT, 0,
			  &num));
	EXPECT_EQ(0U, num);
	EXPECT_EQ(ENOBUFS, vstate(self->vfd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT,
				  2, 50));
	EXPECT_EQ(ENOBUFS, vget(self->vfd, VHOST_GET_VRING_BUSYLOOP_TIMEOUT,
				2, &num));
}

TEST_F(vh, set_backend)
{
	int efd = eventfd(0, EFD_CLOEXEC), p[2], udp, nul;

	ASSERT_LE(0, efd);
	ASSERT_EQ(0, pipe(p));
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, udp);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, nul);
	ASSERT_EQ(0, own_setup(&self->d)) TH_LOG("%s", self->d.err_op);

	/* detaching what is not attached always works */
	EXPECT_EQ(0, vfile(self->vfd, VHOST_NET_SET_BACKEND, 0, -1));
	EXPECT_EQ(0, vfile(self->vfd, VHOST_NET_SET_BACKEND, 1, -1));
	EXPECT_EQ(0, vfile(self->vfd, VHOST_NET_SET_BACKEND, 1, -1));

	EXPECT_EQ(ENOBUFS, vfile(self->vfd, VHOST_NET_SET_BACKEND, 2,
				 self->be.tap_fd));
	EXPECT_EQ(ENOBUFS, vfile(self->vfd, VHOST_NET_SET_BACKEND, 2, -1));
	EXPECT_EQ(EFAULT, vio(self->vfd, VHOST_NET_SET_BACKEND, NULL));
	/* not a tap queue */
	EXPECT_EQ(ENOTSOCK, vfile(self->vfd, VHOST_NET_SET_BACKEND, 0, p[0]));
	EXPECT_EQ(ENOTSOCK, vfile(self->vfd, VHOST_NET_SET_BACKEND, 0, efd));
	EXPECT_EQ(ENOTSOCK, vfile(self->vfd, VHOST_NET_SET_BACKEND, 0, udp));
	EXPECT_EQ(ENOTSOCK, vfile(self->vfd, VHOST_NET_SET_BACKEND, 1, nul));
	EXPECT_EQ(ENOTSOCK, vfile(self->vfd, VHOST_NET_SET_BACKEND, 1,
				  self->vfd));
	/* no file at all: upstream reports ENOTSOCK too, not EBADF */
	EXPECT_EQ(ENOTSOCK, vfile(self->vfd, VHOST_NET_SET_BACKEND, 0,
				  BAD_FD));
	EXPECT_EQ(ENOTSOCK, vfile(self->vfd, VHOST_NET_SET_BACKEND, 0, -2));

	/* attach, re-attach the same fd, detach, attach again */
	EXPECT_EQ(0, vdrv_attach(&self->d, self->be.tap_fd));
	EXPECT_EQ(0, vdrv_attach(&self->d, self->be.tap_fd));
	EXPECT_EQ(0, vdrv_detach(&self->d));
	EXPECT_EQ(0, vdrv_detach(&self->d));
	EXPECT_EQ(0, vdrv_attach(&self->d, self->be.tap_fd));
	/* a failed attach leaves the attached backend in place */
	EXPECT_EQ(ENOTSOCK, vfile(self->vfd, VHOST_NET_SET_BACKEND, 0, p[0]));
	EXPECT_EQ(EBUSY, vstate(self->vfd, VHOST_SET_VRING_NUM, 0, 256));

	close(efd);
	close(p[0]);
	close(p[1]);
	close(udp);
	close(nul);
}

/*
 * Raw AF_PACKET sockets: upstream vhost-net takes them as a backend, xtap
 * only takes its own queue nodes (also a fresh open of the same link).
 */
TEST_F(vh, set_backend_packet_socket)
{
	int pkt;

	ASSERT_EQ(0, own_setup(&self->d)) TH_LOG("%s", self->d.err_op);
	pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	ASSERT_LE(0, pkt);
	EXPECT_EQ(variant->kind == VDRV_UPSTREAM ? 0 : ENOTSOCK,
		  vfile(self->vfd, VHOST_NET_SET_BACKEND, 0, pkt));
	EXPECT_EQ(0, vfile(self->vfd, VHOST_NET_SET_BACKEND, 0, -1));
	close(pkt);

	EXPECT_EQ(0, vdrv_attach(&self->d, self->be.tap_fd));
	EXPECT_EQ(0, vdrv_detach(&self->d));
	close(self->be.tap_fd);
	self->be.tap_fd = vdrv_backend_open_queue(&self->be);
	ASSERT_LE(0, self->be.tap_fd) TH_LOG("%s", strerror(-self->be.tap_fd));
	EXPECT_EQ(0, vdrv_attach(&self->d, self->be.tap_fd));
	EXPECT_EQ(0, vdrv_detach(&self->d));
}

/* A queue of the other kind: xtap refuses tun fds, vhost-net xtap queues. */
TEST_F(vh, set_backend_other_kind_queue)
{
	enum vdrv_kind other = variant->kind == VDRV_XTAP ? VDRV_UPSTREAM :
							    VDRV_XTAP;
	struct vdrv_backend x;
	char name[IFNAMSIZ];
	int ret;

	if (other == VDRV_UPSTREAM && vtest_upstream_unavailable())
		SKIP(return, "%s", vtest_upstream_unavailable());
	vtest_ifname(name, sizeof(name), other, "f");
	ret = vdrv_backend_create(&x, other, name, VDRV_BE_NO_VHOST);
	ASSERT_EQ(0, ret) TH_LOG("%s backend: %s", vdrv_kind_name(other),
				 strerror(-ret));
	ASSERT_EQ(0, own_setup(&self->d)) TH_LOG("%s", self->d.err_op);
	EXPECT_EQ(ENOTSOCK, vfile(self->vfd, VHOST_NET_SET_BACKEND, 0,
				  x.tap_fd));
	EXPECT_EQ(ENOTSOCK, vfile(self->vfd, VHOST_NET_SET_BACKEND, 1,
				  x.tap_fd));
	/* and nothing was attached */
	EXPECT_EQ(0, vstate(self->vfd, VHOST_SET_VRING_NUM, 0, 256));
	vdrv_backend_destroy(&x);
}

TEST_F(vh, log_base)
{
	static uint64_t bitmap[64];
	uint64_t offered, p = (uintptr_t)bitmap;

	ASSERT_EQ(0, own_setup(&self->d)) TH_LOG("%s", self->d.err_op);
	ASSERT_EQ(0, vio(self->vfd, VHOST_GET_FEATURES, &offered));
	/* both log (vhost_log_test has the rest) */
	ASSERT_NE(0ULL, offered & VDRV_F(VHOST_F_LOG_ALL));
	EXPECT_EQ(0, vio(self->vfd, VHOST_SET_LOG_BASE, &p));
	EXPECT_EQ(EFAULT, vio(self->vfd, VHOST_SET_LOG_BASE, NULL));
}

/* ---------------------------------------------------------------------- */
/* QEMU 7.2: -netdev tap,fd=T,vhost=on,vhostfd=V,poll-us=50 */

/* pc machine with 256 MiB: RAM below the VGA hole and above it */
static const struct vdrv_layout qemu_pc_256m = {
	.nregions = 2,
	.region = {
		{ .gpa = 0, .offset = 0, .size = 0xa0000 },
		{ .gpa = 0xc0000, .offset = 0xc0000,
		  .size = 0x10000000 - 0xc0000 },
	},
	.arena_size = 0x10000000,
	.alloc_offset = 0x100000,
};

static int tap_int(int fd, unsigned long req, int v)
{
	return vio(fd, req, &v);
}

static int tap_offload(int fd, unsigned long flags)
{
	return ioctl(fd, TUNSETOFFLOAD, flags) < 0 ? errno : 0;
}

/* tap_probe_vnet_hdr_len(): read, set, restore. */
static int tap_probe_hdr_len(int fd, int len)
{
	int orig, ret;

	ret = vio(fd, TUNGETVNETHDRSZ, &orig);
	if (!ret)
		ret = tap_int(fd, TUNSETVNETHDRSZ, len);
	if (!ret)
		ret = tap_int(fd, TUNSETVNETHDRSZ, orig);
	return ret;
}

/* vhost_net_start() for one queue pair; @base: SET_VRING_BASE values. */
static void qemu_start(struct __test_metadata *_metadata, struct vdrv *d,
		       int vfd, int tap, const unsigned int *base)
{
	uint64_t bf;
	unsigned int i;

	/* set_guest_notifiers: the MSI-X vector eventfds */
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, vfile(vfd, VHOST_SET_VRING_CALL, i,
				   d->vq[i].call_fd));
	ASSERT_EQ(0, vfeat(vfd, VHOST_SET_FEATURES, 0x130008000ULL));
	/* QEMU ignores failures of these two */
	if (!vio(vfd, VHOST_GET_BACKEND_FEATURES, &bf))
		vfeat(vfd, VHOST_SET_BACKEND_FEATURES,
		      bf & (1ULL << VHOST_BACKEND_F_IOTLB_MSG_V2));
	ASSERT_EQ(0, vdrv_set_mem_table(d));
	for (i = 0; i < 2; i++) {
		struct vhost_vring_addr a = {
			.index = i,
			.desc_user_addr = (uintptr_t)d->vq[i].vr.desc,
			.avail_user_addr = (uintptr_t)d->vq[i].vr.avail,
			.used_user_addr = (uintptr_t)d->vq[i].vr.used,
			.log_guest_addr = vdrv_gpa(d, d->vq[i].vr.used),
		};

		ASSERT_EQ(0, vstate(vfd, VHOST_SET_VRING_NUM, i, 256));
		ASSERT_EQ(0, vstate(vfd, VHOST_SET_VRING_BASE, i, base[i]));
		ASSERT_EQ(0, vio(vfd, VHOST_SET_VRING_ADDR, &a));
		ASSERT_EQ(0, vfile(vfd, VHOST_SET_VRING_KICK, i,
				   d->vq[i].kick_fd));
	}
	ASSERT_EQ(0, vfile(vfd, VHOST_NET_SET_BACKEND, 0, tap));
	ASSERT_EQ(0, vfile(vfd, VHOST_NET_SET_BACKEND, 1, tap));
}

/* vhost_net_stop(): returns the GET_VRING_BASE values in @base. */
static void qemu_stop(struct __test_metadata *_metadata, struct vdrv *d,
		      int vfd, int tap, const int *masked, unsigned int *base)
{
	unsigned int i;

	/* QEMU asserts these succeed */
	ASSERT_EQ(0, vfile(vfd, VHOST_NET_SET_BACKEND, 0, -1));
	ASSERT_EQ(0, vfile(vfd, VHOST_NET_SET_BACKEND, 1, -1));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, vget(vfd, VHOST_GET_VRING_BASE, i, &base[i]));
		/* everything the device took was given back */
		EXPECT_EQ(d->vq[i].vr.used->idx, base[i]) TH_LOG("vq %u", i);
		ASSERT_EQ(0, vfile(vfd, VHOST_SET_VRING_CALL, i, masked[i]));
	}
	ASSERT_EQ(0, tap_int(tap, TUNSETVNETHDRSZ, 10));
	ASSERT_EQ(0, tap_offload(tap, 0));
	ASSERT_EQ(0, tap_offload(tap, 0));
}

/* One frame each way through a started device. */
static void qemu_traffic(struct __test_metadata *_metadata,
			 struct vtest_env *e, uint32_t seq)
{
	struct vdrv_rx_info info;
	uint8_t f[256], r[256];
	int ret;

	vtest_frame(f, 200, seq, VTEST_ETH_P);
	ASSERT_EQ(0, vtest_guest_send(e, f, 200, true, WAIT_MS));
	ret = vtest_host_recv(e, r, sizeof(r), VTEST_ETH_P, WAIT_MS);
	ASSERT_EQ(200, ret);
	EXPECT_EQ(-1, vtest_frame_diff(r, ret, 200, seq, VTEST_ETH_P));
	ASSERT_EQ(0, vtest_tx_drain(e, WAIT_MS));

	vtest_frame(f, 150, seq + 1, VTEST_ETH_P);
	ASSERT_EQ(0, vdrv_pkt_send(e->pkt, e->be.ifindex, f, 150));
	ret = vtest_guest_recv(e, r, sizeof(r), &info, WAIT_MS);
	ASSERT_EQ(150, ret) TH_LOG("%s", e->what);
	EXPECT_EQ(-1, vtest_frame_diff(r, ret, 150, seq + 1, VTEST_ETH_P));
	EXPECT_EQ(1U, info.hdr.num_buffers);
}

TEST_F_TIMEOUT(vh, qemu_7_2_sequence, 120)
{
	struct vdrv_config cfg = {
		.features = 0x130008000ULL,
		.layout = &qemu_pc_256m,
	};
	unsigned int base[2] = { 0, 0 }, i;
	int vfd = self->vfd, tap = self->be.tap_fd, masked[2], orig, fl;
	struct vtest_env e;
	struct ifreq ifr = {};
	uint64_t features;

	/* net_init_tap() with fd=: non-blocking, TUNGETIFF, offload probes */
	fl = fcntl(tap, F_GETFL);
	ASSERT_EQ(0, fcntl(tap, F_SETFL, fl | O_NONBLOCK));
	ASSERT_EQ(0, vio(tap, TUNGETIFF, &ifr));
	ASSERT_TRUE(ifr.ifr_flags & IFF_VNET_HDR);
	i = tap_offload(tap, TUN_F_CSUM | TUN_F_UFO);
	EXPECT_TRUE(i == 0 || i == EINVAL) TH_LOG("UFO probe: %s",
						  strerror(i));
	ASSERT_EQ(0, tap_offload(tap, 0));
	ASSERT_EQ(0, tap_offload(tap, 0));
	ASSERT_EQ(0, vio(tap, TUNGETVNETHDRSZ, &orig));
	EXPECT_EQ(10, orig);
	ASSERT_EQ(0, tap_probe_hdr_len(tap, 10));
	ASSERT_EQ(0, tap_int(tap, TUNSETVNETHDRSZ, 10));
	ASSERT_EQ(0, tap_int(tap, TUNSETSNDBUF, INT_MAX));

	/* vhost_net_init() */
	memset(&e, 0, sizeof(e));
	e.pkt = -1;
	e.be = self->be;
	ASSERT_EQ(0, vdrv_init(&e.d, &cfg)) TH_LOG("%s", e.d.err_op);
	e.d_ready = true;
	e.d.vhost_fd = vfd;
	fl = fcntl(vfd, F_GETFL);
	ASSERT_EQ(0, fcntl(vfd, F_SETFL, fl | O_NONBLOCK));
	ASSERT_EQ(0, vio(vfd, VHOST_SET_OWNER, NULL));
	ASSERT_EQ(0, vio(vfd, VHOST_GET_FEATURES, &features));
	ASSERT_EQ(0x130008000ULL, features & 0x130008000ULL);
	for (i = 0; i < 2; i++) {
		masked[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		ASSERT_LE(0, masked[i]);
		ASSERT_EQ(0, vfile(vfd, VHOST_SET_VRING_CALL, i, masked[i]));
		ASSERT_EQ(0, vfile(vfd, VHOST_SET_VRING_ERR, i,
				   e.d.vq[i].err_fd));
	}
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, vstate(vfd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, i,
				    50));
	/* 12 must be settable or the guest loses MRG_RXBUF */
	ASSERT_EQ(0, tap_probe_hdr_len(tap, 12));

	/* virtio-net realize and machine reset */
	ASSERT_EQ(0, tap_probe_hdr_len(tap, 10));
	ASSERT_EQ(0, tap_int(tap, TUNSETVNETHDRSZ, 10));
	ASSERT_EQ(0, tap_offload(tap, 0));
	ASSERT_EQ(0, tap_offload(tap, 0));

	/* guest FEATURES_OK */
	ASSERT_EQ(0, tap_probe_hdr_len(tap, 12));
	ASSERT_EQ(0, tap_int(tap, TUNSETVNETHDRSZ, 12));
	ASSERT_EQ(0, tap_offload(tap, 0));
	if (tap_offload(tap, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 |
			TUN_F_TSO_ECN | TUN_F_UFO))
		ASSERT_EQ(0, tap_offload(tap, TUN_F_CSUM | TUN_F_TSO4 |
					 TUN_F_TSO6 | TUN_F_TSO_ECN));

	/* guest DRIVER_OK: vhost_net_start(), then traffic */
	ASSERT_EQ(0, vdrv_rx_fill(&e.d) > 0 ? 0 : -1);
	qemu_start(_metadata, &e.d, vfd, tap, base);
	vdrv_kick(&e.d, VDRV_RX);
	ASSERT_EQ(0, vdrv_backend_wait_running(&self->be, WAIT_MS));
	e.pkt = vdrv_pkt_open(self->be.ifindex);
	ASSERT_LE(0, e.pkt);
	ASSERT_EQ(0, vtest_rx_sync(&e, WAIT_MS)) TH_LOG("%s", e.what);
	qemu_traffic(_metadata, &e, 1);

	/* VM stop: vhost_net_stop(); VM cont: start at the saved bases */
	qemu_stop(_metadata, &e.d, vfd, tap, masked, base);
	EXPECT_EQ(e.d.vq[VDRV_TX].avail_idx, base[VDRV_TX]);
	ASSERT_EQ(0, tap_int(tap, TUNSETVNETHDRSZ, 12));
	qemu_start(_metadata, &e.d, vfd, tap, base);
	qemu_traffic(_metadata, &e, 3);
	qemu_stop(_metadata, &e.d, vfd, tap, masked, base);
	EXPECT_EQ(2U, base[VDRV_TX]);

	/* QEMU exit: close(vhostfd), then close(tapfd) in teardown */
	close(e.pkt);
	vdrv_fini(&e.d);
	close(masked[0]);
	close(masked[1]);
}

XTEST_HARNESS_MAIN
