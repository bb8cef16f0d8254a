// SPDX-License-Identifier: GPL-2.0

//! The ioctl interface of `uapi/linux/eventfd_max.h`, mirrored by hand so the module needs no
//! bindgen run over its own header.  The C selftests exercise every number and layout here.

use kernel::{
    ioctl::{
        _IOR,
        _IOW, //
    },
    prelude::*,
    uaccess::{
        UserPtr,
        UserSlice, //
    },
};

/// `EFD_IOC_SET_MAXIMUM  _IOW('J', 0, __u64)`
pub(crate) const EFD_IOC_SET_MAXIMUM: u32 = _IOW::<u64>(b'J' as u32, 0);
/// `EFD_IOC_GET_MAXIMUM  _IOR('J', 1, __u64)`
pub(crate) const EFD_IOC_GET_MAXIMUM: u32 = _IOR::<u64>(b'J' as u32, 1);
/// `EFD_IOC_CONFIGURE  _IOW('J', 2, struct eventfd_max_config)`
pub(crate) const EFD_IOC_CONFIGURE: u32 = _IOW::<Config>(b'J' as u32, 2);

/// `struct eventfd_max_config`: the same 24 bytes with no padding on every ABI, so the compat
/// (32-bit) ioctl path needs no translation.
#[repr(C)]
pub(crate) struct Config {
    pub(crate) count: u64,
    pub(crate) maximum: u64,
    pub(crate) flags: u32,
    pub(crate) reserved: u32,
}

const _: () = assert!(core::mem::size_of::<Config>() == 24);

impl Config {
    /// Copies the configuration in from userspace, field by field.
    pub(crate) fn read(ptr: UserPtr) -> Result<Self> {
        let mut reader = UserSlice::new(ptr, core::mem::size_of::<Self>()).reader();
        Ok(Self {
            count: reader.read()?,
            maximum: reader.read()?,
            flags: reader.read()?,
            reserved: reader.read()?,
        })
    }
}
