// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile input for /dev/eventfd_max: ioctl numbers with wrong size/direction/magic/nr, bad user
 * pointers (NULL, kernel addresses, unmapped, PROT_NONE, read-only and page-straddling buffers),
 * odd read/write lengths, readv/writev split across iovecs, RWF_* flags, operations a counter
 * does not support (splice, sendfile, mmap, ...), an unprivileged user (uid/gid 65534), 2 000
 * descriptors at once, and the memory-cgroup charge of the counters.  Every refused call must
 * change nothing: count, maximum, semaphore mode and "not yet used" (CONFIGURE still allowed).
 *
 * The 32-bit (-m32) build runs the same tests through the compat ioctl path.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "rel_util.h"
#include "kselftest_harness.h"

#define NOBODY		65534
#define MANY_FDS	2000
#define MEMCG_FDS	2000
#define CGROUP_ROOT	"/sys/fs/cgroup"
#define MODULE_FILE	"/lib/modules/" MODULE_NAME ".ko"

/* What must not change when a call is refused. */
struct state {
	uint64_t count, maximum;
	int semaphore;
};

static struct state state_of(struct __test_metadata *_metadata, int fd)
{
	struct raw_fdinfo fi;
	struct state s;

	if (raw_fdinfo(fd, &fi) || fi.lines != 4) {
		TH_LOG("fd %d: no eventfd fdinfo", fd);
		_metadata->exit_code = KSFT_FAIL;
		memset(&s, 0, sizeof(s));
		return s;
	}
	s = (struct state){ fi.count, fi.maximum, fi.semaphore };
	return s;
}

#define EXPECT_STATE(fd, s) do {						\
	struct state now_ = state_of(_metadata, fd);				\
	EXPECT_EQ((s).count, now_.count);					\
	EXPECT_EQ((s).maximum, now_.maximum);					\
	EXPECT_EQ((s).semaphore, now_.semaphore);				\
} while (0)

/* A counter (check with ASSERT_LE(0, fd)): fresh when @maximum is 0, else configured. */
static int counter(uint64_t count, uint64_t maximum, int flags)
{
	if (maximum)
		return efdm_create(count, flags | EFD_CLOEXEC, maximum);
	return efdm_open(O_CLOEXEC | ((flags & EFD_NONBLOCK) ? O_NONBLOCK : 0));
}

/* The counter was never used, so CONFIGURE is still allowed (this uses it). */
#define EXPECT_STILL_CONFIGURABLE(fd) EXPECT_EQ(0, efdm_configure(fd, 1, 3, 0))

/* ---- ioctl numbers ----------------------------------------------------------------------- */

/* Commands the VFS answers itself for any file (fs/ioctl.c, and the compat ones). */
static bool vfs_handles(unsigned int cmd)
{
	unsigned int type = _IOC_TYPE(cmd);

	return type == 0 || type == 'T' || type == 'X' || type == 'f' || type == 0x94 ||
	       type == 0x15;
}

static bool real_cmd(unsigned int cmd)
{
	return cmd == EFD_IOC_SET_MAXIMUM || cmd == EFD_IOC_GET_MAXIMUM || cmd == EFD_IOC_CONFIGURE;
}

/*
 * Every near miss must fail ENOTTY and neither read nor write its argument: the argument holds a
 * valid SET/CONFIGURE payload (a misdecoded command would change the counter) followed by a
 * pattern (a misdecoded GET would overwrite it).
 */
static void wrong_cmds(struct __test_metadata *_metadata, int fd)
{
	static const unsigned int sizes[] = { 0, 1, 2, 4, 7, 8, 9, 16, 23, 24, 25, 32, 0x3fff };
	static const unsigned int dirs[] = { _IOC_NONE, _IOC_WRITE, _IOC_READ,
					     _IOC_READ | _IOC_WRITE };
	union {
		struct eventfd_max_config cfg;
		unsigned char bytes[4096];
	} arg, orig;
	unsigned long tried = 0, wrong = 0;
	uint64_t rng = 0x40571e;
	unsigned int cmd;

	memset(&arg, 0x5a, sizeof(arg));
	arg.cfg = (struct eventfd_max_config){ .count = 1, .maximum = 5 };
	orig = arg;

#define TRY(c) do {								\
	cmd = (c);								\
	if (!real_cmd(cmd) && !vfs_handles(cmd)) {				\
		tried++;							\
		errno = 0;							\
		if (ioctl(fd, cmd, &arg) != -1 || errno != ENOTTY) {		\
			if (wrong++ < 10)					\
				TH_LOG("cmd %#x: errno %d", cmd, errno);	\
		}								\
	}									\
} while (0)

	/* Magic 'J': every nr, direction and a spread of sizes (the real three excluded). */
	for (unsigned int nr = 0; nr < 256; nr++)
		for (size_t d = 0; d < ARRAY_SIZE(dirs); d++)
			for (size_t s = 0; s < ARRAY_SIZE(sizes); s++)
				TRY(_IOC(dirs[d], 'J', nr, sizes[s]));
	/* The real numbers, sizes and directions under every other magic. */
	for (unsigned int type = 0; type < 256; type++) {
		if (type == 'J')
			continue;
		TRY(_IOC(_IOC_WRITE, type, 0, 8));
		TRY(_IOC(_IOC_READ, type, 1, 8));
		TRY(_IOC(_IOC_WRITE, type, 2, sizeof(struct eventfd_max_config)));
	}
	for (int i = 0; i < 2000; i++)
		TRY((unsigned int)xorshift64(&rng));
