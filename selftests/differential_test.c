// SPDX-License-Identifier: GPL-2.0
/*
 * Differential test: one pseudo-random sequence of operations is applied in lockstep to a native
 * eventfd(2) and to a /dev/eventfd_max counter with maximum ULLONG_MAX.  Return values, errno,
 * values read, poll/select/epoll readiness, what edge-triggered registrations report, how many
 * EPOLLEXCLUSIVE waiters a step wakes, the whole F_GETFL, lseek results and the fdinfo count and
 * semaphore lines must be identical.
 *
 * Each step runs in one of five ways: directly; through a dup() of the descriptor; in a forked
 * child; as the trigger of EPOLLEXCLUSIVE waiters seen asleep in epoll_wait() first; or, when it
 * would block, on a helper thread seen asleep in it, which a second step (a write for a reader, a
 * read for a writer) or else a signal releases.  A model of upstream eventfd (fs/eventfd.c, with
 * do_loop_readv_writev() for its ->write) is checked against the native side too, so a wrong
 * expectation in this program shows up on the host.
 *
 * Usage: differential_test [harness options] [--seed=N] [--steps=N]
 *   (or EVENTFD_MAX_SEED / EVENTFD_MAX_STEPS).  Without a seed, one is taken from the clock; it
 *   is printed, and --seed=N replays the run.  EVENTFD_MAX_NATIVE=1 compares eventfd(2) with
 *   itself, to validate this program where there is no device.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "efdm_wait.h"
#include "kselftest_harness.h"

#define DEFAULT_STEPS	10000UL
/* EPOLLEXCLUSIVE waiters per side in a HOW_EXCLUSIVE step: two tell one wake-up from all. */
#define EXCL_WAITERS	2
/*
 * Slow steps (forks, helper threads) of each kind: one plus one per SLOW_EVERY steps of a run, so
 * a few in the guest suite's runs under TCG and many in long ones.  Beyond, blocking steps poll
 * instead and the others run directly.
 */
#define SLOW_EVERY	2000
/* A run of at least this many steps must have exercised every operation in every way. */
#define COVERAGE_STEPS	1000UL

static uint64_t seed;
static bool seed_given;
static unsigned long steps = DEFAULT_STEPS;

enum op {
	OP_READ,		/* 8-byte buffer */
	OP_READ_SHORT,		/* 0..7 bytes: EINVAL */
	OP_READ_LONG,		/* 9..32 bytes: reads 8 */
	OP_READV,		/* a layout, by readv() or preadv2() */
	OP_WRITE,
	OP_WRITE_BADLEN,	/* 0..16 bytes but 8: EINVAL */
	OP_WRITEV,		/* a layout, by writev() or pwritev2() */
	OP_POLL,
	OP_SELECT,
	OP_EPOLL,		/* level-triggered EPOLLIN | EPOLLOUT */
	OP_EDGES,		/* what the edge-triggered registrations report */
	OP_FDINFO,
	OP_NONBLOCK,		/* fcntl(F_SETFL) O_NONBLOCK on or off, then F_GETFL */
	OP_LSEEK,
	OP_REOPEN,		/* fresh counters: a semaphore count only ever drains by 1 */
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"read", "read_short", "read_long", "readv", "write", "write_badlen", "writev", "poll",
	"select", "epoll", "edges", "fdinfo", "nonblock", "lseek", "reopen",
};

/* How often each operation is picked, out of the sum. */
static const unsigned int op_weight[OP_COUNT] = {
	16, 3, 3, 6, 24, 3, 8, 6, 2, 3, 6, 6, 4, 2, 1,
};

enum how {
	HOW_DIRECT,
	HOW_DUP,		/* through a dup() of the descriptor */
	HOW_CHILD,		/* in a forked child */
	HOW_EXCLUSIVE,		/* the trigger of EPOLLEXCLUSIVE waiters asleep in epoll_wait() */
	HOW_BLOCKING,		/* on a helper thread asleep in it until a second step releases it */
	HOW_COUNT
};

static const char *const how_names[HOW_COUNT] = {
	"direct", "dup", "child", "exclusive", "blocking",
};

/*
 * Buffers of the vectored operations: consecutive pieces of one buffer, so the bytes read or
 * written are always its start.  eventfd's ->write sees one piece at a time.
 */
struct layout {
	int n;
	size_t len[3];
};

static const struct layout layouts[] = {
	{ 1, { 8 } },
	{ 2, { 8, 8 } },	/* eventfd: two writes, 16 */
	{ 2, { 4, 4 } },	/* one value split: each write sees 4 bytes, EINVAL */
	{ 2, { 1, 7 } },
	{ 2, { 8, 4 } },	/* the first write done, the second EINVAL: 8 */
	{ 2, { 0, 8 } },
	{ 2, { 8, 0 } },
	{ 3, { 2, 2, 4 } },
	{ 1, { 16 } },
	{ 2, { 4, 2 } },	/* 6 bytes: a read fails EINVAL */
};

