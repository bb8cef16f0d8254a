// SPDX-License-Identifier: GPL-2.0
/*
 * What the module costs next to native eventfd(2) in the same kernel: per-operation cost, wake-up round
 * trip, and contention.  Rows alternate between mechanisms round by round so drift hits all alike.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench.h"

/* Full mode: the module's figure within 1.10x of native's. */
static void ratio_target(const char *what, const struct mech *m, double v, double native)
{
	char mx[32];

	mech_max(m, mx, sizeof(mx));
	if (cfg.substituted)
		target_skip("%s: eventfd_max (maximum=%s) within 1.10x of native (device substituted)", what,
			    mx);
	else
		target(v <= 1.10 * native, "%s: eventfd_max (maximum=%s) is %.3fx native, target <= 1.10x",
		       what, mx, v / native);
}

/* ---- 4. per-operation cost ---- */

struct perop {
	struct chan ch;
	unsigned long iters;
	uint64_t ns;
};

static void perop_loop(void *p)
{
	struct perop *o = p;
	uint64_t t0 = now_ns(), v;
	unsigned long i;

	for (i = 0; i < o->iters; i++) {
		int r = chan_write1(&o->ch);

		if (r || (r = chan_read(&o->ch, &v)))
			fatal("per-op: %s", strerror(-r));
		if (v != 1)
			fatal("per-op read %" PRIu64 " after writing 1", v);
	}
	o->ns = now_ns() - t0;
}

static double perop_trial(const struct mech *m, unsigned long iters)
{
	struct perop o = { .iters = iters };
	struct worker w;

	chan_open(&o.ch, m, 0);
	worker_start(&w, perop_loop, &o, cfg.cpu[0]);
	worker_wait(&w, 600);	/* no kicks while it measures */
	worker_stop(&w);
	chan_close(&o.ch);
	return (double)o.ns / (double)iters;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void run_perop(void)
{
	struct mech rows[NROWS];
	double *ns = calloc((size_t)NROWS * cfg.trials, sizeof(double)), med[NROWS];
	char mx[32], r1[16];
	unsigned int t;
	size_t i;

	if (!ns)
		fatal("out of memory");
	standard_rows(rows, cfg.bounded_max);
	say("\n== 4. per-operation cost: one thread, write(1)+read pairs, %lu per trial, median of %u "
	    "interleaved trials ==\n", cfg.perop_iters, cfg.trials);
	for (i = 0; i < NROWS; i++)	/* warm caches and the page allocator */
		perop_trial(&rows[i], cfg.perop_iters / 10 + 1);
	for (t = 0; t < cfg.trials; t++)
		for (i = 0; i < NROWS; i++)
			ns[i * cfg.trials + t] = perop_trial(&rows[i], cfg.perop_iters);
	say("%-13s %-10s %10s %10s %9s  %s\n", "mechanism", "maximum", "ns/pair", "ns/call", "x_native",
	    "trials ns/pair");
	json_obj("per_op");
	json_u64("iterations", cfg.perop_iters);
	json_u64("trials", cfg.trials);
	json_arr("rows");
	for (i = 0; i < NROWS; i++) {
		double *tr = &ns[i * cfg.trials];
		char list[256] = "";
		size_t len = 0;

		for (t = 0; t < cfg.trials && len < sizeof(list) - 16; t++)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%.0f", t ? " " : "", tr[t]);
		json_obj(NULL);
		json_mech(&rows[i]);
		json_arr("trials_ns_per_pair");
		for (t = 0; t < cfg.trials; t++)
			json_num(NULL, tr[t]);
		json_end();
		qsort(tr, cfg.trials, sizeof(double), cmp_double);
		med[i] = tr[cfg.trials / 2];
		json_num("ns_per_pair", med[i]);
		json_num("x_native", med[i] / med[0]);
		json_end();
		say("%-13s %-10s %10.1f %10.1f %9s  %s\n", mech_name(&rows[i]), mech_max(&rows[i], mx, sizeof(mx)),
		    med[i], med[i] / 2, ratio(med[i], med[0], r1, sizeof(r1)), list);
		tap(isfinite(med[i]) && med[i] > 0, NULL, "per-op %s max=%s: %lu write+read pairs x %u trials, "
		    "every read returned 1", mech_name(&rows[i]), mx, cfg.perop_iters, cfg.trials);
	}
	json_end();
	if (!cfg.smoke) {
		json_arr("targets");
		ratio_target("per-op", &rows[1], med[1], med[0]);
		ratio_target("per-op", &rows[2], med[2], med[0]);
		json_end();
	}
	json_end();
	free(ns);
}

/* ---- 5. wake-up round trip ---- */

struct pingpong {
	struct chan there, back;	/* ping writes there, pong answers back */
	bool epoll;
	unsigned int n, done;
	uint64_t *rtt;
};

/* Wait for one event on c (directly, or by epoll_wait first): 0 or -errno. */
static int await(struct chan *c, int ep)
{
	struct epoll_event ev;
	uint64_t v;

	if (ep >= 0) {
		int n = epoll_wait(ep, &ev, 1, -1);

		if (n < 0)
			return -errno;
	}
	return chan_read(c, &v);
}

static int epoll_for(struct chan *c, bool on)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep;

	if (!on)
		return -1;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c->rfd, &ev) < 0)
		fatal("epoll: %s", strerror(errno));
	return ep;
}

