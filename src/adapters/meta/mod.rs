//! Metadata ports on sea-orm: one code path for SQLite (the embedded default) and PostgreSQL
//! (scale-out), DESIGN §2 and §5. `MetaStore` implements every metadata port; each port's impl
//! lives in its own file. The schema is the `migrations` crate.
//!
//! Portability rules kept throughout: uniqueness is enforced by the database (a create is an
//! `INSERT` whose unique violation becomes `PortError::Conflict`, never check-then-insert);
//! timestamps are truncated to microseconds, the precision both backends store; key columns
//! compare byte-wise (see the migration), so prefixes are range scans instead of `LIKE`.
mod artifact_index;
mod blob_records;
mod catalog;
mod credentials;
pub mod entities;
mod hosted_files;
mod hosted_packages;
mod secret_box;
mod upload_sessions;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, SqlErr};

use crate::domain::digest::Digest;
use crate::ports::PortError;
use secret_box::SecretBox;

/// How long a SQLite writer waits for another writer's lock before failing with "database is
/// locked". Writes are short single statements, so waiting is always the right answer.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(15);
/// SQLite in WAL mode: readers run beside the one writer; more connections only queue on the lock.
const SQLITE_MAX_CONNECTIONS: u32 = 8;
const POSTGRES_MAX_CONNECTIONS: u32 = 16;

/// The sea-orm implementation of every metadata port.
#[derive(Clone)]
pub struct MetaStore {
    db: DatabaseConnection,
    cipher: SecretBox,
}

impl std::fmt::Debug for MetaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaStore")
            .field("backend", &self.db.get_database_backend())
            .finish_non_exhaustive()
    }
}

/// Opens a pool on `database_url` (`sqlite://path?mode=rwc`, `sqlite::memory:`,
/// `postgres://...`). `secret_key` encrypts upstream passwords at rest; the same key must be
/// used on every start and replica, or stored passwords cannot be read back.
pub async fn connect(database_url: &str, secret_key: [u8; 32]) -> Result<MetaStore, PortError> {
    let mut options = ConnectOptions::new(database_url);
    options
        // sea-orm maps both to the pool's acquire timeout: how long a request (or the first
        // connect at start) waits for a connection before failing with a backend error.
        .acquire_timeout(Duration::from_secs(10))
        .idle_timeout(Duration::from_secs(600))
        // Statements carry secret hashes and encrypted passwords: keep them out of the logs.
        .sqlx_logging(false);
    let scheme = database_url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => configure_sqlite(&mut options, database_url).await?,
        "postgres" | "postgresql" => {
            options.max_connections(POSTGRES_MAX_CONNECTIONS).min_connections(1);
        }
        _ => {
            return Err(PortError::Backend(format!(
                "unsupported database URL scheme '{scheme}' (supported: sqlite, postgres)"
            )));
        }
    }
    let db = Database::connect(options).await.map_err(|e| {
        PortError::Backend(redact(
            format!("cannot connect to the metadata database: {e}"),
            database_url,
        ))
    })?;
    Ok(MetaStore {
        db,
        cipher: SecretBox::new(secret_key),
    })
}

/// Driver messages may quote the connection string; the password in it must not reach a log.
fn redact(message: String, database_url: &str) -> String {
    // The whole URL with its user info masked, which also covers URLs that do not parse.
    let masked = match (database_url.split_once("://"), database_url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://***{}", &database_url[at..]),
        _ => database_url.to_string(),
    };
    let message = message.replace(database_url, &masked);
    let Some(password) = url::Url::parse(database_url)
        .ok()
        .and_then(|u| u.password().map(str::to_string))
        .filter(|p| !p.is_empty())
    else {
        return message;
    };
    let decoded = percent_encoding::percent_decode_str(&password)
        .decode_utf8_lossy()
        .into_owned();
    let message = message.replace(&password, "***");
    if decoded.is_empty() {
        return message;
    }
    message.replace(&decoded, "***")
}

