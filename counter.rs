// SPDX-License-Identifier: GPL-2.0

//! The eventfd state machine: counter, maximum, semaphore rule and poll readiness.
//!
//! Nothing here depends on the kernel, so `cargo test` on the host checks every rule, and the kernel
//! glue in `eventfd.rs` only takes the wait queue's lock, calls these rules and wakes with the key
//! they return.  Arithmetic never computes `count + value`: the room left, `maximum - count`, is
//! compared instead.  The rules are those of `fs/eventfd.c` with `ULLONG_MAX` replaced by the
//! maximum, as the RFC "eventfd: add configurable maximum counter value for flow control" has them.

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

/// A set of poll conditions: the readiness of a counter, or the key of a wake-up, i.e. the
/// conditions an operation may have made true.  Each condition's value is its poll bit's, so a set
/// is its own poll mask (the kernel glue checks this at compile time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Events(u32);

impl Events {
    /// No condition.
    pub(crate) const NONE: Self = Self(0);
    /// A read would not block: the count is positive (`EPOLLIN`, 0x1).
    pub(crate) const READABLE: Self = Self(0x1);
    /// A write of 1 would not block (`EPOLLOUT`, 0x4).
    pub(crate) const WRITABLE: Self = Self(0x4);
    /// The count is at the maximum (`EPOLLERR`, 0x8): writes never take it there; only the
    /// in-kernel signal does, or a failed read giving its value back.
    pub(crate) const ERROR: Self = Self(0x8);

    /// The set as a poll mask.
    pub(crate) const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every condition in `other` is in `self` (the glue needs only [`Events::bits`]).
    #[cfg(any(test, CONFIG_KUNIT = "y"))]
    pub(crate) const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The conditions of `self` that are not in `other`.
    #[must_use]
    pub(crate) const fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
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

/// One eventfd counter with its maximum.
///
/// # Invariants
///
/// `1 <= maximum` and `count <= maximum`: so `maximum - count` never wraps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Counter {
    count: u64,
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
    /// The state of a fresh open: like `eventfd(0, 0)`, with the default maximum `ULLONG_MAX`.
    pub(crate) const fn new() -> Self {
        // INVARIANT: 0 <= u64::MAX.
        Self {
            count: 0,
            maximum: u64::MAX,
            semaphore: false,
            used: false,
        }
    }

    /// The current count.
    pub(crate) const fn count(&self) -> u64 {
        self.count
    }

    /// The current maximum.
    pub(crate) const fn maximum(&self) -> u64 {
        self.maximum
    }

    /// Whether reads return 1 at a time.
    pub(crate) const fn semaphore(&self) -> bool {
        self.semaphore
    }

    /// Sets what `eventfd2(count, flags)` would, plus the maximum, once, before any use.
    ///
    /// Refuses with [`Refusal::Invalid`] unless `count < maximum`, then with [`Refusal::Busy`]
    /// once the counter was used.  Wakes with what it made true: readers when the new count is
    /// positive, and `POLLOUT` pollers when it makes room that a maximum of 1, set before, left for
    /// no write but 0 (no writer can be asleep on an unused counter).
    pub(crate) fn configure(
        &mut self,
        count: u64,
        maximum: u64,
        semaphore: bool,
    ) -> Result<Events, Refusal> {
        if count >= maximum {
            return Err(Refusal::Invalid);
        }
        if self.used {
            return Err(Refusal::Busy);
        }
        let before = self.readiness();
        // INVARIANT: count < maximum, hence also 1 <= maximum.
        *self = Self {
            count,
            maximum,
            semaphore,
            used: true,
        };
        Ok(self.readiness().without(before))
    }

    /// Takes what a read(2) returns: the whole count, or 1 in semaphore mode.  Its room is free at
    /// once, so writers are woken.
    pub(crate) fn read(&mut self) -> Result<(u64, Events), Refusal> {
        if self.count == 0 {
            return Err(Refusal::WouldBlock);
        }
        let value = if self.semaphore { 1 } else { self.count };
        // INVARIANT: the count only decreases.
        self.count -= value;
        self.used = true;
        Ok((value, Events::WRITABLE))
    }

    /// Gives back a value [`Counter::read`] took whose copy to the reader failed: up to the room
    /// left, so the count saturates at the maximum (and raises [`Events::ERROR`]) if writers or
    /// signals filled the room meanwhile.
    pub(crate) fn give_back(&mut self, value: u64) -> Events {
        // INVARIANT: at most `maximum - count` is added.
        self.count += value.min(self.maximum - self.count);
        Events::READABLE
    }

    /// Adds `value` as a write(2) does: only when it stays below the maximum.  Even a write of 0
    /// wakes readers and `EPOLLIN` pollers, as eventfd's does.
    pub(crate) fn write(&mut self, value: u64) -> Result<Events, Refusal> {
        // No read can ever make room for a value at or above the maximum.
        if value >= self.maximum {
            return Err(Refusal::Invalid);
        }
        if self.maximum - self.count <= value {
            return Err(Refusal::WouldBlock);
        }
        // INVARIANT: `count + value < maximum` by the check above.
        self.count += value;
        self.used = true;
        Ok(Events::READABLE)
    }

