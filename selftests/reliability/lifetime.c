// SPDX-License-Identifier: GPL-2.0
/*
 * Module-lifetime scenarios for /dev/eventfd_max, one per invocation, driven by lifetime.sh in the
 * guest (root, module loaded).  Each prints "#" diagnostics and exits 0 (pass), 1 (fail) or
 * 4 (skip).
 *
 * While a counter is alive, the module is pinned: /sys/module/eventfd_max/refcnt is above its
 * baseline and delete_module(2) fails with EWOULDBLOCK (kernel/module/main.c: try_stop_module()
 * returns -EWOULDBLOCK when the reference count is not zero, with or without O_NONBLOCK; EBUSY is
 * only for a module still initialising or already going).  Busybox rmmod is run too and must fail.
 * Once the last reference goes, the count must return to the baseline.
 *
 *   busy-open             an open fd
 *   busy-epoll            an fd in an epoll set; then the fd closed, the epoll fd kept: epoll
 *                         holds no file reference, so the counter is released at once
 *   epoll-unload          as above, then the module is unloaded under the live epoll instance,
 *                         which is then waited on and closed (lifetime.sh reloads the module)
 *   busy-scm              an fd in flight in an AF_UNIX socket (SCM_RIGHTS), sender's copy closed;
 *                         received later, it is the same counter
 *   scm-drop              the same, the sockets closed without receiving
 *   scm-cycle             in flight in a socket that is itself in flight (only the unix GC
 *                         frees it)
 *   busy-fork             held only by a forked child
 *   killed-blocked        a child blocked in read(2) is killed
 *   blocked-{read,write}-{dup,signal}
 *                         close(fd) while another thread sleeps in read/write on it: the sleeper
 *                         keeps the file (and module) alive and stays asleep; released by a
 *                         read/write through a dup, or by a signal (EINTR)
 *   blocked-poll          close(fd) while another thread sleeps in poll(2) on it (poll pins it)
 *   blocked-epoll         close(fd) while another thread sleeps in epoll_wait(2) on a set
 *                         holding it (released at once; the waiter is then interrupted)
 *   fork-share[-sem] [S]  writer and reader processes share one counter for S seconds:
 *                         written == read + final count
 *   cycle-open            a few counters opened, used and closed (between insmod and rmmod)
 *   race-open S           open/use/close in a loop for S seconds while lifetime.sh unloads and
 *                         reloads the module: opens fail only with ENOENT/ENODEV/ENXIO, and some
 *                         opens succeed and some fail (both sides of the race were reached)
 *   no-module             with the module unloaded: eventfd_max() fails with ENOENT
 */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "rel_util.h"

#define PASS	0
#define FAIL	1
#define SKIP	4
#define RELEASE_MS	10000	/* how long a released counter may take to unpin the module */
#define SLEEP_MS	10000	/* how long a helper thread may take to fall asleep */
#define SETTLE_MS	200	/* it must still sleep after this */

static long base;		/* the module's reference count with none of our counters */
static int result = PASS;

#define msg(...) do { printf("# " __VA_ARGS__); printf("\n"); fflush(stdout); } while (0)
#define check(cond, ...) do { if (!(cond)) { msg("FAIL: " __VA_ARGS__); result = FAIL; } } while (0)

static int open_counter(uint64_t count, int flags, uint64_t maximum)
{
	int fd = efdm_create(count, flags | EFD_CLOEXEC, maximum);

	if (fd < 0) {
		msg("FAIL: open %s: %s", efdm_dev_path(), strerror(errno));
		exit(FAIL);
	}
	return fd;
}

static bool module_listed(void)
{
	char line[256];
	FILE *f = fopen("/proc/modules", "re");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, MODULE_NAME " ", strlen(MODULE_NAME) + 1);
	fclose(f);
	return found;
}

