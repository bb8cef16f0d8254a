// SPDX-License-Identifier: GPL-2.0

//! The eventfd state machine: counter, maximum, semaphore rule and poll readiness.
//!
//! Nothing here depends on the kernel, so `cargo test` on the host checks every rule, and the kernel
//! glue in `eventfd.rs` only locks, calls these rules and wakes whom they say.  Arithmetic never
//! computes `count + value`: the room left, `maximum - count`, is compared instead, and the count may
//! exceed the maximum only after the maximum was lowered below it.
//!
//! A read is two steps, because the value cannot be copied to the reader under a spinlock: [`read`]
//! takes it from the count, then [`delivered`] frees its room once the copy succeeded, or
//! [`restore`] gives it back when the reader's buffer faulted.  Writers never get the room of a
//! value that may still come back, so a restored value cannot push the count to the maximum.
//!
//! [`read`]: Counter::read
//! [`delivered`]: Counter::delivered
//! [`restore`]: Counter::restore

/// Why an operation cannot go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// It can never succeed as asked (`EINVAL`).
    Invalid,
    /// It can succeed once the count changes (`EAGAIN`, or sleep until it does).
    WouldBlock,
    /// The counter has already been used, so it can no longer be configured (`EBUSY`).
    Busy,
}

/// A set of poll conditions: the readiness of a counter, or the conditions an operation may have
/// made true, which is what its waiters must be woken for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Events(u8);

impl Events {
    /// No condition.
    pub(crate) const NONE: Self = Self(0);
    /// A read would not block: the count is positive.
    pub(crate) const READABLE: Self = Self(1);
    /// A write of 1 would not block.
    pub(crate) const WRITABLE: Self = Self(2);
    /// The count has reached the maximum, so no write can succeed until a read.
    pub(crate) const ERROR: Self = Self(4);

    /// Whether every condition in `other` is in `self`.
    pub(crate) const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self`, plus `other` when `cond` holds.
    #[must_use]
    pub(crate) const fn with_if(self, cond: bool, other: Self) -> Self {
        if cond {
            Self(self.0 | other.0)
        } else {
            self
        }
    }
}

/// A value a read took from the count, still on its way to the reader's buffer.
///
/// It must go back to [`Counter::delivered`] or [`Counter::restore`]; only this module makes one.
#[must_use = "a taken value must be delivered or restored"]
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Taken(u64);

impl Taken {
    /// What the read returns.
    pub(crate) const fn value(&self) -> u64 {
        self.0
    }
}

/// One eventfd counter with its maximum.
///
/// Every increase of `count + in_flight` is bounded by the room, `maximum - count - in_flight`, so
/// their sum never exceeds `u64::MAX` and moving a value between them cannot overflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Counter {
    count: u64,
    /// Taken by reads whose copy to the reader has not finished; their room is not yet free.
    in_flight: u64,
    maximum: u64,
    semaphore: bool,
    /// Set by the first successful read, write or signal; configuration is refused afterwards.
    used: bool,
}

impl Default for Counter {
    fn default() -> Self {
        Self::new()
    }
}

impl Counter {
    /// The state of a fresh open: like `eventfd(0, 0)`, with no maximum beyond `u64::MAX`.
    pub(crate) const fn new() -> Self {
        Self {
            count: 0,
            in_flight: 0,
            maximum: u64::MAX,
            semaphore: false,
            used: false,
        }
    }

    /// The current count.
    pub(crate) const fn count(&self) -> u64 {
        self.count
    }

    /// The current maximum (always at least 1).
    pub(crate) const fn maximum(&self) -> u64 {
        self.maximum
    }

    /// Whether reads return 1 at a time.
    pub(crate) const fn semaphore(&self) -> bool {
        self.semaphore
    }

    /// Sets what `eventfd2(count, flags)` would, plus the maximum, once, before any use.
    pub(crate) fn configure(
        &mut self,
        count: u64,
        maximum: u64,
        semaphore: bool,
    ) -> Result<(), Refusal> {
        if maximum == 0 || count >= maximum {
            return Err(Refusal::Invalid);
        }
        if self.used {
            return Err(Refusal::Busy);
        }
        // Unused, so no read is in flight.
        *self = Self {
            count,
            in_flight: 0,
            maximum,
            semaphore,
            used: true,
        };
        Ok(())
    }

    /// The room left before the maximum, or 0 when the count is at or above it.  Values still
    /// in flight to readers keep their room.
    const fn room(&self) -> u64 {
        self.maximum
            .saturating_sub(self.count)
            .saturating_sub(self.in_flight)
    }

    /// Takes what a read(2) returns: the whole count, or 1 in semaphore mode.  Nothing is woken
    /// yet: the room is freed by [`Counter::delivered`].
    pub(crate) fn read(&mut self) -> Result<(Taken, Events), Refusal> {
        if self.count == 0 {
            return Err(Refusal::WouldBlock);
        }
        let value = if self.semaphore { 1 } else { self.count };
        self.count -= value;
        self.in_flight += value;
        self.used = true;
        Ok((Taken(value), Events::NONE))
    }

    /// The taken value reached the reader: its room is free for writers.
    pub(crate) fn delivered(&mut self, taken: Taken) -> Events {
        self.in_flight -= taken.0;
        Events::WRITABLE
    }

    /// The taken value could not be copied to the reader, so it goes back to the count.  Its room
    /// was never freed, so the count stays below the maximum unless the maximum was lowered.
    pub(crate) fn restore(&mut self, taken: Taken) -> Events {
        self.in_flight -= taken.0;
        self.count += taken.0;
        Events::READABLE.with_if(self.count >= self.maximum, Events::ERROR)
    }

    /// Adds `value` as a write(2) does: only when it stays below the maximum.
    pub(crate) fn write(&mut self, value: u64) -> Result<Events, Refusal> {
        // No read can ever make room for a value at or above the maximum.
        if value >= self.maximum {
            return Err(Refusal::Invalid);
        }
        if self.room() <= value {
            return Err(Refusal::WouldBlock);
        }
        self.count += value;
        self.used = true;
        Ok(Events::NONE.with_if(value > 0, Events::READABLE))
    }

    /// Changes the maximum; writers must re-check both the room and the `EINVAL` rule.
    pub(crate) fn set_maximum(&mut self, maximum: u64) -> Result<Events, Refusal> {
        if maximum == 0 {
            return Err(Refusal::Invalid);
        }
        self.maximum = maximum;
        Ok(Events::WRITABLE.with_if(self.count >= maximum, Events::ERROR))
    }

    /// The in-kernel `eventfd_signal()`: never refuses, adds up to the room left, so the count
    /// saturates at the maximum (less what reads have in flight) and raises [`Events::ERROR`]
    /// there.  Returns what was added.
    pub(crate) fn signal(&mut self, value: u64) -> (u64, Events) {
        let added = value.min(self.room());
        self.count += added;
        self.used = true;
        let events = Events::NONE
            .with_if(added > 0, Events::READABLE)
            .with_if(self.count >= self.maximum, Events::ERROR);
        (added, events)
    }

    /// What poll(2) reports.
    pub(crate) const fn readiness(&self) -> Events {
        Events::NONE
            .with_if(self.count > 0, Events::READABLE)
            // A write of 1 fits when `maximum - count > 1`, i.e. `maximum - 1 > count`.
            .with_if(self.room() > 1, Events::WRITABLE)
            .with_if(self.count >= self.maximum, Events::ERROR)
    }
}
