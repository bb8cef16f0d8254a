// SPDX-License-Identifier: GPL-2.0

//! The counter's scenarios, and random sequences checked against `counter::model`, which computes
//! in `u128` where `count + value` cannot overflow.  The edge-by-edge checks are `counter::rules`,
//! compiled into this crate with `counter.rs` and into the kernel's KUnit suite.

#[path = "../../counter.rs"]
mod counter;

use counter::{
    model::{self, reachable},
    Counter, Events, Refusal,
};
use proptest::prelude::*;

const MAX: u64 = u64::MAX;

#[test]
fn fresh_counter_is_an_eventfd_with_no_extra_limit() {
    let c = Counter::new();
    assert_eq!((c.count(), c.maximum(), c.semaphore()), (0, MAX, false));
    assert_eq!(c.readiness(), Events::WRITABLE);
    assert_eq!(Counter::default(), c);
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
        Ok(Events::READABLE),
        "a write of 0 always fits and wakes readers"
    );
    assert_eq!(c.read(), Ok((MAX - 1, Events::WRITABLE)));
    assert_eq!(c.read(), Err(Refusal::WouldBlock));
}

#[test]
fn maximum_bounds_writes_and_read_batches() {
    let mut c = reachable(0, 10, false);
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
    assert_eq!(
        c.write(9),
        Ok(Events::READABLE),
        "a read frees its room at once"
    );
}