/* busybox rmmod (the first time its message is shown); returns its exit status. */
static int busybox_rmmod(void)
{
	static bool shown;
	char out[512] = "";
	int p[2], status = -1;
	ssize_t n = 0;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execlp("rmmod", "rmmod", MODULE_NAME, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (pid > 0) {
		n = read(p[0], out, sizeof(out) - 1);
		waitpid(pid, &status, 0);
	}
	close(p[0]);
	out[n > 0 ? n : 0] = 0;
	if (!shown) {
		shown = true;
		msg("busybox rmmod while busy: exit %d, said: %s", WEXITSTATUS(status),
		    strtok(out, "\n") ? out : "(nothing)");
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The module must be pinned: refcnt above the baseline, unload refused with EWOULDBLOCK. */
static void expect_busy(const char *what)
{
	static const int flags[] = { O_NONBLOCK, 0 };
	long refs = module_refcnt();

	check(refs > base, "%s: refcnt %ld, baseline %ld", what, refs, base);
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		long r = syscall(SYS_delete_module, MODULE_NAME, flags[i]);

		check(r == -1 && errno == EWOULDBLOCK, "%s: delete_module(flags %#x) = %ld (%s), "
		      "expected EWOULDBLOCK", what, flags[i], r, r ? strerror(errno) : "unloaded!");
		if (r == 0)
			exit(FAIL);	/* lifetime.sh notices and reloads it */
	}
	check(busybox_rmmod() != 0 && module_listed(), "%s: busybox rmmod succeeded", what);
	msg("%s: refcnt %ld (baseline %ld), delete_module: EWOULDBLOCK", what, refs, base);
}

/* The reference count must come back to the baseline within RELEASE_MS. */
static bool released(void)
{
	uint64_t deadline = now_ms() + RELEASE_MS;

	while (module_refcnt() != base && now_ms() < deadline)
		sleep_ms(10);
	return module_refcnt() == base;
}

static void expect_released(const char *what)
{
	check(released(), "%s: refcnt %ld, not back to %ld within %d ms", what, module_refcnt(),
	      base, RELEASE_MS);
}

/* ---- holders ----------------------------------------------------------------------------- */

static void busy_open(void)
{
	int fd = open_counter(0, 0, 10);

	expect_busy("open fd");
	close(fd);
	expect_released("after close");
}

/* The fd in an epoll set pins the module only through the fd; epoll itself holds no reference. */
static void busy_epoll(bool unload)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT }, out[4];
	int fd = open_counter(1, 0, 10), epfd = epoll_create1(EPOLL_CLOEXEC);
	long r;

	check(epfd >= 0 && !epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev), "epoll setup: %s",
	      strerror(errno));
	expect_busy("fd open and in an epoll set");
	close(fd);
	check(released(), "fd closed, only an epoll set watches it: refcnt %ld, baseline %ld",
	      module_refcnt(), base);
	msg("fd closed, epoll fd kept: refcnt back to %ld (epoll holds no file reference)", base);
	check(epoll_wait(epfd, out, 4, 0) == 0, "epoll_wait reports a released counter");
	if (unload) {
		r = syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK);
		check(r == 0, "delete_module with only an epoll set left: %s", strerror(errno));
		check(!module_listed(), "module still listed after delete_module");
		check(epoll_wait(epfd, out, 4, 10) == 0, "epoll_wait after unload");
		check(epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) == -1 && errno == EBADF,
		      "EPOLL_CTL_DEL of the closed fd: %s", strerror(errno));
		msg("module unloaded under the live epoll instance: %s", r ? "no" : "yes");
	}
	close(epfd);
}

static int send_fds(int sock, const int *fds, int n)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))] = { 0 }, byte = 'x';
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = CMSG_SPACE((size_t)n * sizeof(int)) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, (size_t)n * sizeof(int));
	return sendmsg(sock, &mh, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

/* In flight over a unix socket: @mode 0 received later, 1 dropped, 2 in a cycle (unix GC). */
static void busy_scm(int mode)
{
	struct raw_fdinfo before, after;
	int fd = open_counter(5, 0, 10), sv[2], got, pair[2];

	check(!raw_fdinfo(fd, &before), "fdinfo");
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) || send_fds(sv[0], &fd, 1)) {
		msg("FAIL: socketpair/sendmsg: %s", strerror(errno));
		exit(FAIL);
	}
	close(fd);
	expect_busy("fd in flight over a unix socket, sender's copy closed");
	switch (mode) {
	case 0:
		got = recv_fd(sv[1]);
		check(got >= 0 && !raw_fdinfo(got, &after) && after.id == before.id &&
		      after.count == 5 && after.maximum == 10, "received fd is not the counter");
		msg("received it back: id %ld, count %" PRIu64, after.id, after.count);
		close(got);
		break;
	case 2:
		/* sv[1] in its own receive queue: a cycle only the garbage collector breaks. */
		if (send_fds(sv[0], &sv[1], 1))
			msg("FAIL: sendmsg of the socket: %s", strerror(errno));
		break;
	}
	close(sv[0]);
	close(sv[1]);
	/* Closing unix sockets while some are in flight also kicks the GC. */
	for (int i = 0; mode == 2 && i < 50 && module_refcnt() != base; i++) {
		if (!socketpair(AF_UNIX, SOCK_DGRAM, 0, pair)) {
			close(pair[0]);
			close(pair[1]);
		}
		sleep_ms(100);
	}
	expect_released(mode == 2 ? "in-flight cycle collected" : "sockets closed");
}

