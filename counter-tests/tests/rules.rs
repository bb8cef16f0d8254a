// SPDX-License-Identifier: GPL-2.0

//! Every rule of the counter, checked against a reference model that computes in `u128`, where
//! `count + value` cannot overflow, so the module's overflow-safe forms are checked, not copied.

#[path = "../../counter.rs"]
mod counter;

use counter::{Counter, Events, Refusal};
use proptest::prelude::*;

const MAX: u64 = u64::MAX;

/// A counter holding `count` with `maximum`; `count >= maximum` is reached by signalling, then
/// lowering the maximum.
fn counter(count: u64, maximum: u64, semaphore: bool) -> Counter {
    let mut c = Counter::new();
    if count < maximum {
        c.configure(count, maximum, semaphore).unwrap();
    } else {
        c.configure(0, MAX, semaphore).unwrap();
        c.signal(count);
        c.set_maximum(maximum).unwrap();
    }
    assert_eq!((c.count(), c.maximum()), (count, maximum));
    c
}

/// A read whose copy to the reader succeeds: the value, and whom its delivery wakes.
fn read(c: &mut Counter) -> Result<(u64, Events), Refusal> {
    let (taken, events) = c.read()?;
    assert_eq!(events, Events::NONE, "taking a value frees no room yet");
    let value = taken.value();
    Ok((value, c.delivered(taken)))
}

/// The model: what poll(2) must report with `held` in flight to readers.
fn model_readiness(count: u64, held: u64, maximum: u64) -> Events {
    Events::NONE
        .with_if(count > 0, Events::READABLE)
        .with_if(
            model_write(count, held, maximum, 1).is_ok(),
            Events::WRITABLE,
        )
        .with_if(count >= maximum, Events::ERROR)
}

/// The model: what write(2) of `value` must do with `held` in flight to readers.
fn model_write(count: u64, held: u64, maximum: u64, value: u64) -> Result<u64, Refusal> {
    let used = u128::from(count) + u128::from(held);
    if value >= maximum {
        Err(Refusal::Invalid)
    } else if used + u128::from(value) >= u128::from(maximum) {
        Err(Refusal::WouldBlock)
    } else {
        Ok(count + value)
    }
}

/// Counts and maxima around every edge: 0, 1, small, and near `u64::MAX`.
fn edges() -> Vec<u64> {
    let mut v: Vec<u64> = (0..=6).collect();
    v.extend([MAX / 2, MAX - 3, MAX - 2, MAX - 1, MAX]);
    v
}

#[test]
fn fresh_counter_is_an_eventfd_with_no_extra_limit() {
    let c = Counter::new();
    assert_eq!((c.count(), c.maximum(), c.semaphore()), (0, MAX, false));
    assert_eq!(c.readiness(), Events::WRITABLE);
    assert_eq!(Counter::default(), c);
}

#[test]
fn write_and_readiness_match_the_model_on_every_edge() {
    for &maximum in edges().iter().filter(|&&m| m > 0) {
        for &count in &edges() {
            for &value in &edges() {
                let mut c = counter(count, maximum, false);
                assert_eq!(
                    c.readiness(),
                    model_readiness(count, 0, maximum),
                    "poll {count} {maximum}"
                );
                let got = c.write(value);
                match model_write(count, 0, maximum, value) {
                    Ok(after) => {
                        let raised = Events::NONE.with_if(value > 0, Events::READABLE);
                        assert_eq!(got, Ok(raised), "write {value} at {count}/{maximum}");
                        assert_eq!(c.count(), after);
                    }
                    Err(refusal) => {
                        assert_eq!(got, Err(refusal), "write {value} at {count}/{maximum}");
                        assert_eq!(c.count(), count, "a refused write changes nothing");
                    }
                }
            }
        }
    }
}

#[test]
fn upstream_edges_with_the_default_maximum() {
    let mut c = Counter::new();
    assert_eq!(
        c.write(MAX),
        Err(Refusal::Invalid),
        "ULLONG_MAX is never writable"
    );
    assert_eq!(c.write(MAX - 1), Ok(Events::READABLE));
    assert_eq!(
        c.readiness(),
        Events::READABLE,
        "no POLLOUT at ULLONG_MAX - 1, no POLLERR"
    );
    assert_eq!(c.write(1), Err(Refusal::WouldBlock));
    assert_eq!(
        c.write(0),
        Ok(Events::NONE),
        "a write of 0 always fits and wakes no one"
    );
    assert_eq!(read(&mut c), Ok((MAX - 1, Events::WRITABLE)));
    assert_eq!(read(&mut c), Err(Refusal::WouldBlock));
}

