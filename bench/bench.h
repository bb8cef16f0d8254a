/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers of eventfd_max_bench: configuration, the "channel" that hides which mechanism a row runs
 * on (native eventfd(2), /dev/eventfd_max, a one-page pipe, a futex counter in shared memory, eventfd(2)
 * read on a timerfd tick), timing, statistics, supervised threads, and the output (tables or TAP comments
 * on stdout, JSON to --out).
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
#define PIPE_BYTES 4096		/* F_SETPIPE_SZ: one page, the back-pressure pattern the RFC cites */
#define PIPE_RECORD 8		/* bytes a pipe carries per event, like an eventfd write */
#define MAX_TRIALS 99

/* Scenario selection bits (--only). */
enum {
	SC_BURST = 1 << 0,
	SC_LATENCY = 1 << 1,
	SC_COALESCE = 1 << 2,
	SC_PEROP = 1 << 3,
	SC_WAKEUP = 1 << 4,
	SC_CONTENTION = 1 << 5,
	SC_CALIBRATE = 1 << 6,
	SC_ALL = (1 << 6) - 1,	/* calibrate is asked for by name */
};

struct config {
	const char *preset;		/* "full", "quick", "icount" or "smoke" */
	double burst_s;			/* burst/CPU: seconds per row */
	unsigned int burst_read_us;	/* burst/CPU: reader's sleep between reads */
	unsigned int lat_events;	/* latency: events per row */
	double lat_write_hz;		/* latency: writer's fixed rate */
	double lat_read_hz;		/* latency: reader's (slower) rate */
	unsigned int coal_writes;	/* coalescing: writes per row */
	unsigned int coal_read_us;	/* coalescing: reader's sleep between reads */
	unsigned long perop_iters;	/* per-op: operations per trial */
	unsigned int trials;		/* every scenario but contention: interleaved rounds per row */
	unsigned int wakeup_iters;	/* wake-up: round trips per row */
	double contention_s;		/* contention: seconds per row */
	unsigned int contention_writers;
	uint64_t contention_max;	/* contention: the device's small maximum */
	uint64_t bounded_max;		/* the RFC's bounded case (10) */
	unsigned int tick_us;		/* the timerfd alternative's tick */
	unsigned int scenarios;		/* SC_* */
	const char *out;		/* JSON output path or NULL */
	bool smoke;			/* TAP, assert completion and boundedness only */
	bool substituted;		/* device rows run on native eventfd(2) */
	bool strict;			/* a FAILed check-class target makes the exit status non-zero */
	const char *accel;		/* EVENTFD_MAX_ACCEL */
	bool emulated;			/* QEMU TCG: absolute times are not hardware */
	bool icount;			/* QEMU TCG -icount shift=0: one guest ns is one guest instruction */
	int cpu[2];			/* the two CPUs paired threads are pinned to (-1: none) */
	int ncpus;
};
extern struct config cfg;

/* What a table row measures. */
enum mech_kind { MECH_NATIVE, MECH_DEVICE, MECH_PIPE, MECH_FUTEX, MECH_TICK };
struct mech {
	enum mech_kind kind;
	uint64_t maximum;	/* device and futex counter */
};
#define NATIVE ((struct mech){ MECH_NATIVE, UINT64_MAX })
#define DEVICE(max) ((struct mech){ MECH_DEVICE, (max) })
#define PIPE ((struct mech){ MECH_PIPE, UINT64_MAX })
#define FUTEX(max) ((struct mech){ MECH_FUTEX, (max) })
#define TICK ((struct mech){ MECH_TICK, UINT64_MAX })

/*
 * Every table's rows: native, device ULLONG_MAX, device with a bounded maximum, the pipe, the futex
 * counter with the bounded maximum and eventfd(2) on a timerfd tick.  The first NPEERS are the rows that
 * predate the reviewers' alternatives (the contention table has only those).
 */
#define NROWS 6
#define NPEERS 4
enum { ROW_NATIVE, ROW_UNBOUNDED, ROW_BOUNDED, ROW_PIPE, ROW_FUTEX, ROW_TICK };
void standard_rows(struct mech rows[NROWS], uint64_t bounded);

const char *mech_name(const struct mech *m);
/* "ULLONG_MAX", "10", "none" (native), "4096B" (pipe) or "tick125us". */
const char *mech_max(const struct mech *m, char *buf, size_t len);
/* Flow-controlled: a device or futex counter with a maximum below ULLONG_MAX, or the pipe. */
bool mech_bounded(const struct mech *m);
/* The most events a reader can find queued: maximum - 1, the pipe's records, or UINT64_MAX. */
uint64_t mech_capacity(const struct mech *m);
/* Why an assertion that m is bounded is skipped (a bounded device was substituted), or NULL. */
const char *mech_skip(const struct mech *m);
/* The mechanism is a file descriptor a thread can wait on with poll() or epoll. */
bool mech_pollable(const struct mech *m);

/* A shared-memory counter whose waiters sleep in FUTEX_WAIT; see chan.c. */
struct futex_counter;

