// SPDX-License-Identifier: GPL-2.0
/*
 * ringbench: pointers per second through drivers/net/xtap/ring.h, compared
 * in the same run with the kernel's own ptr_ring.h (built for userspace
 * through ptr_ring_shim.h) and with a spinlock-protected list queue.
 *
 * Copyright (C) 2026 The xtap authors.
 *
 * One producer thread pinned to CPU 0 and one consumer pinned to CPU 1 move
 * pointers for a fixed time; the consumer checks that it gets every pointer
 * once and in order.  Each scenario is run several times per queue, the
 * three queues alternating (rotating A/B/C order) to spread drift evenly;
 * the median, minimum and maximum in Mpointers/s are printed as a Markdown
 * table with the ratios xtap/ptr_ring and xtap/list of the medians.
 *
 * Batch b means: xtap_ring_produce_bulk()/xtap_ring_consume_batch() of b
 * (b = 1: xtap_ring_produce()/xtap_ring_consume()); for ptr_ring, b calls
 * of __ptr_ring_produce() under one producer_lock hold (ptr_ring has no
 * bulk produce; veth's ndo_xdp_xmit does the same) and
 * ptr_ring_consume_batched() (b = 1: ptr_ring_produce()/ptr_ring_consume());
 * for the list, a chain of b nodes spliced in under one lock and up to b
 * nodes detached under one lock.  All use the same pthread spinlock.
 */
#include "ring_compat.h"

#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "ring_ops.h"
#include "ptr_ring_shim.h"
#include "listq.h"

#define MAX_BATCH	64
#define NNODES		4096	/* > largest ring + 2 batches: no early reuse */
#define MAX_RUNS	31

enum impl { XTAP, PTR_RING, LISTQ, NIMPL };

static const char * const impl_name[NIMPL] = { "xtap", "ptr_ring", "list" };

struct scenario {
	const char *name;
	unsigned int size;
	unsigned int batch;
	unsigned int prod_work;	/* extra work per pointer, producer side */
	unsigned int cons_work;	/* extra work per pointer, consumer side */
};

/*
 * Work units: ~4 cycles each (a dependent multiply-add).  work() is not
 * inlined so that every queue runs the very same instructions: inlined
 * into each queue's specialised loop, its code generation differed enough
 * to change the slow-producer rows by 20%.
 */
#define SLOW_WORK 40

static const struct scenario scenarios[] = {
	{ "steady", 256, 1, 0, 0 },
	{ "steady", 256, 4, 0, 0 },
	{ "steady", 256, 16, 0, 0 },
	{ "steady", 256, 64, 0, 0 },
	{ "steady", 1024, 1, 0, 0 },
	{ "steady", 1024, 4, 0, 0 },
	{ "steady", 1024, 16, 0, 0 },
	{ "steady", 1024, 64, 0, 0 },
	{ "nearly full (slow consumer)", 256, 1, 0, SLOW_WORK },
	{ "nearly full (slow consumer)", 256, 16, 0, SLOW_WORK },
	{ "nearly empty (slow producer)", 256, 1, SLOW_WORK, 0 },
	{ "nearly empty (slow producer)", 256, 16, SLOW_WORK, 0 },
};

#define NSCEN ARRAY_SIZE(scenarios)

struct node {
	struct listq_node link;	/* must be first: the list hands out nodes */
} ____cacheline_aligned_in_smp;

/* Everything one measurement shares. */
struct bench {
	/* Each queue in its own block, at the same offset (see -O). */
	struct xtap_ring *xr;
	struct ptr_ring *pr;
	struct listq *lq;

	enum impl impl;
	const struct scenario *sc;
	struct node *nodes;

	/* Control: written once or twice per measurement. */
	int ready ____cacheline_aligned_in_smp;
	int start;
	int stop;
	int finished;
	unsigned long produced;
	unsigned long full_polls;	/* producer found no room */

	/* Consumer results. */
	unsigned long consumed ____cacheline_aligned_in_smp;
	unsigned long errors;
	unsigned long empty_polls;	/* consumer found nothing */
	unsigned long calls;		/* successful consume calls */
	double t0, t1;
};

static int cpu_prod, cpu_cons = 1, pin = 1, verbose;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static __attribute__((noinline)) void work(unsigned int units)
{
	unsigned long x = units;
	unsigned int i;

	for (i = 0; i < units; i++) {
		x = x * 6364136223846793005UL + 1442695040888963407UL;
		__asm__ __volatile__("" : "+r"(x));
	}
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	if (!pin)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set)) {
		fprintf(stderr, "ringbench: cannot pin to CPU %d\n", cpu);
		exit(1);
	}
}

