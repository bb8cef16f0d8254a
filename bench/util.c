// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by all scenarios of eventfd_max_bench; see bench.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <eventfd_max.h>

#include "bench.h"

struct config cfg;
atomic_int bench_stop;
int tap_count, tap_failed, targets_failed;

/* ---- mechanisms and channels ---- */

void standard_rows(struct mech rows[NROWS], uint64_t bounded)
{
	rows[0] = NATIVE;
	rows[1] = DEVICE(U64_MAX);
	rows[2] = DEVICE(bounded);
	rows[3] = PIPE;
}

const char *mech_name(const struct mech *m)
{
	switch (m->kind) {
	case MECH_NATIVE:
		return "eventfd(2)";
	case MECH_DEVICE:
		return cfg.substituted ? "eventfd_max*" : "eventfd_max";
	default:
		return "pipe";
	}
}

const char *mech_max(const struct mech *m, char *buf, size_t len)
{
	if (m->kind == MECH_NATIVE)
		snprintf(buf, len, "none");
	else if (m->kind == MECH_PIPE)
		snprintf(buf, len, "%dB", PIPE_BYTES);
	else if (m->maximum == U64_MAX)
		snprintf(buf, len, "ULLONG_MAX");
	else
		snprintf(buf, len, "%" PRIu64, m->maximum);
	return buf;
}

bool mech_bounded(const struct mech *m)
{
	return mech_capacity(m) != U64_MAX;
}

uint64_t mech_capacity(const struct mech *m)
{
	if (m->kind == MECH_PIPE)
		return PIPE_BYTES / PIPE_RECORD;
	if (m->kind == MECH_DEVICE && m->maximum != U64_MAX)
		return m->maximum - 1;
	return U64_MAX;
}

const char *mech_skip(const struct mech *m)
{
	if (m->kind == MECH_DEVICE && mech_bounded(m) && cfg.substituted)
		return "device substituted by native eventfd(2): no maximum enforced";
	return NULL;
}

void chan_open(struct chan *c, const struct mech *m, int flags)
{
	int fds[2];

	memset(c, 0, sizeof(*c));
	c->kind = m->kind;
	c->one = flags & EFD_SEMAPHORE;
	switch (m->kind) {
	case MECH_PIPE:
		if (pipe2(fds, O_CLOEXEC | ((flags & EFD_NONBLOCK) ? O_NONBLOCK : 0)) < 0)
			fatal("pipe2: %s", strerror(errno));
		if (fcntl(fds[1], F_SETPIPE_SZ, PIPE_BYTES) != PIPE_BYTES)
			fatal("F_SETPIPE_SZ %d: %s", PIPE_BYTES, strerror(errno));
		c->rfd = fds[0];
		c->wfd = fds[1];
		return;
	case MECH_DEVICE:
		if (!cfg.substituted) {
			uint64_t got = 0;

			c->rfd = eventfd_max(0, flags | EFD_CLOEXEC, m->maximum);
			if (c->rfd < 0)
				fatal("eventfd_max(maximum=%" PRIu64 "): %s (module not loaded? insmod "
				      "eventfd_max.ko, or set EVENTFD_MAX_NATIVE=1 to substitute eventfd(2))",
				      m->maximum, strerror(errno));
			if (ioctl(c->rfd, EFD_IOC_GET_MAXIMUM, &got) < 0 || got != m->maximum)
				fatal("EFD_IOC_GET_MAXIMUM: %s, got %" PRIu64 " want %" PRIu64,
				      strerror(errno), got, m->maximum);
			c->wfd = c->rfd;
			return;
		}
		__attribute__((fallthrough));	/* substituted device */
	case MECH_NATIVE:
		c->rfd = c->wfd = eventfd(0, flags | EFD_CLOEXEC);
		if (c->rfd < 0)
			fatal("eventfd: %s", strerror(errno));
		return;
	}
}

void chan_close(struct chan *c)
{
	close(c->rfd);
	if (c->wfd != c->rfd)
		close(c->wfd);
}

