// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by all scenarios of eventfd_max_bench; see bench.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

struct config cfg;
atomic_int bench_stop;
int tap_count, tap_failed, targets_failed, goals_missed;

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

const char *cost_unit(void)
{
	return cfg.icount ? "instr" : "ns";
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct spread spread_of(const double *v, unsigned int n)
{
	double s[MAX_TRIALS];

	if (!n)
		return (struct spread){ NAN, NAN, NAN };
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	/* The lower median for an even count: a figure that was measured, not an average of two. */
	return (struct spread){ s[0], s[(n - 1) / 2], s[n - 1] };
}

const char *fmt_spread(struct spread s, int decimals, const char *suffix, char *buf, size_t len)
{
	char lo[32], hi[32];

	if (!isfinite(s.med)) {
		snprintf(buf, len, "-");
		return buf;
	}
	snprintf(lo, sizeof(lo), "%.*f", decimals, s.min);
	snprintf(hi, sizeof(hi), "%.*f", decimals, s.max);
	if (!strcmp(lo, hi))
		snprintf(buf, len, "%.*f%s", decimals, s.med, suffix);
	else
		snprintf(buf, len, "%.*f%s[%s-%s]", decimals, s.med, suffix, lo, hi);
	return buf;
}

/* ---- tables over trials ---- */

static double field(const struct results *r, unsigned int t, size_t row, const struct column *c)
{
	const char *p = (const char *)r->base + (t * r->nrows + row) * r->size + c->offset;
	double v;

	if (c->dbl) {
		memcpy(&v, p, sizeof(v));
	} else {
		uint64_t u;

		memcpy(&u, p, sizeof(u));
		v = (double)u;
	}
	return v * c->scale;
}

struct spread figure(const struct results *r, size_t row, const struct column *c, double *v)
{
	unsigned int t;

	for (t = 0; t < cfg.trials; t++) {
		v[t] = field(r, t, row, c);
		if (c->xnat)	/* trial by trial, against the native row of the same trial */
			v[t] /= field(r, t, 0, c);
	}
	return spread_of(v, cfg.trials);
}

/* The cells of the table being printed are as wide as its widest, header included. */
static int widths[16];

static const char *cell(const struct results *r, size_t row, const struct column *c, double *v, char *buf,
			size_t len)
{
	return fmt_spread(figure(r, row, c, v), c->decimals, c->xnat ? "x" : "", buf, len);
}

void table_head(const struct results *r, const struct column *cols, size_t ncols)
{
	double v[MAX_TRIALS];
	char buf[96];
	size_t i, row;

	if (ncols > sizeof(widths) / sizeof(widths[0]))
		fatal("a table of %zu columns", ncols);
	say("%-13s %-10s", "mechanism", "maximum");
	for (i = 0; i < ncols; i++) {
		widths[i] = (int)strlen(cols[i].name);
		for (row = 0; row < r->nrows; row++) {
			int w = (int)strlen(cell(r, row, &cols[i], v, buf, sizeof(buf)));

			widths[i] = w > widths[i] ? w : widths[i];
		}
		say("  %*s", widths[i], cols[i].name);
	}
	say("\n");
}

void table_row(const struct results *r, size_t row, const struct mech *m, const struct column *cols,
	       size_t ncols)
{
	double v[MAX_TRIALS];
	char mx[32], buf[96];
	size_t i;

	say("%-13s %-10s", mech_name(m), mech_max(m, mx, sizeof(mx)));
	json_mech(m);
	for (i = 0; i < ncols; i++) {
		struct spread s = figure(r, row, &cols[i], v);

		say("  %*s", widths[i], cell(r, row, &cols[i], v, buf, sizeof(buf)));
		json_figure(cols[i].key ? cols[i].key : cols[i].name, s, v);
	}
	say("\n");
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

void *table_alloc(size_t size)
{
	void *p = calloc((size_t)cfg.trials * NROWS, size);

	if (!p)
		fatal("out of memory");
	return p;
}

void run_pinned(void (*fn)(void *), void *arg)
{
	struct worker w;

	worker_start(&w, fn, arg, cfg.cpu[0]);
	worker_wait(&w, 1e6);
	worker_stop(&w);
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

/* Everything say() printed, for the JSON's "output": the report quotes the tables exactly. */
static char *printed;
static size_t printed_len;

static void keep_printed(const char *text)
{
	size_t n = strlen(text);
	char *p = realloc(printed, printed_len + n + 1);

	if (!p)
		fatal("out of memory");
	memcpy(p + printed_len, text, n + 1);
	printed = p;
	printed_len += n;
}

static void vsay(const char *fmt, va_list ap)
{
	static bool line_start = true;
	char buf[4096];
	const char *p;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (cfg.out && !cfg.smoke)
		keep_printed(buf);
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

void target(enum target_kind kind, bool pass, const char *fmt, ...)
{
	va_list ap;

	if (!pass)
		(*(kind == CHECK ? &targets_failed : &goals_missed))++;
	va_start(ap, fmt);
	vtarget(pass ? "PASS" : kind == CHECK ? "FAIL" : "MISS", fmt, ap);
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
	char *line, *end;

	if (!json)
		return;
	json_arr("output");	/* one string a line, blank lines included */
	for (line = printed; line && *line; line = end + 1) {
		end = strchr(line, '\n');
		if (end)
			*end = '\0';
		json_str(NULL, line);
		if (!end)
			break;
	}
	json_end();
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
		fprintf(json, "%.17g", v);	/* exact: the report formats it as the tables did */
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

void json_figure(const char *key, struct spread s, const double *trials)
{
	unsigned int t;

	json_obj(key);
	json_num("min", s.min);
	json_num("median", s.med);
	json_num("max", s.max);
	if (trials) {
		json_arr("trials");
		for (t = 0; t < cfg.trials; t++)
			json_num(NULL, trials[t]);
		json_end();
	}
	json_end();
}

void json_mech(const struct mech *m)
{
	char buf[32];

	json_str("mechanism", mech_name(m));
	json_str("maximum", mech_max(m, buf, sizeof(buf)));
	if ((m->kind == MECH_DEVICE && !cfg.substituted) || m->kind == MECH_FUTEX)
		json_u64("maximum_value", m->maximum);
}
