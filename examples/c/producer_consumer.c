// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Producer/consumer with back-pressure through poll(POLLOUT).
 *
 * The producer thread writes 1s as fast as it can for a second into a non-blocking counter with
 * maximum 10. When a write fails with EAGAIN it waits in poll(POLLOUT), which the device reports
 * once a write of 1 fits (maximum - 1 > count), so the wait ends exactly when the consumer, which
 * drains the counter once a millisecond, has made room: no spinning, no backlog beyond 9.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "example.h"

static int efd;
static _Atomic uint64_t written;
static atomic_bool done;
static uint64_t held_back, waited_ns;	/* the producer's; read after pthread_join */

static void *producer(void *arg)
{
	const uint64_t one = 1, start = now_ns();

	(void)arg;
	while (now_ns() - start < RUN_NS) {
		struct pollfd pfd = { .fd = efd, .events = POLLOUT };
		uint64_t t;
		int n;

		if (write(efd, &one, sizeof(one)) == sizeof(one)) {
			atomic_fetch_add(&written, 1);
			continue;
		}
		if (errno != EAGAIN)
			die("write");
		held_back++;
		t = now_ns();
		n = poll(&pfd, 1, 5000);	/* bounded: the consumer reads every millisecond */
		if (n < 0)
			die("poll");
		if (n == 0) {
			fprintf(stderr, "poll(POLLOUT) waited 5 s: the consumer is gone\n");
			exit(1);
		}
		waited_ns += now_ns() - t;
	}
	atomic_store(&done, true);
	return NULL;
}

int main(void)
{
	const struct timespec pace = { .tv_nsec = READ_EVERY_NS };
	struct batches b = { 0 };
	pthread_t thread;

	efd = open_counter(EFD_NONBLOCK, MAXIMUM);
	printf("producer/consumer (poll(POLLOUT)): maximum %d, consumer reads every 1 ms, for 1 s\n",
	       MAXIMUM);
	if (pthread_create(&thread, NULL, producer, NULL))
		die("pthread_create");
	for (;;) {
		nanosleep(&pace, NULL);
		/* Empty: finished once the producer is done and everything it wrote was read. */
		if (!drain_once(efd, &b) && atomic_load(&done) && b.total == atomic_load(&written))
			break;
	}
	pthread_join(thread, NULL);
	printf("producer: %" PRIu64 " writes, held back %" PRIu64 " times, %.2f s waiting in poll(POLLOUT)\n",
	       atomic_load(&written), held_back, (double)waited_ns / 1e9);
	close(efd);
	return report(&b, atomic_load(&written), held_back);
}
