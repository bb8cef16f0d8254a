// SPDX-License-Identifier: GPL-2.0

//! One open of `/dev/eventfd_max`: `fs/eventfd.c`'s `struct eventfd_ctx`, whose wait queue's lock
//! guards the pure [`Counter`], and its file operations.
//!
//! What `fs/eventfd.c` has and this does not: the `kref` (nothing else in the kernel can hold these
//! counters: `eventfd_ctx_fileget()` rejects them, so the file's reference is the only one) and
//! `current->in_eventfd` (no wake callback can come back into a counter no one else can signal).

use crate::{
    counter::{
        Counter,
        Events,
        Refusal, //
    },
    uapi,
    wqh::{
        self,
        WaitQueueLock, //
    },
};
use kernel::{
    alloc::flags::GFP_KERNEL_ACCOUNT,
    bindings,
    iov::IovIterDest,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        lock::{
            Guard,
            Lock, //
        },
    },
    types::Opaque,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
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

// A set of [`Events`] is its own poll mask.
const _: () = assert!(
    Events::READABLE.bits() == bindings::POLLIN
        && Events::WRITABLE.bits() == bindings::POLLOUT
        && Events::ERROR.bits() == bindings::POLLERR
);

/// `IDA_INIT_FLAGS` (`include/linux/idr.h`), whose `XA_FLAGS_LOCK_IRQ` is a cast bindgen drops.
const IDA_INIT_FLAGS: bindings::gfp_t =
    bindings::xa_lock_type_XA_LOCK_IRQ as bindings::gfp_t | bindings::XA_FLAGS_ALLOC;

/// eventfd's `static DEFINE_IDA(eventfd_ida)`: the ids fdinfo shows, unique among open counters
/// and reused after close.  (The kernel crate of 7.3 has no IDA; its `IdPool` needs a lock of its
/// own around it.)
struct Ida(Opaque<bindings::ida>);

// SAFETY: The IDA functions take the IDA's own lock, so it may be used from any thread.
unsafe impl Sync for Ida {}

static IDS: Ida = Ida(Opaque::uninit());

/// [`IDS`] while it is initialised: made by module init, dropped by module exit.
///
/// # Invariants
///
/// While an `Ids` exists, `IDS` is initialised, and only one `Ids` exists.  Every counter lives
/// while it does: module init makes it before the device, module exit drops it after, and each
/// open file holds the module.
pub(crate) struct Ids(());

impl Ids {
    /// `DEFINE_IDA()`.
    ///
    /// # Safety
    ///
    /// Called at most once per module load, before the device exists; the value is dropped after
    /// the device is gone.
    pub(crate) unsafe fn new() -> Self {
        // SAFETY: By the contract nothing else uses `IDS` yet.  `ida_init()` is
        // `xa_init_flags(&ida->xa, IDA_INIT_FLAGS)`.
        unsafe { bindings::xa_init_flags(&raw mut (*IDS.0.get()).xa, IDA_INIT_FLAGS) };
        // INVARIANT: initialised, once, before the device exists (the contract).
        Self(())
    }
}

impl Drop for Ids {
    fn drop(&mut self) {
        // SAFETY: `IDS` is initialised (type invariant), and no counter is left to use it.
        unsafe { bindings::ida_destroy(IDS.0.get()) };
    }
}

/// The `eventfd-id` of one counter, freed with it.
///
/// # Invariants
///
/// `self.0` was allocated from `IDS` and is not yet freed.
struct Id(u32);

impl Id {
    /// `ida_alloc(&eventfd_ida, GFP_KERNEL)`; unlike eventfd, which then shows a negative id, an
    /// open fails when no id can be had.
    fn new() -> Result<Self> {
        // SAFETY: `IDS` is initialised while counters are made (`Ids` invariant).
        let id =
            unsafe { bindings::ida_alloc_range(IDS.0.get(), 0, u32::MAX, bindings::GFP_KERNEL) };
        kernel::error::to_result(id)?;
        // INVARIANT: just allocated.
        Ok(Self(u32::try_from(id)?))
    }
}

impl Drop for Id {
    fn drop(&mut self) {
        // SAFETY: `IDS` is initialised while counters live (`Ids` invariant), and the id was
        // allocated from it (type invariant).
        unsafe { bindings::ida_free(IDS.0.get(), self.0) };
    }
}