static void wait_start(struct bench *b)
{
	__atomic_add_fetch(&b->ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&b->start, __ATOMIC_ACQUIRE))
		cpu_relax();
}

/* Queue operations, specialised per implementation at compile time. */
static __always_inline int
q_produce(struct bench *b, enum impl impl, void **v, int n)
{
	int i;

	switch (impl) {
	case XTAP:
		if (n == 1)
			return !xtap_ring_produce(b->xr, v[0]);
		return xtap_ring_produce_bulk(b->xr, v, n);
	case PTR_RING:
		if (n == 1)
			return !ptr_ring_produce(b->pr, v[0]);
		spin_lock(&b->pr->producer_lock);
		for (i = 0; i < n; i++)
			if (__ptr_ring_produce(b->pr, v[i]))
				break;
		spin_unlock(&b->pr->producer_lock);
		return i;
	default:
		if (n == 1)
			return listq_produce(b->lq, v[0]);
		for (i = 0; i < n - 1; i++)
			((struct listq_node *)v[i])->next = v[i + 1];
		((struct listq_node *)v[n - 1])->next = NULL;
		return listq_produce_chain(b->lq, v[0], v[n - 1], n);
	}
}

static __always_inline int
q_consume(struct bench *b, enum impl impl, void **v, int n)
{
	switch (impl) {
	case XTAP:
		if (n == 1)
			return !!(v[0] = xtap_ring_consume(b->xr));
		return xtap_ring_consume_batch(b->xr, v, n);
	case PTR_RING:
		if (n == 1)
			return !!(v[0] = ptr_ring_consume(b->pr));
		return ptr_ring_consume_batched(b->pr, v, n);
	default:
		if (n == 1)
			return !!(v[0] = listq_consume(b->lq));
		return listq_consume_batch(b->lq, v, n);
	}
}

static __always_inline void
producer_loop(struct bench *b, enum impl impl)
{
	const unsigned int batch = b->sc->batch, pw = b->sc->prod_work;
	struct node *nodes = b->nodes;
	unsigned long seq = 0, full = 0;
	void *v[MAX_BATCH];
	unsigned int i;

	while (!READ_ONCE(b->stop)) {
		int done = 0;

		for (i = 0; i < batch; i++) {
			if (pw)
				work(pw);
			v[i] = &nodes[(seq + i) & (NNODES - 1)];
		}
		while (done < (int)batch) {
			int k = q_produce(b, impl, v + done, batch - done);

			if (!k) {
				full++;
				cpu_relax();
			}
			done += k;
		}
		seq += batch;
	}
	b->produced = seq;
	b->full_polls = full;
	__atomic_store_n(&b->finished, 1, __ATOMIC_RELEASE);
}

static __always_inline void
consumer_loop(struct bench *b, enum impl impl)
{
	const unsigned int batch = b->sc->batch, cw = b->sc->cons_work;
	struct node *nodes = b->nodes;
	unsigned long expect = 0, errors = 0, empty = 0, calls = 0;
	void *v[MAX_BATCH];
	int i, n;

	b->t0 = now();
	for (;;) {
		n = q_consume(b, impl, v, batch);
		if (!n) {
			if (__atomic_load_n(&b->finished, __ATOMIC_ACQUIRE) &&
			    expect == b->produced)
				break;
			empty++;
			cpu_relax();
			continue;
		}
		calls++;
		for (i = 0; i < n; i++) {
			if (cw)
				work(cw);
			errors += v[i] != (void *)&nodes[expect & (NNODES - 1)];
			expect++;
		}
	}
	b->t1 = now();
	b->consumed = expect;
	b->errors = errors;
	b->empty_polls = empty;
	b->calls = calls;
}

static void *producer_fn(void *arg)
{
	struct bench *b = arg;

	pin_self(cpu_prod);
	wait_start(b);
	switch (b->impl) {
	case XTAP:
		producer_loop(b, XTAP);
		break;
	case PTR_RING:
		producer_loop(b, PTR_RING);
		break;
	default:
		producer_loop(b, LISTQ);
		break;
	}
	return NULL;
}

static void *consumer_fn(void *arg)
{
	struct bench *b = arg;

	pin_self(cpu_cons);
	wait_start(b);
	switch (b->impl) {
	case XTAP:
		consumer_loop(b, XTAP);
		break;
	case PTR_RING:
		consumer_loop(b, PTR_RING);
		break;
	default:
		consumer_loop(b, LISTQ);
		break;
	}
	return NULL;
}

