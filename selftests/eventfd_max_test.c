// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for /dev/eventfd_max: one TEST per rule of the behaviour contract (issue 3), the RFC's
 * own scenarios (rfc_*), and the in-kernel eventfd_signal() equivalent through debugfs (ksig.*).
 *
 * Every blocking step runs in a helper thread; the main thread first checks that the helper really
 * sleeps in its system call, then releases it and joins with a bound.  An alarm() per test and the
 * harness timeout back that up, so nothing can hang.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>

#include "efdm_util.h"
#include "efdm_wait.h"
#include "kselftest_harness.h"

/* Generous bounds: the guest is an emulated (TCG) machine running a debug kernel. */
#define TEST_ALARM_S	25	/* per test, below the harness' 30 s */
#define OP_WAIT_MS	10000	/* how long a helper's poll/epoll_wait waits at most */
#define SLEEP_MS	5000	/* how long a helper may take to start sleeping */
#define SETTLE_MS	50	/* a sleeping helper must still sleep after this long */
#define JOIN_MS		5000	/* how long a released helper may take to return */

#define DEBUGFS_DIR	"/sys/kernel/debug"
#ifndef DEBUGFS_MAGIC
#define DEBUGFS_MAGIC	0x64626720
#endif

/* ---- helper threads that block ------------------------------------------------------------- */

enum op_kind { OP_READ, OP_WRITE, OP_POLL, OP_EPOLL };

struct op {
	pthread_t thread;
	enum op_kind kind;
	int fd;			/* the counter, or for OP_EPOLL the epoll fd */
	uint64_t value;		/* OP_WRITE: value to write; OP_READ: value read */
	short events;		/* OP_POLL: events asked, then revents */
	int epoll_events;	/* OP_EPOLL: events reported */
	long ret;
	int err;
	atomic_int tid;
	atomic_bool done;
};

static void *op_run(void *arg)
{
	struct op *op = arg;
	struct pollfd pfd = { .fd = op->fd, .events = op->events };
	struct epoll_event ev = { 0 };

	atomic_store(&op->tid, (int)syscall(SYS_gettid));
	switch (op->kind) {
	case OP_READ:
		op->ret = read(op->fd, &op->value, sizeof(op->value));
		break;
	case OP_WRITE:
		op->ret = write(op->fd, &op->value, sizeof(op->value));
		break;
	case OP_POLL:
		op->ret = poll(&pfd, 1, OP_WAIT_MS);
		op->events = pfd.revents;
		break;
	case OP_EPOLL:
		op->ret = epoll_wait(op->fd, &ev, 1, OP_WAIT_MS);
		op->epoll_events = op->ret == 1 ? (int)ev.events : 0;
		break;
	}
	op->err = op->ret < 0 ? errno : 0;
	atomic_store(&op->done, true);
	return NULL;
}

static int op_start(struct op *op, enum op_kind kind, int fd, uint64_t value, short events)
{
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->fd = fd;
	op->value = value;
	op->events = events;
	return pthread_create(&op->thread, NULL, op_run, op);
}

/* The scheduler state letter of one of our threads ('S' = interruptible sleep), or 0. */
static char task_state(int tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* The helper is seen sleeping within 200 ms (a wake-up may make it run briefly) and not done. */
static bool op_seen_sleeping(struct op *op)
{
	int tid = atomic_load(&op->tid);

	return tid && EFDM_WAIT_FOR(atomic_load(&op->done) || task_state(tid) == 'S', 200) &&
	       !atomic_load(&op->done);
}

/* Has not returned after SETTLE_MS, and sleeps (in its system call: it does nothing else). */
static bool op_still_blocked(struct op *op)
{
	efdm_sleep_ms(SETTLE_MS);
	return op_seen_sleeping(op);
}

/* Waits (up to SLEEP_MS) until the helper sleeps in its system call and stays there. */
static bool op_sleeping(struct op *op)
{
	return EFDM_WAIT_FOR(atomic_load(&op->done) || op_seen_sleeping(op), SLEEP_MS) &&
	       op_still_blocked(op);
}

/* The helper's thread has exited (its /proc entry is gone), so joining it cannot wait. */
static bool op_exited(struct op *op)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d", atomic_load(&op->tid));
	return atomic_load(&op->done) && access(path, F_OK) != 0;
}

/* Waits up to JOIN_MS for the helper to return and exit, then joins it; false if it did not. */
static bool op_join(struct op *op)
{
	if (!EFDM_WAIT_FOR(op_exited(op), JOIN_MS))
		return false;
	pthread_join(op->thread, NULL);
	return true;
}

static volatile sig_atomic_t signals_caught;

static void on_signal(int sig)
{
	(void)sig;
	signals_caught++;
}

static int catch_sigusr1(int sa_flags)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = sa_flags };

	sigemptyset(&sa.sa_mask);
	signals_caught = 0;
	return sigaction(SIGUSR1, &sa, NULL);
}

/* Sends SIGUSR1 to the helper and waits until its handler has run. */
static bool signal_op(struct op *op)
{
	int before = signals_caught;

	if (pthread_kill(op->thread, SIGUSR1))
		return false;
	return EFDM_WAIT_FOR(signals_caught != before, JOIN_MS);
}

/* ---- small assertion helpers ---------------------------------------------------------------- */

