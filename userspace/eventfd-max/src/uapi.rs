//! Mirror of `uapi/linux/eventfd_max.h` (the ioctl numbers and the configure structure).

use rustix::ioctl::{Opcode, opcode};

/// The device node the module registers.
pub const DEVICE_PATH: &str = "/dev/eventfd_max";

/// `EFD_SEMAPHORE` from `<sys/eventfd.h>`, the only flag `EFD_IOC_CONFIGURE` accepts.
pub(crate) const EFD_SEMAPHORE: u32 = 1;

/// `struct eventfd_max_config`: the device's `eventfd2(count, flags)` plus the maximum.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Config {
    pub count: u64,
    pub maximum: u64,
    pub flags: u32,
    pub reserved: u32,
}

// The layout is ABI: 24 bytes with no padding on every architecture (also i386, where u64 aligns to 4).
const _: () = assert!(core::mem::size_of::<Config>() == 24);

/// `_IOW('J', 0, __u64)`
pub(crate) const EFD_IOC_SET_MAXIMUM: Opcode = opcode::write::<u64>(b'J', 0);
/// `_IOR('J', 1, __u64)`
pub(crate) const EFD_IOC_GET_MAXIMUM: Opcode = opcode::read::<u64>(b'J', 1);
/// `_IOW('J', 2, struct eventfd_max_config)`
pub(crate) const EFD_IOC_CONFIGURE: Opcode = opcode::write::<Config>(b'J', 2);

#[cfg(test)]
mod tests {
    use super::*;

    /// The values the C header produces on x86_64 (checked with gcc against uapi/linux/eventfd_max.h).
    #[test]
    fn opcodes_match_the_c_header() {
        assert_eq!(EFD_IOC_SET_MAXIMUM as u64, 0x4008_4a00);
        assert_eq!(EFD_IOC_GET_MAXIMUM as u64, 0x8008_4a01);
        assert_eq!(EFD_IOC_CONFIGURE as u64, 0x4018_4a02);
    }
}
