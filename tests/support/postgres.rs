//! Throw-away PostgreSQL databases, one per test, on the server of `test_database_url()`.
use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

async fn admin_connection() -> Option<DatabaseConnection> {
    let mut options = ConnectOptions::new(super::test_database_url());
    options
        .max_connections(1)
        .connect_timeout(Duration::from_secs(3))
        .acquire_timeout(Duration::from_secs(3))
        .sqlx_logging(false);
    match Database::connect(options).await {
        Ok(db) => Some(db),
        Err(e) => {
            eprintln!("PostgreSQL at the test URL is not reachable: {e}");
            None
        }
    }
}

/// Creates `aa_test_<random hex>` and returns its URL, or `None` when the server is unreachable.
pub async fn fresh_postgres_url() -> Option<String> {
    let admin = admin_connection().await?;
    let name = format!("aa_test_{:016x}", rand::random::<u64>());
    // A natural-language collation where it is available (ICU), so tests catch code that
    // silently relies on the server's collation being byte-wise.
    let icu = format!(
        "CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
    );
    if admin.execute_unprepared(&icu).await.is_err()
        && let Err(e) = admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await
    {
        eprintln!("cannot create test database {name}: {e}");
        return None;
    }
    let _ = admin.close().await;
    let mut url = url::Url::parse(&super::test_database_url()).ok()?;
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

/// Best effort: drops a database made by `fresh_postgres_url`, closing whatever still uses it.
pub async fn drop_postgres_database(database_url: &str) {
    let Some(name) = url::Url::parse(database_url)
        .ok()
        .map(|u| u.path().trim_start_matches('/').to_string())
    else {
        return;
    };
    if !name.starts_with("aa_test_") {
        return;
    }
    if let Some(admin) = admin_connection().await {
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await;
        let _ = admin.close().await;
    }
}
