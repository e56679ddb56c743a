//! The `reach` command line: `serve [--demo]`, `migrate`, `token`, `schema`, `sync`, `audit`.

mod audit;

use std::{path::PathBuf, process::ExitCode};

use clap::{Args, Parser, Subcommand};
use entity::{SyncRunState, platform_sync_run};
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::DatabaseConnection;

use crate::{
    auth::{self, Tokens},
    config::{Overrides, Settings},
    db,
    graphql::ids::{self, Kind},
    service::{
        directory,
        sync::{
            self,
            runner::{Progress, Runner},
            seal::TokenKey,
        },
    },
    startup::Application,
    telemetry,
};

/// Reach: fixed-mobile convergence provisioning over GraphQL.
#[derive(Parser, Debug)]
#[command(name = "reach", version, about)]
pub struct Cli {
    /// Settings file (default: `reach.toml` in the working directory, where present).
    #[arg(long, global = true, env = "REACH_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL (overrides `REACH_DATABASE_URL`).
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Apply pending migrations and start the server.
    Serve {
        /// Fill an empty database with a demo directory and print a token per persona.
        #[arg(long)]
        demo: bool,
        /// Address to listen on (overrides `REACH_LISTEN`).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Print a signed bearer token.
    Token(TokenArgs),
    /// Print the GraphQL SDL (the text of `schema.graphql`).
    Schema,
    /// Run the platform sync of an MX-ONE account now, with a progress bar; the exit code says
    /// whether the run succeeded.
    Sync(SyncArgs),
    /// Write an account's audit log to standard output, oldest first (JSON Lines or CSV), with
    /// a progress bar on a terminal.
    Audit(audit::AuditArgs),
}

#[derive(Args, Debug)]
struct SyncArgs {
    /// The account: its id as the API shows it, or the bare UUID.
    #[arg(long)]
    account: String,
}

#[derive(Args, Debug)]
struct TokenArgs {
    /// A Support token.
    #[arg(long, conflicts_with = "user", required_unless_present = "user")]
    support: bool,
    /// A user's token: the user's id as the API shows it, or their email address.
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    /// The name on a Support token.
    #[arg(long, default_value = "support", requires = "support")]
    name: String,
    /// Lifetime in seconds (default: the `token_ttl_seconds` setting).
    #[arg(long)]
    ttl: Option<u64>,
}

/// Runs the command line; the exit code says whether it worked.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Schema = cli.command {
        print!("{}", crate::graphql::sdl());
        return Ok(());
    }
    let listen = match &cli.command {
        Command::Serve { listen, .. } => listen.clone(),
        _ => None,
    };
    let overrides = Overrides {
        listen,
        database_url: cli.database_url.clone(),
    };
    let settings = Settings::load(cli.config.clone(), &overrides)?;
    // Spans are exported by the commands that do work worth tracing: the server and a sync run.
    let traced = matches!(cli.command, Command::Serve { .. } | Command::Sync(_));
    let telemetry = telemetry::start(&settings, traced)?;
    let done = match cli.command {
        Command::Serve { demo, .. } => serve(settings, demo).await,
        Command::Migrate => migrate(&settings).await,
        Command::Token(args) => token(settings, args).await,
        Command::Sync(args) => sync(settings, args).await,
        Command::Audit(args) => export_audit(settings, args).await,
        Command::Schema => Ok(()),
    };
    telemetry.shutdown().await;
    done
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let db = db::connect(settings).await?;
    db::migrate(&db).await?;
    println!("migrations applied");
    Ok(())
}

async fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    if let Some(warning) = auth::generated_secret_warning(&settings) {
        tracing::warn!("{warning}");
        eprintln!("warning: {warning}");
    }
    let app = Application::build(settings, demo).await?;
    let addr = app.local_addr()?;
    if let Some(report) = app.demo() {
        let state = match (report.created, report.personas.len() > 1) {
            (true, _) => "demo directory created",
            (false, true) => "demo directory already present",
            // Someone else's data: --demo only ever fills an empty database.
            (false, false) => "the database is not empty, so no demo directory was added",
        };
        println!("{state}; tokens (paste one into GraphiQL's token bar or the console's sign-in):");
        for persona in &report.personas {
            println!("  {}:\n    {}", persona.label, persona.token);
        }
        println!("GraphiQL: http://{addr}/graphiql");
        println!("Console:  http://{addr}/console");
    }
    for plugin in app.plugin_summaries() {
        println!("plugin {plugin}");
    }
    println!("listening on http://{addr}");
    app.run_until_stopped().await?;
    Ok(())
}

async fn token(settings: Settings, args: TokenArgs) -> anyhow::Result<()> {
    let db = db::connect(&settings).await?;
    db::migrate(&db).await?;
    let secret = auth::signing_secret(&db, &settings).await?;
    let tokens = Tokens::from_settings(&secret, &settings);
    let ttl = args.ttl.unwrap_or(settings.token_ttl_seconds);
    let max = settings.token_max_ttl_seconds;
    if !(1..=max).contains(&ttl) {
        // The server would refuse such a token: say so now rather than print a useless one.
        anyhow::bail!("--ttl must be from 1 to {max} seconds (the token_max_ttl_seconds setting)");
    }
    let token = match args.user {
        None if crate::policy::SYSTEM_NAMES.contains(&args.name.as_str()) => {
            anyhow::bail!(
                "--name must not be one of the names Reach acts under itself: {}",
                crate::policy::SYSTEM_NAMES.join(", ")
            )
        }
        None if !auth::valid_support_name(&args.name) => {
            anyhow::bail!(
                "--name must be 1 to {} characters, without control or formatting characters",
                auth::MAX_SUPPORT_NAME
            )
        }
        None => tokens.mint_support(&args.name, ttl)?,
        Some(who) => {
            // A NUL would reach PostgreSQL as an error of its own; say what is wrong instead.
            if crate::service::text::no_control(&who).is_err() {
                anyhow::bail!("--user must not contain control characters");
            }
            let id = if who.contains('@') {
                let mut found = directory::users_by_email(&db, &who).await?;
                match found.len() {
                    0 => anyhow::bail!("no user has the email address {who}"),
                    1 => found.remove(0).id,
                    n => anyhow::bail!("{n} users in different accounts have this email address; give the user's id"),
                }
            } else {
                let key = ids::decode_as(&who, Kind::User)
                    .or_else(|| uuid::Uuid::parse_str(&who).ok())
                    .ok_or_else(|| anyhow::anyhow!("`{who}` is neither a user id nor an email address"))?;
                directory::users_by_id(&db, &[key])
                    .await?
                    .remove(&key)
                    .ok_or_else(|| anyhow::anyhow!("no user has the id {who}"))?
                    .id
            };
            tokens.mint_user(id, ttl)?
        }
    };
    println!("{token}");
    Ok(())
}

/// `reach sync --account ID`: asks for a run (or joins the one under way), runs it in this
/// process when it is free, else follows the process that runs it; prints the outcome.
async fn sync(settings: Settings, args: SyncArgs) -> anyhow::Result<()> {
    let account = account_key(&args.account)?;
    let db = db::connect(&settings).await?;
    db::migrate(&db).await?;
    let key = TokenKey::load(&db, &settings).await?;
    let (run, created) = request_run(&db, account).await?;
    let bar = spinner();
    let show = |run: &platform_sync_run::Model, read: u64| show_counts(&bar, run, read);
    if !created {
        bar.println(format!(
            "joining the run under way ({})",
            ids::encode(Kind::PlatformSyncRun, run.id).0
        ));
    }
    let runner = Runner::new(
        db.clone(),
        settings.plugins.platform.clone(),
        settings.remote_extension.clone(),
        key,
        format!("reach-sync:{}:{}", std::process::id(), uuid::Uuid::new_v4().simple()),
    );
    let ended = match runner.claim(Some(run.id)).await? {
        Some(claimed) => runner.execute(claimed, &show).await?,
        // Another process runs it: follow it.
        None => follow_run(&db, &settings, run.id, &show).await?,
    };
    bar.finish_and_clear();
    print_outcome(&ended);
    if ended.state == SyncRunState::Succeeded {
        Ok(())
    } else {
        anyhow::bail!("the sync run did not succeed")
    }
}

