// SPDX-License-Identifier: GPL-2.0
/*
 * The RFC's three benchmarks (burst/CPU, latency tail, coalescing), each for the standard rows (bench.h):
 * native eventfd(2), /dev/eventfd_max with maximum ULLONG_MAX and with the bounded maximum, a one-page
 * pipe, the futex counter and eventfd(2) on a timerfd tick, in interleaved trials.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#include "bench.h"

static void check_conserved(const char *what, const struct mech *m, uint64_t written, uint64_t read,
			    uint64_t left)
{
	char mx[32];

	tap(written == read + left, NULL, "%s %s max=%s: completed, written %" PRIu64 " == read %" PRIu64
	    " + left %" PRIu64, what, mech_name(m), mech_max(m, mx, sizeof(mx)), written, read, left);
}

/* Bounded rows must never show more than their capacity queued. */
static void check_bound(const char *what, const struct mech *m, const char *quantity, uint64_t seen)
{
	char mx[32];
	uint64_t cap = mech_capacity(m);

	if (!mech_bounded(m))
		return;
	tap(seen <= cap, mech_skip(m), "%s %s max=%s: %s %" PRIu64 " <= %" PRIu64, what, mech_name(m),
	    mech_max(m, mx, sizeof(mx)), quantity, seen, cap);
}

/* ---- 1. burst/CPU ---- */

struct burst {
	struct mech m;
	struct chan ch;
	bool nonblock;
	uint64_t writes, eagain, wcpu, wsleeps;			/* writer's */
	uint64_t reads, empty, sum, max_read, full, rcpu, left;	/* reader's */
};

static void burst_writer(void *p)
{
	struct burst *b = p;
	/* After the trampoline pinned us: moving to our CPU was a voluntary switch of its own. */
	uint64_t cpu0 = thread_cpu_ns(), sw0 = thread_vcsw();

	while (!stopping()) {
		int r = chan_write1(&b->ch);

		if (!r) {
			b->writes++;
		} else if (r == -EAGAIN) {
			b->eagain++;
			chan_wait_room(&b->ch);	/* a kick ends it with EINTR */
		} else if (r != -EINTR) {
			fatal("burst write: %s", strerror(-r));
		}
	}
	b->wcpu = thread_cpu_ns() - cpu0;
	b->wsleeps = thread_vcsw() - sw0;	/* voluntary switches: times the writer slept */
}

static void burst_reader(void *p)
{
	struct burst *b = p;
	uint64_t cpu0 = thread_cpu_ns(), cap = mech_capacity(&b->m), v;

	while (!stopping()) {
		int r;

		sleep_ns(cfg.burst_read_us * 1000ull);
		r = chan_read(&b->ch, &v);
		if (!r) {
			b->reads++;
			b->sum += v;
			if (v == cap)
				b->full++;
			if (v > b->max_read)
				b->max_read = v;
		} else if (r == -EAGAIN) {
			b->empty++;
		} else if (r != -EINTR) {
			fatal("burst read: %s", strerror(-r));
		}
	}
	b->rcpu = thread_cpu_ns() - cpu0;
}

/* The burst pairing: fn0 on the writer's CPU, fn1 on the reader's, for cfg.burst_s; fn0 stops first. */
static void burst_pair(void (*fn0)(void *), void (*fn1)(void *), void *arg)
{
	struct worker w, r;

	atomic_store(&bench_stop, 0);
	worker_start(&r, fn1, arg, cfg.cpu[1]);
	worker_start(&w, fn0, arg, cfg.cpu[0]);
	sleep_ns((uint64_t)(cfg.burst_s * NSEC_PER_SEC));
	atomic_store(&bench_stop, 1);
	worker_stop(&w);
	worker_stop(&r);
}

static void burst_run(struct burst *b)
{
	chan_open(&b->ch, &b->m, b->nonblock ? EFD_NONBLOCK : 0);
	burst_pair(burst_writer, burst_reader, b);
	b->left = chan_drain(&b->ch);
	chan_close(&b->ch);
}

