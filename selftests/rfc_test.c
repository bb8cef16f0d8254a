// SPDX-License-Identifier: GPL-2.0
/*
 * RFC conformance: the selftests of the RFC "eventfd: add configurable maximum counter value for
 * flow control" (v5, tools/testing/selftests/filesystems/eventfd/eventfd_test.c as it patches
 * it), one TEST per RFC case and under the RFC's name, run on device counters.  The RFC calls
 * eventfd2(count, flags); here that is eventfd_max(count, flags, ULLONG_MAX), which must be
 * indistinguishable from it.  Where the RFC checks one bit of F_GETFL, this checks the whole
 * value eventfd2() gives.
 *
 * EVENTFD_MAX_NATIVE=1 runs the rfc cases on eventfd(2) itself (the rfc_ioctl ones then skip).
 */
#define _GNU_SOURCE

#include "efdm_wait.h"
#include "kselftest_harness.h"

/* The RFC writes and reads this many times; fewer here, for a debug kernel under TCG. */
#define RFC_ITERATIONS 100

/* The RFC's eventfd2(count, flags): a counter with the default maximum. */
static int rfc_eventfd2(struct __test_metadata *_metadata, unsigned int count, int flags)
{
	int fd = efdm_create(count, flags, UINT64_MAX);

	ASSERT_LE(0, fd) TH_LOG("eventfd_max(%u, %#x, ULLONG_MAX) on %s: %s", count, flags,
				efdm_dev_path(), strerror(errno));
	return fd;
}

/* The RFC's cases that hold for every eventfd. */
FIXTURE(rfc) {
	int fd;
};

FIXTURE_SETUP(rfc)
{
	self->fd = -1;
	if (efdm_device_absent())
		SKIP(return, "%s missing (module not loaded?)", efdm_dev_path());
}

FIXTURE_TEARDOWN(rfc)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* The RFC's cases of the maximum and its ioctls. */
FIXTURE(rfc_ioctl) {
	int fd;
};

FIXTURE_SETUP(rfc_ioctl)
{
	self->fd = -1;
	if (efdm_native())
		SKIP(return, "native eventfd(2) has no EFD_IOC_* ioctls");
	if (efdm_device_absent())
		SKIP(return, "%s missing (module not loaded?)", efdm_dev_path());
}

FIXTURE_TEARDOWN(rfc_ioctl)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* eventfd2() opens its file O_RDWR; F_GETFL shows that and nothing else. */
TEST_F(rfc, eventfd_check_flag_rdwr)
{
	self->fd = rfc_eventfd2(_metadata, 0, 0);
	EXPECT_EQ(O_RDWR, fcntl(self->fd, F_GETFL));
}

/* EFD_CLOEXEC sets the close-on-exec flag of the new descriptor. */
TEST_F(rfc, eventfd_check_flag_cloexec)
{
	self->fd = rfc_eventfd2(_metadata, 0, EFD_CLOEXEC);
	EXPECT_EQ(FD_CLOEXEC, fcntl(self->fd, F_GETFD));
	EXPECT_EQ(O_RDWR, fcntl(self->fd, F_GETFL));
}

/* EFD_NONBLOCK sets O_NONBLOCK on the open file description. */
TEST_F(rfc, eventfd_check_flag_nonblock)
{
	self->fd = rfc_eventfd2(_metadata, 0, EFD_NONBLOCK);
	EXPECT_EQ(O_RDWR | O_NONBLOCK, fcntl(self->fd, F_GETFL));
	EXPECT_EQ(0, fcntl(self->fd, F_GETFD));
}

/* EFD_CLOEXEC | EFD_NONBLOCK sets both. */
TEST_F(rfc, eventfd_check_flag_cloexec_and_nonblock)
{
	self->fd = rfc_eventfd2(_metadata, 0, EFD_CLOEXEC | EFD_NONBLOCK);
	EXPECT_EQ(O_RDWR | O_NONBLOCK, fcntl(self->fd, F_GETFL));
	EXPECT_EQ(FD_CLOEXEC, fcntl(self->fd, F_GETFD));
}

