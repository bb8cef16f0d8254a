// SPDX-License-Identifier: GPL-2.0
/*
 * Conservation stress for /dev/eventfd_max: W writer and R reader threads hammer one counter.
 * Writers: blocking write(2), or write(2) after waiting for POLLOUT in poll(2) or in an
 * edge-triggered epoll_wait(2).  Readers: blocking read(2), or RWF_NOWAIT preadv2(2) waiting in
 * poll(2) or in epoll_wait(2).  A chaos thread changes the maximum at random (also to or below the
 * count, which must fail EINVAL and change nothing), toggles O_NONBLOCK, interrupts workers with a
 * signal (EINTR must consume nothing) and samples poll/fdinfo.  Five runs:
 *
 *   nonsem-random-max   non-semaphore, random maximum
 *   sem-random-max      semaphore, random maximum, plus a reader that reads into NULL (EFAULT
 *                       must give the value back: conservation checks it; a value of 1 given back
 *                       always fits, as the count was at least 1 below the maximum)
 *   nonsem-fixed-max    maximum 7 throughout: no read may return >= 7, no poll may show POLLERR
 *   sem-fixed-max-nb    semaphore, maximum 3, file opened O_NONBLOCK (so "blocking" threads poll)
 *   nonsem-fixed-max-efault
 *                       maximum 7 plus the NULL reader: a value given back after EFAULT saturates
 *                       at the maximum (so a read of 7 and POLLERR become possible, never more),
 *                       losing at most what it took
 *
 * At the end of each run: written == read + final count exactly (in the last run, written - read -
 * final count is between 0 and 7 per EFAULT), every thread was joined within a bound, every result
 * was one the contract allows, and the run did its minimum of work: a run goes on past its share
 * of --seconds (by up to OVERTIME_MS) until every worker got a read or write through, the chaos
 * thread made MIN_SET_MAX maximum changes (random runs) and MIN_CHAOS signals, samples and
 * O_NONBLOCK toggles, and there were EINTRs (where workers block) and EFAULTs (where a reader reads
 * into NULL); a run that cannot fails its "minimum work" result.  Shutdown: writers stop first
 * (a blocked one is released by readers draining, or by raising the maximum), then readers,
 * released from a blocking read by signals; the count left is read from fdinfo and drained.
 *
 * Usage: stress [--seconds N] [--writers N] [--readers N] [--seed N]
 *   --seconds is the total over the runs (default 4, for CI; use minutes to soak).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "rel_util.h"
#include "kselftest.h"

#define MAX_WORKERS	64
#define WAIT_MS		20	/* a non-blocking worker's poll/epoll wait */
#define JOIN_MS		20000	/* how long a stopping thread may take */
#define RANDOM_VALUES	41	/* random-maximum runs write 0..40 */
#define HISTORY		4096	/* maxima remembered, for judging a write's EINVAL */
#define MIN_SET_MAX	10	/* successful SET_MAXIMUMs a random run must make at least */
#define MIN_CHAOS	3	/* and signals, samples, O_NONBLOCK toggles every run */
#define OVERTIME_MS	60000	/* how long a run may go on past its time to reach those */
#define WORKER_NICE	10	/* workers are niced, so the chaos thread gets its turns */
#define STR_(x)		#x
#define STR(x)		STR_(x)

enum role { WRITER, READER };
enum mode { M_BLOCK, M_NOWAIT, M_EPOLL, M_EFAULT };
static const char *const mode_name[] = { "blocking", "nowait+poll", "nowait+epoll", "efault" };

struct run_cfg {
	const char *name;
	bool semaphore;
	uint64_t fixed_max;	/* 0: the chaos thread changes the maximum at random */
	bool nonblock_file;	/* opened O_NONBLOCK (and never toggled) */
	bool efault_reader;
};

static const struct run_cfg runs[] = {
	{ "nonsem-random-max", false, 0, false, false },
	{ "sem-random-max", true, 0, false, true },
	{ "nonsem-fixed-max", false, 7, false, false },
	{ "sem-fixed-max-nb", true, 3, true, false },
	{ "nonsem-fixed-max-efault", false, 7, false, true },
};

