// SPDX-License-Identifier: GPL-2.0
/*
 * How icount charges CPU time when two vCPUs run.  QEMU runs the vCPUs in turns on one host thread and
 * advances one virtual clock by every instruction of either, so a thread's CPU time (that clock, while
 * the thread is on its vCPU) can include instructions the other vCPU executed meanwhile.  A loop of a
 * known instruction count shows how much: alone, next to a loop on the other vCPU, next to the burst
 * reader's rhythm, and as a woken thread whose waker goes on working after the wake-up (the bounded
 * writer's situation).  Meaningful under icount only: elsewhere CPU time is not an instruction count.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench.h"

struct calibration calib = { .reader_excess = NAN };

#define SPIN_INSTR 100000000ul	/* the known loop: 0.1 s on the idealised machine */
#define WOKEN_SPIN 10000ul	/* the woken thread's work per wake-up */
#define WAKER_SPIN 50000ul	/* the waker's work right after each wake-up, in the last case */

/* Exactly two instructions an iteration (dec, jnz): n instructions, n even. */
static void spin(unsigned long instructions)
{
	unsigned long n = instructions / 2;

	__asm__ volatile("1: dec %0\n\tjnz 1b" : "+r"(n) : : "cc");
}

enum calib_case { SPIN_ALONE, SPIN_NEXT_TO_SPIN, SPIN_NEXT_TO_READER, WOKEN_IDLE_WAKER, WOKEN_BUSY_WAKER,
		  NCASES };

static const char *const case_title[NCASES] = {
	"a loop of 100M instructions, the other vCPU idle: charged",
	"the same loop, the other vCPU running a loop too: charged",
	"the same loop, the other vCPU running the burst reader: charged",
	"a thread woken each read-us runs 10k instructions, its waker sleeps: charged",
	"the same, its waker then runs 50k instructions: charged",
};

struct calib {
	enum calib_case which;
	struct chan ch;
	int sem;			/* the neighbour's never-empty counter */
	uint64_t cpu, wakes;		/* the measured thread's */
	uint64_t other_cpu, other_wakes;	/* the other vCPU's thread's */
};

static void spinner(void *p)
{
	struct calib *c = p;
	uint64_t cpu0 = thread_cpu_ns();

	spin(SPIN_INSTR);
	c->cpu = thread_cpu_ns() - cpu0;
	atomic_store(&bench_stop, 1);
}

/*
 * The other vCPU next to the spinner: a loop that outlasts it, or the burst reader's rhythm (sleep, then a
 * read that finds events: the semaphore counter never runs dry).
 */
static void neighbour(void *p)
{
	struct calib *c = p;
	uint64_t cpu0 = thread_cpu_ns(), v;

	while (!stopping()) {
		if (c->which == SPIN_NEXT_TO_SPIN) {
			spin(1000000);
			continue;
		}
		sleep_ns(cfg.burst_read_us * 1000ull);
		if (read(c->sem, &v, sizeof(v)) == sizeof(v))
			c->other_wakes++;
	}
	c->other_cpu = thread_cpu_ns() - cpu0;
}

static void woken(void *p)
{
	struct calib *c = p;
	uint64_t cpu0 = thread_cpu_ns(), v;

	while (!stopping()) {
		if (chan_read(&c->ch, &v))
			continue;	/* a kick */
		spin(WOKEN_SPIN);
		c->wakes++;
	}
	c->cpu = thread_cpu_ns() - cpu0;
}

static void waker(void *p)
{
	struct calib *c = p;
	uint64_t cpu0 = thread_cpu_ns();

	while (!stopping()) {
		sleep_ns(cfg.burst_read_us * 1000ull);
		if (chan_write1(&c->ch))
			continue;
		if (c->which == WOKEN_BUSY_WAKER)
			spin(WAKER_SPIN);
		c->other_wakes++;
	}
	c->other_cpu = thread_cpu_ns() - cpu0;
}