static void busy_fork(void)
{
	int fd = open_counter(0, 0, 10), p[2];
	char c;
	pid_t pid;

	if (pipe(p))
		exit(FAIL);
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		alarm(60);
		(void)!read(p[0], &c, 1);	/* until the parent closes its end */
		_exit(0);
	}
	close(p[0]);
	close(fd);
	expect_busy("fd held only by a forked child");
	close(p[1]);
	waitpid(pid, NULL, 0);
	expect_released("child exited");
}

/* ---- sleepers ---------------------------------------------------------------------------- */

enum sleeper_op { S_READ, S_WRITE, S_POLL, S_EPOLL };

struct sleeper {
	pthread_t th;
	enum sleeper_op op;
	int fd;
	uint64_t value;
	long ret;
	int err;
	atomic_int tid;
	atomic_bool done;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	struct epoll_event ev;

	atomic_store(&s->tid, (int)syscall(SYS_gettid));
	switch (s->op) {
	case S_READ:
		s->ret = read(s->fd, &s->value, 8);
		break;
	case S_WRITE:
		s->ret = write(s->fd, &s->value, 8);
		break;
	case S_POLL:
		s->ret = poll(&pfd, 1, 30000);
		s->value = (uint64_t)pfd.revents;
		break;
	case S_EPOLL:
		s->ret = epoll_wait(s->fd, &ev, 1, 30000);
		break;
	}
	s->err = errno;
	atomic_store(&s->done, true);
	return NULL;
}

static void start_sleeper(struct sleeper *s, enum sleeper_op op, int fd, uint64_t value)
{
	uint64_t deadline = now_ms() + SLEEP_MS;

	memset(s, 0, sizeof(*s));
	s->op = op;
	s->fd = fd;
	s->value = value;
	if (pthread_create(&s->th, NULL, sleeper_main, s))
		exit(FAIL);
	while (now_ms() < deadline && !atomic_load(&s->done) &&
	       !(atomic_load(&s->tid) && task_sleeping(atomic_load(&s->tid))))
		sleep_ms(5);
	sleep_ms(SETTLE_MS);
	if (atomic_load(&s->done) || !task_sleeping(atomic_load(&s->tid))) {
		msg("FAIL: the helper thread did not sleep (done %d, ret %ld)",
		    atomic_load(&s->done), s->ret);
		exit(FAIL);
	}
}

/* Joins within a bound; a thread that does not return fails (and the process exits). */
static void join_sleeper(struct sleeper *s, const char *what)
{
	if (join_bounded(s->th, 10000)) {
		msg("FAIL: %s: the sleeper did not return", what);
		exit(FAIL);
	}
}

/*
 * close(fd) while a thread sleeps in read/write on it.  The sleeper's file reference keeps the
 * counter (and the module) alive and it stays asleep; then a dup'ed fd makes it return normally,
 * or a signal interrupts it.
 */