#undef TRY
	TH_LOG("%lu wrong commands tried, %lu did not fail ENOTTY", tried, wrong);
	EXPECT_EQ(0UL, wrong);
	EXPECT_EQ(0, memcmp(&arg, &orig, sizeof(arg)));
}

TEST(ioctl_wrong_bits_enotty_fresh)
{
	int fd = counter(0, 0, 0);

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", efdm_dev_path(), strerror(errno));
	wrong_cmds(_metadata, fd);
	EXPECT_STATE(fd, ((struct state){ 0, U64_MAX_VAL, 0 }));
	EXPECT_STILL_CONFIGURABLE(fd);
	close(fd);
}

TEST(ioctl_wrong_bits_enotty_configured)
{
	int fd = counter(3, 10, EFD_SEMAPHORE);

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", efdm_dev_path(), strerror(errno));
	wrong_cmds(_metadata, fd);
	EXPECT_STATE(fd, ((struct state){ 3, 10, 1 }));
	close(fd);
}

/* SET, GET and CONFIGURE through every bad pointer: EFAULT, nothing changed, not even "used". */
static void bad_pointer_ioctls(struct __test_metadata *_metadata, int fd)
{
	static const unsigned long cmds[] = {
		EFD_IOC_SET_MAXIMUM, EFD_IOC_GET_MAXIMUM, EFD_IOC_CONFIGURE,
	};
	struct bad_ptrs bad;

	ASSERT_EQ(0, bad_ptrs_init(&bad));
	for (size_t c = 0; c < ARRAY_SIZE(cmds); c++) {
		for (int b = 0; b < BAD_COUNT; b++) {
			if (!bad_ptr_applies(b, cmds[c] != EFD_IOC_GET_MAXIMUM))
				continue;
			errno = 0;
			EXPECT_EQ(-1, ioctl(fd, cmds[c], bad.ptr[b]))
				TH_LOG("cmd %#lx, %s", cmds[c], bad.name[b]);
			EXPECT_EQ(EFAULT, errno) TH_LOG("cmd %#lx, %s", cmds[c], bad.name[b]);
		}
	}
}

TEST(ioctl_bad_pointers_efault_fresh)
{
	int fd = counter(0, 0, 0);

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", efdm_dev_path(), strerror(errno));
	bad_pointer_ioctls(_metadata, fd);
	EXPECT_STATE(fd, ((struct state){ 0, U64_MAX_VAL, 0 }));
	EXPECT_STILL_CONFIGURABLE(fd);
	close(fd);
}

TEST(ioctl_bad_pointers_efault_configured)
{
	int fd = counter(3, 10, 0);

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", efdm_dev_path(), strerror(errno));
	bad_pointer_ioctls(_metadata, fd);
	EXPECT_STATE(fd, ((struct state){ 3, 10, 0 }));
	close(fd);
}

/* ---- read/write lengths and buffers ------------------------------------------------------ */

