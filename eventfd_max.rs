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
mod eventfd;
mod fops;
mod uapi;
mod waitqueue;

use kernel::{
    bindings, debugfs,
    fs::file::LocalFile,
    id_pool::IdPool,
    interrupt::local_interrupt_disable,
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
    types::Opaque,
    uaccess::UserSliceReader,
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

/// `/sys/kernel/debug/eventfd_max/signal`: writing `"<fd> <n>"` calls the in-kernel
/// `eventfd_signal()` equivalent, with interrupts disabled, on descriptor `fd` of the writer.
///
/// This is how tests reach the path that in-kernel producers (interrupt handlers, timers) use;
/// debugfs is root-only, and this file is write-only.
fn signal_hook(_: &(), reader: &mut UserSliceReader) -> Result {
    let mut text = [0u8; 48];
    let len = reader.len();
    let text = text.get_mut(..len).ok_or(EINVAL)?;
    reader.read_slice(text)?;
    let mut words = core::str::from_utf8(text)
        .map_err(|_| EINVAL)?
        .split_ascii_whitespace();
    let (Some(fd), Some(value), None) = (words.next(), words.next(), words.next()) else {
        return Err(EINVAL);
    };
    let fd: u32 = fd.parse().map_err(|_| EINVAL)?;
    let value: u64 = value.parse().map_err(|_| EINVAL)?;
    let file = LocalFile::fget(fd)?;
    let eventfd = fops::eventfd(&file).ok_or(EINVAL)?;
    // Disabling interrupts proves the path never sleeps: a debug kernel reports any attempt.
    let irqs_off = local_interrupt_disable();
    eventfd.signal(value);
    drop(irqs_off);
    Ok(())
}

/// The debugfs directory and its signal file; both go away with the module.
struct Debugfs {
    _signal: Pin<KBox<debugfs::File<()>>>,
    _dir: debugfs::Dir,
}

impl Debugfs {
    fn new() -> Result<Self> {
        let dir = debugfs::Dir::new(c"eventfd_max");
        let signal = KBox::pin_init(
            dir.write_callback_file(c"signal", (), &signal_hook),
            GFP_KERNEL,
        )?;
        Ok(Self {
            _signal: signal,
            _dir: dir,
        })
    }
}

#[pin_data]
struct EventFdMaxModule {
    _debugfs: Debugfs,
    #[pin]
    _device: Registration,
}

impl kernel::InPlaceModule for EventFdMaxModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _debugfs: Debugfs::new()?,
            _device <- Registration::new(),
        })
    }
}