/* EFD_SEMAPHORE is not a file flag: only fdinfo shows it, as "eventfd-semaphore: 1". */
TEST_F(rfc, eventfd_check_flag_semaphore)
{
	struct efd_fdinfo fi;

	self->fd = rfc_eventfd2(_metadata, 0, EFD_SEMAPHORE);
	EXPECT_EQ(O_RDWR, fcntl(self->fd, F_GETFL));
	ASSERT_EQ(0, efd_fdinfo(self->fd, &fi));
	ASSERT_LE(3, fi.n);
	EXPECT_STREQ("eventfd-semaphore: 1\n", fi.line[2]);
}

/*
 * A write(2) fails with the error EINVAL if the size of the supplied buffer is less than 8
 * bytes, or if an attempt is made to write the value 0xffffffffffffffff.
 */
TEST_F(rfc, eventfd_check_write)
{
	uint64_t value = 1;

	self->fd = rfc_eventfd2(_metadata, 0, 0);
	EXPECT_ERRNO(EINVAL, write(self->fd, &value, sizeof(uint32_t)));
	EXPECT_EQ(8, efd_write(self->fd, 1));
	EXPECT_EQ(-EINVAL, efd_write(self->fd, UINT64_MAX));
}

/* A read(2) fails with the error EINVAL if the size of the supplied buffer is less than 8 bytes. */
TEST_F(rfc, eventfd_check_read)
{
	uint64_t value = 0;

	self->fd = rfc_eventfd2(_metadata, 1, 0);
	EXPECT_ERRNO(EINVAL, read(self->fd, &value, sizeof(uint32_t)));
	EXPECT_EQ(8, efd_read(self->fd, &value));
	EXPECT_EQ(1ULL, value);
}

/*
 * Without EFD_SEMAPHORE a read(2) of a nonzero counter returns its value and resets it to zero;
 * of a zero counter, it fails with EAGAIN when the descriptor is nonblocking.
 */
TEST_F(rfc, eventfd_check_read_with_nonsemaphore)
{
	uint64_t value = 0;

	self->fd = rfc_eventfd2(_metadata, 0, EFD_NONBLOCK);
	for (int i = 0; i < RFC_ITERATIONS; i++)
		ASSERT_EQ(8, efd_write(self->fd, 1));
	EXPECT_EQ(8, efd_read(self->fd, &value));
	EXPECT_EQ((uint64_t)RFC_ITERATIONS, value);
	EXPECT_EQ(-EAGAIN, efd_read(self->fd, &value));
}

/*
 * With EFD_SEMAPHORE a read(2) of a nonzero counter returns 1 and decrements it; of a zero
 * counter, it fails with EAGAIN when the descriptor is nonblocking.
 */
TEST_F(rfc, eventfd_check_read_with_semaphore)
{
	uint64_t value = 0;

	self->fd = rfc_eventfd2(_metadata, 0, EFD_SEMAPHORE | EFD_NONBLOCK);
	for (int i = 0; i < RFC_ITERATIONS; i++)
		ASSERT_EQ(8, efd_write(self->fd, 1));
	for (int i = 0; i < RFC_ITERATIONS; i++) {
		ASSERT_EQ(8, efd_read(self->fd, &value));
		ASSERT_EQ(1ULL, value);
	}
	EXPECT_EQ(-EAGAIN, efd_read(self->fd, &value));
}

/* The default maximum is ULLONG_MAX, so an eventfd behaves as it always has. */
TEST_F(rfc_ioctl, eventfd_check_ioctl_get_maximum_default)
{
	uint64_t maximum = 0;

	self->fd = rfc_eventfd2(_metadata, 0, EFD_NONBLOCK);
	EXPECT_EQ(0, ioctl(self->fd, EFD_IOC_GET_MAXIMUM, &maximum));
	EXPECT_EQ(UINT64_MAX, maximum);
}

/* EFD_IOC_GET_MAXIMUM returns what EFD_IOC_SET_MAXIMUM set. */
TEST_F(rfc_ioctl, eventfd_check_ioctl_set_get_maximum)
{
	uint64_t maximum = 1000;

	self->fd = rfc_eventfd2(_metadata, 0, EFD_NONBLOCK);
	EXPECT_EQ(0, ioctl(self->fd, EFD_IOC_SET_MAXIMUM, &maximum));
	maximum = 0;
	EXPECT_EQ(0, ioctl(self->fd, EFD_IOC_GET_MAXIMUM, &maximum));
	EXPECT_EQ(1000ULL, maximum);
}

