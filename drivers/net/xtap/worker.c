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
 *
 * While its vq is attached to a queue of a device whose stall_ms is not 0,
 * a sleeping worker also wakes every stall_ms (the stall watchdog) and
 * serves work that no notification announced.
 */

#include "xtap.h"
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
#include <linux/string.h>
#include <uapi/linux/sched/types.h>

static atomic64_t xtap_worker_ids = ATOMIC64_INIT(0);

static void xtap_busy_poll_pair_hint(struct xtap_vq *vq);

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

/* The stall watchdog: the worker slept a whole period without being
 * queued.  Work found now was announced by no kick and no queue wake-up
 * (a guest that published buffers without kicking, or a lost wake-up):
 * serve it, count it and say so.
 */
static void xtap_worker_watchdog(struct xtap_worker *w)
{
	struct xtap_vq *vq = w->vq;

	if (!mmget_not_zero(w->mm))
		return;
	kthread_use_mm(w->mm);
	mutex_lock(&vq->mutex);
	if (xtap_vq_ready(vq) && !xtap_worker_pending(w) && vq->has_work(vq)) {
		vq->counts.stalls++;
		pr_warn_ratelimited("vhost %llu: %s ring had work nobody announced; served by the stall watchdog\n",
				    vq->dev_id, vq->index ? "TX" : "RX");
		/* Counts are flushed by the handler. */
		vq->serve(vq);
	}
	mutex_unlock(&vq->mutex);
	kthread_unuse_mm(w->mm);
	mmput(w->mm);
}

static int xtap_worker_fn(void *data)
{
	struct xtap_worker *w = data;
	bool slept = false;
	unsigned long stall;

	for (;;) {
		/* Pairs with the barrier in wake_up_process() of the waker. */
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop()) {
			__set_current_state(TASK_RUNNING);
			return 0;
		}
		if (!test_and_clear_bit(XTAP_WORKER_PENDING, &w->flags)) {
			slept = true;
			stall = READ_ONCE(w->stall);
			if (!stall) {
				schedule();
				continue;
			}
			/* Woken early (queued, or a new period): go round. */
			if (schedule_timeout(stall) ||
			    xtap_worker_pending(w) || kthread_should_stop())
				continue;
			set_bit(XTAP_WORKER_BUSY, &w->flags);
			xtap_worker_watchdog(w);
			clear_bit(XTAP_WORKER_BUSY, &w->flags);
			continue;
		}
		__set_current_state(TASK_RUNNING);
		if (slept) {
			atomic_inc(&w->vq->wakeups);
			xtap_busy_poll_pair_hint(w->vq);
		}
		slept = false;
		/* Tells a busy-polling pair worker to leave this vq alone. */
		set_bit(XTAP_WORKER_BUSY, &w->flags);
		xtap_worker_run(w);
		clear_bit(XTAP_WORKER_BUSY, &w->flags);
		cond_resched();
	}
}

/* Start a worker thread named @name in the cgroups of @from. */
static struct xtap_worker *xtap_worker_start(struct xtap_vq *vq,
					     void (*handle)(struct xtap_vq *vq),
					     struct mm_struct *mm,
					     const char *name,
					     struct task_struct *from)
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
	strscpy(w->name, name, sizeof(w->name));

	task = kthread_create(xtap_worker_fn, w, "%s", name);
	if (IS_ERR(task)) {
		err = PTR_ERR(task);
		goto err_free;
	}
	w->task = task;
	/* Running, not sleeping uninterruptibly: no load average, no hung task. */
	wake_up_process(task);

	err = cgroup_attach_task_all(from, task);
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
 * xtap_worker_create() - start a worker thread for a virtqueue
 * @vq: the virtqueue it serves
 * @handle: its handler
 * @mm: the owner's mm; the caller keeps it grabbed while the worker exists
 * @name: thread name (longer than TASK_COMM_LEN - 1 shows in full only
 *	in /proc/<pid>/comm and stat)
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
	return xtap_worker_start(vq, handle, mm, name, current);
}

/**
 * xtap_worker_clone() - start a thread to take over from a worker
 * @old: the worker it replaces
 * @name: the new thread's name
 *
 * A kernel thread's name cannot change once it runs (__set_task_comm() is
 * not exported), so a new name takes a new thread.  It serves @old's vq
 * with the same handler and mm, and starts where the operator left @old:
 * in its cgroups, with its CPU affinity and its scheduling policy and
 * priority (a deadline policy is not carried over).  It does nothing
 * until it is installed (see xtap_vhost_swap_worker()).
 *
 * Return: the worker or an ERR_PTR().
 */