/* A PROT_NONE page: a user address every copy to or from fails on. */
static void *bad_page(struct __test_metadata *_metadata)
{
	void *p = mmap(NULL, (size_t)getpagesize(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_TRUE(p != MAP_FAILED);
	return p;
}

static int ep_new(struct __test_metadata *_metadata, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_LE(0, epfd);
	ASSERT_EQ(0, epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev));
	return epfd;
}

/* Events epoll reports right now (timeout 0), or 0 if it reports nothing. */
static int ep_now(struct __test_metadata *_metadata, int epfd)
{
	struct epoll_event ev = { 0 };
	int n = epoll_wait(epfd, &ev, 1, 0);

	ASSERT_LE(0, n);
	return n ? (int)ev.events : 0;
}

static int native_eventfd(struct __test_metadata *_metadata, unsigned int count, int flags)
{
	int fd = eventfd(count, flags);

	ASSERT_LE(0, fd);
	return fd;
}

static int device_counter(struct __test_metadata *_metadata, uint64_t count, int flags,
			  uint64_t maximum)
{
	int fd = efdm_create(count, flags, maximum);

	ASSERT_LE(0, fd) TH_LOG("eventfd_max(%llu, %#x, %llu) on %s: %s",
				(unsigned long long)count, flags, (unsigned long long)maximum,
				efdm_dev_path(), strerror(errno));
	return fd;
}

#define CONFIGURE(fd, count, maximum, flags) \
	ASSERT_EQ(0, efdm_configure(fd, count, maximum, flags))

/* ---- fixtures ------------------------------------------------------------------------------- */

/* A fresh, blocking, unconfigured counter. */
FIXTURE(efd) {
	int fd;
};

FIXTURE_SETUP(efd)
{
	self->fd = -1;
	alarm(TEST_ALARM_S);
	self->fd = efdm_open(0);
	if (self->fd < 0 && (errno == ENOENT || errno == ENODEV || errno == ENXIO))
		EFDM_SKIP(return, "%s: %s (module not loaded?)", efdm_dev_path(), strerror(errno));
	ASSERT_LE(0, self->fd) TH_LOG("open %s: %s", efdm_dev_path(), strerror(errno));
}

FIXTURE_TEARDOWN(efd)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* ---- open ----------------------------------------------------------------------------------- */

/* open() gives count 0, non-semaphore, maximum ULLONG_MAX, O_RDWR, writable only. */
TEST_F(efd, open_defaults)
{
	struct efd_fdinfo fi;
	uint64_t v = 0;
	int fl = fcntl(self->fd, F_GETFL);

	ASSERT_LE(0, fl);
	EXPECT_EQ(O_RDWR, fl & O_ACCMODE);
	EXPECT_EQ(U64_MAX_VAL, efdm_get_max(self->fd));
	ASSERT_EQ(0, efd_fdinfo(self->fd, &fi));
	EXPECT_TRUE(fi.has_count && fi.has_semaphore && fi.has_maximum);
	EXPECT_EQ(0ULL, fi.count);
	EXPECT_EQ(0, fi.semaphore);
	EXPECT_EQ(~0ULL, fi.maximum);
	EXPECT_EQ(POLLOUT, poll_mask(self->fd));
	/* Not a semaphore: the whole count comes back at once. */
	ASSERT_EQ(8, efd_write(self->fd, 2));
	ASSERT_EQ(8, efd_write(self->fd, 3));
	ASSERT_EQ(8, efd_read(self->fd, &v));
	EXPECT_EQ(5ULL, v);
}

/* Every open() is its own counter: writes, maximum and configuration do not leak across. */
TEST_F(efd, open_counters_independent)
{
	int other = efdm_open(O_NONBLOCK);
	uint64_t v = 0;

	ASSERT_LE(0, other);
	ASSERT_EQ(8, efd_write(self->fd, 7));
	EXPECT_EQ(0ULL, efdm_count_of(other));
	EXPECT_EQ(POLLOUT, poll_mask(other));
	EXPECT_EQ(-EAGAIN, efd_read(other, &v));
	ASSERT_EQ(0, efdm_set_max(self->fd, 100));
	EXPECT_EQ(U64_MAX_VAL, efdm_get_max(other));
	/* self->fd is used, the other one is still configurable. */
	EXPECT_EQ(0, efdm_configure(other, 1, 3, EFD_SEMAPHORE));
	EXPECT_EQ(100ULL, efdm_get_max(self->fd));
	EXPECT_EQ(7ULL, efdm_count_of(self->fd));
	close(other);
}

/* The node is a 0666 character device, and an unprivileged user can open and use it. */
TEST_F(efd, device_node_mode_and_unprivileged_open)
{
	struct stat st;
	pid_t pid;
	int status;

	if (efdm_native())
		SKIP(return, "native mode has no device node");
	ASSERT_EQ(0, stat(efdm_dev_path(), &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0666u, st.st_mode & 0777u);
	if (geteuid() != 0)
		return;	/* already unprivileged: the fixture's open() proved it */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint64_t v = 0;
		int fd;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		fd = efdm_open(O_NONBLOCK);
		if (fd < 0)
			_exit(3);
		_exit(efd_write(fd, 4) == 8 && efd_read(fd, &v) == 8 && v == 4 ? 0 : 4);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("2: setresuid, 3: open, 4: write/read");
}

/* ---- read ----------------------------------------------------------------------------------- */

/* A buffer shorter than 8 bytes is EINVAL, before blocking and without consuming anything. */
TEST_F(efd, read_short_buffer_einval)
{
	uint8_t buf[8];

	for (size_t len = 0; len < 8; len++) {
		errno = 0;
		EXPECT_EQ(-1, read(self->fd, buf, len)) TH_LOG("len %zu on an empty counter", len);
		EXPECT_EQ(EINVAL, errno) TH_LOG("len %zu on an empty counter", len);
	}
	ASSERT_EQ(8, efd_write(self->fd, 5));
	for (size_t len = 0; len < 8; len++) {
		errno = 0;
		EXPECT_EQ(-1, read(self->fd, buf, len)) TH_LOG("len %zu", len);
		EXPECT_EQ(EINVAL, errno) TH_LOG("len %zu", len);
	}
	EXPECT_EQ(5ULL, efdm_count_of(self->fd));
}

/* A buffer longer than 8 bytes reads exactly 8. */
TEST_F(efd, read_long_buffer_returns_8)
{
	uint64_t buf[4] = { 0, ~0ULL, ~0ULL, ~0ULL };

	ASSERT_EQ(8, efd_write(self->fd, 9));
	EXPECT_EQ(8, read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(9ULL, buf[0]);
	EXPECT_EQ(~0ULL, buf[1]);
	EXPECT_EQ(0ULL, efdm_count_of(self->fd));
}

/* Reading 0 when non-blocking is EAGAIN. */
TEST_F(efd, read_nonblock_empty_eagain)
{
	uint64_t v = 0;

	ASSERT_EQ(0, set_nonblock(self->fd, true));
	EXPECT_EQ(-EAGAIN, efd_read(self->fd, &v));
	ASSERT_EQ(8, efd_write(self->fd, 1));
	ASSERT_EQ(8, efd_read(self->fd, &v));
	EXPECT_EQ(-EAGAIN, efd_read(self->fd, &v));
}

/* Non-semaphore: a read returns the whole count and resets it to 0. */
TEST_F(efd, read_nonsemaphore_returns_all)
{
	uint64_t v = 0;

	CONFIGURE(self->fd, 40, 1000, 0);
	ASSERT_EQ(8, efd_write(self->fd, 2));
	ASSERT_EQ(8, efd_read(self->fd, &v));
	EXPECT_EQ(42ULL, v);
	EXPECT_EQ(0ULL, efdm_count_of(self->fd));
	EXPECT_EQ(POLLOUT, poll_mask(self->fd));
}

/* Semaphore: each read returns 1 and decrements, down to 0 (then EAGAIN). */
TEST_F(efd, read_semaphore_returns_one)
{
	uint64_t v = 0;

	CONFIGURE(self->fd, 3, 10, EFD_SEMAPHORE);
	ASSERT_EQ(0, set_nonblock(self->fd, true));
	for (uint64_t left = 2; left != ~0ULL; left--) {
		v = 0;
		ASSERT_EQ(8, efd_read(self->fd, &v));
		EXPECT_EQ(1ULL, v);
		EXPECT_EQ(left, efdm_count_of(self->fd));
	}
	EXPECT_EQ(-EAGAIN, efd_read(self->fd, &v));
}

/* A read into an unwritable buffer is EFAULT and gives the value back (eventfd(2) drops it). */
TEST_F(efd, read_bad_buffer_efault)
{
	void *bad = bad_page(_metadata);
	uint64_t v = 0;

	ASSERT_EQ(8, efd_write(self->fd, 6));
	EXPECT_ERRNO(EFAULT, read(self->fd, bad, 8));
	EXPECT_EQ(6ULL, efdm_count_of(self->fd));
	EXPECT_EQ(8, efd_read(self->fd, &v));
	EXPECT_EQ(6ULL, v);
}

/* ---- write ---------------------------------------------------------------------------------- */

/* A length other than 8 is EINVAL and adds nothing. */
TEST_F(efd, write_wrong_length_einval)
{
	static const size_t lens[] = { 0, 1, 4, 7, 9, 12, 16 };
	uint64_t buf[2] = { 1, 1 };

	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		errno = 0;
		EXPECT_EQ(-1, write(self->fd, buf, lens[i])) TH_LOG("len %zu", lens[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("len %zu", lens[i]);
	}
	EXPECT_EQ(0ULL, efdm_count_of(self->fd));
	EXPECT_EQ(POLLOUT, poll_mask(self->fd));
}

/* A value >= maximum is EINVAL at once, even on a blocking fd and even when not empty. */
TEST_F(efd, write_value_not_below_maximum_einval)
{
	static const uint64_t bad[] = { 10, 11, 1ULL << 40, ~0ULL - 1, ~0ULL };
	int fresh;

	CONFIGURE(self->fd, 0, 10, 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, efd_write(self->fd, bad[i]))
			TH_LOG("value %llu", (unsigned long long)bad[i]);
	}
	ASSERT_EQ(8, efd_write(self->fd, 9));
	ASSERT_EQ(0, set_nonblock(self->fd, true));
	EXPECT_EQ(-EINVAL, efd_write(self->fd, 10));	/* EINVAL, not EAGAIN */
	EXPECT_EQ(-EAGAIN, efd_write(self->fd, 1));
	EXPECT_EQ(9ULL, efdm_count_of(self->fd));
	/* The default maximum makes this upstream's ULLONG_MAX rule. */
	fresh = efdm_open(0);
	ASSERT_LE(0, fresh);
	EXPECT_EQ(-EINVAL, efd_write(fresh, ~0ULL));
	EXPECT_EQ(0ULL, efdm_count_of(fresh));
	close(fresh);
}

/* A write fits exactly when maximum - count > value; a write of 0 needs count < maximum. */
TEST_F(efd, write_fits_while_room_exceeds_value)
{
	uint64_t v = 0;

	CONFIGURE(self->fd, 3, 10, 0);
	ASSERT_EQ(0, set_nonblock(self->fd, true));
	EXPECT_EQ(-EAGAIN, efd_write(self->fd, 7));	/* room 7 is not > 7 */
	EXPECT_EQ(8, efd_write(self->fd, 6));		/* room 7 > 6: count 9 */
	EXPECT_EQ(-EAGAIN, efd_write(self->fd, 1));
	EXPECT_EQ(8, efd_write(self->fd, 0));		/* room 1 > 0 */
	EXPECT_EQ(9ULL, efdm_count_of(self->fd));
	ASSERT_EQ(8, efd_read(self->fd, &v));
	EXPECT_EQ(9ULL, v);
	EXPECT_EQ(-EINVAL, efd_write(self->fd, 10));	/* the maximum itself never fits */
	EXPECT_EQ(8, efd_write(self->fd, 9));		/* room 10 > 9 */
	EXPECT_EQ(9ULL, efdm_count_of(self->fd));
}

/* Near ULLONG_MAX with the default maximum, exactly as on eventfd(2). */
static void check_u64_edges(struct __test_metadata *_metadata, int fd, const char *what)
{
	uint64_t v = 0;

	TH_LOG("checking %s", what);
	EXPECT_EQ(8, efd_write(fd, ~0ULL - 1));
	EXPECT_EQ(-EAGAIN, efd_write(fd, 1));
	EXPECT_EQ(8, efd_write(fd, 0));
	EXPECT_EQ(-EINVAL, efd_write(fd, ~0ULL));
	EXPECT_EQ(POLLIN, poll_mask(fd));
	EXPECT_EQ(8, efd_read(fd, &v));
	EXPECT_EQ(~0ULL - 1, v);
	EXPECT_EQ(8, efd_write(fd, ~0ULL - 2));
	EXPECT_EQ(POLLIN | POLLOUT, poll_mask(fd));
	EXPECT_EQ(8, efd_write(fd, 0));
	EXPECT_EQ(8, efd_write(fd, 1));		/* room 2 > 1 */
	EXPECT_EQ(-EAGAIN, efd_write(fd, 1));	/* room 1 */
	EXPECT_EQ(POLLIN, poll_mask(fd));
}

TEST_F(efd, write_u64_edges_like_eventfd)
{
	int native = native_eventfd(_metadata, 0, EFD_NONBLOCK);

	ASSERT_EQ(0, set_nonblock(self->fd, true));
	check_u64_edges(_metadata, native, "eventfd(2)");
	check_u64_edges(_metadata, self->fd, efdm_dev_path());
	close(native);
}

/* A write from an unreadable buffer is EFAULT and adds nothing. */
TEST_F(efd, write_bad_buffer_efault)
{
	void *bad = bad_page(_metadata);

	EXPECT_ERRNO(EFAULT, write(self->fd, bad, 8));
	EXPECT_EQ(0ULL, efdm_count_of(self->fd));
}

/* A write of 0 succeeds and does not release a blocked reader (it has nothing to read). */
TEST_F(efd, write_zero_keeps_reader_blocked)
{
	struct op reader;

	ASSERT_EQ(0, op_start(&reader, OP_READ, self->fd, 0, 0));
	ASSERT_TRUE(op_sleeping(&reader));
	EXPECT_EQ(8, efd_write(self->fd, 0));
	EXPECT_TRUE(op_still_blocked(&reader));
	EXPECT_EQ(0ULL, efdm_count_of(self->fd));
	ASSERT_EQ(8, efd_write(self->fd, 2));
	ASSERT_TRUE(op_join(&reader));
	EXPECT_EQ(8, reader.ret);
	EXPECT_EQ(2ULL, reader.value);
}

/* ---- ioctl ---------------------------------------------------------------------------------- */

/* RFC: SET_MAXIMUM then GET_MAXIMUM returns it, for small and extreme values. */
TEST_F(efd, rfc_set_get_maximum_roundtrip)
{
	static const uint64_t vals[] = { 1, 2, 100, 1ULL << 40, ~0ULL - 1, ~0ULL, 7 };
	struct efd_fdinfo fi;

	for (size_t i = 0; i < ARRAY_SIZE(vals); i++) {
		ASSERT_EQ(0, efdm_set_max(self->fd, vals[i]));
		EXPECT_EQ(vals[i], efdm_get_max(self->fd));
		ASSERT_EQ(0, efd_fdinfo(self->fd, &fi));
		EXPECT_EQ(vals[i], fi.maximum);
	}
}

/* SET_MAXIMUM 0 is EINVAL and keeps the old maximum. */
TEST_F(efd, set_maximum_zero_einval)
{
	ASSERT_EQ(0, efdm_set_max(self->fd, 10));
	EXPECT_EQ(-EINVAL, efdm_set_max(self->fd, 0));
	EXPECT_EQ(10ULL, efdm_get_max(self->fd));
}

/*
 * A maximum at or below the count is EINVAL and changes nothing (the RFC's own selftest); one just
 * above it is accepted, and POLLOUT follows maximum - 1 > count.
 */
TEST_F(efd, set_maximum_at_or_below_count_einval)
{
	static const uint64_t refused[] = { 4, 3, 0 };	/* equal, below, zero */
	uint64_t v = 0;

	ASSERT_EQ(0, set_nonblock(self->fd, true));
	ASSERT_EQ(0, efdm_set_max(self->fd, 10));
	ASSERT_EQ(8, efd_write(self->fd, 4));
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		EXPECT_EQ(-EINVAL, efdm_set_max(self->fd, refused[i]));
		EXPECT_EQ(10ULL, efdm_get_max(self->fd));
		EXPECT_EQ(POLLIN | POLLOUT, poll_mask(self->fd));
	}
	EXPECT_EQ(4ULL, efdm_count_of(self->fd));
	ASSERT_EQ(0, efdm_set_max(self->fd, 5));
	EXPECT_EQ(POLLIN, poll_mask(self->fd));		/* maximum - 1 == count */
	EXPECT_EQ(-EAGAIN, efd_write(self->fd, 1));
	EXPECT_EQ(8, efd_write(self->fd, 0));
	ASSERT_EQ(8, efd_read(self->fd, &v));
	EXPECT_EQ(4ULL, v);
	EXPECT_EQ(POLLOUT, poll_mask(self->fd));
}

/* A bad user pointer makes SET_MAXIMUM, GET_MAXIMUM and CONFIGURE fail with EFAULT, harmlessly. */
TEST_F(efd, ioctl_bad_pointer_efault)
{
	static const unsigned long cmds[] = {
		EFD_IOC_SET_MAXIMUM, EFD_IOC_GET_MAXIMUM, EFD_IOC_CONFIGURE,
	};
	void *bad = bad_page(_metadata);

	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, cmds[i], bad)) TH_LOG("cmd %#lx", cmds[i]);
		EXPECT_EQ(EFAULT, errno) TH_LOG("cmd %#lx", cmds[i]);
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, cmds[i], NULL)) TH_LOG("cmd %#lx, NULL", cmds[i]);
		EXPECT_EQ(EFAULT, errno) TH_LOG("cmd %#lx, NULL", cmds[i]);
	}
	EXPECT_EQ(U64_MAX_VAL, efdm_get_max(self->fd));
	EXPECT_EQ(0ULL, efdm_count_of(self->fd));
	EXPECT_EQ(0, efdm_configure(self->fd, 1, 5, 0));	/* a fault does not use it up */
}

