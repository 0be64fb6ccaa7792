/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Worker threads of the vhost backend and the wait-queue entries that wake
 * them (kick eventfd, queue file), plus the busy-poll loop.
 */
#ifndef _XTAP_WORKER_H
#define _XTAP_WORKER_H

#include <linux/atomic.h>
#include <linux/poll.h>
#include <linux/types.h>
#include <linux/wait.h>

struct file;
struct mm_struct;
struct task_struct;
struct xtap_vq;

/* Longest worker thread name kept (longer than TASK_COMM_LEN: see
 * xtap_worker_create()).
 */
#define XTAP_WORKER_NAME_LEN	32

/**
 * struct xtap_worker - one kernel thread serving one virtqueue
 * @task: the thread
 * @flags: XTAP_WORKER_PENDING: the handler must run (set by wakers,
 *	cleared by whoever runs the handler next: the thread, or the other
 *	worker of the pair serving this virtqueue inline);
 *	XTAP_WORKER_BUSY: the thread is running its handler (from taking
 *	PENDING until the handler returned);
 *	XTAP_WORKER_COVERED: the other worker of the pair busy-polls on this
 *	worker's behalf, wakers set PENDING without waking the thread (see
 *	xtap_worker_cover())
 * @mm: the owner's mm (grabbed by the device; used with mmget_not_zero())
 * @vq: the virtqueue it serves
 * @handle: the handler; called with the owner's mm in use, takes
 *	@vq's mutex itself
 * @id: serial number, for lifetime messages
 * @name: the thread's name (fixed)
 * @stall: stall watchdog period in jiffies, 0 when off; written under
 *	@vq's mutex (xtap_worker_set_stall()), read by the thread with
 *	READ_ONCE() each time it goes to sleep
 */
struct xtap_worker {
	struct task_struct *task;
	unsigned long flags;
	struct mm_struct *mm;
	struct xtap_vq *vq;
	void (*handle)(struct xtap_vq *vq);
	u64 id;
	unsigned long stall;
	char name[XTAP_WORKER_NAME_LEN];
};

#define XTAP_WORKER_PENDING	0
#define XTAP_WORKER_BUSY	1
#define XTAP_WORKER_COVERED	2

/**
 * struct xtap_poll - a wait-queue entry that queues a worker
 * @wait: the entry, on @wqh while started
 * @wqh: the wait queue it is on, NULL when stopped
 * @table: poll table used to find @wqh through vfs_poll()
 * @mask: events that wake the worker
 * @worker: the worker to queue
 * @events: counts the wake-ups that queue the worker, or NULL
 */
struct xtap_poll {
	wait_queue_entry_t wait;
	wait_queue_head_t *wqh;
	poll_table table;
	__poll_t mask;
	struct xtap_worker *worker;
	atomic_t *events;
};

/* worker.c */
struct xtap_worker *xtap_worker_create(struct xtap_vq *vq,
				       void (*handle)(struct xtap_vq *vq),
				       struct mm_struct *mm, const char *name);
struct xtap_worker *xtap_worker_clone(struct xtap_worker *old,
				      const char *name);
void xtap_worker_destroy(struct xtap_worker *w);
void xtap_worker_queue(struct xtap_worker *w);
bool xtap_worker_pending(const struct xtap_worker *w);
void xtap_worker_cover(struct xtap_worker *w);
void xtap_worker_uncover(struct xtap_worker *w);
void xtap_worker_set_stall(struct xtap_worker *w, unsigned long stall);

void xtap_poll_init(struct xtap_poll *p, __poll_t mask);
int xtap_poll_start(struct xtap_poll *p, struct xtap_worker *w,
		    struct file *file);
int xtap_poll_resume(struct xtap_poll *p, struct file *file);
int xtap_poll_retarget(struct xtap_poll *p, struct xtap_worker *w,
		       struct file *file);
void xtap_poll_stop(struct xtap_poll *p);

struct xtap_poll_conf;

bool xtap_busy_poll(struct xtap_vq *vq);
void xtap_busy_poll_woken(struct xtap_vq *vq);
u32 xtap_busy_poll_window_ns(struct xtap_vq *vq,
			     const struct xtap_poll_conf *conf);
void xtap_vq_flush_counts(struct xtap_vq *vq);

#endif /* _XTAP_WORKER_H */