/* One measurement: returns Mpointers/s, or a negative value on error. */
static double measure(struct bench *b, enum impl impl,
		      const struct scenario *sc, double seconds)
{
	struct timespec ts = {
		.tv_sec = (time_t)seconds,
		.tv_nsec = (long)((seconds - (time_t)seconds) * 1e9),
	};
	pthread_t tp, tc;
	double mps;
	int ret = 0;

	memset(&b->ready, 0, sizeof(*b) - offsetof(struct bench, ready));
	b->impl = impl;
	b->sc = sc;
	switch (impl) {
	case XTAP:
		ret = xtap_ring_init(b->xr, sc->size, GFP_KERNEL);
		break;
	case PTR_RING:
		ret = ptr_ring_init(b->pr, sc->size, GFP_KERNEL);
		break;
	default:
		listq_init(b->lq, sc->size);
		break;
	}
	if (ret) {
		fprintf(stderr, "ringbench: %s init failed\n", impl_name[impl]);
		exit(1);
	}

	if (pthread_create(&tc, NULL, consumer_fn, b) ||
	    pthread_create(&tp, NULL, producer_fn, b)) {
		fprintf(stderr, "ringbench: pthread_create failed\n");
		exit(1);
	}
	while (__atomic_load_n(&b->ready, __ATOMIC_ACQUIRE) < 2)
		usleep(100);
	__atomic_store_n(&b->start, 1, __ATOMIC_RELEASE);
	nanosleep(&ts, NULL);
	__atomic_store_n(&b->stop, 1, __ATOMIC_RELEASE);
	pthread_join(tp, NULL);
	pthread_join(tc, NULL);

	if (b->errors || b->consumed != b->produced) {
		fprintf(stderr, "ringbench: %s lost order: %lu errors, %lu/%lu\n",
			impl_name[impl], b->errors, b->consumed, b->produced);
		mps = -1;
	} else {
		mps = b->consumed / (b->t1 - b->t0) / 1e6;
	}
	if (verbose)
		fprintf(stderr, "  %-8s ring %4u batch %2u: %7.1f Mp/s, %.2f ptrs/consume, full polls %.3f/ptr, empty polls %.3f/ptr\n",
			impl_name[impl], sc->size, sc->batch, mps,
			(double)b->consumed / (b->calls ? b->calls : 1),
			(double)b->full_polls / (b->consumed ? b->consumed : 1),
			(double)b->empty_polls / (b->consumed ? b->consumed : 1));

	switch (impl) {
	case XTAP:
		xtap_ring_cleanup(b->xr, NULL);
		break;
	case PTR_RING:
		ptr_ring_cleanup(b->pr, NULL);
		break;
	default:
		break;
	}
	return mps;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void read_first_line(const char *path, const char *key, char *buf,
			    size_t len)
{
	FILE *f = fopen(path, "r");
	char line[512];
	size_t n;

	snprintf(buf, len, "?");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = line;

		if (key) {
			if (strncmp(line, key, strlen(key)))
				continue;
			p = strchr(line, ':');
			if (!p)
				break;
			p += 2;
		}
		n = strcspn(p, "\n");
		if (n >= len)
			n = len - 1;
		memcpy(buf, p, n);
		buf[n] = 0;
		break;
	}
	fclose(f);
}

/*
 * CPU time spent by everything else on the machine (and stolen by the
 * hypervisor), from /proc/stat and our own rusage: the benchmark keeps
 * both CPUs busy, so any of it distorts the numbers.
 */
struct cpu_sample {
	double busy;	/* seconds, all CPUs, excluding idle and iowait */
	double steal;
	double self;
	double wall;
};

static void cpu_sample(struct cpu_sample *c)
{
	unsigned long long v[10] = { 0 };
	double hz = sysconf(_SC_CLK_TCK);
	struct rusage ru;
	FILE *f = fopen("/proc/stat", "r");

	memset(c, 0, sizeof(*c));
	if (f) {
		if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
			   &v[7]) == 8) {
			c->busy = (v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
			c->steal = v[7] / hz;
		}
		fclose(f);
	}
	getrusage(RUSAGE_SELF, &ru);
	c->self = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
		  ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
	c->wall = now();
}

/* Share of one CPU that others used since @c0 (which is then updated). */
static double foreign_since(struct cpu_sample *c0)
{
	struct cpu_sample c1;
	double f;

	cpu_sample(&c1);
	f = ((c1.busy - c0->busy) - (c1.self - c0->self) +
	     (c1.steal - c0->steal)) / (c1.wall - c0->wall);
	*c0 = c1;
	return f > 0 ? f : 0;
}