static void blocked_rw(bool is_write, bool by_dup)
{
	int fd = open_counter(is_write ? 1 : 0, 0, 2), fd2 = by_dup ? dup(fd) : -1;
	const char *what = is_write ? "write" : "read";
	struct sleeper s;
	uint64_t v = 0;

	start_sleeper(&s, is_write ? S_WRITE : S_READ, fd, 1);
	close(fd);
	sleep_ms(SETTLE_MS);
	check(!atomic_load(&s.done) && task_sleeping(atomic_load(&s.tid)),
	      "%s: the sleeper woke when its fd was closed (ret %ld, errno %d)", what, s.ret,
	      s.err);
	expect_busy(by_dup ? "fd closed, a dup left, a thread asleep on it" :
			     "last fd closed while a thread sleeps on it");
	if (by_dup) {
		/* Reading makes room for the writer; writing wakes the reader. */
		check((is_write ? efd_read(fd2, &v) : efd_write(fd2, 1)) == 8, "%s through the dup",
		      is_write ? "read" : "write");
		join_sleeper(&s, what);
		check(s.ret == 8 && (is_write || s.value == 1),
		      "%s after release: %ld (%s), value %" PRIu64, what, s.ret, strerror(s.err),
		      s.value);
		msg("blocked %s returned %ld after a %s through the dup", what, s.ret,
		    is_write ? "read" : "write");
		check(efd_count(fd2, &v) && v == (is_write ? 1 : 0), "count %" PRIu64 " after the "
		      "exchange", v);
		close(fd2);
	} else {
		pthread_kill(s.th, SIGUSR1);
		join_sleeper(&s, what);
		check(s.ret == -1 && s.err == EINTR, "%s after the signal: %ld (%s)", what, s.ret,
		      strerror(s.err));
		msg("blocked %s returned EINTR after the signal", what);
	}
	expect_released("sleeper gone");
}

/* close(fd) under a thread in poll(2) (which holds the file) or epoll_wait(2) (which does not). */
static void blocked_poll(bool epoll)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = open_counter(0, 0, 10), epfd = -1;
	struct sleeper s;

	if (epoll) {
		epfd = epoll_create1(EPOLL_CLOEXEC);
		if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev))
			exit(FAIL);
	}
	start_sleeper(&s, epoll ? S_EPOLL : S_POLL, epoll ? epfd : fd, 0);
	close(fd);
	if (epoll)
		expect_released("fd closed under epoll_wait");
	else
		expect_busy("fd closed under poll (its poll table holds the file)");
	check(!atomic_load(&s.done), "the waiter returned when the fd was closed: %ld", s.ret);
	pthread_kill(s.th, SIGUSR1);
	join_sleeper(&s, epoll ? "epoll_wait" : "poll");
	/* poll re-evaluates its fds before it looks at the signal: the closed one is POLLNVAL. */
	check((s.ret == -1 && s.err == EINTR) || (!epoll && s.ret == 1 && s.value == POLLNVAL),
	      "waiter: %ld (%s), revents %#" PRIx64, s.ret, strerror(s.err), s.value);
	msg("%s returned %ld%s after the signal", epoll ? "epoll_wait" : "poll", s.ret,
	    s.ret == 1 ? " (POLLNVAL: its fd is closed)" : " (EINTR)");
	expect_released("waiter gone");
	if (epfd >= 0)
		close(epfd);
}

/* A child asleep in read(2) on its own counter is killed: its exit releases the counter. */
static void killed_blocked(void)
{
	int p[2], status;
	uint64_t v;
	pid_t pid;
	char c;

	if (pipe(p))
		exit(FAIL);
	pid = fork();
	if (pid == 0) {
		int fd = open_counter(0, 0, 10);

		(void)!write(p[1], "r", 1);
		alarm(60);
		(void)!read(fd, &v, 8);
		_exit(0);
	}
	check(read(p[0], &c, 1) == 1, "child did not start");
	for (int i = 0; i < 1000; i++) {	/* wait until it sleeps */
		char path[64], buf[256], *q;
		int sfd;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		sfd = open(path, O_RDONLY | O_CLOEXEC);
		n = sfd >= 0 ? read(sfd, buf, sizeof(buf) - 1) : -1;
		if (sfd >= 0)
			close(sfd);
		buf[n > 0 ? n : 0] = 0;
		q = strrchr(buf, ')');
		if (q && q[2] == 'S')
			break;
		sleep_ms(5);
	}
	expect_busy("a child asleep in read");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %#x", status);
	expect_released("killed child reaped");
}

/* ---- processes sharing a counter --------------------------------------------------------- */

