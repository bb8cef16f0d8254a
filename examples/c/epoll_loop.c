// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * A single-threaded epoll event loop with a producer held back by the counter's maximum.
 *
 * A timerfd paces the consumer (one read of the counter a millisecond); the producer writes 1s
 * whenever epoll reports EPOLLOUT on the counter. EPOLLOUT is level-triggered and the device drops
 * it once the counter is full (maximum - 1 > count no longer holds), so the loop sleeps until the
 * next tick instead of spinning: about two wake-ups per tick, however eager the producer.
 */
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "example.h"

int main(void)
{
	const struct itimerspec every_ms = {
		.it_interval = { .tv_nsec = READ_EVERY_NS },
		.it_value = { .tv_nsec = READ_EVERY_NS },
	};
	uint64_t written = 0, held_back = 0, wakeups = 0, ticks = 0, start;
	struct epoll_event ev, events[2];
	struct batches b = { 0 };
	int efd, tfd, ep;

	efd = open_counter(EFD_NONBLOCK, MAXIMUM);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (tfd < 0 || ep < 0)
		die("timerfd_create/epoll_create1");
	ev = (struct epoll_event){ .events = EPOLLOUT, .data.fd = efd };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev))
		die("epoll_ctl(counter)");
	ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = tfd };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev))
		die("epoll_ctl(timer)");
	if (timerfd_settime(tfd, 0, &every_ms, NULL))
		die("timerfd_settime");
	printf("epoll loop: maximum %d, consumer reads on a 1 ms timer, producer writes on EPOLLOUT, for 1 s\n",
	       MAXIMUM);

	start = now_ns();
	while (now_ns() - start < RUN_NS) {
		int n = epoll_wait(ep, events, 2, 5000);	/* bounded: the timer ticks every ms */

		if (n < 0)
			die("epoll_wait");
		if (n == 0) {
			fprintf(stderr, "epoll_wait: no event in 5 s\n");
			return 1;
		}
		wakeups++;
		for (int i = 0; i < n; i++) {
			if (events[i].data.fd == tfd) {
				uint64_t expirations;

				if (read(tfd, &expirations, sizeof(expirations)) == sizeof(expirations))
					ticks += expirations;
				drain_once(efd, &b);
				continue;
			}
			/* EPOLLOUT: produce until the counter pushes back. */
			for (;;) {
				const uint64_t one = 1;

				if (write(efd, &one, sizeof(one)) == sizeof(one)) {
					written++;
					continue;
				}
				if (errno != EAGAIN)
					die("write");
				held_back++;
				break;
			}
		}
	}
	while (drain_once(efd, &b))
		;
	printf("producer: %" PRIu64 " writes, held back %" PRIu64 " times (EPOLLOUT withdrawn)\n",
	       written, held_back);
	printf("loop: %" PRIu64 " wake-ups for %" PRIu64 " timer ticks (%.1f per tick): no busy loop while held back\n",
	       wakeups, ticks, ticks ? (double)wakeups / (double)ticks : 0.0);
	close(ep);
	close(tfd);
	close(efd);
	if (wakeups > 3 * ticks + 10) {
		printf("check: the loop woke %" PRIu64 " times for %" PRIu64 " ticks: FAILED (spinning)\n",
		       wakeups, ticks);
		return 1;
	}
	return report(&b, written, held_back);
}
