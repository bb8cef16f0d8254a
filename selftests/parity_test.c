// SPDX-License-Identifier: GPL-2.0
/*
 * eventfd(2) parity where the lockstep differential test cannot look closely: EPOLLEXCLUSIVE
 * wake-ups, the edge a write of 0 makes, F_GETFL, vectored writes through eventfd's ->write
 * (fs/read_write.c: do_loop_readv_writev() makes one write per buffer and takes no RWF flag but
 * RWF_HIPRI), AIO (fs/aio.c: IOCB_CMD_POLL needs a file that polls on one wait queue, PWRITE a
 * ->write_iter) and io_uring (io_uring/rw.c: a ->write file takes IOCB_NOWAIT only when it is
 * O_NONBLOCK; reads and writes that would block wait for readiness).  Every test states what
 * eventfd(2) does and checks it twice: on an eventfd, which proves the statement, then on a
 * device counter with the default maximum, which must do the same.  AIO and io_uring are raw
 * system calls: no library needed.
 */
#define _GNU_SOURCE
#include <linux/aio_abi.h>
#include <linux/io_uring.h>
#include <linux/time_types.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "efdm_wait.h"
#include "kselftest_harness.h"

/* Eight, as many as a thread pool might park on one counter. */
#define WAITERS 8
/* How long a completion that is due may take; one that is not must stay away this long. */
#define DUE_MS 5000
#define NOT_DUE_MS 50

FIXTURE(parity) {};

FIXTURE_SETUP(parity)
{
	ASSERT_EQ(0, efdm_install_interrupt(SIGUSR1));
	if (efdm_device_absent())
		SKIP(return, "%s missing (module not loaded?)", efdm_dev_path());
}

FIXTURE_TEARDOWN(parity)
{
}

/* @check on an eventfd(@count, @flags), which proves what it states, then on a device counter. */
static void on_both(struct __test_metadata *_metadata, unsigned int count, int flags,
		    void (*check)(struct __test_metadata *_metadata, int fd))
{
	int fd = eventfd(count, flags);

	ASSERT_LE(0, fd);
	TH_LOG("checking eventfd(2)");
	check(_metadata, fd);
	close(fd);
	fd = efdm_create(count, flags, UINT64_MAX);
	ASSERT_LE(0, fd) TH_LOG("%s: %s", efdm_dev_path(), strerror(errno));
	TH_LOG("checking %s", efdm_dev_path());
	check(_metadata, fd);
	close(fd);
}

/*
 * PARITY_TEST(name, count, flags) { ... }: a test whose body runs by on_both() with the counter
 * as @fd.
 */
#define PARITY_TEST(name, count, flags)						\
	static void check_##name(struct __test_metadata *_metadata, int fd);	\
	TEST_F(parity, name)							\
	{									\
		on_both(_metadata, count, flags, check_##name);			\
	}									\
	static void check_##name(struct __test_metadata *_metadata, int fd)

/*
 * WAITERS threads, each with an epoll set of its own holding @fd with @events | EPOLLEXCLUSIVE,
 * all seen asleep in epoll_wait; then @wake (a successful write or read) on @fd.  Returns how
 * many waiters returned, each with @events.
 */
static int exclusive_wakeups(struct __test_metadata *_metadata, int fd, uint32_t events,
			     ssize_t (*wake)(int fd))
{
	struct efdm_epoller w[WAITERS] = { 0 };
	int returned;

	for (int i = 0; i < WAITERS; i++)
		ASSERT_EQ(0, efdm_epoller_start(&w[i], fd, events | EPOLLEXCLUSIVE));
	ASSERT_EQ(WAITERS, efdm_epollers_sleep(w, WAITERS));
	EXPECT_EQ(8, wake(fd));
	returned = efdm_epollers_returned(w, WAITERS);
	for (int i = 0; i < WAITERS; i++) {
		if (atomic_load(&w[i].helper.done)) {
			EXPECT_EQ(events, w[i].events);
		}
	}
	EXPECT_TRUE(efdm_epollers_finish(w, WAITERS));
	return returned;
}

static ssize_t write_one(int fd)
{
	return efd_write(fd, 1);
}

static ssize_t read_value(int fd)
{
	uint64_t value;

	return efd_read(fd, &value);
}

/*
 * epoll_ctl(2): EPOLLEXCLUSIVE avoids thundering herds when several epoll sets wait on one
 * target; eventfd wakes exactly one of them per wake-up, here a write's EPOLLIN.
 */
PARITY_TEST(epoll_exclusive_write_wakes_one, 0, 0)
{
	EXPECT_EQ(1, exclusive_wakeups(_metadata, fd, EPOLLIN, write_one));
}

/* The same for a read's EPOLLOUT, which wakes one exclusive waiter for room. */
PARITY_TEST(epoll_exclusive_read_wakes_one, 0, 0)
{
	ASSERT_EQ(8, efd_write(fd, UINT64_MAX - 1));	/* no POLLOUT */
	EXPECT_EQ(1, exclusive_wakeups(_metadata, fd, EPOLLOUT, read_value));
}

/*
 * eventfd wakes EPOLLIN waiters after every successful write, also of 0, so an edge-triggered
 * EPOLLIN registration reports a new edge for it.
 */
PARITY_TEST(write_zero_is_an_epollin_edge, 1, 0)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	EXPECT_EQ(EPOLLIN, efdm_epoll_now(ep));	/* the edge of registering a ready fd */
	EXPECT_EQ(0, efdm_epoll_now(ep));
	ASSERT_EQ(8, efd_write(fd, 0));
	EXPECT_EQ(EPOLLIN, efdm_epoll_now(ep));
	EXPECT_EQ(0, efdm_epoll_now(ep));
	close(ep);
}

