//! Safe Rust API for `/dev/eventfd_max`: an `eventfd(2)` with a per-fd maximum for flow control.
//!
//! Every [`EventFdMax`] is an independent counter that behaves like an eventfd, plus a maximum: a
//! [`write`](EventFdMax::write) that would take the counter to or beyond the maximum waits until
//! a [`read`](EventFdMax::read) makes room (or fails with [`WouldBlock`](io::ErrorKind::WouldBlock)
//! when non-blocking). A producer is thereby held back by a slow consumer, and the backlog, its
//! latency and the CPU the producer burns stay bounded.
//!
//! The device comes from the `eventfd_max.ko` kernel module; without it,
//! [`open`](EventFdMaxBuilder::open) fails with [`NotFound`](io::ErrorKind::NotFound) and a
//! message naming the fix.
//!
//! ```no_run
//! use eventfd_max::EventFdMax;
//!
//! let efd = EventFdMax::builder().maximum(10).nonblocking(true).open()?;
//! efd.write(3)?; // count 3
//! efd.write(6)?; // count 9; a further write(1) would now wait for a read on a blocking fd
//! assert_eq!(efd.try_write(1).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
//! assert_eq!(efd.read()?, 9); // returns the whole count and resets it to 0
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Semantics
//!
//! The rules are the device's (see `Documentation/userspace-api/eventfd_max.rst`); this crate
//! adds none and hides none:
//!
//! - `write(v)` with `v >= maximum` fails with [`InvalidInput`](io::ErrorKind::InvalidInput): no
//!   read could ever make room for it. Otherwise it proceeds once `maximum - count > v`.
//! - `read()` returns the whole count and resets it to 0, or 1 and decrements in semaphore mode;
//!   with count 0 it waits (or fails with `WouldBlock`).
//! - Readiness: readable when `count > 0`, writable when `maximum - 1 > count` (a write of 1 fits).
//!
//! # Blocking, non-blocking and `try_*`
//!
//! [`read`](EventFdMax::read) and [`write`](EventFdMax::write) are single `read(2)`/`write(2)`
//! calls and so follow the fd's mode: on a blocking fd (the default) the kernel puts the caller
//! to sleep until the operation fits, exactly as for any eventfd writer; on a non-blocking fd
//! they fail with `WouldBlock`. A signal without `SA_RESTART` makes them fail with
//! [`Interrupted`](io::ErrorKind::Interrupted), nothing consumed, as `std::fs::File` does.
//!
//! [`try_read`](EventFdMax::try_read) and [`try_write`](EventFdMax::try_write) never block. They
//! use `preadv2`/`pwritev2` with `RWF_NOWAIT`, which the device, like `eventfd(2)`, honours per call
//! for reads but not for writes: its `write` is eventfd's plain `->write`. So `try_read` works
//! whatever the fd's mode, and `try_write` needs a non-blocking fd; on a blocking one it fails with
//! [`Unsupported`](io::ErrorKind::Unsupported) rather than risk waiting. Toggling `O_NONBLOCK`
//! around the call would change the mode for every thread and process sharing the open file, and
//! a `poll()` before a blocking write can be overtaken by another writer, so neither is done. Nor
//! is a blocking `write` emulated with `poll()`: readiness only promises room for a write of 1, so
//! a waiting `write(v)` with `v > 1` would spin.
//!
//! # Async
//!
//! With the `tokio` feature, [`AsyncEventFdMax`] waits for writable (`POLLOUT`) readiness in
//! `write(v).await` and for readable readiness in `read().await`, so an async producer is held
//! back without blocking its runtime thread.
//!
//! # Errors
//!
//! All errors are [`std::io::Error`]s carrying the kernel's errno, so their kinds are std's:
//! `EAGAIN` → `WouldBlock`, `EINVAL` → `InvalidInput`, `EINTR` → `Interrupted`, `ENOENT` →
//! `NotFound`. Opening adds a message that says what to do (load the module, not an eventfd_max
//! device, ...), keeping the OS error as its [`source`](std::error::Error::source).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use rustix::fs::{Mode, OFlags};
use rustix::io::{Errno, IoSlice, IoSliceMut, ReadWriteFlags};
use rustix::ioctl::{Getter, Setter, ioctl};

mod error;
mod fdinfo;
mod uapi;