/*
 * EFD_IOC_SET_MAXIMUM fails with EINVAL when the new maximum is less than or equal to the
 * current counter value, and changes nothing; above it, it succeeds.
 */
TEST_F(rfc_ioctl, eventfd_check_ioctl_set_maximum_invalid)
{
	static const uint64_t refused[] = { 5, 3, 0 };

	self->fd = rfc_eventfd2(_metadata, 0, EFD_NONBLOCK);
	ASSERT_EQ(8, efd_write(self->fd, 5));
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++) {
		EXPECT_EQ(-EINVAL, efdm_set_max(self->fd, refused[i]))
			TH_LOG("maximum %llu with the count at 5", (unsigned long long)refused[i]);
		EXPECT_EQ(UINT64_MAX, efdm_get_max(self->fd));
	}
	EXPECT_EQ(0, efdm_set_max(self->fd, 10));
	EXPECT_EQ(10ULL, efdm_get_max(self->fd));
	EXPECT_EQ(POLLIN | POLLOUT, poll_mask(self->fd));
}

/*
 * A write that would take the counter to or beyond the maximum fails with EAGAIN on a
 * nonblocking descriptor; once a read has drained the counter, it succeeds.
 */
TEST_F(rfc_ioctl, eventfd_check_ioctl_write_blocked_at_maximum)
{
	uint64_t value = 0;

	self->fd = rfc_eventfd2(_metadata, 0, EFD_NONBLOCK);
	ASSERT_EQ(0, efdm_set_max(self->fd, 5));
	EXPECT_EQ(8, efd_write(self->fd, 4));
	EXPECT_EQ(-EAGAIN, efd_write(self->fd, 1));
	EXPECT_EQ(8, efd_read(self->fd, &value));
	EXPECT_EQ(4ULL, value);
	EXPECT_EQ(8, efd_write(self->fd, 1));
}

/* EPOLLOUT is reported exactly while maximum - 1 > count: a write of 1 would not block. */
TEST_F(rfc_ioctl, eventfd_check_ioctl_poll_epollout)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLERR };
	uint64_t value = 0;
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_LE(0, epfd);
	self->fd = rfc_eventfd2(_metadata, 0, EFD_NONBLOCK);
	ASSERT_EQ(0, epoll_ctl(epfd, EPOLL_CTL_ADD, self->fd, &ev));
	ASSERT_EQ(0, efdm_set_max(self->fd, 5));
	EXPECT_EQ(EPOLLOUT, efdm_epoll_now(epfd));
	ASSERT_EQ(8, efd_write(self->fd, 3));
	EXPECT_EQ(EPOLLIN | EPOLLOUT, efdm_epoll_now(epfd));	/* 4 > 3 */
	ASSERT_EQ(8, efd_write(self->fd, 1));
	EXPECT_EQ(EPOLLIN, efdm_epoll_now(epfd));		/* 4 > 4 is false */
	ASSERT_EQ(8, efd_read(self->fd, &value));
	EXPECT_EQ(EPOLLOUT, efdm_epoll_now(epfd));
	close(epfd);
}

/* /proc/<pid>/fdinfo/<fd> shows the maximum as "eventfd-maximum: %16llx". */
TEST_F(rfc_ioctl, eventfd_check_fdinfo_maximum)
{
	static const uint64_t maxima[] = { UINT64_MAX, 12345 };
	char want[EFD_FDINFO_LEN];
	struct efd_fdinfo fi;

	self->fd = rfc_eventfd2(_metadata, 0, 0);
	for (size_t i = 0; i < ARRAY_SIZE(maxima); i++) {
		if (i > 0) {
			ASSERT_EQ(0, efdm_set_max(self->fd, maxima[i]));
		}
		snprintf(want, sizeof(want), "eventfd-maximum: %16llx\n",
			 (unsigned long long)maxima[i]);
		ASSERT_EQ(0, efd_fdinfo(self->fd, &fi));
		ASSERT_LE(4, fi.n);
		EXPECT_STREQ(want, fi.line[3]);
	}
}

/* An unknown ioctl fails with ENOTTY. */
TEST_F(rfc_ioctl, eventfd_check_ioctl_unknown)
{
	self->fd = rfc_eventfd2(_metadata, 0, 0);
	EXPECT_ERRNO(ENOTTY, ioctl(self->fd, _IO('J', 0xff)));
}

TEST_HARNESS_MAIN