/* -1: readv()/writev(); otherwise preadv2()/pwritev2() with these flags. */
static const int read_flags[] = { -1, 0, RWF_HIPRI, RWF_NOWAIT };
static const int write_flags[] = { -1, 0, RWF_HIPRI, RWF_NOWAIT, RWF_DSYNC };

/* The edge-triggered registrations, through the descriptor, its dup and a second dup. */
static const uint32_t edge_events[3] = { EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLOUT };

/* One step, the same for both sides. */
struct step {
	enum op op;
	enum how how;
	uint64_t value[3];		/* written: OP_WRITE* the first, OP_WRITEV one per 8 bytes */
	size_t len;			/* OP_READ*, OP_WRITE, OP_WRITE_BADLEN */
	const struct layout *layout;	/* OP_READV, OP_WRITEV */
	int flags;			/* OP_READV, OP_WRITEV: read_flags / write_flags */
	bool on;			/* OP_NONBLOCK */
	off_t off;			/* OP_LSEEK */
	int whence;
	uint32_t waiter_events[EXCL_WAITERS];	/* HOW_EXCLUSIVE */
	uint64_t release_value;		/* HOW_BLOCKING: what the write releasing a reader adds */
};

/* What one side did. */
struct outcome {
	long ret;
	int err;
	uint64_t value;	/* value read, poll/epoll mask, select bits, F_GETFL, edge reports */
	char text[2 * EFD_FDINFO_LEN];	/* OP_FDINFO: the count and semaphore lines */
	/* HOW_BLOCKING: the releasing step; HOW_EXCLUSIVE: waiters returned, their events ORed. */
	long ret2;
	int err2;
	uint64_t value2;
};

struct side {
	int fd, dup, dup2;	/* dup2 only carries an edge-triggered registration */
	int ep;			/* level-triggered EPOLLIN | EPOLLOUT */
	int et;			/* edge_events[i] | EPOLLET through fd, dup and dup2 */
};

/* Upstream eventfd, for the native side. */
struct model {
	uint64_t count;
	bool semaphore;
	bool nonblock;
	uint32_t woke;		/* keys of this step's wake-ups: EPOLLIN, EPOLLOUT */
	bool edge[3];		/* an edge-triggered registration was woken and has not reported */
};

/* Seeds xorshift64 from any number (never 0, which xorshift would keep). */
static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x ? x : 1;
}

/* ---- the model ------------------------------------------------------------------------------ */

static uint32_t model_mask(const struct model *m)
{
	return (m->count > 0 ? EPOLLIN : 0) | (~0ULL - 1 > m->count ? EPOLLOUT : 0) |
	       (m->count == ~0ULL ? EPOLLERR : 0);
}

/* eventfd_read() into @len bytes: 8 or -errno; *blocks when it would sleep instead. */
static long model_read(struct model *m, size_t len, bool nonblock, uint64_t *value, bool *blocks)
{
	if (len < 8)
		return -EINVAL;
	if (m->count == 0) {
		*blocks = !nonblock;
		return -EAGAIN;
	}
	*value = m->semaphore ? 1 : m->count;
	m->count -= *value;
	m->woke |= EPOLLOUT;
	return 8;
}

/* eventfd_write() of @len bytes starting with @value: 8 or -errno; *blocks as above. */
static long model_write(struct model *m, size_t len, uint64_t value, bool nonblock, bool *blocks)
{
	if (len != 8 || value == ~0ULL)
		return -EINVAL;
	if (~0ULL - m->count <= value) {
		*blocks = !nonblock;
		return -EAGAIN;
	}
	m->count += value;
	m->woke |= EPOLLIN;
	return 8;
}

/*
 * do_loop_readv_writev(): one ->write per piece until the bytes run out or one fails; a failure
 * after a success returns what was written.  RWF flags but RWF_HIPRI are EOPNOTSUPP there.
 */
static long model_writev(struct model *m, const struct step *st, bool *blocks)
{
	const struct layout *l = st->layout;
	size_t total = 0, off = 0;
	long ret = 0;

	if (st->flags > 0 && st->flags != RWF_HIPRI)
		return -EOPNOTSUPP;
	for (int i = 0; i < l->n; i++)
		total += l->len[i];
	for (int i = 0; i < l->n && off < total; i++) {
		long r;

		/* Advancing past a piece also skips the empty ones after it. */
		if (l->len[i] == 0 && off > 0)
			continue;
		r = model_write(m, l->len[i], st->value[off / 8], m->nonblock, blocks);
		if (r < 0 || *blocks)
			return ret ? ret : r;
		ret += r;
		off += l->len[i];
	}
	return ret;
}

