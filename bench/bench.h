/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers of eventfd_max_bench: configuration, the "channel" that hides whether a row runs on
 * native eventfd(2), /dev/eventfd_max or a one-page pipe, timing, statistics, supervised threads, and the
 * output (tables or TAP comments on stdout, JSON to --out).
 */
#ifndef EVENTFD_MAX_BENCH_H
#define EVENTFD_MAX_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#define NSEC_PER_SEC 1000000000ull
#define NSEC_PER_MSEC 1000000ull
#define U64_MAX ((uint64_t)-1)
#define PIPE_BYTES 4096		/* F_SETPIPE_SZ: one page, the back-pressure pattern the RFC cites */
#define PIPE_RECORD 8		/* bytes a pipe carries per event, like an eventfd write */

/* Scenario selection bits (--only). */
enum {
	SC_BURST = 1 << 0,
	SC_LATENCY = 1 << 1,
	SC_COALESCE = 1 << 2,
	SC_PEROP = 1 << 3,
	SC_WAKEUP = 1 << 4,
	SC_CONTENTION = 1 << 5,
	SC_ALL = (1 << 6) - 1,
};

struct config {
	const char *preset;		/* "full", "quick" or "smoke" */
	double burst_s;			/* burst/CPU: seconds per row */
	unsigned int burst_read_us;	/* burst/CPU: reader's sleep between reads */
	unsigned int lat_events;	/* latency: events per row */
	double lat_write_hz;		/* latency: writer's fixed rate */
	double lat_read_hz;		/* latency: reader's (slower) rate */
	unsigned int coal_writes;	/* coalescing: writes per row */
	unsigned int coal_read_us;	/* coalescing: reader's sleep between reads */
	unsigned long perop_iters;	/* per-op: write+read pairs per trial */
	unsigned int trials;		/* per-op and wake-up: interleaved rounds per row */
	unsigned int wakeup_iters;	/* wake-up: round trips per row */
	double contention_s;		/* contention: seconds per row */
	unsigned int contention_writers;
	uint64_t contention_max;	/* contention: the device's small maximum */
	uint64_t bounded_max;		/* the RFC's bounded case (10) */
	unsigned int scenarios;		/* SC_* */
	const char *out;		/* JSON output path or NULL */
	bool smoke;			/* TAP, assert completion and boundedness only */
	bool substituted;		/* device rows run on native eventfd(2) */
	bool strict;			/* a FAILed target makes the exit status non-zero */
	const char *accel;		/* EVENTFD_MAX_ACCEL */
	bool emulated;			/* accel is TCG: absolute times are not hardware */
	int cpu[2];			/* the two CPUs paired threads are pinned to (-1: none) */
	int ncpus;
};
extern struct config cfg;

/* What a table row measures. */
enum mech_kind { MECH_NATIVE, MECH_DEVICE, MECH_PIPE };
struct mech {
	enum mech_kind kind;
	uint64_t maximum;	/* device only */
};
#define NATIVE ((struct mech){ MECH_NATIVE, U64_MAX })
#define DEVICE(max) ((struct mech){ MECH_DEVICE, (max) })
#define PIPE ((struct mech){ MECH_PIPE, U64_MAX })

/* Every table's rows: native, device ULLONG_MAX, device with a bounded maximum, pipe. */
#define NROWS 4
void standard_rows(struct mech rows[NROWS], uint64_t bounded);

const char *mech_name(const struct mech *m);
/* "ULLONG_MAX", "10", "none" (native) or "4096B" (pipe). */
const char *mech_max(const struct mech *m, char *buf, size_t len);
/* Flow-controlled: a device with a maximum below ULLONG_MAX, or the pipe. */
bool mech_bounded(const struct mech *m);
/* The most events a reader can find queued: maximum - 1, the pipe's records, or U64_MAX. */
uint64_t mech_capacity(const struct mech *m);
/* Why an assertion that m is bounded is skipped (a bounded device was substituted), or NULL. */
const char *mech_skip(const struct mech *m);
bool mech_same(const struct mech *a, const struct mech *b);

/* An open counter or pipe; rfd == wfd for eventfds. */
struct chan {
	enum mech_kind kind;
	int rfd, wfd;
	bool one;		/* pipe: read one record per read (as EFD_SEMAPHORE reads 1) */
};
/* flags: EFD_SEMAPHORE and/or EFD_NONBLOCK, applied to both ends of a pipe too. Exits on failure. */
void chan_open(struct chan *c, const struct mech *m, int flags);
void chan_close(struct chan *c);
/* write(1) / read: 0 or -errno.  *events is the value read (records, for a pipe). */
int chan_write1(struct chan *c);
int chan_read(struct chan *c, uint64_t *events);
/* What is left after the threads stopped, read without blocking. */
uint64_t chan_drain(struct chan *c);

/* Time. */
uint64_t now_ns(void);
uint64_t thread_cpu_ns(void);
uint64_t thread_vcsw(void);		/* the calling thread's voluntary context switches (sleeps) */
void sleep_ns(uint64_t ns);		/* returns early on a kick */
void sleep_until(uint64_t abs_ns);	/* CLOCK_MONOTONIC, returns early on a kick */

/* Statistics over nanosecond samples (sorts them). */
void sort_u64(uint64_t *v, size_t n);
uint64_t pctl(const uint64_t *sorted, size_t n, double p);	/* nearest rank, p in [0,100] */

/*
 * Supervised threads: each runs fn(arg) pinned to cpu (-1: not pinned).  Threads loop until `bench_stop`
 * is set; worker_stop() sets nothing, it interrupts blocking calls with a signal (no SA_RESTART, so they
 * return EINTR) until the thread is done, and gives up loudly rather than hang.
 */
extern atomic_int bench_stop;
struct worker {
	pthread_t tid;
	void (*fn)(void *);
	void *arg;
	int cpu;
	atomic_int done;
};
void worker_start(struct worker *w, void (*fn)(void *), void *arg, int cpu);
bool worker_wait(struct worker *w, double timeout_s);	/* true if done within the timeout */
void worker_stop(struct worker *w);			/* kick until done, then join */
static inline bool stopping(void)
{
	return atomic_load_explicit(&bench_stop, memory_order_relaxed);
}

/* Output: say() prints table lines (as "# " TAP comments in smoke mode). */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Smoke mode: one TAP result; skip_reason non-NULL makes it "ok N - ... # SKIP reason". */
void tap(bool ok, const char *skip_reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Full mode: a PASS/FAIL target line. */
void target(bool pass, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void target_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int tap_count, tap_failed, targets_failed;
/* "1.03x", or "-" without a native figure. */
const char *ratio(double v, double native, char *buf, size_t len);

/* JSON to --out (no-ops without it). key is NULL inside arrays. */
void json_open(const char *path);
void json_close(void);
void json_obj(const char *key);
void json_arr(const char *key);
void json_end(void);
void json_str(const char *key, const char *v);
void json_num(const char *key, double v);
void json_u64(const char *key, uint64_t v);
void json_bool(const char *key, bool v);
void json_mech(const struct mech *m);	/* "mechanism", "maximum" and "maximum_value" fields */

/* Scenarios. */
void run_burst(void);
void run_latency(void);
void run_coalesce(void);
void run_perop(void);
void run_wakeup(void);
void run_contention(void);

#endif /* EVENTFD_MAX_BENCH_H */
