//! The `roster` command: `serve` (the default), `migrate`, backups, seeding
//! and `permissions`.

use anyhow::Context;
use clap::{Parser, Subcommand};
use roster::clock::Clock;
use roster::config::{Config, ConfigArgs};
use roster::db::Db;
use roster::services::seed;
use roster::startup::Application;

fn report(seeded: &seed::Seeded) {
    println!(
        "Seeded {} with {} members and {} products in {:.1} s.\nOrganization id: {}\nSign in as {} with password {}",
        seeded.org.name,
        seeded.members,
        seeded.products,
        seeded.elapsed.as_secs_f64(),
        seeded.org.id,
        seeded.owner_email,
        seeded.password
    );
    if let Some((member, email)) = &seeded.restricted_member {
        println!("Restricted member id: {member}\nRestricted member email: {email}");
    }
}

#[derive(Parser)]
#[command(
    name = "roster",
    version,
    about = "Organizations, members, roles and invitations"
)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations and serve the web application (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Write a consistent copy of the SQLite database to PATH while the
    /// server runs.
    Backup {
        /// Where to write the copy (must not exist yet).
        path: std::path::PathBuf,
    },
    /// Replace the SQLite database with the backup at PATH (stop the
    /// server first); the current database is kept beside it.
    Restore {
        /// The backup to restore.
        path: std::path::PathBuf,
    },
    /// Create a small demo organization to click through.
    SeedDemo,
    /// Create a large organization for benchmarks.
    SeedBench {
        /// How many members besides the Owner.
        #[arg(long, default_value_t = 100_000)]
        members: usize,
        /// How many workspaces.
        #[arg(long, default_value_t = 10)]
        workspaces: usize,
        /// How many products, spread over the workspaces.
        #[arg(long, default_value_t = 10_000)]
        products: usize,
        /// How many audit rows, about the first thousand members.
        #[arg(long, default_value_t = 1_000_000)]
        audit_rows: usize,
        /// Write up to 1,000 member ids (one per line) here, for the
        /// role-change benchmark.
        #[arg(long)]
        targets_file: Option<std::path::PathBuf>,
    },
    /// Print what each role can do, per scope, as the policy answers it
    /// (Markdown; docs/PERMISSIONS.md holds the same).
    Permissions,
    /// Operator's settings of one organization.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Make an organization API key in the Owner's name (for scripts that
    /// set Roster up, such as CI) and print its secret once.
    CreateApiKey {
        /// The organization's id.
        #[arg(long)]
        org: String,
        /// What will use the key.
        #[arg(long)]
        name: String,
        /// admin, member or viewer.
        #[arg(long, default_value = "admin")]
        role: String,
        /// Days until it expires (1 to 365).
        #[arg(long, default_value_t = 30)]
        days: i64,
        /// Limit the key to this workspace (its id).
        #[arg(long)]
        workspace: Option<String>,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Set how many seats (members and pending invitations) ORG may have;
    /// `none` removes the limit.
    Seats {
        /// The organization's id.
        org: String,
        /// A whole number of at least 1, or `none`.
        limit: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    roster::telemetry::init();
    let cli = Cli::parse();
    if matches!(cli.command, Some(Command::Permissions)) {
        print!("{}", roster::domain::policy::table::markdown());
        return Ok(());
    }
    let config = Config::from_args(cli.config)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Permissions => unreachable!("answered before the configuration is read"),
        Command::Serve => {
            tracing::info!(database = %config.database_url, "starting Roster");
            let base_url = config.base_url.clone();
            let app = Application::build(config, Clock::default()).await?;
            tracing::info!("Roster is listening; open {base_url}");
            println!("Roster is running: open {base_url} in your browser.");
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let db = Db::connect(&config.database_url).await?;
            db.migrate().await?;
            println!("Migrations applied to {}.", config.database_url);
        }
        Command::Backup { path } => {
            let db = Db::connect(&config.database_url).await?;
            let bytes = roster::services::backup::backup(&db, &path).await?;
            println!(
                "Backup written to {} ({bytes} bytes); its integrity check passed.",
                path.display()
            );
        }
        Command::Restore { path } => {
            let kept = roster::services::backup::restore(
                &config.database_url,
                &path,
                Clock::default().now(),
            )
            .await?;
            println!("Restored {} and checked it.", path.display());
            if let Some(kept) = kept {
                println!("The previous database is kept as {}.", kept.display());
            }
        }
        Command::SeedDemo => {
            let db = Db::connect(&config.database_url).await?;
            db.migrate().await?;
            let seeded = seed::seed(
                &db,
                &Clock::default(),
                "Demo Co",
                "demo.example",
                seed::Size {
                    members: 40,
                    workspaces: 3,
                    products: 24,
                    audit_rows: 200,
                },
                "demo-password-1",
            )
            .await?;
            report(&seeded);
        }
        Command::SeedBench {
            members,
            workspaces,
            products,
            audit_rows,
            targets_file,
        } => {
            let db = Db::connect(&config.database_url).await?;
            db.migrate().await?;
            let domain = format!("bench{}.example", Clock::default().now());
            let seeded = seed::seed(
                &db,
                &Clock::default(),
                "Bench Co",
                &domain,
                seed::Size {
                    members,
                    workspaces,
                    products,
                    audit_rows,
                },
                "bench-password-1",
            )
            .await?;
            if let Some(path) = targets_file {
                std::fs::write(&path, seeded.member_ids.join("\n"))
                    .with_context(|| format!("failed to write {}", path.display()))?;
            }
            report(&seeded);
        }
        Command::Org {
            command: OrgCommand::Seats { org, limit },
        } => {
            let limit =
                roster::services::seats::parse_limit(&limit).map_err(|m| anyhow::anyhow!(m))?;
            let db = Db::connect(&config.database_url).await?;
            db.migrate().await?;
            let seats = roster::services::seats::set_limit(&db, &Clock::default(), &org, limit)
                .await?
                .with_context(|| format!("no organization has the id {org}"))?;
            match seats.limit {
                Some(limit) => println!(
                    "{org} may have {limit} seats; {} are taken ({} left).",
                    seats.used,
                    seats.left().unwrap_or(0)
                ),
                None => println!("{org} has no seat limit; {} seats are taken.", seats.used),
            }
        }
        Command::CreateApiKey {
            org,
            name,
            role,
            days,
            workspace,
        } => {
            let db = Db::connect(&config.database_url).await?;
            db.migrate().await?;
            let role = roster::domain::role::OrgRole::parse(&role)
                .context("the role must be admin, member or viewer")?;
            let clock = Clock::default();
            let expires_at = roster::domain::api_key::expiry(clock.now(), Some(days), None)
                .map_err(|message| anyhow::anyhow!(message))?;
            let secret = roster::services::api_keys::create_as_owner(
                &db,
                &clock,
                &org,
                roster::services::api_keys::NewKey {
                    name,
                    kind: roster::services::api_keys::NewKind::Organization(role),
                    expires_at,
                    workspace_id: workspace,
                },
            )
            .await?;
            println!("{secret}");
        }
    }
    Ok(())
}