/* Unknown commands, including near misses of the real ones, are ENOTTY (as on eventfd(2)). */
TEST_F(efd, ioctl_unknown_enotty)
{
	static const unsigned long cmds[] = {
		_IO('J', 3), _IOW('J', 3, __u64), _IOR('J', 0, __u64), _IOW('J', 0, __u32),
		_IOWR('J', 1, __u64), _IOW('K', 0, __u64), _IOW('J', 2, __u64), 0x1234,
	};
	uint64_t buf[4] = { 5, 5, 0, 0 };
	int native = native_eventfd(_metadata, 0, 0);

	EXPECT_ERRNO(ENOTTY, ioctl(native, EFD_IOC_GET_MAXIMUM, buf));
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, cmds[i], buf)) TH_LOG("cmd %#lx", cmds[i]);
		EXPECT_EQ(ENOTTY, errno) TH_LOG("cmd %#lx", cmds[i]);
	}
	EXPECT_EQ(U64_MAX_VAL, efdm_get_max(self->fd));
	close(native);
}

/*
 * The ioctls check no access mode, as the RFC's do not: a read-only descriptor can set the maximum
 * (it cannot write), a write-only one can read it back (it cannot read).
 */
TEST_F(efd, ioctls_need_no_access_mode)
{
	uint64_t v = 1;
	int ro, wo;

	if (efdm_native())
		SKIP(return, "native eventfds are always O_RDWR");
	ro = open(efdm_dev_path(), O_RDONLY | O_CLOEXEC);
	wo = open(efdm_dev_path(), O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, ro);
	ASSERT_LE(0, wo);
	EXPECT_EQ(0, efdm_set_max(ro, 7));
	EXPECT_EQ(7ULL, efdm_get_max(ro));
	EXPECT_EQ(0, efdm_set_max(wo, 9));
	EXPECT_EQ(9ULL, efdm_get_max(wo));
	EXPECT_ERRNO(EBADF, write(ro, &v, sizeof(v)));
	EXPECT_ERRNO(EBADF, read(wo, &v, sizeof(v)));
	close(ro);
	close(wo);
}

/* ---- EFD_IOC_CONFIGURE ---------------------------------------------------------------------- */

/* CONFIGURE sets the count (any u64 below the maximum), the maximum and EFD_SEMAPHORE. */
TEST_F(efd, configure_applies_count_maximum_semaphore)
{
	struct efd_fdinfo fi;
	uint64_t v = 0;
	int big;

	CONFIGURE(self->fd, 5, 10, EFD_SEMAPHORE);
	EXPECT_EQ(10ULL, efdm_get_max(self->fd));
	ASSERT_EQ(0, efd_fdinfo(self->fd, &fi));
	EXPECT_EQ(5ULL, fi.count);
	EXPECT_EQ(1, fi.semaphore);
	EXPECT_EQ(POLLIN | POLLOUT, poll_mask(self->fd));
	ASSERT_EQ(8, efd_read(self->fd, &v));
	EXPECT_EQ(1ULL, v);
	/* Beyond eventfd2()'s unsigned int count. */
	big = efdm_open(0);
	ASSERT_LE(0, big);
	CONFIGURE(big, ~0ULL - 2, ~0ULL, 0);
	ASSERT_EQ(8, efd_read(big, &v));
	EXPECT_EQ(~0ULL - 2, v);
	close(big);
}

/* CONFIGURE that must fail with EINVAL, leaving the counter as open() made it. */
static void configure_einval(struct __test_metadata *_metadata, int fd,
			     struct eventfd_max_config config)
{
	int ret, err;

	errno = 0;
	ret = ioctl(fd, EFD_IOC_CONFIGURE, &config);
	err = errno;
	EXPECT_EQ(-1, ret) TH_LOG("count %llu maximum %llu flags %#x reserved %#x",
				 (unsigned long long)config.count,
				 (unsigned long long)config.maximum, config.flags, config.reserved);
	EXPECT_EQ(EINVAL, err);
	EXPECT_EQ(U64_MAX_VAL, efdm_get_max(fd));
	EXPECT_EQ(0ULL, efdm_count_of(fd));
}

/* flags other than 0 / EFD_SEMAPHORE are EINVAL (EFD_NONBLOCK and EFD_CLOEXEC belong to open()). */
TEST_F(efd, configure_flags_einval)
{
	static const __u32 flags[] = {
		EFD_NONBLOCK, EFD_CLOEXEC, EFD_SEMAPHORE | EFD_NONBLOCK, 2, 0x80000000u,
	};

	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		configure_einval(_metadata, self->fd,
				 (struct eventfd_max_config){ .count = 1, .maximum = 10,
							      .flags = flags[i] });
	EXPECT_EQ(0, efdm_configure(self->fd, 1, 10, EFD_SEMAPHORE));	/* not used up */
}

/* reserved != 0 is EINVAL. */
TEST_F(efd, configure_reserved_einval)
{
	configure_einval(_metadata, self->fd,
			 (struct eventfd_max_config){ .count = 1, .maximum = 10, .reserved = 1 });
	configure_einval(_metadata, self->fd,
			 (struct eventfd_max_config){ .maximum = 10, .reserved = 0x80000000u });
	EXPECT_EQ(0, efdm_configure(self->fd, 1, 10, 0));
}

/* count >= maximum is EINVAL; count == maximum - 1 is fine. */
TEST_F(efd, configure_count_not_below_maximum_einval)
{
	configure_einval(_metadata, self->fd, (struct eventfd_max_config){ 10, 10, 0, 0 });
	configure_einval(_metadata, self->fd, (struct eventfd_max_config){ 11, 10, 0, 0 });
	configure_einval(_metadata, self->fd, (struct eventfd_max_config){ 1, 1, 0, 0 });
	configure_einval(_metadata, self->fd, (struct eventfd_max_config){ ~0ULL, ~0ULL, 0, 0 });
	EXPECT_EQ(0, efdm_configure(self->fd, 9, 10, 0));
	EXPECT_EQ(9ULL, efdm_count_of(self->fd));
}

/* maximum 0 is EINVAL. */
TEST_F(efd, configure_maximum_zero_einval)
{
	configure_einval(_metadata, self->fd, (struct eventfd_max_config){ 0, 0, 0, 0 });
	configure_einval(_metadata, self->fd,
			 (struct eventfd_max_config){ 0, 0, EFD_SEMAPHORE, 0 });
	EXPECT_EQ(0, efdm_configure(self->fd, 0, 1, 0));
}

/* CONFIGURE after a first write (even of 0), or after a write and a read, is EBUSY. */
TEST_F(efd, configure_ebusy_after_read_or_write)
{
	int fds[3];
	uint64_t v = 0;

	for (int i = 0; i < 3; i++) {
		fds[i] = efdm_open(0);
		ASSERT_LE(0, fds[i]);
	}
	ASSERT_EQ(8, efd_write(fds[0], 0));
	ASSERT_EQ(8, efd_write(fds[1], 3));
	ASSERT_EQ(8, efd_write(fds[2], 3));
	ASSERT_EQ(8, efd_read(fds[2], &v));	/* back to count 0, but used */
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(-EBUSY, efdm_configure(fds[i], 1, 10, EFD_SEMAPHORE))
			TH_LOG("case %d", i);
		EXPECT_EQ(U64_MAX_VAL, efdm_get_max(fds[i]));
		close(fds[i]);
	}
}