struct xtap_worker *xtap_worker_clone(struct xtap_worker *old,
				      const char *name)
{
	struct task_struct *from = old->task;
	struct xtap_worker *w;
	struct sched_attr attr = {
		.size = sizeof(attr),
		.sched_policy = READ_ONCE(from->policy),
		.sched_priority = READ_ONCE(from->rt_priority),
		.sched_nice = task_nice(from),
	};
	int err;

	w = xtap_worker_start(old->vq, old->handle, old->mm, name, from);
	if (IS_ERR(w))
		return w;
	/* Placement is best effort: a failure leaves the defaults. */
	err = set_cpus_allowed_ptr(w->task, from->cpus_ptr);
	if (err)
		pr_debug("vhost worker %llu: CPU affinity not carried over: %d\n",
			 w->id, err);
	if (attr.sched_policy != SCHED_DEADLINE) {
		err = sched_setattr_nocheck(w->task, &attr);
		if (err)
			pr_debug("vhost worker %llu: policy not carried over: %d\n",
				 w->id, err);
	}
	return w;
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

/**
 * xtap_worker_set_stall() - set the stall watchdog period of a worker
 * @w: the worker
 * @stall: period in jiffies, 0 for none
 *
 * Context: @w's vq mutex held.  A sleeping worker re-arms at once.
 */
void xtap_worker_set_stall(struct xtap_worker *w, unsigned long stall)
{
	lockdep_assert_held(&w->vq->mutex);
	if (READ_ONCE(w->stall) == stall)
		return;
	WRITE_ONCE(w->stall, stall);
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
	if (p->events)
		atomic_inc(p->events);
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
	p->events = NULL;
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
 * xtap_poll_retarget() - make an entry queue another worker
 * @p: the entry, started or stopped
 * @w: the worker to queue from now on
 * @file: the file a started @p watches (referenced by the caller); not
 *	used when @p is stopped
 *
 * Keeps @p's state: a started entry is put back on @file for @w (and @w
 * is queued at once when @file has one of the events); a stopped one
 * queues @w once it is resumed or started again.
 *
 * Return: 0, or -EINVAL when @file reports EPOLLERR (@p is then stopped).
 */
int xtap_poll_retarget(struct xtap_poll *p, struct xtap_worker *w,
		       struct file *file)
{
	if (!p->wqh) {
		p->worker = w;
		return 0;
	}
	xtap_poll_stop(p);
	return xtap_poll_start(p, w, file);
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
	/* Counted with the pair's counts, flushed by the run itself. */
	pair->counts.pair_runs++;
	pair->serve(pair);
	/* The handler left notifications as its thread would sleep with. */
	*notify = pair->notify;
	xtap_vq_disable_notify(pair);
	return pair->last_avail_idx != avail ||
	       pair->stats.packets != packets || pair->stats.drops != drops;
}

/* Adaptive mode: a window that was 0 starts here (or at the ceiling when
 * that is lower), grows by doubling and shrinks by halving; a window
 * halved below the start is 0 (no polling).  The start is about one
 * request/response turn of a fast guest.
 */
#define XTAP_POLL_START_NS	(10 * NSEC_PER_USEC)

/**
 * xtap_busy_poll_window_ns() - the busy-poll window in force for a vq
 * @vq: the virtqueue; read locklessly (sysfs) or under its mutex
 * @conf: the device's mode and busy_poll_us
 *
 * Return: the window in nanoseconds, 0 for no polling.
 */
u32 xtap_busy_poll_window_ns(struct xtap_vq *vq,
			     const struct xtap_poll_conf *conf)
{
	switch (conf->mode) {
	case XTAP_BUSY_POLL_OFF:
		return 0;
	case XTAP_BUSY_POLL_FIXED:
		return conf->us * NSEC_PER_USEC;
	case XTAP_BUSY_POLL_ADAPTIVE:
		return min_t(u32, max(READ_ONCE(vq->poll_window_ns),
				      READ_ONCE(vq->poll_pair_window_ns)),
			     conf->us * NSEC_PER_USEC);
	default:
		return min_t(u64, READ_ONCE(vq->busyloop_timeout),
			     U32_MAX / NSEC_PER_USEC) * NSEC_PER_USEC;
	}
}

/* The device's settings for @vq's queue; upstream's (vhost mode) when the
 * device is gone.
 */
static void xtap_busy_poll_conf(struct xtap_vq *vq, struct xtap_poll_conf *c)
{
	struct xtap_dev *xt;

	lockdep_assert_held(&vq->mutex);
	c->mode = XTAP_BUSY_POLL_VHOST;
	c->us = 0;
	if (!vq->q)
		return;
	rcu_read_lock();
	xt = rcu_dereference(vq->q->xt);
	if (xt) {
		c->mode = READ_ONCE(xt->poll.mode);
		c->us = READ_ONCE(xt->poll.us);
	}
	rcu_read_unlock();
}

/* @win is one of @vq's adaptive windows; @vq's mutex is held. */
static void xtap_busy_poll_grow(u32 *win, u32 max)
{
	u32 w = *win;

	w = w ? min_t(u64, (u64)w * 2, max) : min_t(u32, XTAP_POLL_START_NS, max);
	WRITE_ONCE(*win, w);
}

static void xtap_busy_poll_shrink(u32 *win)
{
	u32 w = *win / 2;

	WRITE_ONCE(*win, w < XTAP_POLL_START_NS ? 0 : w);
}

/* Adaptive mode: a busy poll of @vq gave up (or did not spin) at @start
 * without its own work; judged when work comes (xtap_busy_poll_woken()),
 * and by the pair's thread (xtap_busy_poll_pair_hint()).
 */
static void xtap_busy_poll_idle(struct xtap_vq *vq, u64 start, u32 max,
				bool served)
{
	WRITE_ONCE(vq->poll_idle_max, max);
	WRITE_ONCE(vq->poll_idle_cpu, raw_smp_processor_id());
	vq->poll_served = served;
	WRITE_ONCE(vq->poll_idle_at, start);
}

/**
 * xtap_busy_poll_pair_hint() - a worker thread was woken for work
 * @vq: its virtqueue (no lock: reads the pair's fields locklessly)
 *
 * Adaptive mode: the other worker of the pair, had it been spinning on
 * this CPU, would have served this work inline (no wake-up).  When it gave
 * up (or did not spin) on this CPU less than its ceiling ago, a longer
 * spin would have caught it: hint it to grow its window for the pair's
 * work; later than the ceiling: to shrink it.  Taken by the pair at its
 * next handler run (xtap_busy_poll_woken()).
 */
static void xtap_busy_poll_pair_hint(struct xtap_vq *vq)
{
	struct xtap_vq *pair = vq->pair;
	u64 idle_at, waited;

	if (!pair)
		return;
	idle_at = READ_ONCE(pair->poll_idle_at);
	if (!idle_at || READ_ONCE(pair->poll_idle_cpu) != raw_smp_processor_id())
		return;
	waited = local_clock() - idle_at;
	if (waited > READ_ONCE(pair->poll_idle_max))
		atomic_set(&pair->poll_pair_hint, -1);
	else if (waited > READ_ONCE(pair->poll_pair_window_ns))
		atomic_set(&pair->poll_pair_hint, 1);
}

/**
 * xtap_busy_poll_woken() - a handler run starts: work arrived
 * @vq: the virtqueue, mutex held
 *
 * Adaptive mode, in the spirit of KVM's halt polling: when the last busy
 * poll gave up without work (or did not run, its window being 0), the time
 * from its start to now says whether polling would pay.  Work that came
 * within the ceiling but after the window: a longer window would have
 * caught it, grow.  Work that came after the ceiling: polling only burnt
 * the CPU, shrink.  The window for the pair's work follows the pair
 * thread's hint (xtap_busy_poll_pair_hint()); without one, and without
 * having served the pair in that poll, the pair had no work for it to
 * wait for: shrink.
 */
void xtap_busy_poll_woken(struct xtap_vq *vq)
{
	int hint = atomic_xchg(&vq->poll_pair_hint, 0);
	u64 waited;

	lockdep_assert_held(&vq->mutex);
	if (!vq->poll_idle_at)
		return;
	waited = local_clock() - vq->poll_idle_at;
	if (waited > vq->poll_idle_max)
		xtap_busy_poll_shrink(&vq->poll_window_ns);
	else if (waited > vq->poll_window_ns)
		xtap_busy_poll_grow(&vq->poll_window_ns, vq->poll_idle_max);
	if (hint > 0)
		xtap_busy_poll_grow(&vq->poll_pair_window_ns, vq->poll_idle_max);
	else if (hint < 0 || !vq->poll_served)
		xtap_busy_poll_shrink(&vq->poll_pair_window_ns);
	WRITE_ONCE(vq->poll_idle_at, 0);
}

/**
 * xtap_vq_flush_counts() - add a vq's pending counters to its queue's
 * @vq: the virtqueue, mutex held
 *
 * Called at the end of each handler run.  Without a device (detached, or
 * deleted) the counts wait, or are lost with the device.
 */
void xtap_vq_flush_counts(struct xtap_vq *vq)
{
	struct xtap_vq_counts *c = &vq->counts;
	unsigned int kicks, wakeups;
	struct xtap_stats *st;
	struct xtap_dev *xt;
	unsigned long flags;
	unsigned int slot;

	lockdep_assert_held(&vq->mutex);
	kicks = atomic_read(&vq->kicks);
	wakeups = atomic_read(&vq->wakeups);
	if (!vq->q || !(kicks | wakeups | c->hits | c->misses | c->spin_ns |
			c->signals | c->stalls | c->pair_runs))
		return;
	kicks = atomic_xchg(&vq->kicks, 0);
	wakeups = atomic_xchg(&vq->wakeups, 0);
	rcu_read_lock();
	xt = rcu_dereference(vq->q->xt);
	if (xt) {
		slot = xtap_queue_slot(xt, vq->q);
		st = get_cpu_ptr(xt->stats[slot]);
		flags = u64_stats_update_begin_irqsave(&st->syncp);
		u64_stats_add(&st->v[XTAP_STAT_BUSY_POLL_HITS], c->hits);
		u64_stats_add(&st->v[XTAP_STAT_BUSY_POLL_MISSES], c->misses);
		u64_stats_add(&st->v[XTAP_STAT_BUSY_POLL_NS], c->spin_ns);
		u64_stats_add(&st->v[XTAP_STAT_KICKS], kicks);
		u64_stats_add(&st->v[XTAP_STAT_SIGNALS], c->signals);
		u64_stats_add(&st->v[XTAP_STAT_WAKEUPS], wakeups);
		u64_stats_add(&st->v[XTAP_STAT_STALLS], c->stalls);
		u64_stats_add(&st->v[XTAP_STAT_BUSY_POLL_PAIR_RUNS],
			      c->pair_runs);
		u64_stats_update_end_irqrestore(&st->syncp, flags);
		put_cpu_ptr(xt->stats[slot]);
	}
	rcu_read_unlock();
	memset(c, 0, sizeof(*c));
}

/**
 * xtap_busy_poll() - spin for new work before sleeping
 * @vq: the virtqueue, with its mutex held and the owner's mm in use
 *
 * Spins for up to the window in force (xtap_busy_poll_window_ns(): the
 * vring's busy-loop timeout in the device's "vhost" mode, none in "off",
 * busy_poll_us in "fixed", the adaptive window in "adaptive") with guest
 * notifications left as the caller set them (disabled), checking
 * @vq->has_work.  Leaves early, without work, when the scheduler wants the
 * CPU or another task is runnable on this CPU, a signal is pending, the
 * thread must stop, the worker was queued again, or the control plane
 * waits for @vq's mutex.  Never sleeps while spinning (the checks
 * themselves may fault in guest memory).
 *
 * Counts a hit when it found work (its own, or the pair's, see below), a
 * miss otherwise, and the time spun.  In adaptive mode a vq has two
 * windows, one for its own work and one for the pair's, and spins for the
 * larger (up to busy_poll_us): finding its own work doubles the first,
 * serving the pair the second, and after serving the pair it waits for its
 * own work only as long as the first allows (a fixed window waits again in
 * full).  Without its own work the next arrival of work and the pair
 * thread's hint decide (xtap_busy_poll_woken()).
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
	bool notify = false, found = false, served = false;
	bool adaptive;
	struct xtap_poll_conf conf;
	u64 timeout, own, start, end;

	lockdep_assert_held(&vq->mutex);
	xtap_busy_poll_conf(vq, &conf);
	adaptive = conf.mode == XTAP_BUSY_POLL_ADAPTIVE;
	timeout = xtap_busy_poll_window_ns(vq, &conf);
	if (!timeout) {
		if (adaptive && conf.us)
			xtap_busy_poll_idle(vq, local_clock(),
					    conf.us * NSEC_PER_USEC, false);
		return false;
	}
	/* After serving the pair, wait for own work only (adaptive). */
	own = adaptive ? min_t(u64, vq->poll_window_ns, timeout) : timeout;
	if (xtap_busy_pair_take(vq->pair, &notify))
		pair = vq->pair;
	start = local_clock();
	end = start + timeout;
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
				served = true;
				end = local_clock() + own;
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
	end = local_clock();
	vq->counts.spin_ns += end - start;
	if (found || served)
		vq->counts.hits++;
	else
		vq->counts.misses++;
	if (adaptive) {
		if (found)
			xtap_busy_poll_grow(&vq->poll_window_ns,
					    conf.us * NSEC_PER_USEC);
		if (served)
			xtap_busy_poll_grow(&vq->poll_pair_window_ns,
					    conf.us * NSEC_PER_USEC);
		/* Judged when work comes (xtap_busy_poll_woken()). */
		if (found)
			WRITE_ONCE(vq->poll_idle_at, 0);
		else
			xtap_busy_poll_idle(vq, start, conf.us * NSEC_PER_USEC,
					    served);
	}
	return found;
}
