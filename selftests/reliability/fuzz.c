// SPDX-License-Identifier: GPL-2.0
/*
 * Seeded, bounded syscall fuzzer for /dev/eventfd_max.  Several threads issue random open, close,
 * dup, read/readv/preadv2, write/writev/pwritev2 (good and bad buffers, odd lengths), ioctl (the
 * real commands with good and bad pointers, and random commands with random arguments), poll,
 * epoll_ctl/epoll_wait, fcntl (O_NONBLOCK toggles, FD_CLOEXEC), lseek, mmap and fork (the child
 * checks what it inherited, uses the shared counters and exits) and check every result against the
 * contract:
 *
 *  - Each thread owns private descriptors and keeps a shadow of their counters (count, maximum,
 *    semaphore, used, O_NONBLOCK, access mode), so every result on them is predicted exactly:
 *    return value, errno, value read, poll and epoll masks, fdinfo.  A read that would block is
 *    issued with RWF_NOWAIT instead, a write with O_NONBLOCK set for it (the device's write,
 *    eventfd's ->write, refuses RWF_NOWAIT), so nothing sleeps.
 *  - A few shared counters, opened O_NONBLOCK and used by every thread and forked children, get
 *    the checks that hold under concurrency: allowed errno sets, reads > 0 (1 for a semaphore),
 *    and on the "strict" ones (fixed maximum) reads below the maximum and no POLLERR, even with
 *    faulting reads giving values back on the semaphore ones.  Shared counters are replaced under
 *    the other threads' feet with dup3().
 *
 * A watchdog fails the run if a thread makes no progress for WATCHDOG_MS.  Prints the seed; the
 * same seed replays the same per-thread choices (the interleaving differs).
 *
 * It runs --seconds, and longer (up to OVERTIME_MS) until every kind of operation made a call.
 *
 * Usage: fuzz [--seconds N] [--threads N] [--seed N]   (defaults: 10 s, 4 threads, clock seed)
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#include "rel_util.h"
#include "kselftest.h"

#define MAX_THREADS	16
#define MAX_OWNED	32	/* descriptors a thread owns at once */
#define NSHARED		8	/* shared counters; the even ones are strict */
#define MAX_EVENTS	128
#define WATCHDOG_MS	20000
#define CHILD_MS	10000	/* a forked child must exit within this */
#define MAX_REPORTS	20
#define OVERTIME_MS	60000	/* how long a run may go on past --seconds for a kind not yet called */

enum kind {
	K_OPEN, K_CLOSE, K_DUP, K_READ, K_READ_BAD, K_WRITE, K_WRITE_BAD, K_IOCTL, K_IOCTL_BAD,
	K_IOCTL_RANDOM, K_POLL, K_EPOLL, K_FCNTL, K_FDINFO, K_LSEEK_MMAP, K_FORK, K_SHARED,
	K_REPLACE, K_COUNT
};

static const char *const kind_name[K_COUNT] = {
	"open", "close", "dup/F_DUPFD", "read/readv/preadv2", "read into bad buffers",
	"write/writev/pwritev2", "write from bad buffers", "ioctl SET/GET/CONFIGURE/FIONBIO",
	"ioctl with bad pointers", "ioctl with random commands and arguments", "poll",
	"epoll_ctl/epoll_wait", "fcntl", "fdinfo", "lseek/mmap", "fork + child checks",
	"shared counters (concurrent ops)", "dup3 replacing a shared counter",
};

/* What one thread knows about an open file description it owns. */
struct obj {
	int refs;		/* 0: free */
	uint64_t count, maximum;
	bool sem, used, nonblock;
	int accmode;
	long id;
};

/* One owned descriptor; @token identifies it in the thread's epoll set. */
struct ofd {
	int fd;			/* -1: free */
	int obj;
	bool cloexec, in_epoll, et;
	uint32_t events, token;
};

/* A registration left in the epoll set after its fd was closed while a dup kept the file open. */
struct stale {
	int obj, fd;
};

struct slot {
	int fd;			/* fixed number; the file behind it is replaced */
	uint64_t maximum;
	bool sem, strict;
};

struct thread {
	int idx, epfd, nstale;
	pthread_t th;
	uint64_t rng, nops;
	uint64_t heartbeat;		/* __atomic: ms of the last finished op */
	_Atomic int kind;
	struct obj obj[MAX_OWNED];
	struct ofd fd[MAX_OWNED];
	struct stale stale[MAX_OWNED];
	uint32_t next_token;
	unsigned char buf[4096 + 64];
	uint64_t calls[K_COUNT];
};

static uint64_t seconds = 10, nthreads = 4, seed;
static struct slot slots[NSHARED];
static struct thread threads[MAX_THREADS];
static struct bad_ptrs bad;
static atomic_bool stop;
static atomic_uint violations[K_COUNT];
static atomic_bool called[K_COUNT];	/* some thread made a call of this kind */
static atomic_uint reports;

