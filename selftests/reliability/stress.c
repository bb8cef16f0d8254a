// SPDX-License-Identifier: GPL-2.0
/*
 * Conservation stress for /dev/eventfd_max: W writer and R reader threads hammer one counter, with
 * blocking read(2)/write(2), RWF_NOWAIT calls waiting in poll(2), and RWF_NOWAIT calls waiting in
 * epoll_wait(2) mixed; a chaos thread changes the maximum at random, toggles O_NONBLOCK, interrupts
 * workers with a signal (EINTR must consume nothing) and samples poll/fdinfo.  Five runs:
 *
 *   nonsem-random-max   non-semaphore, random maximum, plus a reader that reads into NULL
 *                       (EFAULT must give the value back: conservation checks it)
 *   sem-random-max      the same with EFD_SEMAPHORE
 *   nonsem-fixed-max    maximum 7 throughout: no read may return >= 7, no poll may show POLLERR
 *   sem-fixed-max-nb    semaphore, maximum 3, file opened O_NONBLOCK (so "blocking" threads poll)
 *   nonsem-fixed-max-efault
 *                       maximum 7 plus the NULL reader: a value given back after EFAULT must not
 *                       land on top of what writers added meanwhile (no read or count >= 7)
 *
 * At the end of each run: written == read + final count exactly, every thread was joined within a
 * bound, and every result was one the contract allows.  Shutdown: writers stop first (a blocked one
 * is released by readers draining, or by raising the maximum), then readers, released from a
 * blocking read by signals; the count left is read from fdinfo and drained.
 *
 * Usage: stress [--seconds N] [--writers N] [--readers N] [--seed N]
 *   --seconds is the total over the runs (default 4, for CI; use minutes to soak).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/epoll.h>

#include "rel_util.h"
#include "kselftest.h"

#define MAX_WORKERS	64
#define WAIT_MS		20	/* a non-blocking worker's poll/epoll wait */
#define JOIN_MS		20000	/* how long a stopping thread may take */
#define RANDOM_VALUES	41	/* random-maximum runs write 0..40 */

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
	{ "nonsem-random-max", false, 0, false, true },
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
	atomic_bool finished;
};

struct chaos_stats {
	uint64_t set_max, toggles, signals, samples;
};