/* A second CONFIGURE is EBUSY, and the first one's settings stay. */
TEST_F(efd, configure_ebusy_second_time)
{
	struct efd_fdinfo fi;

	CONFIGURE(self->fd, 2, 10, EFD_SEMAPHORE);
	EXPECT_EQ(-EBUSY, efdm_configure(self->fd, 2, 10, EFD_SEMAPHORE));
	EXPECT_EQ(-EBUSY, efdm_configure(self->fd, 0, 50, 0));
	EXPECT_EQ(10ULL, efdm_get_max(self->fd));
	ASSERT_EQ(0, efd_fdinfo(self->fd, &fi));
	EXPECT_EQ(2ULL, fi.count);
	EXPECT_EQ(1, fi.semaphore);
}

/* GET_MAXIMUM and SET_MAXIMUM do not use the counter: CONFIGURE is still accepted after them. */
TEST_F(efd, configure_accepted_after_set_maximum)
{
	struct efd_fdinfo fi;

	ASSERT_EQ(0, efdm_set_max(self->fd, 5));
	ASSERT_EQ(5ULL, efdm_get_max(self->fd));
	CONFIGURE(self->fd, 3, 10, EFD_SEMAPHORE);
	EXPECT_EQ(10ULL, efdm_get_max(self->fd));
	ASSERT_EQ(0, efd_fdinfo(self->fd, &fi));
	EXPECT_EQ(3ULL, fi.count);
	EXPECT_EQ(1, fi.semaphore);
	EXPECT_EQ(-EBUSY, efdm_configure(self->fd, 0, 20, 0));
}

/* ---- O_NONBLOCK, IOCB_NOWAIT, lseek --------------------------------------------------------- */

/* O_NONBLOCK is looked at on every call, so fcntl(F_SETFL) switches both ways. */
TEST_F(efd, nonblock_via_fcntl_at_call_time)
{
	struct op writer;
	uint64_t v = 0;

	CONFIGURE(self->fd, 0, 2, 0);
	ASSERT_EQ(0, set_nonblock(self->fd, true));
	EXPECT_EQ(-EAGAIN, efd_read(self->fd, &v));
	ASSERT_EQ(8, efd_write(self->fd, 1));
	EXPECT_EQ(-EAGAIN, efd_write(self->fd, 1));
	ASSERT_EQ(0, set_nonblock(self->fd, false));
	ASSERT_EQ(0, op_start(&writer, OP_WRITE, self->fd, 1, 0));
	ASSERT_TRUE(op_sleeping(&writer));
	ASSERT_EQ(8, efd_read(self->fd, &v));
	ASSERT_TRUE(op_join(&writer));
	EXPECT_EQ(8, writer.ret);
	ASSERT_EQ(0, set_nonblock(self->fd, true));
	ASSERT_EQ(8, efd_read(self->fd, &v));
	EXPECT_EQ(-EAGAIN, efd_read(self->fd, &v));
}

/* preadv2(RWF_NOWAIT) on a blocking fd: EAGAIN when empty, the value otherwise (FMODE_NOWAIT). */
static void check_rwf_nowait(struct __test_metadata *_metadata, int fd, const char *what)
{
	uint64_t v = 0;
	struct iovec iov = { .iov_base = &v, .iov_len = sizeof(v) };

	TH_LOG("checking %s", what);
	EXPECT_ERRNO(EAGAIN, preadv2(fd, &iov, 1, -1, RWF_NOWAIT));
	ASSERT_EQ(8, efd_write(fd, 4));
	EXPECT_EQ(8, preadv2(fd, &iov, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(4ULL, v);
}

TEST_F(efd, rwf_nowait_read_like_eventfd)
{
	int native = native_eventfd(_metadata, 0, 0);

	check_rwf_nowait(_metadata, native, "eventfd(2)");
	check_rwf_nowait(_metadata, self->fd, efdm_dev_path());
	close(native);
}

/* lseek does what it does on eventfd(2): noop_llseek, position 0; EINVAL past SEEK_MAX. */
TEST_F(efd, lseek_like_eventfd)
{
	static const struct { off_t off; int whence; } seeks[] = {
		{ 0, SEEK_SET }, { 5, SEEK_SET }, { -1, SEEK_SET }, { 3, SEEK_CUR },
		{ -3, SEEK_CUR }, { 0, SEEK_END }, { -8, SEEK_END }, { 0, SEEK_DATA },
		{ 0, SEEK_HOLE }, { 0, 5 }, { 0, 99 },
	};
	int native = native_eventfd(_metadata, 0, 0);
	uint64_t v = 0;

	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < ARRAY_SIZE(seeks); i++) {
			off_t rn, rd;
			int en, ed;

			errno = 0;
			rn = lseek(native, seeks[i].off, seeks[i].whence);
			en = errno;
			errno = 0;
			rd = lseek(self->fd, seeks[i].off, seeks[i].whence);
			ed = errno;
			EXPECT_EQ(rn, rd) TH_LOG("lseek(%lld, %d)", (long long)seeks[i].off,
						 seeks[i].whence);
			EXPECT_EQ(en, ed) TH_LOG("lseek(%lld, %d)", (long long)seeks[i].off,
						 seeks[i].whence);
			/* Make sure the reference is what we think it is. */
			EXPECT_EQ(seeks[i].whence <= SEEK_HOLE ? 0 : -1, rn);
		}
		/* Reads and writes do not move the position either. */
		ASSERT_EQ(8, efd_write(native, 3));
		ASSERT_EQ(8, efd_read(native, &v));
		ASSERT_EQ(8, efd_write(self->fd, 3));
		ASSERT_EQ(8, efd_read(self->fd, &v));
	}
	close(native);
}

/* ---- blocking and wake-ups ------------------------------------------------------------------ */

/* A reader blocked on 0 is released by a write and gets the value. */
TEST_F(efd, blocked_reader_released_by_write)
{
	struct op reader;

	ASSERT_EQ(0, op_start(&reader, OP_READ, self->fd, 0, 0));
	ASSERT_TRUE(op_sleeping(&reader));
	ASSERT_EQ(8, efd_write(self->fd, 7));
	ASSERT_TRUE(op_join(&reader));
	EXPECT_EQ(8, reader.ret);
	EXPECT_EQ(7ULL, reader.value);
	EXPECT_EQ(0ULL, efdm_count_of(self->fd));
}

/* CONFIGURE with a positive count wakes a reader already blocked on the fresh counter. */
TEST_F(efd, configure_wakes_blocked_reader)
{
	struct op reader;

	ASSERT_EQ(0, op_start(&reader, OP_READ, self->fd, 0, 0));
	ASSERT_TRUE(op_sleeping(&reader));
	CONFIGURE(self->fd, 3, 10, 0);
	ASSERT_TRUE(op_join(&reader));
	EXPECT_EQ(8, reader.ret);
	EXPECT_EQ(3ULL, reader.value);
	EXPECT_EQ(0ULL, efdm_count_of(self->fd));
}

/* CONFIGURE with count 0 leaves it asleep, until a write. */
TEST_F(efd, configure_zero_count_keeps_reader_blocked)
{
	struct op reader;

	ASSERT_EQ(0, op_start(&reader, OP_READ, self->fd, 0, 0));
	ASSERT_TRUE(op_sleeping(&reader));
	CONFIGURE(self->fd, 0, 10, 0);
	ASSERT_TRUE(op_still_blocked(&reader));
	ASSERT_EQ(8, efd_write(self->fd, 4));
	ASSERT_TRUE(op_join(&reader));
	EXPECT_EQ(8, reader.ret);
	EXPECT_EQ(4ULL, reader.value);
}

/* Semaphore mode: a write of 2 releases two blocked readers, each taking 1. */
TEST_F(efd, blocked_semaphore_readers_take_one_each)
{
	struct op readers[2];

	CONFIGURE(self->fd, 0, 100, EFD_SEMAPHORE);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, op_start(&readers[i], OP_READ, self->fd, 0, 0));
		ASSERT_TRUE(op_sleeping(&readers[i]));
	}
	ASSERT_EQ(8, efd_write(self->fd, 2));
	for (int i = 0; i < 2; i++) {
		ASSERT_TRUE(op_join(&readers[i]));
		EXPECT_EQ(8, readers[i].ret);
		EXPECT_EQ(1ULL, readers[i].value);
	}
	EXPECT_EQ(0ULL, efdm_count_of(self->fd));
}

/* A blocked reader hit by a signal whose handler has no SA_RESTART gets EINTR; nothing is lost. */
TEST_F(efd, blocked_reader_interrupted_by_signal)
{
	struct op reader;
	uint64_t v = 0;

	ASSERT_EQ(0, catch_sigusr1(0));
	ASSERT_EQ(0, op_start(&reader, OP_READ, self->fd, 0, 0));
	ASSERT_TRUE(op_sleeping(&reader));
	ASSERT_TRUE(signal_op(&reader));
	ASSERT_TRUE(op_join(&reader));
	EXPECT_EQ(-1, reader.ret);
	EXPECT_EQ(EINTR, reader.err);
	ASSERT_EQ(8, efd_write(self->fd, 3));
	ASSERT_EQ(8, efd_read(self->fd, &v));
	EXPECT_EQ(3ULL, v);
}

/* With SA_RESTART the interrupted read restarts and still waits for a write. */
TEST_F(efd, blocked_reader_restarted_with_sa_restart)
{
	struct op reader;

	ASSERT_EQ(0, catch_sigusr1(SA_RESTART));
	ASSERT_EQ(0, op_start(&reader, OP_READ, self->fd, 0, 0));
	ASSERT_TRUE(op_sleeping(&reader));
	ASSERT_TRUE(signal_op(&reader));
	EXPECT_TRUE(op_sleeping(&reader));
	ASSERT_EQ(8, efd_write(self->fd, 4));
	ASSERT_TRUE(op_join(&reader));
	EXPECT_EQ(8, reader.ret);
	EXPECT_EQ(4ULL, reader.value);
}

