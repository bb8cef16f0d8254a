// SPDX-License-Identifier: GPL-2.0

//! The `file_operations` of `/dev/eventfd_max`.
//!
//! `kernel::miscdevice::MiscDevice` has no `poll` (nor `llseek`) hook in this kernel, so, as
//! Binder does, the module builds its own table of thin `extern "C"` shims that recover the
//! [`EventFd`] from `private_data` and call its safe methods.

use crate::{eventfd::EventFd, Registration};
use kernel::{
    bindings,
    ffi::{c_int, c_long, c_uint, c_ulong},
    fs::{file::flags::O_NONBLOCK, File, LocalFile},
    iov::{IovIterDest, IovIterSource},
    prelude::*,
    seq_file::SeqFile,
    types::{ForeignOwnable, Opaque},
};

/// The type kept in `file->private_data` between `open` and `release`.
type Private = Pin<KBox<EventFd>>;

// Flags bindgen cannot evaluate (their definitions are casts).
/// `FMODE_NOWAIT` (`include/linux/fs.h`): reads and writes honour `IOCB_NOWAIT`.
const FMODE_NOWAIT: bindings::fmode_t = 1 << 27;
/// `IOCB_NOWAIT` (`include/linux/fs.h`), which is `RWF_NOWAIT` (`include/uapi/linux/fs.h`).
const IOCB_NOWAIT: c_int = 0x8;

/// Makes a C table usable as a `static`.
pub(crate) struct AssertSync<T>(pub(crate) T);
// SAFETY: Only used for the constant `file_operations` table, which is never written.
unsafe impl<T> Sync for AssertSync<T> {}

pub(crate) static FOPS: AssertSync<bindings::file_operations> =
    AssertSync(bindings::file_operations {
        owner: kernel::module::this_module::<crate::LocalModule>().as_ptr(),
        open: Some(open),
        release: Some(release),
        read_iter: Some(read_iter),
        write_iter: Some(write_iter),
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
    // file reference to anyone), and the `&File` keeps this one from being released.
    Some(unsafe { private(raw) })
}

/// # Safety
///
/// Called by `misc_open()` only, with `private_data` pointing at our registered `miscdevice`.
unsafe extern "C" fn open(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: `misc_open()` stores the `miscdevice` in `private_data`, and holds `misc_mtx` while
    // calling us, so the registration cannot be torn down during this call.
    let misc = unsafe { (*file).private_data }.cast::<Opaque<bindings::miscdevice>>();
    // SAFETY: Our `miscdevice` is the `misc` field of a `Registration`.
    let registration = unsafe { &*kernel::container_of!(misc, Registration, misc) };
    match EventFd::new(&registration.ids) {
        Ok(eventfd) => {
            // SAFETY: `open` may initialise the file's mode and private data, which no one else
            // reads before it returns.
            unsafe {
                (*file).f_mode |= FMODE_NOWAIT;
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
    eventfd.hang_up();
    0
}

/// Whether this read or write must not sleep: `O_NONBLOCK` as set now (so `fcntl()` takes
/// effect at once), or `IOCB_NOWAIT` from `preadv2(RWF_NOWAIT)` and io_uring.
///
/// # Safety
///
/// `kiocb` is the valid I/O control block of the current read or write.
unsafe fn nonblocking(kiocb: *mut bindings::kiocb) -> bool {
    // SAFETY: `kiocb` and its file are valid for the duration of the operation.
    let (ki_flags, f_flags) = unsafe { ((*kiocb).ki_flags, (*(*kiocb).ki_filp).f_flags) };
    f_flags & O_NONBLOCK != 0 || ki_flags & IOCB_NOWAIT != 0
}

/// # Safety
///
/// Called by the VFS with a valid `kiocb` on one of our files and a valid destination iterator.
unsafe extern "C" fn read_iter(
    kiocb: *mut bindings::kiocb,
    iter: *mut bindings::iov_iter,
) -> isize {
    // SAFETY: By the contract: the file is ours and open, the iterator is valid for writing.
    let (eventfd, dest, nonblock) = unsafe {
        (
            private((*kiocb).ki_filp),
            IovIterDest::from_raw(iter),
            nonblocking(kiocb),
        )
    };
    match eventfd.read_iter(dest, nonblock) {
        Ok(len) => len as isize,
        Err(err) => err.to_errno() as isize,
    }
}

/// # Safety
///
/// Called by the VFS with a valid `kiocb` on one of our files and a valid source iterator.
unsafe extern "C" fn write_iter(
    kiocb: *mut bindings::kiocb,
    iter: *mut bindings::iov_iter,
) -> isize {
    // SAFETY: By the contract: the file is ours and open, the iterator is valid for reading.
    let (eventfd, src, nonblock) = unsafe {
        (
            private((*kiocb).ki_filp),
            IovIterSource::from_raw(iter),
            nonblocking(kiocb),
        )
    };
    match eventfd.write_iter(src, nonblock) {
        Ok(len) => len as isize,
        Err(err) => err.to_errno() as isize,
    }
}

/// # Safety
///
/// Called by the VFS on one of our open files, with its poll table (or null).
unsafe extern "C" fn poll(
    file: *mut bindings::file,
    table: *mut bindings::poll_table,
) -> bindings::__poll_t {
    // SAFETY: The file is ours, open and valid for the duration of the call.
    let (eventfd, fileref) = unsafe { (private(file), File::from_raw_file(file)) };
    // SAFETY: `table` is the poll table the VFS passed for `file`.
    unsafe { eventfd.poll(fileref, table) }
}

/// # Safety
///
/// Called by the VFS on one of our open files (and through `compat_ptr_ioctl()`).
unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
    // SAFETY: The file is ours and open for the duration of the call.
    let eventfd = unsafe { private(file) };
    match eventfd.ioctl(cmd, arg) {
        Ok(ret) => ret as c_long,
        Err(err) => err.to_errno() as c_long,
    }
}

/// # Safety
///
/// Called by procfs on one of our open files with a seq_file only this thread uses.
unsafe extern "C" fn show_fdinfo(m: *mut bindings::seq_file, file: *mut bindings::file) {
    // SAFETY: The file is ours and open; `m` is valid and exclusive for the call.
    let (eventfd, m) = unsafe { (private(file), SeqFile::from_raw(m)) };
    eventfd.show_fdinfo(m);
}