/// An eventfd counter with a maximum, as created by each open: `struct eventfd_ctx`.
#[pin_data]
pub(crate) struct EventFd {
    /// eventfd's `wqh`: readers, writers and pollers wait on it, and its lock guards the count.
    #[pin]
    wqh: Lock<Counter, WaitQueueLock>,
    /// The counter's readiness as a poll mask, for [`EventFd::poll`] to read without the lock, as
    /// `eventfd_poll()` reads the count: stored under the lock after every change.  One word
    /// where the readiness depends on two (count and maximum), so a lockless read sees the
    /// readiness of a state that existed.
    ready: Atomic<u32>,
    id: Id,
}

impl EventFd {
    /// A fresh counter, charged to the opener's memory cgroup.
    pub(crate) fn new() -> Result<Pin<KBox<Self>>> {
        KBox::pin_init(
            try_pin_init!(Self {
                wqh <- Lock::new(
                    Counter::new(),
                    c"eventfd_max::wqh",
                    kernel::static_lock_class!()
                ),
                ready: Atomic::new(Counter::new().readiness().bits()),
                id: Id::new()?,
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }

    /// After a change of the counter under `guard`: publishes its readiness for [`Self::poll`],
    /// then `wake_up_locked_poll(&wqh, key)` with the key of `events`, if any: one wake-up for
    /// `EPOLLIN` and one for `EPOLLOUT`, as `ep_poll_callback()` passes a key holding both to every
    /// `EPOLLEXCLUSIVE` waiter, not to one.
    fn changed(&self, guard: &Guard<'_, Counter, WaitQueueLock>, events: Events) {
        self.ready.store(guard.readiness().bits(), Relaxed);
        for key in [
            events.without(Events::WRITABLE),
            events.without(Events::READABLE),
        ] {
            if key != Events::NONE {
                wqh::wake_up_locked_poll(guard, key.bits());
            }
        }
    }

    /// Runs `op` on the counter under the lock and wakes with the key it returns; while `op`
    /// would block, returns `EAGAIN` if `nonblock`, else sleeps until it does not.
    fn until_done<R>(
        &self,
        nonblock: bool,
        mut op: impl FnMut(&mut Counter) -> Result<(R, Events), Refusal>,
    ) -> Result<R> {
        let mut guard = wqh::lock_irq(&self.wqh);
        match op(&mut guard) {
            Ok((result, events)) => {
                self.changed(guard.guard(), events);
                Ok(result)
            }
            Err(Refusal::WouldBlock) if !nonblock => {
                wqh::wait_event_interruptible_locked_irq(guard, |guard| match op(guard) {
                    Ok((result, events)) => {
                        self.changed(guard.guard(), events);
                        Some(Ok(result))
                    }
                    Err(Refusal::WouldBlock) => None,
                    Err(refusal) => Some(Err(refusal.into())),
                })
            }
            Err(refusal) => Err(refusal.into()),
        }
    }

    /// read(2): the count (or 1 in semaphore mode), waiting for a positive count.
    ///
    /// Errors: `EINVAL` for a buffer under 8 bytes, `EAGAIN` when the count is 0 and `nonblock`,
    /// `ERESTARTSYS` when a signal ends the wait, `EFAULT` when the buffer cannot be written; the
    /// value then goes back to the count.
    pub(crate) fn read(&self, dest: &mut IovIterDest<'_>, nonblock: bool) -> Result<usize> {
        if dest.len() < VALUE_SIZE {
            return Err(EINVAL);
        }
        let value = self.until_done(nonblock, Counter::read)?;
        // Copied unlocked, as it may fault and sleep.
        if dest.copy_to_iter(&value.to_ne_bytes()) != VALUE_SIZE {
            self.give_back(value);
            return Err(EFAULT);
        }
        Ok(VALUE_SIZE)
    }

    /// A read's copy faulted: its value goes back to the count, where eventfd drops it.
    #[cold]
    fn give_back(&self, value: u64) {
        let mut guard = wqh::lock_irq(&self.wqh);
        let events = guard.give_back(value);
        self.changed(guard.guard(), events);
    }

    /// write(2) of the 8 bytes at `buf`: adds the value once it fits below the maximum.
    ///
    /// Errors: `EINVAL` for a length other than 8 or a value at or above the maximum, `EFAULT`
    /// when the buffer cannot be read, `EAGAIN` when the value does not fit and `nonblock`,
    /// `ERESTARTSYS` when a signal ends the wait.
    pub(crate) fn write(&self, buf: UserPtr, len: usize, nonblock: bool) -> Result<usize> {
        if len != VALUE_SIZE {
            return Err(EINVAL);
        }
        let value = UserSlice::new(buf, VALUE_SIZE).reader().read::<u64>()?;
        self.until_done(nonblock, |counter| {
            counter.write(value).map(|events| ((), events))
        })?;
        Ok(VALUE_SIZE)
    }

    /// The in-kernel signal, `eventfd_signal_mask()` adding `value` rather than 1: never sleeps,
    /// and takes the lock with `spin_lock_irqsave()`, so it may be called in any context.
    pub(crate) fn signal(&self, value: u64) {
        let mut guard = self.wqh.lock();
        let (_, events) = guard.signal(value);
        self.changed(&guard, events);
    }

    /// The ioctls of `uapi/linux/eventfd_max.h`.
    ///
    /// Errors: `EFAULT` for an argument that cannot be copied, `EINVAL` for a maximum at or below
    /// the count or a configuration out of range, `EBUSY` for a configuration after first use,
    /// `ENOTTY` for any other command.
    pub(crate) fn ioctl(&self, cmd: u32, arg: usize) -> Result {
        let user = UserPtr::from_addr(arg);
        match cmd {
            uapi::EFD_IOC_SET_MAXIMUM => {
                let maximum = UserSlice::new(user, VALUE_SIZE).reader().read::<u64>()?;
                let mut guard = wqh::lock_irq(&self.wqh);
                let events = guard.set_maximum(maximum)?;
                self.changed(guard.guard(), events);
            }
            uapi::EFD_IOC_GET_MAXIMUM => {
                let maximum = wqh::lock_irq(&self.wqh).maximum();
                UserSlice::new(user, VALUE_SIZE).writer().write(&maximum)?;
            }
            uapi::EFD_IOC_CONFIGURE => {
                let config = uapi::Config::read(user)?;
                if config.flags & !bindings::EFD_SEMAPHORE != 0 || config.reserved != 0 {
                    return Err(EINVAL);
                }
                let semaphore = config.flags & bindings::EFD_SEMAPHORE != 0;
                let mut guard = wqh::lock_irq(&self.wqh);
                let events = guard.configure(config.count, config.maximum, semaphore)?;
                self.changed(guard.guard(), events);
            }
            _ => return Err(ENOTTY),
        }
        Ok(())
    }

    /// poll(2): registers on the queue, then reads the readiness without the lock, as
    /// `eventfd_poll()` reads the count.
    ///
    /// # Safety
    ///
    /// `table` is null or the poll table passed to the `poll` file operation of `file`, whose
    /// private data `self` is.
    pub(crate) unsafe fn poll(
        &self,
        file: *mut bindings::file,
        table: *mut bindings::poll_table,
    ) -> u32 {
        // SAFETY: By the contract; `self` is freed only when `file` is released.
        unsafe { wqh::poll_wait(&self.wqh, file, table) };
        // If the caller will sleep, `poll_wait()` took the lock to queue it, and this load cannot
        // move above that acquire: a change it misses comes after the caller was queued, so that
        // change wakes it (`eventfd_poll()`'s argument; `Documentation/design.rst`).
        self.ready.load(Relaxed)
    }

    /// `wake_up_poll(&ctx->wqh, EPOLLHUP)`, as `eventfd_release()` does.  Only for parity: at
    /// `->release` no poller is left (epoll detached in `eventpoll_release()`, poll and select
    /// hold the file).
    pub(crate) fn release(&self) {
        wqh::wake_up_poll(&self.wqh, bindings::POLLHUP);
    }

    /// The eventfd fdinfo lines, byte for byte, then the maximum.
    pub(crate) fn show_fdinfo(&self, m: &SeqFile) {
        let counter = wqh::lock_irq(&self.wqh).clone();
        seq_print!(
            m,
            "eventfd-count: {:16x}\neventfd-id: {}\neventfd-semaphore: {}\neventfd-maximum: {:16x}\n",
            counter.count(),
            self.id.0,
            u8::from(counter.semaphore()),
            counter.maximum(),
        );
    }
}