/* A read that makes room releases every blocked writer that now fits. */
TEST_F(efd, blocked_writers_released_by_read)
{
	struct op writers[2];
	uint64_t v = 0;

	CONFIGURE(self->fd, 9, 10, 0);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, op_start(&writers[i], OP_WRITE, self->fd, 4, 0));
		ASSERT_TRUE(op_sleeping(&writers[i]));
	}
	ASSERT_EQ(8, efd_read(self->fd, &v));
	EXPECT_EQ(9ULL, v);
	for (int i = 0; i < 2; i++) {
		ASSERT_TRUE(op_join(&writers[i]));
		EXPECT_EQ(8, writers[i].ret);
	}
	EXPECT_EQ(8ULL, efdm_count_of(self->fd));
}

/* A blocked writer hit by a signal without SA_RESTART gets EINTR and adds nothing. */
TEST_F(efd, blocked_writer_interrupted_by_signal)
{
	struct op writer;

	CONFIGURE(self->fd, 9, 10, 0);
	ASSERT_EQ(0, catch_sigusr1(0));
	ASSERT_EQ(0, op_start(&writer, OP_WRITE, self->fd, 5, 0));
	ASSERT_TRUE(op_sleeping(&writer));
	ASSERT_TRUE(signal_op(&writer));
	ASSERT_TRUE(op_join(&writer));
	EXPECT_EQ(-1, writer.ret);
	EXPECT_EQ(EINTR, writer.err);
	EXPECT_EQ(9ULL, efdm_count_of(self->fd));
}

/* With SA_RESTART the interrupted write restarts, waits on, and completes after a read. */
TEST_F(efd, blocked_writer_restarted_with_sa_restart)
{
	struct op writer;
	uint64_t v = 0;

	CONFIGURE(self->fd, 9, 10, 0);
	ASSERT_EQ(0, catch_sigusr1(SA_RESTART));
	ASSERT_EQ(0, op_start(&writer, OP_WRITE, self->fd, 5, 0));
	ASSERT_TRUE(op_sleeping(&writer));
	ASSERT_TRUE(signal_op(&writer));
	EXPECT_TRUE(op_sleeping(&writer));
	EXPECT_EQ(9ULL, efdm_count_of(self->fd));
	ASSERT_EQ(8, efd_read(self->fd, &v));
	ASSERT_TRUE(op_join(&writer));
	EXPECT_EQ(8, writer.ret);
	EXPECT_EQ(5ULL, efdm_count_of(self->fd));
}

/* RFC: a write that would reach the maximum blocks until a read makes room. */
TEST_F(efd, rfc_write_blocks_at_maximum)
{
	struct op writer;
	uint64_t v = 0;

	CONFIGURE(self->fd, 0, 5, 0);
	ASSERT_EQ(8, efd_write(self->fd, 4));
	ASSERT_EQ(0, op_start(&writer, OP_WRITE, self->fd, 1, 0));
	ASSERT_TRUE(op_sleeping(&writer));
	EXPECT_EQ(4ULL, efdm_count_of(self->fd));
	ASSERT_EQ(8, efd_read(self->fd, &v));
	EXPECT_EQ(4ULL, v);
	ASSERT_TRUE(op_join(&writer));
	EXPECT_EQ(8, writer.ret);
	EXPECT_EQ(1ULL, efdm_count_of(self->fd));
}

/* RFC: with O_NONBLOCK the write that would block fails with EAGAIN instead. */
TEST(rfc_eagain_with_o_nonblock)
{
	int fd;
	uint64_t v = 0;

	alarm(TEST_ALARM_S);
	fd = efdm_create(0, EFD_NONBLOCK, 5);
	if (fd < 0 && errno == ENOENT)
		EFDM_SKIP(return, "%s missing", efdm_dev_path());
	ASSERT_LE(0, fd);
	EXPECT_EQ(8, efd_write(fd, 4));
	EXPECT_EQ(-EAGAIN, efd_write(fd, 1));
	EXPECT_EQ(4ULL, efdm_count_of(fd));
	EXPECT_EQ(8, efd_read(fd, &v));
	EXPECT_EQ(8, efd_write(fd, 1));
	close(fd);
}

/* RFC: raising the maximum releases a blocked writer at once. */
TEST_F(efd, rfc_raising_maximum_releases_blocked_writer)
{
	struct op writer;

	CONFIGURE(self->fd, 9, 10, 0);
	ASSERT_EQ(0, op_start(&writer, OP_WRITE, self->fd, 5, 0));
	ASSERT_TRUE(op_sleeping(&writer));
	ASSERT_EQ(0, efdm_set_max(self->fd, 100));
	ASSERT_TRUE(op_join(&writer));
	EXPECT_EQ(8, writer.ret);
	EXPECT_EQ(14ULL, efdm_count_of(self->fd));
	EXPECT_EQ(100ULL, efdm_get_max(self->fd));
}

/*
 * After the maximum is lowered (above the count), a blocked writer whose value is still below the
 * new maximum keeps waiting until reads drain the count to where maximum - count > value.
 */
TEST_F(efd, lowered_maximum_writer_waits_for_drain)
{
	struct op writer;
	uint64_t v = 0;

	CONFIGURE(self->fd, 5, 10, EFD_SEMAPHORE);
	ASSERT_EQ(0, op_start(&writer, OP_WRITE, self->fd, 5, 0));	/* room 5 is not > 5 */
	ASSERT_TRUE(op_sleeping(&writer));
	ASSERT_EQ(0, efdm_set_max(self->fd, 7));
	EXPECT_TRUE(op_still_blocked(&writer));
	EXPECT_EQ(POLLIN | POLLOUT, poll_mask(self->fd));
	for (int i = 0; i < 3; i++) {	/* count 5 -> 2: room 5 is not > 5 */
		ASSERT_EQ(8, efd_read(self->fd, &v));
	}
	EXPECT_TRUE(op_still_blocked(&writer));
	EXPECT_EQ(2ULL, efdm_count_of(self->fd));
	ASSERT_EQ(8, efd_read(self->fd, &v));	/* count 1: room 6 > 5 */
	ASSERT_TRUE(op_join(&writer));
	EXPECT_EQ(8, writer.ret);
	EXPECT_EQ(6ULL, efdm_count_of(self->fd));
}

/* A blocked writer re-checks the EINVAL rule: lowering the maximum to <= its value fails it. */
TEST_F(efd, lowered_maximum_fails_blocked_writer_einval)
{
	static const uint64_t new_max[] = { 7, 5 };	/* == value, < value, > count */
	struct op writer;

	CONFIGURE(self->fd, 3, 10, 0);
	for (size_t i = 0; i < ARRAY_SIZE(new_max); i++) {
		ASSERT_EQ(0, efdm_set_max(self->fd, 10));
		ASSERT_EQ(0, op_start(&writer, OP_WRITE, self->fd, 7, 0));	/* room 7 */
		ASSERT_TRUE(op_sleeping(&writer));
		ASSERT_EQ(0, efdm_set_max(self->fd, new_max[i]));
		ASSERT_TRUE(op_join(&writer)) TH_LOG("writer of 7 still blocked at maximum %llu",
						     (unsigned long long)new_max[i]);
		EXPECT_EQ(-1, writer.ret);
		EXPECT_EQ(EINVAL, writer.err);
		EXPECT_EQ(3ULL, efdm_count_of(self->fd));
	}
}

/* ---- poll, select, epoll -------------------------------------------------------------------- */

static const struct mask_case {
	uint64_t count, maximum;
	uint64_t lowered;	/* SET_MAXIMUM after CONFIGURE, 0 = none */
	int mask;
} mask_cases[] = {
	{ 0, ~0ULL, 0, POLLOUT },
	{ 1, ~0ULL, 0, POLLIN | POLLOUT },
	{ ~0ULL - 2, ~0ULL, 0, POLLIN | POLLOUT },
	{ ~0ULL - 1, ~0ULL, 0, POLLIN },
	{ 0, 1, 0, 0 },			/* only a write of 0 fits */
	{ 0, 2, 0, POLLOUT },
	{ 1, 2, 0, POLLIN },
	{ 8, 10, 0, POLLIN | POLLOUT },
	{ 9, 10, 0, POLLIN },
	{ 5, 10, 6, POLLIN },		/* lowered to count + 1 */
	{ 5, 10, 7, POLLIN | POLLOUT },
	{ 0, 10, 1, 0 },
};

static int mask_case_fd(struct __test_metadata *_metadata, const struct mask_case *c)
{
	int fd = device_counter(_metadata, c->count, 0, c->maximum);

	if (c->lowered) {
		ASSERT_EQ(0, efdm_set_max(fd, c->lowered));
	}
	return fd;
}

/*
 * poll: POLLIN iff count > 0, POLLOUT iff maximum - 1 > count; POLLERR (count == maximum) only an
 * in-kernel signal reaches (ksig.saturates_at_maximum).
 */
TEST_F(efd, poll_masks)
{
	for (size_t i = 0; i < ARRAY_SIZE(mask_cases); i++) {
		const struct mask_case *c = &mask_cases[i];
		int fd = mask_case_fd(_metadata, c);

		EXPECT_EQ(c->mask, poll_mask(fd)) TH_LOG("count %llu maximum %llu lowered %llu",
			(unsigned long long)c->count, (unsigned long long)c->maximum,
			(unsigned long long)c->lowered);
		close(fd);
	}
}

/* select: readable iff POLLIN or POLLERR, writable iff POLLOUT or POLLERR, never exceptional. */
TEST_F(efd, select_sets)
{
	for (size_t i = 0; i < ARRAY_SIZE(mask_cases); i++) {
		const struct mask_case *c = &mask_cases[i];
		struct timeval tv = { 0, 0 };
		fd_set r, w, x;
		int fd = mask_case_fd(_metadata, c);

		FD_ZERO(&r);
		FD_ZERO(&w);
		FD_ZERO(&x);
		FD_SET(fd, &r);
		FD_SET(fd, &w);
		FD_SET(fd, &x);
		ASSERT_LE(0, select(fd + 1, &r, &w, &x, &tv));
		EXPECT_EQ(!!(c->mask & (POLLIN | POLLERR)), !!FD_ISSET(fd, &r))
			TH_LOG("case %zu", i);
		EXPECT_EQ(!!(c->mask & (POLLOUT | POLLERR)), !!FD_ISSET(fd, &w))
			TH_LOG("case %zu", i);
		EXPECT_FALSE(FD_ISSET(fd, &x));
		close(fd);
	}
}

