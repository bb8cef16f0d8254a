// SPDX-License-Identifier: GPL-2.0

//! Loads, but WARNs while doing so: the runner must catch the report in dmesg.

use kernel::prelude::*;

module! {
    type: BrokenWarn,
    name: "broken_warn",
    authors: ["eventfd_max developers"],
    description: "Runner self-test: WARNs on load",
    license: "GPL",
}

struct BrokenWarn;

impl kernel::Module for BrokenWarn {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        kernel::warn_on!(true);
        Ok(Self)
    }
}
