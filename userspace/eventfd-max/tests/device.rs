//! Tests against the real `/dev/eventfd_max`, printing TAP (`ok N - name` / `not ok N - name`).
//!
//! A plain binary (`harness = false`) so that the guest runner can count its results. It runs when
//! the device exists and skips (`1..0 # SKIP`) when it does not; `EVENTFD_MAX_DEVICE_TESTS=1` makes
//! a missing device a failure, `EVENTFD_MAX_DEVICE_TESTS=0` always skips. Every wait is bounded:
//! each test runs on its own thread with a deadline, and a watchdog ends the whole run.

use std::fmt::Display;
use std::io::{self, ErrorKind};
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use eventfd_max::{DEVICE_PATH, EventFdMax};
use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::io::FdFlags;

type TestResult = Result<(), String>;
/// A named test: a failure returns its reason, printed as TAP diagnostics.
type Test = (&'static str, fn() -> TestResult);

/// Deadline of one test; the longest (the producer/consumer runs) take well under a second.
const TEST_BOUND: Duration = Duration::from_secs(30);
/// Deadline of the whole run, for a test thread that wedges the process in some other way.
const RUN_BOUND: Duration = Duration::from_secs(300);
/// How long a waiter must stay blocked before we believe it is blocked.
const SETTLE: Duration = Duration::from_millis(100);

const TESTS: &[Test] = &[
    ("open_defaults", open_defaults),
    (
        "builder_configures_count_maximum_semaphore",
        builder_configures,
    ),
    ("builder_flags_nonblocking_cloexec", builder_flags),
    ("builder_rejects_invalid_config", builder_rejects_invalid),
    ("missing_device_names_the_fix", missing_device),
    ("set_get_maximum_round_trip", set_get_maximum),
    (
        "write_at_or_above_maximum_is_invalid",
        write_at_or_above_maximum,
    ),
    ("write_zero_succeeds", write_zero),
    ("read_drains_the_whole_count", read_drains),
    ("semaphore_reads_one_at_a_time", semaphore_reads),
    (
        "try_read_on_blocking_fd_try_write_needs_nonblocking",
        try_ops_on_blocking_fd,
    ),
    ("nonblocking_fd_would_block", nonblocking_fd),
    ("blocking_write_released_by_read", write_released_by_read),
    (
        "blocking_write_released_by_set_maximum",
        write_released_by_set_maximum,
    ),
    ("blocking_read_released_by_write", read_released_by_write),
    (
        "set_maximum_at_or_below_the_count_is_invalid",
        lowered_maximum,
    ),
    ("poll_readiness_follows_the_maximum", poll_readiness),
    ("fdinfo_ids_unique_and_shared_by_clones", fdinfo_ids),
    (
        "threaded_producer_consumer_is_bounded",
        threaded_producer_consumer,
    ),
    #[cfg(feature = "tokio")]
    (
        "async_write_waits_without_blocking_the_runtime",
        async_tests::write_waits,
    ),
    #[cfg(feature = "tokio")]
    (
        "async_write_never_fitting_fails_at_once",
        async_tests::write_invalid,
    ),
    #[cfg(feature = "tokio")]
    (
        "async_producer_consumer_is_bounded",
        async_tests::producer_consumer,
    ),
];

fn main() {
    let required = match std::env::var("EVENTFD_MAX_DEVICE_TESTS").as_deref() {
        Ok("0") => return skip("EVENTFD_MAX_DEVICE_TESTS=0"),
        Ok("1") => true,
        _ => false,
    };
    println!("TAP version 13");
    if !required && !Path::new(DEVICE_PATH).exists() {
        return skip(&format!(
            "{DEVICE_PATH} not present (load eventfd_max.ko; EVENTFD_MAX_DEVICE_TESTS=1 requires it)"
        ));
    }
    thread::spawn(|| {
        thread::sleep(RUN_BOUND);
        println!("Bail out! device tests still running after {RUN_BOUND:?}");
        std::process::exit(1);
    });

    println!("1..{}", TESTS.len());
    let mut failed = 0;
    for (i, (name, test)) in TESTS.iter().enumerate() {
        let start = Instant::now();
        match run_bounded(*test) {
            Ok(()) => println!("ok {} - {name}", i + 1),
            Err(reason) => {
                failed += 1;
                println!("not ok {} - {name}", i + 1);
                for line in reason.lines() {
                    println!("# {line}");
                }
            }
        }
        println!("# {name}: {:.0?}", start.elapsed());
    }
    println!(
        "# eventfd-max device tests: {} passed, {failed} failed",
        TESTS.len() - failed
    );
    std::process::exit(if failed == 0 { 0 } else { 1 });
}

fn skip(reason: &str) {
    println!("1..0 # SKIP {reason}");
}

/// Runs a test on its own thread: a panic or a missed deadline is a failure, not a hang.
fn run_bounded(test: fn() -> TestResult) -> TestResult {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let result = std::panic::catch_unwind(test)
            .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_message(&panic))));
        let _ = tx.send(result);
    });
    rx.recv_timeout(TEST_BOUND)
        .unwrap_or_else(|_| Err(format!("did not finish within {TEST_BOUND:?}")))
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic".into()
    }
}

