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

/// The model: what poll(2) must report.
fn model_readiness(count: u64, maximum: u64) -> Events {
    let (count, maximum) = (u128::from(count), u128::from(maximum));
    Events::NONE
        .with_if(count > 0, Events::READABLE)
        .with_if(count + 1 < maximum, Events::WRITABLE)
        .with_if(count >= maximum, Events::ERROR)
}

/// The model: what write(2) of `value` must do.
fn model_write(count: u64, maximum: u64, value: u64) -> Result<u64, Refusal> {
    if value >= maximum {
        Err(Refusal::Invalid)
    } else if u128::from(count) + u128::from(value) >= u128::from(maximum) {
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
                    model_readiness(count, maximum),
                    "poll {count} {maximum}"
                );
                let got = c.write(value);
                match model_write(count, maximum, value) {
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
    assert_eq!(c.read(), Ok((MAX - 1, Events::WRITABLE)));
    assert_eq!(c.read(), Err(Refusal::WouldBlock));
}

#[test]
fn reads_take_everything_or_one_in_semaphore_mode() {
    for &count in &edges() {
        for semaphore in [false, true] {
            let mut c = counter(count, MAX, semaphore);
            let got = c.read();
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
        c.read(),
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
    assert_eq!(c.read(), Ok((5, Events::WRITABLE)));
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
    let mut read = Counter::new();
    read.write(2).unwrap();
    read.read().unwrap();
    assert_eq!(
        read.configure(0, 10, false),
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
    assert_eq!(refused_only.read(), Err(Refusal::WouldBlock));
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
    assert_eq!(c.read(), Ok((10, Events::WRITABLE)));

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
    let (value, _) = c.read().unwrap();
    assert_eq!(
        c.restore(value),
        Events::READABLE.with_if(true, Events::WRITABLE)
    );
    assert_eq!(c.count(), 7);
    let mut full = counter(MAX - 1, MAX, false);
    assert_eq!(
        full.restore(5),
        Events::READABLE.with_if(true, Events::ERROR)
    );
    assert_eq!(full.count(), MAX, "saturates, never wraps");
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
    Read,
    Write(u64),
    SetMaximum(u64),
    Signal(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let value = prop_oneof![0..4u64, 0..20u64, Just(MAX), Just(MAX - 1), any::<u64>()];
    prop_oneof![
        3 => Just(Op::Read),
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

    /// Random sequences: every result matches the model, and nothing is created or lost:
    /// written + signalled == read + count, in exact (u128) arithmetic.
    #[test]
    fn sequences_match_the_model_and_conserve(
        semaphore in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..200),
    ) {
        let mut c = counter(0, MAX, semaphore);
        let (mut count, mut maximum) = (0u64, MAX);
        let (mut added, mut taken) = (0u128, 0u128);
        for op in ops {
            match op {
                Op::Read => match c.read() {
                    Ok((v, events)) => {
                        prop_assert!(count > 0);
                        prop_assert_eq!(v, if semaphore { 1 } else { count });
                        prop_assert_eq!(events, Events::WRITABLE);
                        if count < maximum {
                            prop_assert!(v < maximum, "a batch is below the maximum");
                        }
                        count -= v;
                        taken += u128::from(v);
                    }
                    Err(r) => prop_assert_eq!((r, count), (Refusal::WouldBlock, 0)),
                },
                Op::Write(v) => {
                    let expect = model_write(count, maximum, v);
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
                        maximum = m;
                    }
                }
                Op::Signal(v) => {
                    let room = maximum.saturating_sub(count);
                    let (n, _) = c.signal(v);
                    prop_assert_eq!(n, v.min(room));
                    count += n;
                    added += u128::from(n);
                }
            }
            prop_assert_eq!((c.count(), c.maximum()), (count, maximum));
            prop_assert_eq!(c.readiness(), model_readiness(count, maximum));
            prop_assert_eq!(added, taken + u128::from(count));
        }
    }
}
