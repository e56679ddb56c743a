//! `reach audit --account ID [--since T] [--until T] [--format jsonl|csv]`: an account's audit
//! log on standard output, oldest first, the entries `Account.auditLog` shows Support (issue 20).
//!
//! It streams: a page of [`PAGE`] entries is read, written and let go before the next, so memory
//! stays the same for ten entries or ten million. On a terminal a progress bar counts them on
//! standard error.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, ValueEnum};
use entity::event::Logged;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    graphql::audit::subject_id,
    service::{
        audit::{self, ActorKind, Filter, Mark, Scope, Window},
        directory,
    },
};

/// Entries read per statement.
const PAGE: u64 = 500;

/// `reach audit`'s arguments.
#[derive(Args, Debug)]
pub struct AuditArgs {
    /// The account: its id as the API shows it, or the bare UUID.
    #[arg(long)]
    account: String,
    /// Only changes made at or after this time (RFC 3339, e.g. `2026-12-01T00:00:00Z`).
    #[arg(long)]
    since: Option<DateTime<Utc>>,
    /// Only changes made before this time (RFC 3339).
    #[arg(long)]
    until: Option<DateTime<Utc>>,
    /// One JSON object per line, or CSV with a header row.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    format: Format,
}

impl AuditArgs {
    /// The account as given.
    pub fn account(&self) -> &str {
        &self.account
    }
}

/// How entries are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// JSON Lines: one object per entry.
    Jsonl,
    /// CSV (RFC 4180) with a header row.
    Csv,
}

/// The CSV header.
const COLUMNS: [&str; 10] = [
    "event_id",
    "occurred_at",
    "kind",
    "actor_kind",
    "actor",
    "actor_id",
    "subject_type",
    "subject_id",
    "changes",
    "data",
];

/// Writes the account's entries to `out`; returns how many.
pub async fn export(db: &DatabaseConnection, account: Uuid, args: &AuditArgs, out: impl Write) -> anyhow::Result<u64> {
    if directory::accounts_by_id(db, &[account]).await?.is_empty() {
        anyhow::bail!("no account has the id {}", args.account);
    }
    let filter = Filter {
        since: args.since,
        until: args.until,
        ..Filter::default()
    };
    let total = audit::count(db, account, &Scope::All, &filter).await?;
    let bar = progress(total);
    let mut writer = Writer::new(args.format, out)?;
    let mut last: Option<Mark> = None;
    let (mut written, mut skipped) = (0, 0);
    loop {
        let window = Window {
            limit: PAGE,
            older_than: None,
            newer_than: last,
            newest_first: false,
        };
        let rows = audit::rows(db, account, &Scope::All, &filter, window).await?;
        let Some(tail) = rows.last() else { break };
        let next = Mark::of(tail);
        // Each page starts past the last one's end: a place that did not move would repeat it.
        if last.is_some_and(|l| (l.occurred_at, l.position) >= (next.occurred_at, next.position)) {
            anyhow::bail!("the log's order did not move on after {written} entries; stopping rather than repeat them");
        }
        last = Some(next);
        let read = rows.len() as u64;
        let entries: Vec<Logged> = rows.into_iter().filter_map(audit::decoded).collect();
        skipped += read - entries.len() as u64;
        let names = actor_names(db, &entries).await?;
        for entry in &entries {
            writer.write(entry, &names)?;
        }
        writer.flush()?;
        written += entries.len() as u64;
        bar.inc(read);
        if read < PAGE {
            break;
        }
    }
    if skipped > 0 {
        eprintln!("{skipped} entries of event types this version cannot show were left out");
    }
    bar.finish_and_clear();
    Ok(written)
}

