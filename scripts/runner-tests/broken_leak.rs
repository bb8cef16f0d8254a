// SPDX-License-Identifier: GPL-2.0

//! Leaks memory while unloading: the runner's kmemleak check must report it, although the leak is
//! only seconds old when the guest's init scans.

use kernel::prelude::*;

module! {
    type: BrokenLeak,
    name: "broken_leak",
    authors: ["eventfd_max developers"],
    description: "Runner self-test: leaks memory on unload",
    license: "GPL",
}

struct BrokenLeak;

impl kernel::Module for BrokenLeak {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

impl Drop for BrokenLeak {
    fn drop(&mut self) {
        // Allocated on unload and never freed: nothing points to it once this returns.
        if let Ok(leak) = KBox::new([0x5au8; 512], GFP_KERNEL) {
            core::mem::forget(leak);
        }
    }
}