#[test]
fn reads_take_everything_or_one_in_semaphore_mode() {
    for &count in &edges() {
        for semaphore in [false, true] {
            let mut c = counter(count, MAX, semaphore);
            let got = read(&mut c);
            if count == 0 {
                assert_eq!(got, Err(Refusal::WouldBlock));
                continue;
            }
            let expect = if semaphore { 1 } else { count };
            assert_eq!(
                got,
                Ok((expect, Events::WRITABLE)),
                "read {count} sem={semaphore}"
            );
            assert_eq!(c.count(), count - expect);
        }
    }
}

#[test]
fn maximum_bounds_writes_and_read_batches() {
    let mut c = counter(0, 10, false);
    for _ in 0..9 {
        assert_eq!(c.write(1), Ok(Events::READABLE));
    }
    assert_eq!(c.count(), 9);
    assert_eq!(
        c.write(1),
        Err(Refusal::WouldBlock),
        "the count never reaches the maximum"
    );
    assert_eq!(c.write(10), Err(Refusal::Invalid));
    assert!(!c.readiness().contains(Events::WRITABLE));
    assert_eq!(
        read(&mut c),
        Ok((9, Events::WRITABLE)),
        "a batch is at most maximum - 1"
    );
}

#[test]
fn set_maximum_rules() {
    let mut c = counter(5, 100, false);
    assert_eq!(c.set_maximum(0), Err(Refusal::Invalid));
    assert_eq!(c.maximum(), 100, "a refused maximum changes nothing");
    assert_eq!(
        c.set_maximum(3),
        Ok(Events::WRITABLE.with_if(true, Events::ERROR))
    );
    assert!(
        c.readiness().contains(Events::ERROR),
        "count above the maximum raises POLLERR"
    );
    assert_eq!(
        c.write(0),
        Err(Refusal::WouldBlock),
        "no room at all above the maximum"
    );
    assert_eq!(
        c.write(3),
        Err(Refusal::Invalid),
        "re-checked against the new maximum"
    );
    assert_eq!(read(&mut c), Ok((5, Events::WRITABLE)));
    assert_eq!(c.write(2), Ok(Events::READABLE));
    assert_eq!(
        c.set_maximum(MAX),
        Ok(Events::WRITABLE),
        "raising releases writers"
    );
}

#[test]
fn configure_rules() {
    let mut c = Counter::new();
    assert_eq!(
        c.configure(0, 0, false),
        Err(Refusal::Invalid),
        "maximum >= 1"
    );
    assert_eq!(
        c.configure(5, 5, false),
        Err(Refusal::Invalid),
        "count < maximum"
    );
    assert_eq!(c.configure(MAX, MAX, false), Err(Refusal::Invalid));
    assert_eq!(c, Counter::new(), "refused configurations change nothing");
    assert_eq!(c.configure(MAX - 1, MAX, true), Ok(()));
    assert_eq!(
        (c.count(), c.maximum(), c.semaphore()),
        (MAX - 1, MAX, true)
    );
    assert_eq!(c.configure(0, 10, false), Err(Refusal::Busy), "only once");
    assert_eq!(
        c.configure(0, 0, false),
        Err(Refusal::Invalid),
        "invalid before busy"
    );

    let mut written = Counter::new();
    written.write(0).unwrap();
    assert_eq!(
        written.configure(0, 10, false),
        Err(Refusal::Busy),
        "after a write, even of 0"
    );
    let mut was_read = Counter::new();
    was_read.write(2).unwrap();
    read(&mut was_read).unwrap();
    assert_eq!(
        was_read.configure(0, 10, false),
        Err(Refusal::Busy),
        "after a read"
    );
    let mut signalled = Counter::new();
    signalled.signal(1);
    assert_eq!(
        signalled.configure(0, 10, false),
        Err(Refusal::Busy),
        "after a signal"
    );
    let mut refused_only = Counter::new();
    assert_eq!(read(&mut refused_only), Err(Refusal::WouldBlock));
    assert_eq!(
        refused_only.configure(1, 10, false),
        Ok(()),
        "a refused read is no use"
    );
}