static void ping(void *p)
{
	struct pingpong *pp = p;
	int ep = epoll_for(&pp->back, pp->epoll), r = 0;
	unsigned int i, warm = pp->n / 10 + 1;

	for (i = 0; i < pp->n + warm && !stopping(); i++) {
		uint64_t t0 = now_ns();

		if ((r = chan_write1(&pp->there)) || (r = await(&pp->back, ep)))
			break;
		if (i >= warm)
			pp->rtt[pp->done++] = now_ns() - t0;
	}
	if (r && r != -EINTR)
		fatal("ping: %s", strerror(-r));
	if (ep >= 0)
		close(ep);
}

static void pong(void *p)
{
	struct pingpong *pp = p;
	int ep = epoll_for(&pp->there, pp->epoll);

	while (!stopping()) {
		int r = await(&pp->there, ep);

		if (!r)
			r = chan_write1(&pp->back);
		if (r && r != -EINTR)
			fatal("pong: %s", strerror(-r));
	}
	if (ep >= 0)
		close(ep);
}

/* Appends n round trips to rtt; returns how many completed. */
static unsigned int pingpong_run(const struct mech *m, bool epoll, unsigned int n, uint64_t *rtt)
{
	struct pingpong pp = { .epoll = epoll, .n = n, .rtt = rtt };
	struct worker a, b;

	chan_open(&pp.there, m, 0);
	chan_open(&pp.back, m, 0);
	atomic_store(&bench_stop, 0);
	worker_start(&b, pong, &pp, cfg.cpu[1]);
	worker_start(&a, ping, &pp, cfg.cpu[0]);
	worker_wait(&a, 60 + n * 1e-3);	/* 1 ms a round trip is already very slow */
	atomic_store(&bench_stop, 1);
	worker_stop(&a);
	worker_stop(&b);
	chan_close(&pp.there);
	chan_close(&pp.back);
	return pp.done;
}

void run_wakeup(void)
{
	struct mech rows[NROWS];
	unsigned int per = (cfg.wakeup_iters + cfg.trials - 1) / cfg.trials, t;
	size_t cap = (size_t)per * cfg.trials, i;
	uint64_t *rtt = calloc((size_t)NROWS * cap, sizeof(uint64_t));
	char mx[32], r1[16], r2[16];
	double med[2][NROWS], p99[NROWS];
	int mode;

	if (!rtt)
		fatal("out of memory");
	standard_rows(rows, cfg.bounded_max);
	say("\n== 5. wake-up round trip: two threads ping-pong through two counters%s, %zu round trips "
	    "in %u rounds ==\n", cfg.cpu[0] >= 0 ? " on different CPUs" : "", cap, cfg.trials);
	say("%-8s %-13s %-10s %10s %10s  %9s %9s\n", "mode", "mechanism", "maximum", "median_us", "p99_us",
	    "med_xnat", "p99_xnat");
	json_obj("wakeup");
	json_u64("round_trips", cap);
	json_arr("rows");
	for (mode = 0; mode < 2; mode++) {
		const char *name = mode ? "epoll" : "blocking";
		unsigned int got[NROWS] = { 0 };
		double *md = med[mode];

		for (t = 0; t < cfg.trials; t++)
			for (i = 0; i < NROWS; i++)
				got[i] += pingpong_run(&rows[i], mode, per, rtt + i * cap + got[i]);
		for (i = 0; i < NROWS; i++) {
			uint64_t *s = rtt + i * cap;

			sort_u64(s, got[i]);
			md[i] = (double)pctl(s, got[i], 50);
			p99[i] = (double)pctl(s, got[i], 99);
			say("%-8s %-13s %-10s %10.2f %10.2f  %9s %9s\n", name, mech_name(&rows[i]),
			    mech_max(&rows[i], mx, sizeof(mx)), md[i] / 1e3, p99[i] / 1e3,
			    ratio(md[i], md[0], r1, sizeof(r1)), ratio(p99[i], p99[0], r2, sizeof(r2)));
			json_obj(NULL);
			json_str("mode", name);
			json_mech(&rows[i]);
			json_u64("round_trips", got[i]);
			json_num("median_us", md[i] / 1e3);
			json_num("p99_us", p99[i] / 1e3);
			json_num("median_x_native", md[i] / md[0]);
			json_num("p99_x_native", p99[i] / p99[0]);
			json_end();
			tap(got[i] == cap, NULL, "wake-up %s %s max=%s: %u of %zu round trips", name,
			    mech_name(&rows[i]), mx, got[i], cap);
		}
	}
	json_end();
	if (!cfg.smoke) {
		json_arr("targets");
		for (mode = 0; mode < 2; mode++) {
			char what[32];

			snprintf(what, sizeof(what), "wake-up %s median", mode ? "epoll" : "blocking");
			ratio_target(what, &rows[1], med[mode][1], med[mode][0]);
			ratio_target(what, &rows[2], med[mode][2], med[mode][0]);
		}
		json_end();
	}
	json_end();
	free(rtt);
}

