// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * Worker threads of the vhost backend.  Each virtqueue has its own kernel
 * thread, so the RX and TX directions of a queue pair run in parallel.  A
 * worker sleeps until a wait-queue entry (on the kick eventfd or on the
 * queue file) sets its pending bit; it then borrows the owner's address
 * space for as long as the handler runs and drops it again before sleeping,
 * so a dying owner never waits for its workers.
 */

#include "poll.h"
#include "vq.h"

#include <linux/cgroup.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/stat.h>
#include <linux/slab.h>

static atomic64_t xtap_worker_ids = ATOMIC64_INIT(0);

static void xtap_worker_run(struct xtap_worker *w)
{
	/* The device holds only a grab (mm_count) on the owner's mm.  Once the
	 * owner has exited its address space is torn down: skip the work, the
	 * release of the vhost fd stops this thread soon.
	 */
	if (!mmget_not_zero(w->mm))
		return;
	kthread_use_mm(w->mm);
	w->handle(w->vq);
	kthread_unuse_mm(w->mm);
	mmput(w->mm);
}

static int xtap_worker_fn(void *data)
{
	struct xtap_worker *w = data;

	for (;;) {
		/* Pairs with the barrier in wake_up_process() of the waker. */
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop()) {
			__set_current_state(TASK_RUNNING);
			return 0;
		}
		if (!test_and_clear_bit(XTAP_WORKER_PENDING, &w->flags)) {
			schedule();
			continue;
		}
		__set_current_state(TASK_RUNNING);
		xtap_worker_run(w);
		cond_resched();
	}
}

/**
 * xtap_worker_create() - start a worker thread for a virtqueue
 * @vq: the virtqueue it serves
 * @handle: its handler
 * @mm: the owner's mm; the caller keeps it grabbed while the worker exists
 * @name: thread name
 *
 * Called by the owner (VHOST_SET_OWNER): the thread joins the caller's
 * cgroups.
 *
 * Return: the worker or an ERR_PTR().
 */
struct xtap_worker *xtap_worker_create(struct xtap_vq *vq,
				       void (*handle)(struct xtap_vq *vq),
				       struct mm_struct *mm, const char *name)
{
	struct task_struct *task;
	struct xtap_worker *w;
	int err;

	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	if (!w)
		return ERR_PTR(-ENOMEM);
	w->vq = vq;
	w->handle = handle;
	w->mm = mm;

	task = kthread_create(xtap_worker_fn, w, "%s", name);
	if (IS_ERR(task)) {
		err = PTR_ERR(task);
		goto err_free;
	}
	w->task = task;
	/* Running, not sleeping uninterruptibly: no load average, no hung task. */
	wake_up_process(task);

	err = cgroup_attach_task_all(current, task);
	if (err)
		goto err_stop;

	w->id = atomic64_inc_return(&xtap_worker_ids);
	pr_debug("vhost worker %llu created\n", w->id);
	return w;

err_stop:
	kthread_stop(task);
err_free:
	kfree(w);
	return ERR_PTR(err);
}

/**
 * xtap_worker_destroy() - stop a worker and free it
 * @w: the worker, or NULL
 *
 * Waits for a handler run in progress to finish.  No wait-queue entry may
 * still point at @w.
 */
void xtap_worker_destroy(struct xtap_worker *w)
{
	if (!w)
		return;
	kthread_stop(w->task);
	pr_debug("vhost worker %llu destroyed\n", w->id);
	kfree(w);
}

/**
 * xtap_worker_queue() - make the worker run its handler (again)
 * @w: the worker
 *
 * Any context.
 */
void xtap_worker_queue(struct xtap_worker *w)
{
	if (!test_and_set_bit(XTAP_WORKER_PENDING, &w->flags))
		wake_up_process(w->task);
}

/**
 * xtap_worker_pending() - is a handler run queued?
 * @w: the worker
 *
 * Return: true when the worker will run its handler again.
 */
bool xtap_worker_pending(const struct xtap_worker *w)
{
	return test_bit(XTAP_WORKER_PENDING, &w->flags);
}

static int xtap_poll_wake(wait_queue_entry_t *wait, unsigned int mode,
			  int sync, void *key)
{
	struct xtap_poll *p = container_of(wait, struct xtap_poll, wait);
	__poll_t events = key_to_poll(key);

	/* A wake-up without a key may mean anything: take it. */
	if (events && !(events & (p->mask | EPOLLERR | EPOLLHUP)))
		return 0;
	xtap_worker_queue(p->worker);
	return 0;
}