#[cfg(feature = "tokio")]
mod async_fd;

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use async_fd::AsyncEventFdMax;
pub use fdinfo::FdInfo;
pub use uapi::DEVICE_PATH;

/// pwritev2/preadv2 offset meaning "the current file position", i.e. plain `writev`/`readv`.
const CURRENT_POSITION: u64 = u64::MAX;

/// An eventfd counter with a maximum, opened from `/dev/eventfd_max`.
///
/// Cheap to share between threads (`&self` methods; every operation is one atomic system call):
/// put it in an `Arc`, or [`try_clone`](Self::try_clone) it to get a second fd on the same counter.
pub struct EventFdMax {
    fd: OwnedFd,
}

/// Options for opening an [`EventFdMax`], the device's counterpart of `eventfd2(count, flags)`.
///
/// Defaults: count 0, maximum `u64::MAX` (an ordinary eventfd), not a semaphore, blocking,
/// close-on-exec, path [`DEVICE_PATH`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a builder does nothing until open() is called"]
pub struct EventFdMaxBuilder {
    path: PathBuf,
    count: u64,
    maximum: u64,
    semaphore: bool,
    nonblocking: bool,
    cloexec: bool,
}

impl Default for EventFdMaxBuilder {
    fn default() -> Self {
        EventFdMaxBuilder {
            path: PathBuf::from(DEVICE_PATH),
            count: 0,
            maximum: u64::MAX,
            semaphore: false,
            nonblocking: false,
            cloexec: true,
        }
    }
}

impl EventFdMaxBuilder {
    /// The same as [`EventFdMax::builder`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The initial count; must be below the maximum.
    pub fn count(mut self, count: u64) -> Self {
        self.count = count;
        self
    }

    /// The maximum (at least 1): writes wait while `maximum - count <= value`. It can be changed
    /// later with [`EventFdMax::set_maximum`].
    pub fn maximum(mut self, maximum: u64) -> Self {
        self.maximum = maximum;
        self
    }

    /// Semaphore mode (`EFD_SEMAPHORE`): each read returns 1 and decrements the count.
    pub fn semaphore(mut self, semaphore: bool) -> Self {
        self.semaphore = semaphore;
        self
    }

    /// Open with `O_NONBLOCK` (`EFD_NONBLOCK`): `read` and `write` fail with `WouldBlock` instead
    /// of waiting.
    pub fn nonblocking(mut self, nonblocking: bool) -> Self {
        self.nonblocking = nonblocking;
        self
    }

    /// Open with `O_CLOEXEC` (`EFD_CLOEXEC`); on by default, as for every fd std opens.
    pub fn cloexec(mut self, cloexec: bool) -> Self {
        self.cloexec = cloexec;
        self
    }

    /// Another device node than [`DEVICE_PATH`] (a node made by hand, or a container's path).
    pub fn path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = path.into();
        self
    }

    /// Opens the device and configures the counter (`EFD_IOC_CONFIGURE`).
    ///
    /// # Errors
    ///
    /// - [`InvalidInput`](io::ErrorKind::InvalidInput) when the maximum is 0 or the count is not
    ///   below it (checked before any system call).
    /// - [`NotFound`](io::ErrorKind::NotFound) when the device node does not exist (the module is
    ///   not loaded); the message names the fix.
    /// - Any other error of `open(2)` or of the ioctl, with a message naming the path.
    ///
    /// ```no_run
    /// let efd = eventfd_max::EventFdMax::builder()
    ///     .count(0)
    ///     .semaphore(false)
    ///     .nonblocking(false)
    ///     .cloexec(true)
    ///     .maximum(10)
    ///     .open()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn open(&self) -> io::Result<EventFdMax> {
        self.validate()?;
        let mut flags = OFlags::RDWR;
        flags.set(OFlags::NONBLOCK, self.nonblocking);
        flags.set(OFlags::CLOEXEC, self.cloexec);
        let fd = rustix::fs::open(&self.path, flags, Mode::empty())
            .map_err(|errno| error::open(&self.path, errno))?;
        let config = uapi::Config {
            count: self.count,
            maximum: self.maximum,
            flags: if self.semaphore {
                uapi::EFD_SEMAPHORE
            } else {
                0
            },
            reserved: 0,
        };
        // SAFETY: EFD_IOC_CONFIGURE is _IOW('J', 2, struct eventfd_max_config) and `Config` is that
        // structure's #[repr(C)] mirror; the kernel only reads it. On a file that is not the
        // device, the ioctl fails (ENOTTY) or, for an unrelated driver reusing the number, is
        // refused by the size encoded in the opcode.
        unsafe { ioctl(&fd, Setter::<{ uapi::EFD_IOC_CONFIGURE }, _>::new(config)) }
            .map_err(|errno| error::configure(&self.path, errno))?;
        Ok(EventFdMax { fd })
    }

    fn validate(&self) -> io::Result<()> {
        if self.maximum == 0 {
            return Err(invalid_input("eventfd_max: the maximum must be at least 1"));
        }
        if self.count >= self.maximum {
            return Err(invalid_input(format!(
                "eventfd_max: the initial count ({}) must be below the maximum ({})",
                self.count, self.maximum
            )));
        }
        Ok(())
    }
}

