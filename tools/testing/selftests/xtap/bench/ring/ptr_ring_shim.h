/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Build the kernel's own include/linux/ptr_ring.h, taken from the installed
 * kernel headers, as userspace C for the ring benchmark.  The file itself is
 * never copied here: the Makefile passes its absolute path as PTR_RING_H.
 *
 * Copyright (C) 2026 The xtap authors.
 *
 * ring_compat.h (shared with the xtap ring unit tests) already provides the
 * kernel primitives ptr_ring.h uses: READ_ONCE/WRITE_ONCE, smp_wmb,
 * spinlocks (pthread spinlocks, as for our ring, so both pay the same lock
 * cost), ____cacheline_aligned_in_smp, kvmalloc_array/kfree/kvfree, gfp_t,
 * likely/unlikely.  Only the few things below are missing.
 */
#ifndef _XTAP_PTR_RING_SHIM_H
#define _XTAP_PTR_RING_SHIM_H

#include "ring_compat.h"

#ifndef PTR_RING_H
#error "PTR_RING_H must name the installed include/linux/ptr_ring.h"
#endif

/* x86-64, 4 KiB pages, MAX_ORDER 11: the largest kmalloc is 4 MiB. */
#define KMALLOC_MAX_SIZE (1UL << 22)

#include PTR_RING_H

#endif /* _XTAP_PTR_RING_SHIM_H */