    /// Changes the maximum; one at or below the count is refused, as the RFC's selftests require.
    /// Wakes writers and `EPOLLOUT` pollers, which re-check both write rules.
    pub(crate) fn set_maximum(&mut self, maximum: u64) -> Result<Events, Refusal> {
        if maximum <= self.count {
            return Err(Refusal::Invalid);
        }
        // INVARIANT: count < maximum, hence also 1 <= maximum.
        self.maximum = maximum;
        Ok(Events::WRITABLE)
    }

    /// The in-kernel `eventfd_signal()`: never refuses, adds up to the room left, so the count
    /// saturates at the maximum, where poll reports [`Events::ERROR`].  Returns what was added,
    /// and wakes with `EPOLLIN` even when that is nothing, as eventfd does.
    pub(crate) fn signal(&mut self, value: u64) -> (u64, Events) {
        let added = value.min(self.maximum - self.count);
        // INVARIANT: at most `maximum - count` is added.
        self.count += added;
        self.used = true;
        (added, Events::READABLE)
    }

    /// What poll(2) reports.
    pub(crate) const fn readiness(&self) -> Events {
        // The room a write may fill, plus one: no underflow, as the count never exceeds the
        // maximum.  Both remaining conditions are read off it (one subtraction, not two).
        let room = self.maximum - self.count;
        Events::NONE
            .with_if(self.count > 0, Events::READABLE)
            // A write of 1 fits when `maximum - count > 1`.
            .with_if(room > 1, Events::WRITABLE)
            .with_if(room == 0, Events::ERROR)
    }
}

/// The rules restated in `u128`, where `count + value` cannot overflow: the reference against
/// which the tests check the overflow-safe forms above.
#[cfg(any(test, CONFIG_KUNIT = "y"))]
pub(crate) mod model {
    use super::{
        Counter,
        Events,
        Refusal, //
    };

    /// Counts, maxima and values around every edge: 0, 1, small, and near `u64::MAX`.
    pub(crate) const EDGES: [u64; 12] = [
        0,
        1,
        2,
        3,
        4,
        5,
        6,
        u64::MAX / 2,
        u64::MAX - 3,
        u64::MAX - 2,
        u64::MAX - 1,
        u64::MAX,
    ];

    /// Every reachable (count, maximum) pair of edge values: `1 <= maximum`, `count <= maximum`.
    pub(crate) fn edge_states() -> impl Iterator<Item = (u64, u64)> {
        EDGES.into_iter().flat_map(|maximum| {
            EDGES
                .into_iter()
                .filter(move |&count| maximum > 0 && count <= maximum)
                .map(move |count| (count, maximum))
        })
    }

    /// A used counter holding `count <= maximum`: configured, and at the maximum only by a
    /// signal, the one producer that reaches it.
    pub(crate) fn reachable(count: u64, maximum: u64, semaphore: bool) -> Counter {
        let mut c = Counter::new();
        if count < maximum {
            let _ = c.configure(count, maximum, semaphore);
        } else {
            let _ = c.configure(0, maximum, semaphore);
            c.signal(count);
        }
        c
    }

    /// The count after write(2) of `value`, or why it is refused.
    pub(crate) fn write(count: u64, maximum: u64, value: u64) -> Result<u64, Refusal> {
        if value >= maximum {
            Err(Refusal::Invalid)
        } else if u128::from(count) + u128::from(value) >= u128::from(maximum) {
            Err(Refusal::WouldBlock)
        } else {
            Ok(count + value)
        }
    }

    /// What adding `value` up to the maximum adds: the in-kernel signal, and a failed read's
    /// give-back.
    pub(crate) fn saturating_add(count: u64, maximum: u64, value: u64) -> u64 {
        let after = (u128::from(count) + u128::from(value)).min(u128::from(maximum));
        (after - u128::from(count)) as u64
    }

    /// What poll(2) reports.
    pub(crate) fn readiness(count: u64, maximum: u64) -> Events {
        Events::NONE
            .with_if(count > 0, Events::READABLE)
            .with_if(write(count, maximum, 1).is_ok(), Events::WRITABLE)
            .with_if(count == maximum, Events::ERROR)
    }
}

/// Every rule against the model on every edge: on the host (`cargo test` in `counter-tests/`) and
/// in the kernel, at insmod, when it has KUnit built in, so the same code is also checked as the
/// kernel's compiler flags build it (overflow checks included).  Only plain `assert!` and
/// `assert_eq!`, the forms KUnit takes over.
#[cfg(any(test, CONFIG_KUNIT = "y"))]
#[cfg_attr(CONFIG_KUNIT = "y", kernel::macros::kunit_tests(eventfd_max_counter))]
mod rules {
    use super::{
        model::{
            self,
            edge_states,
            reachable,
            EDGES, //
        },
        Counter,
        Events,
        Refusal, //
    };

    #[test]
    fn reachable_states_are_as_asked() {
        for (count, maximum) in edge_states() {
            let c = reachable(count, maximum, false);
            assert_eq!((c.count(), c.maximum()), (count, maximum));
        }
    }

