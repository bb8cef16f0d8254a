// SPDX-License-Identifier: GPL-2.0

//! eventfd's `wqh`: one wait queue head per counter, whose spinlock also guards the count.
//!
//! `fs/eventfd.c` changes the count, wakes, and queues its sleepers under the head's lock, so one
//! lock orders all three and a write that wakes a sleeper costs one lock round trip.
//! [`WaitQueueLock`] is a lock backend whose state is that head: `Lock<Counter, WaitQueueLock>` is
//! eventfd's `wqh` with the count it guards, and the count is reachable only through a guard.
//!
//! Which lock call runs where, as in `fs/eventfd.c`:
//! - process context: [`lock_irq`], i.e. `spin_lock_irq()`; sleeping goes through
//!   `do_wait_intr_irq()`, as `wait_event_interruptible_locked_irq()` does, which drops and retakes
//!   the lock with `spin_unlock_irq()`/`spin_lock_irq()`;
//! - any context (the in-kernel signal, also from hard interrupts): [`lock_irqsave`].
//!
//! The kernel crate of 7.3 has no lock on a wait queue head and no keyed wake-up, so this calls
//! the exported functions through `kernel::bindings`; `Documentation/design.rst` lists the
//! abstractions that would replace this file.

use core::marker::PhantomData;
use kernel::{
    bindings,
    ffi::{c_ulong, c_void},
    prelude::*,
    sync::lock::{Backend, Guard, Lock},
    task::TASK_NORMAL,
    types::Opaque,
};

// `spin_lock_irq()` is `_raw_spin_lock_irq(&lock->rlock)` only when these are exported functions:
// with CONFIG_PREEMPTION and without PREEMPT_RT (every common distribution kernel); elsewhere they
// are inlined, or `spinlock_t` is a sleeping lock.
#[cfg(any(
    CONFIG_PREEMPT_RT,
    CONFIG_INLINE_SPIN_LOCK_IRQ,
    CONFIG_INLINE_SPIN_UNLOCK_IRQ,
    CONFIG_INLINE_SPIN_LOCK_IRQSAVE,
    CONFIG_INLINE_SPIN_UNLOCK_IRQRESTORE
))]
compile_error!("eventfd_max needs a kernel with CONFIG_PREEMPTION=y and CONFIG_PREEMPT_RT=n");

/// A lock backend whose state is a `wait_queue_head`, locked through the head's spinlock.
///
/// [`Lock::lock`] is `spin_lock_irq()`, for process context with interrupts enabled; code that may
/// run elsewhere takes the lock with [`lock_irqsave`].
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

    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut bindings::lock_class_key,
    ) {
        // SAFETY: `ptr` is valid for writes, `name` and `key` live forever (the caller's contract).
        unsafe { bindings::__init_waitqueue_head(ptr, name, key) }
    }

    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: `init` ran (the caller's contract), so the spinlock is initialised.
        unsafe { bindings::_raw_spin_lock_irq(rlock(ptr)) };
        IrqState::Enabled
    }

    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        // SAFETY: `init` ran (the caller's contract), so the spinlock is initialised.
        let locked = unsafe { bindings::spin_trylock_irq_disable(&raw mut (*ptr).lock) };
        (locked != 0).then_some(IrqState::Counted)
    }

    unsafe fn unlock(ptr: *mut Self::State, guard_state: &Self::GuardState) {
        // SAFETY: The caller owns the lock, which it took the way `guard_state` says.
        unsafe {
            match *guard_state {
                IrqState::Enabled => bindings::_raw_spin_unlock_irq(rlock(ptr)),
                IrqState::Saved(flags) => bindings::_raw_spin_unlock_irqrestore(rlock(ptr), flags),
                IrqState::Counted => bindings::spin_unlock_irq_enable(&raw mut (*ptr).lock),
            }
        }
    }

    unsafe fn relock(ptr: *mut Self::State, guard_state: &mut Self::GuardState) {
        // SAFETY: `init` ran, and the caller released the lock it took the way `guard_state` says.
        unsafe {
            match guard_state {
                IrqState::Enabled => bindings::_raw_spin_lock_irq(rlock(ptr)),
                IrqState::Saved(flags) => *flags = bindings::_raw_spin_lock_irqsave(rlock(ptr)),
                IrqState::Counted => bindings::spin_lock_irq_disable(&raw mut (*ptr).lock),
            }
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

/// A guard taken by `spin_lock_irq()` in process context, the only kind that may sleep on the
/// queue: `do_wait_intr_irq()` releases and retakes the lock with `spin_unlock_irq()` and
/// `spin_lock_irq()`.
///
/// # Invariants
///
/// The guard was returned by [`Lock::lock`], whose state is [`IrqState::Enabled`].
pub(crate) struct IrqGuard<'a, T>(Guard<'a, T, WaitQueueLock>);

/// `spin_lock_irq(&wqh.lock)`, for process context with interrupts enabled.
pub(crate) fn lock_irq<T>(lock: &Lock<T, WaitQueueLock>) -> IrqGuard<'_, T> {
    // INVARIANT: `Lock::lock` is `WaitQueueLock::lock`, i.e. `spin_lock_irq()`.
    IrqGuard(lock.lock())
}

