//! Errors with a message that says what to do, for the failures a user can fix (open and configure).

use std::error::Error;
use std::fmt;
use std::io;
use std::path::Path;

use rustix::io::Errno;

/// An `io::Error` payload: a message in front of the underlying OS error, which stays reachable
/// through [`Error::source`] (so `raw_os_error()` of the source still gives the errno).
struct Context {
    message: String,
    source: io::Error,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

// As a plain message, so that `fn main() -> io::Result<()>` prints just that.
impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.message, f)
    }
}

impl Error for Context {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

fn with_context(errno: Errno, message: String) -> io::Error {
    let source = io::Error::from(errno);
    io::Error::new(source.kind(), Context { message, source })
}

const FIX: &str = "load the module with `insmod eventfd_max.ko` (see README)";

/// Maps a failed `open()` of the device node.
pub(crate) fn open(path: &Path, errno: Errno) -> io::Error {
    let path = path.display();
    let message = match errno {
        Errno::NOENT => format!("{path} not found: {FIX}"),
        // A stale node (static /dev, or the module unloaded): the minor has no driver behind it.
        Errno::NXIO | Errno::NODEV => format!("{path} has no driver behind it: {FIX}"),
        Errno::ACCESS | Errno::PERM => {
            format!(
                "{path}: {errno} (the module creates it with mode 0666; check the node's permissions)"
            )
        }
        _ => format!("cannot open {path}: {errno}"),
    };
    with_context(errno, message)
}

/// Maps a failed `EFD_IOC_CONFIGURE` on a freshly opened node.
pub(crate) fn configure(path: &Path, errno: Errno) -> io::Error {
    let path = path.display();
    let message = match errno {
        Errno::NOTTY => format!("{path} is not an eventfd_max device (EFD_IOC_CONFIGURE: {errno})"),
        _ => format!("EFD_IOC_CONFIGURE on {path}: {errno}"),
    };
    with_context(errno, message)
}

/// The error of `try_read`/`try_write` on a blocking fd whose file has no per-call non-blocking I/O.
pub(crate) fn no_nowait(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "{what}: this file does not support RWF_NOWAIT and the fd is blocking; \
             open it with nonblocking(true) or call set_nonblocking(true)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_device_names_the_fix() {
        let err = open(Path::new("/dev/eventfd_max"), Errno::NOENT);
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            err.to_string(),
            "/dev/eventfd_max not found: load the module with `insmod eventfd_max.ko` (see README)"
        );
        let source = err.get_ref().unwrap().source().unwrap();
        let source = source.downcast_ref::<io::Error>().unwrap();
        assert_eq!(source.raw_os_error(), Some(libc_enoent()));
    }

    #[test]
    fn kinds_follow_the_errno() {
        let p = Path::new("/x");
        assert_eq!(
            open(p, Errno::ACCESS).kind(),
            io::ErrorKind::PermissionDenied
        );
        assert!(open(p, Errno::NXIO).to_string().contains("insmod"));
        assert_eq!(
            configure(p, Errno::INVAL).kind(),
            io::ErrorKind::InvalidInput
        );
        assert!(
            configure(p, Errno::NOTTY)
                .to_string()
                .contains("not an eventfd_max device")
        );
        assert_eq!(no_nowait("try_write").kind(), io::ErrorKind::Unsupported);
    }

    fn libc_enoent() -> i32 {
        Errno::NOENT.raw_os_error()
    }
}
