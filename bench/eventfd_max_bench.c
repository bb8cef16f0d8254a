// SPDX-License-Identifier: GPL-2.0
/*
 * eventfd_max_bench: the RFC's benchmarks (burst/CPU, latency tail, coalescing) and the cost of the module
 * next to native eventfd(2) (per-op, wake-up round trip, contention), with a one-page pipe and the
 * reviewers' alternatives (a futex counter in shared memory, eventfd(2) read on a timerfd tick) as peers.
 * See bench/README.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <eventfd_max.h>

#include "bench.h"

static const char usage[] =
	"usage: eventfd_max_bench [--smoke|--quick] [--only LIST] [--out FILE] [options]\n"
	"  --smoke              seconds; TAP; asserts completion and boundedness only (CI)\n"
	"  --quick              the whole suite in a few minutes under QEMU TCG (with or without icount)\n"
	"  --only LIST          comma list of: burst,latency,coalesce,perop,wakeup,contention, and\n"
	"                       calibrate (icount's two-vCPU accounting; not part of the default list)\n"
	"  --out FILE           write the results (with latency samples) as JSON\n"
	"  --maximum N          the bounded case's maximum (10)\n"
	"  --duration S         burst: seconds per row (5)\n"
	"  --burst-read-us US   burst: reader's sleep between reads (1000)\n"
	"  --events N           latency: events per row (5000)\n"
	"  --write-rate HZ      latency: writer's fixed rate (10000)\n"
	"  --read-rate HZ       latency: reader's rate, slightly slower (8000)\n"
	"  --writes N           coalescing: writes per row (10000)\n"
	"  --read-us US         coalescing: reader's sleep between reads (125)\n"
	"  --iters N            per-op: operations per trial (2000000)\n"
	"  --trials N           interleaved rounds of every row, 1 to 99 (5)\n"
	"  --round-trips N      wake-up: round trips per row (20000)\n"
	"  --contention-s S     contention: seconds per row (2)\n"
	"  --writers N          contention: writer threads (4, at most 16)\n"
	"  --contention-max N   contention: the device's small maximum (4)\n"
	"  --tick-us US         the timerfd alternative's tick (125)\n"
	"  --native             substitute native eventfd(2) for the device (also EVENTFD_MAX_NATIVE=1)\n"
	"  --strict             exit non-zero when a check (burst CPU, p999, batch) FAILs\n"
	"Environment: EVENTFD_MAX_ACCEL names the accelerator (tcg, tcg-icount, kvm, bare-metal) for the\n"
	"report; tcg-icount (QEMU -icount shift=0) reports costs as guest instructions.\n";

static void preset(const char *name)
{
	cfg.preset = name;
	/* The RFC's values. */
	cfg.burst_s = 5;
	cfg.burst_read_us = 1000;
	cfg.lat_events = 5000;
	cfg.lat_write_hz = 10000;
	cfg.lat_read_hz = 8000;
	cfg.coal_writes = 10000;
	cfg.coal_read_us = 125;
	cfg.bounded_max = 10;
	/* Ours. */
	cfg.perop_iters = 2000000;
	cfg.trials = 5;
	cfg.wakeup_iters = 20000;
	cfg.contention_s = 2;
	cfg.contention_writers = 4;
	cfg.contention_max = 4;
	cfg.tick_us = 125;
	if (!strcmp(name, "quick")) {
		cfg.burst_s = 1.5;
		cfg.perop_iters = 100000;
		cfg.trials = 3;
		cfg.wakeup_iters = 3000;
		cfg.contention_s = 1;
		if (cfg.icount) {	/* instruction counts need no long runs to settle, only events */
			cfg.burst_s = 1;
			cfg.lat_events = 2000;
			cfg.perop_iters = 20000;
			cfg.wakeup_iters = 1500;
		}
	} else if (!strcmp(name, "smoke")) {
		cfg.smoke = true;
		cfg.burst_s = 0.2;
		cfg.lat_events = 300;
		cfg.coal_writes = 1000;
		cfg.perop_iters = 200;
		cfg.trials = 1;
		cfg.wakeup_iters = 40;
		cfg.contention_s = 0.2;
	}
}