/* An open channel; rfd == wfd for eventfds. */
struct chan {
	enum mech_kind kind;
	int rfd, wfd;		/* -1 for the futex counter */
	int pfd;		/* what a consumer polls: rfd, the timerfd, or -1 (futex) */
	bool one;		/* read one event per read (EFD_SEMAPHORE; a pipe record) */
	bool nonblock;
	uint64_t maximum;	/* futex counter */
	struct futex_counter *fc;
};
/* flags: EFD_SEMAPHORE and/or EFD_NONBLOCK, applied to every fd of the channel. Exits on failure. */
void chan_open(struct chan *c, const struct mech *m, int flags);
void chan_close(struct chan *c);
/* write(1) / read: 0 or -errno.  *events is the value read (records, for a pipe). */
int chan_write1(struct chan *c);
int chan_read(struct chan *c, uint64_t *events);
/* What is left after the threads stopped, read without blocking. */
uint64_t chan_drain(struct chan *c);
/* Waits until a write may succeed (poll(POLLOUT), or FUTEX_WAIT on a full futex counter): 0 or -errno. */
int chan_wait_room(struct chan *c);

/* Time. */
uint64_t now_ns(void);
uint64_t thread_cpu_ns(void);
uint64_t thread_vcsw(void);		/* the calling thread's voluntary context switches (sleeps) */
void sleep_ns(uint64_t ns);		/* returns early on a kick */
void sleep_until(uint64_t abs_ns);	/* CLOCK_MONOTONIC, returns early on a kick */
/* Under icount, guest nanoseconds are instructions: the unit of every cost figure. */
const char *cost_unit(void);		/* "instr" or "ns" */

/* Statistics over nanosecond samples (sorts them). */
void sort_u64(uint64_t *v, size_t n);
uint64_t pctl(const uint64_t *sorted, size_t n, double p);	/* nearest rank, p in [0,100] */

/* A figure over trials: its lowest, median and highest value. */
struct spread {
	double min, med, max;
};
struct spread spread_of(const double *v, unsigned int n);
/* "12.3 [12.1-12.5]" without the range when it is one value at this precision. */
const char *fmt_spread(struct spread s, int decimals, const char *suffix, char *buf, size_t len);

/*
 * Tables over trials.  A scenario keeps one result struct per trial and row, at base[t * nrows + row];
 * a column names a figure in it.  Printed cells are medians with their range, and the JSON gets each
 * figure's min, median, max and every trial.
 */
struct results {
	const void *base;
	size_t size, nrows;
};
struct column {
	const char *name;	/* header */
	const char *key;	/* JSON key (NULL: the name) */
	size_t offset;		/* of the figure in the result struct: a uint64_t, or a double if dbl */
	double scale;		/* unit conversion (1e-6: ns to ms) */
	int decimals;
	bool dbl;
	bool xnat;		/* the figure divided by native's, trial by trial */
};
#define NCOLS(cols) (sizeof(cols) / sizeof((cols)[0]))
/* Zeroed results for every row of every trial, each `size` bytes; exits when out of memory. */
void *table_alloc(size_t size);
/* The figure of row `row` in every trial into v[], and its spread. */
struct spread figure(const struct results *r, size_t row, const struct column *c, double *v);
/* The header, with every column as wide as its widest cell over r's rows. */
void table_head(const struct results *r, const struct column *cols, size_t ncols);
/* One row: mechanism, maximum and every column, printed and (inside the caller's JSON object) stored. */
void table_row(const struct results *r, size_t row, const struct mech *m, const struct column *cols,
	       size_t ncols);

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
/* Run fn(arg) on a thread pinned to cfg.cpu[0] and wait for it, with no kick while it measures. */
void run_pinned(void (*fn)(void *), void *arg);
static inline bool stopping(void)
{
	return atomic_load_explicit(&bench_stop, memory_order_relaxed);
}

/* Output: say() prints table lines (as "# " TAP comments in smoke mode) and keeps them for the JSON. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Smoke mode: one TAP result; skip_reason non-NULL makes it "ok N - ... # SKIP reason". */
void tap(bool ok, const char *skip_reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * Full mode: a PASS/FAIL line.  A check is a property the bounded counter must show on this machine
 * (--strict fails the run on it); a goal is the module's cost next to eventfd(2), reported as PASS or MISS
 * and never failing the run: a slower module is a finding, not a broken measurement.
 */
enum target_kind { CHECK, GOAL };
void target(enum target_kind kind, bool pass, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void target_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern int tap_count, tap_failed, targets_failed, goals_missed;
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
/* {"min", "median", "max"} and, unless NULL, every trial's value. */
void json_figure(const char *key, struct spread s, const double *trials);
void json_mech(const struct mech *m);	/* "mechanism", "maximum" and "maximum_value" fields */

/* Scenarios. */
void run_burst(void);
void run_latency(void);
void run_coalesce(void);
void run_perop(void);
void run_wakeup(void);
void run_contention(void);
void run_calibrate(void);

/* What run_calibrate() found, for the tables that follow; NAN when it did not run. */
struct calibration {
	/* CPU time (ns) a busy thread is charged per burst-reader wake-up on the other vCPU */
	double reader_excess;
};
extern struct calibration calib;

#endif /* EVENTFD_MAX_BENCH_H */