/* read accepts any buffer of at least 8 bytes and fills exactly 8; shorter ones are EINVAL. */
TEST(read_lengths)
{
	static const size_t short_lens[] = { 0, 1, 7 };
	static const size_t long_lens[] = { 8, 9, 16, 4096, 1 << 20 };
	unsigned char *buf = malloc(1 << 20);
	int fd = counter(5, 10, EFD_NONBLOCK);
	uint64_t v;

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", efdm_dev_path(), strerror(errno));
	ASSERT_TRUE(buf != NULL);
	for (size_t i = 0; i < ARRAY_SIZE(short_lens); i++) {
		errno = 0;
		EXPECT_EQ(-1, read(fd, buf, short_lens[i])) TH_LOG("len %zu", short_lens[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("len %zu", short_lens[i]);
	}
	EXPECT_STATE(fd, ((struct state){ 5, 10, 0 }));
	for (size_t i = 0; i < ARRAY_SIZE(long_lens); i++) {
		size_t len = long_lens[i], j;

		memset(buf, 0xa5, len);
		EXPECT_EQ(8, read(fd, buf, len)) TH_LOG("len %zu", len);
		memcpy(&v, buf, 8);
		EXPECT_EQ(5ULL, v) TH_LOG("len %zu", len);
		for (j = 8; j < len && buf[j] == 0xa5; j++)
			;
		EXPECT_EQ(len, j) TH_LOG("len %zu: byte %zu written", len, j);
		EXPECT_EQ(8, efd_write(fd, 5));
	}
	/* The length is checked before the count: EINVAL, not EAGAIN, on an empty counter. */
	ASSERT_EQ(8, efd_read(fd, &v));
	EXPECT_ERRNO(EINVAL, read(fd, buf, 7));
	free(buf);
	close(fd);
}

/* write takes exactly 8 bytes: anything else is EINVAL, even with a valid value first. */
TEST(write_lengths)
{
	static const size_t lens[] = { 0, 1, 7, 9, 16, 4096 };
	uint64_t buf[512] = { 1, 1 };
	int fd = counter(5, 10, EFD_NONBLOCK);

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", efdm_dev_path(), strerror(errno));
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		errno = 0;
		EXPECT_EQ(-1, write(fd, buf, lens[i])) TH_LOG("len %zu", lens[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("len %zu", lens[i]);
	}
	EXPECT_STATE(fd, ((struct state){ 5, 10, 0 }));
	EXPECT_EQ(8, write(fd, buf, 8));
	EXPECT_STATE(fd, ((struct state){ 6, 10, 0 }));
	close(fd);
}

/* A read into, or a write from, memory the kernel cannot access: EFAULT and nothing lost. */
static void bad_buffers(struct __test_metadata *_metadata, int flags)
{
	struct state s = { 5, 10, !!(flags & EFD_SEMAPHORE) };
	int fd = counter(5, 10, flags | EFD_NONBLOCK);
	struct bad_ptrs bad;

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", efdm_dev_path(), strerror(errno));
	ASSERT_EQ(0, bad_ptrs_init(&bad));
	for (int b = 0; b < BAD_COUNT; b++) {
		errno = 0;
		EXPECT_EQ(-1, read(fd, bad.ptr[b], 8)) TH_LOG("read into %s", bad.name[b]);
		EXPECT_EQ(EFAULT, errno) TH_LOG("read into %s", bad.name[b]);
		EXPECT_STATE(fd, s);
		if (!bad_ptr_applies(b, true))
			continue;
		errno = 0;
		EXPECT_EQ(-1, write(fd, bad.ptr[b], 8)) TH_LOG("write from %s", bad.name[b]);
		EXPECT_EQ(EFAULT, errno) TH_LOG("write from %s", bad.name[b]);
		EXPECT_STATE(fd, s);
	}
	close(fd);
}

TEST(read_write_bad_buffers)
{
	bad_buffers(_metadata, 0);
}

TEST(read_write_bad_buffers_semaphore)
{
	bad_buffers(_metadata, EFD_SEMAPHORE);
}

/* On an empty non-blocking counter a bad read buffer gives EAGAIN (the count is looked at first),
 * except where the VFS rejects the address before the driver (kernel addresses, 64-bit). */
TEST(read_bad_buffer_empty_counter)
{
	int fd = counter(0, 10, EFD_NONBLOCK);
	struct bad_ptrs bad;

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", efdm_dev_path(), strerror(errno));
	ASSERT_EQ(0, bad_ptrs_init(&bad));
	for (int b = 0; b < BAD_COUNT; b++) {
		bool vfs = sizeof(void *) == 8 && (b == BAD_KERNEL || b == BAD_NONCANON);

		errno = 0;
		EXPECT_EQ(-1, read(fd, bad.ptr[b], 8));
		EXPECT_EQ(vfs ? EFAULT : EAGAIN, errno) TH_LOG("read into %s", bad.name[b]);
	}
	EXPECT_STATE(fd, ((struct state){ 0, 10, 0 }));
	close(fd);
}

/* ---- readv/writev ------------------------------------------------------------------------ */

static long vec_io(int fd, bool is_write, struct iovec *iov, int n)
{
	long r = is_write ? writev(fd, iov, n) : readv(fd, iov, n);

	return r < 0 ? -errno : r;
}

/*
 * Vectored I/O as on eventfd(2), whose write is a plain ->write and whose read is a ->read_iter:
 * writev() writes each buffer on its own, so a value split across buffers is refused (EINVAL) and
 * changes nothing, while readv() of 8 bytes fills the buffers in turn.  Both files get the same
 * calls, and must give the same results.
 */
TEST(readv_writev_split)
{
	static const size_t splits[][3] = {
		{ 4, 4, 0 }, { 1, 7, 0 }, { 3, 5, 0 }, { 8, 0, 0 }, { 0, 8, 0 }, { 2, 2, 4 },
		{ 0, 0, 8 }, { 5, 0, 3 }, { 8, 8, 0 },
	};
	const uint64_t value = 0x0000000300000005ULL;	/* halves 5 and 3 (little-endian) */
	unsigned char in[16], out[24];
	struct iovec iov[3];
	int fd = counter(0, 0, EFD_NONBLOCK), native = eventfd(0, EFD_NONBLOCK);
	uint64_t v = 0, nv = 0;

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", efdm_dev_path(), strerror(errno));
	ASSERT_LE(0, native);
	memcpy(in, &value, 8);
	memcpy(in + 8, &value, 8);
	for (size_t i = 0; i < ARRAY_SIZE(splits); i++) {
		size_t off = 0;
		long want;

		for (int k = 0; k < 3; k++) {
			iov[k] = (struct iovec){ in + off, splits[i][k] };
			off += splits[i][k];
		}
		want = vec_io(native, true, iov, 3);
		EXPECT_EQ(want, vec_io(fd, true, iov, 3)) TH_LOG("writev %zu+%zu+%zu", splits[i][0],
								 splits[i][1], splits[i][2]);
		/* What each wrote, read back (EAGAIN if nothing). */
		want = efd_read(native, &nv);
		EXPECT_EQ(want, efd_read(fd, &v)) TH_LOG("split %zu", i);
		if (want == 8)
			EXPECT_EQ(nv, v) TH_LOG("split %zu", i);
	}

	/* readv of 8 bytes fills the buffers in turn; below 8 bytes it is EINVAL. */
	for (size_t i = 0; i < ARRAY_SIZE(splits) - 1; i++) {
		size_t off = 0;

		ASSERT_EQ(8, efd_write(fd, value));
		memset(out, 0xa5, sizeof(out));
		for (int k = 0; k < 3; k++) {
			iov[k] = (struct iovec){ out + off, splits[i][k] };
			off += splits[i][k];
		}
		EXPECT_EQ(8, vec_io(fd, false, iov, 3)) TH_LOG("readv %zu+%zu+%zu", splits[i][0],
							       splits[i][1], splits[i][2]);
		EXPECT_EQ(0, memcmp(out, in, 8)) TH_LOG("split %zu", i);
	}
	ASSERT_EQ(8, efd_write(fd, value));
	iov[0] = (struct iovec){ out, 3 };
	iov[1] = (struct iovec){ out + 3, 4 };
	EXPECT_EQ(-EINVAL, vec_io(fd, false, iov, 2));		/* 3 + 4 */
	/* 4 + 4 + 16: reads 8, the third buffer untouched. */
	memset(out, 0xa5, sizeof(out));
	iov[0] = (struct iovec){ out, 4 };
	iov[1] = (struct iovec){ out + 4, 4 };
	iov[2] = (struct iovec){ out + 8, 16 };
	EXPECT_EQ(8, vec_io(fd, false, iov, 3));
	EXPECT_EQ(0, memcmp(out, in, 8));
	EXPECT_EQ(0xa5, out[8]);
	EXPECT_EQ(0xa5, out[23]);

	/* A bad second half: EFAULT, the count unchanged (a read gives the value back). */
	ASSERT_EQ(8, efd_write(fd, 7));
	iov[0] = (struct iovec){ out, 4 };
	iov[1] = (struct iovec){ NULL, 4 };
	EXPECT_EQ(-EFAULT, vec_io(fd, false, iov, 2));
	EXPECT_STATE(fd, ((struct state){ 7, U64_MAX_VAL, 0 }));
	iov[0] = (struct iovec){ NULL, 8 };
	EXPECT_EQ(-EFAULT, vec_io(fd, true, iov, 1));
	EXPECT_STATE(fd, ((struct state){ 7, U64_MAX_VAL, 0 }));
	ASSERT_EQ(8, efd_read(fd, &v));
	close(native);
	close(fd);
}

/* ---- RWF flags, offsets, unsupported operations ------------------------------------------ */

TEST(rwf_flags_and_offsets)
{
	int fd = counter(0, 2, 0);		/* blocking file */
	uint64_t v = 1;
	struct iovec iov = { &v, 8 };
	long r;

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", efdm_dev_path(), strerror(errno));
	r = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EAGAIN, errno);			/* empty: would sleep */
	ASSERT_EQ(8, efd_write(fd, 1));
	v = 1;
	errno = 0;
	EXPECT_EQ(-1, pwritev2(fd, &iov, 1, -1, RWF_NOWAIT));
	EXPECT_EQ(EOPNOTSUPP, errno);			/* a plain ->write, as eventfd's */
	errno = 0;
	EXPECT_EQ(-1, pwritev2(fd, &iov, 1, -1, 0x40000000));	/* no such RWF flag */
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_STATE(fd, ((struct state){ 1, 2, 0 }));
	/*
	 * No position to read or write at, as on an eventfd: ESPIPE; a negative position is EINVAL
	 * first (ksys_pread64() checks it before the file's mode).
	 */
	EXPECT_ERRNO(ESPIPE, pread(fd, &v, 8, 12345));
	EXPECT_ERRNO(ESPIPE, pwrite(fd, &v, 8, 999));
	EXPECT_ERRNO(EINVAL, pread(fd, &v, 8, -1));
	EXPECT_EQ(0, lseek(fd, 100, SEEK_SET));
	EXPECT_STATE(fd, ((struct state){ 1, 2, 0 }));
	close(fd);
}

/* A counter is no file: splice, sendfile, mmap, ftruncate, fallocate and fsync refuse it. */
TEST(unsupported_file_operations)
{
	int fd = counter(4, 10, EFD_NONBLOCK), p[2];

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", efdm_dev_path(), strerror(errno));
	ASSERT_EQ(0, pipe(p));
	EXPECT_ERRNO(EINVAL, splice(fd, NULL, p[1], NULL, 8, SPLICE_F_NONBLOCK));
	ASSERT_EQ(8, write(p[1], "\1\0\0\0\0\0\0\0", 8));
	EXPECT_ERRNO(EINVAL, splice(p[0], NULL, fd, NULL, 8, SPLICE_F_NONBLOCK));
	EXPECT_ERRNO(EINVAL, sendfile(p[1], fd, NULL, 8));
	errno = 0;
	EXPECT_TRUE(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED);
	EXPECT_EQ(ENODEV, errno);
	EXPECT_ERRNO(EINVAL, ftruncate(fd, 0));
	EXPECT_ERRNO(ENODEV, fallocate(fd, 0, 0, 4096));
	EXPECT_ERRNO(EINVAL, fsync(fd));
	EXPECT_STATE(fd, ((struct state){ 4, 10, 0 }));
	close(p[0]);
	close(p[1]);
	close(fd);
}

/* ---- an unprivileged user ---------------------------------------------------------------- */

/* Runs as uid/gid 65534; returns 0 or the number of the step that failed. */
static int unprivileged(int inherited)
{
	struct eventfd_max_config cfg = { .count = 1, .maximum = 4, .flags = EFD_SEMAPHORE };
	struct raw_fdinfo fi;
	uint64_t v = 0, m = 0;
	int fd, n;

	if (getuid() != NOBODY || geteuid() != NOBODY || getgid() != NOBODY || getegid() != NOBODY)
		return 1;
	if (efd_write(inherited, 2) != 8)			/* a root-opened counter */
		return 2;
	fd = open(efdm_dev_path(), O_RDWR | O_NONBLOCK | O_CLOEXEC);	/* mode 0666 */
	if (fd < 0)
		return 3;
	if (ioctl(fd, EFD_IOC_CONFIGURE, &cfg) || efd_write(fd, 2) != 8 ||
	    efd_write(fd, 1) != -EAGAIN)
		return 4;
	if (efd_read(fd, &v) != 8 || v != 1)			/* semaphore */
		return 5;
	m = 100;
	if (ioctl(fd, EFD_IOC_SET_MAXIMUM, &m) || efdm_get_max(fd) != 100 ||
	    poll_mask(fd) != (POLLIN | POLLOUT))
		return 6;
	if (raw_fdinfo(fd, &fi) || fi.count != 2 || fi.maximum != 100 || fi.semaphore != 1)
		return 7;
	/* Root-only doors stay shut. */
	if (open(EFDM_SIGNAL_PATH, O_WRONLY) >= 0 || (errno != EACCES && errno != ENOENT) ||
	    open(EFDM_HARDIRQ_PATH, O_WRONLY) >= 0 || (errno != EACCES && errno != ENOENT))
		return 8;
	if (syscall(SYS_delete_module, MODULE_NAME, O_NONBLOCK) != -1 || errno != EPERM)
		return 9;
	n = open(MODULE_FILE, O_RDONLY | O_CLOEXEC);
	if (n >= 0 && (syscall(SYS_finit_module, n, "", 0) != -1 || errno != EPERM))
		return 10;
	/* RLIMIT_NOFILE (256 here) bounds how many counters it can hold. */
	for (n = 0; n < 300; n++)
		if (open(efdm_dev_path(), O_RDWR | O_CLOEXEC) < 0)
			break;
	if (errno != EMFILE || n >= 256)
		return 11;
	return 0;
}

TEST(unprivileged_user)
{
	struct rlimit lim = { 256, 256 };
	int fd = counter(0, 10, EFD_NONBLOCK), status;
	pid_t pid;

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", efdm_dev_path(), strerror(errno));
	if (geteuid() != 0)
		EFDM_SKIP(return, "needs root to drop privileges");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setrlimit(RLIMIT_NOFILE, &lim) || setgroups(0, NULL) || setgid(NOBODY) ||
		    setuid(NOBODY))
			_exit(100);
		_exit(unprivileged(fd));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("unprivileged step %d failed", WEXITSTATUS(status));
	EXPECT_STATE(fd, ((struct state){ 2, 10, 0 }));	/* the child's write arrived */
	close(fd);
}

/* ---- 2 000 counters at once -------------------------------------------------------------- */

FIXTURE(many) {
	int fds[MANY_FDS];
	int n;
};

FIXTURE_SETUP(many)
{
	struct rlimit lim = { 4 * MANY_FDS, 4 * MANY_FDS };

	self->n = 0;
	if (setrlimit(RLIMIT_NOFILE, &lim))
		TH_LOG("setrlimit(RLIMIT_NOFILE, %d): %s", 4 * MANY_FDS, strerror(errno));
}

FIXTURE_TEARDOWN(many)
{
	while (self->n > 0)
		close(self->fds[--self->n]);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* The fdinfo ids of fds[from, to), read by one of two threads: each read is a procfs lookup. */
struct id_reader {
	const int *fds;
	long *ids;
	int from, to, dir, bad_fd;
};

static void *read_ids(void *arg)
{
	struct id_reader *r = arg;
	struct raw_fdinfo fi;

	for (int i = r->from; i < r->to; i++) {
		if (raw_fdinfo_at(r->dir, r->fds[i], &fi) || fi.lines != 4) {
			r->bad_fd = r->fds[i];
			break;
		}
		r->ids[i] = fi.id;
	}
	return NULL;
}

TEST_F_TIMEOUT(many, two_thousand_fds, 300)
{
	static long ids[MANY_FDS];
	long before = module_refcnt();
	uint64_t t0 = now_ms();
	struct id_reader half[2];
	int dup_ids = 0, dir;
	pthread_t other;

	for (self->n = 0; self->n < MANY_FDS; self->n++) {
		self->fds[self->n] = efdm_open(O_CLOEXEC | O_NONBLOCK);
		if (self->fds[self->n] < 0)
			break;
	}
	ASSERT_EQ(MANY_FDS, self->n) TH_LOG("open #%d: %s", self->n, strerror(errno));
	TH_LOG("opened: %" PRIu64 " ms", now_ms() - t0);
	dir = open("/proc/self/fdinfo", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, dir);
	for (int h = 0; h < 2; h++)
		half[h] = (struct id_reader){ self->fds, ids, h * MANY_FDS / 2,
					      (h + 1) * MANY_FDS / 2, dir, -1 };
	ASSERT_EQ(0, pthread_create(&other, NULL, read_ids, &half[1]));
	read_ids(&half[0]);
	ASSERT_EQ(0, pthread_join(other, NULL));
	close(dir);
	for (int h = 0; h < 2; h++) {
		int bad_fd = half[h].bad_fd;

		ASSERT_EQ(-1, bad_fd) TH_LOG("no eventfd fdinfo for fd %d", bad_fd);
	}
	qsort(ids, MANY_FDS, sizeof(ids[0]), cmp_long);
	for (int i = 1; i < MANY_FDS; i++)
		dup_ids += ids[i] == ids[i - 1];
	EXPECT_EQ(0, dup_ids);
	TH_LOG("%d counters open, ids %ld..%ld (%" PRIu64 " ms)", MANY_FDS, ids[0],
	       ids[MANY_FDS - 1], now_ms() - t0);
	if (before >= 0)
		EXPECT_EQ(before + MANY_FDS * EFDM_MODULE_REFS_PER_OPEN, module_refcnt());
	/* Each still works, independently. */
	for (int i = 0; i < MANY_FDS; i++)
		ASSERT_EQ(8, efd_write(self->fds[i], (uint64_t)i + 1));
	for (int i = 0; i < MANY_FDS; i++) {
		uint64_t v = 0;

		ASSERT_EQ(8, efd_read(self->fds[i], &v));
		ASSERT_EQ((uint64_t)i + 1, v);
	}
	while (self->n > 0)
		close(self->fds[--self->n]);
	if (before >= 0)
		EXPECT_EQ(before, module_refcnt());
	TH_LOG("%" PRIu64 " ms", now_ms() - t0);
}

/* ---- memory cgroup accounting ------------------------------------------------------------ */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static bool file_has_word(const char *path, const char *word)
{
	char buf[512], *tok, *save;

	if (read_small_at(AT_FDCWD, path, buf, sizeof(buf)) < 0)
		return false;
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, word))
			return true;
	return false;
}