static unsigned int parse_only(const char *list)
{
	static const char *const names[] = { "burst", "latency", "coalesce", "perop", "wakeup", "contention",
					     "calibrate" };
	const unsigned int n = sizeof(names) / sizeof(names[0]);
	char *copy = strdup(list), *tok, *save = NULL;
	unsigned int mask = 0, i;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < n && strcmp(tok, names[i]); i++)
			;
		if (i == n)
			fatal("--only: unknown scenario '%s'", tok);
		mask |= 1u << i;
	}
	free(copy);
	return mask;
}

static double number(const char *opt, const char *s, double min)
{
	char *end;
	double v = strtod(s, &end);

	if (*end || !(v >= min))
		fatal("%s: bad value '%s'", opt, s);
	return v;
}

enum { O_SMOKE = 256, O_QUICK, O_ONLY, O_OUT, O_MAX, O_DUR, O_BRUS, O_EVENTS, O_WHZ, O_RHZ, O_WRITES,
       O_RUS, O_ITERS, O_TRIALS, O_RTT, O_CS, O_WRITERS, O_CMAX, O_TICK, O_NATIVE, O_STRICT, O_HELP };

static const struct option options[] = {
	{ "smoke", no_argument, NULL, O_SMOKE },	{ "quick", no_argument, NULL, O_QUICK },
	{ "only", required_argument, NULL, O_ONLY },	{ "out", required_argument, NULL, O_OUT },
	{ "maximum", required_argument, NULL, O_MAX },	{ "duration", required_argument, NULL, O_DUR },
	{ "burst-read-us", required_argument, NULL, O_BRUS },
	{ "events", required_argument, NULL, O_EVENTS },
	{ "write-rate", required_argument, NULL, O_WHZ },
	{ "read-rate", required_argument, NULL, O_RHZ },
	{ "writes", required_argument, NULL, O_WRITES },
	{ "read-us", required_argument, NULL, O_RUS },	{ "iters", required_argument, NULL, O_ITERS },
	{ "trials", required_argument, NULL, O_TRIALS },
	{ "round-trips", required_argument, NULL, O_RTT },
	{ "contention-s", required_argument, NULL, O_CS },
	{ "writers", required_argument, NULL, O_WRITERS },
	{ "contention-max", required_argument, NULL, O_CMAX },
	{ "tick-us", required_argument, NULL, O_TICK },
	{ "native", no_argument, NULL, O_NATIVE },	{ "strict", no_argument, NULL, O_STRICT },
	{ "help", no_argument, NULL, O_HELP },		{ NULL, 0, NULL, 0 },
};

