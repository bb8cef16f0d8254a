// SPDX-License-Identifier: GPL-2.0
/*
 * What the module costs next to native eventfd(2) in the same kernel, and what the alternatives cost:
 * per-operation cost (write+read, poll(), epoll_wait(), create+close), wake-up round trip, and contention.
 * Rows alternate between mechanisms trial by trial so drift hits all alike.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench.h"

/* Full mode: the module's median within 1.10x of native's; c is a ratio column. */
static void ratio_goal(const char *what, const struct results *r, const struct mech rows[NROWS], size_t row,
		       const struct column *c)
{
	double v[MAX_TRIALS];
	struct spread s = figure(r, row, c, v);
	char mx[32], b1[64];

	mech_max(&rows[row], mx, sizeof(mx));
	if (cfg.substituted)
		target_skip("%s: eventfd_max (maximum=%s) within 1.10x of native (device substituted)", what,
			    mx);
	else
		target(GOAL, s.med <= 1.10, "%s: eventfd_max (maximum=%s) is %s native, goal <= 1.10x", what, mx,
		     fmt_spread(s, 3, "x", b1, sizeof(b1)));
}

/* A row a scenario cannot run, with why. */
static void row_na(const struct mech *m, const char *why)
{
	char mx[32];

	say("%-13s %-10s n/a: %s\n", mech_name(m), mech_max(m, mx, sizeof(mx)), why);
	json_mech(m);
	json_str("not_applicable", why);
}

/* ---- 4. per-operation cost ---- */

enum op { OP_PAIR, OP_POLL, OP_EPOLL, OP_CREATE, OP_CREATE2, NOPS };

static const struct {
	const char *key, *title, *unit, *check;
	unsigned int divisor;	/* of --iters: creating a counter costs far more than using one */
} ops[NOPS] = {
	{ "write_read", "one thread, write(1) then read() on one counter", "pair", "every read returned 1", 1 },
	{ "poll", "poll() of one ready fd, timeout 0 (the tick: its timerfd, expired)", "call",
	  "every poll() reported POLLIN", 1 },
	{ "epoll_wait", "epoll_wait() of one ready fd in a level-triggered set, timeout 0", "call",
	  "every epoll_wait() returned the fd", 1 },
	{ "create_close", "create + close: eventfd(0, EFD_CLOEXEC); eventfd_max(0, EFD_CLOEXEC, maximum), "
	  "i.e. open() + EFD_IOC_CONFIGURE; pipe2() + F_SETPIPE_SZ; mmap() of a shared page; eventfd + "
	  "timerfd", "pair", "every counter opened", 4 },
	{ "create_close_2threads", "create + close as above, on two threads at once (one per CPU): "
	  "the cost of each, with whatever they wait for on each other", "pair", "every counter opened", 4 },
};

/* Operations per trial of @op. */
static unsigned long op_iters(enum op op)
{
	return cfg.perop_iters / ops[op].divisor + 1;
}

struct perop {
	struct mech m;
	enum op op;
	unsigned long iters, good;	/* operations, and those that did what they should */
	uint64_t ns;
};

static void create_close_loop(struct perop *o, unsigned long n)
{
	struct chan c;

	while (n--) {
		chan_open(&c, &o->m, 0);	/* exits on failure */
		chan_close(&c);
		o->good++;
	}
}

/* The second thread of OP_CREATE2: half of the creations. */
static void create_close_half(void *p)
{
	struct perop *o = p;

	create_close_loop(o, o->iters / 2);
}

/* Create+close timed; OP_CREATE2 shares the creations with a thread on the second CPU. */
static void create_close_timed(struct perop *o)
{
	bool two = o->op == OP_CREATE2;
	struct perop other = *o;
	struct worker w;
	uint64_t t0 = now_ns();

	if (two)
		worker_start(&w, create_close_half, &other, cfg.cpu[1]);
	create_close_loop(o, two ? o->iters - o->iters / 2 : o->iters);
	if (two) {
		if (!worker_wait(&w, 600))
			fatal("per-op: the second creating thread did not finish");
		worker_stop(&w);
		o->good += other.good;
	}
	o->ns = now_ns() - t0;
}

/* Leaves one event pending, and the tick's timer expired, so that polling reports POLLIN. */
static void make_ready(struct chan *c)
{
	struct pollfd p = { .fd = c->pfd, .events = POLLIN };

	if (chan_write1(c) || poll(&p, 1, -1) != 1)
		fatal("per-op: cannot make the fd ready: %s", strerror(errno));
}

