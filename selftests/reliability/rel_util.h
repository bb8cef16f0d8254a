/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the reliability tests (stress, fuzz, hostile, lifetime): clocks, command-line
 * options, bounded joins, user pointers that must fault, the module's reference count and an
 * fdinfo reader that needs no stdio (so forked children of threaded programs may use it).
 *
 * Builds on ../efdm_util.h (device opening, 8-byte reads/writes, poll masks, xorshift64).
 */
#ifndef REL_UTIL_H
#define REL_UTIL_H

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>

#include "../efdm_util.h"

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define MODULE_NAME	"eventfd_max"
#define REFCNT_PATH	"/sys/module/" MODULE_NAME "/refcnt"

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline uint64_t now_ms(void)
{
	return now_ns() / 1000000;
}

static inline void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* A numeric command-line option: "--name N" or "--name=N". */
struct rel_opt {
	const char *name;	/* without the leading "--" */
	uint64_t *value;
	const char *help;
};

/* Parses argv against @opts; prints usage and exits 2 on anything else. */
static inline void rel_parse_opts(int argc, char **argv, const struct rel_opt *opts, size_t n,
				  const char *what)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = NULL;
		size_t k;

		for (k = 0; k < n; k++) {
			size_t len = strlen(opts[k].name);

			if (strncmp(arg, "--", 2) || strncmp(arg + 2, opts[k].name, len))
				continue;
			if (arg[2 + len] == '=')
				val = arg + 3 + len;
			else if (!arg[2 + len] && i + 1 < argc)
				val = argv[++i];
			else
				continue;
			break;
		}
		if (k == n || !val || !*val) {
			fprintf(stderr, "%s: usage: %s", argv[0], argv[0]);
			for (k = 0; k < n; k++)
				fprintf(stderr, " [--%s N]", opts[k].name);
			fprintf(stderr, "\n%s\n", what);
			for (k = 0; k < n; k++)
				fprintf(stderr, "  --%-10s %s (default %" PRIu64 ")\n",
					opts[k].name, opts[k].help, *opts[k].value);
			exit(2);
		}
		*opts[k].value = strtoull(val, NULL, 0);
	}
}

/* pthread_join() bounded by @ms; returns 0, or ETIMEDOUT when the thread is still running. */
static inline int join_bounded(pthread_t thread, unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(thread, NULL, &ts);
}

/* A handler that only interrupts: installed without SA_RESTART, so sleeping calls return EINTR. */
/*
 * User pointers that must make any copy to or from them fail with EFAULT.  On a 64-bit build the
 * kernel-address and non-canonical entries are real kernel/hole addresses; a 32-bit process has no
 * such addresses, so there they are the top page of its 4 GiB (above TASK_SIZE, never mapped).
 */
enum { BAD_NULL, BAD_ONE, BAD_KERNEL, BAD_NONCANON, BAD_UNMAPPED, BAD_PROT_NONE, BAD_STRADDLE,
       BAD_READONLY, BAD_COUNT };

struct bad_ptrs {
	void *ptr[BAD_COUNT];
	const char *name[BAD_COUNT];
	void *map;		/* rw page, PROT_NONE page, read-only page */
};

/* @for_input: the kernel reads through the pointer (a read-only page is then fine, so skipped). */
static inline bool bad_ptr_applies(int which, bool for_input)
{
	return !(for_input && which == BAD_READONLY);
}