/* A value from memory.stat ("slab_unreclaimable", ...), or memory.current when @key is NULL. */
static long long memcg_value(const char *dir, const char *key)
{
	char path[256], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, key ? "memory.stat" : "memory.current");
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char name[64];
		long long val;

		if (!key) {
			v = atoll(line);
			break;
		}
		if (sscanf(line, "%63s %lld", name, &val) == 2 && !strcmp(name, key)) {
			v = val;
			break;
		}
	}
	fclose(f);
	return v;
}

struct charge {
	long long current, slab;
};

static struct charge charge_of(const char *dir)
{
	return (struct charge){ memcg_value(dir, NULL), memcg_value(dir, "slab_unreclaimable") };
}

/* Opens @want descriptors of @path into @fds; returns how many. */
static int open_many(int *fds, int want, const char *path)
{
	int n;

	for (n = 0; n < want; n++) {
		fds[n] = open(path, O_RDWR | O_CLOEXEC);
		if (fds[n] < 0)
			break;
	}
	return n;
}

/*
 * The counters are charged to the opener's memory cgroup (GFP_KERNEL_ACCOUNT).  Measured in a
 * child cgroup of our own: the growth of slab_unreclaimable over MEMCG_FDS opens of the device,
 * less that of as many opens of /dev/null (the struct file, charged for any open, and nothing
 * else).  2 000 opens measure the same per-open charges as 10 000 did (about 700 and 400 bytes
 * in the debug guest) in a fifth of the time; two_thousand_fds shows that 2 000 can be open.
 */
