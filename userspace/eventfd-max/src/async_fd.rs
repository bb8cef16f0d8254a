//! The tokio wrapper: readiness-driven reads and writes on a non-blocking fd.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::{EventFdMax, FdInfo};

/// An [`EventFdMax`] for tokio: `write(v).await` waits for writable (`POLLOUT`) readiness and
/// `read().await` for readable (`POLLIN`) readiness, so an async producer is held back by a slow
/// consumer without blocking its runtime thread.
///
/// ```no_run
/// use eventfd_max::{AsyncEventFdMax, EventFdMax};
///
/// # async fn demo() -> std::io::Result<()> {
/// let efd = AsyncEventFdMax::new(EventFdMax::builder().maximum(10).open()?)?;
/// efd.write(1).await?; // waits (without blocking the thread) while the counter is full
/// let n = efd.read().await?; // waits while it is empty
/// # Ok(()) }
/// ```
///
/// Readiness only promises room for a write of 1; a `write(v)` with `v > 1` that still does not
/// fit goes back to waiting until the next read (or maximum change) wakes it, without spinning.
/// Both futures are cancel-safe: nothing is read or written unless they complete.
pub struct AsyncEventFdMax {
    inner: AsyncFd<EventFdMax>,
}

impl AsyncEventFdMax {
    /// Registers `efd` with the current tokio runtime, switching it to `O_NONBLOCK` (which
    /// `AsyncFd` requires; the flag belongs to the open file, so duplicates of the fd see it too).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled, as [`AsyncFd::register`] does.
    pub fn new(efd: EventFdMax) -> io::Result<Self> {
        efd.set_nonblocking(true)?;
        // SAFETY: `EventFdMax` owns its fd (an `OwnedFd` that it never closes or replaces), so
        // `as_raw_fd()` returns the same open fd for as long as the `AsyncFd` holds it.
        let inner = unsafe { AsyncFd::register(efd) }?;
        Ok(AsyncEventFdMax { inner })
    }

    /// Reads the counter (the whole count, or 1 in semaphore mode), waiting for it to be non-zero.
    pub async fn read(&self) -> io::Result<u64> {
        self.inner
            .async_io(Interest::READABLE, EventFdMax::read)
            .await
    }

    /// Adds `value` to the counter, waiting until it fits (`maximum - count > value`).
    ///
    /// Fails at once with `InvalidInput` when `value >= maximum`, as the blocking write does.
    pub async fn write(&self, value: u64) -> io::Result<()> {
        // Try before waiting: a value that can never fit must fail now, not after a wake-up.
        match self.inner.get_ref().write(value) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            result => return result,
        }
        self.inner
            .async_io(Interest::WRITABLE, |efd| efd.write(value))
            .await
    }

    /// Reads without waiting: `WouldBlock` when the count is 0.
    pub fn try_read(&self) -> io::Result<u64> {
        self.inner.get_ref().read()
    }

    /// Writes without waiting: `WouldBlock` when `value` does not fit now.
    pub fn try_write(&self, value: u64) -> io::Result<()> {
        self.inner.get_ref().write(value)
    }

    /// See [`EventFdMax::maximum`].
    pub fn maximum(&self) -> io::Result<u64> {
        self.inner.get_ref().maximum()
    }

    /// See [`EventFdMax::set_maximum`].
    pub fn set_maximum(&self, maximum: u64) -> io::Result<()> {
        self.inner.get_ref().set_maximum(maximum)
    }

    /// See [`EventFdMax::fdinfo`].
    pub fn fdinfo(&self) -> io::Result<FdInfo> {
        self.inner.get_ref().fdinfo()
    }

    /// The wrapped counter.
    pub fn get_ref(&self) -> &EventFdMax {
        self.inner.get_ref()
    }

    /// Deregisters from the runtime and returns the counter, still `O_NONBLOCK`.
    pub fn into_inner(self) -> EventFdMax {
        self.inner.into_inner()
    }
}

impl fmt::Debug for AsyncEventFdMax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncEventFdMax")
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsFd for AsyncEventFdMax {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.get_ref().as_fd()
    }
}

impl AsRawFd for AsyncEventFdMax {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}