async fn configure_sqlite(options: &mut ConnectOptions, url: &str) -> Result<(), PortError> {
    let parsed = SqliteConnectOptions::from_str(url)
        .map_err(|e| PortError::Backend(format!("invalid SQLite database URL: {e}")))?;
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if in_memory {
        // Each extra connection would see a separate (or table-locked shared) database.
        options.max_connections(1);
        return Ok(());
    }
    if let Some(parent) = parsed.get_filename().parent().filter(|p| !p.as_os_str().is_empty()) {
        create_parent(parent).await?;
    }
    // `sqlite://data/meta.db` should just work; an explicit `mode=` is the operator's choice
    // (sqlx already applied it when parsing the URL).
    let create = !url.contains("mode=");
    options
        .max_connections(SQLITE_MAX_CONNECTIONS)
        .map_sqlx_sqlite_opts(move |o| {
            let o = o.journal_mode(SqliteJournalMode::Wal).busy_timeout(SQLITE_BUSY_TIMEOUT);
            if create { o.create_if_missing(true) } else { o }
        });
    Ok(())
}

async fn create_parent(dir: &Path) -> Result<(), PortError> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| PortError::Backend(format!("cannot create the database directory {}: {e}", dir.display())))
}

impl MetaStore {
    /// Applies pending schema migrations (at `serve` start and by `artifactapi migrate`).
    pub async fn migrate(&self) -> Result<(), PortError> {
        Migrator::up(&self.db, None)
            .await
            .map_err(|e| PortError::Backend(format!("migration failed: {e}")))
    }

    /// Readiness: the database answers.
    pub async fn ping(&self) -> Result<(), PortError> {
        self.db.ping().await.map_err(db_err)
    }

    /// The connection, for tests and tooling that inspect rows directly.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }
}

/// Translates a sea-orm error: a unique-key violation is the port's `Conflict`, anything else is
/// a backend failure. The message comes from the driver, which never sees plaintext secrets.
pub(crate) fn db_err(e: DbErr) -> PortError {
    match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => PortError::Conflict,
        _ if is_disk_full(&e.to_string()) => PortError::StorageFull(e.to_string()),
        _ => PortError::backend(e),
    }
}

/// SQLite's SQLITE_FULL ("database or disk is full") and PostgreSQL's `disk_full` (53100,
/// "could not extend file ... No space left on device").
fn is_disk_full(message: &str) -> bool {
    message.contains("database or disk is full") || message.contains("No space left on device")
}

