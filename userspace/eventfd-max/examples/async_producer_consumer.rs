//! Producer/consumer with back-pressure, async form (tokio, one runtime thread).
//!
//! The producer task writes 1s for one second into a counter with maximum 10 and the consumer task
//! drains it once a millisecond. `write(1).await` waits for writable (`POLLOUT`) readiness when the
//! counter is full, yielding to the runtime: a heartbeat task on the same single thread keeps
//! ticking all along, which it could not if the producer blocked the thread.
//!
//! Run: `cargo run --features tokio --example async_producer_consumer` (needs `eventfd_max.ko`).

use std::io::{self, ErrorKind};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use eventfd_max::{AsyncEventFdMax, EventFdMax};
use tokio::time::{Instant, interval, sleep, timeout};

const MAXIMUM: u64 = 10;
const RUN_FOR: Duration = Duration::from_secs(1);
const READ_EVERY: Duration = Duration::from_millis(1);
const HEARTBEAT: Duration = Duration::from_millis(10);

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("async_producer_consumer: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> io::Result<bool> {
    let efd = Arc::new(AsyncEventFdMax::new(
        EventFdMax::builder().maximum(MAXIMUM).open()?,
    )?);
    let written = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    println!(
        "producer/consumer (async, one runtime thread): maximum {MAXIMUM}, consumer reads every {READ_EVERY:?}, for {RUN_FOR:?}"
    );

    let beats = Arc::new(AtomicU64::new(0));
    let heartbeat = tokio::spawn({
        let beats = beats.clone();
        async move {
            let mut tick = interval(HEARTBEAT);
            loop {
                tick.tick().await;
                beats.fetch_add(1, Ordering::Relaxed);
            }
        }
    });

    let producer = tokio::spawn({
        let (efd, written, done) = (efd.clone(), written.clone(), done.clone());
        async move {
            let mut held_back = 0u64;
            let start = Instant::now();
            while start.elapsed() < RUN_FOR {
                if let Err(err) = efd.try_write(1) {
                    if err.kind() != ErrorKind::WouldBlock {
                        return Err(err);
                    }
                    held_back += 1;
                    efd.write(1).await?; // yields until a read makes room
                }
                written.fetch_add(1, Ordering::SeqCst);
            }
            done.store(true, Ordering::SeqCst);
            io::Result::Ok(held_back)
        }
    });

    let (mut total, mut reads, mut max_batch) = (0u64, 0u64, 0u64);
    while !(done.load(Ordering::SeqCst) && total == written.load(Ordering::SeqCst)) {
        sleep(READ_EVERY).await;
        // read().await waits for readable readiness; the timeout lets the loop see `done`.
        if let Ok(batch) = timeout(Duration::from_millis(50), efd.read()).await {
            let batch = batch?;
            reads += 1;
            total += batch;
            max_batch = max_batch.max(batch);
        }
    }
    let held_back = producer.await.expect("producer panicked")?;
    heartbeat.abort();
    let (written, beats) = (
        written.load(Ordering::SeqCst),
        beats.load(Ordering::Relaxed),
    );

    println!("producer: {written} writes, held back {held_back} times (each a write().await)");
    println!(
        "consumer: {reads} reads, max batch {max_batch} (bound: maximum - 1 = {}), mean batch {:.1}",
        MAXIMUM - 1,
        total as f64 / reads.max(1) as f64
    );
    println!("heartbeat: ticked {beats} times every {HEARTBEAT:?} on the same thread meanwhile");
    let ok = max_batch < MAXIMUM && total == written && held_back > 0 && beats > 0;
    println!(
        "check: batches <= {}, {written} written == {total} read, producer held back, runtime not blocked: {}",
        MAXIMUM - 1,
        if ok { "ok" } else { "FAILED" }
    );
    Ok(ok)
}
