// SPDX-License-Identifier: GPL-2.0

//! The `file_operations` of `/dev/eventfd_max`: eventfd's own (`read_iter`, `write`, `poll`,
//! `llseek`, `show_fdinfo`, `release`) plus `open` and the ioctls.
//!
//! As in Binder, each `extern "C"` shim only turns the raw pointers it is given into the
//! [`EventFd`] in `private_data` and typed values, and calls a method of it; `poll` hands its file
//! and table down raw, as `poll_wait()` takes them.  No shim makes a `File` or `LocalFile`: their
//! invariants forbid unlocked `fdget_pos()` calls on other threads, and `fdget_pos()` never locks
//! a character device's file.

use crate::eventfd::EventFd;
use kernel::{
    bindings,
    ffi::{
        c_char,
        c_int,
        c_long,
        c_uint,
        c_ulong, //
    },
    fs::{
        file::flags::O_NONBLOCK,
        LocalFile, //
    },
    iov::IovIterDest,
    prelude::*,
    seq_file::SeqFile,
    types::ForeignOwnable, //
};

/// The type kept in `file->private_data` between `open` and `release`.
type Private = Pin<KBox<EventFd>>;

// Flags bindgen cannot evaluate (their definitions are casts).
/// `FMODE_PREAD` and `FMODE_PWRITE` (`include/linux/fs.h`): positional reads and writes.
const FMODE_PREAD: bindings::fmode_t = 1 << 3;
const FMODE_PWRITE: bindings::fmode_t = 1 << 4;
/// `FMODE_NOWAIT` (`include/linux/fs.h`): reads and writes honour `IOCB_NOWAIT`.
const FMODE_NOWAIT: bindings::fmode_t = 1 << 27;
/// `FMODE_NONOTIFY` (`include/linux/fs.h`): no fsnotify event for this file.
const FMODE_NONOTIFY: bindings::fmode_t = 1 << 25;
/// `FMODE_FSNOTIFY_MASK` (`include/linux/fs.h`): `FMODE_NONOTIFY | FMODE_NONOTIFY_PERM`.
const FMODE_FSNOTIFY_MASK: bindings::fmode_t = 3 << 25;
/// `IOCB_NOWAIT` (`include/linux/fs.h`), which is `RWF_NOWAIT` (`include/uapi/linux/fs.h`).
const IOCB_NOWAIT: c_int = 0x8;

/// The `file_operations` table, which the kernel only reads.
pub(crate) struct Fops(pub(crate) bindings::file_operations);
// SAFETY: The table is never written after compilation, so sharing it between threads is sound.
unsafe impl Sync for Fops {}

pub(crate) static FOPS: Fops = Fops(bindings::file_operations {
    owner: kernel::module::this_module::<crate::LocalModule>().as_ptr(),
    open: Some(open),
    release: Some(release),
    read_iter: Some(read_iter),
    write: Some(write),
    poll: Some(poll),
    unlocked_ioctl: Some(ioctl),
    compat_ioctl: bindings::compat_ptr_ioctl,
    show_fdinfo: Some(show_fdinfo),
    llseek: Some(bindings::noop_llseek),
    ..pin_init::zeroed()
});

/// Borrows the [`EventFd`] of one of our open files.
///
/// # Safety
///
/// `file` is a valid file with [`FOPS`] for which `open` succeeded, and `release` does not run
/// during `'a` (the caller holds a reference to the file, or is one of its operations).
unsafe fn private<'a>(file: *mut bindings::file) -> Pin<&'a EventFd> {
    // SAFETY: `private_data` came from `Private::into_foreign()` in `open` and is only taken back
    // in `release`, which does not run during `'a` by the contract.
    unsafe { Private::borrow((*file).private_data) }
}

/// Borrows the [`EventFd`] of `file`, or `None` if `file` is not a `/dev/eventfd_max` file.
pub(crate) fn eventfd(file: &LocalFile) -> Option<Pin<&EventFd>> {
    let raw = file.as_ptr();
    // SAFETY: `file` is a valid reference, so its `f_op` may be read.
    if !core::ptr::eq(unsafe { (*raw).f_op }, &FOPS.0) {
        return None;
    }
    // SAFETY: Files whose operations are ours were opened by `open` (a failed open never gets a
    // file reference to anyone), and the `&LocalFile` keeps this one from being released.
    Some(unsafe { private(raw) })
}

