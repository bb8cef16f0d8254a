// SPDX-License-Identifier: GPL-2.0

//! One open of `/dev/eventfd_max`: the pure [`Counter`] under an irq-safe spinlock, and the wait
//! queues its readers, writers and pollers sleep on.

use crate::{
    counter::{Counter, Events, Refusal},
    uapi,
    waitqueue::{new_wait_queue, WaitQueue},
};
use kernel::{
    alloc::flags::GFP_KERNEL_ACCOUNT,
    bindings,
    fs::File,
    id_pool::IdPool,
    iov::{IovIterDest, IovIterSource},
    new_spinlock_irq,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::{Arc, Mutex, SpinLockIrq},
    uaccess::{UserPtr, UserSlice},
};

/// The size of every value read or written.
const VALUE_SIZE: usize = core::mem::size_of::<u64>();

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Invalid => EINVAL,
            Refusal::WouldBlock => EAGAIN,
            Refusal::Busy => EBUSY,
        }
    }
}

/// The poll mask for a set of [`Events`].
fn poll_mask(events: Events) -> bindings::__poll_t {
    let mut mask = 0;
    if events.contains(Events::READABLE) {
        mask |= bindings::POLLIN;
    }
    if events.contains(Events::WRITABLE) {
        mask |= bindings::POLLOUT;
    }
    if events.contains(Events::ERROR) {
        mask |= bindings::POLLERR;
    }
    mask
}

/// The `eventfd-id` of an open counter: unique among open counters and small, as upstream's IDA
/// makes it.  Released when the counter is freed.
struct Id {
    pool: Arc<Mutex<IdPool>>,
    id: usize,
}

impl Id {
    fn acquire(pool: &Arc<Mutex<IdPool>>) -> Result<Self> {
        let mut ids = pool.lock();
        let id = loop {
            if let Some(unused) = ids.find_unused_id(0) {
                break unused.acquire();
            }
            // Growing under the mutex is fine: nothing here is atomic context.
            let resizer = ids.grow_request().ok_or(ENOSPC)?.realloc(GFP_KERNEL)?;
            ids.grow(resizer);
        };
        Ok(Self {
            pool: pool.clone(),
            id,
        })
    }
}

impl Drop for Id {
    fn drop(&mut self) {
        self.pool.lock().release_id(self.id);
    }
}

/// An eventfd counter with a maximum, as created by each open.
///
/// Readers sleep on `readers` and writers on `writers`; pollers are on both.  A change is announced
/// on the queue of those it may let through, keyed with the poll events it raised.
#[pin_data]
pub(crate) struct EventFd {
    #[pin]
    counter: SpinLockIrq<Counter>,
    #[pin]
    readers: WaitQueue,
    #[pin]
    writers: WaitQueue,
    id: Id,
}

