//! Host tests that need no device: validation, error mapping, and the I/O paths run against a
//! plain `eventfd(2)`, whose rules are the device's with maximum `u64::MAX`.

use std::io::ErrorKind;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rustix::event::{EventfdFlags, PollFd, PollFlags, eventfd, poll};

use super::*;

/// Bound for every wait in these tests.
const BOUND: Duration = Duration::from_secs(10);

fn native(flags: EventfdFlags) -> EventFdMax {
    EventFdMax::from(eventfd(0, flags | EventfdFlags::CLOEXEC).unwrap())
}

/// Fills a native eventfd to its limit, `u64::MAX - 1`: a further write of 1 must wait.
fn full_native(flags: EventfdFlags) -> EventFdMax {
    let efd = native(flags);
    efd.write(u64::MAX - 1).unwrap();
    efd
}

fn errno_of(err: &io::Error) -> Option<i32> {
    err.raw_os_error().or_else(|| {
        let source = std::error::Error::source(err.get_ref()?)?;
        source.downcast_ref::<io::Error>()?.raw_os_error()
    })
}

#[test]
fn builder_defaults_and_chain() {
    let b = EventFdMax::builder()
        .count(1)
        .semaphore(true)
        .nonblocking(true)
        .cloexec(false)
        .maximum(10)
        .path("/tmp/x");
    assert_eq!(
        (b.count, b.maximum, b.semaphore, b.nonblocking, b.cloexec),
        (1, 10, true, true, false)
    );
    assert_eq!(b.path, Path::new("/tmp/x"));
    let d = EventFdMaxBuilder::new();
    assert_eq!(
        (d.count, d.maximum, d.semaphore, d.nonblocking, d.cloexec),
        (0, u64::MAX, false, false, true)
    );
    assert_eq!(d.path, Path::new(DEVICE_PATH));
}

#[test]
fn builder_validation() {
    let invalid = |b: EventFdMaxBuilder| b.validate().unwrap_err().kind();
    assert_eq!(
        invalid(EventFdMax::builder().maximum(0)),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        invalid(EventFdMax::builder().maximum(10).count(10)),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        invalid(EventFdMax::builder().count(u64::MAX)),
        ErrorKind::InvalidInput
    );
    EventFdMax::builder()
        .maximum(10)
        .count(9)
        .validate()
        .unwrap();
    EventFdMax::builder().maximum(1).validate().unwrap();
    EventFdMax::builder()
        .count(u64::MAX - 1)
        .validate()
        .unwrap();
    // Validation happens before the open: no NotFound for a missing node.
    let err = EventFdMax::builder()
        .path("/nonexistent")
        .maximum(0)
        .open()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("at least 1"), "{err}");
}

#[test]
fn missing_device_is_not_found_and_names_the_fix() {
    let err = EventFdMax::builder()
        .path("/nonexistent/eventfd_max")
        .open()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        err.to_string(),
        "/nonexistent/eventfd_max not found: load the module with `insmod eventfd_max.ko` (see README)"
    );
    assert_eq!(errno_of(&err), Some(Errno::NOENT.raw_os_error()));
    if !Path::new(DEVICE_PATH).exists() {
        let err = EventFdMax::builder().open().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(
            err.to_string(),
            "/dev/eventfd_max not found: load the module with `insmod eventfd_max.ko` (see README)"
        );
    }
}

#[test]
fn other_files_are_not_eventfd_max_devices() {
    let err = EventFdMax::builder().path("/dev/null").open().unwrap_err();
    assert_eq!(errno_of(&err), Some(Errno::NOTTY.raw_os_error()));
    assert!(
        err.to_string()
            .contains("/dev/null is not an eventfd_max device"),
        "{err}"
    );
}

#[test]
fn read_returns_the_whole_count() {
    let efd = native(EventfdFlags::empty());
    efd.write(3).unwrap();
    efd.write(4).unwrap();
    efd.write(0).unwrap();
    assert_eq!(efd.read().unwrap(), 7);
    assert_eq!(efd.try_read().unwrap_err().kind(), ErrorKind::WouldBlock);
}

#[test]
fn semaphore_reads_one_at_a_time() {
    let efd = native(EventfdFlags::SEMAPHORE);
    efd.write(2).unwrap();
    assert_eq!(efd.read().unwrap(), 1);
    assert_eq!(efd.try_read().unwrap(), 1);
    assert_eq!(efd.try_read().unwrap_err().kind(), ErrorKind::WouldBlock);
    assert!(efd.fdinfo().unwrap().semaphore);
}