struct stats {
	uint64_t ok, sum, eagain, eintr, einval, efault;
};

struct run;

struct worker {
	pthread_t thread;
	struct run *run;
	enum role role;
	enum mode mode;
	int index, epfd;
	uint64_t rng;
	struct stats st;
	atomic_int tid;
	atomic_bool progressed;		/* a read or write went through (or faulted) */
	atomic_bool finished;
};

struct chaos_stats {
	uint64_t rounds, set_max, set_max_einval, toggles, signals, samples;
	atomic_bool enough;		/* the floors below were reached */
};

struct run {
	const struct run_cfg *cfg;
	int fd;
	atomic_bool stop;		/* writers and the chaos thread stop */
	atomic_bool writers_done;	/* then readers stop */
	/*
	 * The maxima, so that a write knows which it may have seen: SET_MAXIMUM number g (counted
	 * from 1; 0 is the maximum the counter was created with) asks for history[g % HISTORY].
	 * The chaos thread stores it and bumps max_gen before the ioctl, so while max_gen is g the
	 * maximum in effect is history[g - 1] or history[g].  A refused SET_MAXIMUM is followed
	 * at once by another entry with the maximum that stayed.  (All accessed with __atomic.)
	 */
	uint64_t max_gen;
	uint64_t history[HISTORY];
	atomic_uint unjudged;		/* writes spanning more than HISTORY changes */
	atomic_uint eintrs, efaults;
	atomic_uint violations;
	struct chaos_stats chaos;
	uint64_t rng;
	int nworkers;
	struct worker w[MAX_WORKERS];
};

static uint64_t seconds = 4, nwriters = 3, nreaders = 3, seed;

/* A contract violation: counted, and the first few printed. */
static void __attribute__((format(printf, 2, 3))) violation(struct run *run, const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&run->violations, 1) >= 10)
		return;
	va_start(ap, fmt);
	printf("# VIOLATION [%s]: ", run->cfg->name);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

/* Waits (bounded) until @events may be ready: poll(2), or epoll for the epoll workers. */
static void wait_ready(struct worker *w, short events)
{
	struct pollfd pfd = { .fd = w->run->fd, .events = events };
	struct epoll_event ev;

	if (w->epfd >= 0)
		epoll_wait(w->epfd, &ev, 1, WAIT_MS);
	else
		poll(&pfd, 1, WAIT_MS);
}

/*
 * One write or read in the worker's style; returns 8 or -errno.  Writes are write(2) (which
 * blocks unless O_NONBLOCK is set at the time): like eventfd's, the device's write takes no
 * RWF_NOWAIT; non-blocking writers wait for POLLOUT first instead.
 */
static ssize_t do_io(struct worker *w, void *buf)
{
	struct iovec iov = { .iov_base = buf, .iov_len = 8 };
	ssize_t r;

	if (w->role == WRITER)
		r = write(w->run->fd, buf, 8);
	else if (w->mode == M_BLOCK)
		r = read(w->run->fd, buf, 8);
	else
		r = preadv2(w->run->fd, &iov, 1, -1, RWF_NOWAIT);
	return r < 0 ? -errno : r;
}

/* The smallest and largest maximum that may have been in effect between @g0 and @g1. */
static bool maxima_seen(struct run *run, uint64_t g0, uint64_t g1, uint64_t *lo, uint64_t *hi)
{
	uint64_t from = g0 ? g0 - 1 : 0;

	if (g1 - from >= HISTORY) {
		atomic_fetch_add(&run->unjudged, 1);
		return false;
	}
	*lo = U64_MAX_VAL;
	*hi = 0;
	for (uint64_t g = from; g <= g1; g++) {
		uint64_t m = __atomic_load_n(&run->history[g % HISTORY], __ATOMIC_SEQ_CST);

		*lo = m < *lo ? m : *lo;
		*hi = m > *hi ? m : *hi;
	}
	return true;
}