static void model_edges(struct model *m, struct outcome *out)
{
	uint32_t mask = model_mask(m);

	for (int i = 0; i < 3; i++) {
		uint32_t r = mask & (edge_events[i] | EPOLLERR | EPOLLHUP);

		if (m->edge[i] && r) {
			out->ret++;
			out->value |= (uint64_t)r << (8 * i);
		}
		m->edge[i] = false;
	}
}

/* What upstream eventfd does for one operation; *blocks when it would sleep instead. */
static void predict_op(const struct step *st, struct model *m, struct outcome *out, bool *blocks)
{
	size_t total = 0;
	uint32_t v;

	switch (st->op) {
	case OP_READ:
	case OP_READ_SHORT:
	case OP_READ_LONG:
		out->ret = model_read(m, st->len, m->nonblock, &out->value, blocks);
		break;
	case OP_READV:
		for (int i = 0; i < st->layout->n; i++)
			total += st->layout->len[i];
		out->ret = model_read(m, total, m->nonblock || st->flags == RWF_NOWAIT, &out->value,
				      blocks);
		break;
	case OP_WRITE:
	case OP_WRITE_BADLEN:
		out->ret = model_write(m, st->len, st->value[0], m->nonblock, blocks);
		break;
	case OP_WRITEV:
		out->ret = model_writev(m, st, blocks);
		break;
	case OP_POLL:
	case OP_EPOLL:
		out->value = model_mask(m);
		out->ret = out->value != 0;
		break;
	case OP_SELECT:
		v = model_mask(m);
		out->value = (v & EPOLLIN ? 1 : 0) | (v & EPOLLOUT ? 2 : 0);
		out->ret = (int)(out->value & 1) + (int)(out->value >> 1);
		break;
	case OP_EDGES:
		model_edges(m, out);
		break;
	case OP_FDINFO:
		snprintf(out->text, sizeof(out->text),
			 "eventfd-count: %16llx\neventfd-semaphore: %d\n",
			 (unsigned long long)m->count, m->semaphore);
		break;
	case OP_NONBLOCK:
		m->nonblock = st->on;
		out->value = O_RDWR | (st->on ? O_NONBLOCK : 0);
		break;
	case OP_LSEEK:
		out->ret = st->whence <= SEEK_HOLE ? 0 : -EINVAL;
		break;
	case OP_REOPEN:
	case OP_COUNT:
		break;
	}
	if (*blocks)
		out->ret = 0;
	if (out->ret < 0) {
		out->err = (int)-out->ret;
		out->ret = -1;
	}
}

static bool is_read(enum op op)
{
	return op == OP_READ || op == OP_READ_LONG || op == OP_READV;
}

/* What releases a helper asleep in @st: a write of its release value a reader, a read a writer. */
static struct step release_step(const struct step *st)
{
	if (is_read(st->op))
		return (struct step){ .op = OP_WRITE, .len = 8, .value = { st->release_value } };
	return (struct step){ .op = OP_READ, .len = 8 };
}

/* The whole step, including what helper threads and waiters see; updates the model. */
static void predict(const struct step *st, struct model *m, struct outcome *out)
{
	struct step release = release_step(st);
	struct outcome rel = { 0 };
	uint32_t kind, events;
	bool blocks = false;

	memset(out, 0, sizeof(*out));
	m->woke = 0;
	predict_op(st, m, out, &blocks);
	if (st->how == HOW_BLOCKING) {
		/* It sleeps; then the releasing step. */
		blocks = false;
		predict_op(&release, m, &rel, &blocks);
		out->ret2 = rel.ret;
		out->err2 = rel.err;
		out->value2 = rel.value;
		predict_op(st, m, out, &blocks);
		if (blocks) {	/* still asleep: a signal interrupts it */
			out->ret = -1;
			out->err = EINTR;
		}
	} else if (st->how == HOW_EXCLUSIVE) {
		/* One wake-up wakes one exclusive waiter, which returns if it finds its event. */
		kind = st->waiter_events[0] & (EPOLLIN | EPOLLOUT);
		events = model_mask(m) & (kind | EPOLLERR | EPOLLHUP);
		out->ret2 = (m->woke & kind) && events ? 1 : 0;
		out->value2 = out->ret2 ? events : 0;
	}
	for (int i = 0; i < 3; i++)
		m->edge[i] |= (m->woke & edge_events[i]) != 0;
}

/* ---- picking steps -------------------------------------------------------------------------- */

static uint64_t pick_value(uint64_t *rng, const struct model *m)
{
	uint64_t r = xorshift64(rng);

	switch (r % 10) {
	case 0:
		return 0;
	case 1:
	case 2:
		return 1 + (r >> 8) % 16;
	case 3:
		return xorshift64(rng);
	case 4:
		return (uint32_t)xorshift64(rng);
	case 5:
		return (r >> 8) & 1 ? ~0ULL : ~0ULL - 1;
	case 6:
		return ~0ULL - 2 - (r >> 8) % 4;
	case 7:		/* exactly fills: count becomes ULLONG_MAX - 1 */
		return ~0ULL - 1 - m->count;
	case 8:		/* one too many */
		return ~0ULL - m->count;
	default:	/* a little more than half the room */
		return (~0ULL - m->count) / 2 + (r >> 8) % 3;
	}
}

