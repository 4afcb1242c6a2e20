//! The CRM from the command line: `import` (with `--undo`), `user` and `token`. Each opens the
//! store named by `--db` (or `SALESFLOW_DB`; default `sqlite://salesflow.db`) and acts as the
//! system, which the audit log records as no user.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use salesflow_store::{Actor, ImportMode, ImportOptions, ImportReport, Role, Scope, Store};

use super::{Global, print_stdout};
use crate::input::UsageError;
use crate::progress::Bars;

/// Where the CRM's database is.
#[derive(Debug, clap::Args)]
pub struct DbFlag {
    /// The CRM database: sqlite://FILE (created when missing) or postgres://USER:PASS@HOST/DB.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "SALESFLOW_DB",
        default_value = "sqlite://salesflow.db"
    )]
    pub db: String,
}

impl DbFlag {
    /// Opens (and migrates) the store on a runtime of its own.
    pub fn open(&self, runtime: &tokio::runtime::Runtime) -> Result<Store> {
        Ok(runtime.block_on(Store::open(&self.db))?)
    }
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The CSV file to import (its first line names the columns).
    #[arg(value_name = "FILE", required_unless_present = "undo")]
    file: Option<PathBuf>,
    /// What the rows are: customers, companies, deals, orders, order_lines, products or activities.
    #[arg(long, value_name = "KIND", required_unless_present = "undo")]
    kind: Option<String>,
    /// A TOML file mapping the file's columns to fields: `[columns]` then `"Full Name" = "name"`
    /// (a custom field as "custom_fields.tier"; `"Notes" = ""` ignores a column). Columns it
    /// does not name are matched by name.
    #[arg(long, value_name = "FILE")]
    map: Option<PathBuf>,
    /// create: only new records (a row matching one is an error); update: only existing ones;
    /// upsert: both.
    #[arg(long, default_value = "create", value_parser = ["create", "update", "upsert"])]
    mode: String,
    /// The field rows are matched on (default: e-mail for customers, domain for companies,
    /// sku for products, external_id otherwise).
    #[arg(long, value_name = "FIELD")]
    key: Option<String>,
    /// Check everything and say what would happen, writing nothing.
    #[arg(long)]
    dry_run: bool,
    /// The field delimiter (a character, or tab, comma, semicolon, pipe).
    #[arg(long, default_value = ",")]
    delimiter: String,
    /// Also write the full report (every row in error, the column mapping) as JSON here.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Undo a completed import (its id was printed when it finished): delete what it created
    /// and restore what it updated.
    #[arg(long, value_name = "IMPORT_ID", conflicts_with_all = ["file", "dry_run"])]
    undo: Option<String>,
    #[command(flatten)]
    db: DbFlag,
}

/// The `[columns]` table of a map file.
fn read_map(path: &Path) -> Result<HashMap<String, String>> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct MapFile {
        columns: HashMap<String, String>,
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the map {}", path.display()))?;
    let map: MapFile = toml::from_str(&text).map_err(|error| {
        UsageError(format!(
            "{}: {error}\nhint: the map is a [columns] table of \"file column\" = \"field\" lines",
            path.display()
        ))
    })?;
    Ok(map.columns)
}

/// The one-byte delimiter of `--delimiter` (the same words the analytics' `--delimiter`
/// takes; runs of blanks do not apply to CSV imports).
fn parse_delimiter(text: &str) -> Result<u8> {
    match text.parse::<salesflow_core::Delimiter>() {
        Ok(salesflow_core::Delimiter::Byte(byte)) => Ok(byte),
        Ok(salesflow_core::Delimiter::Whitespace) => Err(UsageError(
            "--delimiter whitespace does not apply to imports: give one character, or `tab`".into(),
        )
        .into()),
        Err(error) => Err(UsageError(format!("--delimiter: {error}")).into()),
    }
}