impl EventFd {
    /// A fresh counter, charged to the opener's memory cgroup.
    pub(crate) fn new(ids: &Arc<Mutex<IdPool>>) -> Result<Pin<KBox<Self>>> {
        let id = Id::acquire(ids)?;
        KBox::pin_init(
            try_pin_init!(Self {
                counter <- new_spinlock_irq!(Counter::new(), "eventfd_max::counter"),
                readers <- new_wait_queue!(c"eventfd_max::readers"),
                writers <- new_wait_queue!(c"eventfd_max::writers"),
                id,
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }

    /// Wakes the waiters that `events` may let through.
    fn announce(&self, events: Events) {
        let key = poll_mask(events);
        if events.contains(Events::READABLE) {
            self.readers.wake(key);
        }
        if events.contains(Events::WRITABLE) {
            self.writers.wake(key);
        }
    }

    /// Runs `op` on the counter, sleeping on `queue` while it would block, unless `nonblock`.
    fn until_done<R>(
        &self,
        queue: &WaitQueue,
        nonblock: bool,
        mut op: impl FnMut(&mut Counter) -> Result<(R, Events), Refusal>,
    ) -> Result<R> {
        let mut guard = self.counter.lock();
        loop {
            match op(&mut guard) {
                Ok((result, events)) => {
                    drop(guard);
                    self.announce(events);
                    return Ok(result);
                }
                Err(Refusal::WouldBlock) if !nonblock => {
                    // Interrupted, nothing done: restart (`SA_RESTART`) or `EINTR`.
                    if kernel::current!().signal_pending() {
                        return Err(ERESTARTSYS);
                    }
                    guard = queue.wait_interruptible(&self.counter, guard);
                }
                Err(refusal) => return Err(refusal.into()),
            }
        }
    }

    /// read(2): the count (or 1 in semaphore mode), waiting for a positive count.
    pub(crate) fn read_iter(&self, dest: &mut IovIterDest<'_>, nonblock: bool) -> Result<usize> {
        if dest.len() < VALUE_SIZE {
            return Err(EINVAL);
        }
        let taken = self.until_done(&self.readers, nonblock, Counter::read)?;
        // The copy may fault and sleep, so it runs unlocked; a buffer that cannot be written gets
        // EFAULT and the value goes back to the count rather than being lost.
        let copied = dest.copy_to_iter(&taken.value().to_ne_bytes()) == VALUE_SIZE;
        let mut counter = self.counter.lock();
        let (events, result) = if copied {
            (counter.delivered(taken), Ok(VALUE_SIZE))
        } else {
            (counter.restore(taken), Err(EFAULT))
        };
        drop(counter);
        self.announce(events);
        result
    }

    /// write(2): adds the value once it fits below the maximum.
    pub(crate) fn write_iter(&self, src: &mut IovIterSource<'_>, nonblock: bool) -> Result<usize> {
        let mut bytes = [0u8; VALUE_SIZE];
        if src.len() != VALUE_SIZE {
            return Err(EINVAL);
        }
        if src.copy_from_iter(&mut bytes) != VALUE_SIZE {
            return Err(EFAULT);
        }
        let value = u64::from_ne_bytes(bytes);
        self.until_done(&self.writers, nonblock, |counter| {
            counter.write(value).map(|events| ((), events))
        })?;
        Ok(VALUE_SIZE)
    }

    /// The in-kernel `eventfd_signal()`: never sleeps, so it may be called in atomic context.
    pub(crate) fn signal(&self, value: u64) -> u64 {
        let (added, events) = self.counter.lock().signal(value);
        self.announce(events);
        added
    }

    pub(crate) fn ioctl(&self, cmd: u32, arg: usize) -> Result<isize> {
        let user = UserPtr::from_addr(arg);
        match cmd {
            uapi::EFD_IOC_SET_MAXIMUM => {
                let maximum = UserSlice::new(user, VALUE_SIZE).reader().read::<u64>()?;
                let events = self.counter.lock().set_maximum(maximum)?;
                self.announce(events);
            }
            uapi::EFD_IOC_GET_MAXIMUM => {
                let maximum = self.counter.lock().maximum();
                UserSlice::new(user, VALUE_SIZE).writer().write(&maximum)?;
            }
            uapi::EFD_IOC_CONFIGURE => {
                let config = uapi::Config::read(user)?;
                if config.flags & !uapi::EFD_SEMAPHORE != 0 || config.reserved != 0 {
                    return Err(EINVAL);
                }
                let semaphore = config.flags & uapi::EFD_SEMAPHORE != 0;
                let mut counter = self.counter.lock();
                counter.configure(config.count, config.maximum, semaphore)?;
                let events = counter.readiness();
                drop(counter);
                self.announce(events);
            }
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }

    /// # Safety
    ///
    /// `table` is null or the poll table passed to the `poll` file operation of `file`, which is
    /// the file whose private data `self` is.
    pub(crate) unsafe fn poll(&self, file: &File, table: *mut bindings::poll_table) -> u32 {
        // SAFETY: By the contract; `self` is freed only when `file` is released.
        unsafe {
            self.readers.register(file, table);
            self.writers.register(file, table);
        }
        poll_mask(self.counter.lock().readiness())
    }

    /// Wakes pollers with `POLLHUP` when the file goes away, as `eventfd_release()` does.
    pub(crate) fn hang_up(&self) {
        self.readers.wake(bindings::POLLHUP);
        self.writers.wake(bindings::POLLHUP);
    }

    /// The eventfd fdinfo lines, byte for byte, then the maximum.
    pub(crate) fn show_fdinfo(&self, m: &SeqFile) {
        let counter = self.counter.lock().clone();
        seq_print!(
            m,
            "eventfd-count: {:16x}\neventfd-id: {}\neventfd-semaphore: {}\neventfd-maximum: {:16x}\n",
            counter.count(),
            self.id.id,
            u8::from(counter.semaphore()),
            counter.maximum(),
        );
    }
}
