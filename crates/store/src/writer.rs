//! The one writer: every write in the process goes through this task, which batches all pending
//! writes (from every station) into one `BEGIN IMMEDIATE … COMMIT` and only then tells each caller
//! its write is done. With `synchronous = FULL` that commit is an fsync, so "done" means on disk;
//! batching (group commit) makes that cost shared instead of paid per message.
//!
//! Two kinds of write:
//! - jobs ([`Writer::write`]): any statements, each job atomic on its own (a savepoint), with a
//!   result for its caller;
//! - appends ([`Writer::append_samples`], [`Writer::log_frame`]): rows for the logs that the hot
//!   path writes most, buffered and written by each commit (`logs`, which also says when the
//!   writer folds them into their index tables and checkpoints the WAL between commits).
//!   Every statement costs a hand-off to sqlx's SQLite thread, so this is what keeps a MeterValues
//!   cheap: many messages share one statement and one fsync.
//!
//! The task runs on a thread of its own (with a single-threaded runtime), not among the engine's
//! tasks: there it waited behind every station answered by the commit before, so commits and
//! answering took turns instead of overlapping (docs/PERFORMANCE.md, item 10).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sqlx::sqlite::{Sqlite, SqliteConnection};
use sqlx::{Connection, Executor, QueryBuilder};
use tokio::sync::{Notify, mpsc, oneshot, watch};

use crate::error::{Error, Result};
use crate::frames::NewFrame;
use crate::logs::{self, fold, wal};
use crate::meter::NewSample;

/// Most jobs in one transaction: bounds the latency of the first job in a batch.
const MAX_BATCH: usize = 2048;

pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Runs after the commit with its outcome: sends the job's result to its caller.
type Finish = Box<dyn FnOnce(Option<&Failed>) + Send>;

/// Why a commit failed: what every job in it is told.
pub(crate) struct Failed {
    message: String,
    disk_full: bool,
}

impl Failed {
    fn error(&self) -> Error {
        if self.disk_full {
            Error::DiskFull
        } else {
            Error::NotCommitted(self.message.clone())
        }
    }
}

/// A job returns whether it succeeded (its writes are rolled back to its savepoint if not).
pub(crate) type Job =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, (bool, Finish)> + Send>;

/// Rows waiting for the next commit.
#[derive(Default)]
struct Appends {
    samples: Vec<NewSample>,
    /// Told once the samples before them are committed.
    sample_waiters: Vec<oneshot::Sender<Result<()>>>,
    frames: Vec<NewFrame>,
}

impl Appends {
    fn is_empty(&self) -> bool {
        self.samples.is_empty() && self.frames.is_empty() && self.sample_waiters.is_empty()
    }
}

struct Shared {
    appends: Mutex<Appends>,
    /// Wakes the writer when appends arrive and no job does.
    wake: Notify,
    stats: WriterStats,
    /// Set when the WAL holds enough to start over: the writer finishes the background
    /// checkpoint's work between commits, so its next commit writes the WAL from the beginning.
    restart_wal: AtomicBool,
    /// Set when the WAL file has grown past what steady load needs (a reader held old pages, or
    /// a burst): the writer checkpoints it and truncates the file.
    truncate_wal: AtomicBool,
    /// Set while the disk is full: the writer tries a write of its own if the file system has
    /// room again, so the engine learns it can store again without waiting for a charger's next
    /// message ([`Writer::check_disk`]).
    probe_disk: AtomicBool,
    /// Whether the disk is full: set by a write that failed for it or once the file system has
    /// next to nothing left ([`out_of_room`]), cleared by a write once it has room again
    /// ([`has_room`]). Changed only through [`set_disk_full`].
    disk_full: watch::Sender<bool>,
    /// The database file, whose file system is the one that fills up.
    path: std::path::PathBuf,
    /// A job of the commit under way failed because the disk is full (its own statements, not
    /// the commit, so the commit can still succeed).
    full_in_commit: AtomicBool,
}

/// Handle to the writer task. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
    shared: Arc<Shared>,
}

/// Counters for benchmarks and the health view.
#[derive(Default, Debug)]
pub struct WriterStats {
    pub commits: AtomicU64,
    pub jobs: AtomicU64,
    pub appended_rows: AtomicU64,
    /// Times the writer finished a checkpoint so that the WAL starts over (see `restart_wal`).
    pub wal_restarts: AtomicU64,
    /// Checkpoints the writer ran itself because the WAL file grew (see `truncate_wal`).
    pub wal_truncations: AtomicU64,
}

