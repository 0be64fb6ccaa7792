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

#include "worker.h"
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
		/* Tells a busy-polling pair worker to leave this vq alone. */
		set_bit(XTAP_WORKER_BUSY, &w->flags);
		xtap_worker_run(w);
		clear_bit(XTAP_WORKER_BUSY, &w->flags);
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
	if (test_and_set_bit(XTAP_WORKER_PENDING, &w->flags))
		return;
	/* The test_and_set_bit() above is fully ordered: either the coverer
	 * sees PENDING after clearing COVERED, or this sees COVERED cleared.
	 */
	if (!test_bit(XTAP_WORKER_COVERED, &w->flags))
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

/**
 * xtap_worker_cover() - take over the wake-ups of a worker
 * @w: the worker; the caller holds its vq's mutex and @w is not running
 *	its handler
 *
 * From now on xtap_worker_queue() only sets @w's pending bit: the thread
 * stays asleep and the caller, which busy-polls, watches the bit and runs
 * the handler itself (xtap_busy_poll()).  Saves a wake-up and a context
 * switch per event while the caller spins anyway.  Must be undone with
 * xtap_worker_uncover() before the caller lets go of the vq mutex.
 */
void xtap_worker_cover(struct xtap_worker *w)
{
	set_bit(XTAP_WORKER_COVERED, &w->flags);
	/* Pending bits set from now on are the caller's to look at. */
	smp_mb__after_atomic();
}

/**
 * xtap_worker_uncover() - give a covered worker its wake-ups back
 * @w: the worker, covered by the caller
 *
 * Wakes the thread if work was queued for it and not taken meanwhile, so
 * no event that arrived while covered is lost.
 */
void xtap_worker_uncover(struct xtap_worker *w)
{
	clear_bit(XTAP_WORKER_COVERED, &w->flags);
	/* Pairs with the ordered test_and_set_bit() in xtap_worker_queue(). */
	smp_mb__after_atomic();
	if (test_bit(XTAP_WORKER_PENDING, &w->flags))
		wake_up_process(w->task);
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

/* Start serving the other virtqueue of the pair while spinning: only when
 * its mutex is free (mutex_trylock(), never waiting: no lock order between
 * the two vq mutexes), its ring is running, its thread is idle and last
 * ran on this CPU, and no control-plane thread wants it.  A thread on
 * another CPU is left alone: there the two directions run in parallel and
 * a wake-up does not cost this CPU a context switch.  Guest notifications
 * of @pair are turned off as for the caller's own ring; *@notify says
 * whether they were on.
 */
static bool xtap_busy_pair_take(struct xtap_vq *pair, bool *notify)
{
	if (!pair || atomic_read(&pair->ctl_waiting) ||
	    !mutex_trylock(&pair->mutex))
		return false;
	if (!xtap_vq_ready(pair) ||
	    test_bit(XTAP_WORKER_BUSY, &pair->worker->flags) ||
	    task_cpu(pair->worker->task) != raw_smp_processor_id()) {
		mutex_unlock(&pair->mutex);
		return false;
	}
	xtap_worker_cover(pair->worker);
	*notify = pair->notify;
	xtap_vq_disable_notify(pair);
	return true;
}

/* Undo xtap_busy_pair_take(): notifications back on (as they were) with
 * the usual re-check, then wake-ups; whatever arrived meanwhile queues the
 * pair's thread.
 */
static void xtap_busy_pair_release(struct xtap_vq *pair, bool notify)
{
	lockdep_assert_held(&pair->mutex);
	if (notify && xtap_vq_enable_notify(pair))
		xtap_worker_queue(pair->worker);
	xtap_worker_uncover(pair->worker);
	mutex_unlock(&pair->mutex);
}

/* Run the pair's handler inline, as its thread would have.  Returns true
 * when it moved something (then the caller spins a full timeout again).
 */
static bool xtap_busy_pair_serve(struct xtap_vq *pair, bool *notify)
{
	u16 avail = pair->last_avail_idx;
	u64 packets = pair->stats.packets, drops = pair->stats.drops;

	lockdep_assert_held(&pair->mutex);
	clear_bit(XTAP_WORKER_PENDING, &pair->worker->flags);
	pair->serve(pair);
	/* The handler left notifications as its thread would sleep with. */
	*notify = pair->notify;
	xtap_vq_disable_notify(pair);
	return pair->last_avail_idx != avail ||
	       pair->stats.packets != packets || pair->stats.drops != drops;
}

/**
 * xtap_busy_poll() - spin for new work before sleeping
 * @vq: the virtqueue, with its mutex held and the owner's mm in use
 *
 * Spins for up to @vq's busy-loop timeout with guest notifications left as
 * the caller set them (disabled), checking @vq->has_work.  Leaves early,
 * without work, when the scheduler wants the CPU or another task is
 * runnable on this CPU, a signal is pending, the thread must stop, the
 * worker was queued again, or the control plane waits for @vq's mutex.
 * Never sleeps while spinning (the checks themselves may fault in guest
 * memory).
 *
 * While it spins it also serves the other virtqueue of the pair, when that
 * one's thread is idle on the same CPU (see xtap_busy_pair_take()): that
 * thread's wake-ups are covered (xtap_worker_cover()), the pair's guest
 * notifications are off, and when the pair has work (its pending bit, or
 * its own has_work()) its handler runs here, inline, without busy polling,
 * under its mutex taken with mutex_trylock().  So one thread carries a
 * request and its response on a busy pair with no wake-up or context
 * switch (and mostly no guest kick), as vhost-net's single worker does.
 * Before it returns the pair's notifications and wake-ups are restored,
 * and re-checked.
 *
 * The runnable check matters because each device has two workers: the TX
 * worker spinning for the next request must not keep the RX worker, woken
 * on the same CPU for the reply, waiting for the rest of the spin (the
 * wakeup does not always preempt; CFS lets the running task finish its
 * slice).
 *
 * Return: true when @vq->has_work found work.
 */
bool xtap_busy_poll(struct xtap_vq *vq)
{
	struct xtap_vq *pair = NULL;
	bool notify = false, found = false;
	u64 timeout, end;

	lockdep_assert_held(&vq->mutex);
	if (!vq->busyloop_timeout)
		return false;
	timeout = (u64)vq->busyloop_timeout * NSEC_PER_USEC;
	if (xtap_busy_pair_take(vq->pair, &notify))
		pair = vq->pair;
	end = local_clock() + timeout;
	for (;;) {
		if (vq->has_work(vq)) {
			found = true;
			break;
		}
		if (pair) {
			if (test_bit(XTAP_WORKER_BUSY, &pair->worker->flags) ||
			    atomic_read(&pair->ctl_waiting)) {
				xtap_busy_pair_release(pair, notify);
				pair = NULL;
			} else if ((xtap_worker_pending(pair->worker) ||
				    pair->has_work(pair)) &&
				   xtap_busy_pair_serve(pair, &notify)) {
				/* A fresh run of the pair: a fresh timeout; the
				 * exit checks below still apply.
				 */
				end = local_clock() + timeout;
			}
		}
		if (need_resched() || !single_task_running() ||
		    signal_pending(current) ||
		    kthread_should_stop() || xtap_worker_pending(vq->worker) ||
		    atomic_read(&vq->ctl_waiting))
			break;
		if (local_clock() >= end)
			break;
		cpu_relax();
	}
	if (pair)
		xtap_busy_pair_release(pair, notify);
	return found;
}
