// SPDX-License-Identifier: GPL-2.0

//! Takes two locks in one order, then in the other: lockdep must report the possible deadlock
//! (nothing deadlocks here, as nothing else takes them), and the runner must catch the report.

use kernel::{
    new_mutex,
    prelude::*, //
};
use pin_init::stack_pin_init;

module! {
    type: BrokenLockdep,
    name: "broken_lockdep",
    authors: ["eventfd_max developers"],
    description: "Runner self-test: takes two locks in both orders",
    license: "GPL",
}

struct BrokenLockdep;

impl kernel::Module for BrokenLockdep {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // Two call sites of `new_mutex!`, so two lock classes.
        stack_pin_init!(let first = new_mutex!(()));
        stack_pin_init!(let second = new_mutex!(()));
        {
            let _first = first.lock();
            let _second = second.lock();
        }
        {
            let _second = second.lock();
            let _first = first.lock();
        }
        Ok(Self)
    }
}