// ---- small assertion helpers: a failing check returns its message as the TAP diagnostic ----

fn ensure(cond: bool, message: impl Display) -> TestResult {
    if cond {
        Ok(())
    } else {
        Err(message.to_string())
    }
}

fn ensure_eq<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> TestResult {
    ensure(got == want, format!("{what}: got {got:?}, want {want:?}"))
}

trait Context<T> {
    fn ctx(self, what: &str) -> Result<T, String>;
}

impl<T> Context<T> for io::Result<T> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: {e} ({:?})", e.kind()))
    }
}

/// Checks that `result` failed with `kind`.
fn ensure_err<T: std::fmt::Debug>(
    what: &str,
    result: io::Result<T>,
    kind: ErrorKind,
) -> TestResult {
    match result {
        Err(e) if e.kind() == kind => Ok(()),
        other => Err(format!(
            "{what}: got {other:?}, want an error of kind {kind:?}"
        )),
    }
}

fn open(maximum: u64) -> Result<EventFdMax, String> {
    EventFdMax::builder().maximum(maximum).open().ctx("open")
}

/// A non-blocking counter, for `try_write`.
fn open_nonblocking(maximum: u64) -> Result<EventFdMax, String> {
    EventFdMax::builder()
        .maximum(maximum)
        .nonblocking(true)
        .open()
        .ctx("open")
}

/// Runs `op` on another thread and checks that it is still waiting after [`SETTLE`].
fn spawn_waiter<T: Send + 'static>(
    what: &str,
    op: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> Result<mpsc::Receiver<io::Result<T>>, String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(op()));
    match rx.recv_timeout(SETTLE) {
        Err(mpsc::RecvTimeoutError::Timeout) => Ok(rx),
        _ => Err(format!("{what} did not wait")),
    }
}

fn finished<T>(what: &str, rx: mpsc::Receiver<io::Result<T>>) -> Result<T, String> {
    rx.recv_timeout(Duration::from_secs(10))
        .map_err(|_| format!("{what} was not released within 10 s"))?
        .ctx(what)
}

fn revents(efd: &EventFdMax) -> Result<PollFlags, String> {
    let mut fds = [PollFd::new(efd, PollFlags::IN | PollFlags::OUT)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&zero)).map_err(|e| format!("poll: {e}"))?;
    Ok(fds[0].revents())
}

// ---- the tests ----