#[test]
fn signal_saturates_at_the_maximum() {
    let mut c = counter(0, 10, false);
    assert_eq!(c.signal(3), (3, Events::READABLE));
    assert_eq!(
        c.signal(100),
        (7, Events::READABLE.with_if(true, Events::ERROR))
    );
    assert_eq!(c.count(), 10);
    assert_eq!(c.readiness(), Events::READABLE.with_if(true, Events::ERROR));
    assert_eq!(
        c.signal(1),
        (0, Events::ERROR),
        "nothing added at the maximum"
    );
    assert_eq!(
        c.write(0),
        Err(Refusal::WouldBlock),
        "writers wait until a read"
    );
    assert_eq!(read(&mut c), Ok((10, Events::WRITABLE)));

    let mut c = Counter::new();
    assert_eq!(
        c.signal(MAX),
        (MAX, Events::READABLE.with_if(true, Events::ERROR))
    );
    assert_eq!(
        c.count(),
        MAX,
        "upstream's ULLONG_MAX saturation with the default maximum"
    );
    let mut lowered = counter(8, 5, false);
    assert_eq!(lowered.signal(1), (0, Events::ERROR));
    assert_eq!(lowered.count(), 8);
}

#[test]
fn restore_gives_a_failed_read_back() {
    let mut c = counter(7, 10, false);
    let (taken, _) = c.read().unwrap();
    assert_eq!(c.restore(taken), Events::READABLE);
    assert_eq!(c.count(), 7);
    assert_eq!(c.readiness(), model_readiness(7, 0, 10));
}

#[test]
fn room_is_freed_only_when_the_value_is_delivered() {
    // The reported failure: a reader takes 9, writers refill while its copy faults, and giving
    // the 9 back pushed the count to 17 with a maximum of 10.
    let mut c = counter(9, 10, false);
    let (taken, _) = c.read().unwrap();
    assert_eq!(taken.value(), 9);
    assert_eq!(c.count(), 0);
    assert_eq!(
        c.write(1),
        Err(Refusal::WouldBlock),
        "the room is not free yet"
    );
    assert_eq!(
        c.readiness(),
        Events::NONE,
        "nothing to read, no room to write"
    );
    assert_eq!(c.restore(taken), Events::READABLE);
    assert_eq!(c.count(), 9, "back below the maximum");

    let (taken, _) = c.read().unwrap();
    assert_eq!(c.delivered(taken), Events::WRITABLE);
    assert_eq!(
        c.write(9),
        Ok(Events::READABLE),
        "the whole room once delivered"
    );

    // A signal saturates at the maximum counting what is in flight, as a write is refused there.
    let mut signalled = counter(9, 10, false);
    let (taken, _) = signalled.read().unwrap();
    assert_eq!(signalled.signal(5), (1, Events::READABLE));
    assert_eq!(
        signalled.restore(taken),
        Events::READABLE.with_if(true, Events::ERROR)
    );
    assert_eq!(signalled.count(), 10);

    // Semaphore reads in flight side by side: each holds the room of one.
    let mut s = counter(3, 4, true);
    let (a, _) = s.read().unwrap();
    let (b, _) = s.read().unwrap();
    assert_eq!(s.count(), 1);
    assert_eq!(
        s.write(1),
        Err(Refusal::WouldBlock),
        "1 + 2 in flight + 1 reaches 4"
    );
    assert_eq!(s.delivered(a), Events::WRITABLE);
    assert_eq!(s.write(1), Ok(Events::READABLE));
    assert_eq!(s.restore(b), Events::READABLE);
    assert_eq!((s.count(), s.write(1)), (3, Err(Refusal::WouldBlock)));

    // Lowering the maximum under a read in flight: the restored count may end above it, as any
    // count may after lowering.
    let mut lowered = counter(5, 100, false);
    let (taken, _) = lowered.read().unwrap();
    lowered.set_maximum(3).unwrap();
    assert_eq!(
        lowered.restore(taken),
        Events::READABLE.with_if(true, Events::ERROR)
    );
    assert_eq!(lowered.count(), 5);
}

#[test]
fn events_set_operations() {
    let all = Events::READABLE
        .with_if(true, Events::WRITABLE)
        .with_if(true, Events::ERROR);
    assert!(all.contains(Events::READABLE) && all.contains(Events::ERROR));
    assert!(!Events::READABLE.contains(Events::WRITABLE));
    assert_eq!(
        Events::READABLE.with_if(false, Events::ERROR),
        Events::READABLE
    );
}