static void burst_checks(const char *what, const struct burst *b)
{
	char mx[32];

	mech_max(&b->m, mx, sizeof(mx));
	check_conserved(what, &b->m, b->writes, b->sum, b->left);
	check_bound(what, &b->m, "largest read", b->max_read);
	/*
	 * Only the small maximums are sure to fill within a smoke run; a slow (debug, emulated) kernel may
	 * never fill the pipe's 512 slots, and need not block then.  A bounded blocking writer that fills
	 * the counter sleeps at its next write, and is woken by the read that empties it: about one sleep
	 * per read of a full counter, never more than one per read (and one more at the start).  Judged
	 * against the full reads, not all reads: an emulated writer's vCPU that the busy host holds off
	 * for a read's interval leaves that read partial, and its writer with no reason to sleep.
	 */
	if (!mech_bounded(&b->m) || b->m.kind == MECH_PIPE)
		return;
	if (b->nonblock)
		tap(b->eagain > 0, mech_skip(&b->m), "%s %s max=%s: writer saw EAGAIN (%" PRIu64 " times)", what,
		    mech_name(&b->m), mx, b->eagain);
	else
		tap(b->full > 0 && b->wsleeps * 2 >= b->full && b->wsleeps <= b->reads + 2, mech_skip(&b->m),
		    "%s %s max=%s: writer slept about once per read of a full counter (%" PRIu64 " sleeps, %"
		    PRIu64 " full of %" PRIu64 " reads)", what, mech_name(&b->m), mx, b->wsleeps, b->full,
		    b->reads);
}

/*
 * The floor under the bounded writer's CPU: one sleep+wake cycle of a thread blocked in read() on native
 * eventfd(2), woken from the other CPU in the burst reader's rhythm.  The bounded writer pays one such
 * cycle per read; where a cycle costs far more than its 9 writes (an emulated CPU), the cycles, not the
 * module, decide its CPU share.  Measured right before the bounded row: the cost drifts with host load.
 */
struct wake_floor {
	struct chan ch;
	uint64_t wakes, vcsw, cpu;	/* the sleeping thread's */
};

static void floor_sleeper(void *p)
{
	struct wake_floor *f = p;
	uint64_t cpu0 = thread_cpu_ns(), sw0 = thread_vcsw(), v;

	while (!stopping()) {
		int r = chan_read(&f->ch, &v);

		if (!r)
			f->wakes++;
		else if (r != -EINTR)
			fatal("wake floor read: %s", strerror(-r));
	}
	f->cpu = thread_cpu_ns() - cpu0;
	f->vcsw = thread_vcsw() - sw0;
}

static void floor_waker(void *p)
{
	struct wake_floor *f = p;

	while (!stopping()) {
		int r;

		sleep_ns(cfg.burst_read_us * 1000ull);
		r = chan_write1(&f->ch);
		if (r && r != -EINTR)
			fatal("wake floor write: %s", strerror(-r));
	}
}

static void wake_floor_measure(struct wake_floor *f)
{
	const struct mech native = NATIVE;

	memset(f, 0, sizeof(*f));
	chan_open(&f->ch, &native, 0);
	burst_pair(floor_sleeper, floor_waker, f);
	chan_close(&f->ch);
}

/*
 * Under icount the unbounded writer, always on its vCPU, is also charged every instruction the reader
 * runs on the other one (run_calibrate() measures how many a read costs a busy neighbour): the bounded
 * writer's share is of the rest.  A woken writer runs before its waker goes on, so its own CPU time is
 * near exact.  In ns; 0 elsewhere, or without the calibration.
 */
static double icount_charged(const struct burst *unl)
{
	return isnan(calib.reader_excess) ? 0 : (double)unl->reads * calib.reader_excess;
}

/* The bounded writer's CPU time as a percentage of the unbounded writer's (net of the above), by trial. */
static struct spread writer_share(const struct burst *res)
{
	double share[MAX_TRIALS];
	unsigned int t;

	for (t = 0; t < cfg.trials; t++) {
		const struct burst *unl = &res[t * NROWS + ROW_UNBOUNDED], *bnd = &res[t * NROWS + ROW_BOUNDED];

		share[t] = 100 * (double)bnd->wcpu / ((double)unl->wcpu - icount_charged(unl));
	}
	return spread_of(share, cfg.trials);
}