struct share {
	uint64_t sum, ops, violations;
	int done;
};

static volatile sig_atomic_t stop_reading;

static void stop_handler(int sig)
{
	(void)sig;
	stop_reading = 1;
}

static void share_writer(int fd, struct share *sh, uint64_t end, uint64_t maximum, int idx)
{
	uint64_t rng = 0x5eed + (uint64_t)idx * 7919;

	while (now_ms() < end) {
		uint64_t v = 1 + rnd(&rng, maximum - 1);

		if (efd_write(fd, v) == 8) {
			sh->sum += v;
			sh->ops++;
		}
	}
}

static void share_reader(int fd, struct share *sh, uint64_t maximum, bool sem)
{
	struct sigaction sa = { .sa_handler = stop_handler };

	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART: a blocked read returns EINTR */
	while (!stop_reading) {
		uint64_t v = 0;

		if (efd_read(fd, &v) != 8)
			continue;
		sh->sum += v;
		sh->ops++;
		if (!v || v >= maximum || (sem && v != 1))
			sh->violations++;
	}
}

/* @nw writers and @nr readers, all forked, on one blocking counter with a small maximum. */
static void fork_share(bool sem, unsigned int seconds)
{
	enum { NW = 3, NR = 2, MAXIMUM = 5 };
	struct share *sh = mmap(NULL, sizeof(*sh) * (NW + NR), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int fd = open_counter(0, sem ? EFD_SEMAPHORE : 0, MAXIMUM);
	uint64_t end = now_ms() + seconds * 1000, deadline, written = 0, got = 0, left = 0, ops = 0;
	pid_t pids[NW + NR];
	int status;

	if (sh == MAP_FAILED)
		exit(FAIL);
	memset(sh, 0, sizeof(*sh) * (NW + NR));
	for (int i = 0; i < NW + NR; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			alarm(seconds + 60);
			if (i < NW)
				share_writer(fd, &sh[i], end, MAXIMUM, i);
			else
				share_reader(fd, &sh[i], MAXIMUM, sem);
			_exit(0);
		}
	}
	/* Writers stop at the deadline (readers keep draining, so none stays blocked); then the
	 * readers, signalled until each has left its blocking read. */
	deadline = end + 20000;
	for (int i = 0; i < NW + NR; i++) {
		pid_t w;

		while ((w = waitpid(pids[i], &status, WNOHANG)) == 0 && now_ms() < deadline) {
			if (i >= NW)
				kill(pids[i], SIGUSR1);
			sleep_ms(5);
		}
		if (w != pids[i]) {
			for (int j = 0; j < NW + NR; j++)
				kill(pids[j], SIGKILL);
			msg("FAIL: %s %d did not finish", i < NW ? "writer" : "reader", i);
			exit(FAIL);
		}
		check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %#x", i,
		      status);
	}
	for (int i = 0; i < NW + NR; i++) {
		*(i < NW ? &written : &got) += sh[i].sum;
		ops += sh[i].ops;
		check(!sh[i].violations, "reader %d: %" PRIu64 " values out of range", i,
		      sh[i].violations);
	}
	check(efd_count(fd, &left), "fdinfo");
	msg("%d writer and %d reader processes, %u s: %" PRIu64 " operations, written %" PRIu64
	    ", read %" PRIu64 ", left %" PRIu64, NW, NR, seconds, ops, written, got, left);
	check(written == got + left, "written %" PRIu64 " != read %" PRIu64 " + left %" PRIu64,
	      written, got, left);
	check(written > 0 && got > 0, "no work: written %" PRIu64 ", read %" PRIu64, written, got);
	close(fd);
	expect_released("shared counter closed");
}

/* ---- between insmod and rmmod ------------------------------------------------------------ */

