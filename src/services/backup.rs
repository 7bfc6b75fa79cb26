//! Backups of the SQLite database while Roster runs (`roster backup PATH`,
//! SQLite's `VACUUM INTO`: a consistent copy taken in one read transaction,
//! writers carry on) and their restore (`roster restore PATH`, with the
//! server stopped). PostgreSQL is backed up with its own tools (README).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

use crate::config::DatabaseUrl;
use crate::db::{CrossOrg, Db};

/// Writes a consistent copy of the database to `target` (which must not
/// exist yet) and checks it; returns its size in bytes.
pub async fn backup(db: &Db, target: &Path) -> anyhow::Result<u64> {
    ensure!(
        db.backend() == DbBackend::Sqlite,
        "roster backup copies the SQLite database; back PostgreSQL up with pg_dump (see the README)"
    );
    ensure!(
        !target.exists(),
        "{} already exists; choose a new file",
        target.display()
    );
    let path = target
        .to_str()
        .context("the backup path must be valid UTF-8")?;
    // On a read connection: the copy is one read transaction, so writes
    // go on while it is taken.
    db.read_cross_org(CrossOrg::Backup)
        .await?
        .execute_unprepared(&format!("VACUUM INTO '{}'", path.replace('\'', "''")))
        .await
        .with_context(|| format!("failed to write the backup to {}", target.display()))?;
    check(target).await?;
    Ok(std::fs::metadata(target)
        .with_context(|| format!("failed to read {}", target.display()))?
        .len())
}

/// Checks that `file` is an intact Roster SQLite database.
pub async fn check(file: &Path) -> anyhow::Result<()> {
    ensure!(file.is_file(), "{} is not a file", file.display());
    let url = format!("sqlite://{}?mode=ro", file.display());
    let conn = Database::connect(url.as_str())
        .await
        .with_context(|| format!("failed to open {}", file.display()))?;
    let integrity: String = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA integrity_check",
        ))
        .await
        .with_context(|| format!("{} is not a SQLite database", file.display()))?
        .context("no answer to the integrity check")?
        .try_get_by_index(0)
        .context("an unreadable integrity check")?;
    ensure!(
        integrity == "ok",
        "{} failed its integrity check: {integrity}",
        file.display()
    );
    let migrations: i64 = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT COUNT(*) FROM seaql_migrations",
        ))
        .await
        .map_err(|_| anyhow::anyhow!("{} is not a Roster database", file.display()))?
        .context("no answer")?
        .try_get_by_index(0)
        .context("an unreadable count")?;
    ensure!(
        migrations > 0,
        "{} is not a Roster database",
        file.display()
    );
    conn.close().await.ok();
    Ok(())
}

/// The file of a `sqlite://PATH?…` URL.
pub fn sqlite_file(url: &DatabaseUrl) -> anyhow::Result<PathBuf> {
    let Some(rest) = url.expose().strip_prefix("sqlite://") else {
        bail!(
            "roster restore restores a SQLite database; restore PostgreSQL with pg_restore (see the README)"
        );
    };
    let path = rest.split('?').next().unwrap_or_default();
    ensure!(!path.is_empty(), "the database URL names no file");
    Ok(PathBuf::from(path))
}

/// Replaces the database of `url` with the checked backup `source`. The
/// current database (with its WAL files) is kept beside it with the suffix
/// `.before-restore-<unix time>`; returns that path when there was one.
/// Stop the server first: a running server would keep the old file open.
pub async fn restore(
    url: &DatabaseUrl,
    source: &Path,
    now: i64,
) -> anyhow::Result<Option<PathBuf>> {
    let target = sqlite_file(url)?;
    check(source).await?;
    let aside = |path: &Path| {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".before-restore-{now}"));
        PathBuf::from(name)
    };
    let mut kept = None;
    if target.exists() {
        let moved = aside(&target);
        std::fs::rename(&target, &moved)
            .with_context(|| format!("failed to move {} aside", target.display()))?;
        for suffix in ["-wal", "-shm"] {
            let mut side = target.as_os_str().to_owned();
            side.push(suffix);
            let side = PathBuf::from(side);
            if side.exists() {
                std::fs::rename(&side, aside(&side))
                    .with_context(|| format!("failed to move {} aside", side.display()))?;
            }
        }
        kept = Some(moved);
    }
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("failed to create {}", parent.display()))?;
    }
    std::fs::copy(source, &target)
        .with_context(|| format!("failed to copy the backup to {}", target.display()))?;
    check(&target).await?;
    Ok(kept)
}
