// SPDX-License-Identifier: GPL-2.0
/*
 * The mechanisms a row can run on, behind one channel interface (see bench.h).  Two of them are the
 * reviewers' alternatives to a bounded eventfd, built as a userspace programmer would build them:
 *
 * - the futex counter: a count in a MAP_SHARED page (so it works across processes that map it), bounded
 *   like the device (at most maximum - 1 queued); a writer that would reach the maximum and a reader that
 *   finds it empty sleep in FUTEX_WAIT on the count, and the other side calls FUTEX_WAKE only when its
 *   waiter count says someone sleeps, so an uncontended write+read makes no system call;
 * - the tick: an unbounded eventfd(2) that the consumer never blocks on: it reads whatever is pending and,
 *   when nothing is, sleeps until the next expiry of a periodic timerfd (every --tick-us), so it wakes at
 *   most once a tick however often the producer writes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <eventfd_max.h>

#include "bench.h"

void standard_rows(struct mech rows[NROWS], uint64_t bounded)
{
	rows[0] = NATIVE;
	rows[1] = DEVICE(UINT64_MAX);
	rows[2] = DEVICE(bounded);
	rows[3] = PIPE;
	rows[4] = FUTEX(bounded);
	rows[5] = TICK;
}

const char *mech_name(const struct mech *m)
{
	switch (m->kind) {
	case MECH_NATIVE:
		return "eventfd(2)";
	case MECH_DEVICE:
		return cfg.substituted ? "eventfd_max*" : "eventfd_max";
	case MECH_PIPE:
		return "pipe";
	case MECH_FUTEX:
		return "futex";
	default:
		return "eventfd+tick";
	}
}

const char *mech_max(const struct mech *m, char *buf, size_t len)
{
	if (m->kind == MECH_NATIVE)
		snprintf(buf, len, "none");
	else if (m->kind == MECH_PIPE)
		snprintf(buf, len, "%dB", PIPE_BYTES);
	else if (m->kind == MECH_TICK)
		snprintf(buf, len, "tick%uus", cfg.tick_us);
	else if (m->maximum == UINT64_MAX)
		snprintf(buf, len, "ULLONG_MAX");
	else
		snprintf(buf, len, "%" PRIu64, m->maximum);
	return buf;
}

bool mech_bounded(const struct mech *m)
{
	return mech_capacity(m) != UINT64_MAX;
}

uint64_t mech_capacity(const struct mech *m)
{
	if (m->kind == MECH_PIPE)
		return PIPE_BYTES / PIPE_RECORD;
	if ((m->kind == MECH_DEVICE || m->kind == MECH_FUTEX) && m->maximum != UINT64_MAX)
		return m->maximum - 1;
	return UINT64_MAX;
}

const char *mech_skip(const struct mech *m)
{
	if (m->kind == MECH_DEVICE && mech_bounded(m) && cfg.substituted)
		return "device substituted by native eventfd(2): no maximum enforced";
	return NULL;
}

bool mech_pollable(const struct mech *m)
{
	return m->kind != MECH_FUTEX;
}

/* ---- the futex counter ---- */

struct futex_counter {
	_Atomic uint32_t count;		/* events queued; the futex word both sides sleep on */
	_Atomic uint32_t readers;	/* readers in (or entering) FUTEX_WAIT */
	_Atomic uint32_t writers;	/* writers in (or entering) FUTEX_WAIT */
};

/* Sleeps while *word == val: 0, or -EINTR on a kick (any other return is a spurious wake: re-check). */
static int futex_wait(_Atomic uint32_t *word, uint32_t val)
{
	/* Not FUTEX_PRIVATE_FLAG: the page is MAP_SHARED, for a producer in another process. */
	if (syscall(SYS_futex, word, FUTEX_WAIT, val, NULL, NULL, 0) < 0 && errno == EINTR)
		return -EINTR;
	return 0;
}