fn open_defaults() -> TestResult {
    let efd = EventFdMax::builder().open().ctx("open")?;
    let info = efd.fdinfo().ctx("fdinfo")?;
    ensure_eq(
        "fdinfo (count, semaphore, maximum)",
        (info.count, info.semaphore, info.maximum),
        (0, false, u64::MAX),
    )?;
    ensure_eq("maximum()", efd.maximum().ctx("maximum")?, u64::MAX)?;
    ensure_eq("is_nonblocking", efd.is_nonblocking().ctx("fcntl")?, false)
}

fn builder_configures() -> TestResult {
    let efd = EventFdMax::builder()
        .count(3)
        .maximum(10)
        .semaphore(true)
        .open()
        .ctx("open")?;
    let info = efd.fdinfo().ctx("fdinfo")?;
    ensure_eq(
        "fdinfo (count, semaphore, maximum)",
        (info.count, info.semaphore, info.maximum),
        (3, true, 10),
    )?;
    ensure_eq("semaphore read", efd.read().ctx("read")?, 1)?;
    ensure_eq("count after read", efd.fdinfo().ctx("fdinfo")?.count, 2)
}

fn builder_flags() -> TestResult {
    let efd = EventFdMax::builder().nonblocking(true).open().ctx("open")?;
    ensure_eq("is_nonblocking", efd.is_nonblocking().ctx("fcntl")?, true)?;
    let cloexec =
        |efd: &EventFdMax| rustix::io::fcntl_getfd(efd).map(|f| f.contains(FdFlags::CLOEXEC));
    ensure_eq("cloexec by default", cloexec(&efd).ok(), Some(true))?;
    let efd = EventFdMax::builder().cloexec(false).open().ctx("open")?;
    ensure_eq("cloexec(false)", cloexec(&efd).ok(), Some(false))
}

fn builder_rejects_invalid() -> TestResult {
    ensure_err(
        "maximum 0",
        EventFdMax::builder().maximum(0).open(),
        ErrorKind::InvalidInput,
    )?;
    ensure_err(
        "count == maximum",
        EventFdMax::builder().count(5).maximum(5).open(),
        ErrorKind::InvalidInput,
    )?;
    let efd = EventFdMax::builder()
        .count(4)
        .maximum(5)
        .open()
        .ctx("count = maximum - 1")?;
    ensure_eq("count", efd.fdinfo().ctx("fdinfo")?.count, 4)
}

fn missing_device() -> TestResult {
    let err = match EventFdMax::builder()
        .path("/dev/eventfd_max.missing")
        .open()
    {
        Ok(_) => return Err("opened a path that does not exist".into()),
        Err(err) => err,
    };
    ensure_eq("kind", err.kind(), ErrorKind::NotFound)?;
    ensure(
        err.to_string().contains("insmod eventfd_max.ko"),
        format!("message does not name the fix: {err}"),
    )
}

fn set_get_maximum() -> TestResult {
    let efd = open(u64::MAX)?;
    for maximum in [10, 1, u64::MAX - 1, u64::MAX] {
        efd.set_maximum(maximum).ctx("set_maximum")?;
        ensure_eq("maximum()", efd.maximum().ctx("maximum")?, maximum)?;
        ensure_eq(
            "fdinfo maximum",
            efd.fdinfo().ctx("fdinfo")?.maximum,
            maximum,
        )?;
    }
    ensure_err(
        "set_maximum(0)",
        efd.set_maximum(0),
        ErrorKind::InvalidInput,
    )?;
    ensure_eq("maximum unchanged", efd.maximum().ctx("maximum")?, u64::MAX)
}

fn write_at_or_above_maximum() -> TestResult {
    let efd = open_nonblocking(10)?;
    ensure_err("write(10)", efd.write(10), ErrorKind::InvalidInput)?;
    ensure_err(
        "write(u64::MAX)",
        efd.write(u64::MAX),
        ErrorKind::InvalidInput,
    )?;
    efd.write(9).ctx("write(9)")?;
    ensure_err(
        "try_write(1) at the maximum",
        efd.try_write(1),
        ErrorKind::WouldBlock,
    )?;
    // EINVAL wins over EAGAIN: no read could ever make room for it.
    ensure_err(
        "try_write(10) when full",
        efd.try_write(10),
        ErrorKind::InvalidInput,
    )?;
    ensure_eq("count", efd.fdinfo().ctx("fdinfo")?.count, 9)
}