static uint64_t pick_value(struct worker *w)
{
	uint64_t fixed = w->run->cfg->fixed_max;

	if (rnd(&w->rng, 64) == 0)
		return U64_MAX_VAL;		/* never fits: EINVAL at once, never a sleep */
	if (fixed)
		return rnd(&w->rng, 16) ? rnd(&w->rng, fixed) : fixed;	/* fixed itself: EINVAL */
	return rnd(&w->rng, RANDOM_VALUES);
}

static void writer(struct worker *w)
{
	struct run *run = w->run;
	bool waited = false;
	uint64_t lo, hi;

	while (!atomic_load(&run->stop)) {
		uint64_t v = pick_value(w), g0, g1;
		ssize_t r;

		if (w->mode != M_BLOCK && !waited)
			wait_ready(w, POLLOUT);
		waited = false;
		g0 = __atomic_load_n(&run->max_gen, __ATOMIC_SEQ_CST);
		r = do_io(w, &v);
		g1 = __atomic_load_n(&run->max_gen, __ATOMIC_SEQ_CST);
		if (r == 8) {
			w->st.ok++;
			atomic_store(&w->progressed, true);
			w->st.sum += v;
			/* It fitted below a maximum in effect during the call. */
			if (maxima_seen(run, g0, g1, &lo, &hi) && v >= hi)
				violation(run, "write of %#" PRIx64 " succeeded (maxima %" PRIu64
					  "..%" PRIu64 ")", v, lo, hi);
			continue;
		}
		switch (-r) {
		case EAGAIN:
			w->st.eagain++;
			wait_ready(w, POLLOUT);
			waited = true;
			break;
		case EINTR:
			w->st.eintr++;
			atomic_fetch_add(&run->eintrs, 1);
			break;
		case EINVAL:
			w->st.einval++;
			/* Only a value at or above a maximum in effect during the call. */
			if (maxima_seen(run, g0, g1, &lo, &hi) && v < lo)
				violation(run, "write of %" PRIu64 ": EINVAL below the maxima %"
					  PRIu64 "..%" PRIu64 " in effect", v, lo, hi);
			break;
		default:
			violation(run, "write of %" PRIu64 ": %s", v, strerror((int)-r));
		}
	}
}