static void futex_wake_all(_Atomic uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/*
 * Waiters announce themselves (seq_cst increment) before FUTEX_WAIT, which sleeps only if the count is
 * still the value they saw; wakers change the count (seq_cst) before reading the announcement.  So either
 * the waker sees the waiter and wakes it, or the waiter's FUTEX_WAIT sees the new count and returns.
 */
static int futex_sleep(struct chan *c, _Atomic uint32_t *waiters, uint32_t seen)
{
	int r;

	atomic_fetch_add(waiters, 1);
	r = futex_wait(&c->fc->count, seen);
	atomic_fetch_sub(waiters, 1);
	return r;
}

static int futex_write1(struct chan *c)
{
	struct futex_counter *f = c->fc;
	uint32_t n = atomic_load(&f->count);
	int r;

	for (;;) {
		if (n + 1ull >= c->maximum) {	/* full: wait for a read to make room */
			if (c->nonblock)
				return -EAGAIN;
			if ((r = futex_sleep(c, &f->writers, n)))
				return r;
			n = atomic_load(&f->count);
		} else if (atomic_compare_exchange_weak(&f->count, &n, n + 1)) {
			break;
		}
	}
	if (atomic_load(&f->readers))
		futex_wake_all(&f->count);
	return 0;
}

static int futex_read(struct chan *c, uint64_t *events)
{
	struct futex_counter *f = c->fc;
	uint32_t n = atomic_load(&f->count), take;
	int r;

	for (;;) {
		if (!n) {
			if (c->nonblock)
				return -EAGAIN;
			if ((r = futex_sleep(c, &f->readers, 0)))
				return r;
			n = atomic_load(&f->count);
			continue;
		}
		take = c->one ? 1 : n;
		if (atomic_compare_exchange_weak(&f->count, &n, n - take))
			break;
	}
	if (atomic_load(&f->writers))
		futex_wake_all(&f->count);
	*events = take;
	return 0;
}

/* ---- channels ---- */

static int eventfd_or_die(int flags)
{
	int fd = eventfd(0, flags | EFD_CLOEXEC);

	if (fd < 0)
		fatal("eventfd: %s", strerror(errno));
	return fd;
}

static void open_pipe(struct chan *c, int flags)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC | ((flags & EFD_NONBLOCK) ? O_NONBLOCK : 0)) < 0)
		fatal("pipe2: %s", strerror(errno));
	if (fcntl(fds[1], F_SETPIPE_SZ, PIPE_BYTES) != PIPE_BYTES)
		fatal("F_SETPIPE_SZ %d: %s", PIPE_BYTES, strerror(errno));
	c->rfd = fds[0];
	c->wfd = fds[1];
}

static void open_tick(struct chan *c, int flags)
{
	struct timespec tick = { .tv_sec = cfg.tick_us / 1000000, .tv_nsec = cfg.tick_us % 1000000 * 1000L };
	struct itimerspec its = { .it_interval = tick, .it_value = tick };

	/* The consumer never blocks on the eventfd: it reads what is pending, else waits for a tick. */
	c->rfd = c->wfd = eventfd_or_die(flags | EFD_NONBLOCK);
	c->pfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | ((flags & EFD_NONBLOCK) ? TFD_NONBLOCK : 0));
	if (c->pfd < 0 || timerfd_settime(c->pfd, 0, &its, NULL))
		fatal("timerfd: %s", strerror(errno));
}

