// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * xbench: xtap against upstream vhost-net + tun in the same boot (see
 * xbench.h).  Runs every row for both backends in each round, xtap first in
 * even rounds and upstream first in odd ones, prints one "xbench-raw" line
 * per measurement, then the Markdown table between the lines
 * "@@xbench-table-begin@@" and "@@xbench-table-end@@" (bench/run.sh copies
 * it out of the VM).
 *
 *   xbench [-r ROUNDS] [-w WARM_S] [-s WINDOW_S] [-o ROW[,ROW...]] [-b BACKEND]
 *          [--smoke] [--list]
 *
 * -o ROW: rows whose id contains ROW; a comma-separated list of such
 * patterns, each written "=ID" or "ID$" to ask for that exact id.
 *
 * --smoke: one round with tiny windows (the test suite's check that every
 * row still produces a number); --list: the row/backend pairs that must
 * produce a positive number.  Exit status: 0, 1 when a measurement failed,
 * 4 when a backend is missing.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "xbench.h"

static const enum vdrv_kind xb_kinds[XB_BACKENDS] = { VDRV_XTAP,
						      VDRV_UPSTREAM };

/* State of one (row, backend, round) cell. */
enum xb_state { XB_NONE, XB_OK, XB_NA, XB_FAIL };

struct xb_cell {
	enum xb_state state;
	struct xb_result r;
};

static struct xb_cell (*xb_res)[XB_BACKENDS][XB_MAX_ROUNDS];

/*
 * -o is a comma-separated list of patterns: a row is selected when its id
 * contains one of them, or equals one written "=ID" or "ID$"
 * ("tx64_drop$" leaves tx64_drop_wd_off out).
 */
static bool xb_row_selected(const struct xb_row *row, const struct xb_opts *o)
{
	const char *p = o->only, *comma;
	char part[64];
	size_t len;

	if (!p)
		return true;
	for (;;) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (len && len < sizeof(part)) {
			memcpy(part, p, len);
			part[len] = 0;
			if (part[0] == '=') {
				if (!strcmp(row->id, part + 1))
					return true;
			} else if (part[len - 1] == '$') {
				part[len - 1] = 0;
				if (!strcmp(row->id, part))
					return true;
			} else if (strstr(row->id, part)) {
				return true;
			}
		}
		if (!comma)
			return false;
		p = comma + 1;
	}
}

static bool xb_row_na(const struct xb_row *row, enum vdrv_kind kind)
{
	return kind == VDRV_XTAP && row->xtap_na;
}

static bool xb_kind_selected(enum vdrv_kind kind, const struct xb_opts *o)
{
	return !o->backend || !strcmp(o->backend, vdrv_kind_name(kind));
}

static void xb_print_raw(const struct xb_row *row, enum vdrv_kind kind,
			 unsigned int round, const struct xb_cell *c)
{
	const struct xb_result *r = &c->r;

	printf("xbench-raw row=%s backend=%s round=%u ", row->id,
	       vdrv_kind_name(kind), round);
	if (c->state == XB_NA) {
		printf("value=n/a\n");
	} else if (c->state == XB_FAIL) {
		printf("value=error\n");
	} else {
		printf("value=%.6g", r->value);
		if (row->unit == XB_USEC)
			printf(" p99=%.6g p999=%.6g", r->p99, r->p999);
		printf(" packets=%llu bytes=%llu cpu_ns=%llu host=%llu stalls=%llu lost=%llu",
		       (unsigned long long)r->packets,
		       (unsigned long long)r->bytes,
		       (unsigned long long)r->cpu_ns,
		       (unsigned long long)r->host_pkts,
		       (unsigned long long)r->stalls,
		       (unsigned long long)r->lost);
		if (r->spin_ns)
			printf(" spin_ns=%llu", (unsigned long long)r->spin_ns);
		if (row->cfg.flows)
			printf(" drops=%llu refused=%llu",
			       (unsigned long long)r->drops,
			       (unsigned long long)r->refused);
		putchar('\n');
	}
	fflush(stdout);
}