pub fn run_import(global: &Global, args: ImportArgs) -> Result<ExitCode> {
    let runtime = super::runtime()?;
    let store = args.db.open(&runtime)?;
    let system = Actor::system();
    if let Some(import_id) = &args.undo {
        let (deleted, restored) = runtime.block_on(store.undo_import(&system, import_id))?;
        print_stdout(&format!(
            "undid import {import_id}: deleted {deleted} created records, restored {restored} updated ones"
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(file), Some(kind)) = (&args.file, &args.kind) else {
        return Err(UsageError("give the FILE to import and its --kind".into()).into());
    };
    let mut options = ImportOptions::new(kind, &file.display().to_string());
    options.mode = ImportMode::parse(&args.mode)?;
    options.key = args.key.clone();
    options.dry_run = args.dry_run;
    options.delimiter = parse_delimiter(&args.delimiter)?;
    if let Some(map) = &args.map {
        options.mapping = read_map(map)?;
    }
    let reader =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let bars = Bars::new(global.quiet);
    let started = std::time::Instant::now();
    let report = runtime.block_on(store.import(
        &system,
        &options,
        std::io::BufReader::with_capacity(1 << 20, reader),
        &bars,
    ))?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(path) = &args.report {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        print_stdout(&serde_json::to_string_pretty(&report)?)?;
    } else {
        print_stdout(&describe(&report, file, seconds))?;
    }
    runtime.block_on(store.close());
    Ok(if report.error_count > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The report in a few lines: what happened, the mapping, the first errors with the fix.
fn describe(report: &ImportReport, file: &Path, seconds: f64) -> String {
    let mut text = String::new();
    let mapped: Vec<String> = report
        .columns
        .iter()
        .map(|c| match &c.field {
            Some(field) if *field == c.column => field.clone(),
            Some(field) => format!("{} → {field}", c.column),
            None => format!("{} (ignored)", c.column),
        })
        .collect();
    text.push_str(&format!("columns: {}\n", mapped.join(", ")));
    if report.error_count > 0 {
        text.push_str(&format!(
            "{}: {} of {} rows cannot be imported, so nothing was written:\n",
            file.display(),
            report.error_count,
            report.rows
        ));
        for error in report.errors.iter().take(20) {
            let column = error
                .column
                .as_ref()
                .map_or(String::new(), |c| format!(", column {c:?}"));
            text.push_str(&format!(
                "  {}:{}{column}: {}\n",
                file.display(),
                error.line,
                error.message
            ));
        }
        if report.error_count > 20 {
            text.push_str(&format!(
                "  ... and {} more (--report FILE lists them all)\n",
                report.error_count - 20
            ));
        }
        text.push_str("fix those rows (or their mapping) and run the import again");
        return text;
    }
    let verb = if report.dry_run {
        "would create"
    } else {
        "created"
    };
    let update_verb = if report.dry_run {
        "would update"
    } else {
        "updated"
    };
    text.push_str(&format!(
        "{}: {} rows: {verb} {} {}, {update_verb} {}, {} unchanged ({seconds:.1} s)",
        file.display(),
        report.rows,
        report.created,
        report.entity,
        report.updated,
        report.unchanged
    ));
    if let Some(id) = &report.import_id {
        text.push_str(&format!(
            "\nimport {id}: undo with `salesflow import --undo {id}`"
        ));
    }
    text
}

#[derive(Debug, clap::Args)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
    #[command(flatten)]
    db: DbFlag,
}

#[derive(Debug, clap::Subcommand)]
enum UserCommand {
    /// Create a user; prints a one-time password unless --password-stdin gives one.
    Create {
        /// Login e-mail.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// admin, manager, sales or analyst.
        #[arg(long, value_parser = ["admin", "manager", "sales", "analyst"])]
        role: String,
        /// The team (created when new); sales users see their team's records.
        #[arg(long)]
        team: Option<String>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the users.
    List,
}

pub fn run_user(_global: &Global, args: UserArgs) -> Result<ExitCode> {
    let runtime = super::runtime()?;
    let store = args.db.open(&runtime)?;
    let system = Actor::system();
    match args.command {
        UserCommand::Create {
            email,
            name,
            role,
            team,
            password_stdin,
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let (user, generated) = runtime.block_on(async {
                let team_id = match &team {
                    Some(team) => Some(store.ensure_team(&system, team).await?),
                    None => None,
                };
                store
                    .create_user(
                        &system,
                        &email,
                        &name,
                        Role::parse(&role)?,
                        team_id.as_deref(),
                        password.as_deref(),
                    )
                    .await
            })?;
            print_stdout(&format!(
                "created {} ({}) id {}",
                user.email,
                user.role.as_str(),
                user.id
            ))?;
            if let Some(password) = generated {
                print_stdout(&format!("one-time password (shown once): {password}"))?;
            }
        }
        UserCommand::List => {
            for user in runtime.block_on(store.users(&system))? {
                print_stdout(&format!(
                    "{}\t{}\t{}\t{}\t{}",
                    user.id,
                    user.email,
                    user.role.as_str(),
                    user.team_id.as_deref().unwrap_or("-"),
                    if user.active { "active" } else { "inactive" }
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
    #[command(flatten)]
    db: DbFlag,
}

#[derive(Debug, clap::Subcommand)]
enum TokenCommand {
    /// Issue an API token (shown once; only its hash is kept).
    Create {
        /// The user's e-mail.
        #[arg(long)]
        user: String,
        /// What it may do: read, write, import, admin (comma-separated).
        #[arg(long, default_value = "read")]
        scopes: String,
        /// A name to recognise it by.
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// Revoke a token by its id; it stops working at once.
    Revoke {
        /// The token's id.
        id: String,
    },
}

pub fn run_token(_global: &Global, args: TokenArgs) -> Result<ExitCode> {
    let runtime = super::runtime()?;
    let store = args.db.open(&runtime)?;
    let system = Actor::system();
    match args.command {
        TokenCommand::Create { user, scopes, name } => {
            let scopes = scopes
                .split(',')
                .map(Scope::parse)
                .collect::<salesflow_store::Result<Vec<_>>>()?;
            let issued = runtime.block_on(async {
                let user = store.user_by_email(&user).await?;
                store.create_token(&system, &user.id, &name, &scopes).await
            })?;
            print_stdout(&format!(
                "token id {} (revoke with `salesflow token revoke {}`)",
                issued.id, issued.id
            ))?;
            print_stdout(&format!("token (shown once): {}", issued.token))?;
        }
        TokenCommand::Revoke { id } => {
            runtime.block_on(store.revoke_token(&system, &id))?;
            print_stdout(&format!("revoked token {id}"))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: std::net::SocketAddr,
    #[command(flatten)]
    db: DbFlag,
}

pub fn run_serve(_global: &Global, args: ServeArgs) -> Result<ExitCode> {
    let runtime = super::runtime()?;
    let store = args.db.open(&runtime)?;
    if let Some((user, password)) = runtime.block_on(store.ensure_admin())? {
        print_stdout(&format!(
            "first start: created the admin {} with the one-time password {password}\n(log in with POST /api/v1/auth/login, or issue a token: salesflow token create --user {} --scopes read,write,import,admin)",
            user.email, user.email
        ))?;
    }
    print_stdout(&format!(
        "salesflow API on http://{}/api/v1 (OpenAPI: /api/v1/openapi.json)",
        args.bind
    ))?;
    runtime
        .block_on(salesflow_server::serve(store, args.bind))
        .with_context(|| format!("cannot serve on {}", args.bind))?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// customers or companies.
    #[arg(long, value_parser = ["customers", "companies"])]
    kind: String,
    /// The record to keep.
    survivor: Option<String>,
    /// The duplicate merged into it and deleted.
    duplicate: Option<String>,
    /// List the groups that look like duplicates (same e-mail, or same domain) instead.
    #[arg(long, conflicts_with_all = ["survivor", "duplicate"])]
    list: bool,
    #[command(flatten)]
    db: DbFlag,
}

pub fn run_merge(_global: &Global, args: MergeArgs) -> Result<ExitCode> {
    let runtime = super::runtime()?;
    let store = args.db.open(&runtime)?;
    let system = Actor::system();
    if args.list {
        for group in runtime.block_on(store.duplicate_groups(&system, &args.kind))? {
            print_stdout(&group.join("\t"))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(survivor), Some(duplicate)) = (&args.survivor, &args.duplicate) else {
        return Err(UsageError("give SURVIVOR and DUPLICATE ids, or --list".into()).into());
    };
    let report = runtime.block_on(store.merge(&system, &args.kind, survivor, duplicate))?;
    let moved: Vec<String> = report
        .moved
        .iter()
        .map(|(what, count)| format!("{count} {what}"))
        .collect();
    print_stdout(&format!(
        "merged {duplicate} into {survivor}: moved {}; filled {}",
        if moved.is_empty() {
            "nothing".to_string()
        } else {
            moved.join(", ")
        },
        if report.filled.is_empty() {
            "no fields".to_string()
        } else {
            report.filled.join(", ")
        }
    ))?;
    Ok(ExitCode::SUCCESS)
}