struct run {
	const struct run_cfg *cfg;
	int fd;
	atomic_bool stop;		/* writers and the chaos thread stop */
	atomic_bool writers_done;	/* then readers stop */
	uint64_t min_max;		/* the smallest maximum ever set (__atomic) */
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

/* One write or read in the worker's style; returns 8 or -errno. */
static ssize_t do_io(struct worker *w, void *buf)
{
	struct iovec iov = { .iov_base = buf, .iov_len = 8 };
	ssize_t r;

	if (w->mode == M_BLOCK)
		r = w->role == WRITER ? write(w->run->fd, buf, 8) : read(w->run->fd, buf, 8);
	else if (w->role == WRITER)
		r = pwritev2(w->run->fd, &iov, 1, -1, RWF_NOWAIT);
	else
		r = preadv2(w->run->fd, &iov, 1, -1, RWF_NOWAIT);
	return r < 0 ? -errno : r;
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
	uint64_t fixed = run->cfg->fixed_max;

	while (!atomic_load(&run->stop)) {
		uint64_t v = pick_value(w);
		ssize_t r = do_io(w, &v);

		if (r == 8) {
			w->st.ok++;
			w->st.sum += v;
			if (v == U64_MAX_VAL || (fixed && v >= fixed))
				violation(run, "write of %#" PRIx64 " succeeded (maximum %"
					  PRIu64 ")", v, fixed);
			continue;
		}
		switch (-r) {
		case EAGAIN:
			w->st.eagain++;
			wait_ready(w, POLLOUT);
			break;
		case EINTR:
			w->st.eintr++;
			break;
		case EINVAL:
			w->st.einval++;
			/* Only a value at or above some maximum that was set may be refused. */
			if (v < (fixed ? fixed : __atomic_load_n(&run->min_max, __ATOMIC_SEQ_CST)))
				violation(run, "write of %" PRIu64 ": EINVAL below every maximum",
					  v);
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
			w->st.sum += v;
			if (bad)
				violation(run, "read into NULL succeeded");
			else if (v == 0 || (run->cfg->semaphore && v != 1) || (fixed && v >= fixed))
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
			break;
		case EFAULT:
			w->st.efault++;
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

	if (w->role == WRITER)
		writer(w);
	else
		reader(w);
	atomic_store(&w->finished, true);
	return NULL;
}

/* A maximum for the random runs: small, large, or around the current count (POLLERR cases). */
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
	    fi.semaphore != cfg->semaphore) {
		violation(run, "fdinfo: %d lines, maximum %#" PRIx64 " (set %#" PRIx64 "), sem %d",
			  fi.lines, fi.maximum, maximum, fi.semaphore);
		return;
	}
	if (cfg->fixed_max && (fi.count >= cfg->fixed_max || (mask > 0 && (mask & POLLERR))))
		violation(run, "fixed maximum %" PRIu64 ": count %" PRIu64 ", poll %#x",
			  cfg->fixed_max, fi.count, mask);
}

static void *chaos_main(void *arg)
{
	struct run *run = arg;
	const struct run_cfg *cfg = run->cfg;
	uint64_t maximum = cfg->fixed_max ? cfg->fixed_max : U64_MAX_VAL, got;

	while (!atomic_load(&run->stop)) {
		switch (rnd(&run->rng, 8)) {
		case 0:
		case 1:
		case 2:
			if (cfg->fixed_max)
				break;
			maximum = random_maximum(run);
			if (maximum < __atomic_load_n(&run->min_max, __ATOMIC_SEQ_CST))
				__atomic_store_n(&run->min_max, maximum, __ATOMIC_SEQ_CST);
			if (efdm_set_max(run->fd, maximum))
				violation(run, "SET_MAXIMUM %" PRIu64 " failed", maximum);
			got = efdm_get_max(run->fd);
			if (got != maximum)
				violation(run, "GET_MAXIMUM %" PRIu64 " after SET %" PRIu64, got,
					  maximum);
			run->chaos.set_max++;
			break;
		case 3:
			if (cfg->nonblock_file)
				break;
			if (set_nonblock(run->fd, rnd(&run->rng, 2)))
				violation(run, "fcntl(F_SETFL) failed");
			run->chaos.toggles++;
			break;
		case 4:
			pthread_kill(run->w[rnd(&run->rng, run->nworkers)].thread, SIGUSR1);
			run->chaos.signals++;
			break;
		default:
			sample(run, maximum);
		}
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
	uint64_t start, drained, left = 0;
	bool joined;
	int i;

	memset(run, 0, sizeof(*run));
	run->cfg = cfg;
	run->rng = (seed ^ 0xc4a05) | 1;
	run->min_max = cfg->fixed_max ? cfg->fixed_max : U64_MAX_VAL;
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
	sleep_ms((unsigned int)ms);

	/* Writers first: a blocked one is released by the readers, or by raising the maximum. */
	atomic_store(&run->stop, true);
	joined = !join_bounded(chaos, JOIN_MS);
	if (!cfg->fixed_max && efdm_set_max(run->fd, U64_MAX_VAL))
		violation(run, "final SET_MAXIMUM failed");
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
	ksft_print_msg("  chaos: %" PRIu64 " SET_MAXIMUM, %" PRIu64 " O_NONBLOCK toggles, %" PRIu64
		       " signals, %" PRIu64 " samples; drained %" PRIu64 ", left %" PRIu64 "\n",
		       run->chaos.set_max, run->chaos.toggles, run->chaos.signals,
		       run->chaos.samples, drained, left);

	ksft_test_result(joined, "%s: every thread finished within %d ms of the stop\n", cfg->name,
			 JOIN_MS);
	ksft_test_result(wsum.sum == rsum.sum + drained + left && wsum.ok > 0 && rsum.ok > 0,
			 "%s: written %" PRIu64 " == read %" PRIu64 " + final count %" PRIu64 "\n",
			 cfg->name, wsum.sum, rsum.sum, drained + left);
	ksft_test_result(atomic_load(&run->violations) == 0,
			 "%s: every result within the contract (%u violations)%s\n", cfg->name,
			 atomic_load(&run->violations),
			 cfg->fixed_max ? ", no read >= maximum, no POLLERR" : "");
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
		ksft_exit_skip("needs the device (maximum, RWF_NOWAIT writes)\n");
	rel_install_interrupt(SIGUSR1);
	ksft_print_header();
	ksft_set_plan(3 * nruns);
	ksft_print_msg("seed %" PRIu64 ", %" PRIu64 " s total, %" PRIu64 " writers, %" PRIu64
		       " readers\n", seed, seconds, nwriters, nreaders);
	for (size_t i = 0; i < nruns; i++)
		one_run(&runs[i], seconds * 1000 / nruns);
	ksft_finished();
}