int chan_write1(struct chan *c)
{
	uint64_t one = 1;
	ssize_t n = write(c->wfd, &one, sizeof(one));

	if (n == sizeof(one))
		return 0;
	if (n >= 0)	/* 8 bytes are below PIPE_BUF: never split */
		fatal("short write of %zd bytes", n);
	return -errno;
}

int chan_read(struct chan *c, uint64_t *events)
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

uint64_t chan_drain(struct chan *c)
{
	uint64_t total = 0, v;
	struct pollfd p = { .fd = c->rfd, .events = POLLIN };

	while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN) && chan_read(c, &v) == 0)
		total += v;
	return total;
}

/* ---- time and statistics ---- */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t thread_cpu_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

uint64_t thread_vcsw(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		fatal("getrusage(RUSAGE_THREAD): %s", strerror(errno));
	return (uint64_t)ru.ru_nvcsw;
}

static struct timespec ts_of(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / NSEC_PER_SEC),
				  .tv_nsec = (long)(ns % NSEC_PER_SEC) };
}

void sleep_ns(uint64_t ns)
{
	struct timespec ts = ts_of(ns);

	clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
}

void sleep_until(uint64_t abs_ns)
{
	struct timespec ts = ts_of(abs_ns);

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

void sort_u64(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
}

uint64_t pctl(const uint64_t *sorted, size_t n, double p)
{
	size_t rank;

	if (!n)
		return 0;
	rank = (size_t)ceil(p / 100.0 * (double)n);
	return sorted[rank ? rank - 1 : 0];
}

/* ---- supervised threads ---- */

static void kick_handler(int sig)
{
	(void)sig;	/* only there to interrupt a blocking call */
}

static void install_kick(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };	/* no SA_RESTART: EINTR */

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

static void *trampoline(void *p)
{
	struct worker *w = p;

	if (w->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
			fatal("cannot pin a thread to CPU %d", w->cpu);
	}
	w->fn(w->arg);
	atomic_store(&w->done, 1);
	return NULL;
}

void worker_start(struct worker *w, void (*fn)(void *), void *arg, int cpu)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int err;

	pthread_once(&once, install_kick);
	w->fn = fn;
	w->arg = arg;
	w->cpu = cpu;
	atomic_store(&w->done, 0);
	err = pthread_create(&w->tid, NULL, trampoline, w);
	if (err)
		fatal("pthread_create: %s", strerror(err));
}

bool worker_wait(struct worker *w, double timeout_s)
{
	uint64_t end = now_ns() + (uint64_t)(timeout_s * NSEC_PER_SEC);

	while (!atomic_load(&w->done)) {
		if (now_ns() > end)
			return false;
		sleep_ns(5 * NSEC_PER_MSEC);
	}
	return true;
}

void worker_stop(struct worker *w)
{
	/* Generous: an emulated guest with more threads than CPUs can be slow to schedule one. */
	uint64_t end = now_ns() + 60 * NSEC_PER_SEC;

	while (!atomic_load(&w->done)) {
		if (now_ns() > end)
			fatal("a benchmark thread did not stop within 60 s (blocked in the kernel?)");
		/* A kick landing between its stop check and its syscall is lost: repeat it. */
		pthread_kill(w->tid, SIGUSR1);
		sleep_ns(NSEC_PER_MSEC);
	}
	pthread_join(w->tid, NULL);
}

/* ---- output ---- */

static void vsay(const char *fmt, va_list ap)
{
	static bool line_start = true;
	char buf[4096];
	const char *p;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (p = buf; *p; p++) {
		if (line_start && cfg.smoke)
			fputs("# ", stdout);
		putchar(*p);
		line_start = *p == '\n';
	}
	fflush(stdout);
}

void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fflush(stdout);
	if (cfg.smoke)	/* a counted failure, then stop */
		printf("not ok %d - %s\nBail out! %s\n", ++tap_count, buf, buf);
	fprintf(stderr, "eventfd_max_bench: error: %s\n", buf);
	exit(1);
}

