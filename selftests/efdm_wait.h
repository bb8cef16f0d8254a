/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helper threads that sleep in one system call, for tests of wake-ups: start one, wait until
 * /proc shows it asleep inside that very call (so a wake-up cannot come too early and be missed),
 * act, then join it with a bound.  A helper still asleep is released by SIGUSR1 (EINTR), once
 * efdm_install_interrupt(SIGUSR1) has run.
 */
#ifndef EFDM_WAIT_H
#define EFDM_WAIT_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>

#include "efdm_util.h"

/* Generous: the guest is an emulated (TCG) machine running a debug kernel. */
#define EFDM_SLEEP_MS	5000	/* how long a helper may take to fall asleep */
#define EFDM_JOIN_MS	5000	/* how long a released helper may take to return */
#define EFDM_SETTLE_MS	10	/* a wake-up is over when nothing changed for this long */

struct efdm_helper {
	pthread_t thread;
	void (*body)(struct efdm_helper *h);
	void *arg;
	atomic_int tid;
	atomic_bool done;
};

/* poll() takes no timespec, so this works for 32-bit programs on any kernel. */
static inline void efdm_sleep_ms(int ms)
{
	poll(NULL, 0, ms);
}

static inline long long efdm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Evaluates @cond every millisecond for up to @ms; the value is its last result. */
#define EFDM_WAIT_FOR(cond, ms) ({					\
	long long __deadline = efdm_now_ms() + (ms);			\
	while (!(cond) && efdm_now_ms() < __deadline)			\
		efdm_sleep_ms(1);					\
	(cond);								\
})

/*
 * Is thread @tid of this process asleep inside system call @nr?  /proc/<tid>/syscall shows the
 * number of the call a task sleeps in, and "running" for a task that is runnable, which a woken
 * one is at once.  (Every wait of these tests sleeps interruptibly in the call it is about.)
 */
static inline bool efdm_asleep_in(int tid, long nr)
{
	char path[64], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return buf[0] >= '0' && buf[0] <= '9' && strtol(buf, NULL, 10) == nr;
}

static inline void *efdm_helper_main(void *arg)
{
	struct efdm_helper *h = arg;

	atomic_store(&h->tid, (int)syscall(SYS_gettid));
	h->body(h);
	atomic_store(&h->done, true);
	return NULL;
}

static inline int efdm_helper_start(struct efdm_helper *h, void (*body)(struct efdm_helper *h),
				    void *arg)
{
	h->body = body;
	h->arg = arg;
	atomic_store(&h->tid, 0);
	atomic_store(&h->done, false);
	return pthread_create(&h->thread, NULL, efdm_helper_main, h);
}

/* Not returned, and seen asleep in system call @nr now. */
static inline bool efdm_helper_asleep(struct efdm_helper *h, long nr)
{
	int tid = atomic_load(&h->tid);

	return tid && !atomic_load(&h->done) && efdm_asleep_in(tid, nr);
}

/* Waits up to EFDM_SLEEP_MS for the helper to fall asleep in system call @nr. */
static inline bool efdm_helper_sleeps(struct efdm_helper *h, long nr)
{
	return EFDM_WAIT_FOR(atomic_load(&h->done) || efdm_helper_asleep(h, nr), EFDM_SLEEP_MS) &&
	       !atomic_load(&h->done);
}

/* Waits up to @ms for the helper's call to return, then joins it; false if it did not return. */
static inline bool efdm_helper_join(struct efdm_helper *h, int ms)
{
	if (!EFDM_WAIT_FOR(atomic_load(&h->done), ms))
		return false;
	pthread_join(h->thread, NULL);
	return true;
}

/* Interrupts a helper asleep in its call and joins it; false if it did not return. */
static inline bool efdm_helper_interrupt(struct efdm_helper *h)
{
	return !pthread_kill(h->thread, SIGUSR1) && efdm_helper_join(h, EFDM_JOIN_MS);
}

/* The events epoll set @ep reports now (timeout 0): 0 if none, -errno on failure. */
static inline int efdm_epoll_now(int ep)
{
	struct epoll_event ev = { 0 };
	int n = epoll_wait(ep, &ev, 1, 0);

	if (n < 0)
		return -errno;
	return n ? (int)ev.events : 0;
}

/* A helper in epoll_wait(-1) on an epoll set of its own, which holds one descriptor. */
struct efdm_epoller {
	struct efdm_helper helper;
	int ep;
	long ret;
	int err;
	uint32_t events;
};

static inline void efdm_epoller_body(struct efdm_helper *h)
{
	struct efdm_epoller *w = h->arg;
	struct epoll_event ev = { 0 };

	w->ret = epoll_wait(w->ep, &ev, 1, -1);
	w->err = w->ret < 0 ? errno : 0;
	w->events = w->ret == 1 ? ev.events : 0;
}

/* Registers @fd with @events in a new epoll set and starts waiting on it; 0 or -errno. */
static inline int efdm_epoller_start(struct efdm_epoller *w, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };

	w->ep = epoll_create1(EPOLL_CLOEXEC);
	if (w->ep < 0)
		return -errno;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	return -efdm_helper_start(&w->helper, efdm_epoller_body, w);
}

/* Waits until all @n sleep in epoll_wait; the index of the first that does not, or @n. */
static inline int efdm_epollers_sleep(struct efdm_epoller *w, int n)
{
	for (int i = 0; i < n; i++)
		if (!efdm_helper_sleeps(&w[i].helper, SYS_epoll_wait))
			return i;
	return n;
}

/* Every waiter has returned or sleeps in epoll_wait again. */
static inline bool efdm_epollers_settled(struct efdm_epoller *w, int n)
{
	for (int i = 0; i < n; i++)
		if (!atomic_load(&w[i].helper.done) &&
		    !efdm_helper_asleep(&w[i].helper, SYS_epoll_wait))
			return false;
	return true;
}

/*
 * After a wake-up: how many of the @n waiters returned.  A wake-up happens inside the waking
 * call, and a woken waiter is not asleep until it has returned or found nothing and gone back to
 * sleep, so settled means done; checked again EFDM_SETTLE_MS later, so that a wake-up reaching a
 * waiter late is counted too.
 */
static inline int efdm_epollers_returned(struct efdm_epoller *w, int n)
{
	int returned = 0;

	for (int tries = 0; tries < 100 && EFDM_WAIT_FOR(efdm_epollers_settled(w, n), EFDM_JOIN_MS);
	     tries++) {
		efdm_sleep_ms(EFDM_SETTLE_MS);
		if (efdm_epollers_settled(w, n))
			break;
	}
	for (int i = 0; i < n; i++)
		returned += atomic_load(&w[i].helper.done);
	return returned;
}

/*
 * Interrupts the waiters still asleep, joins all @n and closes their sets; false if one did not
 * return, or an interrupted one got anything but EINTR (an event reached it late).
 */
static inline bool efdm_epollers_finish(struct efdm_epoller *w, int n)
{
	bool ok = true;

	for (int i = 0; i < n; i++) {
		if (atomic_load(&w[i].helper.done))
			ok &= efdm_helper_join(&w[i].helper, EFDM_JOIN_MS);
		else
			ok &= efdm_helper_interrupt(&w[i].helper) && w[i].err == EINTR;
		close(w[i].ep);
	}
	return ok;
}

#endif /* EFDM_WAIT_H */