/* One measurement: fresh environment, run, tear down. */
static int xb_measure(const struct xb_row *row, enum vdrv_kind kind,
		      const struct xb_opts *o, struct xb_cell *c)
{
	struct xb_env e;
	int ret;

	memset(c, 0, sizeof(*c));
	if (xb_row_na(row, kind)) {
		c->state = XB_NA;
		return 0;
	}
	ret = xb_env_up(&e, kind, &row->cfg, o);
	if (!ret) {
		ret = row->run(&e, o, &c->r);
		if (ret)
			fprintf(stderr, "# %s %s: %s\n", row->id,
				vdrv_kind_name(kind), strerror(-ret));
		if (o->verbose && kind == VDRV_XTAP)
			xb_dump_counters(&e);
	}
	xb_env_down(&e);
	c->state = ret ? XB_FAIL : XB_OK;
	return ret;
}

/* ---------------------------------------------------------------------- */
/* Statistics and the table */

static int xb_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct xb_stat {
	unsigned int n;
	double med, min, max;
};

static struct xb_stat xb_stats(double *v, unsigned int n)
{
	struct xb_stat s = { .n = n };

	if (!n)
		return s;
	qsort(v, n, sizeof(*v), xb_cmp);
	s.min = v[0];
	s.max = v[n - 1];
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

enum xb_field { XB_VALUE, XB_P99, XB_P999, XB_CPU };

static double xb_field(const struct xb_row *row, const struct xb_result *r,
		       enum xb_field f)
{
	switch (f) {
	case XB_P99:
		return r->p99;
	case XB_P999:
		return r->p999;
	case XB_CPU:
		return r->packets ? r->cpu_ns / 1e3 / r->packets : 0;
	default:
		return r->value;
	}
}

static struct xb_stat xb_cell_stat(unsigned int ri, unsigned int b,
				   const struct xb_opts *o, enum xb_field f)
{
	double v[XB_MAX_ROUNDS];
	unsigned int k, n = 0;

	for (k = 0; k < o->rounds; k++) {
		const struct xb_cell *c = &xb_res[ri][b][k];

		if (c->state == XB_OK)
			v[n++] = xb_field(&xb_rows[ri], &c->r, f);
	}
	return xb_stats(v, n);
}

/* Median of the per-round ratios xtap/upstream (each pair measured back to
 * back, so a change of the host's load between rounds cancels out).
 */
static struct xb_stat xb_paired_stat(unsigned int ri, const struct xb_opts *o,
				     enum xb_field f)
{
	double v[XB_MAX_ROUNDS], a, b;
	unsigned int k, n = 0;

	for (k = 0; k < o->rounds; k++) {
		const struct xb_cell *x = &xb_res[ri][0][k];
		const struct xb_cell *u = &xb_res[ri][1][k];

		if (x->state != XB_OK || u->state != XB_OK)
			continue;
		a = xb_field(&xb_rows[ri], &x->r, f);
		b = xb_field(&xb_rows[ri], &u->r, f);
		if (b > 0)
			v[n++] = a / b;
	}
	return xb_stats(v, n);
}

static const char *xb_fmt(enum xb_unit u)
{
	return u == XB_GBPS ? "%.3f" : u == XB_USEC ? "%.0f" : "%.1f";
}

/* Rounds this far apart are marked: the host, not the backend, moved. */
#define XB_SPREAD	3.0

static bool xb_spread;

static void xb_print_stat(const struct xb_stat *s, enum xb_unit u)
{
	const char *f = xb_fmt(u);

	printf(f, s->med);
	printf(" [");
	printf(f, s->min);
	printf("–");
	printf(f, s->max);
	printf("]");
	if (s->min > 0 && s->max > XB_SPREAD * s->min) {
		printf(" †");
		xb_spread = true;
	}
}

static const char *xb_unit_name(enum xb_unit u)
{
	switch (u) {
	case XB_GBPS:
		return "Gbit/s ↑";
	case XB_USEC:
		return "µs ↓";
	case XB_CPU_USEC:
		return "CPU µs/frame ↓";
	default:
		return "kpps ↑";
	}
}

static void xb_table_line(unsigned int ri, const char *suffix,
			  enum xb_field f, const struct xb_opts *o)
{
	const struct xb_row *row = &xb_rows[ri];
	struct xb_stat s[XB_BACKENDS], cpu[XB_BACKENDS], p;
	unsigned int b;