/*
 * F_GETFL is O_RDWR plus what F_SETFL set: O_NONBLOCK and O_APPEND stick, O_ASYNC does nothing
 * without ->fasync, O_DIRECT is EINVAL; never O_LARGEFILE.
 */
PARITY_TEST(fcntl_getfl_like_eventfd, 0, 0)
{
	static const struct { int set, ret, getfl; } cases[] = {
		{ 0, 0, O_RDWR },
		{ O_NONBLOCK, 0, O_RDWR | O_NONBLOCK },
		{ O_APPEND, 0, O_RDWR | O_APPEND },
		{ O_NONBLOCK | O_APPEND, 0, O_RDWR | O_NONBLOCK | O_APPEND },
		{ O_ASYNC, 0, O_RDWR },
		{ O_DIRECT, -EINVAL, O_RDWR },
	};

	EXPECT_EQ(O_RDWR, fcntl(fd, F_GETFL));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int ret = fcntl(fd, F_SETFL, cases[i].set);

		EXPECT_EQ(cases[i].ret, ret < 0 ? -errno : ret) TH_LOG("F_SETFL %#x", cases[i].set);
		EXPECT_EQ(cases[i].getfl, fcntl(fd, F_GETFL)) TH_LOG("F_SETFL %#x",
									   cases[i].set);
		ASSERT_EQ(0, fcntl(fd, F_SETFL, 0));
	}
}

/* writev() of buffers of @lens over @buf, or pwritev2() with @flags when @flags >= 0. */
static ssize_t write_pieces(int fd, const void *buf, const size_t *lens, int n, int flags)
{
	struct iovec iov[4];
	size_t off = 0;
	ssize_t ret;

	for (int i = 0; i < n; i++) {
		iov[i] = (struct iovec){ (char *)buf + off, lens[i] };
		off += lens[i];
	}
	ret = flags < 0 ? writev(fd, iov, n) : pwritev2(fd, iov, n, -1, flags);
	return ret < 0 ? -errno : ret;
}

/* writev() of two 8-byte buffers is two writes: both values are added, and it returns 16. */
PARITY_TEST(writev_two_values_two_writes, 0, EFD_NONBLOCK)
{
	static const size_t lens[] = { 8, 8 };
	const uint64_t values[2] = { 2, 3 };

	EXPECT_EQ(16, write_pieces(fd, values, lens, 2, -1));
	EXPECT_EQ(5ULL, efdm_count_of(fd));
}

