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

const LEAK_BYTES: usize = 16 << 10;

impl kernel::Module for BrokenLeak {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

impl Drop for BrokenLeak {
    fn drop(&mut self) {
        // Allocated on unload and never freed: nothing points to it once this returns.  16 KiB,
        // above the largest kmalloc cache, so it comes from the page allocator: a fresh object of
        // a kmalloc cache stays referenced from its per-CPU sheaf (SLUB leaves the slot it was
        // taken from as it was, and kmemleak scans sheaves) until the slot is reused, and then
        // kmemleak does not report it yet.
        if let Ok(leak) = KVec::<u8>::with_capacity(LEAK_BYTES, GFP_KERNEL) {
            core::mem::forget(leak);
        }
    }
}