static void __attribute__((format(printf, 3, 4)))
violation(struct thread *t, enum kind k, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	atomic_fetch_add(&violations[k], 1);
	if (atomic_fetch_add(&reports, 1) >= MAX_REPORTS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("# VIOLATION seed %" PRIu64 " thread %d op %" PRIu64 " [%s]: %s\n", seed, t->idx,
	       t->nops, kind_name[k], msg);
	fflush(stdout);
}

#define CHECK(t, k, cond, ...) do { if (!(cond)) violation(t, k, __VA_ARGS__); } while (0)

/* The result of a call as 0/positive, or -errno. */
static long res(long r)
{
	return r < 0 ? -errno : r;
}

static const char *err(long r)
{
	return r < 0 ? strerror((int)-r) : "success";
}

/* ---- the shadow -------------------------------------------------------------------------- */

static uint64_t room(const struct obj *o)
{
	return o->maximum > o->count ? o->maximum - o->count : 0;
}

static int readiness(const struct obj *o)
{
	return (o->count ? POLLIN : 0) | (room(o) > 1 ? POLLOUT : 0) |
	       (o->count >= o->maximum ? POLLERR : 0);
}

static bool can_read(const struct obj *o)
{
	return o->accmode != O_WRONLY;
}

static bool can_write(const struct obj *o)
{
	return o->accmode != O_RDONLY;
}

/* A random owned descriptor, or NULL when the thread has none. */
static struct ofd *pick_fd(struct thread *t)
{
	int start = (int)rnd(&t->rng, MAX_OWNED);

	for (int i = 0; i < MAX_OWNED; i++) {
		struct ofd *f = &t->fd[(start + i) % MAX_OWNED];

		if (f->fd >= 0)
			return f;
	}
	return NULL;
}

static struct ofd *free_fd(struct thread *t)
{
	for (int i = 0; i < MAX_OWNED; i++)
		if (t->fd[i].fd < 0)
			return &t->fd[i];
	return NULL;
}

static struct ofd *add_fd(struct thread *t, int fd, int obj, bool cloexec)
{
	struct ofd *f = free_fd(t);

	f->fd = fd;
	f->obj = obj;
	f->cloexec = cloexec;
	f->in_epoll = false;
	f->token = ++t->next_token;
	t->obj[obj].refs++;
	return f;
}

/* Values that sit on the edges of the rules for this counter. */
static uint64_t edge_value(struct thread *t, const struct obj *o)
{
	uint64_t r = room(o);

	switch (rnd(&t->rng, 10)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return r ? r - 1 : 0;	/* the largest that fits */
	case 3: return r;		/* blocks */
	case 4: return o->maximum - 1;
	case 5: return o->maximum;	/* EINVAL */
	case 6: return U64_MAX_VAL;
	case 7: return U64_MAX_VAL - 1;
	case 8: return xorshift64(&t->rng);
	default: return rnd(&t->rng, 100);
	}
}

/* fdinfo must match the shadow exactly. */
static void check_fdinfo(struct thread *t, enum kind k, const struct ofd *f)
{
	const struct obj *o = &t->obj[f->obj];
	struct raw_fdinfo fi;

	if (raw_fdinfo(f->fd, &fi) || fi.lines != 4) {
		violation(t, k, "fd %d: fdinfo unreadable or not 4 eventfd lines", f->fd);
		return;
	}
	CHECK(t, k, fi.count == o->count && fi.maximum == o->maximum && fi.semaphore == o->sem &&
	      fi.id == o->id, "fd %d: fdinfo count %#" PRIx64 " max %#" PRIx64 " sem %d id %ld, "
	      "shadow %#" PRIx64 " %#" PRIx64 " %d %ld", f->fd, fi.count, fi.maximum,
	      fi.semaphore, fi.id, o->count, o->maximum, o->sem, o->id);
}

/* ---- owned descriptors ------------------------------------------------------------------- */

static bool op_open(struct thread *t)
{
	static const int modes[] = { O_RDWR, O_RDWR, O_RDONLY, O_WRONLY };
	int accmode = modes[rnd(&t->rng, 4)], flags = accmode, fd, obj;
	struct raw_fdinfo fi;
	struct ofd *f;

	if (!free_fd(t))
		return false;
	flags |= rnd(&t->rng, 2) ? O_NONBLOCK : 0;
	flags |= rnd(&t->rng, 2) ? O_CLOEXEC : 0;
	fd = open(efdm_dev_path(), flags);
	if (fd < 0) {
		violation(t, K_OPEN, "open(%#x): %s", flags, strerror(errno));
		return true;
	}
	for (obj = 0; t->obj[obj].refs; obj++)
		;
	t->obj[obj] = (struct obj){ .maximum = U64_MAX_VAL, .nonblock = !!(flags & O_NONBLOCK),
				    .accmode = accmode };
	f = add_fd(t, fd, obj, flags & O_CLOEXEC);
	if (raw_fdinfo(fd, &fi) || fi.lines != 4) {
		violation(t, K_OPEN, "fd %d: no fdinfo after open", fd);
		return true;
	}
	t->obj[obj].id = fi.id;
	/* Ids are unique among open counters, so among this thread's. */
	for (int i = 0; i < MAX_OWNED; i++)
		CHECK(t, K_OPEN, i == obj || !t->obj[i].refs || t->obj[i].id != fi.id,
		      "id %ld given to two open counters", fi.id);
	check_fdinfo(t, K_OPEN, f);
	CHECK(t, K_OPEN, poll_mask(fd) == POLLOUT, "fresh counter: poll %#x", poll_mask(fd));
	return true;
}

/* Forgets @f; a registration it leaves in the epoll set (file kept open by a dup) is remembered. */
static void forget_fd(struct thread *t, struct ofd *f)
{
	struct obj *o = &t->obj[f->obj];

	if (--o->refs == 0) {
		/* The file is released: epoll drops every registration of it. */
		for (int i = 0; i < t->nstale; i++)
			if (t->stale[i].obj == f->obj)
				t->stale[i--] = t->stale[--t->nstale];
	} else if (f->in_epoll && t->nstale < MAX_OWNED) {
		t->stale[t->nstale++] = (struct stale){ f->obj, f->fd };
	}
	f->fd = -1;
}

static bool op_close(struct thread *t)
{
	struct ofd *f = pick_fd(t);
	long r;

	if (!f)
		return false;
	if (f->in_epoll && rnd(&t->rng, 2)) {
		r = res(epoll_ctl(t->epfd, EPOLL_CTL_DEL, f->fd, NULL));
		CHECK(t, K_EPOLL, r == 0, "EPOLL_CTL_DEL fd %d: %s", f->fd, err(r));
		f->in_epoll = false;
	}
	r = res(close(f->fd));
	CHECK(t, K_CLOSE, r == 0, "close(%d): %s", f->fd, err(r));
	forget_fd(t, f);
	return true;
}

static bool op_dup(struct thread *t)
{
	struct ofd *f = pick_fd(t);
	bool cloexec = rnd(&t->rng, 2);
	int fd, fl;

	if (!f || !free_fd(t))
		return false;
	if (rnd(&t->rng, 2))
		fd = cloexec ? fcntl(f->fd, F_DUPFD_CLOEXEC, (int)rnd(&t->rng, 200)) : dup(f->fd);
	else
		fd = fcntl(f->fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, (int)rnd(&t->rng, 200));
	if (fd < 0) {
		violation(t, K_DUP, "dup of %d: %s", f->fd, strerror(errno));
		return true;
	}
	fl = fcntl(fd, F_GETFD);
	CHECK(t, K_DUP, fl >= 0 && !!(fl & FD_CLOEXEC) == cloexec, "dup: F_GETFD %#x", fl);
	check_fdinfo(t, K_DUP, add_fd(t, fd, f->obj, cloexec));
	return true;
}

/* Fills the thread's buffer with a pattern so that bytes written beyond 8 are noticed. */
static void fill(struct thread *t)
{
	memset(t->buf, 0xa5, sizeof(t->buf));
}

static bool untouched(const struct thread *t, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (t->buf[i] != 0xa5)
			return false;
	return true;
}

enum io_style { IO_PLAIN, IO_VEC, IO_NOWAIT, IO_POS, IO_STYLES };

/*
 * The buffers readv/writev get for @len bytes at @buf: with IO_VEC and 2 bytes or more, three
 * (a first one of 1 to @len - 1 bytes, a middle one possibly empty), otherwise one.
 */
static int split_io(struct thread *t, void *buf, size_t len, enum io_style style,
		    struct iovec *iov)
{
	size_t a, b;

	iov[0] = (struct iovec){ buf, len };
	if (style != IO_VEC || len < 2)
		return 1;
	a = 1 + rnd(&t->rng, len - 1);
	b = rnd(&t->rng, len - a + 1);
	iov[0].iov_len = a;
	iov[1] = (struct iovec){ (char *)buf + a, b };
	iov[2] = (struct iovec){ (char *)buf + a + b, len - a - b };
	return 3;
}

/* read or write of the buffers @iov (from split_io()) in one of the styles. */
static long do_iov(struct thread *t, bool is_write, int fd, struct iovec *iov, int n,
		   enum io_style style)
{
	void *buf = iov[0].iov_base;
	size_t len = iov[0].iov_len;

	switch (style) {
	case IO_VEC:
		return res(is_write ? writev(fd, iov, n) : readv(fd, iov, n));
	case IO_NOWAIT:
		return res(is_write ? pwritev2(fd, iov, 1, -1, RWF_NOWAIT) :
				      preadv2(fd, iov, 1, -1, RWF_NOWAIT));
	case IO_POS:	/* ESPIPE: the file has no position, as an eventfd has none */
		return res(is_write ? pwrite(fd, buf, len, (off_t)rnd(&t->rng, 1 << 20)) :
				      pread(fd, buf, len, (off_t)rnd(&t->rng, 1 << 20)));
	default:
		return res(is_write ? write(fd, buf, len) : read(fd, buf, len));
	}
}

/* read or write of @len bytes at @buf in one of the styles; readv/writev split the buffer. */
static long do_io(struct thread *t, bool is_write, int fd, void *buf, size_t len,
		  enum io_style style)
{
	struct iovec iov[3];

	return do_iov(t, is_write, fd, iov, split_io(t, buf, len, style, iov), style);
}

static bool op_read(struct thread *t)
{
	static const size_t lens[] = { 8, 8, 8, 8, 9, 16, 4096, 7, 1, 0 };
	struct ofd *f = pick_fd(t);
	struct obj *o;
	enum io_style style = (enum io_style)rnd(&t->rng, IO_STYLES);
	size_t len = lens[rnd(&t->rng, ARRAY_SIZE(lens))];
	long expect, r;
	uint64_t v;

	if (!f)
		return false;
	o = &t->obj[f->obj];
	if (style == IO_POS)
		expect = -ESPIPE;	/* no positional I/O, as on an eventfd */
	else if (!can_read(o))
		expect = -EBADF;
	else if (len == 0 && (style == IO_VEC || style == IO_NOWAIT))
		expect = 0;	/* the VFS returns 0 for empty vectors before the driver */
	else if (len < 8)
		expect = -EINVAL;
	else if (o->count)
		expect = 8;
	else if (o->nonblock || style == IO_NOWAIT)
		expect = -EAGAIN;
	else
		style = IO_NOWAIT, expect = -EAGAIN;	/* would sleep: ask without waiting */
	fill(t);
	r = do_io(t, false, f->fd, t->buf, len, style);
	if (r != expect) {
		violation(t, K_READ, "read(%d, %zu, style %d): %s (%ld), expected %ld (count %#"
			  PRIx64 ")", f->fd, len, style, err(r), r, expect, o->count);
		return true;
	}
	if (r != 8) {
		CHECK(t, K_READ, untouched(t, 0, len), "failed read wrote to the buffer");
		return true;
	}
	memcpy(&v, t->buf, 8);
	CHECK(t, K_READ, v == (o->sem ? 1 : o->count), "read %#" PRIx64 ", count was %#" PRIx64
	      " sem %d", v, o->count, o->sem);
	CHECK(t, K_READ, untouched(t, 8, len), "read wrote beyond 8 bytes");
	o->count -= o->sem ? 1 : o->count;
	o->used = true;
	return true;
}

/* 32-bit: every address below 4 GiB passes access_ok, so the driver sees (and faults on) it. */
static bool vfs_rejects(int which)
{
	return sizeof(void *) == 8 && (which == BAD_KERNEL || which == BAD_NONCANON);
}

static bool op_read_bad(struct thread *t)
{
	struct ofd *f = pick_fd(t);
	int which = (int)rnd(&t->rng, BAD_COUNT);
	enum io_style style = rnd(&t->rng, 2) ? IO_PLAIN : IO_NOWAIT;
	struct obj *o;
	long expect, r;

	if (!f)
		return false;
	o = &t->obj[f->obj];
	if (!can_read(o))
		expect = -EBADF;
	else if (vfs_rejects(which) || o->count)
		expect = -EFAULT;	/* the value taken is given back */
	else if (o->nonblock || style == IO_NOWAIT)
		expect = -EAGAIN;
	else
		style = IO_NOWAIT, expect = -EAGAIN;
	r = do_io(t, false, f->fd, bad.ptr[which], 8, style);
	CHECK(t, K_READ_BAD, r == expect, "read(%d) into %s: %s, expected %s (count %#" PRIx64 ")",
	      f->fd, bad.name[which], err(r), err(expect), o->count);
	if (rnd(&t->rng, 4) == 0)
		check_fdinfo(t, K_READ_BAD, f);
	return true;
}

/*
 * One call of the device's ->write (eventfd's): a length other than 8 or a value not below the
 * maximum is EINVAL; it goes through if it fits, and otherwise fails EAGAIN or would sleep.
 */
static long one_write(struct obj *o, size_t len, uint64_t v, bool nonblock, bool *would_sleep)
{
	if (len != 8 || v >= o->maximum)
		return -EINVAL;
	if (room(o) > v) {
		o->count += v;
		o->used = true;
		return 8;
	}
	*would_sleep |= !nonblock;
	return -EAGAIN;
}

/*
 * What writing @iov returns, updating @o as it would.  write(2) hands the buffer to ->write whole;
 * writev(2) hands it each non-empty buffer in turn, stopping at the first that fails (returning
 * what was written, or the error); an empty vector writes nothing; RWF_NOWAIT is refused
 * (EOPNOTSUPP) before ->write, which has no kiocb to take it; pwrite(2) is ESPIPE, as on an
 * eventfd (no FMODE_PWRITE).
 */
static long predict_write(struct obj *o, enum io_style style, const struct iovec *iov, int n,
			  bool nonblock, bool *would_sleep)
{
	size_t total = 0;
	long ret = 0;

	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (style == IO_POS)
		return -ESPIPE;
	if (!can_write(o))
		return -EBADF;
	if ((style == IO_VEC || style == IO_NOWAIT) && !total)
		return 0;
	if (style == IO_NOWAIT)
		return -EOPNOTSUPP;
	for (int i = 0; i < n; i++) {
		uint64_t v = 0;
		long r;

		if (style == IO_VEC && !iov[i].iov_len)
			continue;
		if (iov[i].iov_len == 8)
			memcpy(&v, iov[i].iov_base, 8);
		r = one_write(o, iov[i].iov_len, v, nonblock, would_sleep);
		if (r < 0)
			return ret ? ret : r;
		ret += r;
	}
	return ret;
}

static bool op_write(struct thread *t)
{
	static const size_t lens[] = { 8, 8, 8, 8, 8, 0, 7, 9, 16 };
	struct ofd *f = pick_fd(t);
	enum io_style style = (enum io_style)rnd(&t->rng, IO_STYLES);
	size_t len = lens[rnd(&t->rng, ARRAY_SIZE(lens))];
	bool would_sleep = false;
	struct iovec iov[3];
	struct obj *o, after;
	uint64_t v;
	long expect, r;
	int n;

	if (!f)
		return false;
	o = &t->obj[f->obj];
	v = edge_value(t, o);
	fill(t);
	memcpy(t->buf, &v, 8);
	n = split_io(t, t->buf, len, style, iov);
	after = *o;
	expect = predict_write(&after, style, iov, n, o->nonblock, &would_sleep);
	/*
	 * A call that would sleep is made with O_NONBLOCK set for it; the prediction stands, as
	 * O_NONBLOCK turns only the sleep into the EAGAIN already predicted.
	 */
	if (would_sleep)
		CHECK(t, K_WRITE, !set_nonblock(f->fd, true), "F_SETFL O_NONBLOCK failed");
	r = do_iov(t, true, f->fd, iov, n, style);
	if (would_sleep)
		CHECK(t, K_WRITE, !set_nonblock(f->fd, false), "F_SETFL ~O_NONBLOCK failed");
	CHECK(t, K_WRITE, r == expect, "write(%d, %#" PRIx64 ", len %zu, style %d, %d buffers): "
	      "%s (%ld), expected %ld (count %#" PRIx64 " max %#" PRIx64 ")", f->fd, v, len, style,
	      n, err(r), r, expect, o->count, o->maximum);
	if (r == expect)
		*o = after;
	return true;
}

static bool op_write_bad(struct thread *t)
{
	struct ofd *f = pick_fd(t);
	int which = (int)rnd(&t->rng, BAD_COUNT);
	enum io_style style = (enum io_style)rnd(&t->rng, IO_STYLES);
	long expect, r;

	if (!f || !bad_ptr_applies(which, true))
		return false;
	if (style == IO_POS)
		expect = -ESPIPE;
	else if (!can_write(&t->obj[f->obj]))
		expect = -EBADF;
	else if (vfs_rejects(which))
		expect = -EFAULT;	/* access_ok() fails before anything else */
	else if (style == IO_NOWAIT)
		expect = -EOPNOTSUPP;
	else if (style == IO_VEC)
		expect = -EINVAL;	/* its first buffer is shorter than 8 bytes */
	else
		expect = -EFAULT;
	r = do_io(t, true, f->fd, bad.ptr[which], 8, style);
	CHECK(t, K_WRITE_BAD, r == expect, "write(%d, style %d) from %s: %s, expected %s", f->fd,
	      style, bad.name[which], err(r), err(expect));
	if (rnd(&t->rng, 4) == 0)
		check_fdinfo(t, K_WRITE_BAD, f);
	return true;
}

static bool op_ioctl(struct thread *t)
{
	struct ofd *f = pick_fd(t);
	struct eventfd_max_config cfg;
	struct obj *o;
	uint64_t v = 0;
	long r;
	int on;

	if (!f)
		return false;
	o = &t->obj[f->obj];
	switch (rnd(&t->rng, 4)) {
	case 0:
		r = res(ioctl(f->fd, EFD_IOC_GET_MAXIMUM, &v));
		CHECK(t, K_IOCTL, r == 0 && v == o->maximum, "GET_MAXIMUM: %s, %#" PRIx64
		      ", shadow %#" PRIx64, err(r), v, o->maximum);
		break;
	case 1:
		v = rnd(&t->rng, 3) ? edge_value(t, o) + rnd(&t->rng, 3) : o->count;
		r = res(ioctl(f->fd, EFD_IOC_SET_MAXIMUM, &v));
		/* At or below the count (so also 0): EINVAL, and nothing changes. */
		CHECK(t, K_IOCTL, r == (v <= o->count ? -EINVAL : 0), "SET_MAXIMUM %#" PRIx64
		      " (count %#" PRIx64 "): %s", v, o->count, err(r));
		if (r == 0 && v > o->count)
			o->maximum = v;
		break;
	case 2:
		cfg = (struct eventfd_max_config){
			.count = rnd(&t->rng, 4) ? rnd(&t->rng, 20) : xorshift64(&t->rng),
			.maximum = rnd(&t->rng, 4) ? rnd(&t->rng, 25) : U64_MAX_VAL,
			.flags = rnd(&t->rng, 8) ? (uint32_t)rnd(&t->rng, 2) :
						   1u << rnd(&t->rng, 32),
			.reserved = rnd(&t->rng, 8) ? 0 : (uint32_t)xorshift64(&t->rng),
		};
		r = res(ioctl(f->fd, EFD_IOC_CONFIGURE, &cfg));
		if ((cfg.flags & ~1u) || cfg.reserved || !cfg.maximum || cfg.count >= cfg.maximum)
			/* Invalid and already used: either refusal is right. */
			CHECK(t, K_IOCTL, r == -EINVAL || (o->used && r == -EBUSY),
			      "CONFIGURE invalid: %s", err(r));
		else
			CHECK(t, K_IOCTL, r == (o->used ? -EBUSY : 0), "CONFIGURE {%llu, %llu, %u}"
			      " used %d: %s", (unsigned long long)cfg.count,
			      (unsigned long long)cfg.maximum, cfg.flags, o->used,
			      err(r));
		if (r == 0) {
			o->count = cfg.count;
			o->maximum = cfg.maximum;
			o->sem = cfg.flags;
			o->used = true;
		}
		break;
	default:
		on = (int)rnd(&t->rng, 2);
		r = res(ioctl(f->fd, FIONBIO, &on));
		CHECK(t, K_IOCTL, r == 0, "FIONBIO: %s", err(r));
		o->nonblock = on;
		break;
	}
	if (rnd(&t->rng, 4) == 0)
		check_fdinfo(t, K_IOCTL, f);
	return true;
}

static bool op_ioctl_bad(struct thread *t)
{
	static const unsigned long cmds[] = {
		EFD_IOC_SET_MAXIMUM, EFD_IOC_GET_MAXIMUM, EFD_IOC_CONFIGURE,
	};
	struct ofd *f = pick_fd(t);
	int c = (int)rnd(&t->rng, 3), which = (int)rnd(&t->rng, BAD_COUNT);
	long r;

	if (!f || !bad_ptr_applies(which, cmds[c] != EFD_IOC_GET_MAXIMUM))
		return false;
	r = res(ioctl(f->fd, cmds[c], bad.ptr[which]));
	CHECK(t, K_IOCTL_BAD, r == -EFAULT, "ioctl %#lx with %s: %s", cmds[c], bad.name[which],
	      err(r));
	check_fdinfo(t, K_IOCTL_BAD, f);	/* nothing changed, not even "used" (below) */
	return true;
}

/* Commands the VFS answers before the driver (fs/ioctl.c): FIO*, FIGETBSZ, FICLONE, FS_IOC_*. */
static bool vfs_handles(unsigned int cmd)
{
	unsigned int type = _IOC_TYPE(cmd);

	return type == 0 || type == 'T' || type == 'X' || type == 'f' || type == 0x94 ||
	       type == 0x15;
}

static unsigned int random_cmd(uint64_t *rng)
{
	static const unsigned int sizes[] = { 0, 1, 4, 8, 16, 24, 32, 0x3fff };
	unsigned int cmd;

	do {
		unsigned int size = sizes[rnd(rng, ARRAY_SIZE(sizes))];

		switch (rnd(rng, 3)) {
		case 0:
			cmd = _IOC((unsigned int)rnd(rng, 4), 'J', (unsigned int)rnd(rng, 256),
				   size);
			break;
		case 1:
			cmd = _IOC((unsigned int)rnd(rng, 4), (unsigned int)rnd(rng, 256),
				   (unsigned int)rnd(rng, 3), size);
			break;
		default:
			cmd = (unsigned int)xorshift64(rng);
		}
	} while (vfs_handles(cmd) || cmd == EFD_IOC_SET_MAXIMUM || cmd == EFD_IOC_GET_MAXIMUM ||
		 cmd == EFD_IOC_CONFIGURE);
	return cmd;
}

/* Unknown commands fail ENOTTY whatever the argument, and write nothing through it. */
static long random_ioctl(struct thread *t, int fd, unsigned int *cmdp)
{
	unsigned int cmd = random_cmd(&t->rng);
	unsigned long arg;

	switch (rnd(&t->rng, 3)) {
	case 0:
		arg = (unsigned long)(uintptr_t)t->buf;
		break;
	case 1:
		arg = (unsigned long)(uintptr_t)bad.ptr[rnd(&t->rng, BAD_COUNT)];
		break;
	default:
		arg = (unsigned long)xorshift64(&t->rng);
	}
	fill(t);
	*cmdp = cmd;
	return res(ioctl(fd, cmd, arg));
}

static bool op_ioctl_random(struct thread *t)
{
	struct ofd *f = pick_fd(t);
	unsigned int cmd;
	long r;

	if (!f)
		return false;
	r = random_ioctl(t, f->fd, &cmd);
	CHECK(t, K_IOCTL_RANDOM, r == -ENOTTY && untouched(t, 0, sizeof(t->buf)),
	      "ioctl(%d, %#x): %s (buffer %s)", f->fd, cmd, err(r),
	      untouched(t, 0, sizeof(t->buf)) ? "untouched" : "written");
	if (rnd(&t->rng, 4) == 0)
		check_fdinfo(t, K_IOCTL_RANDOM, f);
	return true;
}

static bool op_poll(struct thread *t)
{
	struct ofd *f = pick_fd(t);
	int mask;

	if (!f)
		return false;
	mask = poll_mask(f->fd);
	CHECK(t, K_POLL, mask == readiness(&t->obj[f->obj]), "poll(%d) %#x, expected %#x (count %#"
	      PRIx64 " max %#" PRIx64 ")", f->fd, mask, readiness(&t->obj[f->obj]),
	      t->obj[f->obj].count, t->obj[f->obj].maximum);
	return true;
}

static struct ofd *by_token(struct thread *t, uint32_t token)
{
	for (int i = 0; i < MAX_OWNED; i++)
		if (t->fd[i].fd >= 0 && t->fd[i].in_epoll && t->fd[i].token == token)
			return &t->fd[i];
	return NULL;
}

/* Shared counters are registered with a token above this; owned ones count up from 1. */
#define SHARED_TOKEN 0x80000000u

static void epoll_wait_check(struct thread *t)
{
	struct epoll_event ev[MAX_EVENTS];
	bool seen[MAX_OWNED] = { false };
	int n = epoll_wait(t->epfd, ev, MAX_EVENTS, 0);

	if (n < 0) {
		violation(t, K_EPOLL, "epoll_wait: %s", strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		uint32_t tok = ev[i].data.u32;
		struct ofd *f;
		int want;

		if (tok >= SHARED_TOKEN) {
			const struct slot *s = &slots[(tok - SHARED_TOKEN) % NSHARED];

			CHECK(t, K_EPOLL,
			      !(ev[i].events & ~(uint32_t)(EPOLLIN | EPOLLOUT | EPOLLERR)) &&
			      !(s->strict && (ev[i].events & EPOLLERR)),
			      "shared counter %d: epoll events %#x", s->fd, ev[i].events);
			continue;
		}
		f = by_token(t, tok);
		if (!f)
			continue;	/* a stale registration (closed fd, file kept by a dup) */
		seen[f - t->fd] = true;
		want = readiness(&t->obj[f->obj]) & (int)(f->events | EPOLLERR | EPOLLHUP);
		CHECK(t, K_EPOLL, (int)ev[i].events == want,
		      "fd %d: epoll events %#x, expected %#x", f->fd, ev[i].events, want);
	}
	if (n == MAX_EVENTS)
		return;
	/* Level-triggered registrations that are ready must all be reported. */
	for (int i = 0; i < MAX_OWNED; i++) {
		struct ofd *f = &t->fd[i];

		if (f->fd < 0 || !f->in_epoll || f->et || seen[i])
			continue;
		CHECK(t, K_EPOLL, !(readiness(&t->obj[f->obj]) & (int)(f->events | EPOLLERR)),
		      "fd %d: ready %#x for %#x but not reported (lost wake-up)", f->fd,
		      readiness(&t->obj[f->obj]), f->events);
	}
}

static bool stale_registration(struct thread *t, const struct ofd *f)
{
	for (int i = 0; i < t->nstale; i++)
		if (t->stale[i].obj == f->obj && t->stale[i].fd == f->fd)
			return true;
	return false;
}

static bool op_epoll(struct thread *t)
{
	static const uint32_t evs[] = { EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLOUT };
	struct ofd *f = pick_fd(t);
	struct epoll_event ev = {
		.events = evs[rnd(&t->rng, 3)] | (rnd(&t->rng, 4) ? 0 : EPOLLET),
	};
	const struct slot *s;
	long r;

	switch (rnd(&t->rng, 4)) {
	case 0:		/* a shared counter: it may already be registered, or replaced meanwhile */
		s = &slots[rnd(&t->rng, NSHARED)];
		ev.data.u32 = SHARED_TOKEN + (uint32_t)(s - slots);
		r = res(epoll_ctl(t->epfd, rnd(&t->rng, 3) ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, s->fd,
				  &ev));
		CHECK(t, K_EPOLL, r == 0 || r == -EEXIST || r == -ENOENT,
		      "epoll_ctl on shared %d: %s", s->fd, err(r));
		return true;
	case 1:
		epoll_wait_check(t);
		return true;
	}
	if (!f)
		return false;
	if (!f->in_epoll) {
		ev.data.u32 = f->token;
		r = res(epoll_ctl(t->epfd, EPOLL_CTL_ADD, f->fd, &ev));
		if (r == -EEXIST && stale_registration(t, f))	/* the same file and number again */
			r = res(epoll_ctl(t->epfd, EPOLL_CTL_MOD, f->fd, &ev));
		CHECK(t, K_EPOLL, r == 0, "EPOLL_CTL_ADD fd %d: %s", f->fd, err(r));
	} else if (rnd(&t->rng, 2)) {
		ev.data.u32 = f->token;
		r = res(epoll_ctl(t->epfd, EPOLL_CTL_MOD, f->fd, &ev));
		CHECK(t, K_EPOLL, r == 0, "EPOLL_CTL_MOD fd %d: %s", f->fd, err(r));
	} else {
		r = res(epoll_ctl(t->epfd, EPOLL_CTL_DEL, f->fd, NULL));
		CHECK(t, K_EPOLL, r == 0, "EPOLL_CTL_DEL fd %d: %s", f->fd, err(r));
		f->in_epoll = false;
		return true;
	}
	if (r == 0) {
		for (int i = 0; i < t->nstale; i++)
			if (t->stale[i].obj == f->obj && t->stale[i].fd == f->fd)
				t->stale[i--] = t->stale[--t->nstale];
		f->in_epoll = true;
		f->et = ev.events & EPOLLET;
		f->events = ev.events & ~(uint32_t)EPOLLET;
	}
	return true;
}

static bool op_fcntl(struct thread *t)
{
	struct ofd *f = pick_fd(t);
	struct obj *o;
	int fl;
	long r;

	if (!f)
		return false;
	o = &t->obj[f->obj];
	switch (rnd(&t->rng, 3)) {
	case 0:
		fl = fcntl(f->fd, F_GETFL);
		CHECK(t, K_FCNTL, fl >= 0 && (fl & O_ACCMODE) == o->accmode &&
		      !!(fl & O_NONBLOCK) == o->nonblock, "F_GETFL %#x, shadow mode %d nonblock %d",
		      fl, o->accmode, o->nonblock);
		break;
	case 1:
		o->nonblock = rnd(&t->rng, 2);
		r = set_nonblock(f->fd, o->nonblock);
		CHECK(t, K_FCNTL, r == 0, "F_SETFL: %s", err(r));
		break;
	default:
		f->cloexec = rnd(&t->rng, 2);
		r = res(fcntl(f->fd, F_SETFD, f->cloexec ? FD_CLOEXEC : 0));
		fl = fcntl(f->fd, F_GETFD);
		CHECK(t, K_FCNTL, r == 0 && fl == (f->cloexec ? FD_CLOEXEC : 0),
		      "F_SETFD/F_GETFD %d", fl);
	}
	return true;
}

static bool op_fdinfo(struct thread *t)
{
	struct ofd *f = pick_fd(t);

	if (!f)
		return false;
	check_fdinfo(t, K_FDINFO, f);
	return true;
}

static bool op_lseek_mmap(struct thread *t)
{
	struct ofd *f = pick_fd(t);
	int whence = (int)rnd(&t->rng, 6);
	void *p;
	long r;

	if (!f)
		return false;
	if (rnd(&t->rng, 2)) {
		/* noop_llseek: the position stays 0; SEEK_DATA/SEEK_HOLE are passed through too. */
		r = res(lseek(f->fd, (off_t)rnd(&t->rng, 1000), whence));
		CHECK(t, K_LSEEK_MMAP, r == (whence <= SEEK_HOLE ? 0 : -EINVAL),
		      "lseek(%d, whence %d): %ld", f->fd, whence, r);
		return true;
	}
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, f->fd, 0);
	r = p == MAP_FAILED ? -errno : 0;
	CHECK(t, K_LSEEK_MMAP, r == (can_read(&t->obj[f->obj]) ? -ENODEV : -EACCES),
	      "mmap(%d): %s", f->fd, err(r));
	if (p != MAP_FAILED)
		munmap(p, 4096);
	return true;
}

/* ---- shared counters --------------------------------------------------------------------- */

/*
 * A write to a shared counter: a strict one has a known maximum; another one's maximum is
 * anything >= 1, so only 0 must never be refused and ULLONG_MAX always is.
 */
static bool shared_write_ok(const struct slot *s, uint64_t v, long r)
{
	bool invalid = s->strict ? v >= s->maximum : v == U64_MAX_VAL;
	bool maybe_invalid = s->strict ? invalid : v >= 1;

	if (r == -EINVAL)
		return maybe_invalid;
	return (r == 8 || r == -EAGAIN) && !invalid;
}

/* Checks that hold whatever the other threads do. */
static bool op_shared(struct thread *t)
{
	struct slot *s = &slots[rnd(&t->rng, NSHARED)];
	struct eventfd_max_config cfg = { .maximum = 5 };
	enum io_style style;
	struct raw_fdinfo fi;
	unsigned int cmd;
	uint64_t v = 0;
	long r;
	int mask, which;

	switch (rnd(&t->rng, 9)) {
	case 0:
	case 1:
		r = do_io(t, false, s->fd, &v, 8, rnd(&t->rng, 2) ? IO_PLAIN : IO_NOWAIT);
		CHECK(t, K_SHARED, r == -EAGAIN || (r == 8 && v && (!s->sem || v == 1) &&
		      (!s->strict || v < s->maximum)), "shared %d read: %s, %#" PRIx64, s->fd,
		      err(r), v);
		break;
	case 2:
	case 3:
		v = rnd(&t->rng, 8) ? rnd(&t->rng, s->strict ? s->maximum + 1 : 10) : U64_MAX_VAL;
		style = rnd(&t->rng, 2) ? IO_PLAIN : IO_NOWAIT;
		r = do_io(t, true, s->fd, &v, 8, style);
		CHECK(t, K_SHARED, style == IO_NOWAIT ? r == -EOPNOTSUPP : shared_write_ok(s, v, r),
		      "shared %d write %#" PRIx64 " (style %d): %s", s->fd, v, style, err(r));
		break;
	case 4:
		if (s->strict) {
			r = res(ioctl(s->fd, EFD_IOC_GET_MAXIMUM, &v));
			CHECK(t, K_SHARED, r == 0 && v == s->maximum, "shared %d GET: %s %#" PRIx64,
			      s->fd, err(r), v);
			break;
		}
		/* The count is unknown here: any maximum may be at or below it, but 0 and not
		 * ULLONG_MAX. */
		v = rnd(&t->rng, 8) ? 1 + rnd(&t->rng, 12) : rnd(&t->rng, 2) ? 0 : U64_MAX_VAL;
		r = res(ioctl(s->fd, EFD_IOC_SET_MAXIMUM, &v));
		CHECK(t, K_SHARED, r == -EINVAL ? v != U64_MAX_VAL : r == 0 && v,
		      "shared %d SET %#" PRIx64 ": %s", s->fd, v, err(r));
		break;
	case 5:
		/* Every shared counter was configured when it was created. */
		cfg.flags = (uint32_t)rnd(&t->rng, 3);
		r = res(ioctl(s->fd, EFD_IOC_CONFIGURE, &cfg));
		CHECK(t, K_SHARED, r == (cfg.flags > 1 ? -EINVAL : -EBUSY),
		      "shared %d CONFIGURE: %s", s->fd, err(r));
		break;
	case 6:
		mask = poll_mask(s->fd);
		CHECK(t, K_SHARED, mask >= 0 && !(mask & ~(POLLIN | POLLOUT | POLLERR)) &&
		      !(s->strict && (mask & POLLERR)), "shared %d poll %#x", s->fd, mask);
		r = raw_fdinfo(s->fd, &fi);
		CHECK(t, K_SHARED, r == 0 && fi.lines == 4 && fi.semaphore == s->sem &&
		      (!s->strict || (fi.maximum == s->maximum && fi.count < s->maximum)),
		      "shared %d fdinfo: count %#" PRIx64 " max %#" PRIx64, s->fd, fi.count,
		      fi.maximum);
		break;
	case 7:
		which = (int)rnd(&t->rng, BAD_COUNT);
		/*
		 * A read into a bad buffer gives back what it took, saturating at the maximum: on
		 * a non-semaphore counter that could fill it up to the maximum, so the strict ones
		 * among those never get one.  (Giving back 1 always fits.)
		 */
		if (rnd(&t->rng, 2) && (s->sem || !s->strict)) {
			r = do_io(t, false, s->fd, bad.ptr[which], 8, IO_PLAIN);
			CHECK(t, K_SHARED, r == -EFAULT || (r == -EAGAIN && !vfs_rejects(which)),
			      "shared %d read into %s: %s", s->fd, bad.name[which], err(r));
		} else if (bad_ptr_applies(which, true)) {
			r = res(ioctl(s->fd, EFD_IOC_SET_MAXIMUM, bad.ptr[which]));
			CHECK(t, K_SHARED, r == -EFAULT, "shared %d SET from %s: %s", s->fd,
			      bad.name[which], err(r));
		} else {
			return false;
		}
		break;
	default:
		r = random_ioctl(t, s->fd, &cmd);
		CHECK(t, K_SHARED, r == -ENOTTY, "shared %d ioctl %#x: %s", s->fd, cmd, err(r));
	}
	return true;
}

/* A fresh configured counter for shared slot @s (O_NONBLOCK: nobody may sleep on it). */
static int shared_counter(const struct slot *s)
{
	return efdm_create(0, EFD_NONBLOCK | EFD_CLOEXEC | (s->sem ? EFD_SEMAPHORE : 0),
			   s->maximum);
}

/* Replaces the file behind a shared number while other threads may be using it. */
static bool op_replace(struct thread *t)
{
	struct slot *s = &slots[rnd(&t->rng, NSHARED)];
	int fd = shared_counter(s);
	long r;

	if (fd < 0) {
		violation(t, K_REPLACE, "new shared counter: %s", strerror(errno));
		return true;
	}
	r = res(dup3(fd, s->fd, O_CLOEXEC));
	CHECK(t, K_REPLACE, r == s->fd, "dup3 onto %d: %s", s->fd, err(r));
	close(fd);
	return true;
}

/* ---- fork -------------------------------------------------------------------------------- */

/* In the child (async-signal-safe calls only): what it inherited matches the shadow. */
static int child_checks(struct thread *t)
{
	struct raw_fdinfo fi;
	uint64_t v = 0;
	int step = 1, fd;

	for (int i = 0; i < MAX_OWNED; i++, step++) {
		const struct ofd *f = &t->fd[i];
		const struct obj *o;

		if (f->fd < 0)
			continue;
		o = &t->obj[f->obj];
		if (raw_fdinfo(f->fd, &fi) || fi.count != o->count || fi.maximum != o->maximum ||
		    fi.id != o->id || poll_mask(f->fd) != readiness(o) ||
		    efdm_get_max(f->fd) != o->maximum)
			return step;
	}
	/* Concurrent use of the shared counters from another process. */
	for (int i = 0; i < 20; i++) {
		const struct slot *s = &slots[rnd(&t->rng, NSHARED)];
		long r;

		v = 1;
		r = res(write(s->fd, &v, 8));
		if (r != 8 && r != -EAGAIN && !(r == -EINVAL && !s->strict))
			return 100;
		r = res(read(s->fd, &v, 8));
		if (r != -EAGAIN && (r != 8 || !v || (s->sem && v != 1) ||
				     (s->strict && v >= s->maximum)))
			return 101;
	}
	/* A counter of its own. */
	fd = efdm_create(0, EFD_NONBLOCK, 4);
	v = 3;
	if (fd < 0 || write(fd, &v, 8) != 8 || write(fd, &v, 8) >= 0 || errno != EAGAIN ||
	    read(fd, &v, 8) != 8 || v != 3)
		return 102;
	return 0;
}

static bool op_fork(struct thread *t)
{
	uint64_t deadline;
	int status = 0;
	pid_t pid = fork(), w;

	if (pid < 0) {
		violation(t, K_FORK, "fork: %s", strerror(errno));
		return true;
	}
	if (pid == 0)
		_exit(child_checks(t));
	deadline = now_ms() + CHILD_MS;
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < deadline)
		sleep_ms(1);
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		violation(t, K_FORK, "child %d did not exit within %d ms", pid, CHILD_MS);
		return true;
	}
	CHECK(t, K_FORK, w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "child: status %#x (exit code = failed step)", status);
	return true;
}

