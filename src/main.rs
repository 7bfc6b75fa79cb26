//! The `roster` command: `serve` (the default) and `migrate`.

use clap::{Parser, Subcommand};
use roster::clock::Clock;
use roster::config::{Config, ConfigArgs};
use roster::db::Db;
use roster::startup::Application;

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    roster::telemetry::init();
    let cli = Cli::parse();
    let config = Config::from_args(cli.config)?;
    match cli.command.unwrap_or(Command::Serve) {
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
    }
    Ok(())
}
