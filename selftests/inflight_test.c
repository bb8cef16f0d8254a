// SPDX-License-Identifier: GPL-2.0
/*
 * A read in flight: read(2) takes the value and frees its room in one critical section, then
 * copies the value to the reader's buffer without the lock.  Here that copy is held for as long
 * as the test likes, deterministically: the buffer is a page of anonymous private memory
 * registered with userfaultfd for missing pages, so the copy faults and waits until the test
 * resolves the fault (UFFDIO_ZEROPAGE: the copy completes) or makes it fail (the page turns
 * read-only, then UFFDIO_WAKE: the retried copy gets EFAULT).  While it waits, the counter must
 * behave as if the value were gone: writes fit, poll shows the room, and the in-kernel signal
 * adds all it is asked.
 *
 * The inflight cases run on eventfd(2) too (which proves what they state) and on the device; the
 * inflight_signal cases need the device's debugfs signal hook.  Needs root, for userfaultfd to
 * handle faults taken in the kernel.
 */
#define _GNU_SOURCE
#include <linux/userfaultfd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "efdm_wait.h"
#include "kselftest_harness.h"

struct pending_read {
	struct efdm_helper reader;
	int fd;			/* the counter */
	int uffd;
	char *page;		/* the read's buffer: registered, never touched */
	size_t page_size;
	long ret;
	int err;
	bool started, joined;
};

static void reader_body(struct efdm_helper *h)
{
	struct pending_read *p = h->arg;

	p->ret = read(p->fd, p->page, sizeof(uint64_t));
	p->err = p->ret < 0 ? errno : 0;
}

/* A userfaultfd and a page of anonymous private memory registered for missing-page faults. */
static void pending_init(struct __test_metadata *_metadata, struct pending_read *p)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };

	p->fd = -1;
	p->uffd = -1;
	p->page_size = (size_t)getpagesize();
	p->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, p->uffd) TH_LOG("userfaultfd: %s (needs CONFIG_USERFAULTFD and root)",
				     strerror(errno));
	ASSERT_EQ(0, ioctl(p->uffd, UFFDIO_API, &api));
	p->page = mmap(NULL, p->page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	ASSERT_TRUE(p->page != MAP_FAILED);
	reg.range = (struct uffdio_range){ (uintptr_t)p->page, p->page_size };
	ASSERT_EQ(0, ioctl(p->uffd, UFFDIO_REGISTER, &reg));
}

/*
 * Starts a read of the counter into the page and waits for its copy to fault: from then on the
 * read has taken its value, and its copy waits for the test.
 */