TEST_F_TIMEOUT(many, memcg_charges_counters, 300)
{
	static int null_fds[MEMCG_FDS];
	uint64_t t0 = now_ms();
	char dir[128];
	struct charge c0, c1, c2;
	long long dev_bytes, null_bytes;
	int ret;

	if (access(CGROUP_ROOT "/cgroup.controllers", R_OK))
		EFDM_SKIP(return, "cgroup2 is not mounted at " CGROUP_ROOT);
	if (!file_has_word(CGROUP_ROOT "/cgroup.controllers", "memory"))
		EFDM_SKIP(return, "no memory controller in " CGROUP_ROOT "/cgroup.controllers "
			  "(kernel without CONFIG_MEMCG, or cgroup_disable=memory)");
	if (!file_has_word(CGROUP_ROOT "/cgroup.subtree_control", "memory")) {
		ret = write_file(CGROUP_ROOT "/cgroup.subtree_control", "+memory");
		if (ret)
			EFDM_SKIP(return, "cannot enable +memory in %s/cgroup.subtree_control: %s",
				  CGROUP_ROOT, strerror(-ret));
	}
	snprintf(dir, sizeof(dir), CGROUP_ROOT "/eventfd_max_hostile.%d", getpid());
	if (mkdir(dir, 0755) && errno != EEXIST)
		EFDM_SKIP(return, "mkdir %s: %s", dir, strerror(errno));
	{
		char procs[160];

		snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
		ret = write_file(procs, "0");
		if (ret) {
			rmdir(dir);
			EFDM_SKIP(return, "cannot move into %s: %s", dir, strerror(-ret));
		}
	}
	/* Grow the fd table first, so that its growth is not charged to one of the phases. */
	ASSERT_LE(0, dup2(0, 4 * MANY_FDS - 10));
	close(4 * MANY_FDS - 10);

	c0 = charge_of(dir);
	ASSERT_EQ(MEMCG_FDS, open_many(null_fds, MEMCG_FDS, "/dev/null"));
	c1 = charge_of(dir);
	self->n = open_many(self->fds, MEMCG_FDS, efdm_dev_path());
	ASSERT_EQ(MEMCG_FDS, self->n);
	c2 = charge_of(dir);

	ASSERT_LE(0, c0.slab) TH_LOG("no slab_unreclaimable in %s/memory.stat", dir);
	null_bytes = c1.slab - c0.slab;
	dev_bytes = c2.slab - c1.slab;
	TH_LOG("per open: /dev/null %lld B, %s %lld B (slab_unreclaimable); memory.current: "
	       "+%lld B for /dev/null, +%lld B for the device", null_bytes / MEMCG_FDS,
	       efdm_dev_path(), dev_bytes / MEMCG_FDS, c1.current - c0.current,
	       c2.current - c1.current);
	/* The counter itself (locks, two wait queues, count, maximum, id) is well over 32 bytes. */
	EXPECT_GE(dev_bytes - null_bytes, 32LL * MEMCG_FDS);
	EXPECT_GE(c2.current - c1.current, c1.current - c0.current);

	for (int i = 0; i < MEMCG_FDS; i++)
		close(null_fds[i]);
	while (self->n > 0)
		close(self->fds[--self->n]);
	write_file(CGROUP_ROOT "/cgroup.procs", "0");
	rmdir(dir);
	TH_LOG("%" PRIu64 " ms", now_ms() - t0);
}