/* A value split across buffers is EINVAL: each write sees fewer than 8 bytes. */
PARITY_TEST(writev_split_value_einval, 0, EFD_NONBLOCK)
{
	static const struct { int n; size_t lens[3]; } splits[] = {
		{ 2, { 4, 4 } }, { 2, { 1, 7 } }, { 3, { 2, 2, 4 } },
	};
	const uint64_t value = 7;

	for (size_t i = 0; i < ARRAY_SIZE(splits); i++) {
		EXPECT_EQ(-EINVAL, write_pieces(fd, &value, splits[i].lens, splits[i].n, -1))
			TH_LOG("split %zu", i);
	}
	EXPECT_EQ(0ULL, efdm_count_of(fd));
}

/* When a later write fails, writev() returns the bytes of those before it, which stay added. */
PARITY_TEST(writev_stops_at_failed_write, 0, EFD_NONBLOCK)
{
	static const size_t short_second[] = { 8, 4 }, two[] = { 8, 8 };
	const uint64_t values[2] = { 4, UINT64_MAX };

	EXPECT_EQ(8, write_pieces(fd, values, short_second, 2, -1));
	EXPECT_EQ(8, write_pieces(fd, values, two, 2, -1));	/* ULLONG_MAX: EINVAL */
	EXPECT_EQ(8ULL, efdm_count_of(fd));
}

/* readv() is eventfd's read_iter: the 8 bytes fill the buffers in order, however split. */
PARITY_TEST(readv_splits_value, 0, EFD_NONBLOCK)
{
	const uint64_t value = 0x0102030405060708ULL;
	uint32_t halves[2] = { 0, 0 };
	struct iovec iov[2] = { { &halves[0], 4 }, { &halves[1], 4 } };
	uint64_t got;

	ASSERT_EQ(8, efd_write(fd, value));
	EXPECT_EQ(8, readv(fd, iov, 2));
	memcpy(&got, halves, sizeof(got));
	EXPECT_EQ(value, got);
	EXPECT_EQ(0ULL, efdm_count_of(fd));
}

/*
 * pwritev2() takes no flag but RWF_HIPRI: RWF_NOWAIT, RWF_DSYNC, RWF_SYNC and RWF_APPEND are
 * EOPNOTSUPP, blocking or not, and add nothing.
 */
PARITY_TEST(pwritev2_flags_eopnotsupp, 0, 0)
{
	static const int refused[] = { RWF_NOWAIT, RWF_DSYNC, RWF_SYNC, RWF_APPEND };
	static const size_t eight[] = { 8 };
	const uint64_t value = 1;

	for (int nonblock = 0; nonblock < 2; nonblock++) {
		ASSERT_EQ(0, set_nonblock(fd, nonblock));
		for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
			EXPECT_EQ(-EOPNOTSUPP, write_pieces(fd, &value, eight, 1, refused[i]))
				TH_LOG("flags %#x, O_NONBLOCK %d", refused[i], nonblock);
		}
	}
	EXPECT_EQ(0ULL, efdm_count_of(fd));
	EXPECT_EQ(8, write_pieces(fd, &value, eight, 1, RWF_HIPRI));
	EXPECT_EQ(1ULL, efdm_count_of(fd));
}

/*
 * An eventfd has no file position to read or write at: pread(), pwrite(), preadv(), pwritev() and
 * preadv2()/pwritev2() with an offset fail with ESPIPE and change nothing, while the offset -1
 * (the current position) and lseek() work.
 */
PARITY_TEST(positional_io_espipe, 1, EFD_NONBLOCK)
{
	uint64_t v = 1;
	struct iovec iov = { &v, 8 };

	EXPECT_ERRNO(ESPIPE, pread(fd, &v, 8, 0));
	EXPECT_ERRNO(ESPIPE, pwrite(fd, &v, 8, 0));
	EXPECT_ERRNO(ESPIPE, preadv(fd, &iov, 1, 0));
	EXPECT_ERRNO(ESPIPE, pwritev(fd, &iov, 1, 0));
	EXPECT_ERRNO(ESPIPE, preadv2(fd, &iov, 1, 0, 0));
	EXPECT_EQ(1ULL, efdm_count_of(fd));
	EXPECT_EQ(0, lseek(fd, 0, SEEK_SET));
	EXPECT_EQ(8, preadv2(fd, &iov, 1, -1, 0));
	EXPECT_EQ(1ULL, v);
}

/* ---- AIO ------------------------------------------------------------------------------------ */

