// SPDX-License-Identifier: GPL-2.0

//! Fails to load: the runner must report the failed insmod.

use kernel::prelude::*;

module! {
    type: BrokenInit,
    name: "broken_init",
    authors: ["eventfd_max developers"],
    description: "Runner self-test: init fails",
    license: "GPL",
}

struct BrokenInit;

impl kernel::Module for BrokenInit {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Err(ENODEV)
    }
}