/* SET_MAXIMUM wakes pollers: raising it gives a POLLOUT waiter POLLOUT. */
TEST_F(efd, poll_woken_by_set_maximum)
{
	static const struct { uint64_t maximum; short revents; } steps[] = {
		{ 100, POLLOUT }, { 11, POLLOUT },
	};
	struct op poller;

	CONFIGURE(self->fd, 9, 10, 0);
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		ASSERT_EQ(0, efdm_set_max(self->fd, 10));	/* no POLLOUT, no POLLERR */
		ASSERT_EQ(0, op_start(&poller, OP_POLL, self->fd, 0, POLLOUT));
		ASSERT_TRUE(op_sleeping(&poller));
		ASSERT_EQ(0, efdm_set_max(self->fd, steps[i].maximum));
		ASSERT_TRUE(op_join(&poller));
		EXPECT_EQ(1, poller.ret)
			TH_LOG("maximum %llu", (unsigned long long)steps[i].maximum);
		EXPECT_EQ(steps[i].revents, poller.events);
	}
}

/*
 * CONFIGURE can make room: after SET_MAXIMUM of 1 only a write of 0 fits (no POLLOUT), so it wakes
 * POLLOUT pollers and puts an EPOLLOUT registration on epoll's ready list.
 */
TEST_F(efd, configure_wakes_pollout_waiters)
{
	struct op poller;
	int ep;

	ASSERT_EQ(0, efdm_set_max(self->fd, 1));
	ep = ep_new(_metadata, self->fd, EPOLLOUT);
	EXPECT_EQ(0, ep_now(_metadata, ep));	/* not ready: off the ready list */
	ASSERT_EQ(0, op_start(&poller, OP_POLL, self->fd, 0, POLLOUT));
	ASSERT_TRUE(op_sleeping(&poller));
	CONFIGURE(self->fd, 7, ~0ULL, 0);
	ASSERT_TRUE(op_join(&poller));
	EXPECT_EQ(1, poller.ret);
	EXPECT_EQ(POLLOUT, poller.events);
	EXPECT_EQ(EPOLLOUT, ep_now(_metadata, ep));
	close(ep);
}

/*
 * A CONFIGURE that makes the counter readable and writable at once wakes with EPOLLIN, then with
 * EPOLLOUT: each wakes one EPOLLEXCLUSIVE waiter, as every eventfd wake-up does, so two of three
 * return.  (One wake-up keyed with both would reach all three: ep_poll_callback() counts an
 * exclusive wake-up only for a key with one of them.)
 */
TEST_F(efd, configure_wakes_one_exclusive_waiter_per_key)
{
	struct efdm_epoller w[3] = { 0 };

	ASSERT_EQ(0, efdm_install_interrupt(SIGUSR1));	/* releases the waiter left asleep */
	ASSERT_EQ(0, efdm_set_max(self->fd, 1));	/* neither readable nor writable */
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, efdm_epoller_start(&w[i], self->fd,
						EPOLLIN | EPOLLOUT | EPOLLEXCLUSIVE));
	ASSERT_EQ(3, efdm_epollers_sleep(w, 3));
	CONFIGURE(self->fd, 7, ~0ULL, 0);
	EXPECT_EQ(2, efdm_epollers_returned(w, 3));
	for (int i = 0; i < 3; i++)
		if (atomic_load(&w[i].helper.done))
			EXPECT_EQ((uint32_t)(EPOLLIN | EPOLLOUT), w[i].events);
	EXPECT_TRUE(efdm_epollers_finish(w, 3));
}

/* Level-triggered epoll reports the current readiness on every wait. */
TEST_F(efd, epoll_level_triggered)
{
	int ep;
	uint64_t v = 0;

	CONFIGURE(self->fd, 0, 10, 0);
	ep = ep_new(_metadata, self->fd, EPOLLIN | EPOLLOUT);
	EXPECT_EQ(EPOLLOUT, ep_now(_metadata, ep));
	EXPECT_EQ(EPOLLOUT, ep_now(_metadata, ep));
	ASSERT_EQ(8, efd_write(self->fd, 3));
	EXPECT_EQ(EPOLLIN | EPOLLOUT, ep_now(_metadata, ep));
	EXPECT_EQ(EPOLLIN | EPOLLOUT, ep_now(_metadata, ep));
	ASSERT_EQ(8, efd_write(self->fd, 6));
	EXPECT_EQ(EPOLLIN, ep_now(_metadata, ep));
	ASSERT_EQ(0, efdm_set_max(self->fd, 11));
	EXPECT_EQ(EPOLLIN | EPOLLOUT, ep_now(_metadata, ep));
	ASSERT_EQ(8, efd_read(self->fd, &v));
	EXPECT_EQ(EPOLLOUT, ep_now(_metadata, ep));
	close(ep);
}

/* EPOLLET: each write is one EPOLLIN edge, reported once. */
static void check_et_write_edge(struct __test_metadata *_metadata, int fd, const char *what)
{
	int ep = ep_new(_metadata, fd, EPOLLIN | EPOLLET);

	TH_LOG("checking %s", what);
	EXPECT_EQ(0, ep_now(_metadata, ep));
	ASSERT_EQ(8, efd_write(fd, 1));
	EXPECT_EQ(EPOLLIN, ep_now(_metadata, ep));
	EXPECT_EQ(0, ep_now(_metadata, ep));
	ASSERT_EQ(8, efd_write(fd, 1));	/* already readable: still a new edge */
	EXPECT_EQ(EPOLLIN, ep_now(_metadata, ep));
	EXPECT_EQ(0, ep_now(_metadata, ep));
	close(ep);
}

TEST_F(efd, epoll_et_write_gives_one_epollin_edge)
{
	int native = native_eventfd(_metadata, 0, 0);

	check_et_write_edge(_metadata, native, "eventfd(2)");
	check_et_write_edge(_metadata, self->fd, efdm_dev_path());
	close(native);
}

/* EPOLLET: a waiter for EPOLLOUT on a full counter is woken by the read that makes room. */
static void check_et_read_wakes_out(struct __test_metadata *_metadata, int fd, const char *what)
{
	int ep = ep_new(_metadata, fd, EPOLLOUT | EPOLLET);
	struct op waiter;
	uint64_t v = 0;

	TH_LOG("checking %s", what);
	EXPECT_EQ(0, ep_now(_metadata, ep));
	ASSERT_EQ(0, op_start(&waiter, OP_EPOLL, ep, 0, 0));
	ASSERT_TRUE(op_sleeping(&waiter));
	ASSERT_EQ(8, efd_read(fd, &v));
	ASSERT_TRUE(op_join(&waiter));
	EXPECT_EQ(1, waiter.ret);
	EXPECT_EQ(EPOLLOUT, waiter.epoll_events);
	close(ep);
}

TEST_F(efd, epoll_et_read_wakes_epollout_waiter)
{
	int native = native_eventfd(_metadata, 0, 0);

	ASSERT_EQ(8, efd_write(native, ~0ULL - 1));	/* no POLLOUT on eventfd(2) */
	check_et_read_wakes_out(_metadata, native, "eventfd(2)");
	CONFIGURE(self->fd, 9, 10, 0);
	check_et_read_wakes_out(_metadata, self->fd, efdm_dev_path());
	close(native);
}

/*
 * Wake-ups are keyed: an EPOLLET waiter for EPOLLOUT only sees no new edge from a write (key
 * EPOLLIN), though it does from a read; one for EPOLLIN sees none from a read (key EPOLLOUT).
 */
static void check_keyed_wakeups(struct __test_metadata *_metadata, int out_fd, int in_fd,
				const char *what)
{
	int out_ep = ep_new(_metadata, out_fd, EPOLLOUT | EPOLLET);
	int in_ep = ep_new(_metadata, in_fd, EPOLLIN | EPOLLET);
	uint64_t v = 0;

	TH_LOG("checking %s", what);
	EXPECT_EQ(EPOLLOUT, ep_now(_metadata, out_ep));	/* the initial edge */
	EXPECT_EQ(0, ep_now(_metadata, out_ep));
	ASSERT_EQ(8, efd_write(out_fd, 1));
	EXPECT_EQ(0, ep_now(_metadata, out_ep));
	ASSERT_EQ(8, efd_read(out_fd, &v));
	EXPECT_EQ(EPOLLOUT, ep_now(_metadata, out_ep));

	EXPECT_EQ(EPOLLIN, ep_now(_metadata, in_ep));	/* in_fd: semaphore, count 3 */
	EXPECT_EQ(0, ep_now(_metadata, in_ep));
	ASSERT_EQ(8, efd_read(in_fd, &v));
	EXPECT_EQ(0, ep_now(_metadata, in_ep));
	ASSERT_EQ(8, efd_write(in_fd, 1));
	EXPECT_EQ(EPOLLIN, ep_now(_metadata, in_ep));
	close(out_ep);
	close(in_ep);
}

TEST_F(efd, epoll_et_wakeups_are_keyed)
{
	int native_out = native_eventfd(_metadata, 0, 0);
	int native_in = native_eventfd(_metadata, 3, EFD_SEMAPHORE);
	int dev_in = device_counter(_metadata, 3, EFD_SEMAPHORE, ~0ULL);

	check_keyed_wakeups(_metadata, native_out, native_in, "eventfd(2)");
	check_keyed_wakeups(_metadata, self->fd, dev_in, efdm_dev_path());
	close(native_out);
	close(native_in);
	close(dev_in);
}

/*
 * EPOLLET: every accepted SET_MAXIMUM that leaves room is an EPOLLOUT edge (it wakes EPOLLOUT
 * waiters); a refused one is none.
 */
TEST_F(efd, epoll_et_set_maximum_edges)
{
	int ep;

	CONFIGURE(self->fd, 9, 10, 0);
	ep = ep_new(_metadata, self->fd, EPOLLOUT | EPOLLET);
	EXPECT_EQ(0, ep_now(_metadata, ep));
	ASSERT_EQ(0, efdm_set_max(self->fd, 20));
	EXPECT_EQ(EPOLLOUT, ep_now(_metadata, ep));
	EXPECT_EQ(0, ep_now(_metadata, ep));
	ASSERT_EQ(0, efdm_set_max(self->fd, 12));
	EXPECT_EQ(EPOLLOUT, ep_now(_metadata, ep));
	EXPECT_EQ(-EINVAL, efdm_set_max(self->fd, 4));
	EXPECT_EQ(0, ep_now(_metadata, ep));
	close(ep);
}