	for (b = 0; b < XB_BACKENDS; b++) {
		s[b] = xb_cell_stat(ri, b, o, f);
		cpu[b] = xb_cell_stat(ri, b, o, XB_CPU);
	}
	printf("| %s%s | %s |", row->title, suffix, xb_unit_name(row->unit));
	for (b = 0; b < XB_BACKENDS; b++) {
		putchar(' ');
		if (xb_row_na(row, xb_kinds[b]))
			printf("%s", row->xtap_na);
		else if (!s[b].n)
			printf("failed");
		else
			xb_print_stat(&s[b], row->unit);
		printf(" |");
	}
	if (s[0].n && s[1].n && s[1].med > 0)
		printf(" %.2f |", s[0].med / s[1].med);
	else
		printf(" – |");
	p = xb_paired_stat(ri, o, f);
	if (p.n)
		printf(" %.2f [%.2f–%.2f] |", p.med, p.min, p.max);
	else
		printf(" – |");
	for (b = 0; b < XB_BACKENDS; b++) {
		if (f != XB_VALUE && f != XB_CPU)
			printf(" ″ |");
		else if (cpu[b].n)
			printf(" %.2f |", cpu[b].med);
		else
			printf(" – |");
	}
	if (f != XB_VALUE || !cpu[0].n || !cpu[1].n || cpu[1].med <= 0)
		printf(" – |\n");
	else
		printf(" %.2f |\n", cpu[0].med / cpu[1].med);
}

static int xb_row_index(const char *id)
{
	unsigned int i;

	for (i = 0; i < xb_nrows; i++)
		if (!strcmp(xb_rows[i].id, id))
			return i;
	return -1;
}

/* Did the busyloop timeout make the workers spend more per sparse frame? */
static void xb_busy_poll_note(const struct xb_opts *o)
{
	int off = xb_row_index("probe"), on = xb_row_index("probe_poll50");
	unsigned int b;

	if (off < 0 || on < 0 || !xb_row_selected(&xb_rows[off], o) ||
	    !xb_row_selected(&xb_rows[on], o))
		return;
	printf("\nBusy polling, from the probe rows (worker CPU per sparse frame, busy-poll off → 50 µs; more than 10 µs extra counts as spinning):");
	for (b = 0; b < XB_BACKENDS; b++) {
		struct xb_stat a = xb_cell_stat(off, b, o, XB_VALUE);
		struct xb_stat z = xb_cell_stat(on, b, o, XB_VALUE);

		if (!a.n || !z.n)
			continue;
		printf(" %s %.1f → %.1f µs (%s)%s", vdrv_kind_name(xb_kinds[b]),
		       a.med, z.med,
		       z.med > a.med + 10 ? "spins" : "no spinning seen",
		       b + 1 < XB_BACKENDS ? ";" : ".");
	}
	printf("\n");
}

/* Multi-flow rows: what each backend dropped and what the qdisc held back. */
static void xb_flows_note(const struct xb_opts *o)
{
	double d[XB_MAX_ROUNDS], f[XB_MAX_ROUNDS];
	unsigned int ri, b, k, n;
	bool first = true;

	for (ri = 0; ri < xb_nrows; ri++) {
		const struct xb_row *row = &xb_rows[ri];

		if (!row->cfg.flows || !xb_row_selected(row, o))
			continue;
		if (first)
			printf("\nMulti-flow rows, frames per measurement window (median [min–max] over rounds): dropped by the backend (the interface's tx_dropped: a full queue ring) / refused by the host's qdisc and offered again (the sender's ENOBUFS):\n\n");
		first = false;
		printf("- %s:", row->id);
		for (b = 0; b < XB_BACKENDS; b++) {
			struct xb_stat sd, sf;

			for (k = 0, n = 0; k < o->rounds; k++) {
				const struct xb_cell *c = &xb_res[ri][b][k];

				if (c->state != XB_OK)
					continue;
				d[n] = c->r.drops;
				f[n++] = c->r.refused;
			}
			if (!n)
				continue;
			sd = xb_stats(d, n);
			sf = xb_stats(f, n);
			printf(" %s dropped %.0f [%.0f–%.0f] / refused %.0f [%.0f–%.0f]%s",
			       vdrv_kind_name(xb_kinds[b]), sd.med, sd.min,
			       sd.max, sf.med, sf.min, sf.max,
			       b + 1 < XB_BACKENDS ? ";" : "");
		}
		printf("\n");
	}
}

static void xb_table(const struct xb_opts *o)
{
	struct utsname u;
	uint64_t stalls = 0, lost = 0;
	unsigned int ri, b, k;
	time_t now = time(NULL);
	char date[64];

	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
	printf("@@xbench-table-begin@@\n");
	printf("xtap vs upstream vhost-net + tun, one VM boot (%s, kernel %s, %ld vCPUs), %s.\n",
	       u.machine, u.release, sysconf(_SC_NPROCESSORS_ONLN), date);
	printf("%u rounds, A/B alternated; each measurement: fresh backend, %.2f s warm-up, %.2f s window. Guest driver on CPU %d, worker threads on CPU %d.\n\n",
	       o->rounds, o->warm, o->secs, o->guest_cpu, o->worker_cpu);
	if (o->poll_us)
		printf("Rows that busy-poll poll for %u µs (-p), not the 50 µs their titles say.\n\n",
		       o->poll_us);
	printf("| Measurement | Unit | xtap median [min–max] | upstream median [min–max] | xtap/upstream | per-round xtap/upstream, median [min–max] | worker CPU µs/pkt, xtap | worker CPU µs/pkt, upstream | CPU ratio |\n");
	printf("|---|---|---|---|---|---|---|---|---|\n");
	for (ri = 0; ri < xb_nrows; ri++) {
		if (!xb_row_selected(&xb_rows[ri], o))
			continue;
		if (xb_rows[ri].unit == XB_USEC) {
			xb_table_line(ri, ", p50", XB_VALUE, o);
			xb_table_line(ri, ", p99", XB_P99, o);
			xb_table_line(ri, ", p99.9", XB_P999, o);
		} else {
			xb_table_line(ri, "", XB_VALUE, o);
		}
		for (b = 0; b < XB_BACKENDS; b++)
			for (k = 0; k < o->rounds; k++) {
				stalls += xb_res[ri][b][k].r.stalls;
				lost += xb_res[ri][b][k].r.lost;
			}
	}
	printf("\nxtap/upstream is the ratio of the medians; the per-round ratio pairs the two measurements of each round (taken back to back).\n");
	printf("\nWorker CPU is utime+stime of the backend's worker threads (upstream: vhost-<pid>; xtap: xtap-rx-<ifindex>q0 and xtap-tx-<ifindex>q0) over the window, per frame (per request for request/response; ″: see the p50 line).\n");
	if (xb_spread)
		printf("\n†: the slowest and the fastest round differ more than %.0f×; the VM's vCPUs are host threads and the host's load changed.\n",
		       XB_SPREAD);
	xb_busy_poll_note(o);
	xb_flows_note(o);
	if (stalls || lost)
		printf("\nGuest waits that timed out (RX: 10 ms, then an RX kick; otherwise 100 ms): %llu; frames sent to the guest and never delivered: %llu (see the xbench-raw lines).\n",
		       (unsigned long long)stalls, (unsigned long long)lost);
	printf("@@xbench-table-end@@\n");
}

/* ---------------------------------------------------------------------- */

static void xb_usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-r ROUNDS] [-w WARM_S] [-s WINDOW_S] [-o ROW[,ROW...]] [-b BACKEND] [-g GUEST_CPU] [-c WORKER_CPU] [-p POLL_US] [-v] [--smoke] [--list]\n",
		argv0);
	exit(2);
}