/*
 * Sleep until a quarter of a second passes in which other tasks used less
 * than @max of a CPU, or until the budget runs out.  Returns the time slept.
 */
static double wait_quiet(double max, double budget)
{
	struct timespec q = { .tv_nsec = 250000000 };
	struct cpu_sample c;
	double t0 = now();

	cpu_sample(&c);
	while (now() - t0 < budget) {
		nanosleep(&q, NULL);
		if (foreign_since(&c) <= max)
			break;
	}
	return now() - t0;
}

/*
 * Where a queue structure sits in memory changes the results noticeably:
 * the free-running producer/consumer pair is bistable (a ring that runs
 * nearly full is much faster than one that runs nearly empty), and a few
 * cycles of difference on one side, e.g. from 4 KiB aliasing against the
 * stack or from the L2 prefetching the other line of a 128-byte pair, tip
 * it one way or the other.  So that no queue wins by a lucky address, all
 * three get the same placement, and it changes from round to round: round
 * r puts each structure at byte (r % 8) * 64 of its own page (-O fixes one
 * offset instead).
 */
#define PLACE_ALIGN	4096
#define PLACE_STEPS	8

static char *place_block[NIMPL];

static int place_alloc(void)
{
	unsigned int i;

	for (i = 0; i < NIMPL; i++) {
		place_block[i] = aligned_alloc(PLACE_ALIGN, 2 * PLACE_ALIGN);
		if (!place_block[i])
			return -1;
		memset(place_block[i], 0, 2 * PLACE_ALIGN);
	}
	return 0;
}