/* ---- allocation failure ------------------------------------------------------------------ */

#define FAILSLAB_DIR	"/sys/kernel/debug/failslab"
#define FAILSLAB_HELD	130	/* counters held in turn: past the first growths of an id pool */
#define FAILSLAB_MAX_N	100	/* no open makes this many slab allocations */

/*
 * failslab fails the fail-nth'th slab allocation of a task (Documentation/fault-injection/): with
 * ignore-gfp-wait 0 also the sleeping ones an open makes, and with verbose 0 without printing a
 * stack, which the guest's dmesg check would rightly take for a report.  Both are put back after.
 */
FIXTURE(failslab) {
	char ignore_gfp_wait[16], verbose[16];
	int nth;		/* /proc/self/task/<tid>/fail-nth */
	int held[FAILSLAB_HELD];
	int n;
};

FIXTURE_SETUP(failslab)
{
	char path[64];

	self->nth = -1;
	self->n = 0;
	self->ignore_gfp_wait[0] = self->verbose[0] = 0;
	if (geteuid() != 0)
		EFDM_SKIP(return, "fault injection needs root");
	if (read_small_at(AT_FDCWD, FAILSLAB_DIR "/ignore-gfp-wait", self->ignore_gfp_wait,
			  sizeof(self->ignore_gfp_wait)) < 0 ||
	    read_small_at(AT_FDCWD, FAILSLAB_DIR "/verbose", self->verbose,
			  sizeof(self->verbose)) < 0)
		EFDM_SKIP(return, "no %s (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS)",
			  FAILSLAB_DIR);
	ASSERT_EQ(0, write_file(FAILSLAB_DIR "/ignore-gfp-wait", "0"));
	ASSERT_EQ(0, write_file(FAILSLAB_DIR "/verbose", "0"));
	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth", (long)syscall(SYS_gettid));
	self->nth = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->nth) TH_LOG("%s: %s", path, strerror(errno));
}