fn invalid_input(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.into())
}

impl EventFdMax {
    /// Starts configuring a counter: see [`EventFdMaxBuilder`].
    ///
    /// ```no_run
    /// let efd = eventfd_max::EventFdMax::builder().maximum(10).open()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> EventFdMaxBuilder {
        EventFdMaxBuilder::default()
    }

    /// Reads the counter: the whole count (reset to 0), or 1 in semaphore mode.
    ///
    /// With count 0 it waits on a blocking fd and fails with `WouldBlock` on a non-blocking one.
    /// Every successful read wakes waiting writers.
    pub fn read(&self) -> io::Result<u64> {
        let mut buf = [0u8; 8];
        let n = rustix::io::read(&self.fd, &mut buf)?;
        value_of(n, buf)
    }

    /// Reads the counter without ever waiting, whatever the fd's mode: `WouldBlock` when the
    /// count is 0. See the [crate documentation](crate#blocking-non-blocking-and-try_) for how.
    pub fn try_read(&self) -> io::Result<u64> {
        let mut buf = [0u8; 8];
        let n = self.nowait("try_read", |flags| {
            rustix::io::preadv2(
                &self.fd,
                &mut [IoSliceMut::new(&mut buf)],
                CURRENT_POSITION,
                flags,
            )
        })?;
        value_of(n, buf)
    }

    /// Adds `value` to the counter.
    ///
    /// Fails with `InvalidInput` when `value >= maximum`. Otherwise, when `maximum - count <=
    /// value`, it waits for reads to make room on a blocking fd (re-checking the `InvalidInput` rule
    /// if the maximum is lowered meanwhile), and fails with `WouldBlock` on a non-blocking one. A
    /// write of 0 succeeds at once.
    pub fn write(&self, value: u64) -> io::Result<()> {
        let n = rustix::io::write(&self.fd, &value.to_ne_bytes())?;
        written(n)
    }

    /// Adds `value` to the counter without ever waiting: `WouldBlock` when it does not fit now,
    /// `InvalidInput` when it never can, `Unsupported` on a blocking fd (see the
    /// [crate documentation](crate#blocking-non-blocking-and-try_)).
    ///
    /// ```no_run
    /// use std::io::ErrorKind;
    ///
    /// let efd = eventfd_max::EventFdMax::builder().maximum(2).nonblocking(true).open()?;
    /// efd.try_write(1)?;
    /// assert_eq!(efd.try_write(1).unwrap_err().kind(), ErrorKind::WouldBlock);
    /// assert_eq!(efd.try_write(2).unwrap_err().kind(), ErrorKind::InvalidInput);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_write(&self, value: u64) -> io::Result<()> {
        let bytes = value.to_ne_bytes();
        let n = self.nowait("try_write", |flags| {
            rustix::io::pwritev2(&self.fd, &[IoSlice::new(&bytes)], CURRENT_POSITION, flags)
        })?;
        written(n)
    }

    /// Runs `op` with `RWF_NOWAIT`; a file without per-call non-blocking I/O (`EOPNOTSUPP`) is
    /// still fine when the fd itself is non-blocking.
    fn nowait(
        &self,
        what: &str,
        mut op: impl FnMut(ReadWriteFlags) -> rustix::io::Result<usize>,
    ) -> io::Result<usize> {
        match op(ReadWriteFlags::NOWAIT) {
            Err(Errno::OPNOTSUPP) if self.is_nonblocking()? => Ok(op(ReadWriteFlags::empty())?),
            Err(Errno::OPNOTSUPP) => Err(error::no_nowait(what)),
            result => Ok(result?),
        }
    }

    /// The current maximum (`EFD_IOC_GET_MAXIMUM`).
    pub fn maximum(&self) -> io::Result<u64> {
        // SAFETY: EFD_IOC_GET_MAXIMUM is _IOR('J', 1, __u64): the kernel writes one u64.
        Ok(unsafe {
            ioctl(
                &self.fd,
                Getter::<{ uapi::EFD_IOC_GET_MAXIMUM }, u64>::new(),
            )
        }?)
    }

    /// Changes the maximum (`EFD_IOC_SET_MAXIMUM`); waiting writers and pollers re-evaluate at once.
    ///
    /// A maximum at or below the current count (so also 0) fails with `InvalidInput` and changes
    /// nothing, as the RFC's selftests require.
    pub fn set_maximum(&self, maximum: u64) -> io::Result<()> {
        // SAFETY: EFD_IOC_SET_MAXIMUM is _IOW('J', 0, __u64): the kernel reads one u64.
        unsafe {
            ioctl(
                &self.fd,
                Setter::<{ uapi::EFD_IOC_SET_MAXIMUM }, u64>::new(maximum),
            )
        }?;
        Ok(())
    }

    /// The counter's state from `/proc/self/fdinfo/<fd>` (procfs must be mounted).
    pub fn fdinfo(&self) -> io::Result<FdInfo> {
        let path = format!("/proc/self/fdinfo/{}", self.fd.as_raw_fd());
        FdInfo::parse(&std::fs::read_to_string(path)?)
    }

    /// Whether the fd has `O_NONBLOCK`.
    pub fn is_nonblocking(&self) -> io::Result<bool> {
        Ok(rustix::fs::fcntl_getfl(&self.fd)?.contains(OFlags::NONBLOCK))
    }

    /// Sets or clears `O_NONBLOCK`. It belongs to the open file, so it also changes the mode of
    /// every fd duplicated from this one ([`try_clone`](Self::try_clone), `fork`, fd passing).
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        let mut flags = rustix::fs::fcntl_getfl(&self.fd)?;
        flags.set(OFlags::NONBLOCK, nonblocking);
        Ok(rustix::fs::fcntl_setfl(&self.fd, flags)?)
    }

    /// A second fd (close-on-exec) on the same counter.
    pub fn try_clone(&self) -> io::Result<EventFdMax> {
        Ok(EventFdMax {
            fd: self.fd.try_clone()?,
        })
    }
}

