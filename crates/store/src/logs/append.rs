//! Appending rows to the logs (`frames_log`, `meter_samples_log`) through statements prepared
//! once.
//!
//! A multi-row insert built for each commit's row count is a new statement every time: SQLite
//! parses and compiles it, runs it once and frees it, and on the writer's thread that was a fifth
//! of the work per acknowledged MeterValues (docs/PERFORMANCE.md, item 9). Here each table has
//! three statements of fixed row counts ([`SIZES`]), kept in sqlx's statement cache: rows go in
//! the largest while they fill it, the rest in the smallest that holds them, its unused rows bound
//! as NULL and skipped by the statement (`WHERE column1 IS NOT NULL`; the first column of every
//! table appended to is NOT NULL).

use std::sync::OnceLock;

use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteConnection};

/// Row counts of the prepared statements, largest first. The largest bounds the rows per
/// statement (256 × 14 bound values, well under SQLite's 32,766); the smaller ones keep the
/// statement of a small commit at 16 rows or under four times the rows it has.
const SIZES: [usize; 3] = [256, 64, 16];

pub(crate) type Query = sqlx::query::Query<'static, Sqlite, SqliteArguments>;

/// One log's fixed inserts.
pub(crate) struct Append {
    table: &'static str,
    /// The columns the rows bind, in order; the first must be NOT NULL.
    columns: &'static str,
    /// The statements by size, each alone and after `BEGIN IMMEDIATE` ([`Append::run`]).
    sql: OnceLock<[[String; SIZES.len()]; 2]>,
}

impl Append {
    pub(crate) const fn new(table: &'static str, columns: &'static str) -> Append {
        Append {
            table,
            columns,
            sql: OnceLock::new(),
        }
    }

    fn width(&self) -> usize {
        self.columns.split(',').count()
    }

    fn sql(&'static self, statement: usize, begin: bool) -> &'static str {
        let all = self.sql.get_or_init(|| {
            let row = format!("({})", vec!["?"; self.width()].join(", "));
            let insert = SIZES.map(|n| {
                format!(
                    "INSERT INTO {} ({}) SELECT * FROM (VALUES {}) WHERE column1 IS NOT NULL",
                    self.table,
                    self.columns,
                    vec![row.as_str(); n].join(", ")
                )
            });
            let begin = insert.clone().map(|i| format!("BEGIN IMMEDIATE; {i}"));
            [insert, begin]
        });
        &all[usize::from(begin)][statement]
    }

    /// Insert `rows`, `bind` adding one row's values in the order of the columns. Unless `open`,
    /// the first statement also begins the transaction (and sets `open`): under load every trip
    /// to SQLite's thread waits for a CPU on both ends, and a `BEGIN` of its own was the slowest
    /// of a commit's trips (docs/PERFORMANCE.md, item 10).
    pub(crate) async fn run<R>(
        &'static self,
        conn: &mut SqliteConnection,
        rows: Vec<R>,
        open: &mut bool,
        mut bind: impl FnMut(Query, R) -> Query,
    ) -> sqlx::Result<()> {
        let width = self.width();
        let mut rows = rows.into_iter();
        loop {
            let left = rows.len();
            if left == 0 {
                return Ok(());
            }
            let statement = statement_for(left);
            let size = SIZES[statement];
            let mut q = sqlx::query(sqlx::AssertSqlSafe(self.sql(statement, !*open)));
            let taken = left.min(size);
            for row in rows.by_ref().take(taken) {
                q = bind(q, row);
            }
            for _ in 0..(size - taken) * width {
                q = q.bind(None::<i64>);
            }
            q.execute(&mut *conn).await?;
            *open = true;
        }
    }
}

/// The statement (index into [`SIZES`]) for the next `left` rows: the largest while they fill
/// it, else the smallest that holds them all.
fn statement_for(left: usize) -> usize {
    (0..SIZES.len())
        .rev()
        .find(|&i| SIZES[i] >= left)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_go_in_the_largest_statement_then_the_smallest_that_holds_the_rest() {
        let rows = |left| SIZES[statement_for(left)];
        assert_eq!(rows(1), 16);
        assert_eq!(rows(16), 16);
        assert_eq!(rows(17), 64);
        assert_eq!(rows(65), 256);
        assert_eq!(rows(256), 256);
        assert_eq!(rows(10_000), 256);
    }
}
