// SPDX-License-Identifier: GPL-2.0

//! A wait queue whose wake-ups carry a poll key.
//!
//! `kernel::sync::CondVar` wakes with a null key, so every epoll entry on the queue is woken for
//! every event, and `PollCondVar` pays a `synchronize_rcu()` when dropped, i.e. on every close.
//! `fs/eventfd.c` needs neither: its queue lives exactly as long as the file and it wakes with
//! `EPOLLIN` or `EPOLLOUT` so `ep_poll_callback()` skips entries that did not ask for the event.
//! This is that queue; `Documentation/design.rst` describes the `CondVar` extension that would
//! make it unnecessary.

use kernel::{
    bindings,
    fs::File,
    prelude::*,
    sync::{
        lock::{Backend, Guard, Lock},
        LockClassKey,
    },
    task::{TASK_INTERRUPTIBLE, TASK_NORMAL},
    types::Opaque,
};

/// Creates a [`WaitQueue`] initialiser with a lock class of its own for this call site.
macro_rules! new_wait_queue {
    ($name:literal) => {
        $crate::waitqueue::WaitQueue::new($name, kernel::static_lock_class!())
    };
}
pub(crate) use new_wait_queue;

/// A `wait_queue_head` for tasks sleeping on a condition guarded by a kernel lock, and for pollers.
///
/// # Invariants
///
/// `head` is an initialised wait queue head for as long as `self` exists.
#[pin_data]
pub(crate) struct WaitQueue {
    #[pin]
    head: Opaque<bindings::wait_queue_head>,
}

// SAFETY: A wait queue head is only used through the kernel's wait queue functions, which take its
// internal spinlock, so it may be used and dropped from any thread.
unsafe impl Send for WaitQueue {}
// SAFETY: See `Send`: every method takes `&self` and goes through the locked wait queue API.
unsafe impl Sync for WaitQueue {}

impl WaitQueue {
    pub(crate) fn new(name: &'static CStr, key: Pin<&'static LockClassKey>) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes, and `name` and `key` are static.
            head <- Opaque::ffi_init(|slot| unsafe {
                bindings::__init_waitqueue_head(slot, name.as_char_ptr(), key.as_ptr())
            }),
        })
    }

    /// Wakes every sleeper, and the pollers whose requested events intersect `key` (a poll mask).
    ///
    /// Call it after the critical section that changed the condition, on the lock that sleepers
    /// hold while queueing themselves and pollers take after registering: the lock then orders
    /// every such queueing before this check, so skipping an empty queue misses no one (the
    /// reasoning of `waitqueue_active()` in `include/linux/wait.h`).
    pub(crate) fn wake(&self, key: u32) {
        if !self.is_active() {
            return;
        }
        // SAFETY: `head` is initialised (type invariant).  A poll key is passed as a pointer-sized
        // integer, as `poll_to_key()` does; it is never dereferenced.
        unsafe {
            bindings::__wake_up(
                self.head.get(),
                TASK_NORMAL,
                0,
                key as usize as *mut kernel::ffi::c_void,
            )
        };
    }

    /// Whether the queue has an entry, as `waitqueue_active()`: `head.next != &head`.
    fn is_active(&self) -> bool {
        // SAFETY: `head` is initialised (type invariant), so its list head is valid to read.  The
        // read is a single pointer-sized volatile load, like `READ_ONCE()` in `list_empty()`; a
        // concurrent update can only make the answer stale, which `wake` accounts for.
        unsafe {
            let list = &raw mut (*self.head.get()).head;
            core::ptr::read_volatile(&raw const (*list).next) != list
        }
    }

    /// Adds this queue to a poll table, as `poll_wait()` does.
    ///
    /// # Safety
    ///
    /// `table` is null or the valid poll table passed to the `poll` file operation of `file`, and
    /// `self` lives at least until `file` is released.
    pub(crate) unsafe fn register(&self, file: &File, table: *mut bindings::poll_table) {
        // SAFETY: `head` is initialised (type invariant) and outlives every poll entry: pollers
        // hold a reference to `file`, and epoll removes its entries before the file is released,
        // which the caller guarantees `self` outlives.  `table` is valid or null by the contract.
        unsafe { bindings::poll_wait(file.as_ptr(), self.head.get(), table) };
    }

    /// Releases `guard`, sleeps interruptibly until woken (or signalled), and takes `lock` again.
    ///
    /// A waker that changes the condition under `lock` and then calls [`WaitQueue::wake`] is
    /// never missed: this task is on the queue in `TASK_INTERRUPTIBLE` before `lock` is released.
    /// A pending signal ends the sleep at once; the caller re-checks its condition, then the
    /// signal, in that order, as `___wait_event()` does.
    pub(crate) fn wait_interruptible<'a, T: ?Sized, B: Backend>(
        &self,
        lock: &'a Lock<T, B>,
        guard: Guard<'a, T, B>,
    ) -> Guard<'a, T, B> {
        let entry = Opaque::<bindings::wait_queue_entry>::uninit();
        // SAFETY: `entry` is valid for writes and lives until `finish_wait()` below.
        unsafe { bindings::init_wait(entry.get()) };
        // SAFETY: `head` is initialised and `entry` was just initialised; both outlive the wait.
        unsafe { bindings::prepare_to_wait(self.head.get(), entry.get(), TASK_INTERRUPTIBLE) };
        drop(guard);
        // SAFETY: Sleeping is allowed: the caller held a lock it has just released and holds no
        // other (callers are file operations running in process context).
        unsafe { bindings::schedule() };
        // SAFETY: `entry` was queued on `head` by `prepare_to_wait()` above.
        unsafe { bindings::finish_wait(self.head.get(), entry.get()) };
        lock.lock()
    }
}
