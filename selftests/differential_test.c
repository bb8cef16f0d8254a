// SPDX-License-Identifier: GPL-2.0
/*
 * Differential test: one deterministic pseudo-random sequence of operations is applied in lockstep
 * to a native eventfd(2) and to a /dev/eventfd_max counter with maximum ULLONG_MAX.  Return values,
 * errno, values read, poll/select/epoll readiness, fcntl flags, lseek results and the fdinfo count
 * and semaphore lines must be identical.  A small model of upstream eventfd is checked against the
 * native side too (so a wrong expectation in this program shows up on the host), and tells which
 * operations would block once O_NONBLOCK has been toggled off; those are replaced by a poll.
 *
 * Usage: differential_test [harness options] [--seed=N] [--steps=N]
 *   (or EVENTFD_MAX_SEED / EVENTFD_MAX_STEPS).  EVENTFD_MAX_NATIVE=1 compares eventfd(2) with
 *   itself, to validate this program where there is no device.  readv/writev are left out on
 *   purpose.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include "efdm_util.h"
#include "kselftest_harness.h"

#define DEFAULT_SEED	0x5eed0fe7e4f0ULL
#define DEFAULT_STEPS	10000UL

static uint64_t seed = DEFAULT_SEED;
static unsigned long steps = DEFAULT_STEPS;

enum op {
	OP_READ,		/* 8-byte buffer */
	OP_READ_SHORT,		/* 0..7 bytes: EINVAL */
	OP_READ_LONG,		/* 9..32 bytes: reads 8 */
	OP_WRITE,
	OP_WRITE_BADLEN,	/* 0..16 bytes but 8: EINVAL */
	OP_POLL,
	OP_SELECT,
	OP_EPOLL,		/* level-triggered EPOLLIN | EPOLLOUT */
	OP_FDINFO,
	OP_NONBLOCK,		/* fcntl(F_SETFL) O_NONBLOCK on or off */
	OP_LSEEK,
	OP_REOPEN,		/* fresh counters: a semaphore count only ever drains by 1 */
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"read", "read_short", "read_long", "write", "write_badlen", "poll", "select", "epoll",
	"fdinfo", "nonblock", "lseek", "reopen",
};

/* How often each operation is picked, out of the sum. */
static const unsigned int op_weight[OP_COUNT] = { 20, 4, 4, 30, 4, 8, 3, 3, 8, 4, 2, 1 };

/* One step, the same for both sides. */
struct step {
	enum op op;
	uint64_t value;	/* OP_WRITE */
	size_t len;	/* read and write lengths */
	bool on;	/* OP_NONBLOCK */
	off_t off;	/* OP_LSEEK */
	int whence;
};

/* What one side did. */
struct outcome {
	long ret;
	int err;
	uint64_t value;	/* value read, poll/epoll mask, select bits, fcntl flags */
	char text[2 * EFD_FDINFO_LEN];	/* OP_FDINFO: the count and semaphore lines */
};

struct side {
	int fd;
	int ep;
};

/* Upstream eventfd, for the native side (fs/eventfd.c). */
struct model {
	uint64_t count;
	bool semaphore;
	bool nonblock;
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

static struct step pick_step(uint64_t *rng, const struct model *m)
{
	unsigned int total = 0, r;
	struct step st = { 0 };

	for (int i = 0; i < OP_COUNT; i++)
		total += op_weight[i];
	r = xorshift64(rng) % total;
	for (st.op = 0; r >= op_weight[st.op]; st.op++)
		r -= op_weight[st.op];

