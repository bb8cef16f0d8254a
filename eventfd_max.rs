// SPDX-License-Identifier: GPL-2.0

//! eventfd with a per-fd maximum, for flow control.
//!
//! Every open of the misc device `/dev/eventfd_max` is an eventfd counter, as `eventfd(2)` would
//! make, plus the maximum of the upstream RFC "eventfd: add configurable maximum counter value for
//! flow control": a write that would take the count to or beyond the maximum blocks (or fails with
//! `EAGAIN`), so a fast producer is held back by a slow consumer.  See
//! `Documentation/userspace-api/eventfd_max.rst` for the contract and `Documentation/design.rst`
//! for how this module is put together.

mod counter;
mod debugfs;
mod eventfd;
mod fops;
mod uapi;
mod waitqueue;

use kernel::{
    bindings,
    id_pool::IdPool,
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
    types::Opaque,
};

module! {
    type: EventFdMaxModule,
    name: "eventfd_max",
    authors: ["eventfd_max developers"],
    description: "eventfd with a per-fd maximum for flow control (/dev/eventfd_max)",
    license: "GPL",
}

/// The misc device, registered with our own [`fops::FOPS`] (see `fops.rs` for why).
///
/// # Invariants
///
/// `misc` is registered from a successful initialisation until drop.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration {
    /// The id pool of all open counters; initialised before `misc` is registered, so an open
    /// racing with module load finds it.
    pub(crate) ids: Arc<Mutex<IdPool>>,
    #[pin]
    pub(crate) misc: Opaque<bindings::miscdevice>,
}

// SAFETY: `misc_register()` and `misc_deregister()` may be called from any thread.
unsafe impl Send for Registration {}
// SAFETY: After registration the `miscdevice` is only accessed by the misc core under its lock.
unsafe impl Sync for Registration {}

impl Registration {
    fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            ids: Arc::pin_init(new_mutex!(IdPool::new()), GFP_KERNEL)?,
            misc <- Opaque::try_ffi_init(|slot: *mut bindings::miscdevice| {
                let mut misc: bindings::miscdevice = pin_init::zeroed();
                misc.minor = bindings::MISC_DYNAMIC_MINOR as c_int;
                misc.name = c"eventfd_max".as_char_ptr();
                misc.fops = &fops::FOPS.0;
                // eventfd(2) needs no privilege, and neither does this.
                misc.mode = 0o666;
                // SAFETY: `slot` is valid for writes and pinned; it is deregistered in `drop`
                // before its memory goes away.
                unsafe {
                    slot.write(misc);
                    kernel::error::to_result(bindings::misc_register(slot))
                }
            }),
        })
    }
}

#[pinned_drop]
impl PinnedDrop for Registration {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: `misc` is registered (type invariant).  Open files hold a reference to this
        // module, so none is left when the module, and with it this registration, goes away.
        unsafe { bindings::misc_deregister(self.misc.get()) };
    }
}

#[pin_data]
struct EventFdMaxModule {
    _debugfs: debugfs::Debugfs,
    #[pin]
    _device: Registration,
}

impl kernel::InPlaceModule for EventFdMaxModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _debugfs: debugfs::Debugfs::new()?,
            _device <- Registration::new(),
        })
    }
}
