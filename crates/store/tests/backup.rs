//! Backups, restores and safe upgrades against real SQLite files.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chargeyard_store::{Error, Store, backup, settings};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

fn migrator() -> sqlx::migrate::Migrator {
    sqlx::migrate!("./migrations")
}

async fn connect(path: &Path) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .connect()
        .await
        .expect("connect")
}

async fn count_settings(path: &Path) -> i64 {
    let mut c = connect(path).await;
    sqlx::query_scalar("SELECT count(*) FROM settings WHERE key LIKE 'k%'")
        .fetch_one(&mut c)
        .await
        .expect("count")
}

/// One setting through the writer, acknowledged once committed.
async fn put(store: &Store, key: String) {
    store
        .writer
        .write(move |c| Box::pin(async move { settings::set(c, &key, "v").await }))
        .await
        .expect("write");
}

/// The schema and the migrations applied, as text.
async fn schema(path: &Path) -> String {
    let mut c = connect(path).await;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, coalesce(sql, '') FROM sqlite_master UNION ALL SELECT CAST(version AS TEXT), description FROM _sqlx_migrations ORDER BY 1",
    )
    .fetch_all(&mut c)
    .await
    .expect("schema");
    c.close().await.expect("close");
    format!("{rows:?}")
}

fn backups_in(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".db"))
    });
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_load_holds_every_write_acknowledged_before_it_began() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("live.db"))
        .await
        .expect("open");
    let acked = Arc::new(AtomicI64::new(0));
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (store, acked) = (store.clone(), acked.clone());
            tokio::spawn(async move {
                for i in 0..400 {
                    put(&store, format!("k{w}-{i}")).await;
                    acked.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    while acked.load(Ordering::SeqCst) < 500 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let before = acked.load(Ordering::SeqCst);
    let dest = dir.path().join("copy.db");
    let contents = backup::copy(&store.reader, &dest).await.expect("backup");
    for w in writers {
        w.await.expect("writer");
    }
    assert!(contents.is_sound(), "{contents:?}");
    assert_eq!(contents.schema_version, backup::known_schema_version());
    let held = count_settings(&dest).await;
    assert!(
        held >= before && held < 3200,
        "the copy holds the {before} writes acknowledged before it began, and is a snapshot: {held}"
    );
    assert!(
        !dest.with_extension("partial").exists(),
        "no half-written file left"
    );
    // A second backup never overwrites the first.
    assert!(matches!(
        backup::copy(&store.reader, &dest).await,
        Err(Error::Conflict(_))
    ));
}

#[tokio::test]
async fn a_staged_restore_replaces_the_database_at_the_next_open_and_keeps_the_old_one_aside() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("chargeyard.db");
    let copy = dir.path().join("monday.db");
    {
        let store = Store::open(&db).await.expect("open");
        put(&store, "k-monday".into()).await;
        backup::copy(&store.reader, &copy).await.expect("backup");
        put(&store, "k-tuesday".into()).await;
        // The restore is only staged while the database is open: nothing changes yet.
        let contents = backup::stage_restore(&db, &copy).await.expect("stage");
        assert!(contents.is_sound());
        assert!(backup::staged_path(&db).is_file());
        assert_eq!(count_settings(&db).await, 2);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let store = Store::open(&db).await.expect("reopen");
    let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM settings WHERE key LIKE 'k%'")
        .fetch_all(&store.reader)
        .await
        .expect("keys");
    assert_eq!(keys, ["k-monday"], "the database is the backup's");
    assert!(!backup::staged_path(&db).exists(), "applied once");
    let aside = backups_in(dir.path(), "before-restore-");
    assert_eq!(aside.len(), 1, "the database before the restore is kept");
    assert_eq!(
        count_settings(&aside[0]).await,
        2,
        "with its WAL: nothing lost"
    );
}

#[tokio::test]
async fn a_damaged_or_foreign_backup_is_not_staged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("chargeyard.db");
    let foreign = dir.path().join("other.db");
    let mut c = connect(&foreign).await;
    sqlx::query("CREATE TABLE t (x)")
        .execute(&mut c)
        .await
        .expect("table");
    c.close().await.expect("close");
    let e = backup::stage_restore(&db, &foreign)
        .await
        .expect_err("refused");
    assert!(
        e.to_string().contains("is not a Chargeyard database"),
        "{e}"
    );
    let e = backup::stage_restore(&db, &dir.path().join("missing.db"))
        .await
        .expect_err("refused");
    assert!(matches!(e, Error::NotFound));
    assert!(!backup::staged_path(&db).exists());
}

#[tokio::test]
async fn a_database_of_every_shipped_schema_migrates_with_a_copy_made_first() {
    let migrations: Vec<i64> = migrator().iter().map(|m| m.version).collect();
    assert_eq!(
        migrations.last().copied(),
        Some(backup::known_schema_version())
    );
    for &version in &migrations {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("chargeyard.db");
        let mut c = connect(&db).await;
        migrator().run_to(version, &mut c).await.expect("migrate");
        c.close().await.expect("close");
        let store = Store::open(&db).await.expect("the newest schema opens it");
        let newest: i64 = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
            .fetch_one(&store.reader)
            .await
            .expect("version");
        assert_eq!(newest, backup::known_schema_version());
        let copies = backups_in(&dir.path().join("backups"), "before-upgrade-");
        if version == newest {
            assert!(copies.is_empty(), "nothing to upgrade, no copy");
        } else {
            assert_eq!(
                copies.len(),
                1,
                "schema {version}: one copy before the upgrade"
            );
            let name = copies[0]
                .file_name()
                .expect("name")
                .to_string_lossy()
                .to_string();
            assert!(
                name.starts_with(&format!("before-upgrade-schema-{version}-")),
                "{name}"
            );
            let contents = backup::describe(&copies[0]).await.expect("describe");
            assert_eq!(
                contents.schema_version, version,
                "the copy is the old schema"
            );
            assert!(contents.is_sound());
        }
    }
}

#[tokio::test]
async fn a_database_from_a_newer_chargeyard_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("chargeyard.db");
    let mut c = connect(&db).await;
    migrator().run(&mut c).await.expect("migrate");
    let future = backup::known_schema_version() + 1;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (?, 'from the future', 1, x'00', 0)",
    )
    .bind(future)
    .execute(&mut c)
    .await
    .expect("a newer migration");
    c.close().await.expect("close");
    let before = schema(&db).await;
    let e = match Store::open(&db).await {
        Ok(_) => panic!("a newer database was opened"),
        Err(e) => e,
    };
    let said = e.to_string();
    assert!(
        said.contains("newer Chargeyard") && said.contains(&format!("schema {future}")),
        "{said}"
    );
    assert_eq!(
        schema(&db).await,
        before,
        "no migration ran, nothing was changed"
    );
    assert!(!dir.path().join("backups").exists());
    // Nor is a backup from it staged.
    let e = backup::stage_restore(&dir.path().join("other.db"), &db)
        .await
        .expect_err("refused");
    assert!(e.to_string().contains("newer Chargeyard"), "{e}");
}

#[tokio::test]
async fn a_damaged_database_is_reported_with_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("chargeyard.db");
    let mut c = connect(&db).await;
    migrator().run(&mut c).await.expect("migrate");
    for i in 0..3000 {
        settings::set(&mut c, &format!("k{i}"), &"x".repeat(200))
            .await
            .expect("fill");
    }
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut c)
        .await
        .expect("checkpoint");
    let page: i64 = sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(&mut c)
        .await
        .expect("page size");
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&mut c)
        .await
        .expect("pages");
    c.close().await.expect("close");
    // Scribble over a page in the middle of the settings table's pages.
    let mut bytes = std::fs::read(&db).expect("read");
    let at = (pages as usize - 20) * page as usize;
    bytes[at..at + page as usize].fill(0xA5);
    std::fs::write(&db, &bytes).expect("write");
    let e = match Store::open(&db).await {
        Ok(_) => panic!("a damaged database was opened"),
        Err(e) => e,
    };
    let said = e.to_string();
    assert!(
        said.contains("is damaged") && said.contains("Restore a backup"),
        "{said}"
    );
}