static aio_context_t aio_new(struct __test_metadata *_metadata)
{
	aio_context_t ctx = 0;

	ASSERT_EQ(0, syscall(SYS_io_setup, 4, &ctx)) TH_LOG("io_setup: %s", strerror(errno));
	return ctx;
}

/* io_submit() of one iocb: 1 or -errno. */
static long aio_submit(aio_context_t ctx, struct iocb *cb)
{
	struct iocb *list[1] = { cb };
	long ret = syscall(SYS_io_submit, ctx, 1, list);

	return ret < 0 ? -errno : ret;
}

/* The next completion within @ms: 1, or 0 when none came. */
static long aio_reap(aio_context_t ctx, struct io_event *ev, int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	return syscall(SYS_io_getevents, ctx, 1, 1, ev, &ts);
}

/*
 * Submits @cb on an AIO context of its own and returns what io_submit() did: 1 or -errno.  Once
 * submitted: with @act, nothing may complete within NOT_DUE_MS, then @act (a call that must
 * succeed) runs on the iocb's fd; *ev is the completion, which must come within DUE_MS.
 */
static long aio_complete(struct __test_metadata *_metadata, struct iocb *cb,
			 ssize_t (*act)(int fd), struct io_event *ev)
{
	aio_context_t ctx = aio_new(_metadata);
	long ret = aio_submit(ctx, cb);

	if (ret == 1) {
		if (act) {
			EXPECT_EQ(0, aio_reap(ctx, ev, NOT_DUE_MS));
			EXPECT_EQ(8, act((int)cb->aio_fildes));
		}
		EXPECT_EQ(1, aio_reap(ctx, ev, DUE_MS));
	}
	syscall(SYS_io_destroy, ctx);
	return ret;
}

/* An IOCB_CMD_POLL's aio_buf holds the events; a read's or write's, the address of 8 bytes. */
static struct iocb aio_iocb(int opcode, int fd, uint64_t buf)
{
	return (struct iocb){
		.aio_lio_opcode = opcode, .aio_fildes = fd, .aio_buf = buf,
		.aio_nbytes = opcode == IOCB_CMD_POLL ? 0 : 8,
	};
}

/* An IOCB_CMD_POLL of @events on @fd completes with them, after @act when it is given. */
static void check_aio_poll(struct __test_metadata *_metadata, int fd, short events,
			   ssize_t (*act)(int fd))
{
	struct iocb cb = aio_iocb(IOCB_CMD_POLL, fd, events);
	struct io_event ev = { 0 };

	EXPECT_EQ(1, aio_complete(_metadata, &cb, act, &ev));
	EXPECT_EQ(events, ev.res);
}

/* AIO's IOCB_CMD_POLL of POLLIN on an empty counter waits, and completes with POLLIN on a write. */
PARITY_TEST(aio_poll_waits_for_write, 0, 0)
{
	check_aio_poll(_metadata, fd, POLLIN, write_one);
}

/* IOCB_CMD_POLL of POLLOUT on a full counter waits, and completes with POLLOUT on a read. */
PARITY_TEST(aio_poll_waits_for_read, 0, 0)
{
	ASSERT_EQ(8, efd_write(fd, UINT64_MAX - 1));
	check_aio_poll(_metadata, fd, POLLOUT, read_value);
}

/* IOCB_CMD_POLL of events that are ready completes at once. */
PARITY_TEST(aio_poll_ready_completes, 3, 0)
{
	check_aio_poll(_metadata, fd, POLLIN | POLLOUT, NULL);
}

/* IOCB_CMD_PREAD reads like read(2). */
PARITY_TEST(aio_pread_reads, 5, 0)
{
	struct io_event ev = { 0 };
	uint64_t value = 0;
	struct iocb cb;

	cb = aio_iocb(IOCB_CMD_PREAD, fd, (uintptr_t)&value);
	EXPECT_EQ(1, aio_complete(_metadata, &cb, NULL, &ev));
	EXPECT_EQ(8, ev.res);
	EXPECT_EQ(5ULL, value);
}