static int xb_prereq(void)
{
	static const char *const nodes[] = {
		"/dev/net/tun", "/dev/vhost-net", "/dev/vhost-xtap",
	};
	unsigned int i;

	/* a failure shows in the checks below */
	if (system("modprobe -q -a tun vhost_net veth >/dev/null 2>&1") < 0)
		return -1;
	for (i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		if (access(nodes[i], F_OK)) {
			printf("# SKIP: %s missing\n", nodes[i]);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "smoke", no_argument, NULL, 'S' },
		{ "list", no_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct xb_opts o = { .rounds = 7, .warm = 0.4, .secs = 2.0 };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	bool list = false, failed = false;
	unsigned int ri, k, b;
	struct xb_cell warm;
	int c;

	o.guest_cpu = ncpu > 1 ? 1 : 0;
	o.worker_cpu = 0;
	while ((c = getopt_long(argc, argv, "r:w:s:o:b:g:c:p:v", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			o.rounds = atoi(optarg);
			break;
		case 'w':
			o.warm = atof(optarg);
			break;
		case 's':
			o.secs = atof(optarg);
			break;
		case 'o':
			o.only = optarg;
			break;
		case 'g':
			o.guest_cpu = atoi(optarg);
			break;
		case 'c':
			o.worker_cpu = atoi(optarg);
			break;
		case 'p':
			o.poll_us = atoi(optarg);
			break;
		case 'b':
			o.backend = optarg;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'S':
			o.smoke = true;
			o.rounds = 1;
			o.warm = 0.05;
			o.secs = 0.2;
			break;
		case 'L':
			list = true;
			break;
		default:
			xb_usage(argv[0]);
		}
	}
	if (optind != argc || !o.rounds || o.rounds > XB_MAX_ROUNDS ||
	    o.secs <= 0 || o.warm < 0)
		xb_usage(argv[0]);

	if (list) {
		for (ri = 0; ri < xb_nrows; ri++)
			for (b = 0; b < XB_BACKENDS; b++)
				if (xb_row_selected(&xb_rows[ri], &o) &&
				    !xb_row_na(&xb_rows[ri], xb_kinds[b]))
					printf("%s %s\n", xb_rows[ri].id,
					       vdrv_kind_name(xb_kinds[b]));
		return 0;
	}
	if (xb_prereq())
		return 4;
	xb_res = calloc(xb_nrows, sizeof(*xb_res));
	if (!xb_res)
		return 1;
	if (xb_pin_self(o.guest_cpu)) {
		fprintf(stderr, "# cannot pin the guest to CPU %d\n",
			o.guest_cpu);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# xbench: %u rows, %u rounds, %.2f s + %.2f s per measurement, guest CPU %d, workers CPU %d\n",
	       xb_nrows, o.rounds, o.warm, o.secs, o.guest_cpu, o.worker_cpu);
	if (o.poll_us)
		printf("# busy-poll window of the polling rows: %u us (-p)\n",
		       o.poll_us);

	/* one unrecorded pass per backend: first-use costs land here */
	if (!o.smoke && !o.only)
		for (b = 0; b < XB_BACKENDS; b++)
			xb_measure(&xb_rows[0], xb_kinds[b], &o, &warm);

	for (k = 0; k < o.rounds; k++) {
		for (ri = 0; ri < xb_nrows; ri++) {
			const struct xb_row *row = &xb_rows[ri];

			if (!xb_row_selected(row, &o))
				continue;
			for (c = 0; c < XB_BACKENDS; c++) {
				/* xtap first in even rounds */
				b = (k % 2) ? XB_BACKENDS - 1 - c : c;
				if (!xb_kind_selected(xb_kinds[b], &o))
					continue;
				if (xb_measure(row, xb_kinds[b], &o,
					       &xb_res[ri][b][k]))
					failed = true;
				xb_print_raw(row, xb_kinds[b], k,
					     &xb_res[ri][b][k]);
			}
		}
	}
	xb_table(&o);
	free(xb_res);
	return failed ? 1 : 0;
}