static void parse(int argc, char **argv)
{
	const char *env = getenv("EVENTFD_MAX_NATIVE");
	int i, o;

	cfg.accel = getenv("EVENTFD_MAX_ACCEL");
	if (!cfg.accel || !*cfg.accel)
		cfg.accel = "unknown";
	cfg.icount = !strcasecmp(cfg.accel, "tcg-icount");
	cfg.emulated = cfg.icount || !strcasecmp(cfg.accel, "tcg");
	/* The preset first, so that explicit options override it wherever they appear. */
	preset("full");
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--smoke"))
			preset("smoke");
		else if (!strcmp(argv[i], "--quick"))
			preset("quick");
	}
	/* Under icount, the calibration says how to read its CPU times. */
	cfg.scenarios = SC_ALL | (cfg.icount ? SC_CALIBRATE : 0);
	cfg.substituted = env && *env && strcmp(env, "0");
	while ((o = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (o) {
		case O_SMOKE: case O_QUICK: break;
		case O_ONLY: cfg.scenarios = parse_only(optarg); break;
		case O_OUT: cfg.out = optarg; break;
		case O_MAX: cfg.bounded_max = (uint64_t)number("--maximum", optarg, 2); break;
		case O_DUR: cfg.burst_s = number("--duration", optarg, 0.01); break;
		case O_BRUS: cfg.burst_read_us = (unsigned int)number("--burst-read-us", optarg, 1); break;
		case O_EVENTS: cfg.lat_events = (unsigned int)number("--events", optarg, 10); break;
		case O_WHZ: cfg.lat_write_hz = number("--write-rate", optarg, 1); break;
		case O_RHZ: cfg.lat_read_hz = number("--read-rate", optarg, 1); break;
		case O_WRITES: cfg.coal_writes = (unsigned int)number("--writes", optarg, 1); break;
		case O_RUS: cfg.coal_read_us = (unsigned int)number("--read-us", optarg, 1); break;
		case O_ITERS: cfg.perop_iters = (unsigned long)number("--iters", optarg, 1); break;
		case O_TRIALS: cfg.trials = (unsigned int)number("--trials", optarg, 1); break;
		case O_RTT: cfg.wakeup_iters = (unsigned int)number("--round-trips", optarg, 1); break;
		case O_CS: cfg.contention_s = number("--contention-s", optarg, 0.01); break;
		case O_WRITERS: cfg.contention_writers = (unsigned int)number("--writers", optarg, 1); break;
		case O_CMAX: cfg.contention_max = (uint64_t)number("--contention-max", optarg, 2); break;
		case O_TICK: cfg.tick_us = (unsigned int)number("--tick-us", optarg, 1); break;
		case O_NATIVE: cfg.substituted = true; break;
		case O_STRICT: cfg.strict = true; break;
		case O_HELP: fputs(usage, stdout); exit(0);
		default: fputs(usage, stderr); exit(2);
		}
	}
	/* Upper bounds: the futex counter's word is 32 bits, trials are kept in fixed arrays. */
	if (optind < argc || cfg.contention_writers > 16 || cfg.trials > MAX_TRIALS ||
	    cfg.bounded_max > 1u << 31) {
		fputs(usage, stderr);
		exit(2);
	}
}

/* Paired threads (writer/reader, ping/pong) go to the first two CPUs we may use. */
static void pick_cpus(void)
{
	cpu_set_t set;
	int c, n = 0;

	cfg.cpu[0] = cfg.cpu[1] = -1;
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	cfg.ncpus = CPU_COUNT(&set);
	for (c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &set))
			cfg.cpu[n++] = c;
	if (n < 2)	/* one CPU: pinning would change nothing */
		cfg.cpu[0] = cfg.cpu[1] = -1;
}