/* IOCB_CMD_PWRITE needs ->write_iter, which eventfd has not: io_submit() fails with EINVAL. */
PARITY_TEST(aio_pwrite_einval, 0, 0)
{
	struct io_event ev = { 0 };
	const uint64_t value = 1;
	struct iocb cb;

	cb = aio_iocb(IOCB_CMD_PWRITE, fd, (uintptr_t)&value);
	EXPECT_EQ(-EINVAL, aio_complete(_metadata, &cb, NULL, &ev));
	EXPECT_EQ(0ULL, efdm_count_of(fd));
}

/* ---- io_uring ------------------------------------------------------------------------------- */

struct ring {
	int fd;
	void *map;
	size_t map_len;
	struct io_uring_sqe *sqes;
	size_t sqes_len;
	unsigned int *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_cqe *cqes;
};

static void ring_init(struct __test_metadata *_metadata, struct ring *r)
{
	struct io_uring_params p = { 0 };
	char *map;

	r->fd = (int)syscall(SYS_io_uring_setup, 4, &p);
	ASSERT_LE(0, r->fd) TH_LOG("io_uring_setup: %s", strerror(errno));
	ASSERT_TRUE((p.features & IORING_FEAT_SINGLE_MMAP) != 0);
	r->map_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	if (r->map_len < p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe))
		r->map_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		      IORING_OFF_SQ_RING);
	ASSERT_TRUE(r->map != MAP_FAILED);
	r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
		       IORING_OFF_SQES);
	ASSERT_TRUE(r->sqes != MAP_FAILED);
	map = r->map;
	r->sq_tail = (unsigned int *)(map + p.sq_off.tail);
	r->sq_mask = (unsigned int *)(map + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)(map + p.sq_off.array);
	r->cq_head = (unsigned int *)(map + p.cq_off.head);
	r->cq_tail = (unsigned int *)(map + p.cq_off.tail);
	r->cq_mask = (unsigned int *)(map + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(map + p.cq_off.cqes);
}

static void ring_exit(struct ring *r)
{
	munmap(r->sqes, r->sqes_len);
	munmap(r->map, r->map_len);
	close(r->fd);
}

/* Submits one request; 1 or -errno. */
static int ring_submit(struct ring *r, const struct io_uring_sqe *sqe)
{
	unsigned int tail = *r->sq_tail, index = tail & *r->sq_mask;
	long ret;

	r->sqes[index] = *sqe;
	r->sq_array[index] = index;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	ret = syscall(SYS_io_uring_enter, r->fd, 1, 0, 0, NULL, 0);
	return ret < 0 ? -errno : (int)ret;
}

/* The next completion within @ms; false when none came. */
static bool ring_reap(struct ring *r, struct io_uring_cqe *cqe, int ms)
{
	struct __kernel_timespec ts = { ms / 1000, (ms % 1000) * 1000000LL };
	struct io_uring_getevents_arg arg = { .ts = (uintptr_t)&ts };
	unsigned int head = *r->cq_head;

	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		syscall(SYS_io_uring_enter, r->fd, 0, 1,
			IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
	if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE))
		return false;
	*cqe = r->cqes[head & *r->cq_mask];
	__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
	return true;
}

/*
 * Submits @sqe on a ring of its own.  With @act, nothing may complete within NOT_DUE_MS, then
 * @act (a call that must succeed) runs on @fd.  Returns the result of the completion, which
 * must come within DUE_MS.
 */
static int uring_complete(struct __test_metadata *_metadata, const struct io_uring_sqe *sqe,
			  ssize_t (*act)(int fd), int fd)
{
	struct io_uring_cqe cqe = { 0 };
	struct ring r;

	ring_init(_metadata, &r);
	ASSERT_EQ(1, ring_submit(&r, sqe));
	if (act) {
		EXPECT_FALSE(ring_reap(&r, &cqe, NOT_DUE_MS));
		EXPECT_EQ(8, act(fd));
	}
	EXPECT_TRUE(ring_reap(&r, &cqe, DUE_MS));
	ring_exit(&r);
	return cqe.res;
}

static struct io_uring_sqe rw_sqe(int opcode, int fd, uint64_t *value, int rw_flags)
{
	return (struct io_uring_sqe){
		.opcode = opcode, .fd = fd, .addr = (uintptr_t)value, .len = 8, .off = -1ULL,
		.rw_flags = rw_flags,
	};
}