fn write_zero() -> TestResult {
    let efd = open_nonblocking(2)?;
    efd.write(1).ctx("write(1)")?;
    efd.write(0).ctx("write(0) with the counter full")?;
    efd.try_write(0).ctx("try_write(0)")?;
    ensure_eq("count", efd.read().ctx("read")?, 1)
}

fn read_drains() -> TestResult {
    let efd = open(100)?;
    efd.write(3).ctx("write")?;
    efd.write(4).ctx("write")?;
    ensure_eq("read", efd.read().ctx("read")?, 7)?;
    ensure_err("try_read when empty", efd.try_read(), ErrorKind::WouldBlock)
}

fn semaphore_reads() -> TestResult {
    let efd = EventFdMax::builder()
        .semaphore(true)
        .maximum(4)
        .open()
        .ctx("open")?;
    efd.write(3).ctx("write(3)")?;
    for left in [2, 1, 0] {
        ensure_eq("read", efd.read().ctx("read")?, 1)?;
        ensure_eq("count", efd.fdinfo().ctx("fdinfo")?.count, left)?;
    }
    ensure_err("try_read when empty", efd.try_read(), ErrorKind::WouldBlock)
}

fn try_ops_on_blocking_fd() -> TestResult {
    // Reads honour RWF_NOWAIT, as eventfd's do; writes, eventfd's plain ->write, do not.
    let efd = open(2)?;
    ensure_err("try_read when empty", efd.try_read(), ErrorKind::WouldBlock)?;
    ensure_err(
        "try_write(1) on a blocking fd",
        efd.try_write(1),
        ErrorKind::Unsupported,
    )?;
    ensure_eq("nothing written", efd.fdinfo().ctx("fdinfo")?.count, 0)?;
    efd.write(1).ctx("write(1)")?;
    ensure_eq("try_read", efd.try_read().ctx("try_read")?, 1)?;
    ensure_eq("still blocking", efd.is_nonblocking().ctx("fcntl")?, false)?;
    efd.set_nonblocking(true).ctx("set_nonblocking")?;
    efd.try_write(1).ctx("try_write(1) once non-blocking")?;
    ensure_err(
        "try_write(1) when full",
        efd.try_write(1),
        ErrorKind::WouldBlock,
    )
}

fn nonblocking_fd() -> TestResult {
    let efd = EventFdMax::builder()
        .maximum(3)
        .nonblocking(true)
        .open()
        .ctx("open")?;
    ensure_err("read when empty", efd.read(), ErrorKind::WouldBlock)?;
    efd.write(2).ctx("write(2)")?;
    ensure_err("write(1) when full", efd.write(1), ErrorKind::WouldBlock)?;
    ensure_eq("read", efd.read().ctx("read")?, 2)?;
    // O_NONBLOCK is honoured at call time: clearing it makes the write wait.
    efd.write(2).ctx("write(2)")?;
    efd.set_nonblocking(false).ctx("set_nonblocking")?;
    let writer = efd.try_clone().ctx("try_clone")?;
    let rx = spawn_waiter("write(1) after clearing O_NONBLOCK", move || {
        writer.write(1)
    })?;
    ensure_eq("read", efd.read().ctx("read")?, 2)?;
    finished("write(1)", rx)
}

fn write_released_by_read() -> TestResult {
    let efd = open(2)?;
    efd.write(1).ctx("write(1)")?;
    let writer = efd.try_clone().ctx("try_clone")?;
    let rx = spawn_waiter("write(1) at the maximum", move || writer.write(1))?;
    ensure_eq("read", efd.read().ctx("read")?, 1)?;
    finished("blocked write(1)", rx)?;
    ensure_eq("count", efd.fdinfo().ctx("fdinfo")?.count, 1)
}

