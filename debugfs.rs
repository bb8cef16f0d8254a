// SPDX-License-Identifier: GPL-2.0

//! The test hooks in debugfs: `/sys/kernel/debug/eventfd_max/signal` and `signal_hardirq`.
//!
//! Writing `"<fd> <n>"` (decimal) to either calls the in-kernel `eventfd_signal()` equivalent,
//! [`EventFd::signal`], with `n` on descriptor `fd` of the writer: `signal` in the writer's
//! context with interrupts disabled, `signal_hardirq` from a high resolution timer that expires in
//! hard interrupt context (the write returns once it has fired), so that lockdep sees the counter's
//! lock taken in interrupt context.  This is how tests reach the path that in-kernel producers
//! (interrupt handlers, timers) use.  Text that is not two numbers fails with `EINVAL`, a
//! descriptor that is not a `/dev/eventfd_max` file with `EINVAL`, one that is not open with
//! `EBADF`.  debugfs is root-only, and both files are write-only.
//!
//! The timer has the default mode, not `HRTIMER_MODE_HARD`: it expires in hard interrupt context
//! (the hrtimer interrupt) on this non-`PREEMPT_RT` kernel, but would be deferred to a softirq
//! thread on `PREEMPT_RT`, like the interrupt handlers that call `eventfd_signal()`, whose wait
//! queue lock is a `spinlock_t` as the counter's lock is.  So lockdep checks it as such a handler
//! (a `HARD` timer makes it report "Invalid wait context" for any `spinlock_t`, eventfd's too).

use crate::{
    eventfd::EventFd,
    fops, //
};
use core::{
    pin::Pin,
    ptr::NonNull, //
};
use kernel::{
    debugfs,
    fs::file::LocalFile,
    impl_has_hr_timer,
    interrupt::local_interrupt_disable,
    prelude::*,
    sync::completion::Completion,
    time::{
        hrtimer::{
            HrTimer,
            HrTimerCallback,
            HrTimerCallbackContext,
            HrTimerRestart,
            RelativeMode,
            ScopedHrTimerPointer, //
        },
        Delta,
        Monotonic, //
    },
    uaccess::UserSliceReader, //
};

/// Parses `"<fd> <n>"` and calls `signal` with the counter behind `fd` and `n`, holding its file
/// (so the counter stays alive) until `signal` returns.
fn with_counter(
    reader: &mut UserSliceReader,
    signal: impl FnOnce(Pin<&EventFd>, u64) -> Result,
) -> Result {
    let mut text = [0u8; 48];
    let len = reader.len();
    let text = text.get_mut(..len).ok_or(EINVAL)?;
    reader.read_slice(text)?;
    let mut words = core::str::from_utf8(text)
        .map_err(|_| EINVAL)?
        .split_ascii_whitespace();
    let (Some(fd), Some(value), None) = (words.next(), words.next(), words.next()) else {
        return Err(EINVAL);
    };
    let fd: u32 = fd.parse().map_err(|_| EINVAL)?;
    let value: u64 = value.parse().map_err(|_| EINVAL)?;
    let file = LocalFile::fget(fd)?;
    signal(fops::eventfd(&file).ok_or(EINVAL)?, value)
}

fn signal_hook(_: &(), reader: &mut UserSliceReader) -> Result {
    with_counter(reader, |eventfd, value| {
        // Disabling interrupts proves the path never sleeps: a debug kernel reports any attempt.
        let irqs_off = local_interrupt_disable();
        eventfd.signal(value);
        drop(irqs_off);
        Ok(())
    })
}

/// A one-shot timer that signals a counter from hard interrupt context.
///
/// # Invariants
///
/// `eventfd` points to a live [`EventFd`] until `fired` is completed.
#[pin_data]
struct HardIrqSignal {
    #[pin]
    timer: HrTimer<Self>,
    eventfd: NonNull<EventFd>,
    value: u64,
    /// Completed by the timer once it has signalled.
    #[pin]
    fired: Completion,
}

// SAFETY: `eventfd` is only used to call `EventFd::signal`, which may run on any CPU and context
// (`EventFd` is `Sync`); the other fields are `Send`.
unsafe impl Send for HardIrqSignal {}
// SAFETY: Shared use is `EventFd::signal` through `eventfd` and `Completion`, both `Sync`.
unsafe impl Sync for HardIrqSignal {}

impl_has_hr_timer! {
    impl HasHrTimer<HardIrqSignal> for HardIrqSignal {
        mode: RelativeMode<Monotonic>,
        field: self.timer,
    }
}

impl HrTimerCallback for HardIrqSignal {
    type Pointer<'a> = Pin<&'a HardIrqSignal>;

    fn run(this: Pin<&HardIrqSignal>, _ctx: HrTimerCallbackContext<'_, Self>) -> HrTimerRestart {
        // SAFETY: `fired` is not completed yet, so `eventfd` is live (type invariant).
        unsafe { this.eventfd.as_ref() }.signal(this.value);
        this.fired.complete_all();
        HrTimerRestart::NoRestart
    }
}

fn signal_hardirq_hook(_: &(), reader: &mut UserSliceReader) -> Result {
    with_counter(reader, |eventfd, value| {
        let signal = KBox::pin_init(
            // INVARIANT: `with_counter` holds the counter's file until this closure returns,
            // which is after `fired` is completed.
            pin_init!(HardIrqSignal {
                timer <- HrTimer::new(),
                eventfd: NonNull::from(eventfd.get_ref()),
                value,
                fired <- Completion::new(),
            }),
            GFP_KERNEL,
        )?;
        // The scope waits for the timer to have fired, and the timer is dead when it ends.
        signal
            .as_ref()
            .start_scoped(Delta::from_micros(1), || signal.fired.wait_for_completion());
        Ok(())
    })
}

/// The debugfs directory and its files; all go away with the module.
pub(crate) struct Debugfs {
    _signal: Pin<KBox<debugfs::File<()>>>,
    _signal_hardirq: Pin<KBox<debugfs::File<()>>>,
    _dir: debugfs::Dir,
}

impl Debugfs {
    pub(crate) fn new() -> Result<Self> {
        let dir = debugfs::Dir::new(c"eventfd_max");
        let signal = KBox::pin_init(
            dir.write_callback_file(c"signal", (), &signal_hook),
            GFP_KERNEL,
        )?;
        let signal_hardirq = KBox::pin_init(
            dir.write_callback_file(c"signal_hardirq", (), &signal_hardirq_hook),
            GFP_KERNEL,
        )?;
        Ok(Self {
            _signal: signal,
            _signal_hardirq: signal_hardirq,
            _dir: dir,
        })
    }
}