/// `spin_lock_irqsave(&wqh.lock, flags)`, for any context.
pub(crate) fn lock_irqsave<T>(lock: &Lock<T, WaitQueueLock>) -> Guard<'_, T, WaitQueueLock> {
    // SAFETY: The lock exists, so `init` ran and its spinlock is initialised.
    let flags = unsafe { bindings::_raw_spin_lock_irqsave(rlock(head_of(lock))) };
    // SAFETY: The lock was just taken, with `spin_lock_irqsave()`, as the state says.
    unsafe { Guard::new(lock, IrqState::Saved(flags)) }
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
/// pollers whose events intersect `key`, at most one of them an exclusive (`EPOLLEXCLUSIVE`) one.
pub(crate) fn wake_locked<T>(guard: &Guard<'_, T, WaitQueueLock>, key: u32) {
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

/// `wake_up_poll(&wqh, key)`: [`wake_locked`] for a caller that does not hold the lock.
pub(crate) fn wake<T>(lock: &Lock<T, WaitQueueLock>, key: u32) {
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

/// One task's entry on the queue, as `DEFINE_WAIT()` makes it: the wake-up that wakes the task
/// also takes the entry off the queue (`autoremove_wake_function()`).
///
/// # Invariants
///
/// `entry` is initialised, and is on `head`'s queue or on none.
#[pin_data(PinnedDrop)]
pub(crate) struct Waiter<'a> {
    #[pin]
    entry: Opaque<bindings::wait_queue_entry>,
    head: *mut bindings::wait_queue_head,
    _lock: PhantomData<&'a ()>,
}

impl<'a> Waiter<'a> {
    /// An entry for the current task on the queue of `lock`, not yet queued.
    pub(crate) fn new<T>(lock: &'a Lock<T, WaitQueueLock>) -> impl PinInit<Self> + 'a {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes; `init_wait_entry()` makes it an unqueued entry
            // for the current task.
            entry <- Opaque::ffi_init(|slot| unsafe { bindings::init_wait_entry(slot, 0) }),
            head: head_of(lock),
            _lock: PhantomData,
        })
    }

    /// One round of `wait_event_interruptible_locked_irq()`: queues the task at the tail, and
    /// unless a signal is pending (`ERESTARTSYS`), releases the lock, sleeps until woken, and
    /// takes the lock again.  The caller re-checks its condition, then calls this again.
    pub(crate) fn wait<T>(self: Pin<&mut Self>, guard: &mut IrqGuard<'a, T>) -> Result {
        // A guard of another queue would leave this one unlocked.
        if !core::ptr::eq(head_of(guard.0.lock_ref()), self.head) {
            return Err(EINVAL);
        }
        // SAFETY: `entry` is initialised and pinned, and queued on this head or on none (type
        // invariant).  The head's lock is held, taken with `spin_lock_irq()` in process context
        // (`IrqGuard` invariant), which is how `do_wait_intr_irq()` releases and retakes it.
        let ret = unsafe { bindings::do_wait_intr_irq(self.head, self.entry.get()) };
        // INVARIANT: the entry is now on this head's queue, or off it if a wake-up removed it.
        kernel::error::to_result(ret)
    }
}

#[pinned_drop]
impl PinnedDrop for Waiter<'_> {
    /// Takes the entry off the queue if no wake-up did, and sets the task running, as
    /// `finish_wait()` does, which takes the lock: the guard must be gone by now.
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `entry` is initialised and on this head's queue or on none (type invariant); the
        // head lives for `'a`.
        unsafe { bindings::finish_wait(self.head, self.entry.get()) };
    }
}