#[test]
fn errno_kinds() {
    let efd = native(EventfdFlags::NONBLOCK);
    // EINVAL: a value that can never fit (upstream's v == ULLONG_MAX rule).
    let err = efd.write(u64::MAX).unwrap_err();
    assert_eq!(
        (err.kind(), err.raw_os_error()),
        (ErrorKind::InvalidInput, Some(Errno::INVAL.raw_os_error()))
    );
    // EAGAIN on a non-blocking fd.
    assert_eq!(efd.read().unwrap_err().kind(), ErrorKind::WouldBlock);
    efd.write(u64::MAX - 1).unwrap();
    assert_eq!(efd.write(1).unwrap_err().kind(), ErrorKind::WouldBlock);
    // ENOTTY: a plain eventfd has no maximum ioctls.
    assert_eq!(
        efd.maximum().unwrap_err().raw_os_error(),
        Some(Errno::NOTTY.raw_os_error())
    );
    assert_eq!(
        efd.set_maximum(5).unwrap_err().raw_os_error(),
        Some(Errno::NOTTY.raw_os_error())
    );
}

#[test]
fn try_read_never_blocks_on_a_blocking_fd() {
    let efd = native(EventfdFlags::empty());
    assert!(!efd.is_nonblocking().unwrap());
    assert_eq!(efd.try_read().unwrap_err().kind(), ErrorKind::WouldBlock);
    efd.write(5).unwrap();
    assert_eq!(efd.try_read().unwrap(), 5);
    assert!(
        !efd.is_nonblocking().unwrap(),
        "the fd's mode is left alone"
    );
}

#[test]
fn try_write_never_blocks() {
    // Non-blocking fd: a plain write suffices when the file lacks RWF_NOWAIT.
    let efd = full_native(EventfdFlags::NONBLOCK);
    assert_eq!(efd.try_write(1).unwrap_err().kind(), ErrorKind::WouldBlock);
    assert_eq!(efd.try_write(0).map_err(|e| e.kind()), Ok(()));
    assert_eq!(efd.read().unwrap(), u64::MAX - 1);
    efd.try_write(u64::MAX - 1).unwrap();

    // Blocking fd: eventfd(2)'s write has no RWF_NOWAIT support (the device's has), so it says
    // Unsupported rather than risk blocking; a kernel that adds it gives WouldBlock.
    let efd = full_native(EventfdFlags::empty());
    let kind = efd.try_write(1).unwrap_err().kind();
    assert!(
        matches!(kind, ErrorKind::Unsupported | ErrorKind::WouldBlock),
        "{kind:?}"
    );
    assert_eq!(efd.fdinfo().unwrap().count, u64::MAX - 1);
}

#[test]
fn blocking_write_waits_for_a_read() {
    let efd = full_native(EventfdFlags::empty());
    let writer = efd.try_clone().unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || done_tx.send(writer.write(1).map_err(|e| e.kind())));
    assert!(
        done_rx.recv_timeout(Duration::from_millis(100)).is_err(),
        "write did not wait"
    );
    assert_eq!(efd.read().unwrap(), u64::MAX - 1);
    assert_eq!(done_rx.recv_timeout(BOUND).unwrap(), Ok(()));
    assert_eq!(efd.read().unwrap(), 1);
}

#[test]
fn blocking_read_waits_for_a_write() {
    let efd = native(EventfdFlags::empty());
    let reader = efd.try_clone().unwrap();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || done_tx.send(reader.read().map_err(|e| e.kind())));
    assert!(
        done_rx.recv_timeout(Duration::from_millis(100)).is_err(),
        "read did not wait"
    );
    efd.write(42).unwrap();
    assert_eq!(done_rx.recv_timeout(BOUND).unwrap(), Ok(42));
}

#[test]
fn fdinfo_of_a_plain_eventfd() {
    let a = native(EventfdFlags::empty());
    let b = native(EventfdFlags::empty());
    a.write(0x2a).unwrap();
    let info = a.fdinfo().unwrap();
    assert_eq!(
        (info.count, info.semaphore, info.maximum),
        (42, false, u64::MAX)
    );
    assert_ne!(info.id, b.fdinfo().unwrap().id);
}