static void reader(struct worker *w)
{
	struct run *run = w->run;
	uint64_t fixed = run->cfg->fixed_max;

	while (!atomic_load(&run->writers_done)) {
		bool bad = w->mode == M_EFAULT && rnd(&w->rng, 2);
		uint64_t v = 0;
		ssize_t r = do_io(w, bad ? NULL : &v);

		if (r == 8) {
			w->st.ok++;
			atomic_store(&w->progressed, true);
			w->st.sum += v;
			if (bad)
				violation(run, "read into NULL succeeded");
			else if (v == 0 || (run->cfg->semaphore && v != 1) ||
				 (fixed && v > fixed - !run->cfg->efault_reader))
				violation(run, "read returned %" PRIu64 " (maximum %" PRIu64 ")", v,
					  fixed);
			continue;
		}
		switch (-r) {
		case EAGAIN:
			w->st.eagain++;
			wait_ready(w, POLLIN);
			break;
		case EINTR:
			w->st.eintr++;
			atomic_fetch_add(&run->eintrs, 1);
			break;
		case EFAULT:
			w->st.efault++;
			atomic_fetch_add(&run->efaults, 1);
			atomic_store(&w->progressed, true);
			if (!bad)
				violation(run, "read into a good buffer: EFAULT");
			break;
		default:
			violation(run, "read: %s", strerror((int)-r));
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	atomic_store(&w->tid, (int)syscall(SYS_gettid));
	/* Workers never stop competing for the CPU; the chaos thread must get its turns. */
	setpriority(PRIO_PROCESS, (id_t)atomic_load(&w->tid), WORKER_NICE);
	if (w->role == WRITER)
		writer(w);
	else
		reader(w);
	atomic_store(&w->finished, true);
	return NULL;
}

/* A maximum for the random runs: small, large, or around the current count (EINVAL at or below). */
static uint64_t random_maximum(struct run *run)
{
	static const uint64_t fixed_choices[] = { 1, 2, 3, 5, 8, 41, 100, 1000, 1 << 20 };
	struct raw_fdinfo fi;
	uint64_t c;

	switch (rnd(&run->rng, 4)) {
	case 0:
		return U64_MAX_VAL;
	case 1:
		if (raw_fdinfo(run->fd, &fi) || fi.count == 0)
			return 2;
		c = fi.count + rnd(&run->rng, 3) - 1;	/* count - 1, count or count + 1 */
		return c ? c : 1;
	default:
		return fixed_choices[rnd(&run->rng, ARRAY_SIZE(fixed_choices))];
	}
}

/* Checks what poll and fdinfo show against what is invariant in this run. */
static void sample(struct run *run, uint64_t maximum)
{
	const struct run_cfg *cfg = run->cfg;
	struct raw_fdinfo fi;
	int mask = poll_mask(run->fd);

	run->chaos.samples++;
	if (mask < 0 || (mask & ~(POLLIN | POLLOUT | POLLERR)))
		violation(run, "poll mask %#x", mask);
	if (raw_fdinfo(run->fd, &fi) || fi.lines != 4 || fi.maximum != maximum ||
	    fi.semaphore != cfg->semaphore || fi.count > fi.maximum) {
		violation(run, "fdinfo: %d lines, count %#" PRIx64 ", maximum %#" PRIx64 " (set %#"
			  PRIx64 "), sem %d", fi.lines, fi.count, fi.maximum, maximum,
			  fi.semaphore);
		return;
	}
	/* Only a value given back after EFAULT can fill the count up to the maximum. */
	if (cfg->fixed_max && !cfg->efault_reader &&
	    (fi.count >= cfg->fixed_max || (mask > 0 && (mask & POLLERR))))
		violation(run, "fixed maximum %" PRIu64 ": count %" PRIu64 ", poll %#x",
			  cfg->fixed_max, fi.count, mask);
}

/* Records @maximum as the next one in effect, for writers to judge EINVAL against. */
static void publish_maximum(struct run *run, uint64_t maximum)
{
	uint64_t g = __atomic_load_n(&run->max_gen, __ATOMIC_SEQ_CST) + 1;

	__atomic_store_n(&run->history[g % HISTORY], maximum, __ATOMIC_SEQ_CST);
	__atomic_store_n(&run->max_gen, g, __ATOMIC_SEQ_CST);
}

/*
 * Sets a random maximum.  It is refused (EINVAL) only at or below the count, which never exceeds
 * the maximum in effect, and then the maximum stays; otherwise GET_MAXIMUM reads it back.
 * Returns the maximum in effect.
 */
static uint64_t change_maximum(struct run *run, uint64_t old)
{
	uint64_t maximum = random_maximum(run), got;
	int r;

	publish_maximum(run, maximum);
	r = efdm_set_max(run->fd, maximum);
	if (r == -EINVAL && maximum <= old) {
		run->chaos.set_max_einval++;
		publish_maximum(run, old);
		maximum = old;
	} else if (r) {
		violation(run, "SET_MAXIMUM %" PRIu64 " (was %" PRIu64 "): %s", maximum, old,
			  strerror(-r));
	} else {
		run->chaos.set_max++;
	}
	got = efdm_get_max(run->fd);
	if (got != maximum)
		violation(run, "GET_MAXIMUM %" PRIu64 " after SET %" PRIu64 " (%s)", got, maximum,
			  r ? "refused" : "accepted");
	return maximum;
}

/* Interrupts a worker, preferring one asleep in a blocking read or write (so: EINTR). */
static void signal_worker(struct run *run)
{
	int start = (int)rnd(&run->rng, (uint64_t)run->nworkers);
	struct worker *target = &run->w[start];

	for (int i = 0; i < run->nworkers; i++) {
		struct worker *w = &run->w[(start + i) % run->nworkers];

		if (w->mode == M_BLOCK && task_sleeping(atomic_load(&w->tid))) {
			target = w;
			break;
		}
	}
	pthread_kill(target->thread, SIGUSR1);
	run->chaos.signals++;
}

/*
 * The floors of work a run must reach (its "minimum work" result): every worker got a read or
 * write through, the chaos thread changed the maximum, signalled, sampled and toggled enough, and
 * there were EINTRs (where workers block) and EFAULTs (where a reader reads into NULL).
 */
static bool enough_work(struct run *run)
{
	const struct run_cfg *cfg = run->cfg;
	const struct chaos_stats *c = &run->chaos;

	for (int i = 0; i < run->nworkers; i++)
		if (!atomic_load(&run->w[i].progressed))
			return false;
	return c->signals >= MIN_CHAOS && c->samples >= MIN_CHAOS &&
	       (cfg->nonblock_file || (c->toggles >= MIN_CHAOS && atomic_load(&run->eintrs))) &&
	       (!cfg->efault_reader || atomic_load(&run->efaults)) &&
	       (cfg->fixed_max || c->set_max >= MIN_SET_MAX);
}

static void *chaos_main(void *arg)
{
	struct run *run = arg;
	const struct run_cfg *cfg = run->cfg;
	uint64_t maximum = cfg->fixed_max ? cfg->fixed_max : U64_MAX_VAL;

	while (!atomic_load(&run->stop)) {
		run->chaos.rounds++;
		switch (rnd(&run->rng, 8)) {
		case 0:
		case 1:
		case 2:
			if (!cfg->fixed_max)
				maximum = change_maximum(run, maximum);
			break;
		case 3:
			if (cfg->nonblock_file)
				break;
			if (set_nonblock(run->fd, rnd(&run->rng, 2)))
				violation(run, "fcntl(F_SETFL) failed");
			run->chaos.toggles++;
			break;
		case 4:
			signal_worker(run);
			break;
		default:
			sample(run, maximum);
		}
		if (!atomic_load(&run->chaos.enough) && enough_work(run))
			atomic_store(&run->chaos.enough, true);
		sleep_ms((unsigned int)rnd(&run->rng, 2));
	}
	return NULL;
}

static void add_stats(struct stats *to, const struct stats *from)
{
	to->ok += from->ok;
	to->sum += from->sum;
	to->eagain += from->eagain;
	to->eintr += from->eintr;
	to->einval += from->einval;
	to->efault += from->efault;
}

static void print_stats(const char *what, const struct stats *s)
{
	ksft_print_msg("  %s: %" PRIu64 " ok (sum %" PRIu64 "), %" PRIu64 " EAGAIN, %" PRIu64
		       " EINTR, %" PRIu64 " EINVAL, %" PRIu64 " EFAULT\n", what, s->ok, s->sum,
		       s->eagain, s->eintr, s->einval, s->efault);
}

/* Joins every worker of @role within JOIN_MS overall; interrupts readers until they return. */
static bool join_role(struct run *run, enum role role)
{
	uint64_t deadline = now_ms() + JOIN_MS;
	bool all = true;

	for (int i = 0; i < run->nworkers; i++) {
		struct worker *w = &run->w[i];

		if (w->role != role)
			continue;
		while (role == READER && !atomic_load(&w->finished) && now_ms() < deadline) {
			pthread_kill(w->thread, SIGUSR1);	/* ends a blocking read: EINTR */
			sleep_ms(2);
		}
		while (join_bounded(w->thread, 100)) {
			if (now_ms() >= deadline) {
				ksft_print_msg("%s %d (%s) did not finish within %d ms\n",
					       role == WRITER ? "writer" : "reader", w->index,
					       mode_name[w->mode], JOIN_MS);
				all = false;
				break;
			}
			if (role == READER)
				pthread_kill(w->thread, SIGUSR1);
		}
	}
	return all;
}

static void add_worker(struct run *run, enum role role, enum mode mode, int index)
{
	struct worker *w = &run->w[run->nworkers++];
	struct epoll_event ev = { .events = role == WRITER ? EPOLLOUT | EPOLLET : EPOLLIN };

	w->run = run;
	w->role = role;
	w->mode = mode;
	w->index = index;
	w->rng = (seed ^ ((uint64_t)run->nworkers * 0x9e3779b97f4a7c15ULL) ^ (uint64_t)run->fd) | 1;
	w->epfd = -1;
	if (mode == M_EPOLL) {
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (w->epfd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, run->fd, &ev))
			ksft_exit_fail_msg("epoll setup: %s\n", strerror(errno));
	}
}

/* Reads what is left (a semaphore only up to a bound); returns the total drained. */
static uint64_t drain(struct run *run)
{
	uint64_t drained = 0, v = 0;
	ssize_t r;

	set_nonblock(run->fd, true);
	for (int n = 0; n < 10000; n++) {
		r = efd_read(run->fd, &v);
		if (r == -EAGAIN)
			break;
		if (r != 8 || v == 0 || (run->cfg->semaphore && v != 1)) {
			violation(run, "drain read: %zd, value %" PRIu64, r, v);
			break;
		}
		drained += v;
	}
	return drained;
}

static void one_run(const struct run_cfg *cfg, uint64_t ms)
{
	static struct run runbuf;
	struct run *run = &runbuf;
	struct stats wsum = { 0 }, rsum = { 0 };
	pthread_t chaos;
	struct raw_fdinfo fi;
	uint64_t start, drained, left = 0, lost;
	bool joined, conserved;
	int i;

	memset(run, 0, sizeof(*run));
	run->cfg = cfg;
	run->rng = (seed ^ 0xc4a05) | 1;
	run->history[0] = cfg->fixed_max ? cfg->fixed_max : U64_MAX_VAL;
	run->fd = efdm_create(0, (cfg->semaphore ? EFD_SEMAPHORE : 0) |
			      (cfg->nonblock_file ? EFD_NONBLOCK : 0) | EFD_CLOEXEC,
			      cfg->fixed_max ? cfg->fixed_max : U64_MAX_VAL);
	if (run->fd < 0)
		ksft_exit_fail_msg("open %s: %s\n", efdm_dev_path(), strerror(errno));
	for (i = 0; i < (int)nwriters; i++)
		add_worker(run, WRITER, (enum mode)(i % 3), i);
	for (i = 0; i < (int)nreaders; i++)
		add_worker(run, READER, (enum mode)(i % 3), i);
	if (cfg->efault_reader)
		add_worker(run, READER, M_EFAULT, i);

	alarm((unsigned int)(ms / 1000) + 120);	/* last resort: SIGALRM kills a stuck run */
	start = now_ms();
	for (i = 0; i < run->nworkers; i++)
		if (pthread_create(&run->w[i].thread, NULL, worker_main, &run->w[i]))
			ksft_exit_fail_msg("pthread_create failed\n");
	if (pthread_create(&chaos, NULL, chaos_main, run))
		ksft_exit_fail_msg("pthread_create failed\n");
	/* The run's time, and longer until it has done its minimum of work (or gives up). */
	while ((now_ms() < start + ms || !atomic_load(&run->chaos.enough)) &&
	       now_ms() < start + ms + OVERTIME_MS)
		sleep_ms(10);

	/* Writers first: a blocked one is released by the readers, or by raising the maximum. */
	atomic_store(&run->stop, true);
	joined = !join_bounded(chaos, JOIN_MS);
	if (!cfg->fixed_max) {
		publish_maximum(run, U64_MAX_VAL);
		if (efdm_set_max(run->fd, U64_MAX_VAL))
			violation(run, "final SET_MAXIMUM failed");
	}
	joined = join_role(run, WRITER) && joined;
	atomic_store(&run->writers_done, true);
	joined = join_role(run, READER) && joined;

	for (i = 0; i < run->nworkers; i++)
		add_stats(run->w[i].role == WRITER ? &wsum : &rsum, &run->w[i].st);
	if (raw_fdinfo(run->fd, &fi) || fi.lines != 4)
		ksft_exit_fail_msg("fdinfo unreadable at the end\n");
	if (joined) {
		drained = drain(run);
		if (raw_fdinfo(run->fd, &fi) == 0)
			left = fi.count;
	} else {
		drained = 0;
		left = fi.count;
	}

	ksft_print_msg("%s: %" PRIu64 " ms, %d workers, %" PRIu64 " operations\n", cfg->name,
		       now_ms() - start, run->nworkers,
		       wsum.ok + wsum.eagain + wsum.eintr + wsum.einval + rsum.ok + rsum.eagain +
		       rsum.eintr + rsum.efault);
	print_stats("writes", &wsum);
	print_stats("reads ", &rsum);
	ksft_print_msg("  chaos: %" PRIu64 " rounds, %" PRIu64 " SET_MAXIMUM (%" PRIu64 " more "
		       "refused EINVAL), %" PRIu64 " O_NONBLOCK toggles, %" PRIu64 " signals, %"
		       PRIu64 " samples; drained %" PRIu64 ", left %" PRIu64 "; %u writes not "
		       "judged\n", run->chaos.rounds, run->chaos.set_max, run->chaos.set_max_einval,
		       run->chaos.toggles,
		       run->chaos.signals, run->chaos.samples, drained, left,
		       atomic_load(&run->unjudged));

	ksft_test_result(joined, "%s: every thread finished within %d ms of the stop\n", cfg->name,
			 JOIN_MS);
	/*
	 * A value given back after EFAULT saturates at the maximum: with a NULL reader on a
	 * non-semaphore counter, each EFAULT may lose up to what it took (less than the maximum).
	 */
	lost = wsum.sum - (rsum.sum + drained + left);
	if (cfg->efault_reader && !cfg->semaphore)
		conserved = wsum.sum >= rsum.sum + drained + left &&
			    lost <= rsum.efault * cfg->fixed_max;
	else
		conserved = lost == 0;
	ksft_test_result(conserved, "%s: written %" PRIu64 " == read %" PRIu64 " + final count %"
			 PRIu64 " + lost to EFAULT %" PRId64 "\n", cfg->name, wsum.sum, rsum.sum,
			 drained + left, (int64_t)lost);
	ksft_test_result(atomic_load(&run->violations) == 0,
			 "%s: every result within the contract (%u violations)%s\n", cfg->name,
			 atomic_load(&run->violations),
			 !cfg->fixed_max ? "" : cfg->efault_reader ? ", no read above the maximum" :
			 ", no read >= maximum, no POLLERR");
	ksft_test_result(atomic_load(&run->chaos.enough), "%s: minimum work within %d s over its "
			 "time: every worker, " STR(MIN_CHAOS) "+ signals and samples%s%s%s\n",
			 cfg->name, OVERTIME_MS / 1000, cfg->efault_reader ? ", EFAULTs" : "",
			 cfg->nonblock_file ? "" : ", " STR(MIN_CHAOS) "+ O_NONBLOCK toggles, EINTRs",
			 cfg->fixed_max ? "" : ", " STR(MIN_SET_MAX) "+ SET_MAXIMUMs");
	if (!joined)
		ksft_exit_fail_msg("stuck threads: cannot continue\n");
	alarm(0);
	for (i = 0; i < run->nworkers; i++)
		if (run->w[i].epfd >= 0)
			close(run->w[i].epfd);
	close(run->fd);
}

int main(int argc, char **argv)
{
	static const struct rel_opt opts[] = {
		{ "seconds", &seconds, "total duration of the four runs" },
		{ "writers", &nwriters, "writer threads per run" },
		{ "readers", &nreaders, "reader threads per run (plus an EFAULT reader)" },
		{ "seed", &seed, "random seed (0: from the clock)" },
	};
	const size_t nruns = ARRAY_SIZE(runs);

	rel_parse_opts(argc, argv, opts, ARRAY_SIZE(opts),
		       "Conservation stress of /dev/eventfd_max (TAP output).");
	if (!nwriters || !nreaders || nwriters + nreaders + 1 > MAX_WORKERS)
		ksft_exit_fail_msg("need 1 <= writers + readers < %d\n", MAX_WORKERS);
	if (!seed)
		seed = now_ns() | 1;
	if (efdm_native())
		ksft_exit_skip("needs the device (a maximum)\n");
	efdm_install_interrupt(SIGUSR1);
	ksft_print_header();
	ksft_set_plan(4 * nruns);
	ksft_print_msg("seed %" PRIu64 ", %" PRIu64 " s total, %" PRIu64 " writers, %" PRIu64
		       " readers\n", seed, seconds, nwriters, nreaders);
	for (size_t i = 0; i < nruns; i++)
		one_run(&runs[i], seconds * 1000 / nruns);
	ksft_finished();
}