/// # Safety
///
/// Called by `chrdev_open()` only, for an inode of our cdev.
unsafe extern "C" fn open(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    match EventFd::new() {
        Ok(eventfd) => {
            // The file becomes what eventfd's pseudo file is: no positional I/O (`pread()` and
            // `pwrite()` fail with `ESPIPE`; `do_dentry_open()` set these bits for `open` to
            // clear), `FMODE_NOWAIT` as `anon_inode_getfile_fmode()` gives, no further fsnotify
            // events (`file_set_fsnotify_mode()` in `alloc_file_pseudo()`), and no `O_LARGEFILE`,
            // which a 64-bit open() adds and eventfd's `F_GETFL` lacks.
            // SAFETY: `open` may set the file's mode, flags and private data, which no one else
            // reads before it returns.
            unsafe {
                let mode = ((*file).f_mode & !(FMODE_PREAD | FMODE_PWRITE | FMODE_FSNOTIFY_MASK))
                    | FMODE_NONOTIFY
                    | FMODE_NOWAIT;
                (*file).f_mode = mode;
                (*file).f_flags &= !bindings::O_LARGEFILE;
                (*file).private_data = eventfd.into_foreign();
            }
            0
        }
        Err(err) => err.to_errno(),
    }
}

/// # Safety
///
/// Called by the VFS once, after a successful `open`, when the last reference is dropped.
unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: `private_data` came from `into_foreign()` in `open`; this is the last use.
    let eventfd = unsafe { Private::from_foreign((*file).private_data) };
    eventfd.release();
    0
}

/// Whether the file is non-blocking now, so that `fcntl(F_SETFL)` takes effect at once.
///
/// # Safety
///
/// `file` is valid for the duration of the call.
unsafe fn o_nonblock(file: *mut bindings::file) -> bool {
    // SAFETY: `file` is valid.  `fcntl(F_SETFL)` may store to `f_flags` meanwhile (a plain store
    // under `f_lock`), so this is the `READ_ONCE()` the kernel reads it with, as
    // `LocalFile::flags()` does.
    let flags = unsafe { (&raw const (*file).f_flags).read_volatile() };
    flags & O_NONBLOCK != 0
}

/// # Safety
///
/// Called by the VFS with a valid `kiocb` on one of our files and a valid destination iterator.
unsafe extern "C" fn read_iter(
    kiocb: *mut bindings::kiocb,
    iter: *mut bindings::iov_iter,
) -> isize {
    // SAFETY: `kiocb` is valid for the call.
    let (file, ki_flags) = unsafe { ((*kiocb).ki_filp, (*kiocb).ki_flags) };
    // SAFETY: The file is ours and open for the call.
    let eventfd = unsafe { private(file) };
    // SAFETY: `->read_iter` gets an `ITER_DEST` iterator over memory writable for the call, which
    // nothing else touches until the call returns; `dest` does not outlive it.
    let dest = unsafe { IovIterDest::from_raw(iter) };
    // SAFETY: The file is valid for the call.
    let nonblock = unsafe { o_nonblock(file) } || ki_flags & IOCB_NOWAIT != 0;
    match eventfd.read(dest, nonblock) {
        Ok(len) => len as isize,
        Err(err) => err.to_errno() as isize,
    }
}

/// # Safety
///
/// Called by the VFS on one of our open files, with a user pointer and length.
unsafe extern "C" fn write(
    file: *mut bindings::file,
    buf: *const c_char,
    len: usize,
    _ppos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: By the contract: the file is ours and open.
    let eventfd = unsafe { private(file) };
    // SAFETY: By the contract.
    let nonblock = unsafe { o_nonblock(file) };
    match eventfd.write(UserPtr::from_ptr(buf.cast_mut().cast()), len, nonblock) {
        Ok(len) => len as isize,
        Err(err) => err.to_errno() as isize,
    }
}

/// # Safety
///
/// Called by the VFS on one of our open files, with its poll table (or null).
unsafe extern "C" fn poll(file: *mut bindings::file, table: *mut bindings::poll_table) -> c_uint {
    // SAFETY: The file is ours and open for the duration of the call.
    let eventfd = unsafe { private(file) };
    // SAFETY: `table` is the poll table the VFS passed for `file`, whose private data `eventfd` is.
    unsafe { eventfd.poll(file, table) }
}

/// # Safety
///
/// Called by the VFS on one of our open files (and through `compat_ptr_ioctl()`).
unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
    // SAFETY: The file is ours and open for the duration of the call.
    let eventfd = unsafe { private(file) };
    match eventfd.ioctl(cmd, arg) {
        Ok(()) => 0,
        Err(err) => err.to_errno() as c_long,
    }
}

/// # Safety
///
/// Called by procfs on one of our open files with a seq_file only this thread uses.
unsafe extern "C" fn show_fdinfo(m: *mut bindings::seq_file, file: *mut bindings::file) {
    // SAFETY: The file is ours and open.
    let eventfd = unsafe { private(file) };
    // SAFETY: `m` is valid and used by this thread only, for the duration of the call.
    let m = unsafe { SeqFile::from_raw(m) };
    eventfd.show_fdinfo(m);
}