/* ---- 6. contention ---- */

struct contention;
struct cwriter {
	struct contention *c;
	uint64_t ops;
} __attribute__((aligned(64)));	/* one cache line each: count without false sharing */

struct contention {
	struct chan ch;
	struct cwriter w[16];
	uint64_t reads, sum, max_batch;
};

static void contention_writer(void *p)
{
	struct cwriter *w = p;

	while (!stopping()) {
		int r = chan_write1(&w->c->ch);

		if (!r)
			w->ops++;
		else if (r != -EINTR)
			fatal("contention write: %s", strerror(-r));
	}
}

static void contention_reader(void *p)
{
	struct contention *c = p;
	uint64_t v;

	while (!stopping()) {
		int r = chan_read(&c->ch, &v);

		if (r == -EINTR)
			continue;
		if (r)
			fatal("contention read: %s", strerror(-r));
		c->reads++;
		c->sum += v;
		if (v > c->max_batch)
			c->max_batch = v;
	}
}

void run_contention(void)
{
	struct mech rows[NROWS];
	unsigned int nw = cfg.contention_writers, k;
	double ops0 = 0;
	char mx[32], r1[16];
	size_t i;

	standard_rows(rows, cfg.contention_max);
	say("\n== 6. contention: %u blocking writers and 1 draining reader on one counter, %.1f s, "
	    "not pinned ==\n", nw, cfg.contention_s);
	say("%-13s %-10s %11s %10s %10s %10s %6s %9s  %s\n", "mechanism", "maximum", "writes/s", "reads/s",
	    "min_writer", "max_writer", "jain", "x_native", "note");
	json_obj("contention");
	json_u64("writers", nw);
	json_num("seconds", cfg.contention_s);
	json_arr("rows");
	for (i = 0; i < NROWS; i++) {
		struct contention *c = calloc(1, sizeof(*c));
		struct worker ws[16], r;
		uint64_t t0, total = 0, lo = U64_MAX, hi = 0, left;
		double sq = 0, secs, ops, jain;
		const char *note = "";

		if (!c)
			fatal("out of memory");
		chan_open(&c->ch, &rows[i], 0);
		atomic_store(&bench_stop, 0);
		t0 = now_ns();
		worker_start(&r, contention_reader, c, -1);
		for (k = 0; k < nw; k++) {
			c->w[k].c = c;
			worker_start(&ws[k], contention_writer, &c->w[k], -1);
		}
		sleep_ns((uint64_t)(cfg.contention_s * NSEC_PER_SEC));
		atomic_store(&bench_stop, 1);
		secs = (double)(now_ns() - t0) / NSEC_PER_SEC;
		for (k = 0; k < nw; k++)
			worker_stop(&ws[k]);
		worker_stop(&r);
		left = chan_drain(&c->ch);
		chan_close(&c->ch);

		for (k = 0; k < nw; k++) {
			uint64_t o = c->w[k].ops;

			total += o;
			lo = o < lo ? o : lo;
			hi = o > hi ? o : hi;
			sq += (double)o * (double)o;
		}
		/* Jain's fairness index: 1 when all writers progress alike, 1/n when one does all. */
		jain = sq > 0 ? (double)total * (double)total / (nw * sq) : 0;
		ops = (double)total / secs;
		if (!i)
			ops0 = ops;
		if (rows[i].kind == MECH_NATIVE)
			note = "no maximum: writers never block";
		else if (rows[i].kind == MECH_PIPE)
			note = "pipe capacity 512 events";
		else if (cfg.substituted)
			note = "substituted: native eventfd(2)";
		say("%-13s %-10s %11.0f %10.0f %10" PRIu64 " %10" PRIu64 " %6.3f %9s  %s\n", mech_name(&rows[i]),
		    mech_max(&rows[i], mx, sizeof(mx)), ops, (double)c->reads / secs, lo, hi, jain,
		    ratio(ops, ops0, r1, sizeof(r1)), note);
		json_obj(NULL);
		json_mech(&rows[i]);
		json_num("writes_per_s", ops);
		json_num("reads_per_s", (double)c->reads / secs);
		json_arr("writer_ops");
		for (k = 0; k < nw; k++)
			json_u64(NULL, c->w[k].ops);
		json_end();
		json_num("jain", jain);
		json_u64("max_batch", c->max_batch);
		json_num("x_native", ops / ops0);
		json_str("note", note);
		json_end();
		tap(total == c->sum + left, NULL, "contention %s max=%s: completed, written %" PRIu64 " == read %"
		    PRIu64 " + left %" PRIu64, mech_name(&rows[i]), mx, total, c->sum, left);
		if (mech_bounded(&rows[i]))
			tap(c->max_batch <= mech_capacity(&rows[i]), mech_skip(&rows[i]), "contention %s max=%s: "
			    "largest read %" PRIu64 " <= %" PRIu64, mech_name(&rows[i]), mx, c->max_batch,
			    mech_capacity(&rows[i]));
		free(c);
	}
	json_end();
	json_end();
}
