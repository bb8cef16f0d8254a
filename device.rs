// SPDX-License-Identifier: GPL-2.0

//! The character device `/dev/eventfd_max`: one device number, a class for its devtmpfs node, and
//! the cdev whose open creates a counter.
//!
//! A misc device would be shorter, but `misc_open()` calls the driver's `open` with the global
//! `misc_mtx` held, so every counter creation would wait for, and hold up, every misc device open
//! on the machine (`/dev/kvm`, `/dev/net/tun`, `/dev/fuse`, ...).  `chrdev_open()` calls `open` with
//! no lock held; before, it takes the global `cdev_lock` spinlock around a pointer read and two
//! reference counts (and, on the first open of an inode only, the `chrdevs_lock` mutex to look the
//! number up).  The kernel crate of 7.3 has no character device abstraction (a
//! `kernel::chrdev` registration would replace this file), so this calls the C API.

use crate::{
    eventfd::Ids,
    fops, //
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    error::from_err_ptr,
    prelude::*, //
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

/// The cdev, live from `cdev_add()` until drop.  Allocated by `cdev_alloc()`, not embedded in
/// module memory: its kobject may outlive the module by a deferred release
/// (`CONFIG_DEBUG_KOBJECT_RELEASE`), and the dynamic cdev's release frees it.
///
/// # Invariants
///
/// `self.0` was returned by `cdev_alloc()` and added with `cdev_add()`; `cdev_del()` on drop
/// drops this registration's reference.
struct Cdev(NonNull<bindings::cdev>);

impl Cdev {
    fn new(devt: bindings::dev_t) -> Result<Self> {
        // SAFETY: No precondition.
        let cdev = NonNull::new(unsafe { bindings::cdev_alloc() }).ok_or(ENOMEM)?;
        let p = cdev.as_ptr();
        // SAFETY: `p` is a fresh cdev no one else knows of.  `chrdev_open()` pins `owner` before it
        // takes a reference to the cdev or calls `ops`, and drops that reference before unpinning.
        unsafe {
            (*p).ops = &fops::FOPS.0;
            (*p).owner = kernel::module::this_module::<crate::LocalModule>().as_ptr();
        }
        // SAFETY: `p` is an initialised cdev; `devt` is our region's single number.
        if let Err(err) = kernel::error::to_result(unsafe { bindings::cdev_add(p, devt, 1) }) {
            // SAFETY: `p` holds `cdev_alloc()`'s reference, and nothing else took one.
            unsafe { bindings::kobject_put(&raw mut (*p).kobj) };
            return Err(err);
        }
        // INVARIANT: allocated and added.
        Ok(Self(cdev))
    }
}

impl Drop for Cdev {
    fn drop(&mut self) {
        // SAFETY: Added (type invariant).  New opens no longer find it; open files keep their
        // own references, which they drop before unpinning the module.
        unsafe { bindings::cdev_del(self.0.as_ptr()) };
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
pub(crate) struct Registration {
    _node: Node,
    _cdev: Cdev,
    _class: Class,
    _region: Region,
    /// The ids of open counters: ready before the first open, gone after the last close.
    _ids: Ids,
}

// SAFETY: The registration is only created and dropped by module init and exit; its C objects are
// only touched by their own API, which may be called from any thread.
unsafe impl Send for Registration {}
// SAFETY: See `Send`.
unsafe impl Sync for Registration {}

impl Registration {
    /// Registers the device.  Only one may exist at a time: module init makes it.
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: Module init calls this once per load, before the device exists, and module exit
        // drops the registration, `ids` last, after the device is gone.
        let ids = unsafe { Ids::new() };
        let region = Region::new()?;
        let class = Class::new()?;
        let cdev = Cdev::new(region.0)?;
        let node = Node::new(&class, region.0)?;
        Ok(Self {
            _node: node,
            _cdev: cdev,
            _class: class,
            _region: region,
            _ids: ids,
        })
    }
}
