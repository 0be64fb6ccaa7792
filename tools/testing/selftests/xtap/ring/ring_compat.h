/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace stand-ins for the kernel definitions that
 * drivers/net/xtap/ring.h uses, so that the ring can be unit-tested and
 * benchmarked as a plain program.  Include it before ring.h (or pass
 * -include ring_compat.h); it does nothing in a kernel build.
 *
 * Copyright (C) 2026 The xtap authors.
 *
 * Memory ordering maps onto the GCC __atomic builtins, which give the same
 * guarantees as the kernel primitives on every architecture (and compile to
 * plain moves plus compiler barriers on x86, as the kernel ones do).
 */
#ifndef _XTAP_RING_COMPAT_H
#define _XTAP_RING_COMPAT_H

#ifndef __KERNEL__

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef SMP_CACHE_BYTES
#define SMP_CACHE_BYTES 64
#endif
#define ____cacheline_aligned_in_smp __attribute__((__aligned__(SMP_CACHE_BYTES)))
#ifndef __aligned
#define __aligned(x) __attribute__((__aligned__(x)))
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((__always_inline__))
#endif

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

#define barrier() __asm__ __volatile__("" ::: "memory")

#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, val) \
	do { *(volatile __typeof__(x) *)&(x) = (val); } while (0)

#define smp_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define smp_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#if defined(__x86_64__) || defined(__i386__)
/* x86 is TSO: like the kernel, store-store and load-load need no fence. */
#define smp_wmb() barrier()
#define smp_rmb() barrier()
#define cpu_relax() __asm__ __volatile__("pause" ::: "memory")
#else
#define smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define smp_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define cpu_relax() barrier()
#endif

/* Spinlocks: pthread spinlocks; there are no bottom halves or irqs here. */
typedef pthread_spinlock_t spinlock_t;
#define spin_lock_init(l) pthread_spin_init((l), PTHREAD_PROCESS_PRIVATE)
#define spin_lock(l) pthread_spin_lock(l)
#define spin_unlock(l) pthread_spin_unlock(l)
#define spin_lock_bh(l) pthread_spin_lock(l)
#define spin_unlock_bh(l) pthread_spin_unlock(l)
#define spin_lock_irq(l) pthread_spin_lock(l)
#define spin_unlock_irq(l) pthread_spin_unlock(l)
#define spin_lock_irqsave(l, f) do { (f) = 0; pthread_spin_lock(l); } while (0)
#define spin_unlock_irqrestore(l, f) do { (void)(f); pthread_spin_unlock(l); } while (0)

/* Allocation: cache-line aligned and zeroable, like kmalloc of 2^n bytes. */
typedef unsigned int gfp_t;
#define GFP_KERNEL 0x1u
#define GFP_ATOMIC 0x2u
#define __GFP_ZERO 0x100u

static inline void *kmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	size_t bytes, rounded;
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	bytes = n * size;
	rounded = (bytes + SMP_CACHE_BYTES - 1) & ~(size_t)(SMP_CACHE_BYTES - 1);
	if (!rounded)
		rounded = SMP_CACHE_BYTES;
	p = aligned_alloc(SMP_CACHE_BYTES, rounded);
	if (p && (gfp & __GFP_ZERO))
		memset(p, 0, rounded);
	return p;
}

static inline void *kcalloc(size_t n, size_t size, gfp_t gfp)
{
	return kmalloc_array(n, size, gfp | __GFP_ZERO);
}

#define kvmalloc_array(n, size, gfp) kmalloc_array(n, size, gfp)
#define kvcalloc(n, size, gfp) kcalloc(n, size, gfp)

static inline void kfree(const void *p)
{
	free((void *)p);
}

#define kvfree(p) kfree(p)

#endif /* !__KERNEL__ */
#endif /* _XTAP_RING_COMPAT_H */