static void place_queues(struct bench *b, unsigned int off)
{
	b->xr = (struct xtap_ring *)(place_block[XTAP] + off);
	b->pr = (struct ptr_ring *)(place_block[PTR_RING] + off);
	b->lq = (struct listq *)(place_block[LISTQ] + off);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ringbench [-r runs] [-t seconds] [-o results.md] [-s N] [-P] [-v] [-q pct] [-w s] [-O off]\n"
		"  -r  runs per queue and scenario (default 8, at least 5 advised)\n"
		"  -t  seconds per run (default 0.25)\n"
		"  -o  also write the report to this file\n"
		"  -s  run only scenario N (0-based, see the table)\n"
		"  -P  do not pin the threads (CPUs 0 and 1 by default)\n"
		"  -v  print every run, with poll counts, on stderr\n"
		"  -q  redo a round when other tasks used more than pct%% of a CPU\n"
		"      during it (default 10; up to 3 times a round, 40 in all)\n"
		"  -w  before redoing a round, wait for a quiet machine, at most\n"
		"      this many seconds in all (default 60)\n"
		"  -O  place each queue structure at this byte offset (a multiple\n"
		"      of 64) of a page, instead of rotating through 0..448\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static double res[NSCEN][NIMPL][MAX_RUNS], busy[NSCEN];
	double max_foreign = 0.10, wait_budget = 60, waited = 0;
	int place_off = -1;
	int retries = 40;
	char cpu[256], load0[128], load1[128], report[16384];
	const char *outfile = NULL;
	double seconds = 0.25, t_start, wall, other;
	struct cpu_sample cs0, cs1;
	int runs = 8, only = -1, c, len = 0;
	unsigned int s, r, i;
	struct utsname un;
	struct bench *b;
	FILE *f;

	while ((c = getopt(argc, argv, "r:t:o:s:Pvq:w:O:")) != -1) {
		switch (c) {
		case 'r':
			runs = atoi(optarg);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'o':
			outfile = optarg;
			break;
		case 's':
			only = atoi(optarg);
			break;
		case 'P':
			pin = 0;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'q':
			max_foreign = atof(optarg) / 100;
			break;
		case 'w':
			wait_budget = atof(optarg);
			break;
		case 'O':
			place_off = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (runs < 1 || runs > MAX_RUNS || seconds <= 0 || only >= (int)NSCEN ||
	    (place_off >= 0 && (place_off % SMP_CACHE_BYTES ||
				place_off >= PLACE_ALIGN)))
		usage();
	if (pin && sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "ringbench: needs 2 CPUs (or -P)\n");
		return 1;
	}

	b = aligned_alloc(SMP_CACHE_BYTES,
			  (sizeof(*b) + SMP_CACHE_BYTES - 1) & ~(SMP_CACHE_BYTES - 1UL));
	b->nodes = aligned_alloc(SMP_CACHE_BYTES, NNODES * sizeof(struct node));
	if (!b || !b->nodes || place_alloc())
		return 1;
	memset(b->nodes, 0, NNODES * sizeof(struct node));

	read_first_line("/proc/cpuinfo", "model name", cpu, sizeof(cpu));
	read_first_line("/proc/loadavg", NULL, load0, sizeof(load0));
	uname(&un);
	t_start = now();
	cpu_sample(&cs0);

	for (s = 0; s < NSCEN; s++) {
		if (only >= 0 && s != (unsigned int)only)
			continue;
		busy[s] = 0;
		for (r = 0; r < (unsigned int)runs; r++) {
			struct cpu_sample c0;
			double foreign;
			int tries = 0;

			/*
			 * One round measures each queue once.  A round during
			 * which something else used the CPUs is measured
			 * again, within a retry budget.
			 */
			do {
				if (tries)
					waited += wait_quiet(max_foreign,
							     wait_budget - waited);
				place_queues(b, place_off >= 0 ? (unsigned int)place_off :
					     (r % PLACE_STEPS) * SMP_CACHE_BYTES);
				cpu_sample(&c0);
				for (i = 0; i < NIMPL; i++) {
					enum impl impl = (enum impl)((r + i) % NIMPL);

					res[s][impl][r] = measure(b, impl,
								  &scenarios[s],
								  seconds);
					if (res[s][impl][r] < 0)
						return 1;
				}
				foreign = foreign_since(&c0);
			} while (foreign > max_foreign && retries-- > 0 &&
				 ++tries <= 3);
			if (foreign > busy[s])
				busy[s] = foreign;
		}
		fprintf(stderr, "ringbench: scenario %u/%zu done\n", s + 1, NSCEN);
	}
	read_first_line("/proc/loadavg", NULL, load1, sizeof(load1));
	cpu_sample(&cs1);
	wall = cs1.wall - cs0.wall;
	other = (cs1.busy - cs0.busy) - (cs1.self - cs0.self);
	if (other < 0)
		other = 0;

#define OUT(...) (len += snprintf(report + len, sizeof(report) - len, __VA_ARGS__))
	OUT("ringbench: %s, %ld CPUs, kernel %s, gcc %s, -O2\n", cpu,
	    sysconf(_SC_NPROCESSORS_ONLN), un.release, __VERSION__);
	OUT("producer on CPU %d, consumer on CPU %d%s; %d runs x %.2f s per queue and row, order rotated; %.0f s total\n",
	    cpu_prod, cpu_cons, pin ? "" : " (not pinned)", runs, seconds,
	    now() - t_start);
	OUT("loadavg before: %s; after: %s; waited %.0f s for quiet, %d retries left\n",
	    load0, load1, waited, retries < 0 ? 0 : retries);
	OUT("other CPU use over the whole run: %.0f%% of one CPU; hypervisor steal: %.0f%%\n",
	    100 * other / wall, 100 * (cs1.steal - cs0.steal) / wall);
	if (place_off >= 0)
		OUT("queue structures at byte %d of a page", place_off);
	else
		OUT("queue structures at byte 64 * (round %% %d) of a page",
		    PLACE_STEPS);
	OUT("; ptr_ring.h: %s\n\n", PTR_RING_H);
	OUT("Mpointers/s, median (min-max); \"other CPU\": the most CPU (in %% of one\n");
	OUT("CPU) that other tasks and the hypervisor took during a kept round of the row.\n\n");
	OUT("| # | scenario | ring | batch | xtap | ptr_ring | list | xtap/ptr_ring | xtap/list | other CPU |\n");
	OUT("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (s = 0; s < NSCEN; s++) {
		double med[NIMPL];

		if (only >= 0 && s != (unsigned int)only)
			continue;
		OUT("| %u | %s | %u | %u |", s, scenarios[s].name,
		    scenarios[s].size, scenarios[s].batch);
		for (i = 0; i < NIMPL; i++) {
			med[i] = median(res[s][i], runs);
			OUT(" %.1f (%.1f-%.1f) |", med[i], res[s][i][0],
			    res[s][i][runs - 1]);
		}
		OUT(" %.2f | %.2f | %.0f%% |\n", med[XTAP] / med[PTR_RING],
		    med[XTAP] / med[LISTQ], 100 * busy[s]);
	}
#undef OUT

	fputs(report, stdout);
	if (outfile) {
		f = fopen(outfile, "w");
		if (!f || fputs(report, f) < 0 || fclose(f)) {
			perror(outfile);
			return 1;
		}
	}
	free(b->nodes);
	free(b);
	return 0;
}