static void watchdog(int sig)
{
	static const char msg[] = "Bail out! eventfd_max_bench: watchdog expired\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static void header(void)
{
	struct utsname u;

	uname(&u);
	if (cfg.smoke)
		printf("TAP version 13\n");
	say("eventfd_max_bench: preset %s; accelerator %s\n", cfg.preset, cfg.accel);
	if (cfg.icount)
		say("MACHINE: QEMU TCG -icount shift=0,sleep=off, an idealised CPU: every guest instruction takes "
		    "1 ns (popf too), no cache or TLB misses, idle time skipped; the vCPUs run in turns on one host "
		    "thread under one clock.  Costs are guest instructions ('instr'), counting all code the "
		    "kernel and the module run (Rust overflow checks included).  Sleeps and wake-ups come out "
		    "cheaper than on hardware, which also pays cache misses and interrupt latency.\n");
	else if (cfg.emulated)
		say("EMULATED CPU (QEMU TCG): absolute times are not hardware figures, read the ratios\n");
	say("kernel %s %s %s; %d CPUs usable; ", u.sysname, u.release, u.machine, cfg.ncpus);
	if (cfg.cpu[0] >= 0)
		say("paired threads pinned to CPUs %d and %d\n", cfg.cpu[0], cfg.cpu[1]);
	else
		say("one CPU: paired threads share it\n");
	if (cfg.substituted)
		say("DEVICE SUBSTITUTED: rows marked eventfd_max* run on native eventfd(2); no maximum is "
		    "enforced, their figures say nothing about the module\n");
	else
		say("device %s; ratios (x_native, xnat) divide by native eventfd(2) measured in the same "
		    "trial of this run\n", EVENTFD_MAX_DEVICE);
	say("figures are medians of %u interleaved trials, [min-max] their range when it is not one value; "
	    "every trial is in the JSON (--out)\n", cfg.trials);

	json_str("tool", "eventfd_max_bench");
	json_str("preset", cfg.preset);
	json_str("accelerator", cfg.accel);
	json_str("mode", cfg.icount ? "icount" : cfg.emulated ? "tcg" : "hardware");
	json_str("cost_unit", cost_unit());
	json_bool("emulated", cfg.emulated);
	json_bool("device_substituted", cfg.substituted);
	json_str("kernel", u.release);
	json_str("machine", u.machine);
	json_u64("cpus", (uint64_t)cfg.ncpus);
	json_u64("bounded_maximum", cfg.bounded_max);
	json_u64("trials", cfg.trials);
	json_u64("tick_us", cfg.tick_us);
}

/* The device is there and honours a maximum, or we say how to get it. */
static void check_device(void)
{
	uint64_t got = 0;
	int fd;

	if (cfg.substituted)
		return;
	fd = eventfd_max(0, EFD_CLOEXEC, cfg.bounded_max);
	if (fd < 0)
		fatal("%s: %s (load the module: insmod eventfd_max.ko; or set EVENTFD_MAX_NATIVE=1 to run on "
		      "native eventfd(2) instead)", EVENTFD_MAX_DEVICE, strerror(errno));
	if (ioctl(fd, EFD_IOC_GET_MAXIMUM, &got) < 0 || got != cfg.bounded_max)
		fatal("EFD_IOC_GET_MAXIMUM: %s, got %" PRIu64 " want %" PRIu64, strerror(errno), got,
		      cfg.bounded_max);
	close(fd);
}

int main(int argc, char **argv)
{
	static const struct { unsigned int bit; void (*run)(void); } scenarios[] = {
		{ SC_CALIBRATE, run_calibrate },
		{ SC_BURST, run_burst },	{ SC_LATENCY, run_latency }, { SC_COALESCE, run_coalesce },
		{ SC_PEROP, run_perop },	{ SC_WAKEUP, run_wakeup },   { SC_CONTENTION, run_contention },
	};
	double rounds, budget;
	unsigned int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse(argc, argv);
	pick_cpus();
	/* Timer slack (50 us by default) would stretch the 125 us sleeps; threads inherit this. */
	prctl(PR_SET_TIMERSLACK, 1UL);
	/* Never hang: a generous bound on the whole run, well above the nominal durations (and allowing
	 * 50 us a system call and 1 ms a round trip, for an emulated CPU). */
	rounds = (double)NROWS * cfg.trials;
	budget = 300 + 10 * (rounds * (2.5 * cfg.burst_s + cfg.lat_events / cfg.lat_read_hz +
				       cfg.coal_writes * cfg.coal_read_us * 1e-6) + NPEERS * cfg.contention_s) +
		 4 * (rounds + NROWS) * cfg.perop_iters * 100e-6 + 2 * NROWS * cfg.wakeup_iters * 1e-3;
	signal(SIGALRM, watchdog);
	alarm((unsigned int)budget);
	if (cfg.out)
		json_open(cfg.out);
	header();
	check_device();

	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (cfg.scenarios & scenarios[i].bit)
			scenarios[i].run();

	if (!cfg.smoke)
		say("\n%s; %d target(s) failed, %d goal(s) missed%s%s\n",
		    tap_failed ? "CHECKS FAILED" : "all checks held", targets_failed, goals_missed,
		    cfg.emulated && !cfg.icount ? " (plain TCG: timing targets are indicative only)" : "",
		    cfg.substituted ? " (device substituted: bounded targets skipped)" : "");
	json_u64("checks_failed", (uint64_t)tap_failed);
	json_u64("targets_failed", (uint64_t)targets_failed);
	json_u64("goals_missed", (uint64_t)goals_missed);
	json_close();
	if (cfg.smoke)
		printf("1..%d\n", tap_count);
	else if (cfg.out)
		printf("results: %s\n", cfg.out);
	return tap_failed || (cfg.strict && targets_failed) ? 1 : 0;
}