static inline int bad_ptrs_init(struct bad_ptrs *b)
{
	long page = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (m == MAP_FAILED)
		return -1;
	/* [rw][none][ro][unmapped] */
	memset(m, 0x5a, 4 * page);
	if (mprotect(m + page, page, PROT_NONE) || mprotect(m + 2 * page, page, PROT_READ) ||
	    munmap(m + 3 * page, page))
		return -1;
	b->map = m;
	b->ptr[BAD_NULL] = NULL;
	b->ptr[BAD_ONE] = (void *)1;
#if UINTPTR_MAX > 0xffffffffUL
	b->ptr[BAD_KERNEL] = (void *)0xffffffff81000000UL;
	b->ptr[BAD_NONCANON] = (void *)0x8000000000000000UL;
#else
	b->ptr[BAD_KERNEL] = (void *)0xfffff000UL;
	b->ptr[BAD_NONCANON] = (void *)0xffffff00UL;
#endif
	b->ptr[BAD_UNMAPPED] = m + 3 * page;
	b->ptr[BAD_PROT_NONE] = m + page;
	b->ptr[BAD_STRADDLE] = m + page - 4;	/* 4 good bytes, then PROT_NONE */
	b->ptr[BAD_READONLY] = m + 2 * page;
	b->name[BAD_NULL] = "NULL";
	b->name[BAD_ONE] = "(void *)1";
	b->name[BAD_KERNEL] = "kernel address";
	b->name[BAD_NONCANON] = "non-canonical address";
	b->name[BAD_UNMAPPED] = "unmapped page";
	b->name[BAD_PROT_NONE] = "PROT_NONE page";
	b->name[BAD_STRADDLE] = "4 bytes before a PROT_NONE page";
	b->name[BAD_READONLY] = "read-only page";
	return 0;
}

/*
 * Reads the small file @path (relative to @dirfd, or AT_FDCWD) into @buf and NUL-terminates it,
 * with read(2) only (no malloc, no stdio).  Returns the length, or -1 when it cannot be read or is
 * empty.
 */
static inline ssize_t read_small_at(int dirfd, const char *path, char *buf, size_t size)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* The module's reference count from sysfs, or -1 (not loaded, or built in). */
static inline long module_refcnt(void)
{
	char buf[32];

	if (read_small_at(AT_FDCWD, REFCNT_PATH, buf, sizeof(buf)) < 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/* Whether our thread @tid sleeps ('S' in /proc/self/task/<tid>/stat). */
static inline bool task_sleeping(int tid)
{
	char path[64], buf[256], *p;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	if (read_small_at(AT_FDCWD, path, buf, sizeof(buf)) < 0)
		return false;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

/* The eventfd lines of fdinfo, parsed with read(2) only (no malloc, no stdio). */
struct raw_fdinfo {
	uint64_t count, maximum;
	long id;
	int semaphore;
	int lines;		/* how many of the four lines were found */
};

static inline uint64_t raw_parse(const char *s, int base)
{
	uint64_t v = 0;

	while (*s == ' ')
		s++;
	for (;; s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else
			return v;
		v = v * (uint64_t)base + (uint64_t)d;
	}
}

/*
 * Returns 0, or -1 when fdinfo cannot be read (a closed fd).  @dirfd is an open
 * /proc/self/fdinfo (which saves the path walk when reading thousands), or AT_FDCWD.
 */
static inline int raw_fdinfo_at(int dirfd, int fd, struct raw_fdinfo *fi)
{
	static const char *const keys[] = {
		"eventfd-count:", "eventfd-id:", "eventfd-semaphore:", "eventfd-maximum:",
	};
	char path[48] = "/proc/self/fdinfo/", digits[12], buf[512], *p;
	size_t len = dirfd == AT_FDCWD ? strlen(path) : 0;
	unsigned int v = (unsigned int)fd;
	int i, k = 0;

	do {
		digits[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (k)
		path[len++] = digits[--k];
	path[len] = 0;
	if (read_small_at(dirfd, path, buf, sizeof(buf)) < 0)
		return -1;
	memset(fi, 0, sizeof(*fi));
	for (i = 0; i < 4; i++) {
		p = strstr(buf, keys[i]);
		if (!p)
			continue;
		p += strlen(keys[i]);
		fi->lines++;
		if (i == 0)
			fi->count = raw_parse(p, 16);
		else if (i == 1)
			fi->id = (long)raw_parse(p, 10);
		else if (i == 2)
			fi->semaphore = (int)raw_parse(p, 10);
		else
			fi->maximum = raw_parse(p, 16);
	}
	return 0;
}

static inline int raw_fdinfo(int fd, struct raw_fdinfo *fi)
{
	return raw_fdinfo_at(AT_FDCWD, fd, fi);
}

/* Uniform in [0, n), n > 0. */
static inline uint64_t rnd(uint64_t *state, uint64_t n)
{
	return xorshift64(state) % n;
}

#endif /* REL_UTIL_H */