/* ---- fdinfo --------------------------------------------------------------------------------- */

/* The fdinfo "eventfd-" lines of a device counter, checked against those of an eventfd(2). */
static void check_fdinfo_like(struct __test_metadata *_metadata, int dev, int native,
			      unsigned long long maximum)
{
	struct efd_fdinfo d, n;
	char want[EFD_FDINFO_LEN];

	ASSERT_EQ(0, efd_fdinfo(dev, &d));
	ASSERT_EQ(0, efd_fdinfo(native, &n));
	ASSERT_EQ(3, n.n);
	ASSERT_EQ(4, d.n);
	EXPECT_EQ(0, d.trailing);		/* ours come last, as eventfd's do */
	EXPECT_STREQ(n.line[0], d.line[0]);	/* eventfd-count: %16llx, same count */
	snprintf(want, sizeof(want), "eventfd-id: %d\n", d.id);
	EXPECT_TRUE(d.has_id && d.id >= 0);
	EXPECT_STREQ(want, d.line[1]);
	EXPECT_STREQ(n.line[2], d.line[2]);	/* eventfd-semaphore: %d */
	snprintf(want, sizeof(want), "eventfd-maximum: %16llx\n", maximum);
	EXPECT_STREQ(want, d.line[3]);
}

/* The first three lines are byte for byte eventfd's, then "eventfd-maximum: %16llx". */
TEST_F(efd, fdinfo_format_like_eventfd)
{
	int native = native_eventfd(_metadata, 0x1234, EFD_SEMAPHORE);
	int dev2 = efdm_open(0);

	CONFIGURE(self->fd, 0x1234, 0x5678, EFD_SEMAPHORE);
	check_fdinfo_like(_metadata, self->fd, native, 0x5678);
	close(native);
	/* All 16 digits used, non-semaphore, default maximum. */
	native = native_eventfd(_metadata, 0, 0);
	ASSERT_LE(0, dev2);
	ASSERT_EQ(8, efd_write(native, ~0ULL - 1));
	ASSERT_EQ(8, efd_write(dev2, ~0ULL - 1));
	check_fdinfo_like(_metadata, dev2, native, ~0ULL);
	close(native);
	close(dev2);
}

/* Ids are unique among simultaneously open counters, also after one is closed and reopened. */
TEST_F(efd, fdinfo_ids_unique)
{
	enum { N = 32 };
	int fds[N], ids[N];
	struct efd_fdinfo fi;

	for (int i = 0; i < N; i++) {
		fds[i] = efdm_open(0);
		ASSERT_LE(0, fds[i]);
	}
	close(fds[N / 2]);
	fds[N / 2] = efdm_open(0);
	ASSERT_LE(0, fds[N / 2]);
	for (int i = 0; i < N; i++) {
		ASSERT_EQ(0, efd_fdinfo(fds[i], &fi));
		ASSERT_TRUE(fi.has_id);
		ids[i] = fi.id;
		for (int j = 0; j < i; j++) {
			EXPECT_NE(ids[j], ids[i]) TH_LOG("fds %d and %d", j, i);
		}
	}
	for (int i = 0; i < N; i++)
		close(fds[i]);
}

/*
 * Ids are reused after close, like eventfd's: both take the lowest free id (eventfd an IDA), so a
 * counter opened after one closed gets its id back (nothing else opens counters meanwhile).
 */
TEST_F(efd, fdinfo_ids_reused_after_close)
{
	enum { N = 8 };
	int fds[N], ids[N];
	struct efd_fdinfo fi;

	for (int i = 0; i < N; i++) {
		fds[i] = efdm_open(0);
		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, efd_fdinfo(fds[i], &fi));
		ids[i] = fi.id;
	}
	for (int victim = 0; victim < N; victim += 3) {
		close(fds[victim]);
		fds[victim] = efdm_open(0);
		ASSERT_LE(0, fds[victim]);
		ASSERT_EQ(0, efd_fdinfo(fds[victim], &fi));
		EXPECT_EQ(ids[victim], fi.id) TH_LOG("counter %d reopened", victim);
	}
	/* All of them closed: the same ids again, lowest first. */
	for (int i = 0; i < N; i++)
		close(fds[i]);
	for (int i = 0; i < N; i++) {
		fds[i] = efdm_open(0);
		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, efd_fdinfo(fds[i], &fi));
		EXPECT_EQ(ids[i], fi.id) TH_LOG("counter %d", i);
	}
	for (int i = 0; i < N; i++)
		close(fds[i]);
}

/* RFC: fdinfo shows the maximum, and follows SET_MAXIMUM and the count. */
TEST_F(efd, rfc_fdinfo_shows_maximum)
{
	struct efd_fdinfo fi;

	CONFIGURE(self->fd, 0, 77, 0);
	ASSERT_EQ(0, efd_fdinfo(self->fd, &fi));
	EXPECT_STREQ("eventfd-maximum:               4d\n", fi.line[3]);
	ASSERT_EQ(0, efdm_set_max(self->fd, 0xabcdef));
	ASSERT_EQ(8, efd_write(self->fd, 0x42));
	ASSERT_EQ(0, efd_fdinfo(self->fd, &fi));
	EXPECT_STREQ("eventfd-count:               42\n", fi.line[0]);
	EXPECT_STREQ("eventfd-maximum:           abcdef\n", fi.line[3]);
}

/* ---- the eventfd_max() helper from <eventfd_max.h> ------------------------------------------ */

static bool helper_usable(void)
{
	return !efdm_native() && !strcmp(efdm_dev_path(), EVENTFD_MAX_DEVICE) &&
	       access(EVENTFD_MAX_DEVICE, F_OK) == 0;
}

/* eventfd_max(count, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC, maximum) sets all of them. */
TEST(eventfd_max_helper_flags)
{
	struct efd_fdinfo fi;
	uint64_t v = 0;
	int fd, fl;

	if (!helper_usable())
		EFDM_SKIP(return, "the helper opens " EVENTFD_MAX_DEVICE ", which is not in use");
	fd = eventfd_max(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC, 5);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD));
	fl = fcntl(fd, F_GETFL);
	EXPECT_EQ(O_NONBLOCK, fl & O_NONBLOCK);
	EXPECT_EQ(O_RDWR, fl & O_ACCMODE);
	EXPECT_EQ(5ULL, efdm_get_max(fd));
	ASSERT_EQ(0, efd_fdinfo(fd, &fi));
	EXPECT_EQ(2ULL, fi.count);
	EXPECT_EQ(1, fi.semaphore);
	EXPECT_EQ(8, efd_read(fd, &v));
	EXPECT_EQ(1ULL, v);
	EXPECT_EQ(8, efd_read(fd, &v));
	EXPECT_EQ(-EAGAIN, efd_read(fd, &v));	/* non-blocking */
	close(fd);
	/* And without the flags: blocking, inherited across exec, not a semaphore. */
	fd = eventfd_max(0, 0, 3);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, fcntl(fd, F_GETFD));
	EXPECT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	ASSERT_EQ(0, efd_fdinfo(fd, &fi));
	EXPECT_EQ(0, fi.semaphore);
	close(fd);
}

/*
 * With the defaults (count 0, no EFD_SEMAPHORE, maximum ULLONG_MAX) the helper only opens, as the
 * open already made that counter: it is left unused, so EFD_IOC_CONFIGURE is still allowed.
 */
TEST(eventfd_max_helper_defaults_only_open)
{
	struct efd_fdinfo fi;
	int fd;

	if (!helper_usable())
		EFDM_SKIP(return, "the helper opens " EVENTFD_MAX_DEVICE ", which is not in use");
	fd = eventfd_max(0, EFD_CLOEXEC, UINT64_MAX);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, efd_fdinfo(fd, &fi));
	EXPECT_EQ(0ULL, fi.count);
	EXPECT_EQ(UINT64_MAX, fi.maximum);
	EXPECT_EQ(0, efdm_configure(fd, 1, 10, 0));
	close(fd);
	fd = eventfd_max(0, EFD_CLOEXEC, UINT64_MAX - 1);	/* not the defaults: configured */
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EBUSY, efdm_configure(fd, 1, 10, 0));
	close(fd);
}

/* The helper fails with EINVAL on foreign flags and on count >= maximum, leaking no fd. */
TEST(eventfd_max_helper_errors)
{
	int probe, fd;

	if (!helper_usable())
		EFDM_SKIP(return, "the helper opens " EVENTFD_MAX_DEVICE ", which is not in use");
	probe = dup(0);
	ASSERT_LE(0, probe);
	close(probe);	/* the lowest free fd number */
	EXPECT_ERRNO(EINVAL, eventfd_max(0, O_APPEND, 5));
	EXPECT_ERRNO(EINVAL, eventfd_max(5, 0, 5));
	EXPECT_ERRNO(EINVAL, eventfd_max(0, EFD_NONBLOCK, 0));
	fd = dup(0);
	EXPECT_EQ(probe, fd) TH_LOG("a failed eventfd_max() leaked an fd");
	close(fd);
}

/* ---- the in-kernel eventfd_signal() equivalent, through debugfs ----------------------------- */

/* The in-kernel signal from a timer in hard interrupt context; returns once it has fired. */
static int kernel_signal_hardirq(int fd, uint64_t n)
{
	return efdm_kernel_signal_at(EFDM_HARDIRQ_PATH, fd, n);
}

/* A counter (blocking, unconfigured) plus a reachable debugfs hook. */
FIXTURE(ksig) {
	int fd;
};