static void open_futex(struct chan *c, const struct mech *m)
{
	void *p = mmap(NULL, sizeof(struct futex_counter), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		fatal("mmap: %s", strerror(errno));
	c->fc = p;
	/* Zero already, but storing faults the page in now rather than in the first measured operation. */
	atomic_store(&c->fc->count, 0);
	atomic_store(&c->fc->readers, 0);
	atomic_store(&c->fc->writers, 0);
	c->maximum = m->maximum;
	c->rfd = c->wfd = c->pfd = -1;
}

void chan_open(struct chan *c, const struct mech *m, int flags)
{
	memset(c, 0, sizeof(*c));
	c->kind = m->kind;
	c->one = flags & EFD_SEMAPHORE;
	c->nonblock = flags & EFD_NONBLOCK;
	switch (m->kind) {
	case MECH_PIPE:
		open_pipe(c, flags);
		break;
	case MECH_FUTEX:
		open_futex(c, m);
		return;
	case MECH_TICK:
		open_tick(c, flags);
		return;
	case MECH_DEVICE:
		if (!cfg.substituted) {
			c->rfd = c->wfd = eventfd_max(0, flags | EFD_CLOEXEC, m->maximum);
			if (c->rfd < 0)
				fatal("eventfd_max(maximum=%" PRIu64 "): %s (module not loaded? insmod "
				      "eventfd_max.ko, or set EVENTFD_MAX_NATIVE=1 to substitute eventfd(2))",
				      m->maximum, strerror(errno));
			break;
		}
		__attribute__((fallthrough));	/* substituted device */
	case MECH_NATIVE:
		c->rfd = c->wfd = eventfd_or_die(flags);
		break;
	}
	c->pfd = c->rfd;
}

void chan_close(struct chan *c)
{
	if (c->fc) {
		munmap(c->fc, sizeof(*c->fc));
		return;
	}
	close(c->rfd);
	if (c->wfd != c->rfd)
		close(c->wfd);
	if (c->pfd != c->rfd)
		close(c->pfd);
}

int chan_write1(struct chan *c)
{
	uint64_t one = 1;
	ssize_t n;

	if (c->fc)
		return futex_write1(c);
	n = write(c->wfd, &one, sizeof(one));
	if (n == sizeof(one))
		return 0;
	if (n >= 0)	/* 8 bytes are below PIPE_BUF: never split */
		fatal("short write of %zd bytes", n);
	return -errno;
}

static int fd_read(struct chan *c, uint64_t *events)
{
	char buf[PIPE_BYTES] __attribute__((aligned(8)));
	size_t want = (c->kind == MECH_PIPE && !c->one) ? sizeof(buf) : sizeof(uint64_t);
	ssize_t n = read(c->rfd, buf, want);

	if (n < 0)
		return -errno;
	if (c->kind != MECH_PIPE) {
		if (n != sizeof(uint64_t))
			fatal("eventfd read returned %zd", n);
		memcpy(events, buf, sizeof(*events));
		return 0;
	}
	if (n == 0 || n % PIPE_RECORD)	/* records are written whole, so reads see whole records */
		fatal("pipe read returned %zd bytes", n);
	*events = (uint64_t)n / PIPE_RECORD;
	return 0;
}

/* What is pending now, or else the next tick's worth: the consumer never waits on the eventfd itself. */
static int tick_read(struct chan *c, uint64_t *events)
{
	uint64_t expirations;

	for (;;) {
		int r = fd_read(c, events);

		if (r != -EAGAIN || c->nonblock)
			return r;
		if (read(c->pfd, &expirations, sizeof(expirations)) < 0)
			return -errno;
	}
}

int chan_read(struct chan *c, uint64_t *events)
{
	if (c->fc)
		return futex_read(c, events);
	if (c->kind == MECH_TICK)
		return tick_read(c, events);
	return fd_read(c, events);
}

int chan_wait_room(struct chan *c)
{
	struct pollfd p = { .fd = c->wfd, .events = POLLOUT };
	uint32_t n;

	if (!c->fc)
		return poll(&p, 1, -1) < 0 ? -errno : 0;
	n = atomic_load(&c->fc->count);
	return n + 1ull >= c->maximum ? futex_sleep(c, &c->fc->writers, n) : 0;
}

/* A read would not block: the futex and tick channels honour nonblock, the other fds are polled. */
static bool readable_now(struct chan *c)
{
	struct pollfd p = { .fd = c->rfd, .events = POLLIN };

	return c->fc || c->kind == MECH_TICK || (poll(&p, 1, 0) == 1 && (p.revents & POLLIN));
}

uint64_t chan_drain(struct chan *c)
{
	uint64_t total = 0, v;
	bool nonblock = c->nonblock;

	c->nonblock = true;
	while (readable_now(c) && chan_read(c, &v) == 0)
		total += v;
	c->nonblock = nonblock;
	return total;
}