static enum how pick_how(uint64_t r)
{
	r %= 100;
	if (r < 75)
		return HOW_DIRECT;
	if (r < 90)
		return HOW_DUP;
	if (r < 95)
		return HOW_CHILD;
	return HOW_EXCLUSIVE;
}

static struct step pick_step(uint64_t *rng, const struct model *m)
{
	unsigned int total = 0, r;
	struct step st = { 0 };

	for (int i = 0; i < OP_COUNT; i++)
		total += op_weight[i];
	r = xorshift64(rng) % total;
	for (st.op = 0; r >= op_weight[st.op]; st.op++)
		r -= op_weight[st.op];
	st.how = pick_how(xorshift64(rng));
	r = xorshift64(rng);
	for (int i = 0; i < EXCL_WAITERS; i++)
		st.waiter_events[i] = (r >> i) & 1 ? EPOLLET : 0;
	st.release_value = 1 + (r >> 8) % 16;
	for (int i = 0; i < 3; i++)
		st.value[i] = pick_value(rng, m);
	st.len = 8;

	switch (st.op) {
	case OP_READ_SHORT:
		st.len = xorshift64(rng) % 8;
		break;
	case OP_READ_LONG:
		st.len = 9 + xorshift64(rng) % 24;
		break;
	case OP_READV:
		st.layout = &layouts[xorshift64(rng) % ARRAY_SIZE(layouts)];
		st.flags = read_flags[xorshift64(rng) % ARRAY_SIZE(read_flags)];
		break;
	case OP_WRITEV:
		st.layout = &layouts[xorshift64(rng) % ARRAY_SIZE(layouts)];
		st.flags = write_flags[xorshift64(rng) % ARRAY_SIZE(write_flags)];
		break;
	case OP_WRITE_BADLEN:
		st.len = xorshift64(rng) % 16;
		st.len += st.len >= 8;
		break;
	case OP_NONBLOCK:
		/* Mostly non-blocking: on a blocking fd many steps need helper threads. */
		st.on = xorshift64(rng) % 4 != 0;
		break;
	case OP_LSEEK:
		st.off = (off_t)(int32_t)xorshift64(rng);
		st.whence = xorshift64(rng) % 7;
		break;
	default:
		break;
	}
	return st;
}

struct budget {
	unsigned long ran[HOW_COUNT];	/* steps run each way */
	unsigned long polls;		/* blocking steps turned into polls */
};

/*
 * Fits the way a step runs to the model's state: a step that would block runs on a helper thread
 * (or becomes a poll); exclusive waiters need a counter on which their event is not ready.
 */
static void plan(struct step *st, const struct model *m, struct budget *b)
{
	unsigned long slow = 1 + steps / SLOW_EVERY;
	struct model scratch = *m;
	struct outcome out = { 0 };
	bool blocks = false, can_trigger;
	uint32_t kind;

	if (st->op == OP_REOPEN || (st->how == HOW_CHILD && b->ran[HOW_CHILD] >= slow))
		st->how = HOW_DIRECT;
	predict_op(st, &scratch, &out, &blocks);
	if (blocks) {
		if ((is_read(st->op) || st->op == OP_WRITE) && b->ran[HOW_BLOCKING] < slow) {
			st->how = HOW_BLOCKING;
		} else {
			st->op = OP_POLL;
			st->how = HOW_DIRECT;
			b->polls++;
		}
	}
	/* The direction the counter is not ready in, which a trigger can make ready. */
	kind = (EPOLLIN | EPOLLOUT) & ~model_mask(m);
	/* One wake-up per trigger: writev's second write would wake a second waiter. */
	can_trigger = kind && st->op != OP_WRITEV && b->ran[HOW_EXCLUSIVE] < slow;
	/*
	 * The first step that can trigger exclusive waiters does, so that a short run covers them
	 * too: a counter with an initial count is seldom not ready in some direction when a 5 % pick
	 * comes.
	 */
	if (!b->ran[HOW_EXCLUSIVE] && can_trigger && st->how != HOW_BLOCKING && st->op != OP_REOPEN)
		st->how = HOW_EXCLUSIVE;
	if (st->how == HOW_EXCLUSIVE) {
		if (!can_trigger) {
			st->how = HOW_DIRECT;
		} else {
			for (int i = 0; i < EXCL_WAITERS; i++)
				st->waiter_events[i] |= kind | EPOLLEXCLUSIVE;
		}
	}
	b->ran[st->how]++;
}

/* ---- applying steps ------------------------------------------------------------------------- */