/* ---- threads ----------------------------------------------------------------------------- */

struct op_weight {
	enum kind kind;
	bool (*fn)(struct thread *t);	/* false: it returned before making a call */
	unsigned int weight;
};

static const struct op_weight ops[] = {
	{ K_OPEN, op_open, 6 }, { K_CLOSE, op_close, 5 }, { K_DUP, op_dup, 3 },
	{ K_READ, op_read, 12 }, { K_READ_BAD, op_read_bad, 4 }, { K_WRITE, op_write, 14 },
	{ K_WRITE_BAD, op_write_bad, 3 }, { K_IOCTL, op_ioctl, 10 },
	{ K_IOCTL_BAD, op_ioctl_bad, 4 }, { K_IOCTL_RANDOM, op_ioctl_random, 5 },
	{ K_POLL, op_poll, 5 }, { K_EPOLL, op_epoll, 8 }, { K_FCNTL, op_fcntl, 4 },
	{ K_FDINFO, op_fdinfo, 3 }, { K_LSEEK_MMAP, op_lseek_mmap, 2 }, { K_FORK, op_fork, 1 },
	{ K_SHARED, op_shared, 20 }, { K_REPLACE, op_replace, 1 },
};

static void *thread_main(void *arg)
{
	struct thread *t = arg;
	unsigned int total = 0;

	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		total += ops[i].weight;
	while (!atomic_load(&stop)) {
		unsigned int pick = (unsigned int)rnd(&t->rng, total);
		size_t i = 0;

		while (pick >= ops[i].weight)
			pick -= ops[i++].weight;
		/* fork is slow under emulation: keep it to one in a few hundred operations. */
		if (ops[i].kind == K_FORK && rnd(&t->rng, 4))
			continue;
		atomic_store(&t->kind, ops[i].kind);
		if (ops[i].fn(t)) {
			t->calls[ops[i].kind]++;
			atomic_store(&called[ops[i].kind], true);
		}
		t->nops++;
		__atomic_store_n(&t->heartbeat, now_ms(), __ATOMIC_RELAXED);
	}
	/* Everything owned must still match, then goes away. */
	for (int i = 0; i < MAX_OWNED; i++) {
		if (t->fd[i].fd < 0)
			continue;
		check_fdinfo(t, K_FDINFO, &t->fd[i]);
		close(t->fd[i].fd);
	}
	close(t->epfd);
	return NULL;
}

