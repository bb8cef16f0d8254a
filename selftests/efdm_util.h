/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the eventfd_max selftests: opening the device (or a native eventfd), 8-byte
 * reads and writes, poll masks and fdinfo parsing.
 *
 * Environment:
 *   EVENTFD_MAX_DEV=path     use this device node instead of /dev/eventfd_max
 *   EVENTFD_MAX_NATIVE=1     make the "device" a native eventfd(2), to validate a test on a host
 *                            without the module (only ioctl-free tests can pass that way)
 *   EVENTFD_MAX_DEVICE_TESTS=1
 *                            the device and what its tests need (root, debugfs, cgroup2 with the
 *                            memory controller, failslab) must be there: a test that would skip
 *                            for want of one fails instead.  The guest suite sets it, as it does
 *                            for the Rust crate's device tests.
 */
#ifndef EFDM_UTIL_H
#define EFDM_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <eventfd_max.h>

#define U64_MAX_VAL (~(uint64_t)0)

/*
 * References an open counter holds on the module: chrdev_open() pins the owner of the cdev and
 * the owner of its file_operations, both eventfd_max.
 */
#define EFDM_MODULE_REFS_PER_OPEN 2

/* Every poll bit one can ask for, so that an unexpected extra bit is noticed as well. */
#define ALL_POLL_EVENTS (POLLIN | POLLPRI | POLLOUT | POLLRDNORM | POLLRDBAND | POLLWRNORM | \
			 POLLWRBAND | POLLMSG | POLLRDHUP)

static inline const char *efdm_dev_path(void)
{
	const char *path = getenv("EVENTFD_MAX_DEV");

	return path && *path ? path : EVENTFD_MAX_DEVICE;
}

static inline bool efdm_native(void)
{
	const char *native = getenv("EVENTFD_MAX_NATIVE");

	return native && !strcmp(native, "1");
}

/*
 * EVENTFD_MAX_DEVICE_TESTS=1 (the guest suite sets it): a missing device, debugfs or cgroup2 is a
 * failure, not a reason to skip.
 */
static inline bool efdm_required(void)
{
	const char *required = getenv("EVENTFD_MAX_DEVICE_TESTS");

	return required && !strcmp(required, "1");
}

static inline void efdm_nop_handler(int sig)
{
	(void)sig;
}

/* Signal @sig interrupts a blocked system call: a handler that does nothing, without SA_RESTART. */
static inline int efdm_install_interrupt(int sig)
{
	struct sigaction sa = { .sa_handler = efdm_nop_handler };

	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

/* In a kselftest harness test: the count in @fd's fdinfo, failing the test if there is none. */
#define efdm_count_of(fd) ({							\
	uint64_t __count = 0;							\
	int __fd = (fd);							\
									\
	ASSERT_TRUE(efd_count(__fd, &__count))					\
		TH_LOG("no eventfd-count in fdinfo of fd %d", __fd);		\
	__count;								\
})

/* In a kselftest harness test: @call fails with -1 and errno @err. */
#define EXPECT_ERRNO(err, call) do {						\
	errno = 0;								\
	EXPECT_EQ(-1, (call));							\
	EXPECT_EQ(err, errno);							\
} while (0)

/*
 * SKIP() of the kselftest harness for a missing device or test environment, or, when that is
 * required (efdm_required()), a failure with the same reason.
 */
#define EFDM_SKIP(statement, fmt, ...) do {					\
	if (efdm_required()) {							\
		TH_LOG("EVENTFD_MAX_DEVICE_TESTS=1, yet: " fmt, ##__VA_ARGS__);	\
		_metadata->exit_code = KSFT_FAIL;				\
		statement;							\
	} else {								\
		SKIP(statement, fmt, ##__VA_ARGS__);				\
	}									\
} while (0)

/* A fresh, unconfigured counter; @oflags may add O_NONBLOCK / O_CLOEXEC. */
static inline int efdm_open(int oflags)
{
	if (efdm_native())
		return eventfd(0, oflags & (O_NONBLOCK | O_CLOEXEC));
	return open(efdm_dev_path(), O_RDWR | oflags);
}

/* EFD_IOC_CONFIGURE; returns 0 or -errno. */
static inline int efdm_configure(int fd, uint64_t count, uint64_t maximum, uint32_t flags)
{
	struct eventfd_max_config config = {
		.count = count,
		.maximum = maximum,
		.flags = flags,
	};

	return ioctl(fd, EFD_IOC_CONFIGURE, &config) < 0 ? -errno : 0;
}

/*
 * eventfd_max() from <eventfd_max.h>, but on efdm_dev_path(); in native mode an eventfd(2) (which
 * can only stand for maximum ULLONG_MAX and a count that fits unsigned int).
 */
static inline int efdm_create(uint64_t count, int flags, uint64_t maximum)
{
	int fd, err;

	if (efdm_native()) {
		if (maximum != U64_MAX_VAL || count > 0xffffffffu) {
			errno = EOPNOTSUPP;
			return -1;
		}
		return eventfd((unsigned int)count, flags);
	}
	fd = efdm_open(((flags & EFD_NONBLOCK) ? O_NONBLOCK : 0) |
		       ((flags & EFD_CLOEXEC) ? O_CLOEXEC : 0));
	if (fd < 0 || (!count && !(flags & EFD_SEMAPHORE) && maximum == U64_MAX_VAL))
		return fd;
	err = efdm_configure(fd, count, maximum, flags & EFD_SEMAPHORE);
	if (err) {
		close(fd);
		errno = -err;
		return -1;
	}
	return fd;
}

static inline int efdm_set_max(int fd, uint64_t maximum)
{
	return ioctl(fd, EFD_IOC_SET_MAXIMUM, &maximum) < 0 ? -errno : 0;
}

/* The maximum, or 0 with errno set on failure (a maximum is never 0). */
static inline uint64_t efdm_get_max(int fd)
{
	uint64_t maximum = 0;

	if (ioctl(fd, EFD_IOC_GET_MAXIMUM, &maximum) < 0)
		return 0;
	return maximum;
}

/* write(2) of one value; returns 8 or -errno. */
static inline ssize_t efd_write(int fd, uint64_t value)
{
	ssize_t ret = write(fd, &value, sizeof(value));

	return ret < 0 ? -errno : ret;
}

/* read(2) of one value; returns 8 or -errno, *value is set only on success. */
static inline ssize_t efd_read(int fd, uint64_t *value)
{
	uint64_t v = 0;
	ssize_t ret = read(fd, &v, sizeof(v));

	if (ret < 0)
		return -errno;
	*value = v;
	return ret;
}

/* revents of a zero-timeout poll asking for everything, or -errno. */
static inline int poll_mask(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = ALL_POLL_EVENTS };
	int ret = poll(&pfd, 1, 0);

	if (ret < 0)
		return -errno;
	return ret ? pfd.revents : 0;
}