FIXTURE_TEARDOWN(failslab)
{
	if (self->nth >= 0) {
		(void)!pwrite(self->nth, "0", 1, 0);
		close(self->nth);
	}
	while (self->n > 0)
		close(self->held[--self->n]);
	if (self->verbose[0])
		write_file(FAILSLAB_DIR "/verbose", self->verbose);
	if (self->ignore_gfp_wait[0])
		write_file(FAILSLAB_DIR "/ignore-gfp-wait", self->ignore_gfp_wait);
}

/*
 * Opens the device with its n-th slab allocation failing, for n = 1, 2, ... until the open makes
 * fewer than n.  Each failed open fails ENOMEM (the VFS's own allocations fail that way too) and
 * leaves no fd and no module reference; an open that survives its failed allocation must give a
 * working counter.  Returns how many allocations the open made; adds the failed opens to @failed.
 */
static int open_failing_each(struct __test_metadata *_metadata, int nth, long refs, int *failed)
{
	char buf[16];
	int n;

	for (n = 1; n < FAILSLAB_MAX_N; n++) {
		int lowest = dup(0), fd, err;
		uint64_t v = 0;
		ssize_t len;

		ASSERT_LE(0, lowest);
		close(lowest);	/* the number an open gets */
		len = snprintf(buf, sizeof(buf), "%d", n);
		ASSERT_EQ(len, pwrite(nth, buf, (size_t)len, 0));
		fd = open(efdm_dev_path(), O_RDWR | O_CLOEXEC);
		err = errno;
		/* What is left of n: 0 once the n-th allocation failed. */
		len = pread(nth, buf, sizeof(buf) - 1, 0);
		ASSERT_LT(0, len);
		buf[len] = 0;
		if (atoi(buf)) {
			ASSERT_EQ(1, pwrite(nth, "0", 1, 0));
			ASSERT_LE(0, fd) TH_LOG("open with no allocation failed: %s", strerror(err));
			close(fd);
			return n - 1;
		}
		if (fd >= 0) {
			EXPECT_EQ(8, efd_write(fd, 5)) TH_LOG("allocation %d failed", n);
			EXPECT_EQ(8, efd_read(fd, &v));
			EXPECT_EQ(5ULL, v);
			close(fd);
		} else {
			EXPECT_EQ(ENOMEM, err) TH_LOG("allocation %d failed: %s", n, strerror(err));
			++*failed;
		}
		fd = dup(0);
		EXPECT_EQ(lowest, fd) TH_LOG("allocation %d failed: an fd leaked", n);
		close(fd);
		EXPECT_EQ(refs, module_refcnt()) TH_LOG("allocation %d failed", n);
	}
	ASSERT_LT(n, FAILSLAB_MAX_N) TH_LOG("an open made %d allocations or more", n);
	return n;
}

