//! The one writer: every write in the process goes through this task, which batches all pending
//! writes (from every station) into one `BEGIN IMMEDIATE … COMMIT` and only then tells each caller
//! its write is done. With `synchronous = FULL` that commit is an fsync, so "done" means on disk;
//! batching (group commit) makes that cost shared instead of paid per message.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use futures_core_shim::BoxFuture;
use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection, Executor};
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};

/// Most jobs in one transaction: bounds the latency of the first job in a batch.
const MAX_BATCH: usize = 2048;

pub(crate) mod futures_core_shim {
    pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
}

/// Runs after the commit with its outcome: sends the job's result to its caller.
type Finish = Box<dyn FnOnce(Option<&str>) + Send>;
/// A job returns whether it succeeded (its writes are rolled back to its savepoint if not).
type Job =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, (bool, Finish)> + Send>;

/// Handle to the writer task. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
    stats: Arc<WriterStats>,
}

/// Counters for benchmarks and the health view.
#[derive(Default, Debug)]
pub struct WriterStats {
    pub commits: AtomicU64,
    pub jobs: AtomicU64,
}

impl Writer {
    pub(crate) fn spawn(conn: SqliteConnection) -> (Writer, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel::<Job>(16 * 1024);
        let stats = Arc::new(WriterStats::default());
        let handle = tokio::spawn(run(conn, rx, stats.clone()));
        (Writer { tx, stats }, handle)
    }

    /// Run `f` inside the next group commit; resolves once the commit is durable.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        self.enqueue(f, move |r| {
            let _ = reply.send(r);
        })
        .await?;
        rx.await
            .map_err(|_| Error::NotCommitted("writer stopped".into()))?
    }

    /// Queue `f` for the next commit without waiting for it (e.g. the raw frame log). Failures
    /// are logged.
    pub async fn write_detached<F>(&self, f: F)
    where
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<()>> + Send + 'static,
    {
        let _ = self
            .enqueue(f, |r| {
                if let Err(e) = r {
                    tracing::warn!("background write failed: {e}");
                }
            })
            .await;
    }

    async fn enqueue<T, F, D>(&self, f: F, done: D) -> Result<()>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
        D: FnOnce(Result<T>) + Send + 'static,
    {
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let r = f(conn).await;
                let ok = r.is_ok();
                let finish = Box::new(move |commit_err: Option<&str>| match commit_err {
                    None => done(r),
                    Some(e) => done(Err(Error::NotCommitted(e.to_string()))),
                }) as Finish;
                (ok, finish)
            })
        });
        self.tx
            .send(job)
            .await
            .map_err(|_| Error::NotCommitted("writer stopped".into()))
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }
}

async fn run(mut conn: SqliteConnection, mut rx: mpsc::Receiver<Job>, stats: Arc<WriterStats>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut finishes: Vec<Finish> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let begin = conn.execute("BEGIN IMMEDIATE").await;
        if let Err(e) = begin {
            let msg = e.to_string();
            tracing::error!("writer could not begin a transaction: {msg}");
            // Nothing ran; every job in the batch fails without having written anything.
            for job in batch.drain(..) {
                drop(job);
            }
            continue;
        }
        for job in batch.drain(..) {
            // Each job is atomic on its own: a failed job leaves nothing behind in the batch.
            let _ = conn.execute("SAVEPOINT job").await;
            let (ok, finish) = job(&mut conn).await;
            if !ok {
                let _ = conn.execute("ROLLBACK TO job").await;
            }
            let _ = conn.execute("RELEASE job").await;
            finishes.push(finish);
        }
        let commit = conn.execute("COMMIT").await;
        let err = match commit {
            Ok(_) => None,
            Err(e) => {
                let _ = conn.execute("ROLLBACK").await;
                tracing::error!("group commit failed: {e}");
                Some(e.to_string())
            }
        };
        stats.commits.fetch_add(1, Ordering::Relaxed);
        stats
            .jobs
            .fetch_add(finishes.len() as u64, Ordering::Relaxed);
        for finish in finishes.drain(..) {
            finish(err.as_deref());
        }
    }
    let _ = conn.close().await;
}