static void fdinfo_text(int fd, char *text, size_t size)
{
	struct efd_fdinfo fi;

	text[0] = '\0';
	if (efd_fdinfo(fd, &fi))
		return;
	for (int i = 0; i < fi.n; i++)
		if (!strncmp(fi.line[i], "eventfd-count:", 14) ||
		    !strncmp(fi.line[i], "eventfd-semaphore:", 18))
			strncat(text, fi.line[i], size - strlen(text) - 1);
}

static int make_iov(const struct layout *l, void *buf, struct iovec *iov)
{
	size_t off = 0;

	for (int i = 0; i < l->n; i++) {
		iov[i] = (struct iovec){ (char *)buf + off, l->len[i] };
		off += l->len[i];
	}
	return l->n;
}

static void collect_edges(const struct side *s, struct outcome *out)
{
	struct epoll_event ev[3];

	out->ret = epoll_wait(s->et, ev, 3, 0);
	for (long i = 0; i < out->ret; i++)
		out->value |= (uint64_t)(ev[i].events & 0xff) << (8 * ev[i].data.u32);
}

/* One operation on @fd, a descriptor of side @s. */
static void apply_op(const struct step *st, const struct side *s, int fd, struct outcome *out)
{
	uint64_t buf[4] = { st->value[0], st->value[1], st->value[2], 0 };
	struct pollfd pfd = { .fd = fd, .events = ALL_POLL_EVENTS };
	struct epoll_event ev = { 0 };
	struct timeval tv = { 0, 0 };
	struct iovec iov[3];
	fd_set r, w;
	int n;

	errno = 0;
	switch (st->op) {
	case OP_READ:
	case OP_READ_SHORT:
	case OP_READ_LONG:
		memset(buf, 0, sizeof(buf));
		out->ret = read(fd, buf, st->len);
		out->value = buf[0];
		break;
	case OP_READV:
		memset(buf, 0, sizeof(buf));
		n = make_iov(st->layout, buf, iov);
		out->ret = st->flags < 0 ? readv(fd, iov, n) : preadv2(fd, iov, n, -1, st->flags);
		out->value = buf[0];
		break;
	case OP_WRITE:
	case OP_WRITE_BADLEN:
		out->ret = write(fd, buf, st->len);
		break;
	case OP_WRITEV:
		n = make_iov(st->layout, buf, iov);
		out->ret = st->flags < 0 ? writev(fd, iov, n) : pwritev2(fd, iov, n, -1, st->flags);
		break;
	case OP_POLL:
		out->ret = poll(&pfd, 1, 0);
		out->value = (uint16_t)pfd.revents;
		break;
	case OP_SELECT:
		FD_ZERO(&r);
		FD_ZERO(&w);
		FD_SET(fd, &r);
		FD_SET(fd, &w);
		out->ret = select(fd + 1, &r, &w, NULL, &tv);
		out->value = (FD_ISSET(fd, &r) ? 1 : 0) | (FD_ISSET(fd, &w) ? 2 : 0);
		break;
	case OP_EPOLL:
		out->ret = epoll_wait(s->ep, &ev, 1, 0);
		out->value = out->ret == 1 ? ev.events : 0;
		break;
	case OP_EDGES:
		collect_edges(s, out);
		break;
	case OP_FDINFO:
		fdinfo_text(fd, out->text, sizeof(out->text));
		break;
	case OP_NONBLOCK:
		out->ret = set_nonblock(fd, st->on);
		/* The whole F_GETFL: eventfd's is O_RDWR plus O_NONBLOCK, nothing else. */
		out->value = (uint64_t)(int64_t)fcntl(fd, F_GETFL);
		break;
	case OP_LSEEK:
		out->ret = lseek(fd, st->off, st->whence);
		break;
	case OP_REOPEN:
	case OP_COUNT:
		break;
	}
	out->err = out->ret < 0 ? errno : 0;
}

/* The system call a blocked helper sleeps in. */
static long op_syscall(const struct step *st)
{
	if (st->op == OP_READV)
		return st->flags < 0 ? SYS_readv : SYS_preadv2;
	return st->op == OP_WRITE ? SYS_write : SYS_read;
}