static void xtap_poll_queue_proc(struct file *file, wait_queue_head_t *wqh,
				 poll_table *pt)
{
	struct xtap_poll *p = container_of(pt, struct xtap_poll, table);

	/* Only the first wait queue a file offers is used. */
	if (p->wqh)
		return;
	p->wqh = wqh;
	add_wait_queue(wqh, &p->wait);
}

/**
 * xtap_poll_init() - prepare a wait-queue entry
 * @p: the entry
 * @mask: events that queue the worker (EPOLLERR and EPOLLHUP always do)
 */
void xtap_poll_init(struct xtap_poll *p, __poll_t mask)
{
	init_waitqueue_func_entry(&p->wait, xtap_poll_wake);
	init_poll_funcptr(&p->table, xtap_poll_queue_proc);
	p->mask = mask;
	p->wqh = NULL;
	p->worker = NULL;
}

/**
 * xtap_poll_start() - start queueing @w on events of @file
 * @p: a stopped entry
 * @w: the worker to queue
 * @file: the file to watch; the caller holds a reference until
 *	xtap_poll_stop()
 *
 * Queues @w at once when @file already has one of the events.
 *
 * Return: 0, or -EINVAL when @file reports EPOLLERR (the entry is then
 * stopped again).
 */
int xtap_poll_start(struct xtap_poll *p, struct xtap_worker *w,
		    struct file *file)
{
	__poll_t events;

	if (p->wqh)
		return 0;
	p->worker = w;
	events = vfs_poll(file, &p->table);
	if (events & EPOLLERR) {
		xtap_poll_stop(p);
		return -EINVAL;
	}
	if (events & p->mask)
		xtap_worker_queue(w);
	return 0;
}

/**
 * xtap_poll_resume() - put a stopped entry back on its file, quietly
 * @p: an entry started once with xtap_poll_start() and stopped since
 * @file: the same file, still referenced by the caller
 *
 * For the worker's own handler, which looks for work right after this: the
 * worker is not queued for events already there (it would only run again
 * for nothing), but every later event queues it.  Does nothing when @p is
 * started.
 *
 * Return: 0, or -EINVAL when @file reports EPOLLERR (@p stays stopped).
 */
int xtap_poll_resume(struct xtap_poll *p, struct file *file)
{
	if (p->wqh)
		return 0;
	if (vfs_poll(file, &p->table) & EPOLLERR) {
		xtap_poll_stop(p);
		return -EINVAL;
	}
	return 0;
}

/**
 * xtap_poll_stop() - stop queueing the worker
 * @p: the entry; stopping a stopped entry does nothing
 *
 * Once this returns, the wake function of @p is not running and will not
 * run again.
 */
void xtap_poll_stop(struct xtap_poll *p)
{
	if (p->wqh) {
		remove_wait_queue(p->wqh, &p->wait);
		p->wqh = NULL;
	}
}

/**
 * xtap_busy_poll() - spin for new work before sleeping
 * @vq: the virtqueue, with its mutex held and the owner's mm in use
 * @has_work: tells whether there is something to do
 *
 * Spins for up to @vq's busy-loop timeout with guest notifications left as
 * the caller set them (disabled).  Leaves early, without work, when the
 * scheduler wants the CPU or another task is runnable on this CPU, a signal
 * is pending, the thread must stop, the worker was queued again, or the
 * control plane waits for @vq's mutex.  Never sleeps while spinning (the
 * checks themselves may fault in guest memory).
 *
 * The runnable check matters because each device has two workers: the TX
 * worker spinning for the next request must not keep the RX worker, woken
 * on the same CPU for the reply, waiting for the rest of the spin (the
 * wakeup does not always preempt; CFS lets the running task finish its
 * slice).
 *
 * Return: true when @has_work found work.
 */
bool xtap_busy_poll(struct xtap_vq *vq, bool (*has_work)(struct xtap_vq *vq))
{
	u64 end;

	lockdep_assert_held(&vq->mutex);
	if (!vq->busyloop_timeout)
		return false;
	end = local_clock() + (u64)vq->busyloop_timeout * NSEC_PER_USEC;
	for (;;) {
		if (has_work(vq))
			return true;
		if (need_resched() || !single_task_running() ||
		    signal_pending(current) ||
		    kthread_should_stop() || xtap_worker_pending(vq->worker) ||
		    atomic_read(&vq->ctl_waiting))
			return false;
		if (local_clock() >= end)
			return false;
		cpu_relax();
	}
}