FIXTURE_SETUP(ksig)
{
	struct statfs sfs;

	self->fd = -1;
	alarm(TEST_ALARM_S);
	if (efdm_native())
		SKIP(return, "native mode has no debugfs hook");
	self->fd = efdm_open(0);
	if (self->fd < 0 && errno == ENOENT)
		EFDM_SKIP(return, "%s missing (module not loaded?)", efdm_dev_path());
	ASSERT_LE(0, self->fd);
	if (geteuid() != 0)
		EFDM_SKIP(return, "debugfs needs root");
	if (statfs(DEBUGFS_DIR, &sfs) || sfs.f_type != DEBUGFS_MAGIC) {
		if (mount("none", DEBUGFS_DIR, "debugfs", 0, NULL))
			EFDM_SKIP(return, "debugfs not mounted and mount failed: %s",
				  strerror(errno));
	}
	ASSERT_EQ(0, access(EFDM_SIGNAL_PATH, W_OK))
		TH_LOG("%s: %s", EFDM_SIGNAL_PATH, strerror(errno));
	ASSERT_EQ(0, access(EFDM_HARDIRQ_PATH, W_OK))
		TH_LOG("%s: %s", EFDM_HARDIRQ_PATH, strerror(errno));
}

FIXTURE_TEARDOWN(ksig)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* A kernel signal adds n below the maximum and wakes a blocked reader. */
TEST_F(ksig, adds_and_wakes_reader)
{
	struct op reader;
	uint64_t v = 0;

	CONFIGURE(self->fd, 2, 10, 0);
	ASSERT_EQ(0, efdm_kernel_signal(self->fd, 3));
	EXPECT_EQ(5ULL, efdm_count_of(self->fd));
	ASSERT_EQ(8, efd_read(self->fd, &v));
	EXPECT_EQ(5ULL, v);
	ASSERT_EQ(0, op_start(&reader, OP_READ, self->fd, 0, 0));
	ASSERT_TRUE(op_sleeping(&reader));
	ASSERT_EQ(0, efdm_kernel_signal(self->fd, 1));
	ASSERT_TRUE(op_join(&reader));
	EXPECT_EQ(8, reader.ret);
	EXPECT_EQ(1ULL, reader.value);
}

/*
 * A kernel signal never sleeps: it saturates the count at exactly the maximum, which raises
 * POLLERR; writes then wait (EAGAIN when non-blocking) until a read.
 */
TEST_F(ksig, saturates_at_maximum)
{
	struct op writer;
	uint64_t v = 0;
	int dflt;

	CONFIGURE(self->fd, 0, 10, 0);
	ASSERT_EQ(0, efdm_kernel_signal(self->fd, 100));
	EXPECT_EQ(10ULL, efdm_count_of(self->fd));
	EXPECT_EQ(POLLIN | POLLERR, poll_mask(self->fd));
	ASSERT_EQ(0, set_nonblock(self->fd, true));
	EXPECT_EQ(-EAGAIN, efd_write(self->fd, 0));
	EXPECT_EQ(-EAGAIN, efd_write(self->fd, 1));
	ASSERT_EQ(0, efdm_kernel_signal(self->fd, 1));	/* stays at the maximum */
	EXPECT_EQ(10ULL, efdm_count_of(self->fd));
	ASSERT_EQ(0, set_nonblock(self->fd, false));
	ASSERT_EQ(0, op_start(&writer, OP_WRITE, self->fd, 1, 0));
	ASSERT_TRUE(op_sleeping(&writer));
	ASSERT_EQ(8, efd_read(self->fd, &v));
	EXPECT_EQ(10ULL, v);
	ASSERT_TRUE(op_join(&writer));
	EXPECT_EQ(8, writer.ret);
	EXPECT_EQ(1ULL, efdm_count_of(self->fd));

	/* With the default maximum this is upstream's saturation at ULLONG_MAX. */
	dflt = efdm_open(O_NONBLOCK);
	ASSERT_LE(0, dflt);
	ASSERT_EQ(8, efd_write(dflt, ~0ULL - 2));
	ASSERT_EQ(0, efdm_kernel_signal(dflt, 5));
	EXPECT_EQ(POLLIN | POLLERR, poll_mask(dflt));
	EXPECT_EQ(-EAGAIN, efd_write(dflt, 0));
	ASSERT_EQ(8, efd_read(dflt, &v));
	EXPECT_EQ(~0ULL, v);
	close(dflt);
}

/* At a saturated count, SET_MAXIMUM to the count is EINVAL; raising it clears POLLERR. */
TEST_F(ksig, saturated_count_then_set_maximum)
{
	CONFIGURE(self->fd, 5, 10, 0);
	ASSERT_EQ(0, efdm_kernel_signal(self->fd, 9));
	EXPECT_EQ(10ULL, efdm_count_of(self->fd));
	EXPECT_EQ(POLLIN | POLLERR, poll_mask(self->fd));
	EXPECT_EQ(-EINVAL, efdm_set_max(self->fd, 10));
	EXPECT_EQ(POLLIN | POLLERR, poll_mask(self->fd));
	ASSERT_EQ(0, efdm_set_max(self->fd, 12));
	EXPECT_EQ(POLLIN | POLLOUT, poll_mask(self->fd));
	EXPECT_EQ(10ULL, efdm_count_of(self->fd));
}

/*
 * From hard interrupt context (an hrtimer) the signal does the same: it adds n, wakes a blocked
 * reader and an epoll waiter, and saturates at the maximum.  Lockdep sees the counter's lock taken
 * in interrupt context, and so checks every other place that takes it.
 */
TEST_F(ksig, from_hardirq_adds_wakes_and_saturates)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct op reader, waiter;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_LE(0, ep);
	CONFIGURE(self->fd, 0, 10, 0);
	ASSERT_EQ(0, op_start(&reader, OP_READ, self->fd, 0, 0));
	ASSERT_TRUE(op_sleeping(&reader));
	ASSERT_EQ(0, kernel_signal_hardirq(self->fd, 3));
	ASSERT_TRUE(op_join(&reader));
	EXPECT_EQ(8, reader.ret);
	EXPECT_EQ(3ULL, reader.value);

	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ev));
	ASSERT_EQ(0, op_start(&waiter, OP_EPOLL, ep, 0, 0));
	ASSERT_TRUE(op_sleeping(&waiter));
	ASSERT_EQ(0, kernel_signal_hardirq(self->fd, 4));
	ASSERT_TRUE(op_join(&waiter));
	EXPECT_EQ(1, waiter.ret);
	EXPECT_EQ(EPOLLIN, waiter.epoll_events);
	EXPECT_EQ(4ULL, efdm_count_of(self->fd));

	ASSERT_EQ(0, kernel_signal_hardirq(self->fd, 100));
	EXPECT_EQ(10ULL, efdm_count_of(self->fd));
	EXPECT_EQ(POLLIN | POLLERR, poll_mask(self->fd));
	close(ep);
}

/* A kernel signal uses the counter: CONFIGURE is EBUSY afterwards and changes nothing. */
TEST_F(ksig, configure_ebusy_after_signal)
{
	struct efd_fdinfo fi;

	ASSERT_EQ(0, efdm_kernel_signal(self->fd, 2));
	EXPECT_EQ(-EBUSY, efdm_configure(self->fd, 1, 10, EFD_SEMAPHORE));
	EXPECT_EQ(U64_MAX_VAL, efdm_get_max(self->fd));
	ASSERT_EQ(0, efd_fdinfo(self->fd, &fi));
	EXPECT_EQ(2ULL, fi.count);
	EXPECT_EQ(0, fi.semaphore);
}

/*
 * Both hooks refuse, changing nothing: a descriptor that is not a /dev/eventfd_max file with
 * EINVAL, one that is not open with EBADF, and text that is not "<fd> <n>" in decimal with EINVAL.
 */
TEST_F(ksig, rejects_other_fds)
{
	static const char *const hooks[] = { EFDM_SIGNAL_PATH, EFDM_HARDIRQ_PATH };
	int native = native_eventfd(_metadata, 0, 0);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	/* Numbered above anything open, so the hook's own open does not take the number back. */
	int closed = fcntl(native, F_DUPFD_CLOEXEC, 500);

	ASSERT_LE(0, null);
	ASSERT_LE(0, closed);
	close(closed);
	for (size_t i = 0; i < ARRAY_SIZE(hooks); i++) {
		const char *h = hooks[i];

		EXPECT_EQ(-EINVAL, efdm_kernel_signal_at(h, native, 1)) TH_LOG("%s: eventfd(2)", h);
		EXPECT_EQ(0ULL, efdm_count_of(native));
		EXPECT_EQ(-EINVAL, efdm_kernel_signal_at(h, null, 1)) TH_LOG("%s: /dev/null", h);
		EXPECT_EQ(-EBADF, efdm_kernel_signal_at(h, closed, 1)) TH_LOG("%s: closed fd", h);
		EXPECT_EQ(-EBADF, efdm_kernel_signal_at(h, 1000000, 1))
			TH_LOG("%s: never opened", h);
		EXPECT_EQ(-EINVAL, efdm_kernel_signal_at(h, -1, 1)) TH_LOG("%s: fd -1", h);
		EXPECT_EQ(-EINVAL, efdm_hook_write(h, "not a number"));
		EXPECT_EQ(-EINVAL, efdm_hook_write(h, "3"));
		EXPECT_EQ(-EINVAL, efdm_hook_write(h, "3 1 2"));
		EXPECT_EQ(-EINVAL, efdm_hook_write(h, "3 18446744073709551616"));	/* 2^64 */
	}
	EXPECT_EQ(0ULL, efdm_count_of(self->fd));
	close(native);
	close(null);
}

/* ---- module lifetime (last: if it fails, the module may be gone) ---------------------------- */

static long module_refcnt(void)
{
	FILE *f = fopen("/sys/module/eventfd_max/refcnt", "re");
	long n = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/* Every open file pins the module, so rmmod is refused while one is open. */
TEST_F(efd, module_pinned_while_open)
{
	long before, during;
	int fds[3];

	if (efdm_native())
		SKIP(return, "native mode");
	before = module_refcnt();
	if (before < 0)
		EFDM_SKIP(return, "no /sys/module/eventfd_max/refcnt (built in?)");
	EXPECT_LE(EFDM_MODULE_REFS_PER_OPEN, before);	/* the fixture's fd */
	for (int i = 0; i < 3; i++) {
		fds[i] = efdm_open(0);
		ASSERT_LE(0, fds[i]);
	}
	during = module_refcnt();
	ASSERT_EQ(before + 3 * EFDM_MODULE_REFS_PER_OPEN, during);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	EXPECT_EQ(before, module_refcnt());
	if (geteuid() != 0)
		return;
	EXPECT_ERRNO(EWOULDBLOCK, syscall(SYS_delete_module, "eventfd_max", O_NONBLOCK));
}

TEST_HARNESS_MAIN