static void icount_note(const struct burst *res)
{
	double charged[MAX_TRIALS], wcpu[MAX_TRIALS];
	char b1[64], b2[64];
	unsigned int t;

	if (isnan(calib.reader_excess))
		return;
	for (t = 0; t < cfg.trials; t++) {
		charged[t] = icount_charged(&res[t * NROWS + ROW_UNBOUNDED]) / 1e6;
		wcpu[t] = (double)res[t * NROWS + ROW_UNBOUNDED].wcpu / 1e6;
	}
	say("icount, 2 vCPUs: ULLONG_MAX's writer was also charged the reader's instructions, %.0f a read "
	    "(calibration) = %s of its %s ms; the shares below are net of them.  rcpu_ms includes the "
	    "writer's instructions run while the reader was on its vCPU\n", calib.reader_excess,
	    fmt_spread(spread_of(charged, cfg.trials), 1, " ms", b1, sizeof(b1)),
	    fmt_spread(spread_of(wcpu, cfg.trials), 1, "", b2, sizeof(b2)));
}

/*
 * Under a table: the floor for its bounded writer, as a percentage of the unbounded writer's CPU,
 * next to the share measured (s_meas, from writer_share()).
 */
static double wake_floor_report(const struct wake_floor *f, const struct burst *res,
				struct spread s_meas)
{
	double per[MAX_TRIALS] = { 0 }, pct[MAX_TRIALS] = { 0 };
	struct spread s_per, s_pct;
	char b1[64], b2[64], b3[64];
	unsigned int t, n = 0;

	for (t = 0; t < cfg.trials; t++) {
		const struct burst *bnd = &res[t * NROWS + ROW_BOUNDED], *unl = &res[t * NROWS + ROW_UNBOUNDED];

		if (!f[t].wakes || !unl->wcpu)
			continue;
		per[n] = (double)f[t].cpu / (double)f[t].wakes;
		pct[n] = 100 * (double)bnd->wsleeps * per[n] / ((double)unl->wcpu - icount_charged(unl));
		n++;
	}
	s_per = spread_of(per, n);
	s_pct = spread_of(pct, n);
	if (n)
		say("floor: a native eventfd(2) read() woken every %u us costs %s %s of CPU per wake-up here\n",
		    cfg.burst_read_us, fmt_spread(s_per, 0, "", b1, sizeof(b1)), cost_unit());
	else
		say("floor: not measured (no wake-up)\n");
	/* Substituted, the "bounded" writer never sleeps: there is nothing to compare. */
	if (n && !cfg.substituted)
		say("floor: maximum=%" PRIu64 "'s writer slept once per read => %s%% of ULLONG_MAX's writer CPU; "
		    "it used %s%%\n", cfg.bounded_max, fmt_spread(s_pct, 2, "", b2, sizeof(b2)),
		    fmt_spread(s_meas, 2, "", b3, sizeof(b3)));
	json_obj("wake_floor");
	json_u64("period_us", cfg.burst_read_us);
	json_figure("cpu_per_wakeup", s_per, NULL);
	json_figure("floor_pct_of_unbounded", s_pct, NULL);
	json_end();
	json_figure("bounded_writer_pct_of_unbounded", s_meas, NULL);
	return s_pct.max;
}

static const struct column burst_cols[] = {
	{ .name = "wcpu_ms", .offset = offsetof(struct burst, wcpu), .scale = 1e-6, .decimals = 1 },
	{ .name = "rcpu_ms", .offset = offsetof(struct burst, rcpu), .scale = 1e-6, .decimals = 1 },
	{ .name = "EAGAIN", .offset = offsetof(struct burst, eagain), .scale = 1, .decimals = 0 },
	{ .name = "writes", .offset = offsetof(struct burst, writes), .scale = 1, .decimals = 0 },
	{ .name = "reads", .offset = offsetof(struct burst, reads), .scale = 1, .decimals = 0 },
	{ .name = "wsleeps", .offset = offsetof(struct burst, wsleeps), .scale = 1, .decimals = 0 },
	{ .name = "wcpu_xnat",
	  .offset = offsetof(struct burst, wcpu), .scale = 1, .decimals = 4, .xnat = true },
	{ .name = "writes_xnat",
	  .offset = offsetof(struct burst, writes), .scale = 1, .decimals = 4, .xnat = true },
};