static bool all_called(void)
{
	for (int k = 0; k < K_COUNT; k++)
		if (!atomic_load(&called[k]))
			return false;
	return true;
}

int main(int argc, char **argv)
{
	static const struct rel_opt opts[] = {
		{ "seconds", &seconds, "how long to run" },
		{ "threads", &nthreads, "fuzzing threads" },
		{ "seed", &seed, "random seed (0: from the clock)" },
	};
	uint64_t start, end, total_ops = 0, calls[K_COUNT] = { 0 };
	bool stuck = false;

	rel_parse_opts(argc, argv, opts, ARRAY_SIZE(opts),
		       "Randomized syscall fuzzer for /dev/eventfd_max (TAP output).");
	if (!nthreads || nthreads > MAX_THREADS)
		ksft_exit_fail_msg("--threads must be 1..%d\n", MAX_THREADS);
	if (!seed)
		seed = now_ns() | 1;
	ksft_print_header();
	if (efdm_native())
		ksft_exit_skip("needs the device\n");
	ksft_set_plan(K_COUNT);
	ksft_print_msg("seed %" PRIu64 " (replay: --seed %" PRIu64 "), %" PRIu64 " s, %" PRIu64
		       " threads, %d shared counters\n", seed, seed, seconds, nthreads, NSHARED);
	if (bad_ptrs_init(&bad))
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < NSHARED; i++) {
		slots[i] = (struct slot){ .maximum = i & 2 ? 4 : 1000, .sem = i & 1,
					  .strict = !(i & 4) };
		slots[i].fd = shared_counter(&slots[i]);
		if (slots[i].fd < 0)
			ksft_exit_fail_msg("open %s: %s\n", efdm_dev_path(), strerror(errno));
	}
	alarm((unsigned int)seconds + OVERTIME_MS / 1000 + 120);	/* if even the watchdog is stuck */
	start = now_ms();
	for (int i = 0; i < (int)nthreads; i++) {
		struct thread *t = &threads[i];

		t->idx = i;
		t->rng = (seed ^ ((uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL)) | 1;
		for (int k = 0; k < MAX_OWNED; k++)
			t->fd[k].fd = -1;
		t->epfd = epoll_create1(EPOLL_CLOEXEC);
		__atomic_store_n(&t->heartbeat, now_ms(), __ATOMIC_RELAXED);
		if (t->epfd < 0 || pthread_create(&t->th, NULL, thread_main, t))
			ksft_exit_fail_msg("thread setup failed\n");
	}
	/* --seconds, and longer (up to OVERTIME_MS) until every kind of operation was called. */
	end = now_ms() + seconds * 1000;
	while ((now_ms() < end || !all_called()) && now_ms() < end + OVERTIME_MS && !stuck) {
		sleep_ms(100);
		for (int i = 0; i < (int)nthreads; i++) {
			uint64_t last = __atomic_load_n(&threads[i].heartbeat, __ATOMIC_RELAXED);

			if (now_ms() - last > WATCHDOG_MS) {
				ksft_print_msg("thread %d stuck for %d ms in %s\n", i, WATCHDOG_MS,
					       kind_name[atomic_load(&threads[i].kind)]);
				stuck = true;
			}
		}
	}
	atomic_store(&stop, true);
	for (int i = 0; i < (int)nthreads; i++) {
		if (join_bounded(threads[i].th, WATCHDOG_MS)) {
			ksft_print_msg("thread %d did not stop within %d ms (in %s)\n", i,
				       WATCHDOG_MS, kind_name[atomic_load(&threads[i].kind)]);
			stuck = true;
			continue;
		}
		total_ops += threads[i].nops;
		for (int k = 0; k < K_COUNT; k++)
			calls[k] += threads[i].calls[k];
	}
	if (stuck)
		ksft_exit_fail_msg("stuck thread (seed %" PRIu64 ")\n", seed);
	for (int i = 0; i < NSHARED; i++)
		close(slots[i].fd);
	ksft_print_msg("%" PRIu64 " operations in %" PRIu64 " ms (seed %" PRIu64 ")\n", total_ops,
		       now_ms() - start, seed);
	for (int k = 0; k < K_COUNT; k++)
		ksft_test_result(calls[k] > 0 && atomic_load(&violations[k]) == 0,
				 "fuzz %s: %" PRIu64 " calls, %u violations\n", kind_name[k],
				 calls[k], atomic_load(&violations[k]));
	ksft_finished();
}