fn write_released_by_set_maximum() -> TestResult {
    let efd = open(2)?;
    efd.write(1).ctx("write(1)")?;
    let writer = efd.try_clone().ctx("try_clone")?;
    let rx = spawn_waiter("write(1) at the maximum", move || writer.write(1))?;
    efd.set_maximum(3).ctx("set_maximum(3)")?;
    finished("blocked write(1)", rx)?;
    ensure_eq("count", efd.fdinfo().ctx("fdinfo")?.count, 2)
}

fn read_released_by_write() -> TestResult {
    let efd = open(10)?;
    let reader = efd.try_clone().ctx("try_clone")?;
    let rx = spawn_waiter("read when empty", move || reader.read())?;
    efd.write(5).ctx("write(5)")?;
    ensure_eq("blocked read", finished("blocked read", rx)?, 5)
}

fn lowered_maximum() -> TestResult {
    let efd = open_nonblocking(10)?;
    efd.write(5).ctx("write(5)")?;
    for refused in [5, 3, 0] {
        ensure_err(
            "set_maximum at or below the count",
            efd.set_maximum(refused),
            ErrorKind::InvalidInput,
        )?;
        ensure_eq("maximum unchanged", efd.maximum().ctx("maximum")?, 10)?;
    }
    efd.set_maximum(6).ctx("set_maximum(6) above the count")?;
    ensure_err(
        "try_write(1) at the new maximum",
        efd.try_write(1),
        ErrorKind::WouldBlock,
    )?;
    ensure_err("try_write(6)", efd.try_write(6), ErrorKind::InvalidInput)?;
    ensure_eq("read", efd.read().ctx("read")?, 5)?;
    efd.write(5).ctx("write(5) once drained")
}

fn poll_readiness() -> TestResult {
    let efd = open(3)?;
    ensure_eq("empty", revents(&efd)?, PollFlags::OUT)?;
    efd.write(1).ctx("write")?;
    ensure_eq(
        "count 1 of 3",
        revents(&efd)?,
        PollFlags::IN | PollFlags::OUT,
    )?;
    efd.write(1).ctx("write")?;
    ensure_eq(
        "count 2 of 3 (a write of 1 would block)",
        revents(&efd)?,
        PollFlags::IN,
    )?;
    efd.set_maximum(4).ctx("set_maximum(4)")?;
    ensure_eq(
        "count 2 of 4",
        revents(&efd)?,
        PollFlags::IN | PollFlags::OUT,
    )?;
    efd.read().ctx("read")?;
    ensure_eq("drained", revents(&efd)?, PollFlags::OUT)
}

fn fdinfo_ids() -> TestResult {
    let a = open(10)?;
    let b = open(10)?;
    let (ia, ib) = (a.fdinfo().ctx("fdinfo")?.id, b.fdinfo().ctx("fdinfo")?.id);
    ensure(ia != ib, format!("two counters share id {ia}"))?;
    ensure_eq(
        "clone's id",
        a.try_clone().ctx("try_clone")?.fdinfo().ctx("fdinfo")?.id,
        ia,
    )
}

/// Blocking producer, slow consumer: every read returns at most maximum - 1, nothing is lost.
fn threaded_producer_consumer() -> TestResult {
    const MAXIMUM: u64 = 10;
    const WRITES: u64 = 2000;
    let efd = open(MAXIMUM)?;
    let writer = efd.try_clone().ctx("try_clone")?;
    let producer = thread::spawn(move || -> Result<u64, String> {
        let mut held_back = 0;
        for _ in 0..WRITES {
            // No POLLOUT: this write of 1 waits for the consumer.
            if !revents(&writer)?.contains(PollFlags::OUT) {
                held_back += 1;
            }
            writer.write(1).ctx("write(1)")?;
        }
        Ok(held_back)
    });
    let (mut total, mut max_batch) = (0, 0);
    while total < WRITES {
        thread::sleep(Duration::from_micros(200));
        let batch = efd.read().ctx("read")?;
        max_batch = max_batch.max(batch);
        total += batch;
    }
    let held_back = producer.join().map_err(|_| "producer panicked")??;
    println!("# {WRITES} writes, held back {held_back} times, max batch {max_batch}");
    ensure_eq("total read", total, WRITES)?;
    ensure(
        max_batch < MAXIMUM,
        format!("a read returned {max_batch} >= maximum {MAXIMUM}"),
    )?;
    ensure(held_back > 0, "the producer was never held back")
}