static void burst_variant(bool nonblock, const struct mech rows[NROWS])
{
	const char *what = nonblock ? "burst O_NONBLOCK+poll" : "burst blocking";
	struct burst *res = table_alloc(sizeof(*res));
	struct wake_floor *f = calloc(cfg.trials, sizeof(*f));
	struct results r = { res, sizeof(*res), NROWS };
	double floor_pct;
	struct spread s;
	char b1[64];
	unsigned int t;
	size_t i;

	if (!f)
		fatal("out of memory");
	say("\n%s writer: writes 1 for %.1f s, reader sleeps %u us between reads%s\n",
	    nonblock ? "O_NONBLOCK + poll(POLLOUT) (futex: FUTEX_WAIT)" : "Blocking", cfg.burst_s,
	    cfg.burst_read_us, cfg.cpu[0] >= 0 ? ", on different CPUs" : "");
	for (t = 0; t < cfg.trials; t++) {
		for (i = 0; i < NROWS; i++) {
			struct burst *b = &res[t * NROWS + i];

			b->m = rows[i];
			b->nonblock = nonblock;
			if (i == ROW_BOUNDED)
				wake_floor_measure(&f[t]);
			burst_run(b);
			burst_checks(what, b);
		}
	}
	table_head(&r, burst_cols, NCOLS(burst_cols));
	json_obj(NULL);
	json_str("variant", nonblock ? "nonblock_poll" : "blocking");
	json_arr("rows");
	for (i = 0; i < NROWS; i++) {
		json_obj(NULL);
		table_row(&r, i, &rows[i], burst_cols, NCOLS(burst_cols));
		json_end();
	}
	json_end();
	icount_note(res);
	s = writer_share(res);
	floor_pct = wake_floor_report(f, res, s);
	if (!cfg.smoke) {
		json_arr("targets");
		if (cfg.substituted)
			target_skip("%s: writer CPU with maximum=%" PRIu64 " < 5%% of ULLONG_MAX (device "
				    "substituted)", what, cfg.bounded_max);
		else
			target(CHECK, s.max < 5, "%s: writer CPU with maximum=%" PRIu64 " is %s%% of ULLONG_MAX's%s "
			       "in every trial, target < 5%%; the sleep+wake floor alone is up to %.2f%% here%s",
			       what, cfg.bounded_max, fmt_spread(s, 2, "", b1, sizeof(b1)),
			       isnan(calib.reader_excess) ? "" : " (net of the reader's instructions)", floor_pct,
			       floor_pct >= 5 ? ", so this accelerator cannot judge it" : "");
		json_end();
	}
	json_end();
	free(f);
	free(res);
}

void run_burst(void)
{
	struct mech rows[NROWS];

	standard_rows(rows, cfg.bounded_max);
	say("\n== 1. burst/CPU (RFC table 1; peer: pipe of %d bytes = %d events) ==\n", PIPE_BYTES,
	    PIPE_BYTES / PIPE_RECORD);
	json_obj("burst");
	json_num("seconds", cfg.burst_s);
	json_u64("read_sleep_us", cfg.burst_read_us);
	json_arr("variants");
	burst_variant(false, rows);
	burst_variant(true, rows);
	json_end();
	json_end();
}

/* ---- 2. latency tail ---- */

struct latency {
	struct mech m;
	struct chan ch;
	uint64_t start, *written_at, *lat;
	atomic_uint published;		/* events whose written_at is set */
	unsigned int writes, reads;
	uint64_t backlog;		/* most events seen queued before a read */
	uint64_t p50, p99, p999, max;	/* ns */
};

static void latency_writer(void *p)
{
	struct latency *l = p;
	uint64_t period = (uint64_t)(NSEC_PER_SEC / cfg.lat_write_hz);
	unsigned int i;

	for (i = 0; i < cfg.lat_events && !stopping(); i++) {
		int r;

		sleep_until(l->start + i * period);	/* fixed rate; catches up after a block */
		while ((r = chan_write1(&l->ch))) {
			if (r != -EINTR)
				fatal("latency write: %s", strerror(-r));
			if (stopping())
				return;
		}
		/* The event counts from when it is queued: time blocked on a full counter is the
		 * producer's, which is what back-pressure is for. */
		l->written_at[i] = now_ns();
		atomic_store_explicit(&l->published, i + 1, memory_order_release);
		l->writes++;
	}
}

