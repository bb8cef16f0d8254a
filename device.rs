// SPDX-License-Identifier: GPL-2.0

//! The character device `/dev/eventfd_max`: one device number, a class for its devtmpfs node, and
//! the cdev whose open creates a counter.
//!
//! A misc device would be shorter, but `misc_open()` calls the driver's `open` with the global
//! `misc_mtx` held, so every counter creation would wait for, and hold up, every misc device open
//! on the machine (`/dev/kvm`, `/dev/net/tun`, `/dev/fuse`, ...).  `chrdev_open()` takes only the
//! global `cdev_lock` spinlock, around a pointer read and two reference counts, and calls `open`
//! with no lock held.  The kernel crate of 7.3 has no character device abstraction (a
//! `kernel::chrdev` registration would replace this file), so this calls the C API.

use crate::{eventfd::Ids, fops};
use core::ptr::NonNull;
use kernel::{
    bindings,
    error::from_err_ptr,
    prelude::*,
    types::Opaque, //
};

/// The name of the device, its class and its node.
const NAME: &CStr = c"eventfd_max";

/// A device number of our own.
///
/// # Invariants
///
/// `self.0` was allocated by `alloc_chrdev_region()` and is released on drop.
struct Region(bindings::dev_t);

impl Region {
    fn new() -> Result<Self> {
        let mut devt = 0;
        // SAFETY: `devt` is valid for writes; `NAME` is static.
        kernel::error::to_result(unsafe {
            bindings::alloc_chrdev_region(&mut devt, 0, 1, NAME.as_char_ptr())
        })?;
        // INVARIANT: just allocated.
        Ok(Self(devt))
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: Allocated by `alloc_chrdev_region()` (type invariant).
        unsafe { bindings::unregister_chrdev_region(self.0, 1) };
    }
}

/// The class, whose `devnode` makes the node mode 0666: eventfd(2) needs no privilege, and
/// neither does this.
///
/// # Invariants
///
/// `self.0` was returned by `class_create()` and is destroyed on drop.
struct Class(NonNull<bindings::class>);

/// `class->devnode`: the node's mode, and its default name.
unsafe extern "C" fn devnode(
    _dev: *const bindings::device,
    mode: *mut bindings::umode_t,
) -> *mut c_char {
    if !mode.is_null() {
        // SAFETY: The driver core passes a valid mode to fill in, or null.
        unsafe { *mode = 0o666 };
    }
    core::ptr::null_mut()
}

impl Class {
    fn new() -> Result<Self> {
        // SAFETY: `NAME` is static.
        let class = from_err_ptr(unsafe { bindings::class_create(NAME.as_char_ptr()) })?;
        let class = NonNull::new(class).ok_or(ENOMEM)?;
        // SAFETY: The class was just created and has no device yet, so nothing reads `devnode`.
        unsafe { (*class.as_ptr()).devnode = Some(devnode) };
        // INVARIANT: just created.
        Ok(Self(class))
    }
}

impl Drop for Class {
    fn drop(&mut self) {
        // SAFETY: Created by `class_create()` (type invariant); its device went before it.
        unsafe { bindings::class_destroy(self.0.as_ptr()) };
    }
}

/// The cdev, live from `cdev_add()` until drop.
///
/// # Invariants
///
/// `cdev` was added with `cdev_add()`.
#[pin_data(PinnedDrop)]
struct Cdev {
    #[pin]
    cdev: Opaque<bindings::cdev>,
}

impl Cdev {
    fn new(devt: bindings::dev_t) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            cdev <- Opaque::try_ffi_init(|slot: *mut bindings::cdev| {
                // SAFETY: `slot` is valid for writes and pinned; `FOPS` is static.  The owner makes
                // `chrdev_open()` pin the module before it touches the cdev, whose memory goes
                // with the module.
                unsafe {
                    bindings::cdev_init(slot, &fops::FOPS.0);
                    (*slot).owner = kernel::module::this_module::<crate::LocalModule>().as_ptr();
                    // INVARIANT: added here; a failed add leaves nothing to undo.
                    kernel::error::to_result(bindings::cdev_add(slot, devt, 1))
                }
            }),
        })
    }
}

#[pinned_drop]
impl PinnedDrop for Cdev {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Added (type invariant).  Files already open hold the module, so none is left
        // when the module, and with it this cdev, goes away.
        unsafe { bindings::cdev_del(self.cdev.get()) };
    }
}

/// The devtmpfs node and its sysfs device.
///
/// # Invariants
///
/// A device `devt` of `class` was created by `device_create()` and is destroyed on drop.
struct Node {
    class: NonNull<bindings::class>,
    devt: bindings::dev_t,
}

impl Node {
    fn new(class: &Class, devt: bindings::dev_t) -> Result<Self> {
        // SAFETY: The class is live, the format is a plain static string with no conversions.
        from_err_ptr(unsafe {
            bindings::device_create(
                class.0.as_ptr(),
                core::ptr::null_mut(),
                devt,
                core::ptr::null_mut(),
                NAME.as_char_ptr(),
            )
        })?;
        // INVARIANT: just created.
        Ok(Self {
            class: class.0,
            devt,
        })
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // SAFETY: Created by `device_create()` (type invariant); the class outlives the node.
        unsafe { bindings::device_destroy(self.class.as_ptr(), self.devt) };
    }
}

/// `/dev/eventfd_max`, from module init to exit.  Fields drop in the order declared, the reverse
/// of the order in which [`Registration::new`] creates them.
#[pin_data]
pub(crate) struct Registration {
    node: Node,
    #[pin]
    cdev: Cdev,
    class: Class,
    region: Region,
    /// The ids of open counters: ready before the first open, gone after the last close.
    ids: Ids,
}

// SAFETY: The registration is only created and dropped by module init and exit; its C objects are
// only touched by their own API, which may be called from any thread.
unsafe impl Send for Registration {}
// SAFETY: See `Send`.
unsafe impl Sync for Registration {}

impl Registration {
    pub(crate) fn new() -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            ids: Ids::new(),
            region: Region::new()?,
            class: Class::new()?,
            cdev <- Cdev::new(region.0),
            node: Node::new(class, region.0)?,
        })
    }
}