static void perop_loop(struct perop *o)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct chan c;
	uint64_t t0, v;
	unsigned long i;
	int ep = -1;

	chan_open(&c, &o->m, 0);
	if (o->op == OP_POLL || o->op == OP_EPOLL)
		make_ready(&c);
	if (o->op == OP_EPOLL) {
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c.pfd, &ev) < 0)
			fatal("epoll: %s", strerror(errno));
	}
	t0 = now_ns();
	for (i = 0; i < o->iters; i++) {
		struct pollfd pfd;
		int r;

		switch (o->op) {
		case OP_PAIR:
			if ((r = chan_write1(&c)) || (r = chan_read(&c, &v)))
				fatal("per-op: %s", strerror(-r));
			o->good += v == 1;
			break;
		case OP_POLL:
			pfd = (struct pollfd){ .fd = c.pfd, .events = POLLIN };
			o->good += poll(&pfd, 1, 0) == 1 && pfd.revents == POLLIN;
			break;
		case OP_EPOLL:
			o->good += epoll_wait(ep, &ev, 1, 0) == 1 && ev.events == EPOLLIN;
			break;
		default:	/* create+close: create_close_timed() */
			break;
		}
	}
	o->ns = now_ns() - t0;
	if (ep >= 0)
		close(ep);
	chan_close(&c);
}

/* Leaves o->iters 0 (a row shown as n/a) where the mechanism has no fd to poll. */
static void perop_trial(struct perop *o, const struct mech *m, enum op op, unsigned long iters)
{
	memset(o, 0, sizeof(*o));
	if ((op == OP_POLL || op == OP_EPOLL) && !mech_pollable(m))
		return;
	o->m = *m;
	o->op = op;
	o->iters = iters;
	if (op == OP_CREATE || op == OP_CREATE2)
		create_close_timed(o);
	else
		perop_loop(o);
}

/* Every operation's warm-up and trials, on one pinned thread: a thread per trial would cost more
 * than a smoke run's trials. */
static void perop_all(void *p)
{
	struct perop *res = p, warm;
	struct mech rows[NROWS];
	unsigned int t;
	size_t i;
	int op;

	standard_rows(rows, cfg.bounded_max);
	for (op = 0; op < NOPS; op++) {
		unsigned long iters = op_iters(op);

		for (i = 0; i < NROWS; i++)	/* warm caches, the slab and the page allocator */
			perop_trial(&warm, &rows[i], op, iters / 10 + 1);
		for (t = 0; t < cfg.trials; t++)
			for (i = 0; i < NROWS; i++)
				perop_trial(&res[((size_t)op * cfg.trials + t) * NROWS + i], &rows[i], op, iters);
	}
}

static void perop_table(enum op op, const struct mech rows[NROWS], const struct perop *res)
{
	unsigned long iters = op_iters(op);
	struct results r = { res, sizeof(*res), NROWS };
	char name[32];
	const struct column cols[] = {
		{ .name = name, .key = "cost",
		  .offset = offsetof(struct perop, ns), .scale = 1.0 / (double)iters, .decimals = 1 },
		{ .name = "x_native",
		  .offset = offsetof(struct perop, ns), .scale = 1, .decimals = 3, .xnat = true },
	};
	unsigned int t;
	size_t i;

	snprintf(name, sizeof(name), "%s/%s", cost_unit(), ops[op].unit);
	say("\n-- %s: %lu per trial\n", ops[op].title, iters);
	table_head(&r, cols, NCOLS(cols));
	json_obj(NULL);
	json_str("operation", ops[op].key);
	json_u64("iterations", iters);
	json_str("unit", name);
	json_arr("rows");
	for (i = 0; i < NROWS; i++) {
		unsigned long good = 0, total = 0;
		char mx[32];

		json_obj(NULL);
		if (!res[i].iters) {
			row_na(&rows[i], "not a file descriptor: nothing to poll");
		} else {
			table_row(&r, i, &rows[i], cols, NCOLS(cols));
			for (t = 0; t < cfg.trials; t++) {
				good += res[t * NROWS + i].good;
				total += res[t * NROWS + i].iters;
			}
			tap(good == total, NULL, "per-op %s %s max=%s: %lu operations, %s (%lu did)", ops[op].key,
			    mech_name(&rows[i]), mech_max(&rows[i], mx, sizeof(mx)), total, ops[op].check, good);
		}
		json_end();
	}
	json_end();
	if (!cfg.smoke && op == OP_PAIR) {
		json_arr("goals");
		ratio_goal("per-op write+read", &r, rows, ROW_UNBOUNDED, &cols[1]);
		ratio_goal("per-op write+read", &r, rows, ROW_BOUNDED, &cols[1]);
		json_end();
	}
	json_end();
}

void run_perop(void)
{
	struct mech rows[NROWS];
	struct perop *res = calloc((size_t)NOPS * cfg.trials * NROWS, sizeof(*res));
	int op;

	if (!res)
		fatal("out of memory");
	standard_rows(rows, cfg.bounded_max);
	say("\n== 4. per-operation cost: %s per operation, median of %u interleaved trials ==\n",
	    cfg.icount ? "guest instructions (path length on the idealised machine)" : "time", cfg.trials);
	run_pinned(perop_all, res);
	json_obj("per_op");
	json_u64("trials", cfg.trials);
	json_arr("operations");
	for (op = 0; op < NOPS; op++)
		perop_table(op, rows, &res[(size_t)op * cfg.trials * NROWS]);
	json_end();
	json_end();
	free(res);
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
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c->pfd, &ev) < 0)
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