    #[test]
    fn write_and_readiness_match_the_model() {
        for (count, maximum) in edge_states() {
            for value in EDGES {
                let mut c = reachable(count, maximum, false);
                assert_eq!(c.readiness(), model::readiness(count, maximum));
                let expected = model::write(count, maximum, value);
                assert_eq!(c.write(value).map(|_| c.count()), expected);
                if expected.is_err() {
                    assert_eq!(c.count(), count);
                }
            }
        }
    }

    #[test]
    fn writes_wake_readers_even_with_zero() {
        let mut c = reachable(0, u64::MAX, false);
        assert_eq!(c.write(0), Ok(Events::READABLE));
        assert_eq!(c.write(1), Ok(Events::READABLE));
    }

    #[test]
    fn signal_saturates_as_the_model() {
        for (count, maximum) in edge_states() {
            for value in EDGES {
                let mut c = reachable(count, maximum, false);
                let added = model::saturating_add(count, maximum, value);
                assert_eq!(c.signal(value), (added, Events::READABLE));
                assert_eq!(c.count(), count + added);
            }
        }
    }

    #[test]
    fn give_back_saturates_as_the_model() {
        for (count, maximum) in edge_states() {
            for value in EDGES {
                let mut c = reachable(count, maximum, false);
                assert_eq!(c.give_back(value), Events::READABLE);
                assert_eq!(
                    c.count(),
                    count + model::saturating_add(count, maximum, value)
                );
            }
        }
    }

    #[test]
    fn set_maximum_refuses_at_or_below_the_count() {
        for (count, maximum) in edge_states() {
            for value in EDGES {
                let mut c = reachable(count, maximum, false);
                if value <= count {
                    assert_eq!(c.set_maximum(value), Err(Refusal::Invalid));
                    assert_eq!(c.maximum(), maximum);
                } else {
                    assert_eq!(c.set_maximum(value), Ok(Events::WRITABLE));
                    assert_eq!(c.readiness(), model::readiness(count, value));
                }
            }
        }
    }

    /// An operation on a counter, returning the key it wakes with, or `None` when refused.
    type Op = dyn Fn(&mut Counter) -> Option<Events>;

    /// Whether `op`, run on a copy of `before`, either refuses (`None`) and changes nothing, or
    /// wakes with a key that holds each of `POLLIN` and `POLLOUT` it made true, and `POLLOUT` too
    /// when it made room for a write of any edge value that would have slept, so that no poller,
    /// epoll item or sleeper waiting for one is left asleep.  `POLLERR` is not asked for: on
    /// eventfd too, a signal that saturates the count wakes only `EPOLLIN` waiters.  (It returns
    /// the verdict for the test to assert, so that KUnit reports a failure under the test's name.)
    fn wakes_what_it_made_true(before: &Counter, op: &Op) -> bool {
        let mut after = before.clone();
        match op(&mut after) {
            None => after == *before,
            Some(key) => {
                let made_true = after.readiness().without(before.readiness());
                let room_made = || {
                    EDGES.into_iter().any(|value| {
                        before.clone().write(value) == Err(Refusal::WouldBlock)
                            && after.clone().write(value).is_ok()
                    })
                };
                made_true.without(Events::ERROR).without(key) == Events::NONE
                    && (key.contains(Events::WRITABLE) || !room_made())
            }
        }
    }

    #[test]
    fn every_change_wakes_what_it_made_true() {
        // Unused counters whose maximum was set can still be configured; used ones cannot.
        let unused = EDGES.into_iter().filter(|&m| m > 0).map(|maximum| {
            let mut c = Counter::new();
            assert_eq!(c.set_maximum(maximum), Ok(Events::WRITABLE));
            c
        });
        let used = edge_states().map(|(count, maximum)| reachable(count, maximum, false));
        for before in unused.chain(used) {
            for value in EDGES {
                let ops: [&Op; 5] = [
                    &|c| c.read().ok().map(|(_, key)| key),
                    &move |c| c.write(value).ok(),
                    &move |c| c.set_maximum(value).ok(),
                    &move |c| Some(c.signal(value).1),
                    &move |c| Some(c.give_back(value)),
                ];
                for op in ops {
                    assert!(wakes_what_it_made_true(&before, op));
                }
                for maximum in EDGES {
                    let configure = move |c: &mut Counter| c.configure(value, maximum, false).ok();
                    assert!(wakes_what_it_made_true(&before, &configure));
                }
            }
        }
    }

    #[test]
    fn reads_take_everything_or_one() {
        for (count, maximum) in edge_states() {
            for semaphore in [false, true] {
                let mut c = reachable(count, maximum, semaphore);
                let expected = match (count, semaphore) {
                    (0, _) => Err(Refusal::WouldBlock),
                    (_, true) => Ok((1, Events::WRITABLE)),
                    (_, false) => Ok((count, Events::WRITABLE)),
                };
                assert_eq!(c.read(), expected);
                let taken = expected.map_or(0, |(value, _)| value);
                assert_eq!(c.count(), count - taken);
            }
        }
    }
}