static void cycle_open(void)
{
	int fds[4];
	struct raw_fdinfo fi[4];
	uint64_t v = 0;

	for (int i = 0; i < 4; i++) {
		fds[i] = open_counter((uint64_t)i, i & 1 ? EFD_SEMAPHORE : 0, 10);
		check(efd_write(fds[i], 3) == 8 && !raw_fdinfo(fds[i], &fi[i]) &&
		      fi[i].count == (uint64_t)i + 3, "counter %d", i);
		for (int j = 0; j < i; j++)
			check(fi[i].id != fi[j].id, "ids %d and %d equal", i, j);
	}
	check(module_refcnt() == base + 4 * EFDM_MODULE_REFS_PER_OPEN, "refcnt %ld with 4 open",
	      module_refcnt());
	for (int i = 0; i < 4; i++) {
		check(efd_read(fds[i], &v) == 8 && v == (i & 1 ? 1 : (uint64_t)i + 3), "read %d",
		      i);
		close(fds[i]);
	}
	expect_released("4 counters closed");
}

/* Opens race with rmmod/insmod in lifetime.sh: a missing device is the only failure allowed. */
static void race_open(unsigned int seconds)
{
	uint64_t end = now_ms() + seconds * 1000, opened = 0, missing = 0;

	while (now_ms() < end) {
		int fd = open(efdm_dev_path(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
		uint64_t v = 0;

		if (fd < 0) {
			check(errno == ENOENT || errno == ENODEV || errno == ENXIO,
			      "open while reloading: %s", strerror(errno));
			missing++;
			if (result == FAIL)
				break;
			continue;
		}
		opened++;
		check(efd_write(fd, 2) == 8 && efd_read(fd, &v) == 8 && v == 2,
		      "use of an fd opened while reloading");
		close(fd);
		if (result == FAIL)
			break;
	}
	msg("racing opener: %" PRIu64 " opens used, %" PRIu64 " found no device", opened, missing);
	/* Both sides of the race happened: opens while loaded, and opens while unloaded. */
	check(opened > 0 && missing > 0, "racing opener: %" PRIu64 " opens used, %" PRIu64
	      " refused", opened, missing);
}

/* Between rmmod and insmod: the uapi helper fails with ENOENT, as the contract says. */
static void no_module(void)
{
	int fd;

	check(!module_listed(), "%s is loaded", MODULE_NAME);
	errno = 0;
	fd = eventfd_max(0, EFD_CLOEXEC, 5);
	check(fd == -1 && errno == ENOENT, "eventfd_max() without the module: %d (%s)", fd,
	      strerror(errno));
	msg("eventfd_max() without the module: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	unsigned int secs = argc > 2 ? (unsigned int)atoi(argv[2]) : 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	efdm_install_interrupt(SIGUSR1);
	alarm(300);	/* nothing here may hang the suite */
	base = module_refcnt();
	if (strcmp(cmd, "race-open") && strcmp(cmd, "no-module") && base < 0) {
		msg("no %s: module not loaded (or built in)", REFCNT_PATH);
		return efdm_required() ? FAIL : SKIP;
	}
	if (!strcmp(cmd, "busy-open"))
		busy_open();
	else if (!strcmp(cmd, "busy-epoll") || !strcmp(cmd, "epoll-unload"))
		busy_epoll(!strcmp(cmd, "epoll-unload"));
	else if (!strcmp(cmd, "busy-scm"))
		busy_scm(0);
	else if (!strcmp(cmd, "scm-drop"))
		busy_scm(1);
	else if (!strcmp(cmd, "scm-cycle"))
		busy_scm(2);
	else if (!strcmp(cmd, "busy-fork"))
		busy_fork();
	else if (!strcmp(cmd, "killed-blocked"))
		killed_blocked();
	else if (!strncmp(cmd, "blocked-read-", 13) || !strncmp(cmd, "blocked-write-", 14))
		blocked_rw(cmd[8] == 'w', !!strstr(cmd, "-dup"));
	else if (!strcmp(cmd, "blocked-poll") || !strcmp(cmd, "blocked-epoll"))
		blocked_poll(cmd[8] == 'e');
	else if (!strcmp(cmd, "fork-share") || !strcmp(cmd, "fork-share-sem"))
		fork_share(!!strstr(cmd, "-sem"), secs);
	else if (!strcmp(cmd, "cycle-open"))
		cycle_open();
	else if (!strcmp(cmd, "race-open"))
		race_open(secs);
	else if (!strcmp(cmd, "no-module"))
		no_module();
	else {
		fprintf(stderr, "usage: %s SCENARIO [SECONDS] (see the comment in lifetime.c)\n",
			argv[0]);
		return 2;
	}
	return result;
}