/* The step in a forked child, which sends back its outcome through a pipe. */
static void run_child(struct __test_metadata *_metadata, const struct step *st,
		      const struct side *s, struct outcome *out)
{
	int pipefd[2], status;
	pid_t pid;

	ASSERT_EQ(0, pipe2(pipefd, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(pipefd[0]);
		apply_op(st, s, s->fd, out);
		_exit(write(pipefd[1], out, sizeof(*out)) == sizeof(*out) ? 0 : 1);
	}
	close(pipefd[1]);
	EXPECT_EQ((ssize_t)sizeof(*out), read(pipefd[0], out, sizeof(*out)));
	close(pipefd[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

struct blocked {
	struct efdm_helper helper;
	const struct step *st;
	const struct side *s;
	struct outcome out;
};

static void blocked_body(struct efdm_helper *h)
{
	struct blocked *b = h->arg;

	apply_op(b->st, b->s, b->s->fd, &b->out);
}

/*
 * The step on a helper thread, seen asleep in it; then the releasing step.  @interrupt: the
 * model says the helper still sleeps after it, so a signal must end its call with EINTR.
 */
static void run_blocking(struct __test_metadata *_metadata, const struct step *st,
			 const struct side *s, bool interrupt, struct outcome *out)
{
	struct step release = release_step(st);
	struct outcome rel = { 0 };
	struct blocked b = { .st = st, .s = s };

	ASSERT_EQ(0, efdm_helper_start(&b.helper, blocked_body, &b));
	if (!efdm_helper_sleeps(&b.helper, op_syscall(st))) {
		efdm_helper_interrupt(&b.helper);
		ASSERT_TRUE(false) TH_LOG("%s did not sleep in system call %ld",
					  op_names[st->op], op_syscall(st));
	}
	apply_op(&release, s, s->fd, &rel);
	if (interrupt || !efdm_helper_join(&b.helper, EFDM_JOIN_MS))
		ASSERT_TRUE(efdm_helper_interrupt(&b.helper));
	*out = b.out;
	out->ret2 = rel.ret;
	out->err2 = rel.err;
	out->value2 = rel.value;
}

/*
 * EPOLLEXCLUSIVE waiters, each with an epoll set of its own, seen asleep in epoll_wait(); then
 * the step.  A waiter woken without its event sleeps again, one with it returns.  Counts those
 * that returned and ORs their events; the others must get EINTR from a signal.
 */
static void run_exclusive(struct __test_metadata *_metadata, const struct step *st,
			  const struct side *s, struct outcome *out)
{
	struct efdm_epoller w[EXCL_WAITERS] = { 0 };
	int asleep;

	for (int i = 0; i < EXCL_WAITERS; i++)
		ASSERT_EQ(0, efdm_epoller_start(&w[i], s->fd, st->waiter_events[i]));
	asleep = efdm_epollers_sleep(w, EXCL_WAITERS);
	if (asleep == EXCL_WAITERS)
		apply_op(st, s, s->fd, out);
	EXPECT_EQ(EXCL_WAITERS, asleep) TH_LOG("waiter %d did not sleep in epoll_wait", asleep);
	out->ret2 = efdm_epollers_returned(w, EXCL_WAITERS);
	for (int i = 0; i < EXCL_WAITERS; i++)
		out->value2 |= w[i].events;
	EXPECT_TRUE(efdm_epollers_finish(w, EXCL_WAITERS));
}

/* The step on one side; @want tells whether a blocked helper must be interrupted. */
static void run(struct __test_metadata *_metadata, const struct step *st, const struct side *s,
		const struct outcome *want, struct outcome *out)
{
	memset(out, 0, sizeof(*out));
	switch (st->how) {
	case HOW_DIRECT:
		apply_op(st, s, s->fd, out);
		break;
	case HOW_DUP:
		apply_op(st, s, s->dup, out);
		break;
	case HOW_CHILD:
		run_child(_metadata, st, s, out);
		break;
	case HOW_EXCLUSIVE:
		run_exclusive(_metadata, st, s, out);
		break;
	case HOW_BLOCKING:
		run_blocking(_metadata, st, s, want->err == EINTR, out);
		break;
	case HOW_COUNT:
		break;
	}
}

static bool same(const struct outcome *a, const struct outcome *b)
{
	return a->ret == b->ret && a->err == b->err && a->value == b->value &&
	       !strcmp(a->text, b->text) && a->ret2 == b->ret2 && a->err2 == b->err2 &&
	       a->value2 == b->value2;
}

static void describe(char *buf, size_t size, const struct step *st, const struct outcome *o)
{
	char args[128] = "", extra[96] = "";
	int len = 0;

	switch (st->op) {
	case OP_WRITE:
	case OP_WRITE_BADLEN:
		snprintf(args, sizeof(args), "%#" PRIx64 ", len %zu", st->value[0], st->len);
		break;
	case OP_READ:
	case OP_READ_SHORT:
	case OP_READ_LONG:
		snprintf(args, sizeof(args), "len %zu", st->len);
		break;
	case OP_WRITEV:
		len = snprintf(args, sizeof(args), "%#" PRIx64 " %#" PRIx64 ", ", st->value[0],
			       st->value[1]);
		/* fall through */
	case OP_READV:
		len += snprintf(args + len, sizeof(args) - len, "%s flags %d, lengths",
				st->flags < 0 ? "plain" : "v2", st->flags);
		for (int i = 0; i < st->layout->n; i++)
			len += snprintf(args + len, sizeof(args) - len, " %zu", st->layout->len[i]);
		break;
	case OP_NONBLOCK:
		snprintf(args, sizeof(args), "%s", st->on ? "on" : "off");
		break;
	case OP_LSEEK:
		snprintf(args, sizeof(args), "%lld, %d", (long long)st->off, st->whence);
		break;
	default:
		break;
	}
	if (st->how == HOW_BLOCKING)
		snprintf(extra, sizeof(extra), "; releasing %s -> ret %ld errno %d value %#" PRIx64,
			 is_read(st->op) ? "write" : "read", o->ret2, o->err2, o->value2);
	else if (st->how == HOW_EXCLUSIVE)
		snprintf(extra, sizeof(extra), "; %ld of %d %s waiters returned, events %#" PRIx64,
			 o->ret2, EXCL_WAITERS, st->waiter_events[0] & EPOLLIN ? "EPOLLIN" :
			 "EPOLLOUT", o->value2);
	snprintf(buf, size, "%s %s(%s) -> ret %ld errno %d value %#" PRIx64 "%s%s%s",
		 how_names[st->how], op_names[st->op], args, o->ret, o->err, o->value, extra,
		 o->text[0] ? " fdinfo:\n" : "", o->text);
}

/* ---- the test ------------------------------------------------------------------------------- */

FIXTURE(diff) {
	struct side native, dev;
	struct model model;
};

FIXTURE_VARIANT(diff) {
	int flags;
	unsigned int count;
};

FIXTURE_VARIANT_ADD(diff, plain) { .flags = EFD_NONBLOCK, .count = 0 };
FIXTURE_VARIANT_ADD(diff, semaphore) { .flags = EFD_SEMAPHORE | EFD_NONBLOCK, .count = 0 };
FIXTURE_VARIANT_ADD(diff, plain_initial) { .flags = EFD_NONBLOCK, .count = 0xfffffff0u };
FIXTURE_VARIANT_ADD(diff, semaphore_initial) {
	.flags = EFD_SEMAPHORE | EFD_NONBLOCK, .count = 5,
};

/* The descriptor's dups and its epoll registrations: level-triggered, and the three edge ones. */
static void attach(struct __test_metadata *_metadata, struct side *s)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
	int fds[3];

	s->dup = dup(s->fd);
	s->dup2 = dup(s->fd);
	ASSERT_LE(0, s->dup);
	ASSERT_LE(0, s->dup2);
	ASSERT_EQ(0, epoll_ctl(s->ep, EPOLL_CTL_ADD, s->fd, &ev));
	fds[0] = s->fd;
	fds[1] = s->dup;
	fds[2] = s->dup2;
	for (int i = 0; i < 3; i++) {
		ev = (struct epoll_event){ .events = edge_events[i] | EPOLLET, .data.u32 = i };
		ASSERT_EQ(0, epoll_ctl(s->et, EPOLL_CTL_ADD, fds[i], &ev));
	}
}

/* Opens both counters as the variant says, with their dups and epoll registrations. */
static void open_pair(struct __test_metadata *_metadata, FIXTURE_DATA(diff) *self,
		      const FIXTURE_VARIANT(diff) *variant)
{
	self->native.fd = eventfd(variant->count, variant->flags);
	ASSERT_LE(0, self->native.fd);
	/* efdm_create() is eventfd_max() from <eventfd_max.h>, on efdm_dev_path(). */
	self->dev.fd = efdm_create(variant->count, variant->flags, ~0ULL);
	ASSERT_LE(0, self->dev.fd) TH_LOG("%s: %s", efdm_dev_path(), strerror(errno));
	attach(_metadata, &self->native);
	attach(_metadata, &self->dev);
	self->model = (struct model){
		.count = variant->count,
		.semaphore = variant->flags & EFD_SEMAPHORE,
		.nonblock = true,
	};
	/* A registration of a ready event starts with an edge. */
	for (int i = 0; i < 3; i++)
		self->model.edge[i] = model_mask(&self->model) & edge_events[i];
}

static void close_side(struct side *s)
{
	close(s->fd);
	close(s->dup);
	close(s->dup2);
	s->fd = s->dup = s->dup2 = -1;
}

FIXTURE_SETUP(diff)
{
	self->native.fd = self->dev.fd = -1;
	self->native.dup = self->dev.dup = self->native.dup2 = self->dev.dup2 = -1;
	self->native.ep = epoll_create1(EPOLL_CLOEXEC);
	self->dev.ep = epoll_create1(EPOLL_CLOEXEC);
	self->native.et = epoll_create1(EPOLL_CLOEXEC);
	self->dev.et = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, self->native.ep);
	ASSERT_LE(0, self->dev.ep);
	ASSERT_LE(0, self->native.et);
	ASSERT_LE(0, self->dev.et);
	ASSERT_EQ(0, efdm_install_interrupt(SIGUSR1));
	if (efdm_device_absent())
		SKIP(return, "%s missing (module not loaded?)", efdm_dev_path());
	open_pair(_metadata, self, variant);
}

FIXTURE_TEARDOWN(diff)
{
	close_side(&self->native);
	close_side(&self->dev);
	close(self->native.ep);
	close(self->dev.ep);
	close(self->native.et);
	close(self->dev.et);
}

/* Minutes, not the default 30 s: the guest is an emulated machine running a debug kernel. */
TEST_F_TIMEOUT(diff, lockstep, 600)
{
	/* Each variant gets its own sequence from the one seed. */
	uint64_t mode = ((uint64_t)variant->flags << 32) | variant->count;
	uint64_t rng = splitmix64(seed ^ splitmix64(mode));
	unsigned long per_op[OP_COUNT] = { 0 }, eagain = 0, einval = 0;
	struct outcome want, got_native, got_dev;
	struct budget budget = { 0 };
	char a[640], b[640];
	int len = 0;

	TH_LOG("seed %" PRIu64 ", %lu steps, %s vs %s", seed, steps, "eventfd(2)",
	       efdm_native() ? "eventfd(2) (EVENTFD_MAX_NATIVE=1)" : efdm_dev_path());
	for (unsigned long i = 0; i < steps; i++) {
		struct step st = pick_step(&rng, &self->model);

		plan(&st, &self->model, &budget);
		per_op[st.op]++;
		if (st.op == OP_REOPEN) {
			close_side(&self->native);
			close_side(&self->dev);
			open_pair(_metadata, self, variant);
			continue;
		}
		predict(&st, &self->model, &want);
		run(_metadata, &st, &self->native, &want, &got_native);
		run(_metadata, &st, &self->dev, &want, &got_dev);
		ASSERT_TRUE(same(&want, &got_native)) {
			describe(a, sizeof(a), &st, &want);
			describe(b, sizeof(b), &st, &got_native);
			TH_LOG("step %lu: the model of eventfd(2) is wrong (a test bug)\n"
			       "#   model:  %s\n#   native: %s", i, a, b);
		}
		ASSERT_TRUE(same(&got_native, &got_dev)) {
			describe(a, sizeof(a), &st, &got_native);
			describe(b, sizeof(b), &st, &got_dev);
			TH_LOG("step %lu (rerun: --seed=%" PRIu64 "): the device differs\n"
			       "#   native: %s\n#   device: %s", i, seed, a, b);
		}
		eagain += got_dev.err == EAGAIN;
		einval += got_dev.err == EINVAL;
	}
	for (int op = 0; op < OP_COUNT; op++)
		len += snprintf(a + len, sizeof(a) - len, " %s %lu", op_names[op], per_op[op]);
	for (int how = 0; how < HOW_COUNT; how++)
		len += snprintf(a + len, sizeof(a) - len, "%s %s %lu", how ? "" : ";",
				how_names[how], budget.ran[how]);
	TH_LOG("done:%s; %lu EAGAIN, %lu EINVAL, %lu blocking steps made polls", a, eagain, einval,
	       budget.polls);
	if (steps < COVERAGE_STEPS)
		return;
	for (int op = 0; op < OP_COUNT; op++) {
		EXPECT_NE(0UL, per_op[op]) TH_LOG("%s never ran", op_names[op]);
	}
	for (int how = 0; how < HOW_COUNT; how++) {
		EXPECT_NE(0UL, budget.ran[how]) TH_LOG("no step ran %s", how_names[how]);
	}
}

/* Takes --seed=N / --steps=N (also "--seed N") out of argv; the harness gets the rest. */
static int take_options(int argc, char **argv)
{
	const char *env;
	int out = 1;

	env = getenv("EVENTFD_MAX_SEED");
	if (env) {
		seed = strtoull(env, NULL, 0);
		seed_given = true;
	}
	env = getenv("EVENTFD_MAX_STEPS");
	if (env)
		steps = strtoul(env, NULL, 0);
	for (int i = 1; i < argc; i++) {
		const char *val = NULL;
		bool is_seed = !strncmp(argv[i], "--seed", 6);
		bool is_steps = !strncmp(argv[i], "--steps", 7);

		if (!is_seed && !is_steps) {
			argv[out++] = argv[i];
			continue;
		}
		val = strchr(argv[i], '=');
		if (val)
			val++;
		else if (i + 1 < argc)
			val = argv[++i];
		if (!val)
			continue;
		if (is_seed) {
			seed = strtoull(val, NULL, 0);
			seed_given = true;
		} else {
			steps = strtoul(val, NULL, 0);
		}
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	struct timespec now;

	argc = take_options(argc, argv);
	if (!seed_given) {
		clock_gettime(CLOCK_REALTIME, &now);
		seed = splitmix64((uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec);
	}
	ksft_print_msg("differential_test: seed %" PRIu64 " steps %lu (rerun: --seed=%" PRIu64
		       ")\n", seed, steps, seed);
	return test_harness_run(argc, argv);
}