/*
 * An open fails cleanly whichever of its allocations fails, also while FAILSLAB_HELD other
 * counters are open (so also when the id allocator has to grow).  The guest's init then checks
 * that kmemleak found no leak and dmesg no report.
 */
TEST_F_TIMEOUT(failslab, open_fails_cleanly_at_every_allocation, 120)
{
	long base = module_refcnt();
	int least = FAILSLAB_MAX_N, most = 0, failed = 0;

	for (;;) {
		long refs = base < 0 ? -1 : base + self->n * EFDM_MODULE_REFS_PER_OPEN;
		int allocs = open_failing_each(_metadata, self->nth, refs, &failed);

		least = allocs < least ? allocs : least;
		most = allocs > most ? allocs : most;
		if (self->n == FAILSLAB_HELD)
			break;
		self->held[self->n] = efdm_open(O_CLOEXEC);
		ASSERT_LE(0, self->held[self->n++]);
	}
	TH_LOG("opens with 0..%d counters held: %d to %d slab allocations each, %d failed opens",
	       FAILSLAB_HELD, least, most, failed);
	EXPECT_LT(0, least) TH_LOG("an open made no slab allocation: failslab not in effect?");
	EXPECT_LT(0, failed);
	while (self->n > 0)
		close(self->held[--self->n]);
	if (base >= 0)
		EXPECT_EQ(base, module_refcnt());
}

TEST_HARNESS_MAIN