#[test]
fn fd_traits_round_trip() {
    let efd = native(EventfdFlags::NONBLOCK);
    efd.write(1).unwrap();
    let mut fds = [PollFd::new(&efd, PollFlags::IN | PollFlags::OUT)];
    assert_eq!(poll(&mut fds, None).unwrap(), 1);
    assert_eq!(fds[0].revents(), PollFlags::IN | PollFlags::OUT);

    let raw = efd.into_raw_fd();
    // SAFETY: `raw` came from into_raw_fd just above; nothing else owns it.
    let efd = unsafe { EventFdMax::from_raw_fd(raw) };
    assert_eq!(efd.as_raw_fd(), raw);
    assert_eq!(efd.as_fd().as_raw_fd(), raw);
    let owned = OwnedFd::from(efd);
    let efd = EventFdMax::from(owned);
    assert_eq!(efd.read().unwrap(), 1);
    assert_eq!(format!("{efd:?}"), format!("EventFdMax {{ fd: {raw} }}"));
}

#[test]
fn clones_share_the_counter_and_the_mode() {
    let efd = native(EventfdFlags::empty());
    let clone = efd.try_clone().unwrap();
    assert_ne!(efd.as_raw_fd(), clone.as_raw_fd());
    clone.write(9).unwrap();
    assert_eq!(efd.read().unwrap(), 9);
    efd.set_nonblocking(true).unwrap();
    assert!(clone.is_nonblocking().unwrap());
    assert_eq!(clone.read().unwrap_err().kind(), ErrorKind::WouldBlock);
    efd.set_nonblocking(false).unwrap();
    assert!(!clone.is_nonblocking().unwrap());
}

#[cfg(feature = "tokio")]
mod tokio_tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use tokio::time::{sleep, timeout};

    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn async_write_waits_without_blocking_the_thread() {
        let efd = Arc::new(AsyncEventFdMax::new(full_native(EventfdFlags::empty())).unwrap());
        assert!(efd.get_ref().is_nonblocking().unwrap());
        // On a current-thread runtime, the heartbeat only runs if write().await yields.
        let beats = Arc::new(AtomicU64::new(0));
        let heartbeat = tokio::spawn({
            let beats = beats.clone();
            async move {
                loop {
                    sleep(Duration::from_millis(5)).await;
                    beats.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let writer = tokio::spawn({
            let efd = efd.clone();
            async move { efd.write(1).await }
        });
        sleep(Duration::from_millis(100)).await;
        assert!(
            !writer.is_finished(),
            "write(1) on a full counter did not wait"
        );
        assert!(
            beats.load(Ordering::Relaxed) >= 5,
            "the runtime thread was blocked"
        );
        assert_eq!(efd.read().await.unwrap(), u64::MAX - 1);
        timeout(BOUND, writer).await.unwrap().unwrap().unwrap();
        assert_eq!(efd.try_read().unwrap(), 1);
        heartbeat.abort();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn async_write_larger_than_one_waits_for_room() {
        // Readiness promises room for 1 only: write(5) must wait for a read that makes room for 5.
        let efd = Arc::new(AsyncEventFdMax::new(native(EventfdFlags::SEMAPHORE)).unwrap());
        efd.write(u64::MAX - 5).await.unwrap();
        let writer = tokio::spawn({
            let efd = efd.clone();
            async move { efd.write(5).await }
        });
        sleep(Duration::from_millis(50)).await;
        assert!(
            !writer.is_finished(),
            "write(5) with room for 5 - 1 did not wait"
        );
        // One semaphore read leaves count MAX - 6: now MAX - count = 6 > 5, so the write fits.
        assert_eq!(efd.read().await.unwrap(), 1);
        timeout(BOUND, writer).await.unwrap().unwrap().unwrap();
        assert_eq!(efd.fdinfo().unwrap().count, u64::MAX - 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn async_write_never_fitting_fails_at_once() {
        let efd = AsyncEventFdMax::new(full_native(EventfdFlags::empty())).unwrap();
        let result = timeout(BOUND, efd.write(u64::MAX)).await.unwrap();
        assert_eq!(result.unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(efd.try_write(1).unwrap_err().kind(), ErrorKind::WouldBlock);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_read_waits_for_a_write() {
        let efd = Arc::new(AsyncEventFdMax::new(native(EventfdFlags::empty())).unwrap());
        assert_eq!(efd.try_read().unwrap_err().kind(), ErrorKind::WouldBlock);
        let reader = tokio::spawn({
            let efd = efd.clone();
            async move { efd.read().await }
        });
        sleep(Duration::from_millis(50)).await;
        assert!(!reader.is_finished());
        efd.try_write(7).unwrap();
        assert_eq!(timeout(BOUND, reader).await.unwrap().unwrap().unwrap(), 7);
        let efd = Arc::try_unwrap(efd).unwrap().into_inner();
        assert!(efd.is_nonblocking().unwrap());
    }
}
