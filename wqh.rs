// SPDX-License-Identifier: GPL-2.0

//! eventfd's `wqh`: one wait queue head per counter, whose spinlock also guards the count.
//!
//! `fs/eventfd.c` changes the count, wakes, and queues its sleepers under the head's lock, so one
//! lock orders all three and a write that wakes a sleeper costs one lock round trip.
//! [`WaitQueueLock`] is a lock backend whose state is that head: `Lock<Counter, WaitQueueLock>` is
//! eventfd's `wqh` with the count it guards, and the count is reachable only through a guard.
//!
//! Which lock call runs where, as in `fs/eventfd.c`:
//! - process context, interrupts enabled: [`lock_irq`], i.e. `spin_lock_irq()`; sleeping goes
//!   through [`wait_event_interruptible_locked_irq`], which drops and retakes the lock with
//!   `spin_unlock_irq()`/`spin_lock_irq()`;
//! - any context (the in-kernel signal, also from hard interrupts): [`Lock::lock`], i.e.
//!   `spin_lock_irqsave()`.
//!
//! The kernel crate of 7.3 has no lock on a wait queue head and no keyed wake-up, so this calls
//! the exported functions through `kernel::bindings`; `Documentation/design.rst` lists the
//! abstractions that would replace this file.

use kernel::{
    bindings,
    ffi::{
        c_char,
        c_ulong,
        c_void, //
    },
    prelude::*,
    sync::lock::{
        Backend,
        Guard,
        Lock, //
    },
    task::TASK_NORMAL,
    types::Opaque, //
};

// `spin_lock_irq()` is `_raw_spin_lock_irq(&lock->rlock)` only where these are exported functions:
// with CONFIG_PREEMPTION (every common distribution kernel), on SMP or with spinlock debugging, and
// without PREEMPT_RT; elsewhere they are inlined, or `spinlock_t` is a sleeping lock.
#[cfg(any(
    CONFIG_PREEMPT_RT,
    CONFIG_INLINE_SPIN_LOCK_IRQ,
    CONFIG_INLINE_SPIN_UNLOCK_IRQ,
    CONFIG_INLINE_SPIN_LOCK_IRQSAVE,
    CONFIG_INLINE_SPIN_UNLOCK_IRQRESTORE,
    all(not(CONFIG_SMP), not(CONFIG_DEBUG_SPINLOCK))
))]
compile_error!(
    "eventfd_max needs the kernel to export _raw_spin_{lock,unlock}_irq{,save,restore}: \
     CONFIG_PREEMPTION=y, CONFIG_PREEMPT_RT=n, and CONFIG_SMP=y or CONFIG_DEBUG_SPINLOCK=y"
);

/// A lock backend whose state is a `wait_queue_head`, locked through the head's spinlock.
///
/// [`Lock::lock`] is `spin_lock_irqsave()`, right in any context; process-context paths with
/// interrupts enabled take the cheaper [`lock_irq`].
pub(crate) struct WaitQueueLock;

/// How a guard took the lock, so that its unlock restores the interrupt state.
pub(crate) enum IrqState {
    /// `spin_lock_irq()`: interrupts were enabled, and `spin_unlock_irq()` enables them again.
    Enabled,
    /// `spin_lock_irqsave()`: the flags `spin_unlock_irqrestore()` restores.
    Saved(c_ulong),
    /// The kernel crate's refcounted `spin_trylock_irq_disable()`, the only irq-safe trylock it
    /// exports.
    Counted,
}

/// The head's `raw_spinlock_t`, as `spinlock_check()` finds it: the first member of the union that
/// `spinlock_t` is outside PREEMPT_RT (bindgen sees the union as an opaque blob).
///
/// # Safety
///
/// `head` points to a `wait_queue_head`.
unsafe fn rlock(head: *mut bindings::wait_queue_head) -> *mut bindings::raw_spinlock {
    // SAFETY: `head` points to a `wait_queue_head` by the contract, so `lock` is in bounds.
    unsafe { (&raw mut (*head).lock).cast() }
}

// SAFETY: `_raw_spin_lock_irq()`, `_raw_spin_lock_irqsave()` and `spin_trylock_irq_disable()` each
// give one CPU the head's spinlock until the matching unlock, which `IrqState` selects; `relock`
// takes it again the way it was first taken.
unsafe impl Backend for WaitQueueLock {
    type State = bindings::wait_queue_head;
    type GuardState = IrqState;

    unsafe fn init(ptr: *mut Self::State, name: *const c_char, key: *mut bindings::lock_class_key) {
        // SAFETY: `ptr` is valid for writes, `name` and `key` live forever (the caller's contract).
        // The head's list is self-referential; the lock is pinned, so it stays put.
        unsafe { bindings::__init_waitqueue_head(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: `ptr` points to the lock's head (the caller's contract).
        let rlock = unsafe { rlock(ptr) };
        // SAFETY: `init` ran (the caller's contract), so the spinlock is initialised.
        IrqState::Saved(unsafe { bindings::_raw_spin_lock_irqsave(rlock) })
    }

    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        // SAFETY: `init` ran (the caller's contract), so the spinlock is initialised.
        let locked = unsafe { bindings::spin_trylock_irq_disable(&raw mut (*ptr).lock) };
        (locked != 0).then_some(IrqState::Counted)
    }

