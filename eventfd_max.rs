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
mod device;
mod eventfd;
mod fops;
mod uapi;
mod wqh;

use kernel::{
    debugfs,
    fs::file::LocalFile,
    interrupt::local_interrupt_disable,
    prelude::*,
    uaccess::UserSliceReader, //
};

module! {
    type: EventFdMaxModule,
    name: "eventfd_max",
    authors: ["eventfd_max developers"],
    description: "eventfd with a per-fd maximum for flow control (/dev/eventfd_max)",
    license: "GPL",
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
    _device: device::Registration,
}

impl kernel::InPlaceModule for EventFdMaxModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _debugfs: Debugfs::new()?,
            _device: device::Registration::new()?,
        })
    }
}