impl Writer {
    pub(crate) fn spawn(
        conn: SqliteConnection,
        path: &std::path::Path,
    ) -> (Writer, std::thread::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel::<Job>(16 * 1024);
        let shared = Arc::new(Shared {
            appends: Mutex::new(Appends::default()),
            wake: Notify::new(),
            stats: WriterStats::default(),
            restart_wal: AtomicBool::new(false),
            truncate_wal: AtomicBool::new(false),
            probe_disk: AtomicBool::new(false),
            disk_full: watch::Sender::new(false),
            full_in_commit: AtomicBool::new(false),
            path: path.to_path_buf(),
        });
        // Its own thread: see the module docs.
        let task = run(conn, rx, shared.clone());
        let handle = std::thread::Builder::new()
            .name("chargeyard-writer".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("writer runtime");
                rt.block_on(task);
            })
            .expect("writer thread");
        (Writer { tx, shared }, handle)
    }

    fn appends(&self) -> std::sync::MutexGuard<'_, Appends> {
        self.shared
            .appends
            .lock()
            .unwrap_or_else(|p| p.into_inner())
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

    /// Queue `f` for the next commit without waiting for it. Failures are logged.
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

    /// Store meter samples in the next commit; resolves once they are durable.
    pub async fn append_samples(&self, samples: Vec<NewSample>) -> Result<()> {
        let (reply, rx) = oneshot::channel();
        {
            let mut a = self.appends();
            a.samples.extend(samples);
            a.sample_waiters.push(reply);
        }
        self.shared.wake.notify_one();
        rx.await
            .map_err(|_| Error::NotCommitted("writer stopped".into()))?
    }

    /// Add a raw frame to the message log, written with the next commit (not awaited: the log is
    /// not what a charger is acknowledged for).
    pub fn log_frame(&self, frame: NewFrame) {
        self.appends().frames.push(frame);
        self.shared.wake.notify_one();
    }

    async fn enqueue<T, F, D>(&self, f: F, done: D) -> Result<()>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
        D: FnOnce(Result<T>) + Send + 'static,
    {
        let shared = self.shared.clone();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let r = f(conn).await;
                let ok = r.is_ok();
                if r.as_ref().is_err_and(Error::is_disk_full) {
                    shared.full_in_commit.store(true, Ordering::Relaxed);
                }
                let finish = Box::new(move |failed: Option<&Failed>| match failed {
                    None => done(r),
                    Some(e) => done(Err(e.error())),
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
        &self.shared.stats
    }

    /// Whether the disk holding the database is full, kept current by every commit: true after
    /// a write failed for it, false again after a commit once the file system has room.
    pub fn disk_full(&self) -> watch::Receiver<bool> {
        self.shared.disk_full.subscribe()
    }

    /// Whether the disk is full now (see [`Writer::disk_full`]).
    pub fn is_disk_full(&self) -> bool {
        *self.shared.disk_full.borrow()
    }

    /// Look at the disk: while it is full, have the writer try a write of its own once the file
    /// system has room again (when that succeeds, the disk is no longer full); otherwise, call it
    /// full once the file system has next to nothing left ([`out_of_room`]).
    pub(crate) fn check_disk(&self) {
        if self.is_disk_full() {
            self.shared.probe_disk.store(true, Ordering::Relaxed);
            self.shared.wake.notify_one();
        } else if out_of_room(&self.shared.path) && set_disk_full(&self.shared, true) {
            tracing::error!("the disk holding {} is full", self.shared.path.display());
        }
    }

    /// Have the writer checkpoint what the WAL holds before its next commit, so that commit
    /// starts the WAL over (`truncate`: and truncate the file).
    pub(crate) fn checkpoint(&self, truncate: bool) {
        let flag = match truncate {
            true => &self.shared.truncate_wal,
            false => &self.shared.restart_wal,
        };
        flag.store(true, Ordering::Relaxed);
        self.shared.wake.notify_one();
    }

    /// A handle for background helpers that does not keep the writer alive.
    pub(crate) fn weak(&self) -> WeakWriter {
        WeakWriter {
            tx: self.tx.downgrade(),
            shared: self.shared.clone(),
        }
    }
}

/// A [`Writer`] that does not keep the writer task alive.
pub(crate) struct WeakWriter {
    tx: mpsc::WeakSender<Job>,
    shared: Arc<Shared>,
}

impl WeakWriter {
    pub(crate) fn upgrade(&self) -> Option<Writer> {
        Some(Writer {
            tx: self.tx.upgrade()?,
            shared: self.shared.clone(),
        })
    }
}

async fn run(mut conn: SqliteConnection, mut rx: mpsc::Receiver<Job>, shared: Arc<Shared>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut finishes: Vec<Finish> = Vec::with_capacity(MAX_BATCH);
    let mut closing = false;
    let mut folds = fold::Schedule::new();
    // Whether the turn before this one folded a chunk: commits go between chunks.
    let mut folded = false;
    loop {
        if shared.truncate_wal.swap(false, Ordering::Relaxed) {
            shared.restart_wal.store(false, Ordering::Relaxed);
            wal::truncate(&mut conn).await;
            shared.stats.wal_truncations.fetch_add(1, Ordering::Relaxed);
        } else if shared.restart_wal.swap(false, Ordering::Relaxed) {
            wal::restart(&mut conn).await;
            shared.stats.wal_restarts.fetch_add(1, Ordering::Relaxed);
        }
        if shared.probe_disk.swap(false, Ordering::Relaxed)
            && *shared.disk_full.borrow()
            && has_room(&shared.path)
            && wal::probe(&mut conn).await
        {
            set_disk_full(&shared, false);
        }
        let next_fold = folds.due();
        if !folded && next_fold.is_some_and(|at| tokio::time::Instant::now() >= at) {
            folds.step(&mut conn).await;
            folded = true;
            continue;
        }
        folded = false;
        if !closing && !folds.folding() {
            tokio::select! {
                job = rx.recv() => match job {
                    Some(job) => batch.push(job),
                    None => closing = true,
                },
                _ = shared.wake.notified() => {}
                _ = sleep_until(next_fold) => continue,
            }
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut appends =
            std::mem::take(&mut *shared.appends.lock().unwrap_or_else(|p| p.into_inner()));
        if batch.is_empty() && appends.is_empty() {
            if closing && !folds.folding() {
                break;
            }
            continue;
        }
        let rows = (appends.samples.len() + appends.frames.len()) as u64;
        folds.logged(rows);
        shared.full_in_commit.store(false, Ordering::Relaxed);
        let err = commit(&mut conn, &mut batch, &mut finishes, &mut appends).await;
        note_disk(&shared, err.as_ref());
        shared.stats.commits.fetch_add(1, Ordering::Relaxed);
        shared
            .stats
            .jobs
            .fetch_add(finishes.len() as u64, Ordering::Relaxed);
        shared
            .stats
            .appended_rows
            .fetch_add(rows, Ordering::Relaxed);
        for finish in finishes.drain(..) {
            finish(err.as_ref());
        }
        for waiter in appends.sample_waiters {
            let _ = waiter.send(match &err {
                None => Ok(()),
                Some(e) => Err(e.error()),
            });
        }
    }
    folds.finish(&mut conn).await;
    let _ = conn.close().await;
}

/// Keep [`Shared::disk_full`] current after a commit: full when it or one of its jobs failed
/// for lack of space; not full once one succeeds without that and the file system has room
/// again (on a full disk some writes still fit, in WAL pages already there); another failure
/// tells nothing.
fn note_disk(shared: &Shared, failed: Option<&Failed>) {
    let full = match failed {
        None if shared.full_in_commit.load(Ordering::Relaxed) => true,
        None => *shared.disk_full.borrow() && !has_room(&shared.path),
        Some(f) if f.disk_full => true,
        Some(_) => return,
    };
    set_disk_full(shared, full);
}

/// Set [`Shared::disk_full`], telling those watching it only when it changes; returns whether it
/// did.
fn set_disk_full(shared: &Shared, full: bool) -> bool {
    shared
        .disk_full
        .send_if_modified(|was| std::mem::replace(was, full) != full)
}

/// What is free on the file system holding `db`, and its size; None when it cannot be read.
fn space(db: &std::path::Path) -> Option<(u64, u64)> {
    let dir = match db.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    fs4::statvfs(dir)
        .ok()
        .map(|s| (s.available_space(), s.total_space()))
}

/// Whether the file system holding `db` has room to write again: 64 MiB (what the WAL may
/// take) or a tenth of it, whichever is less. An error reading it counts as room: the next
/// write tells.
fn has_room(db: &std::path::Path) -> bool {
    const ROOM: u64 = 64 * 1024 * 1024;
    space(db).is_none_or(|(free, total)| free >= ROOM.min(total / 10))
}

/// Whether the file system holding `db` is as good as full: less than 1 MiB (or a hundredth of
/// it) left. A commit may still fit in WAL pages the file already has, for minutes at a depot's
/// pace, so a full disk is not left for a failed write to tell.
fn out_of_room(db: &std::path::Path) -> bool {
    const LEFT: u64 = 1024 * 1024;
    space(db).is_some_and(|(free, total)| free < LEFT.min(total / 100))
}

/// Sleep until `at`, or for ever.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One group commit: the appended rows, then the jobs, each in a savepoint. Returns the error
/// that kept it from committing, if any (then nothing of it is on disk).
///
/// Each statement list below is one round trip to sqlx's SQLite thread, and under load both
/// ends of it wait for a CPU; so the repricing of sessions the appended samples reach and the
/// first savepoint (or, with no jobs, the commit) go as one list, and so does what runs between
/// two jobs (docs/PERFORMANCE.md, item 8). The appended rows themselves go through statements
/// prepared once (`append`, item 9): a round trip per 256 rows costs less than compiling a
/// statement for each commit's row count.
async fn commit(
    conn: &mut SqliteConnection,
    batch: &mut Vec<Job>,
    finishes: &mut Vec<Finish>,
    appends: &mut Appends,
) -> Option<Failed> {
    // A lone job with nothing appended needs no savepoint: the whole transaction is its own.
    let lone = batch.len() == 1 && appends.is_empty();
    let ending = match (batch.is_empty(), lone) {
        (true, _) => "COMMIT;",
        (false, true) => "",
        (false, false) => "SAVEPOINT job;",
    };
    // Appended rows first: they were queued before this batch's jobs were taken. The first
    // statement that runs begins the transaction.
    let appended = async {
        let mut open = false;
        let now = chrono::Utc::now();
        let samples = std::mem::take(&mut appends.samples);
        let late = crate::meter::transactions_of(&samples);
        logs::append_samples(&mut *conn, samples, now, &mut open).await?;
        logs::append_frames(&mut *conn, std::mem::take(&mut appends.frames), &mut open).await?;
        let mut then = QueryBuilder::<Sqlite>::new(if open { "" } else { "BEGIN IMMEDIATE;" });
        crate::transactions::push_forget_costs(&mut then, &late);
        then.push(ending);
        crate::execute_once(&mut *conn, then).await
    };
    if let Err(e) = appended.await {
        batch.clear();
        return Some(abort(conn, "appending rows failed", e).await);
    }
    let jobs = batch.len();
    for (i, job) in batch.drain(..).enumerate() {
        let (ok, finish) = job(&mut *conn).await;
        finishes.push(finish);
        // Each job is atomic on its own: a failed one leaves nothing behind in the batch.
        let next = match (lone, ok, i + 1 == jobs) {
            (true, true, _) | (false, true, true) => "COMMIT",
            (true, false, _) => "ROLLBACK",
            (false, true, false) => "RELEASE job; SAVEPOINT job",
            (false, false, false) => "ROLLBACK TO job; RELEASE job; SAVEPOINT job",
            (false, false, true) => "ROLLBACK TO job; COMMIT",
        };
        if let Err(e) = conn.execute(next).await {
            // Returning drops the jobs not yet run.
            return Some(abort(conn, "group commit failed", e).await);
        }
    }
    None
}

/// Undo the open transaction after `e`; returns the error to give the jobs that ran (the callers
/// of jobs dropped unrun are told nothing was written by their dropped reply).
async fn abort(conn: &mut SqliteConnection, what: &str, e: sqlx::Error) -> Failed {
    tracing::error!("{what}: {e}");
    // Left open, the transaction would make every later BEGIN of the writer fail (and if none
    // is open, this fails harmlessly).
    let _ = conn.execute("ROLLBACK").await;
    Failed {
        disk_full: crate::error::disk_full(&e),
        message: e.to_string(),
    }
}
