/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * eventfd_max: eventfd with a per-fd maximum for flow control.
 *
 * Every open() of /dev/eventfd_max is a new eventfd counter (count 0, not a semaphore, maximum
 * ULLONG_MAX) that behaves like one made by eventfd(2), plus a maximum: a write(2) that would take the
 * counter to or beyond the maximum blocks, or fails with EAGAIN when non-blocking.  Values written must
 * be below the maximum (EINVAL otherwise).  The ioctls below follow the upstream RFC "eventfd: add
 * configurable maximum counter value for flow control".  See Documentation/userspace-api/eventfd_max.rst
 * and eventfd_max(4); the userspace helper eventfd_max(3) is in <eventfd_max.h>.
 *
 * Only what the module defines is here: this header includes no libc header, so it can be used
 * together with either <linux/eventfd.h> or <sys/eventfd.h> (which define EFD_SEMAPHORE each).
 */
#ifndef _UAPI_LINUX_EVENTFD_MAX_H
#define _UAPI_LINUX_EVENTFD_MAX_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define EVENTFD_MAX_DEVICE "/dev/eventfd_max"

/* Set the maximum, above the current count (EINVAL otherwise); blocked writers and pollers
 * re-evaluate at once. */
#define EFD_IOC_SET_MAXIMUM _IOW('J', 0, __u64)
/* Read the maximum. */
#define EFD_IOC_GET_MAXIMUM _IOR('J', 1, __u64)

/*
 * The device's eventfd2(count, flags): initial count, maximum and EFD_SEMAPHORE, set once, before the
 * first read or write (EBUSY afterwards).  EINVAL unless flags is 0 or EFD_SEMAPHORE, reserved is 0,
 * maximum >= 1 and count < maximum.
 */
struct eventfd_max_config {
	__u64 count;
	__u64 maximum;
	__u32 flags;
	__u32 reserved;
};
#define EFD_IOC_CONFIGURE _IOW('J', 2, struct eventfd_max_config)

#endif /* _UAPI_LINUX_EVENTFD_MAX_H */