static void latency_reader(void *p)
{
	struct latency *l = p;
	uint64_t period = (uint64_t)(NSEC_PER_SEC / cfg.lat_read_hz), next = l->start, v, t;
	unsigned int i;

	for (i = 0; i < cfg.lat_events; i++) {
		uint64_t queued;
		int r;

		/* Paced at its rate, overshooting sleeps included; a late reader does not catch up in a
		 * burst (that would empty the queue and flatter the bounded rows), it stays slower. */
		next += period;
		sleep_until(next);
		t = now_ns();
		if (t > next)
			next = t;
		/* Published writes are a lower bound on the count, so this never overstates it. */
		queued = atomic_load_explicit(&l->published, memory_order_relaxed) - i;
		if (queued > l->backlog && queued < UINT64_MAX / 2)
			l->backlog = queued;
		while ((r = chan_read(&l->ch, &v))) {
			if (r != -EINTR)
				fatal("latency read: %s", strerror(-r));
			if (stopping())
				return;
		}
		t = now_ns();
		if (v != 1)
			fatal("semaphore read returned %" PRIu64, v);
		/* FIFO: the i-th read consumes event i; its timestamp lands just after write() returns,
		 * so a reader that was already waiting can see it "in the future": that counts as 0. */
		while (atomic_load_explicit(&l->published, memory_order_acquire) <= i) {
			if (stopping())
				return;
			sched_yield();
		}
		l->lat[i] = t > l->written_at[i] ? t - l->written_at[i] : 0;
		l->reads++;
	}
}

static bool latency_run(struct latency *l)
{
	double expect_s = cfg.lat_events / (cfg.lat_write_hz < cfg.lat_read_hz ? cfg.lat_write_hz
									       : cfg.lat_read_hz);
	struct worker w, r;
	bool done;

	l->written_at = calloc(cfg.lat_events, sizeof(uint64_t));
	l->lat = calloc(cfg.lat_events, sizeof(uint64_t));
	if (!l->written_at || !l->lat)
		fatal("out of memory");
	chan_open(&l->ch, &l->m, EFD_SEMAPHORE);
	atomic_store(&bench_stop, 0);
	atomic_store(&l->published, 0);
	l->start = now_ns() + 2 * NSEC_PER_MSEC;
	worker_start(&r, latency_reader, l, cfg.cpu[1]);
	worker_start(&w, latency_writer, l, cfg.cpu[0]);
	/* Emulated guests run timers late: allow ten times the nominal duration. */
	done = worker_wait(&r, 10 * expect_s + 30);
	atomic_store(&bench_stop, 1);
	worker_stop(&r);
	worker_stop(&w);
	chan_close(&l->ch);
	free(l->written_at);
	return done;
}

static void latency_stats(struct latency *l)
{
	uint64_t *sorted = malloc(cfg.lat_events * sizeof(uint64_t));

	if (!sorted)
		fatal("out of memory");
	memcpy(sorted, l->lat, l->reads * sizeof(uint64_t));
	sort_u64(sorted, l->reads);
	l->p50 = pctl(sorted, l->reads, 50);
	l->p99 = pctl(sorted, l->reads, 99);
	l->p999 = pctl(sorted, l->reads, 99.9);
	l->max = pctl(sorted, l->reads, 100);
	free(sorted);
}

static const struct column latency_cols[] = {
	{ .name = "p50_us", .offset = offsetof(struct latency, p50), .scale = 1e-3, .decimals = 1 },
	{ .name = "p99_us", .offset = offsetof(struct latency, p99), .scale = 1e-3, .decimals = 1 },
	{ .name = "p999_us", .offset = offsetof(struct latency, p999), .scale = 1e-3, .decimals = 1 },
	{ .name = "max_us", .offset = offsetof(struct latency, max), .scale = 1e-3, .decimals = 1 },
	{ .name = "backlog", .offset = offsetof(struct latency, backlog), .scale = 1, .decimals = 0 },
	{ .name = "p99_xnat",
	  .offset = offsetof(struct latency, p99), .scale = 1, .decimals = 3, .xnat = true },
	{ .name = "p999_xnat",
	  .offset = offsetof(struct latency, p999), .scale = 1, .decimals = 3, .xnat = true },
};