#[cfg(feature = "tokio")]
mod async_tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use eventfd_max::AsyncEventFdMax;
    use tokio::time::{sleep, timeout};

    use super::*;

    fn block_on<F: Future<Output = TestResult>>(future: F) -> TestResult {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ctx("runtime")?
            .block_on(future)
    }

    fn open_async(maximum: u64) -> Result<Arc<AsyncEventFdMax>, String> {
        Ok(Arc::new(
            AsyncEventFdMax::new(open(maximum)?).ctx("AsyncEventFdMax::new")?,
        ))
    }

    pub fn write_waits() -> TestResult {
        block_on(async {
            let efd = open_async(3)?;
            efd.write(2).await.ctx("write(2)")?;
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
            sleep(SETTLE).await;
            ensure(
                !writer.is_finished(),
                "write(1) on a full counter did not wait",
            )?;
            // Single-threaded runtime: the heartbeat ran at all only if the waiting write
            // yielded (how often it ran depends on the machine's load, so only that it ran).
            let beaten = beats.load(Ordering::Relaxed);
            ensure(
                beaten >= 1,
                format!("runtime thread blocked: {beaten} heartbeats"),
            )?;
            ensure_eq("read", efd.read().await.ctx("read")?, 2)?;
            timeout(Duration::from_secs(10), writer)
                .await
                .map_err(|_| "write(1) not released by the read")?
                .map_err(|e| e.to_string())?
                .ctx("write(1)")?;
            heartbeat.abort();
            ensure_eq("count", efd.fdinfo().ctx("fdinfo")?.count, 1)
        })
    }

    pub fn write_invalid() -> TestResult {
        block_on(async {
            let efd = open_async(3)?;
            efd.write(2).await.ctx("write(2)")?;
            let result = timeout(Duration::from_secs(10), efd.write(3))
                .await
                .map_err(|_| "write(3) >= maximum waited instead of failing")?;
            ensure_err("write(3)", result, ErrorKind::InvalidInput)
        })
    }

    pub fn producer_consumer() -> TestResult {
        const MAXIMUM: u64 = 10;
        const WRITES: u64 = 1000;
        block_on(async {
            let efd = open_async(MAXIMUM)?;
            let producer = tokio::spawn({
                let efd = efd.clone();
                async move {
                    let mut held_back = 0u64;
                    for _ in 0..WRITES {
                        if efd.try_write(1).is_err() {
                            held_back += 1;
                            efd.write(1).await?;
                        }
                    }
                    io::Result::Ok(held_back)
                }
            });
            let (mut total, mut max_batch) = (0, 0);
            while total < WRITES {
                sleep(Duration::from_micros(500)).await;
                let batch = timeout(Duration::from_secs(10), efd.read())
                    .await
                    .map_err(|_| "read().await timed out")?
                    .ctx("read")?;
                max_batch = max_batch.max(batch);
                total += batch;
            }
            let held_back = producer.await.map_err(|e| e.to_string())?.ctx("producer")?;
            println!(
                "# async: {WRITES} writes, held back {held_back} times, max batch {max_batch}"
            );
            ensure_eq("total read", total, WRITES)?;
            ensure(
                max_batch < MAXIMUM,
                format!("a read returned {max_batch} >= maximum {MAXIMUM}"),
            )?;
            ensure(held_back > 0, "the producer was never held back")
        })
    }
}