static void calib_run(struct calib *c)
{
	const struct mech native = NATIVE;
	bool spinning = c->which <= SPIN_NEXT_TO_READER;
	struct worker a, b;

	chan_open(&c->ch, &native, 0);
	c->sem = eventfd(1u << 30, EFD_SEMAPHORE | EFD_CLOEXEC);
	if (c->sem < 0)
		fatal("eventfd: %s", strerror(errno));
	atomic_store(&bench_stop, 0);
	if (spinning && c->which != SPIN_ALONE)
		worker_start(&b, neighbour, c, cfg.cpu[1]);
	else if (!spinning)
		worker_start(&b, waker, c, cfg.cpu[1]);
	worker_start(&a, spinning ? spinner : woken, c, cfg.cpu[0]);
	if (spinning)
		worker_wait(&a, 1e6);	/* the spinner stops the neighbour */
	else
		sleep_ns((uint64_t)(cfg.burst_s * NSEC_PER_SEC));
	atomic_store(&bench_stop, 1);
	worker_stop(&a);
	if (c->which != SPIN_ALONE)
		worker_stop(&b);
	chan_close(&c->ch);
	close(c->sem);
}

/* One case's figure over trials, printed and stored. */
static struct spread calib_line(const char *title, const double *v, int decimals, const char *suffix,
				const char *key)
{
	struct spread s = spread_of(v, cfg.trials);
	char b[64];

	say("%-76s %s\n", title, fmt_spread(s, decimals, suffix, b, sizeof(b)));
	json_figure(key, s, v);
	return s;
}

void run_calibrate(void)
{
	struct calib res[MAX_TRIALS][NCASES];
	double v[MAX_TRIALS], own[MAX_TRIALS], per_wake[2][MAX_TRIALS], share[MAX_TRIALS];
	static const char *const keys[] = { "alone_x", "next_to_loop_x", "next_to_reader_x" };
	unsigned int t;
	int k;

	say("\n== 0. icount calibration: CPU time charged for a known instruction count (%s) ==\n",
	    cfg.icount ? "icount: 1 ns = 1 instruction" : "NOT icount: CPU times are not instruction counts");
	memset(res, 0, sizeof(res));
	for (t = 0; t < cfg.trials; t++)
		for (k = 0; k < NCASES; k++) {
			res[t][k].which = k;
			calib_run(&res[t][k]);
		}
	json_obj("calibration");
	for (k = 0; k <= SPIN_NEXT_TO_READER; k++) {
		for (t = 0; t < cfg.trials; t++)
			v[t] = (double)res[t][k].cpu / SPIN_INSTR;
		calib_line(case_title[k], v, 4, "x", keys[k]);
	}
	/* What a busy thread is charged per wake-up of the reader on the other vCPU, beyond its own loop. */
	for (t = 0; t < cfg.trials; t++) {
		const struct calib *c = &res[t][SPIN_NEXT_TO_READER];

		v[t] = ((double)c->cpu - (double)res[t][SPIN_ALONE].cpu) / (double)c->other_wakes;
		own[t] = (double)c->other_cpu / (double)c->other_wakes;
	}
	calib.reader_excess = calib_line("  the loop's excess per reader wake-up (instr)", v, 0, "",
					 "reader_excess_per_wakeup").med;
	calib_line("  the reader's own CPU time per wake-up (instr)", own, 0, "", "reader_cpu_per_wakeup");
	for (k = WOKEN_IDLE_WAKER; k < NCASES; k++) {
		for (t = 0; t < cfg.trials; t++)
			per_wake[k - WOKEN_IDLE_WAKER][t] = (double)res[t][k].cpu / (double)res[t][k].wakes;
		calib_line(case_title[k], per_wake[k - WOKEN_IDLE_WAKER], 0, "",
			   k == WOKEN_IDLE_WAKER ? "woken_idle_waker" : "woken_busy_waker");
	}
	for (t = 0; t < cfg.trials; t++)
		share[t] = (per_wake[1][t] - per_wake[0][t]) / WAKER_SPIN;
	calib_line("  share of the waker's later work charged to the woken thread", share, 3, "",
		   "waker_work_charged_to_woken");
	json_end();
}