void run_latency(void)
{
	struct mech rows[NROWS];
	struct latency *res = table_alloc(sizeof(*res));
	struct results r = { res, sizeof(*res), NROWS };
	double v[MAX_TRIALS], u[MAX_TRIALS], x[MAX_TRIALS];
	unsigned int t, j;
	struct spread s;
	char mx[32], b1[64];
	size_t i, n = cfg.lat_events;

	standard_rows(rows, cfg.bounded_max);
	say("\n== 2. latency tail (RFC table 2): EFD_SEMAPHORE, %u events, writer %.0f/s, reader ~%.0f/s ==\n",
	    cfg.lat_events, cfg.lat_write_hz, cfg.lat_read_hz);
	say("latency = reader's read() return - writer's write() return, event i read by the i-th read\n");
	for (t = 0; t < cfg.trials; t++) {
		for (i = 0; i < NROWS; i++) {
			struct latency *l = &res[t * NROWS + i];
			bool done;

			l->m = rows[i];
			done = latency_run(l);
			tap(done && l->writes == n && l->reads == n, NULL, "latency %s max=%s: completed, %u "
			    "written, %u read of %zu", mech_name(&l->m), mech_max(&l->m, mx, sizeof(mx)), l->writes,
			    l->reads, n);
			check_bound("latency", &l->m, "largest backlog", l->backlog);
			latency_stats(l);
		}
	}
	table_head(&r, latency_cols, NCOLS(latency_cols));
	json_obj("latency");
	json_u64("events", cfg.lat_events);
	json_num("write_hz", cfg.lat_write_hz);
	json_num("read_hz", cfg.lat_read_hz);
	json_arr("rows");
	for (i = 0; i < NROWS; i++) {
		const struct latency *l = &res[i];	/* the first trial's samples, for the CDF plot */

		json_obj(NULL);
		table_row(&r, i, &rows[i], latency_cols, NCOLS(latency_cols));
		json_arr("samples_ns");	/* in event order */
		for (j = 0; j < l->reads; j++)
			json_u64(NULL, l->lat[j]);
		json_end();
		json_end();
	}
	json_end();
	for (t = 0; t < cfg.trials * NROWS; t++)
		free(res[t].lat);
	if (!cfg.smoke) {
		figure(&r, ROW_UNBOUNDED, &latency_cols[2], u);	/* p999_us */
		figure(&r, ROW_BOUNDED, &latency_cols[2], v);
		for (t = 0; t < cfg.trials; t++)
			x[t] = u[t] / (v[t] ? v[t] : 1);
		s = spread_of(x, cfg.trials);
		json_figure("p999_unbounded_over_bounded", s, x);
		json_arr("targets");
		if (cfg.substituted)
			target_skip("latency: p999 with maximum=%" PRIu64 " at least 20x lower than ULLONG_MAX "
				    "(device substituted)", cfg.bounded_max);
		else
			target(CHECK, s.min >= 20, "latency: p999 with maximum=%" PRIu64 " is %s lower than "
			       "ULLONG_MAX's, target >= 20x in every trial", cfg.bounded_max, fmt_spread(s, 1, "x", b1,
											 sizeof(b1)));
		json_end();
	}
	json_end();
	free(res);
}

/* ---- 3. coalescing ---- */

struct coalesce {
	struct mech m;
	struct chan ch;
	uint64_t writes, reads, sum, max_batch, left;
	double avg_batch;
};

static void coalesce_writer(void *p)
{
	struct coalesce *c = p;
	unsigned int i;

	for (i = 0; i < cfg.coal_writes && !stopping(); i++) {
		int r;

		while ((r = chan_write1(&c->ch))) {
			if (r != -EINTR)
				fatal("coalescing write: %s", strerror(-r));
			if (stopping())
				return;
		}
		c->writes++;
	}
}

static void coalesce_reader(void *p)
{
	struct coalesce *c = p;
	uint64_t v;

	while (c->sum < cfg.coal_writes && !stopping()) {
		int r;

		sleep_ns(cfg.coal_read_us * 1000ull);
		r = chan_read(&c->ch, &v);	/* drains: the whole count, or the pipe's contents */
		if (r == -EINTR)
			continue;
		if (r)
			fatal("coalescing read: %s", strerror(-r));
		c->reads++;
		c->sum += v;
		if (v > c->max_batch)
			c->max_batch = v;
	}
}