fn value_of(n: usize, buf: [u8; 8]) -> io::Result<u64> {
    if n == buf.len() {
        Ok(u64::from_ne_bytes(buf))
    } else {
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("eventfd_max: read returned {n} bytes instead of 8"),
        ))
    }
}

fn written(n: usize) -> io::Result<()> {
    if n == 8 {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("eventfd_max: write took {n} bytes instead of 8"),
        ))
    }
}

impl fmt::Debug for EventFdMax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventFdMax")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

impl AsFd for EventFdMax {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for EventFdMax {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl IntoRawFd for EventFdMax {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl FromRawFd for EventFdMax {
    /// Takes ownership of an fd from `/dev/eventfd_max` (or of any eventfd: a plain `eventfd(2)`
    /// behaves as a counter with maximum `u64::MAX`, except that [`maximum`](Self::maximum) and
    /// [`set_maximum`](Self::set_maximum) fail with `ENOTTY`).
    ///
    /// # Safety
    ///
    /// `fd` must be an open file descriptor that nothing else owns, as for
    /// [`OwnedFd::from_raw_fd`].
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        // SAFETY: forwarded to the caller.
        EventFdMax {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        }
    }
}

impl From<OwnedFd> for EventFdMax {
    /// Wraps an fd from `/dev/eventfd_max`, or any eventfd (see [`FromRawFd`]); not checked.
    fn from(fd: OwnedFd) -> Self {
        EventFdMax { fd }
    }
}

impl From<EventFdMax> for OwnedFd {
    fn from(efd: EventFdMax) -> Self {
        efd.fd
    }
}

#[cfg(test)]
mod tests;

/// Compiles the README's examples as doctests (one of them needs the `tokio` feature).
#[cfg(all(doctest, feature = "tokio"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
