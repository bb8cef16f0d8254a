//! Parsing of `/proc/self/fdinfo/<fd>` for eventfd and eventfd_max files.

use std::io;

/// The counter's state as the kernel reports it in `/proc/self/fdinfo/<fd>`.
///
/// The device prints the three lines of an `eventfd(2)` byte for byte, then its maximum:
///
/// ```text
/// eventfd-count:                0
/// eventfd-id: 7
/// eventfd-semaphore: 0
/// eventfd-maximum:               a
/// ```
///
/// A plain `eventfd(2)` has no `eventfd-maximum` line; its effective maximum is `u64::MAX` (a write
/// proceeds while `u64::MAX - count > value`, the device's rule with maximum `u64::MAX`), so that is
/// what [`maximum`](Self::maximum) holds for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct FdInfo {
    /// The current count.
    pub count: u64,
    /// The counter's id, unique among open counters (`eventfd-id`).
    pub id: u32,
    /// Whether reads are in semaphore mode (`EFD_SEMAPHORE`).
    pub semaphore: bool,
    /// The maximum: writes wait while `maximum - count <= value`.
    pub maximum: u64,
}

impl FdInfo {
    /// Parses the text of an fdinfo file.
    ///
    /// Fails with [`io::ErrorKind::InvalidData`] when a field is malformed or when one of the three
    /// eventfd lines is missing (the file does not belong to an eventfd).
    ///
    /// ```
    /// use eventfd_max::FdInfo;
    ///
    /// let text = "pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\n\
    ///             eventfd-count:                3\neventfd-id: 12\n\
    ///             eventfd-semaphore: 1\neventfd-maximum:               a\n";
    /// let info = FdInfo::parse(text)?;
    /// assert_eq!((info.count, info.id, info.semaphore, info.maximum), (3, 12, true, 10));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn parse(text: &str) -> io::Result<FdInfo> {
        let (mut count, mut id, mut semaphore, mut maximum) = (None, None, None, None);
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key {
                "eventfd-count" => count = Some(parse_hex(key, value)?),
                "eventfd-maximum" => maximum = Some(parse_hex(key, value)?),
                "eventfd-id" => id = Some(value.parse().map_err(|_| malformed(key, value))?),
                "eventfd-semaphore" => {
                    semaphore = Some(match value {
                        "0" => false,
                        "1" => true,
                        _ => return Err(malformed(key, value)),
                    })
                }
                _ => {}
            }
        }
        match (count, id, semaphore) {
            (Some(count), Some(id), Some(semaphore)) => Ok(FdInfo {
                count,
                id,
                semaphore,
                maximum: maximum.unwrap_or(u64::MAX),
            }),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "fdinfo has no eventfd-count/eventfd-id/eventfd-semaphore lines: not an eventfd",
            )),
        }
    }
}

fn parse_hex(key: &str, value: &str) -> io::Result<u64> {
    u64::from_str_radix(value, 16).map_err(|_| malformed(key, value))
}

fn malformed(key: &str, value: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("fdinfo: malformed {key} value {value:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEVICE: &str = "pos:\t0\nflags:\t02004002\nmnt_id:\t24\nino:\t5\n\
                          eventfd-count:                0\neventfd-id: 0\n\
                          eventfd-semaphore: 0\neventfd-maximum: ffffffffffffffff\n";

    #[test]
    fn parses_device_fdinfo() {
        let info = FdInfo::parse(DEVICE).unwrap();
        assert_eq!(
            info,
            FdInfo {
                count: 0,
                id: 0,
                semaphore: false,
                maximum: u64::MAX
            }
        );
    }

    #[test]
    fn parses_padded_hex_at_the_edges() {
        let text = "eventfd-count: fffffffffffffffe\neventfd-id: 2147483647\n\
                    eventfd-semaphore: 1\neventfd-maximum:                1\n";
        let info = FdInfo::parse(text).unwrap();
        assert_eq!(info.count, u64::MAX - 1);
        assert_eq!(info.id, i32::MAX as u32);
        assert!(info.semaphore);
        assert_eq!(info.maximum, 1);
    }

    #[test]
    fn plain_eventfd_has_maximum_u64_max() {
        let text = "eventfd-count:               2a\neventfd-id: 9\neventfd-semaphore: 0\n";
        let info = FdInfo::parse(text).unwrap();
        assert_eq!((info.count, info.maximum), (42, u64::MAX));
    }

    #[test]
    fn rejects_non_eventfd_and_garbage() {
        for text in [
            "pos:\t0\nflags:\t02\n",
            "eventfd-count: zz\neventfd-id: 1\neventfd-semaphore: 0\n",
            "eventfd-count: 0\neventfd-id: -1\neventfd-semaphore: 0\n",
            "eventfd-count: 0\neventfd-id: 1\neventfd-semaphore: 2\n",
            "eventfd-count: 0\neventfd-id: 1\neventfd-semaphore: 0\neventfd-maximum: 1ffffffffffffffff\n",
        ] {
            let err = FdInfo::parse(text).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{text:?}");
        }
    }
}
