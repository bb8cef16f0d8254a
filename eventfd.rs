// SPDX-License-Identifier: GPL-2.0

//! One open of `/dev/eventfd_max`: `fs/eventfd.c`'s `struct eventfd_ctx`, whose wait queue's lock
//! guards the pure [`Counter`], and its file operations.

use crate::{
    counter::{Counter, Events, Refusal},
    uapi,
    wqh::{self, IrqGuard, WaitQueueLock, Waiter},
};
use kernel::{
    alloc::flags::GFP_KERNEL_ACCOUNT,
    bindings,
    iov::IovIterDest,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::lock::Lock,
    types::Opaque,
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
fn poll_mask(events: Events) -> u32 {
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

/// eventfd's `static DEFINE_IDA(eventfd_ida)`: the ids fdinfo shows, unique among open counters
/// and reused after close.  (The kernel crate of 7.3 has no IDA; its `IdPool` needs a lock of its
/// own around it.)
///
/// # Invariants
///
/// `IDS` is initialised from [`Ids::new`] to the drop of what it returns, which module init and
/// exit do before the device exists and after it is gone; every counter lives in between, as its
/// file holds the module.
pub(crate) struct Ida(Opaque<bindings::ida>);

// SAFETY: The IDA functions take the IDA's own lock, so it may be used from any thread.
unsafe impl Sync for Ida {}

static IDS: Ida = Ida(Opaque::uninit());

/// [`IDS`] while it is initialised: made by module init, dropped by module exit.
pub(crate) struct Ids(());

impl Ids {
    /// `DEFINE_IDA()`.  Only one may exist at a time.
    pub(crate) fn new() -> Self {
        // SAFETY: Module init runs this once, before the device exists, so nothing else uses
        // `IDS`.  `ida_init()` is `xa_init_flags(&ida->xa, IDA_INIT_FLAGS)`, and
        // `IDA_INIT_FLAGS` is `XA_FLAGS_ALLOC`.
        unsafe { bindings::xa_init_flags(&raw mut (*IDS.0.get()).xa, bindings::XA_FLAGS_ALLOC) };
        // INVARIANT: initialised.
        Self(())
    }
}

impl Drop for Ids {
    fn drop(&mut self) {
        // SAFETY: `IDS` is initialised (type invariant), and module exit drops this after the
        // device, when no counter is left.
        unsafe { bindings::ida_destroy(IDS.0.get()) };
    }
}

/// The `eventfd-id` of one counter, freed with it.
struct Id(u32);

impl Id {
    /// `ida_alloc(&eventfd_ida, GFP_KERNEL)`; unlike eventfd, which then shows a negative id, an
    /// open fails when no id can be had.
    fn new() -> Result<Self> {
        // SAFETY: `IDS` is initialised while counters are made (`Ida` invariant).
        let id =
            unsafe { bindings::ida_alloc_range(IDS.0.get(), 0, u32::MAX, bindings::GFP_KERNEL) };
        kernel::error::to_result(id)?;
        Ok(Self(id.unsigned_abs()))
    }
}

impl Drop for Id {
    fn drop(&mut self) {
        // SAFETY: `IDS` is initialised while counters live (`Ida` invariant), and the id was
        // allocated from it.
        unsafe { bindings::ida_free(IDS.0.get(), self.0) };
    }
}

/// An eventfd counter with a maximum, as created by each open: `struct eventfd_ctx`.
#[pin_data]
pub(crate) struct EventFd {
    /// eventfd's `wqh`: readers, writers and pollers wait on it, and its lock guards the count.
    #[pin]
    wqh: Lock<Counter, WaitQueueLock>,
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
                id: Id::new()?,
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }

    /// `wake_up_locked_poll(&wqh, key)` with the key of `events`.
    fn wake(guard: &IrqGuard<'_, Counter>, events: Events) {
        wqh::wake_locked(guard.guard(), poll_mask(events));
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
                Self::wake(&guard, events);
                Ok(result)
            }
            Err(Refusal::WouldBlock) if !nonblock => self.wait_until_done(guard, op),
            Err(refusal) => Err(refusal.into()),
        }
    }

    /// The sleeping part of [`EventFd::until_done`], as `wait_event_interruptible_locked_irq()`
    /// runs it: queued at the tail, woken by any wake-up of the queue, `op` re-checked under the
    /// lock; a pending signal ends it with nothing done (`ERESTARTSYS`).
    #[inline(never)]
    fn wait_until_done<'a, R>(
        &'a self,
        guard: IrqGuard<'a, Counter>,
        mut op: impl FnMut(&mut Counter) -> Result<(R, Events), Refusal>,
    ) -> Result<R> {
        pin_init::stack_pin_init!(let waiter = Waiter::new(&self.wqh));
        // Declared after `waiter`, so dropped first: `waiter` leaves the queue with
        // `finish_wait()`, which takes the lock.
        let mut guard = guard;
        loop {
            waiter.as_mut().wait(&mut guard)?;
            match op(&mut guard) {
                Ok((result, events)) => {
                    Self::wake(&guard, events);
                    return Ok(result);
                }
                Err(Refusal::WouldBlock) => {}
                Err(refusal) => return Err(refusal.into()),
            }
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
        let events = guard.restore(value);
        Self::wake(&guard, events);
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

    /// The in-kernel `eventfd_signal()`: never sleeps, so it may be called in any context.
    pub(crate) fn signal(&self, value: u64) -> u64 {
        let mut guard = wqh::lock_irqsave(&self.wqh);
        let (added, events) = guard.signal(value);
        wqh::wake_locked(&guard, poll_mask(events));
        added
    }

    /// The ioctls of `uapi/linux/eventfd_max.h`.
    ///
    /// Errors: `EFAULT` for an argument that cannot be copied, `EINVAL` for a maximum at or below
    /// the count or a configuration out of range, `EBUSY` for a configuration after first use,
    /// `ENOTTY` for any other command.
    pub(crate) fn ioctl(&self, cmd: u32, arg: usize) -> Result<isize> {
        let user = UserPtr::from_addr(arg);
        match cmd {
            uapi::EFD_IOC_SET_MAXIMUM => {
                let maximum = UserSlice::new(user, VALUE_SIZE).reader().read::<u64>()?;
                let mut guard = wqh::lock_irq(&self.wqh);
                let events = guard.set_maximum(maximum)?;
                Self::wake(&guard, events);
            }
            uapi::EFD_IOC_GET_MAXIMUM => {
                let maximum = wqh::lock_irq(&self.wqh).maximum();
                UserSlice::new(user, VALUE_SIZE).writer().write(&maximum)?;
            }
            uapi::EFD_IOC_CONFIGURE => {
                let config = uapi::Config::read(user)?;
                if config.flags & !uapi::EFD_SEMAPHORE != 0 || config.reserved != 0 {
                    return Err(EINVAL);
                }
                let semaphore = config.flags & uapi::EFD_SEMAPHORE != 0;
                let mut guard = wqh::lock_irq(&self.wqh);
                let events = guard.configure(config.count, config.maximum, semaphore)?;
                Self::wake(&guard, events);
            }
            _ => return Err(ENOTTY),
        }
        Ok(0)
    }

    /// poll(2): registers on the queue, then reads the readiness under the lock (see
    /// `Documentation/design.rst` for why not locklessly, as eventfd does).
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
        poll_mask(wqh::lock_irq(&self.wqh).readiness())
    }

    /// Wakes pollers with `EPOLLHUP` when the file goes away, as `eventfd_release()` does.
    pub(crate) fn release(&self) {
        wqh::wake(&self.wqh, bindings::POLLHUP);
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