static void pending_start(struct __test_metadata *_metadata, struct pending_read *p)
{
	struct pollfd pfd = { .fd = p->uffd, .events = POLLIN };
	struct uffd_msg msg;

	ASSERT_EQ(0, efdm_helper_start(&p->reader, reader_body, p));
	p->started = true;
	ASSERT_EQ(1, poll(&pfd, 1, EFDM_SLEEP_MS)) TH_LOG("the read's copy did not fault");
	ASSERT_EQ((ssize_t)sizeof(msg), read(p->uffd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_EQ((uintptr_t)p->page, msg.arg.pagefault.address & ~(uint64_t)(p->page_size - 1));
	EXPECT_FALSE(atomic_load(&p->reader.done));
}

static void pending_join(struct __test_metadata *_metadata, struct pending_read *p)
{
	ASSERT_TRUE(efdm_helper_join(&p->reader, EFDM_JOIN_MS)) TH_LOG("the read did not return");
	p->joined = true;
}

/* Resolves the fault with a zero page: the copy completes and the read returns. */
static void pending_complete(struct __test_metadata *_metadata, struct pending_read *p)
{
	struct uffdio_zeropage zero = { .range = { (uintptr_t)p->page, p->page_size } };

	ASSERT_EQ(0, ioctl(p->uffd, UFFDIO_ZEROPAGE, &zero));
	pending_join(_metadata, p);
}

/* Makes the page read-only and wakes the fault: the retried copy fails, the read gets EFAULT. */
static void pending_fail(struct __test_metadata *_metadata, struct pending_read *p)
{
	struct uffdio_range range = { (uintptr_t)p->page, p->page_size };

	ASSERT_EQ(0, mprotect(p->page, p->page_size, PROT_READ));
	ASSERT_EQ(0, ioctl(p->uffd, UFFDIO_WAKE, &range));
	pending_join(_metadata, p);
}

/* Closing the userfaultfd releases a copy still held, so the reader can always be joined. */
static void pending_exit(struct pending_read *p)
{
	if (p->uffd >= 0)
		close(p->uffd);
	if (p->started && !p->joined)
		pthread_join(p->reader.thread, NULL);
	if (p->page && p->page != MAP_FAILED)
		munmap(p->page, p->page_size);
	if (p->fd >= 0)
		close(p->fd);
}

static uint64_t value_read(const struct pending_read *p)
{
	uint64_t value;

	memcpy(&value, p->page, sizeof(value));
	return value;
}

/* ---- inflight: eventfd(2) and the device ----------------------------------------------------- */

FIXTURE(inflight) {
	struct pending_read p;
};

FIXTURE_VARIANT(inflight) {
	bool device;
};

FIXTURE_VARIANT_ADD(inflight, eventfd) { .device = false };
FIXTURE_VARIANT_ADD(inflight, device) { .device = true };

/*
 * A counter at ULLONG_MAX - 1, the most a write can make it, and a page to read into.
 * Non-blocking, so that a write the counter refuses fails (EAGAIN) instead of hanging the test.
 */
FIXTURE_SETUP(inflight)
{
	pending_init(_metadata, &self->p);
	if (variant->device && efdm_device_absent())
		SKIP(return, "%s missing (module not loaded?)", efdm_dev_path());
	self->p.fd = variant->device ? efdm_create(0, EFD_NONBLOCK, UINT64_MAX) :
				       eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, self->p.fd) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(8, efd_write(self->p.fd, UINT64_MAX - 1));
}

FIXTURE_TEARDOWN(inflight)
{
	pending_exit(&self->p);
}

/*
 * A read frees the room of its value when it takes it: while its copy is still pending, the
 * count is 0 and a write of 1 fits (not EAGAIN).  The read then returns the value.
 */
TEST_F(inflight, write_fits_while_read_copies)
{
	pending_start(_metadata, &self->p);
	EXPECT_EQ(0ULL, efdm_count_of(self->p.fd));
	EXPECT_EQ(8, efd_write(self->p.fd, 1));
	EXPECT_EQ(1ULL, efdm_count_of(self->p.fd));
	pending_complete(_metadata, &self->p);
	EXPECT_EQ(8, self->p.ret);
	EXPECT_EQ(UINT64_MAX - 1, value_read(&self->p));
	EXPECT_EQ(1ULL, efdm_count_of(self->p.fd));
}

/* While the copy is pending, poll shows the room the read freed: POLLOUT. */
TEST_F(inflight, pollout_while_read_copies)
{
	pending_start(_metadata, &self->p);
	EXPECT_EQ(POLLOUT, poll_mask(self->p.fd));
	pending_complete(_metadata, &self->p);
	EXPECT_EQ(8, self->p.ret);
	EXPECT_EQ(POLLOUT, poll_mask(self->p.fd));
}

/* ---- inflight_signal: the device's in-kernel signal ----------------------------------------- */

FIXTURE(inflight_signal) {
	struct pending_read p;
};

/* Maximum 10, count 9, non-blocking; a page to read into, and the debugfs signal hook. */
FIXTURE_SETUP(inflight_signal)
{
	struct stat st;

	pending_init(_metadata, &self->p);
	if (efdm_native())
		SKIP(return, "native eventfd(2) has no signal hook");
	if (efdm_device_absent())
		SKIP(return, "%s missing (module not loaded?)", efdm_dev_path());
	ASSERT_EQ(0, stat(EFDM_SIGNAL_PATH, &st)) TH_LOG("%s: %s", EFDM_SIGNAL_PATH,
							 strerror(errno));
	self->p.fd = efdm_create(9, EFD_NONBLOCK, 10);
	ASSERT_LE(0, self->p.fd) TH_LOG("%s", strerror(errno));
}

FIXTURE_TEARDOWN(inflight_signal)
{
	pending_exit(&self->p);
}

/*
 * The in-kernel signal adds what it is asked up to the maximum: while a read's copy of 9 is
 * pending, the count is 0 and a signal of 5 makes it 5, without POLLERR.
 */
TEST_F(inflight_signal, adds_all_while_read_copies)
{
	pending_start(_metadata, &self->p);
	ASSERT_EQ(0, efdm_kernel_signal(self->p.fd, 5));
	EXPECT_EQ(5ULL, efdm_count_of(self->p.fd));
	EXPECT_EQ(POLLIN | POLLOUT, poll_mask(self->p.fd));
	pending_complete(_metadata, &self->p);
	EXPECT_EQ(8, self->p.ret);
	EXPECT_EQ(9ULL, value_read(&self->p));
	EXPECT_EQ(5ULL, efdm_count_of(self->p.fd));
}

/*
 * A read whose copy fails gets EFAULT and gives its value back to the count, saturating at the
 * maximum, with POLLERR when it had to clip: 9 taken, a signal of 8 meanwhile, the copy fails,
 * 8 + 9 is clipped to 10.
 */
TEST_F(inflight_signal, efault_gives_value_back_clipped)
{
	pending_start(_metadata, &self->p);
	ASSERT_EQ(0, efdm_kernel_signal(self->p.fd, 8));
	ASSERT_EQ(8ULL, efdm_count_of(self->p.fd));
	pending_fail(_metadata, &self->p);
	EXPECT_EQ(-1, self->p.ret);
	EXPECT_EQ(EFAULT, self->p.err);
	EXPECT_EQ(10ULL, efdm_count_of(self->p.fd));
	EXPECT_EQ(POLLIN | POLLERR, poll_mask(self->p.fd));
}

TEST_HARNESS_MAIN
