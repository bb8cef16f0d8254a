// SPDX-License-Identifier: GPL-2.0

//! eventfd with a per-fd maximum, for flow control.
//!
//! Every open of the character device `/dev/eventfd_max` is an eventfd counter, as `eventfd(2)` would
//! make, plus the maximum of the upstream RFC "eventfd: add configurable maximum counter value for
//! flow control": a write that would take the count to or beyond the maximum blocks (or fails with
//! `EAGAIN`), so a fast producer is held back by a slow consumer.  See
//! `Documentation/userspace-api/eventfd_max.rst` for the contract and `Documentation/design.rst`
//! for how this module is put together.

mod counter;
mod debugfs;
mod device;
mod eventfd;
mod fops;
mod uapi;
mod wqh;

use kernel::prelude::*;

module! {
    type: EventFdMaxModule,
    name: "eventfd_max",
    authors: ["eventfd_max developers"],
    description: "eventfd with a per-fd maximum for flow control (/dev/eventfd_max)",
    license: "GPL",
}

#[pin_data]
struct EventFdMaxModule {
    _debugfs: debugfs::Debugfs,
    _device: device::Registration,
}

impl kernel::InPlaceModule for EventFdMaxModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _debugfs: debugfs::Debugfs::new()?,
            _device: device::Registration::new()?,
        })
    }
}