/// `reach audit --account ID`: the account's audit log on standard output.
async fn export_audit(settings: Settings, args: audit::AuditArgs) -> anyhow::Result<()> {
    let account = account_key(args.account())?;
    let db = db::connect(&settings).await?;
    db::migrate(&db).await?;
    let written = audit::export(&db, account, &args, std::io::stdout().lock()).await?;
    eprintln!("{written} audit entries written");
    Ok(())
}

/// The account `reach sync --account` or `reach audit --account` names: its id as the API shows it, or the bare UUID.
fn account_key(given: &str) -> anyhow::Result<uuid::Uuid> {
    ids::decode_as(given, Kind::Account)
        .or_else(|| uuid::Uuid::parse_str(given).ok())
        .ok_or_else(|| anyhow::anyhow!("`{given}` is not an account id"))
}

/// Asks for a run of the account, or finds the one under way (`true`: a new run); a refused
/// request fails with its messages.
async fn request_run(db: &DatabaseConnection, account: uuid::Uuid) -> anyhow::Result<(platform_sync_run::Model, bool)> {
    let p = crate::service::sync::runner::cli_principal();
    match sync::request_run(db, &p, Some(account)).await {
        Ok(found) => Ok(found),
        Err(crate::service::ServiceError::Rejected(errors)) => {
            let why: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            anyhow::bail!("{}", why.join("; "))
        }
        Err(e) => Err(e.into()),
    }
}

/// The spinner that shows a run's counts as it goes.
fn spinner() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Shows the run's counts (and how many platform numbers were read, once some were).
fn show_counts(bar: &ProgressBar, run: &platform_sync_run::Model, read: u64) {
    let read = if read > 0 {
        format!("{read} read · ")
    } else {
        String::new()
    };
    bar.set_message(format!(
        "{read}{} created · {} updated · {} removed · {} kept · {} exported",
        run.created, run.updated, run.removed, run.kept, run.exported
    ));
}

/// Follows a run another process holds until it ends.
async fn follow_run(
    db: &DatabaseConnection,
    settings: &Settings,
    id: uuid::Uuid,
    show: Progress<'_>,
) -> anyhow::Result<platform_sync_run::Model> {
    loop {
        // Its process may have died: then its lease runs out and it ends here too.
        let platform = &settings.plugins.platform;
        sync::fail_abandoned(db, platform.interval(), platform.retry()).await?;
        let now = sync::runs_by_id(db, &[id]).await?.remove(&id);
        let Some(now) = now else {
            anyhow::bail!("the run disappeared");
        };
        show(&now, 0);
        if matches!(now.state, SyncRunState::Succeeded | SyncRunState::Failed) {
            return Ok(now);
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

/// Prints how the run ended: its state, its counts and the problems it noted.
fn print_outcome(ended: &platform_sync_run::Model) {
    let state = match ended.state {
        SyncRunState::Succeeded => "succeeded",
        SyncRunState::Failed => "failed",
        SyncRunState::Pending => "pending",
        SyncRunState::Running => "running",
    };
    println!(
        "sync run {} {state}: {} created, {} updated, {} removed, {} kept, {} exported",
        ids::encode(Kind::PlatformSyncRun, ended.id).0,
        ended.created,
        ended.updated,
        ended.removed,
        ended.kept,
        ended.exported
    );
    for line in ended.errors.as_array().into_iter().flatten() {
        if let Some(line) = line.as_str() {
            println!("  {line}");
        }
    }
}
