/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Shared by the C examples: opening the counter (with the fix named when the module is missing),
 * a monotonic clock, and the batch statistics every example prints.
 */
#ifndef EVENTFD_MAX_EXAMPLE_H
#define EVENTFD_MAX_EXAMPLE_H

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <eventfd_max.h>

#define MAXIMUM 10		/* the counter's maximum: a read never returns more than 9 */
#define RUN_NS 1000000000ull	/* how long the producer runs */
#define READ_EVERY_NS 1000000L	/* the consumer's pace: one read a millisecond */

static inline void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	exit(1);
}

/* eventfd_max() is the header's drop-in for eventfd(2); ENOENT means the module is not loaded. */
static inline int open_counter(int flags, uint64_t maximum)
{
	int fd = eventfd_max(0, flags | EFD_CLOEXEC, maximum);

	if (fd < 0 && errno == ENOENT) {
		fprintf(stderr, EVENTFD_MAX_DEVICE " not found: load the module with "
				"`insmod eventfd_max.ko` (see README)\n");
		exit(1);
	}
	if (fd < 0)
		die("eventfd_max");
	return fd;
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct batches {
	uint64_t reads;	/* successful reads */
	uint64_t total;	/* sum of the values read */
	uint64_t max;	/* largest single read */
};

/* One non-blocking read of the counter into @b; returns 0 when it was empty. */
static inline int drain_once(int fd, struct batches *b)
{
	uint64_t value;

	if (read(fd, &value, sizeof(value)) != sizeof(value)) {
		if (errno == EAGAIN)
			return 0;
		die("read");
	}
	b->reads++;
	b->total += value;
	if (value > b->max)
		b->max = value;
	return 1;
}

/* Prints the consumer's side and the verdict; returns the exit status. */
static inline int report(const struct batches *b, uint64_t written, uint64_t held_back)
{
	int ok = b->max < MAXIMUM && b->total == written && held_back > 0;

	printf("consumer: %" PRIu64 " reads, max batch %" PRIu64 " (bound: maximum - 1 = %d), "
	       "mean batch %.1f\n", b->reads, b->max, MAXIMUM - 1,
	       b->reads ? (double)b->total / (double)b->reads : 0.0);
	printf("check: batches <= %d, %" PRIu64 " written == %" PRIu64 " read, producer held back: %s\n",
	       MAXIMUM - 1, written, b->total, ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}

#endif /* EVENTFD_MAX_EXAMPLE_H */