/// The precision both backends store (PostgreSQL `timestamptz` keeps microseconds), so what is
/// written compares equal to what is read back.
pub(crate) fn db_time(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

pub(crate) fn to_db_size(size: u64) -> Result<i64, PortError> {
    i64::try_from(size).map_err(|_| PortError::Backend(format!("size {size} does not fit the database")))
}

pub(crate) fn from_db_size(size: i64) -> Result<u64, PortError> {
    u64::try_from(size).map_err(|_| PortError::Backend(format!("negative size {size} in the database")))
}

pub(crate) fn parse_digest(raw: &str) -> Result<Digest, PortError> {
    Digest::parse(raw).map_err(|e| PortError::Backend(format!("corrupt digest '{raw}' in the database: {e}")))
}

/// Bounds of the keys that start with `prefix`: `[prefix, upper)`, `upper = None` meaning
/// unbounded. Key columns compare by code point on both backends, so this equals "starts
/// with" without `LIKE` and its `%`/`_` wildcards (and SQLite's case-insensitive `LIKE`).
pub(crate) fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The `WHERE` of a paged listing: one repository, keys starting with `page.prefix`, after
/// `page.after`. Ordering by the key and the limit are applied by the caller.
pub(crate) fn page_condition<C: sea_orm::ColumnTrait>(
    repo_col: C,
    key_col: C,
    repo: &str,
    page: &crate::ports::PageRequest,
) -> sea_orm::Condition {
    let mut cond = sea_orm::Condition::all().add(repo_col.eq(repo));
    if !page.prefix.is_empty() {
        cond = cond.add(key_col.gte(page.prefix.as_str()));
        if let Some(upper) = prefix_upper_bound(&page.prefix) {
            cond = cond.add(key_col.lt(upper));
        }
    }
    if let Some(after) = &page.after {
        cond = cond.add(key_col.gt(after.as_str()));
    }
    cond
}

/// Row count and summed `size` of a filtered query. SUM of a BIGINT is NUMERIC on PostgreSQL,
/// so it is cast back to an integer for both databases.
pub(super) async fn usage_of<E: sea_orm::EntityTrait>(
    db: &DatabaseConnection,
    query: sea_orm::Select<E>,
) -> Result<crate::ports::Usage, PortError> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::Expr;
    let row: Option<(i64, i64)> = query
        .select_only()
        .expr_as(Expr::cust("COUNT(*)"), "objects")
        .expr_as(Expr::cust("CAST(COALESCE(SUM(size), 0) AS BIGINT)"), "bytes")
        .into_tuple()
        .one(db)
        .await
        .map_err(db_err)?;
    let (objects, bytes) = row.unwrap_or_default();
    Ok(crate::ports::Usage {
        objects: u64::try_from(objects).unwrap_or_default(),
        bytes: u64::try_from(bytes).unwrap_or_default(),
    })
}

/// Summed size of the distinct digests of `table`'s rows matching `filter`: each digest once
/// (its largest recorded size, which is its only size unless a row is corrupt).
pub(super) async fn distinct_bytes<E, F>(
    db: &DatabaseConnection,
    table: E,
    digest: E::Column,
    size: E::Column,
    filter: F,
) -> Result<u64, PortError>
where
    E: sea_orm::EntityTrait,
    F: sea_orm::sea_query::IntoCondition,
{
    use sea_orm::ConnectionTrait;
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let per_digest = Query::select()
        .column(digest)
        .expr_as(Expr::col(size).max(), Alias::new("bytes"))
        .from(table)
        .cond_where(filter)
        .group_by_col(digest)
        .to_owned();
    let total = Query::select()
        .expr(Expr::cust("CAST(COALESCE(SUM(per_digest.bytes), 0) AS BIGINT)"))
        .from_subquery(per_digest, Alias::new("per_digest"))
        .to_owned();
    let row = db.query_one(&total).await.map_err(db_err)?;
    let bytes: i64 = match row {
        Some(row) => row.try_get_by_index(0).map_err(db_err)?,
        None => 0,
    };
    from_db_size(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_url_passwords() {
        let url = "postgres://u:p%40ss@127.0.0.1/db";
        assert_eq!(
            redact(format!("bad {url} and p@ss"), url),
            "bad postgres://***@127.0.0.1/db and ***"
        );
        let broken = "postgres://u:pw@[::1";
        assert_eq!(
            redact(format!("'{broken}' cannot be parsed"), broken),
            "'postgres://***@[::1' cannot be parsed"
        );
        assert_eq!(redact("no secret".into(), "sqlite://x.db"), "no secret");
        assert_eq!(redact("empty".into(), "postgres://u:@h/db"), "empty");
    }

    #[test]
    fn prefix_bounds() {
        assert_eq!(prefix_upper_bound(""), None);
        assert_eq!(prefix_upper_bound("a/b"), Some("a/c".into()));
        assert_eq!(prefix_upper_bound("a%"), Some("a&".into()));
        assert_eq!(prefix_upper_bound("x\u{10FFFF}"), Some("y".into()));
        assert_eq!(prefix_upper_bound("\u{10FFFF}"), None);
        assert_eq!(prefix_upper_bound("\u{D7FF}"), Some("\u{E000}".into()));
    }
}