    unsafe fn unlock(ptr: *mut Self::State, guard_state: &Self::GuardState) {
        // SAFETY: `ptr` points to the lock's head (the caller's contract).
        let rlock = unsafe { rlock(ptr) };
        match *guard_state {
            // SAFETY: The caller owns the lock, taken by `spin_lock_irq()` as the state says.
            IrqState::Enabled => unsafe { bindings::_raw_spin_unlock_irq(rlock) },
            // SAFETY: The caller owns the lock, taken by `spin_lock_irqsave()` with these flags.
            IrqState::Saved(flags) => unsafe {
                bindings::_raw_spin_unlock_irqrestore(rlock, flags)
            },
            // SAFETY: The caller owns the lock, taken by `spin_trylock_irq_disable()`.
            IrqState::Counted => unsafe { bindings::spin_unlock_irq_enable(&raw mut (*ptr).lock) },
        }
    }

    unsafe fn relock(ptr: *mut Self::State, guard_state: &mut Self::GuardState) {
        // SAFETY: `ptr` points to the lock's head (the caller's contract).
        let rlock = unsafe { rlock(ptr) };
        match guard_state {
            // SAFETY: `init` ran and the caller released the lock it took this way.
            IrqState::Enabled => unsafe { bindings::_raw_spin_lock_irq(rlock) },
            // SAFETY: As above.
            IrqState::Saved(flags) => *flags = unsafe { bindings::_raw_spin_lock_irqsave(rlock) },
            // SAFETY: As above.
            IrqState::Counted => unsafe { bindings::spin_lock_irq_disable(&raw mut (*ptr).lock) },
        }
    }

    unsafe fn assert_is_held(ptr: *mut Self::State) {
        // `lockdep_assert_held()` is empty without lockdep: no call to the helper then, as C has
        // none (`Guard::new` asserts on every lock).
        #[cfg(CONFIG_LOCKDEP)]
        // SAFETY: `init` ran (the caller's contract), so the spinlock is initialised.
        unsafe {
            bindings::spin_assert_is_held(&raw mut (*ptr).lock)
        };
        #[cfg(not(CONFIG_LOCKDEP))]
        let _ = ptr;
    }
}

/// The `wait_queue_head` that is the state of `lock`.
fn head_of<T>(lock: &Lock<T, WaitQueueLock>) -> *mut bindings::wait_queue_head {
    // `Lock` is `repr(C)` with its state, an `Opaque<wait_queue_head>`, as its first field (the
    // layout `Lock::from_raw()` relies on too), so the lock's address is the head's.
    core::ptr::from_ref(lock).cast_mut().cast()
}

/// A guard taken by `spin_lock_irq()`, the only kind that may sleep on the queue:
/// `do_wait_intr_irq()` releases and retakes the lock with `spin_unlock_irq()` and
/// `spin_lock_irq()`.
///
/// # Invariants
///
/// The guard's state is [`IrqState::Enabled`]: the lock was taken by `_raw_spin_lock_irq()`.
pub(crate) struct IrqGuard<'a, T>(Guard<'a, T, WaitQueueLock>);

/// `spin_lock_irq(&wqh.lock)`: for process context with interrupts enabled, which it enables
/// again at unlock, as its C namesake does.
pub(crate) fn lock_irq<T>(lock: &Lock<T, WaitQueueLock>) -> IrqGuard<'_, T> {
    let head = head_of(lock);
    // SAFETY: `head` is the lock's head.
    let rlock = unsafe { rlock(head) };
    // SAFETY: The lock exists, so `init` ran and its spinlock is initialised.
    unsafe { bindings::_raw_spin_lock_irq(rlock) };
    // INVARIANT: taken by `_raw_spin_lock_irq()`, as the state says.
    // SAFETY: The lock was just taken, the way the state says.
    IrqGuard(unsafe { Guard::new(lock, IrqState::Enabled) })
}

impl<'a, T> IrqGuard<'a, T> {
    /// The guard itself, for what any guard may do.
    pub(crate) fn guard(&self) -> &Guard<'a, T, WaitQueueLock> {
        &self.0
    }
}

impl<T> core::ops::Deref for IrqGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Unpin> core::ops::DerefMut for IrqGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

