/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * eventfd_max(3): eventfd(2) with a maximum, for programs using /dev/eventfd_max (eventfd_max(4)).
 * The ioctl interface itself is the uapi header <linux/eventfd_max.h>, included here.
 */
#ifndef EVENTFD_MAX_H
#define EVENTFD_MAX_H

#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/eventfd_max.h>

/*
 * Drop-in for eventfd(2) with a maximum: flags may hold EFD_SEMAPHORE, EFD_NONBLOCK and EFD_CLOEXEC.
 * Returns a file descriptor, or -1 with errno set (ENOENT when the module is not loaded).
 */
static inline int eventfd_max(unsigned int count, int flags, __u64 maximum)
{
	struct eventfd_max_config config;
	int fd, saved;

	if (flags & ~(EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC)) {
		errno = EINVAL;
		return -1;
	}
	config.count = count;
	config.maximum = maximum;
	config.flags = (__u32)(flags & EFD_SEMAPHORE);
	config.reserved = 0;
	fd = open(EVENTFD_MAX_DEVICE, O_RDWR | ((flags & EFD_NONBLOCK) ? O_NONBLOCK : 0) |
				      ((flags & EFD_CLOEXEC) ? O_CLOEXEC : 0));
	if (fd < 0)
		return -1;
	/* A fresh counter is eventfd(0, flags) with the default maximum: nothing to configure. */
	if (!count && !config.flags && maximum == ~(__u64)0)
		return fd;
	if (ioctl(fd, EFD_IOC_CONFIGURE, &config) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

#endif /* EVENTFD_MAX_H */
