//! Producer/consumer with back-pressure, blocking form.
//!
//! A producer thread writes 1s as fast as it can for one second into a counter with maximum 10; the
//! consumer drains it once a millisecond. The blocking `write` holds the producer back whenever
//! the count would reach the maximum, so no read ever returns more than `maximum - 1`.
//!
//! Run: `cargo run --example producer_consumer` (needs `eventfd_max.ko` loaded).

use std::io::{self, ErrorKind};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use eventfd_max::EventFdMax;
use rustix::event::{PollFd, PollFlags, Timespec, poll};

const MAXIMUM: u64 = 10;
const RUN_FOR: Duration = Duration::from_secs(1);
const READ_EVERY: Duration = Duration::from_millis(1);

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("producer_consumer: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Whether a write of 1 would go through now (`POLLOUT`).
fn writable(efd: &EventFdMax) -> io::Result<bool> {
    let mut fds = [PollFd::new(efd, PollFlags::OUT)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&now))?;
    Ok(fds[0].revents().contains(PollFlags::OUT))
}

fn run() -> io::Result<bool> {
    let efd = Arc::new(EventFdMax::builder().maximum(MAXIMUM).open()?);
    let written = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    println!(
        "producer/consumer (blocking): maximum {MAXIMUM}, consumer reads every {READ_EVERY:?}, for {RUN_FOR:?}"
    );

    let producer = thread::spawn({
        let (efd, written, done) = (efd.clone(), written.clone(), done.clone());
        move || -> io::Result<(u64, Duration)> {
            let (mut held_back, mut blocked) = (0, Duration::ZERO);
            let start = Instant::now();
            while start.elapsed() < RUN_FOR {
                // Only to count the waits: without POLLOUT, a write of 1 waits for a read.
                let full = !writable(&efd)?;
                let waited = Instant::now();
                efd.write(1)?; // sleeps in the kernel until a read makes room
                if full {
                    held_back += 1;
                    blocked += waited.elapsed();
                }
                written.fetch_add(1, Ordering::SeqCst);
            }
            done.store(true, Ordering::SeqCst);
            Ok((held_back, blocked))
        }
    });

    let (mut total, mut reads, mut max_batch) = (0u64, 0u64, 0u64);
    loop {
        thread::sleep(READ_EVERY);
        match efd.try_read() {
            Ok(batch) => {
                reads += 1;
                total += batch;
                max_batch = max_batch.max(batch);
            }
            // Empty: finished once the producer is done and everything it wrote was read.
            Err(err) if err.kind() == ErrorKind::WouldBlock => {
                if done.load(Ordering::SeqCst) && total == written.load(Ordering::SeqCst) {
                    break;
                }
            }
            Err(err) => return Err(err),
        }
    }
    let (held_back, blocked) = producer.join().expect("producer panicked")?;
    let written = written.load(Ordering::SeqCst);

    println!(
        "producer: {written} writes, held back {held_back} times, {:.2} s asleep in write()",
        blocked.as_secs_f64()
    );
    println!(
        "consumer: {reads} reads, max batch {max_batch} (bound: maximum - 1 = {}), mean batch {:.1}",
        MAXIMUM - 1,
        total as f64 / reads.max(1) as f64
    );
    let ok = max_batch < MAXIMUM && total == written && held_back > 0;
    println!(
        "check: batches <= {}, {written} written == {total} read, producer held back: {}",
        MAXIMUM - 1,
        if ok { "ok" } else { "FAILED" }
    );
    Ok(ok)
}