#[derive(Debug, Clone)]
enum Op {
    /// A read whose copy succeeds at once.
    Read,
    /// A read that takes a value and keeps it in flight.
    Take,
    /// The copy of the in-flight read with this index (modulo how many) succeeds.
    Deliver(usize),
    /// The copy of the in-flight read with this index (modulo how many) faults.
    Restore(usize),
    Write(u64),
    SetMaximum(u64),
    Signal(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let value = prop_oneof![0..4u64, 0..20u64, Just(MAX), Just(MAX - 1), any::<u64>()];
    prop_oneof![
        3 => Just(Op::Read),
        1 => Just(Op::Take),
        1 => any::<usize>().prop_map(Op::Deliver),
        1 => any::<usize>().prop_map(Op::Restore),
        4 => value.clone().prop_map(Op::Write),
        1 => value.clone().prop_map(Op::SetMaximum),
        1 => value.prop_map(Op::Signal),
    ]
}

proptest! {
    // 2000 cases by default; PROPTEST_CASES=N for a longer run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
    ))]

    /// Random sequences, with reads left in flight and then delivered or faulted: every result
    /// matches the model, nothing is created or lost (written + signalled == read + count + in
    /// flight, in u128), and while only write(2) produces under a fixed maximum, the count stays
    /// below it and no read reaches it.
    #[test]
    fn sequences_match_the_model_and_conserve(
        semaphore in any::<bool>(),
        first_maximum in prop_oneof![1..12u64, Just(MAX)],
        ops in proptest::collection::vec(op(), 1..200),
    ) {
        let mut c = counter(0, first_maximum, semaphore);
        let (mut count, mut maximum) = (0u64, first_maximum);
        let (mut added, mut taken_total) = (0u128, 0u128);
        let mut in_flight = Vec::new();
        // Lowering the maximum or signalling may leave the count at or above it, by design.
        let mut only_writes = true;
        for op in ops {
            let held: u64 = in_flight.iter().map(|t: &counter::Taken| t.value()).sum();
            match op {
                Op::Read | Op::Take => match c.read() {
                    Ok((taken, events)) => {
                        let v = taken.value();
                        prop_assert!(count > 0);
                        prop_assert_eq!(v, if semaphore { 1 } else { count });
                        prop_assert_eq!(events, Events::NONE);
                        if only_writes {
                            prop_assert!(v < maximum, "a batch is below the maximum");
                        }
                        count -= v;
                        if matches!(op, Op::Read) {
                            prop_assert_eq!(c.delivered(taken), Events::WRITABLE);
                            taken_total += u128::from(v);
                        } else {
                            in_flight.push(taken);
                        }
                    }
                    Err(r) => prop_assert_eq!((r, count), (Refusal::WouldBlock, 0)),
                },
                Op::Deliver(i) | Op::Restore(i) => {
                    if in_flight.is_empty() {
                        continue;
                    }
                    let taken = in_flight.swap_remove(i % in_flight.len());
                    let v = taken.value();
                    if matches!(op, Op::Deliver(_)) {
                        prop_assert_eq!(c.delivered(taken), Events::WRITABLE);
                        taken_total += u128::from(v);
                    } else {
                        count += v;
                        prop_assert_eq!(
                            c.restore(taken),
                            Events::READABLE.with_if(count >= maximum, Events::ERROR)
                        );
                    }
                }
                Op::Write(v) => {
                    let expect = model_write(count, held, maximum, v);
                    prop_assert_eq!(c.write(v).map(|_| c.count()), expect);
                    if let Ok(after) = expect {
                        count = after;
                        added += u128::from(v);
                    }
                }
                Op::SetMaximum(m) => {
                    let got = c.set_maximum(m);
                    if m == 0 {
                        prop_assert_eq!(got, Err(Refusal::Invalid));
                    } else {
                        prop_assert!(got.is_ok());
                        only_writes &= m > maximum;
                        maximum = m;
                    }
                }
                Op::Signal(v) => {
                    let room = maximum.saturating_sub(count).saturating_sub(held);
                    let (n, _) = c.signal(v);
                    prop_assert_eq!(n, v.min(room));
                    count += n;
                    added += u128::from(n);
                    only_writes &= n == 0;
                }
            }
            let held: u64 = in_flight.iter().map(|t| t.value()).sum();
            prop_assert_eq!((c.count(), c.maximum()), (count, maximum));
            prop_assert_eq!(c.readiness(), model_readiness(count, held, maximum));
            prop_assert_eq!(added, taken_total + u128::from(count) + u128::from(held));
            if only_writes {
                prop_assert!(u128::from(count) + u128::from(held) < u128::from(maximum));
            }
        }
    }
}