void tap(bool ok, const char *skip_reason, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!ok && !skip_reason)
		tap_failed++;
	if (!cfg.smoke) {
		/* Full mode asserts the same invariants but only reports violations. */
		if (!ok && !skip_reason)
			say("CHECK FAILED: %s\n", buf);
		return;
	}
	tap_count++;
	if (skip_reason)
		printf("ok %d - %s # SKIP %s\n", tap_count, buf, skip_reason);
	else
		printf("%sok %d - %s\n", ok ? "" : "not ", tap_count, buf);
	fflush(stdout);
}

static void vtarget(const char *verdict, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	json_obj(NULL);
	json_str("verdict", verdict);
	json_str("target", buf);
	json_end();
	if (!cfg.smoke)
		say("%-4s %s\n", verdict, buf);
}

void target(bool pass, const char *fmt, ...)
{
	va_list ap;

	if (!pass)
		targets_failed++;
	va_start(ap, fmt);
	vtarget(pass ? "PASS" : "FAIL", fmt, ap);
	va_end(ap);
}

void target_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vtarget("SKIP", fmt, ap);
	va_end(ap);
}

const char *ratio(double v, double native, char *buf, size_t len)
{
	if (!(native > 0) || !isfinite(v / native))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2fx", v / native);
	return buf;
}

/* ---- JSON ---- */

static FILE *json;
static int depth;
static bool first[32];
static char closer[32];	/* '}' or ']' for each open level */

static void json_key(const char *key)
{
	if (!json)
		return;
	if (!first[depth])
		fputc(',', json);
	first[depth] = false;
	if (depth <= 4)	/* one line per field down to table rows; samples stay on one line */
		fprintf(json, "\n%*s", 2 * depth, "");
	if (key)
		fprintf(json, "\"%s\": ", key);	/* keys are ours: no escaping needed */
}

void json_open(const char *path)
{
	json = fopen(path, "w");
	if (!json)
		fatal("cannot write %s: %s", path, strerror(errno));
	fputc('{', json);
	depth = 1;
	first[1] = true;
}

void json_close(void)
{
	if (!json)
		return;
	fputs("\n}\n", json);
	if (fclose(json))
		fatal("writing %s: %s", cfg.out, strerror(errno));
	json = NULL;
}

static void json_open_nested(const char *key, char c)
{
	if (!json)
		return;
	json_key(key);
	fputc(c, json);
	first[++depth] = true;
	closer[depth] = c == '{' ? '}' : ']';
}

void json_obj(const char *key)
{
	json_open_nested(key, '{');
}

void json_arr(const char *key)
{
	json_open_nested(key, '[');
}

void json_end(void)
{
	if (!json)
		return;
	depth--;
	if (depth < 4)
		fprintf(json, "\n%*s", 2 * depth, "");
	fputc(closer[depth + 1], json);
}

void json_str(const char *key, const char *v)
{
	const char *p;

	if (!json)
		return;
	json_key(key);
	fputc('"', json);
	for (p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', json);
		if ((unsigned char)*p >= 0x20)
			fputc(*p, json);
	}
	fputc('"', json);
}

void json_num(const char *key, double v)
{
	if (!json)
		return;
	json_key(key);
	if (isfinite(v))
		fprintf(json, "%.9g", v);
	else
		fputs("null", json);
}

void json_u64(const char *key, uint64_t v)
{
	if (!json)
		return;
	json_key(key);
	fprintf(json, "%" PRIu64, v);
}

void json_bool(const char *key, bool v)
{
	if (!json)
		return;
	json_key(key);
	fputs(v ? "true" : "false", json);
}

void json_mech(const struct mech *m)
{
	char buf[32];

	json_str("mechanism", mech_name(m));
	json_str("maximum", mech_max(m, buf, sizeof(buf)));
	if (m->kind == MECH_DEVICE && !cfg.substituted)
		json_u64("maximum_value", m->maximum);
}