static void coalesce_run(struct coalesce *c)
{
	struct worker w, r;
	char mx[32];
	bool done;

	chan_open(&c->ch, &c->m, 0);
	atomic_store(&bench_stop, 0);
	worker_start(&r, coalesce_reader, c, cfg.cpu[1]);
	worker_start(&w, coalesce_writer, c, cfg.cpu[0]);
	done = worker_wait(&r, 60 + cfg.coal_writes * (cfg.coal_read_us + 100) * 1e-5);
	atomic_store(&bench_stop, 1);
	worker_stop(&r);
	worker_stop(&w);
	c->left = chan_drain(&c->ch);
	chan_close(&c->ch);
	c->avg_batch = c->reads ? (double)c->sum / (double)c->reads : 0;
	tap(done, NULL, "coalescing %s max=%s: reader drained all %u writes", mech_name(&c->m),
	    mech_max(&c->m, mx, sizeof(mx)), cfg.coal_writes);
	check_conserved("coalescing", &c->m, c->writes, c->sum, c->left);
	/* avg_batch <= max_batch, so the bound on max_batch covers avg_batch too. */
	check_bound("coalescing", &c->m, "max_batch", c->max_batch);
}

static const struct column coalesce_cols[] = {
	{ .name = "writes", .offset = offsetof(struct coalesce, writes), .scale = 1, .decimals = 0 },
	{ .name = "reads", .offset = offsetof(struct coalesce, reads), .scale = 1, .decimals = 0 },
	{ .name = "avg_batch",
	  .offset = offsetof(struct coalesce, avg_batch), .scale = 1, .decimals = 2, .dbl = true },
	{ .name = "max_batch", .offset = offsetof(struct coalesce, max_batch), .scale = 1, .decimals = 0 },
	{ .name = "avg_xnat",
	  .offset = offsetof(struct coalesce, avg_batch), .scale = 1, .decimals = 3, .dbl = true, .xnat = true },
	{ .name = "reads_xnat",
	  .offset = offsetof(struct coalesce, reads), .scale = 1, .decimals = 3, .xnat = true },
};

void run_coalesce(void)
{
	struct mech rows[NROWS];
	struct coalesce *res = table_alloc(sizeof(*res));
	struct results r = { res, sizeof(*res), NROWS };
	double v[MAX_TRIALS];
	struct spread s_avg, s_max;
	char b1[64], b2[64];
	unsigned int t;
	size_t i;

	standard_rows(rows, cfg.bounded_max);
	say("\n== 3. coalescing (RFC table 3): %u writes as fast as possible, reader sleeps %u us then "
	    "drains ==\n", cfg.coal_writes, cfg.coal_read_us);
	for (t = 0; t < cfg.trials; t++) {
		for (i = 0; i < NROWS; i++) {
			res[t * NROWS + i].m = rows[i];
			coalesce_run(&res[t * NROWS + i]);
		}
	}
	table_head(&r, coalesce_cols, NCOLS(coalesce_cols));
	json_obj("coalescing");
	json_u64("writes", cfg.coal_writes);
	json_u64("read_sleep_us", cfg.coal_read_us);
	json_arr("rows");
	for (i = 0; i < NROWS; i++) {
		json_obj(NULL);
		table_row(&r, i, &rows[i], coalesce_cols, NCOLS(coalesce_cols));
		json_end();
	}
	json_end();
	if (!cfg.smoke) {
		s_avg = figure(&r, ROW_BOUNDED, &coalesce_cols[2], v);	/* avg_batch */
		s_max = figure(&r, ROW_BOUNDED, &coalesce_cols[3], v);	/* max_batch */
		json_arr("targets");
		if (cfg.substituted)
			target_skip("coalescing: avg_batch <= maximum-1 (device substituted)");
		else
			target(CHECK, s_max.max <= cfg.bounded_max - 1, "coalescing: maximum=%" PRIu64 " avg_batch "
			       "%s, max_batch %s, target never above %" PRIu64, cfg.bounded_max,
			       fmt_spread(s_avg, 2, "", b1, sizeof(b1)), fmt_spread(s_max, 0, "", b2, sizeof(b2)),
			       cfg.bounded_max - 1);
		json_end();
	}
	json_end();
	free(res);
}