/* IORING_OP_READ of an empty counter waits for a write, then reads its value. */
PARITY_TEST(uring_read_waits_for_write, 0, 0)
{
	uint64_t value = 0;
	struct io_uring_sqe sqe;

	sqe = rw_sqe(IORING_OP_READ, fd, &value, 0);
	EXPECT_EQ(8, uring_complete(_metadata, &sqe, write_one, fd));
	EXPECT_EQ(1ULL, value);
}

/* IORING_OP_WRITE to a full counter waits for a read, then adds its value. */
PARITY_TEST(uring_write_waits_for_read, 0, 0)
{
	uint64_t value = 1;
	struct io_uring_sqe sqe;

	ASSERT_EQ(8, efd_write(fd, UINT64_MAX - 1));
	sqe = rw_sqe(IORING_OP_WRITE, fd, &value, 0);
	EXPECT_EQ(8, uring_complete(_metadata, &sqe, read_value, fd));
	EXPECT_EQ(1ULL, efdm_count_of(fd));
}

/* RWF_NOWAIT reads never wait: an empty counter completes with EAGAIN at once. */
PARITY_TEST(uring_read_rwf_nowait_eagain, 0, 0)
{
	uint64_t value = 0;
	struct io_uring_sqe sqe;

	sqe = rw_sqe(IORING_OP_READ, fd, &value, RWF_NOWAIT);
	EXPECT_EQ(-EAGAIN, uring_complete(_metadata, &sqe, NULL, -1));
}

/*
 * An RWF_NOWAIT write goes through eventfd's ->write only on an O_NONBLOCK file: on a blocking
 * one it completes with EAGAIN even when the value fits, and adds nothing.
 */
PARITY_TEST(uring_write_rwf_nowait_needs_o_nonblock, 0, 0)
{
	uint64_t value = 1;
	struct io_uring_sqe sqe;

	sqe = rw_sqe(IORING_OP_WRITE, fd, &value, RWF_NOWAIT);
	EXPECT_EQ(-EAGAIN, uring_complete(_metadata, &sqe, NULL, -1));
	EXPECT_EQ(0ULL, efdm_count_of(fd));
	ASSERT_EQ(0, set_nonblock(fd, true));
	EXPECT_EQ(8, uring_complete(_metadata, &sqe, NULL, -1));
	EXPECT_EQ(1ULL, efdm_count_of(fd));
}

/* IORING_OP_POLL_ADD of POLLIN on an empty counter completes with POLLIN on a write. */
PARITY_TEST(uring_poll_waits_for_write, 0, 0)
{
	struct io_uring_sqe sqe = { .opcode = IORING_OP_POLL_ADD, .poll32_events = POLLIN };

	sqe.fd = fd;
	EXPECT_EQ(POLLIN, uring_complete(_metadata, &sqe, write_one, fd));
}

/*
 * A multishot POLL_ADD completes once per wake-up that finds its event; a write of 0 is one, as
 * every successful write wakes EPOLLIN waiters.
 */
PARITY_TEST(uring_multishot_poll_sees_write_zero, 1, 0)
{
	struct io_uring_sqe sqe = {
		.opcode = IORING_OP_POLL_ADD, .len = IORING_POLL_ADD_MULTI, .poll32_events = POLLIN,
	};
	struct io_uring_cqe cqe;
	struct ring r;

	sqe.fd = fd;
	ring_init(_metadata, &r);
	ASSERT_EQ(1, ring_submit(&r, &sqe));
	ASSERT_TRUE(ring_reap(&r, &cqe, DUE_MS));	/* ready when armed */
	EXPECT_EQ(POLLIN, cqe.res);
	EXPECT_TRUE((cqe.flags & IORING_CQE_F_MORE) != 0);
	EXPECT_FALSE(ring_reap(&r, &cqe, NOT_DUE_MS));
	ASSERT_EQ(8, efd_write(fd, 0));
	ASSERT_TRUE(ring_reap(&r, &cqe, DUE_MS));
	EXPECT_EQ(POLLIN, cqe.res);
	EXPECT_TRUE((cqe.flags & IORING_CQE_F_MORE) != 0);
	ring_exit(&r);
}

TEST_HARNESS_MAIN