#[test]
fn set_maximum_follows_the_rfc() {
    // The RFC's own selftest: count 5, maximum 5 and 3 refused, 10 accepted.
    let mut c = reachable(5, 100, false);
    for refused in [0, 3, 5] {
        assert_eq!(c.set_maximum(refused), Err(Refusal::Invalid));
        assert_eq!(c.maximum(), 100, "a refused maximum changes nothing");
    }
    assert_eq!(c.set_maximum(10), Ok(Events::WRITABLE));
    assert_eq!(c.maximum(), 10);
    assert_eq!(
        c.set_maximum(6),
        Ok(Events::WRITABLE),
        "lowering above the count"
    );
    assert_eq!(
        c.readiness(),
        Events::READABLE,
        "no POLLOUT at maximum - 1, no POLLERR below the maximum"
    );
    assert_eq!(c.write(1), Err(Refusal::WouldBlock));
    assert_eq!(c.write(6), Err(Refusal::Invalid));
    assert_eq!(c.set_maximum(MAX), Ok(Events::WRITABLE), "raising");
    assert_eq!(c.write(1), Ok(Events::READABLE));
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
    assert_eq!(c.set_maximum(7), Ok(Events::WRITABLE));
    assert_eq!(
        c.configure(MAX - 1, MAX, true),
        Ok(Events::READABLE),
        "a positive count wakes readers; setting a maximum is no use"
    );
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
    assert_eq!(
        Counter::new().configure(0, 3, false),
        Ok(Events::NONE),
        "a count of 0 wakes no one"
    );
    let mut no_room = Counter::new();
    assert_eq!(no_room.set_maximum(1), Ok(Events::WRITABLE));
    assert_eq!(no_room.readiness(), Events::NONE, "only a write of 0 fits");
    assert_eq!(
        no_room.configure(7, MAX, false),
        Ok(Events::READABLE.with_if(true, Events::WRITABLE)),
        "room made after a maximum of 1 wakes POLLOUT pollers"
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
    was_read.read().unwrap();
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
    assert_eq!(refused_only.read(), Err(Refusal::WouldBlock));
    assert_eq!(
        refused_only.configure(1, 10, false),
        Ok(Events::READABLE),
        "a refused read is no use"
    );
}

#[test]
fn signal_saturates_at_the_maximum() {
    let mut c = reachable(0, 10, false);
    assert_eq!(c.signal(3), (3, Events::READABLE));
    assert_eq!(c.signal(100), (7, Events::READABLE));
    assert_eq!(c.count(), 10);
    assert_eq!(c.readiness(), Events::READABLE.with_if(true, Events::ERROR));
    assert_eq!(
        c.signal(1),
        (0, Events::READABLE),
        "nothing added at the maximum, readers woken all the same"
    );
    assert_eq!(
        c.write(0),
        Err(Refusal::WouldBlock),
        "writers wait until a read"
    );
    assert_eq!(c.read(), Ok((10, Events::WRITABLE)));

    let mut c = Counter::new();
    assert_eq!(c.signal(MAX), (MAX, Events::READABLE));
    assert_eq!(
        c.count(),
        MAX,
        "upstream's ULLONG_MAX saturation with the default maximum"
    );
}

#[test]
fn give_back_returns_a_failed_read_up_to_the_maximum() {
    let mut c = reachable(7, 10, false);
    let (value, _) = c.read().unwrap();
    assert_eq!(c.give_back(value), Events::READABLE);
    assert_eq!(c.count(), 7, "nothing lost when the room is still free");

    // Writers may use the room while the copy is pending, as they may on eventfd.
    let mut c = reachable(9, 10, false);
    let (value, _) = c.read().unwrap();
    assert_eq!(c.write(5), Ok(Events::READABLE));
    assert_eq!(c.give_back(value), Events::READABLE);
    assert_eq!(c.count(), 10, "clipped at the maximum");
    assert!(c.readiness().contains(Events::ERROR));

    let mut s = reachable(3, 4, true);
    let (one, _) = s.read().unwrap();
    assert_eq!(s.write(1), Ok(Events::READABLE));
    assert_eq!(s.give_back(one), Events::READABLE);
    assert_eq!(s.count(), 4);
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
    assert_eq!(all.bits(), 0x1 | 0x4 | 0x8, "EPOLLIN | EPOLLOUT | EPOLLERR");
    assert_eq!(
        all.without(Events::WRITABLE).without(Events::ERROR),
        Events::READABLE
    );
    assert_eq!(Events::READABLE.without(all), Events::NONE);
}

#[derive(Debug, Clone)]
enum Op {
    /// A read whose copy succeeds at once.
    Read,
    /// A read whose copy is still pending.
    Take,
    /// The pending copy with this index (modulo how many) succeeds.
    Deliver(usize),
    /// The pending copy with this index (modulo how many) faults.
    GiveBack(usize),
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
        1 => any::<usize>().prop_map(Op::GiveBack),
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

    /// Random sequences, with copies to readers left pending and then delivered or faulted:
    /// every result matches the model, nothing is created and only a give-back clipped at the
    /// maximum loses anything (written + signalled == read + count + pending + clipped, in u128),
    /// the count never exceeds the maximum, and while only write(2) produces, no read reaches it.
    #[test]
    fn sequences_match_the_model_and_conserve(
        semaphore in any::<bool>(),
        first_maximum in prop_oneof![1..12u64, Just(MAX)],
        ops in proptest::collection::vec(op(), 1..200),
    ) {
        let mut c = reachable(0, first_maximum, semaphore);
        let (mut count, mut maximum) = (0u64, first_maximum);
        let (mut added, mut delivered, mut clipped) = (0u128, 0u128, 0u128);
        let mut pending: Vec<u64> = Vec::new();
        let mut only_writes = true;
        for op in ops {
            match op {
                Op::Read | Op::Take => match c.read() {
                    Ok((v, events)) => {
                        prop_assert!(count > 0);
                        prop_assert_eq!(v, if semaphore { 1 } else { count });
                        prop_assert_eq!(events, Events::WRITABLE);
                        if only_writes {
                            prop_assert!(v < maximum, "a batch is below the maximum");
                        }
                        count -= v;
                        if matches!(op, Op::Read) {
                            delivered += u128::from(v);
                        } else {
                            pending.push(v);
                        }
                    }
                    Err(r) => prop_assert_eq!((r, count), (Refusal::WouldBlock, 0)),
                },
                Op::Deliver(i) | Op::GiveBack(i) => {
                    if pending.is_empty() {
                        continue;
                    }
                    let v = pending.swap_remove(i % pending.len());
                    if matches!(op, Op::Deliver(_)) {
                        delivered += u128::from(v);
                    } else {
                        let back = model::saturating_add(count, maximum, v);
                        prop_assert_eq!(c.give_back(v), Events::READABLE);
                        count += back;
                        clipped += u128::from(v - back);
                        only_writes &= count < maximum;
                    }
                }
                Op::Write(v) => {
                    let expect = model::write(count, maximum, v);
                    prop_assert_eq!(c.write(v).map(|_| c.count()), expect);
                    if let Ok(after) = expect {
                        count = after;
                        added += u128::from(v);
                    }
                }
                Op::SetMaximum(m) => {
                    let got = c.set_maximum(m);
                    if m <= count {
                        prop_assert_eq!(got, Err(Refusal::Invalid));
                    } else {
                        prop_assert_eq!(got, Ok(Events::WRITABLE));
                        maximum = m;
                    }
                }
                Op::Signal(v) => {
                    let n = model::saturating_add(count, maximum, v);
                    prop_assert_eq!(c.signal(v), (n, Events::READABLE));
                    count += n;
                    added += u128::from(n);
                    only_writes &= n == 0;
                }
            }
            let held: u128 = pending.iter().map(|&v| u128::from(v)).sum();
            prop_assert_eq!((c.count(), c.maximum()), (count, maximum));
            prop_assert!(count <= maximum);
            prop_assert_eq!(c.readiness(), model::readiness(count, maximum));
            prop_assert_eq!(added, delivered + u128::from(count) + held + clipped);
            if only_writes {
                prop_assert!(count < maximum);
            }
        }
    }
}