/// `if (waitqueue_active(&wqh)) wake_up_locked_poll(&wqh, key)`: wakes every sleeper, and the
/// pollers whose events intersect `key`, at most one of them an exclusive (`EPOLLEXCLUSIVE`) one
/// when `key` holds only one of `EPOLLIN` and `EPOLLOUT` (`ep_poll_callback()`).
/// `key` is never 0, which `pollwake()` and `ep_poll_callback()` take for "every event".
pub(crate) fn wake_up_locked_poll<T>(guard: &Guard<'_, T, WaitQueueLock>, key: u32) {
    let head = head_of(guard.lock_ref());
    // SAFETY: The guard holds the lock, under which the queue's list is changed, so reading it is
    // race-free; `waitqueue_active()` is `!list_empty(&wqh->head)`.
    let active = unsafe {
        let list = &raw mut (*head).head;
        (*list).next != list
    };
    if active {
        // SAFETY: The head is initialised and its lock is held, as `__wake_up_locked_key()` asks.
        // A poll key is passed as a pointer-sized integer (`poll_to_key()`), never dereferenced.
        unsafe { bindings::__wake_up_locked_key(head, TASK_NORMAL, key as usize as *mut c_void) };
    }
}

/// `wake_up_poll(&wqh, key)`: [`wake_up_locked_poll`] for a caller that does not hold the lock.
pub(crate) fn wake_up_poll<T>(lock: &Lock<T, WaitQueueLock>, key: u32) {
    // SAFETY: The head is initialised; `__wake_up()` takes its lock.  The key is passed as above.
    unsafe { bindings::__wake_up(head_of(lock), TASK_NORMAL, 1, key as usize as *mut c_void) };
}

/// `poll_wait(file, &wqh, table)`: registers a poller on the queue.
///
/// # Safety
///
/// `table` is null or the poll table passed to the `poll` file operation of `file`, and `lock`
/// lives until `file` is released.
pub(crate) unsafe fn poll_wait<T>(
    lock: &Lock<T, WaitQueueLock>,
    file: *mut bindings::file,
    table: *mut bindings::poll_table,
) {
    // SAFETY: The head is initialised and outlives every poll entry on it: poll and select hold a
    // reference to `file`, and epoll removes its entries before the file is released, which the
    // caller guarantees `lock` outlives.  `table` is valid or null by the contract.
    unsafe { bindings::poll_wait(file, head_of(lock), table) };
}

/// The current task's entry on a queue, as `DEFINE_WAIT()` makes it: the wake-up that wakes the
/// task also takes the entry off the queue (`autoremove_wake_function()`).
///
/// # Invariants
///
/// `entry` is initialised, its `private` is the task that made it (a `Waiter` is not `Send`, its
/// `head` being a raw pointer), and it is on `head`'s queue or on none.
#[pin_data(PinnedDrop)]
struct Waiter {
    #[pin]
    entry: Opaque<bindings::wait_queue_entry>,
    head: *mut bindings::wait_queue_head,
}

impl Waiter {
    /// An entry for the current task on the queue `head`, not yet queued.
    fn new(head: *mut bindings::wait_queue_head) -> impl PinInit<Self> {
        pin_init!(Self {
            // INVARIANT: `init_wait_entry()` makes an unqueued entry for the current task.
            // SAFETY: `slot` is valid for writes and pinned: its list head points to itself.
            entry <- Opaque::ffi_init(|slot| unsafe { bindings::init_wait_entry(slot, 0) }),
            head,
        })
    }
}

#[pinned_drop]
impl PinnedDrop for Waiter {
    /// Takes the entry off the queue if no wake-up did, and sets the task running, as
    /// `finish_wait()` does, which takes the lock: the guard is gone by now.
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `entry` is initialised and on `head`'s queue or on none (type invariant), and the
        // head outlives the waiter (`wait_event_interruptible_locked_irq` borrows its lock).
        unsafe { bindings::finish_wait(self.head, self.entry.get()) };
    }
}

/// `wait_event_interruptible_locked_irq(wqh, cond)`, then the unlock: queues the task at the tail
/// and sleeps until `cond`, run under the lock after every wake-up, returns `Some`; a pending
/// signal ends the wait with `ERESTARTSYS`.  The lock is released before the entry leaves the
/// queue, as `finish_wait()` takes it.
pub(crate) fn wait_event_interruptible_locked_irq<T: Unpin, R>(
    guard: IrqGuard<'_, T>,
    mut cond: impl FnMut(&mut IrqGuard<'_, T>) -> Option<Result<R>>,
) -> Result<R> {
    pin_init::stack_pin_init!(let waiter = Waiter::new(head_of(guard.0.lock_ref())));
    // Declared after `waiter`, so dropped before it.
    let mut guard = guard;
    loop {
        // SAFETY: `entry` is initialised, pinned, its `private` is the current task, and it is on
        // this head's queue or on none (`Waiter` invariants).  The head's lock is held, taken by
        // `_raw_spin_lock_irq()` (`IrqGuard` invariant), which `do_wait_intr_irq()`'s
        // `spin_unlock_irq()`/`spin_lock_irq()` pair with.
        let ret = unsafe { bindings::do_wait_intr_irq(waiter.head, waiter.entry.get()) };
        // INVARIANT: the entry is now on this head's queue, or off it if a wake-up removed it.
        kernel::error::to_result(ret)?;
        if let Some(result) = cond(&mut guard) {
            return result;
        }
    }
}
