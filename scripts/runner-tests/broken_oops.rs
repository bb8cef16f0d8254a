// SPDX-License-Identifier: GPL-2.0

//! Oopses while loading (a Rust panic is a kernel `BUG()`): with `oops=panic` the guest dies, and
//! the runner must say so.

use kernel::prelude::*;

module! {
    type: BrokenOops,
    name: "broken_oops",
    authors: ["eventfd_max developers"],
    description: "Runner self-test: oopses on load",
    license: "GPL",
}

struct BrokenOops;

impl kernel::Module for BrokenOops {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        panic!("runner self-test: a deliberate oops");
    }
}