/// A bar on standard error when it is a terminal; hidden otherwise.
fn progress(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} entries {elapsed_precise}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The names of the users among a page's actors, in one read.
async fn actor_names(
    db: &DatabaseConnection,
    entries: &[Logged],
) -> anyhow::Result<std::collections::HashMap<Uuid, String>> {
    let mut ids: Vec<Uuid> = (entries.iter()).filter_map(|e| audit::actor(&e.actor).1.ok()).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let users = directory::users_by_id(db, &ids).await?;
    Ok(users.into_iter().map(|(id, u)| (id, u.name)).collect())
}

/// An entry's actor: its kind, its name, and a user's id.
fn actor_of(entry: &Logged, names: &std::collections::HashMap<Uuid, String>) -> (&'static str, String, Option<Uuid>) {
    let (kind, who) = audit::actor(&entry.actor);
    let kind_name = match kind {
        ActorKind::User => "user",
        ActorKind::Support => "support",
        ActorKind::System => "system",
    };
    match who {
        Ok(id) => (
            kind_name,
            names.get(&id).cloned().unwrap_or_else(|| "a removed user".to_owned()),
            Some(id),
        ),
        Err(name) => (kind_name, name.to_owned(), None),
    }
}

/// Writes entries in one format.
enum Writer<W: Write> {
    Jsonl(std::io::BufWriter<W>),
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> Writer<W> {
    fn new(format: Format, out: W) -> anyhow::Result<Self> {
        Ok(match format {
            Format::Jsonl => Self::Jsonl(std::io::BufWriter::new(out)),
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(out);
                csv.write_record(COLUMNS)?;
                Self::Csv(Box::new(csv))
            }
        })
    }

    fn write(&mut self, entry: &Logged, names: &std::collections::HashMap<Uuid, String>) -> anyhow::Result<()> {
        let (actor_kind, actor, actor_id) = actor_of(entry, names);
        let at = entry.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true);
        let subject = subject_id(&entry.event, entry.aggregate_id).0;
        let changes = audit::changes(&entry.event);
        let data = audit::redacted(&entry.event.payload());
        match self {
            Self::Jsonl(out) => {
                let changes: Vec<Value> = (changes.iter())
                    .map(|c| json!({"field": c.field, "oldValue": c.old, "newValue": c.new}))
                    .collect();
                let line = json!({
                    "eventId": entry.id,
                    "occurredAt": at,
                    "kind": entry.event.kind(),
                    "actor": {"kind": actor_kind, "name": actor, "userId": actor_id},
                    "subjectType": entry.event.aggregate_type(),
                    "subjectId": subject,
                    "changes": changes,
                    "data": data,
                });
                serde_json::to_writer(&mut *out, &line)?;
                out.write_all(b"\n")?;
            }
            Self::Csv(out) => {
                let changes: Vec<String> = (changes.iter())
                    .map(|c| {
                        format!(
                            "{}: {} -> {}",
                            c.field,
                            c.old.as_deref().unwrap_or("(none)"),
                            c.new.as_deref().unwrap_or("(none)")
                        )
                    })
                    .collect();
                let record = [
                    entry.id.to_string(),
                    at,
                    entry.event.kind().to_owned(),
                    actor_kind.to_owned(),
                    actor,
                    actor_id.map(|id| id.to_string()).unwrap_or_default(),
                    entry.event.aggregate_type().to_owned(),
                    subject.to_string(),
                    changes.join("; "),
                    data.to_string(),
                ];
                out.write_record(record.iter().map(|cell| inert(cell).into_owned()))?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        match self {
            Self::Jsonl(out) => out.flush()?,
            Self::Csv(out) => out.flush()?,
        }
        Ok(())
    }
}

/// A CSV cell a spreadsheet will not run as a formula: a cell that starts with `=`, `+`, `-`,
/// `@`, a tab or a carriage return (names and changes are users' text) gets a leading `'`, as
/// OWASP's advice on CSV injection has it.
fn inert(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_made_inert() {
        assert_eq!(inert("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(inert("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(inert("Hanna"), "Hanna");
        assert_eq!(inert(""), "");
    }
}
