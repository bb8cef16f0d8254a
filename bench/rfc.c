// SPDX-License-Identifier: GPL-2.0
/*
 * The RFC's three benchmarks (burst/CPU, latency tail, coalescing), each for native eventfd(2),
 * /dev/eventfd_max with maximum ULLONG_MAX and with the bounded maximum, and a one-page pipe as the peer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
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
	uint64_t reads, empty, sum, max_read, rcpu, left;	/* reader's */
};

static void burst_writer(void *p)
{
	struct burst *b = p;
	struct pollfd pfd = { .fd = b->ch.wfd, .events = POLLOUT };
	uint64_t cpu0 = thread_cpu_ns();

	while (!stopping()) {
		int r = chan_write1(&b->ch);

		if (!r) {
			b->writes++;
		} else if (r == -EAGAIN) {
			b->eagain++;
			poll(&pfd, 1, -1);	/* a kick ends it with EINTR */
		} else if (r != -EINTR) {
			fatal("burst write: %s", strerror(-r));
		}
	}
	b->wcpu = thread_cpu_ns() - cpu0;
	b->wsleeps = thread_vcsw();	/* voluntary switches: times the writer slept */
}

static void burst_reader(void *p)
{
	struct burst *b = p;
	uint64_t cpu0 = thread_cpu_ns(), v;

	while (!stopping()) {
		int r;

		sleep_ns(cfg.burst_read_us * 1000ull);
		r = chan_read(&b->ch, &v);
		if (!r) {
			b->reads++;
			b->sum += v;
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

/*
 * The floor under the bounded writer's CPU: one sleep+wake cycle of a thread blocked in read() on native
 * eventfd(2), woken from the other CPU in the burst reader's rhythm.  The bounded writer pays one such
 * cycle per read; where a cycle costs far more than its 9 writes (an emulated CPU), the cycles, not the
 * module, decide its CPU share.  Measured right before the bounded row: the cost drifts with host load.
 */
struct wake_floor {
	struct chan ch;
	uint64_t wakes, vcsw, cpu;	/* the sleeping thread's */
	double us_per_wake;
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
	f->us_per_wake = f->wakes ? f->cpu / 1e3 / (double)f->wakes : 0;
}

/* Under a table: the floor for its bounded writer, as a percentage of the unbounded writer's CPU. */
static double wake_floor_report(const struct wake_floor *f, const struct burst *bnd, const struct burst *unl)
{
	bool valid = f->wakes && unl->wcpu;
	double floor_ms = (double)bnd->wsleeps * f->us_per_wake / 1e3;
	double pct = valid ? 100 * floor_ms / (unl->wcpu / 1e6) : 0;
	double measured = valid ? 100.0 * (double)bnd->wcpu / (double)unl->wcpu : 0;

	if (valid)
		say("floor: a native eventfd(2) read() woken every %u us costs %.1f us CPU per wake-up here (%"
		    PRIu64 " wake-ups, %" PRIu64 " voluntary switches)\n", cfg.burst_read_us, f->us_per_wake,
		    f->wakes, f->vcsw);
	else
		say("floor: not measured (no wake-up)\n");
	/* Substituted, the "bounded" writer never sleeps: there is nothing to compare. */
	if (valid && !cfg.substituted)
		say("floor: maximum=%" PRIu64 "'s writer slept %" PRIu64 " times => %.1f ms = %.2f%% of "
		    "ULLONG_MAX's writer CPU; measured %.2f%% (%.2fx the floor)\n", cfg.bounded_max,
		    bnd->wsleeps, floor_ms, pct, measured, pct > 0 ? measured / pct : 0);
	json_obj("wake_floor");
	json_u64("period_us", cfg.burst_read_us);
	json_num("cpu_ms", f->cpu / 1e6);
	json_u64("wakeups", f->wakes);
	json_u64("voluntary_switches", f->vcsw);
	json_num("cpu_us_per_wakeup", f->us_per_wake);
	json_u64("writer_sleeps", bnd->wsleeps);
	json_num("floor_ms", floor_ms);
	json_num("floor_pct_of_unbounded", pct);
	json_num("measured_pct_of_unbounded", measured);
	json_num("measured_x_floor", pct > 0 ? measured / pct : NAN);
	json_end();
	return pct;
}

static void burst_variant(bool nonblock, const struct mech rows[NROWS])
{
	const char *what = nonblock ? "burst O_NONBLOCK+poll" : "burst blocking";
	struct burst res[NROWS] = { 0 };
	char mx[32], r1[16], r2[16];
	size_t i, unl = 0, bnd = 0;
	struct wake_floor f = { 0 };
	double floor_pct;

	say("\n%s writer: writes 1 for %.1f s, reader sleeps %u us between reads%s\n",
	    nonblock ? "O_NONBLOCK + poll(POLLOUT)" : "Blocking", cfg.burst_s, cfg.burst_read_us,
	    cfg.cpu[0] >= 0 ? ", on different CPUs" : "");
	say("%-13s %-10s %9s %8s %8s %10s %7s  %9s %9s %8s\n", "mechanism", "maximum", "wcpu_ms",
	    "rcpu_ms", "EAGAIN", "writes", "reads", "wcpu_xnat", "wrts_xnat", "wsleeps");
	json_obj(NULL);
	json_str("variant", nonblock ? "nonblock_poll" : "blocking");
	json_arr("rows");
	for (i = 0; i < NROWS; i++) {
		struct burst *b = &res[i];

		b->m = rows[i];
		b->nonblock = nonblock;
		if (b->m.kind == MECH_DEVICE && b->m.maximum != U64_MAX)
			wake_floor_measure(&f);
		burst_run(b);
		say("%-13s %-10s %9.1f %8.1f %8" PRIu64 " %10" PRIu64 " %7" PRIu64 "  %9s %9s %8" PRIu64
		    "\n", mech_name(&b->m), mech_max(&b->m, mx, sizeof(mx)), b->wcpu / 1e6, b->rcpu / 1e6,
		    b->eagain, b->writes, b->reads,
		    ratio((double)b->wcpu, (double)res[0].wcpu, r1, sizeof(r1)),
		    ratio((double)b->writes, (double)res[0].writes, r2, sizeof(r2)), b->wsleeps);
		json_obj(NULL);
		json_mech(&b->m);
		json_num("wcpu_ms", b->wcpu / 1e6);
		json_num("rcpu_ms", b->rcpu / 1e6);
		json_u64("eagain", b->eagain);
		json_u64("writes", b->writes);
		json_u64("reads", b->reads);
		json_u64("empty_reads", b->empty);
		json_u64("max_read", b->max_read);
		json_u64("writer_voluntary_switches", b->wsleeps);
		json_num("wcpu_x_native", (double)b->wcpu / (double)res[0].wcpu);
		json_num("writes_x_native", (double)b->writes / (double)res[0].writes);
		json_end();

		check_conserved(what, &b->m, b->writes, b->sum, b->left);
		check_bound(what, &b->m, "largest read", b->max_read);
		/*
		 * Only the device's small maximum is sure to fill within a smoke run; a slow (debug,
		 * emulated) kernel may never fill the pipe's 512 slots, and need not block then.
		 */
		if (mech_bounded(&b->m) && b->m.kind == MECH_DEVICE) {
			if (nonblock)
				tap(b->eagain > 0, mech_skip(&b->m), "%s %s max=%s: writer saw EAGAIN (%" PRIu64
				    " times)", what, mech_name(&b->m), mx, b->eagain);
			else
				tap(b->wsleeps > 0, mech_skip(&b->m), "%s %s max=%s: writer blocked (%" PRIu64
				    " voluntary switches)", what, mech_name(&b->m), mx, b->wsleeps);
		}
		if (b->m.kind == MECH_DEVICE)
			*(b->m.maximum == U64_MAX ? &unl : &bnd) = i;
	}
	json_end();
	floor_pct = wake_floor_report(&f, &res[bnd], &res[unl]);
	if (!cfg.smoke) {
		double frac = (double)res[bnd].wcpu / (double)res[unl].wcpu;

		json_arr("targets");
		if (cfg.substituted)
			target_skip("%s: writer CPU with maximum=%" PRIu64 " < 5%% of ULLONG_MAX (device "
				    "substituted)", what, cfg.bounded_max);
		else
			target(frac < 0.05, "%s: writer CPU with maximum=%" PRIu64 " is %.2f%% of ULLONG_MAX's "
			       "(%.1f / %.1f ms), target < 5%%; the sleep+wake floor alone is %.2f%% here%s",
			       what, cfg.bounded_max, 100 * frac, res[bnd].wcpu / 1e6, res[unl].wcpu / 1e6,
			       floor_pct, floor_pct >= 5 ? ", so this accelerator cannot judge it" : "");
		json_end();
	}
	json_end();
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
		if (queued > l->backlog && queued < U64_MAX / 2)
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
	return done;
}

void run_latency(void)
{
	struct mech rows[NROWS];
	struct latency res[NROWS] = { 0 };
	uint64_t p99[NROWS] = { 0 }, p999[NROWS] = { 0 };
	char mx[32], r1[16], r2[16];
	size_t i, n = cfg.lat_events;

	standard_rows(rows, cfg.bounded_max);
	say("\n== 2. latency tail (RFC table 2): EFD_SEMAPHORE, %u events, writer %.0f/s, reader ~%.0f/s ==\n",
	    cfg.lat_events, cfg.lat_write_hz, cfg.lat_read_hz);
	say("latency = reader's read() return - writer's write() return, event i read by the i-th read\n");
	say("%-13s %-10s %9s %9s %9s %9s %8s  %9s %9s\n", "mechanism", "maximum", "p50_us", "p99_us",
	    "p999_us", "max_us", "backlog", "p99_xnat", "p999_xnat");
	json_obj("latency");
	json_u64("events", cfg.lat_events);
	json_num("write_hz", cfg.lat_write_hz);
	json_num("read_hz", cfg.lat_read_hz);
	json_arr("rows");
	for (i = 0; i < NROWS; i++) {
		struct latency *l = &res[i];
		uint64_t *sorted, j;
		bool done;

		l->m = rows[i];
		done = latency_run(l);
		tap(done && l->writes == n && l->reads == n, NULL, "latency %s max=%s: completed, %u written, "
		    "%u read of %zu", mech_name(&l->m), mech_max(&l->m, mx, sizeof(mx)), l->writes, l->reads, n);
		check_bound("latency", &l->m, "largest backlog", l->backlog);
		sorted = malloc(n * sizeof(uint64_t));
		if (!sorted)
			fatal("out of memory");
		memcpy(sorted, l->lat, n * sizeof(uint64_t));
		sort_u64(sorted, l->reads);
		p99[i] = pctl(sorted, l->reads, 99);
		p999[i] = pctl(sorted, l->reads, 99.9);
		say("%-13s %-10s %9.1f %9.1f %9.1f %9.1f %8" PRIu64 "  %9s %9s\n", mech_name(&l->m), mx,
		    pctl(sorted, l->reads, 50) / 1e3, p99[i] / 1e3, p999[i] / 1e3,
		    pctl(sorted, l->reads, 100) / 1e3, l->backlog,
		    ratio((double)p99[i], (double)p99[0], r1, sizeof(r1)),
		    ratio((double)p999[i], (double)p999[0], r2, sizeof(r2)));
		json_obj(NULL);
		json_mech(&l->m);
		json_u64("reads", l->reads);
		json_num("p50_us", pctl(sorted, l->reads, 50) / 1e3);
		json_num("p99_us", p99[i] / 1e3);
		json_num("p999_us", p999[i] / 1e3);
		json_num("max_us", pctl(sorted, l->reads, 100) / 1e3);
		json_u64("max_backlog", l->backlog);
		json_num("p999_x_native", (double)p999[i] / (double)p999[0]);
		json_arr("samples_ns");	/* in event order */
		for (j = 0; j < l->reads; j++)
			json_u64(NULL, l->lat[j]);
		json_end();
		json_end();
		free(sorted);
		free(l->lat);
		free(l->written_at);
	}
	json_end();
	if (!cfg.smoke) {
		json_arr("targets");
		if (cfg.substituted)
			target_skip("latency: p999 with maximum=%" PRIu64 " at least 20x lower than ULLONG_MAX "
				    "(device substituted)", cfg.bounded_max);
		else
			target(p999[2] * 20 <= p999[1], "latency: p999 with maximum=%" PRIu64 " is %.1fx lower "
			       "than ULLONG_MAX's (%.1f vs %.1f us), target >= 20x", cfg.bounded_max,
			       (double)p999[1] / (double)(p999[2] ? p999[2] : 1), p999[2] / 1e3, p999[1] / 1e3);
		json_end();
	}
	json_end();
}

/* ---- 3. coalescing ---- */

struct coalesce {
	struct mech m;
	struct chan ch;
	uint64_t writes, reads, sum, max_batch, left;
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

void run_coalesce(void)
{
	struct mech rows[NROWS];
	struct coalesce res[NROWS] = { 0 };
	char mx[32], r1[16], r2[16];
	size_t i;

	standard_rows(rows, cfg.bounded_max);
	say("\n== 3. coalescing (RFC table 3): %u writes as fast as possible, reader sleeps %u us then "
	    "drains ==\n", cfg.coal_writes, cfg.coal_read_us);
	say("%-13s %-10s %8s %8s %10s %10s  %9s %9s\n", "mechanism", "maximum", "writes", "reads",
	    "avg_batch", "max_batch", "avg_xnat", "reads_xnat");
	json_obj("coalescing");
	json_u64("writes", cfg.coal_writes);
	json_u64("read_sleep_us", cfg.coal_read_us);
	json_arr("rows");
	for (i = 0; i < NROWS; i++) {
		struct coalesce *c = &res[i];
		struct worker w, r;
		double avg;
		bool done;

		c->m = rows[i];
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

		avg = c->reads ? (double)c->sum / (double)c->reads : 0;
		say("%-13s %-10s %8" PRIu64 " %8" PRIu64 " %10.2f %10" PRIu64 "  %9s %9s\n", mech_name(&c->m),
		    mech_max(&c->m, mx, sizeof(mx)), c->writes, c->reads, avg, c->max_batch,
		    ratio(avg, (double)res[0].sum / (double)res[0].reads, r1, sizeof(r1)),
		    ratio((double)c->reads, (double)res[0].reads, r2, sizeof(r2)));
		json_obj(NULL);
		json_mech(&c->m);
		json_u64("writes", c->writes);
		json_u64("reads", c->reads);
		json_num("avg_batch", avg);
		json_u64("max_batch", c->max_batch);
		json_end();
		tap(done, NULL, "coalescing %s max=%s: reader drained all %u writes", mech_name(&c->m), mx,
		    cfg.coal_writes);
		check_conserved("coalescing", &c->m, c->writes, c->sum, c->left);
		check_bound("coalescing", &c->m, "max_batch", c->max_batch);
		/* avg <= max_batch, so the bound on max_batch covers avg_batch too. */
	}
	json_end();
	if (!cfg.smoke) {
		struct coalesce *b = &res[2];
		double avg = b->reads ? (double)b->sum / (double)b->reads : 0;

		json_arr("targets");
		if (cfg.substituted)
			target_skip("coalescing: avg_batch <= maximum-1 (device substituted)");
		else
			target(b->max_batch <= cfg.bounded_max - 1, "coalescing: maximum=%" PRIu64 " avg_batch "
			       "%.2f, max_batch %" PRIu64 ", target never above %" PRIu64, cfg.bounded_max, avg,
			       b->max_batch, cfg.bounded_max - 1);
		json_end();
	}
	json_end();
}