	switch (st.op) {
	case OP_READ:
	case OP_WRITE:
		st.len = 8;
		st.value = pick_value(rng, m);
		break;
	case OP_READ_SHORT:
		st.len = xorshift64(rng) % 8;
		break;
	case OP_READ_LONG:
		st.len = 9 + xorshift64(rng) % 24;
		break;
	case OP_WRITE_BADLEN:
		st.len = xorshift64(rng) % 16;
		st.len += st.len >= 8;
		st.value = pick_value(rng, m);
		break;
	case OP_NONBLOCK:
		/* Mostly non-blocking: a blocking fd turns many steps into polls. */
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

/* Would the step sleep on a blocking fd?  Then it is turned into a poll. */
static bool would_block(const struct step *st, const struct model *m)
{
	if (m->nonblock)
		return false;
	if (st->op == OP_READ || st->op == OP_READ_LONG)
		return m->count == 0;
	if (st->op == OP_WRITE)
		return st->value != ~0ULL && ~0ULL - m->count <= st->value;
	return false;
}

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

static void apply(const struct step *st, const struct side *s, struct outcome *out)
{
	uint64_t buf[4] = { 0 };
	struct pollfd pfd = { .fd = s->fd, .events = ALL_POLL_EVENTS };
	struct epoll_event ev = { 0 };
	struct timeval tv = { 0, 0 };
	fd_set r, w;
	int fl;

	memset(out, 0, sizeof(*out));
	errno = 0;
	switch (st->op) {
	case OP_READ:
	case OP_READ_SHORT:
	case OP_READ_LONG:
		out->ret = read(s->fd, buf, st->len);
		out->value = buf[0];
		break;
	case OP_WRITE:
	case OP_WRITE_BADLEN:
		buf[0] = st->value;
		buf[1] = st->value;
		out->ret = write(s->fd, buf, st->len);
		break;
	case OP_POLL:
		out->ret = poll(&pfd, 1, 0);
		out->value = (uint16_t)pfd.revents;
		break;
	case OP_SELECT:
		FD_ZERO(&r);
		FD_ZERO(&w);
		FD_SET(s->fd, &r);
		FD_SET(s->fd, &w);
		out->ret = select(s->fd + 1, &r, &w, NULL, &tv);
		out->value = (FD_ISSET(s->fd, &r) ? 1 : 0) | (FD_ISSET(s->fd, &w) ? 2 : 0);
		break;
	case OP_EPOLL:
		out->ret = epoll_wait(s->ep, &ev, 1, 0);
		out->value = out->ret == 1 ? ev.events : 0;
		break;
	case OP_FDINFO:
		fdinfo_text(s->fd, out->text, sizeof(out->text));
		break;
	case OP_NONBLOCK:
		out->ret = set_nonblock(s->fd, st->on);
		fl = fcntl(s->fd, F_GETFL);
		out->value = fl < 0 ? ~0ULL : (uint64_t)(fl & (O_NONBLOCK | O_ACCMODE));
		break;
	case OP_LSEEK:
		out->ret = lseek(s->fd, st->off, st->whence);
		break;
	case OP_REOPEN:
	case OP_COUNT:
		break;
	}
	out->err = out->ret < 0 ? errno : 0;
}

/* What upstream eventfd must do, given the model; updates the model. */
static void predict(const struct step *st, struct model *m, struct outcome *out)
{
	uint64_t v;

	memset(out, 0, sizeof(*out));
	switch (st->op) {
	case OP_READ:
	case OP_READ_LONG:
		if (m->count == 0) {
			out->ret = -1;
			out->err = EAGAIN;
			break;
		}
		v = m->semaphore ? 1 : m->count;
		m->count -= v;
		out->ret = 8;
		out->value = v;
		break;
	case OP_READ_SHORT:
	case OP_WRITE_BADLEN:
		out->ret = -1;
		out->err = EINVAL;
		break;
	case OP_WRITE:
		if (st->value == ~0ULL) {
			out->ret = -1;
			out->err = EINVAL;
		} else if (~0ULL - m->count > st->value) {
			m->count += st->value;
			out->ret = 8;
		} else {
			out->ret = -1;
			out->err = EAGAIN;
		}
		break;
	case OP_POLL:
	case OP_EPOLL:
		v = (m->count > 0 ? POLLIN : 0) | (~0ULL - 1 > m->count ? POLLOUT : 0) |
		    (m->count == ~0ULL ? POLLERR : 0);
		out->ret = v != 0;
		out->value = v;
		break;
	case OP_SELECT:
		out->value = (m->count > 0) | ((~0ULL - 1 > m->count) << 1);
		out->ret = (int)(out->value & 1) + (int)(out->value >> 1);
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
		out->ret = st->whence <= SEEK_HOLE ? 0 : -1;
		out->err = st->whence <= SEEK_HOLE ? 0 : EINVAL;
		break;
	case OP_REOPEN:
	case OP_COUNT:
		break;
	}
}

static bool same(const struct outcome *a, const struct outcome *b)
{
	return a->ret == b->ret && a->err == b->err && a->value == b->value &&
	       !strcmp(a->text, b->text);
}

static void describe(char *buf, size_t size, const struct step *st, const struct outcome *o)
{
	char args[96] = "";

	switch (st->op) {
	case OP_WRITE:
	case OP_WRITE_BADLEN:
		snprintf(args, sizeof(args), "%#" PRIx64 ", len %zu", st->value, st->len);
		break;
	case OP_READ:
	case OP_READ_SHORT:
	case OP_READ_LONG:
		snprintf(args, sizeof(args), "len %zu", st->len);
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
	snprintf(buf, size, "%s(%s) -> ret %ld errno %d value %#" PRIx64 "%s%s", op_names[st->op],
		 args, o->ret, o->err, o->value, o->text[0] ? " fdinfo:\n" : "", o->text);
}

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

/* Opens both counters as the variant says, each with a level-triggered epoll on it. */
static void open_pair(struct __test_metadata *_metadata, FIXTURE_DATA(diff) *self,
		      const FIXTURE_VARIANT(diff) *variant)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };

	self->native.fd = eventfd(variant->count, variant->flags);
	ASSERT_LE(0, self->native.fd);
	/* efdm_create() is eventfd_max() from the uapi header, on efdm_dev_path(). */
	self->dev.fd = efdm_create(variant->count, variant->flags, ~0ULL);
	ASSERT_LE(0, self->dev.fd) TH_LOG("%s: %s", efdm_dev_path(), strerror(errno));
	ASSERT_EQ(0, epoll_ctl(self->native.ep, EPOLL_CTL_ADD, self->native.fd, &ev));
	ASSERT_EQ(0, epoll_ctl(self->dev.ep, EPOLL_CTL_ADD, self->dev.fd, &ev));
	self->model = (struct model){
		.count = variant->count,
		.semaphore = variant->flags & EFD_SEMAPHORE,
		.nonblock = true,
	};
}

static void close_pair(FIXTURE_DATA(diff) *self)
{
	close(self->native.fd);
	close(self->dev.fd);
	self->native.fd = self->dev.fd = -1;
}

FIXTURE_SETUP(diff)
{
	int probe;

	self->native.fd = self->dev.fd = -1;
	self->native.ep = epoll_create1(EPOLL_CLOEXEC);
	self->dev.ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, self->native.ep);
	ASSERT_LE(0, self->dev.ep);
	probe = efdm_open(0);
	if (probe < 0 && errno == ENOENT)
		SKIP(return, "%s missing (module not loaded?)", efdm_dev_path());
	close(probe);
	open_pair(_metadata, self, variant);
}

FIXTURE_TEARDOWN(diff)
{
	close_pair(self);
	close(self->native.ep);
	close(self->dev.ep);
}

/* Minutes, not the default 30 s: the guest is an emulated machine running a debug kernel. */
TEST_F_TIMEOUT(diff, lockstep, 600)
{
	/* Each variant gets its own sequence from the one seed. */
	uint64_t mode = ((uint64_t)variant->flags << 32) | variant->count;
	uint64_t rng = splitmix64(seed ^ splitmix64(mode));
	unsigned long replaced = 0, per_op[OP_COUNT] = { 0 }, eagain = 0, einval = 0;
	struct outcome want, got_native, got_dev;
	char a[512], b[512];

	TH_LOG("seed %" PRIu64 ", %lu steps, %s vs %s", seed, steps, "eventfd(2)",
	       efdm_native() ? "eventfd(2) (EVENTFD_MAX_NATIVE=1)" : efdm_dev_path());
	for (unsigned long i = 0; i < steps; i++) {
		struct step st = pick_step(&rng, &self->model);

		if (would_block(&st, &self->model)) {
			st.op = OP_POLL;
			replaced++;
		}
		per_op[st.op]++;
		if (st.op == OP_REOPEN) {
			close_pair(self);
			open_pair(_metadata, self, variant);
			continue;
		}
		predict(&st, &self->model, &want);
		apply(&st, &self->native, &got_native);
		apply(&st, &self->dev, &got_dev);
		ASSERT_TRUE(same(&want, &got_native)) {
			describe(a, sizeof(a), &st, &want);
			describe(b, sizeof(b), &st, &got_native);
			TH_LOG("step %lu: the model of eventfd(2) is wrong (a test bug)\n"
			       "#   model:  %s\n#   native: %s", i, a, b);
		}
		ASSERT_TRUE(same(&got_native, &got_dev)) {
			describe(a, sizeof(a), &st, &got_native);
			describe(b, sizeof(b), &st, &got_dev);
			TH_LOG("step %lu (seed %" PRIu64 "): the device differs\n#   native: %s\n"
			       "#   device: %s", i, seed, a, b);
		}
		eagain += got_dev.err == EAGAIN;
		einval += got_dev.err == EINVAL;
	}
	for (int op = 0, len = 0; op < OP_COUNT; op++)
		len += snprintf(a + len, sizeof(a) - len, " %s %lu", op_names[op], per_op[op]);
	TH_LOG("done:%s; %lu EAGAIN, %lu EINVAL, %lu blocking steps made polls", a, eagain, einval,
	       replaced);
}

/* Takes --seed=N / --steps=N (also "--seed N") out of argv; the harness gets the rest. */
static int take_options(int argc, char **argv)
{
	const char *env;
	int out = 1;

	env = getenv("EVENTFD_MAX_SEED");
	if (env)
		seed = strtoull(env, NULL, 0);
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
		if (is_seed)
			seed = strtoull(val, NULL, 0);
		else
			steps = strtoul(val, NULL, 0);
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	argc = take_options(argc, argv);
	ksft_print_msg("differential_test: seed %" PRIu64 " steps %lu (rerun: --seed=%" PRIu64
		       ")\n", seed, steps, seed);
	return test_harness_run(argc, argv);
}