static inline int set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

#define EFD_FDINFO_LINES 8
#define EFD_FDINFO_LEN 96

/*
 * The "eventfd-" lines of /proc/self/fdinfo/<fd>, verbatim (with their newline) and parsed.
 * @trailing counts other lines that came after the first eventfd- line (there should be none).
 */
struct efd_fdinfo {
	int n;
	int trailing;
	char line[EFD_FDINFO_LINES][EFD_FDINFO_LEN];
	unsigned long long count, maximum;
	int id, semaphore;
	bool has_count, has_id, has_semaphore, has_maximum;
};

/* Returns 0, or -1 when fdinfo cannot be read. */
static inline int efd_fdinfo(int fd, struct efd_fdinfo *fi)
{
	char path[64], buf[EFD_FDINFO_LEN];
	FILE *f;

	memset(fi, 0, sizeof(*fi));
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(buf, sizeof(buf), f)) {
		if (strncmp(buf, "eventfd-", 8)) {
			fi->trailing += fi->n > 0;
			continue;
		}
		if (fi->n < EFD_FDINFO_LINES)
			strcpy(fi->line[fi->n++], buf);
		if (sscanf(buf, "eventfd-count: %llx", &fi->count) == 1)
			fi->has_count = true;
		else if (sscanf(buf, "eventfd-id: %d", &fi->id) == 1)
			fi->has_id = true;
		else if (sscanf(buf, "eventfd-semaphore: %d", &fi->semaphore) == 1)
			fi->has_semaphore = true;
		else if (sscanf(buf, "eventfd-maximum: %llx", &fi->maximum) == 1)
			fi->has_maximum = true;
	}
	fclose(f);
	return 0;
}

/* The count as fdinfo shows it; false when fdinfo has no count line. */
static inline bool efd_count(int fd, uint64_t *count)
{
	struct efd_fdinfo fi;

	if (efd_fdinfo(fd, &fi) || !fi.has_count)
		return false;
	*count = fi.count;
	return true;
}

/* The module is not loaded and the suite does not require it: the device's tests skip. */
static inline bool efdm_device_absent(void)
{
	int fd = efdm_open(0);

	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == ENOENT && !efdm_required();
}

/* The module's debugfs hooks: the in-kernel signal in process context, and from hard irq. */
#define EFDM_SIGNAL_PATH "/sys/kernel/debug/eventfd_max/signal"
#define EFDM_HARDIRQ_PATH EFDM_SIGNAL_PATH "_hardirq"

/* Writes @text to the debugfs hook @path in one write(2); 0 or -errno. */
static inline int efdm_hook_write(const char *path, const char *text)
{
	ssize_t len = (ssize_t)strlen(text), ret;
	int hook = open(path, O_WRONLY | O_CLOEXEC);

	if (hook < 0)
		return -errno;
	ret = write(hook, text, (size_t)len);
	ret = ret < 0 ? -errno : ret == len ? 0 : -EIO;
	close(hook);
	return (int)ret;
}

/* The in-kernel eventfd_signal() equivalent on our descriptor @fd, through hook @path. */
static inline int efdm_kernel_signal_at(const char *path, int fd, uint64_t n)
{
	char text[48];

	snprintf(text, sizeof(text), "%d %llu", fd, (unsigned long long)n);
	return efdm_hook_write(path, text);
}

/* The in-kernel signal in the caller's context, with interrupts disabled; 0 or -errno. */
static inline int efdm_kernel_signal(int fd, uint64_t n)
{
	return efdm_kernel_signal_at(EFDM_SIGNAL_PATH, fd, n);
}

/* xorshift64*: small, deterministic, good enough to pick operations. */
static inline uint64_t xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

#endif /* EFDM_UTIL_H */