struct wakeup {
	unsigned int done;
	uint64_t median, p99;
};

/* n round trips of m; their median and p99 into w. */
static void pingpong_run(const struct mech *m, bool epoll, unsigned int n, struct wakeup *w)
{
	struct pingpong pp = { .epoll = epoll, .n = n, .rtt = calloc(n, sizeof(uint64_t)) };
	struct worker a, b;

	if (!pp.rtt)
		fatal("out of memory");
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
	sort_u64(pp.rtt, pp.done);
	w->done = pp.done;
	w->median = pctl(pp.rtt, pp.done, 50);
	w->p99 = pctl(pp.rtt, pp.done, 99);
	free(pp.rtt);
}

void run_wakeup(void)
{
	struct mech rows[NROWS];
	unsigned int per = (cfg.wakeup_iters + cfg.trials - 1) / cfg.trials, t;
	struct wakeup *res = table_alloc(sizeof(*res));
	struct results r = { res, sizeof(*res), NROWS };
	/* Instructions, or microseconds. */
	const double scale = cfg.icount ? 1 : 1e-3;
	const int decimals = cfg.icount ? 0 : 2;
	const struct column cols[] = {
		{ .name = cfg.icount ? "median_instr" : "median_us", .key = "median", .scale = scale,
		  .offset = offsetof(struct wakeup, median), .decimals = decimals },
		{ .name = cfg.icount ? "p99_instr" : "p99_us", .key = "p99", .scale = scale,
		  .offset = offsetof(struct wakeup, p99), .decimals = decimals },
		{ .name = "median_xnat",
		  .offset = offsetof(struct wakeup, median), .scale = 1, .decimals = 3, .xnat = true },
		{ .name = "p99_xnat",
		  .offset = offsetof(struct wakeup, p99), .scale = 1, .decimals = 3, .xnat = true },
	};
	char mx[32];
	size_t i;
	int mode;

	standard_rows(rows, cfg.bounded_max);
	say("\n== 5. wake-up round trip: two threads ping-pong through two counters%s, %u round trips a "
	    "trial ==\n", cfg.cpu[0] >= 0 ? " on different CPUs" : "", per);
	if (cfg.icount)
		say("instructions both vCPUs executed per round trip (they run in turns under one clock)\n");
	json_obj("wakeup");
	json_u64("round_trips_per_trial", per);
	json_str("unit", cfg.icount ? "instructions" : "us");
	json_arr("modes");
	for (mode = 0; mode < 2; mode++) {
		const char *name = mode ? "epoll" : "blocking";

		for (t = 0; t < cfg.trials; t++)
			for (i = 0; i < NROWS; i++)
				if (!mode || mech_pollable(&rows[i]))
					pingpong_run(&rows[i], mode, per, &res[t * NROWS + i]);
		say("\n-- %s: the waiting thread %s\n", name,
		    mode ? "sleeps in epoll_wait() (the tick: on its timerfd), then reads" : "sleeps in read() "
		    "(the futex counter: FUTEX_WAIT; the tick: on its timerfd)");
		table_head(&r, cols, NCOLS(cols));
		json_obj(NULL);
		json_str("mode", name);
		json_arr("rows");
		for (i = 0; i < NROWS; i++) {
			unsigned int done = 0;

			json_obj(NULL);
			if (mode && !mech_pollable(&rows[i])) {
				row_na(&rows[i], "not a file descriptor: cannot sit in an epoll set");
				json_end();
				continue;
			}
			table_row(&r, i, &rows[i], cols, NCOLS(cols));
			json_end();
			for (t = 0; t < cfg.trials; t++)
				done += res[t * NROWS + i].done;
			tap(done == per * cfg.trials, NULL, "wake-up %s %s max=%s: %u of %u round trips", name,
			    mech_name(&rows[i]), mech_max(&rows[i], mx, sizeof(mx)), done, per * cfg.trials);
		}
		json_end();
		if (!cfg.smoke) {
			char what[32];

			snprintf(what, sizeof(what), "wake-up %s median", name);
			json_arr("goals");
			ratio_goal(what, &r, rows, ROW_UNBOUNDED, &cols[2]);
			ratio_goal(what, &r, rows, ROW_BOUNDED, &cols[2]);
			json_end();
		}
		json_end();
		memset(res, 0, (size_t)cfg.trials * NROWS * sizeof(*res));
	}
	json_end();
	json_end();
	free(res);
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
	    "not pinned, one trial ==\n", nw, cfg.contention_s);
	say("%-13s %-10s %11s %10s %10s %10s %6s %9s  %s\n", "mechanism", "maximum", "writes/s", "reads/s",
	    "min_writer", "max_writer", "jain", "x_native", "note");
	json_obj("contention");
	json_u64("writers", nw);
	json_num("seconds", cfg.contention_s);
	json_arr("rows");
	for (i = 0; i < NPEERS; i++) {
		struct contention *c = calloc(1, sizeof(*c));
		struct worker ws[16], r;
		uint64_t t0, total = 0, lo = UINT64_MAX, hi = 0, left;
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
