//! The command line: no subcommand opens the console; the subcommands are for scripts.
//! Each sends one request, prints the answer (text, or JSON with `--json`) and exits
//! with a code scripts can rely on (see [`EXIT_CODES`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use plumb_common::protocol::{
    DeadLetterDetail, DeadLetterQuery, DeadLetterSelection, Request, RequestErrorKind, Response,
    StatusSnapshot,
};
use plumb_common::{FlowKind, JobId, Timestamp};

use crate::app::{describe, error_text};
use crate::client::{ClientError, Connection, DEFAULT_SOCKET};
use crate::ui::format::{ago, count};

/// The exit codes, as `plumb --help` prints them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  done
  1  the agent refused or failed the request (not found, bad request, unavailable),
     a retry/discard matched no dead letter, or (parity --below) a dimension is below
  2  usage error (bad arguments, discard without --yes)
  3  cannot reach the agent (no socket, handshake refused, connection lost)
  4  refused: the session is read-only";

/// Exit code: done.
pub const EXIT_OK: u8 = 0;
/// Exit code: the agent refused or failed the request, or nothing matched.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: usage error (also clap's own).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the agent cannot be reached.
pub const EXIT_UNREACHABLE: u8 = 3;
/// Exit code: refused because the session is read-only.
pub const EXIT_READ_ONLY: u8 = 4;

/// `plumb`: the Plumb console, and subcommands for scripts.
#[derive(Debug, Parser)]
#[command(
    name = "plumb",
    version,
    about = "plumb: the Plumb console (without a subcommand) and scripting CLI.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// The agent's control socket.
    #[arg(long, env = "PLUMB_SOCKET", default_value = DEFAULT_SOCKET, global = true)]
    pub socket: PathBuf,
    /// Refuse every mutation (the console hides mutating keys; the agent refuses them too).
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Write the console's own log (tracing) to this file; nothing goes to the screen.
    #[arg(long, env = "PLUMB_LOG", global = true)]
    pub log: Option<PathBuf>,
    /// Without a subcommand, the interactive console opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The scripting subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every flow's state and counters.
    Status {
        /// Print the agent's snapshot as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Dead letters: list, show, retry, discard.
    Dlq {
        /// What to do.
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Stop running a flow's jobs (they are still accepted and stored).
    Pause {
        /// The flow (orders, refunds, inventory, fulfilment, products, reconcile).
        flow: FlowKind,
    },
    /// Run a paused flow's jobs again.
    Resume {
        /// The flow.
        flow: FlowKind,
    },
    /// Queue a reconciliation run.
    Reconcile {
        /// Only report what would be repaired.
        #[arg(long)]
        dry_run: bool,
    },
    /// The latest reconciliation report of each dimension.
    Parity {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Exit 1 when a dimension's parity is below this percentage (for monitoring).
        #[arg(long, value_name = "PERCENT")]
        below: Option<f64>,
    },
}

/// `plumb dlq ...`.
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Dead letters, newest first, and their counts by cause.
    List {
        /// Only this flow.
        #[arg(long)]
        flow: Option<FlowKind>,
        /// Only this cause.
        #[arg(long)]
        cause: Option<String>,
        /// At most this many (the agent caps it at 1000).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One dead letter with its payload.
    Show {
        /// The dead job's id.
        id: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Put dead letters back on the queue, due now.
    Retry(Selection),
    /// Remove dead letters for good (the agent keeps an audit record).
    Discard {
        /// Which.
        #[command(flatten)]
        selection: Selection,
        /// Confirm: discarding cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

/// Which dead letters: ids, or every one matching `--flow`/`--cause`, or `--all`.
#[derive(Debug, Args)]
pub struct Selection {
    /// Dead job ids.
    #[arg(conflicts_with_all = ["flow", "cause", "all"])]
    pub ids: Vec<u64>,
    /// Every dead letter of this flow.
    #[arg(long)]
    pub flow: Option<FlowKind>,
    /// Every dead letter with this cause.
    #[arg(long)]
    pub cause: Option<String>,
    /// Every dead letter.
    #[arg(long, conflicts_with_all = ["flow", "cause"])]
    pub all: bool,
}

impl Selection {
    /// The protocol's selection, or `None` when nothing was named.
    fn to_protocol(&self) -> Option<DeadLetterSelection> {
        if !self.ids.is_empty() {
            return Some(DeadLetterSelection::Ids {
                ids: self.ids.iter().copied().map(JobId).collect(),
            });
        }
        if self.all || self.flow.is_some() || self.cause.is_some() {
            return Some(DeadLetterSelection::Matching {
                flow: self.flow,
                cause: self.cause.clone(),
            });
        }
        None
    }
}

/// Runs one subcommand against the agent at `socket`; returns the exit code. The answer
/// goes to `out`, failures to `err`.
pub async fn run(
    command: &Command,
    socket: &Path,
    read_only: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let request = match request_for(command) {
        Ok(request) => request,
        Err(message) => {
            let _ = writeln!(err, "plumb: {message}");
            return EXIT_USAGE;
        }
    };
    let what = describe(&request);
    let answer = match send(socket, read_only, request).await {
        Ok(answer) => answer,
        Err(error) => {
            let _ = writeln!(err, "plumb: {error}");
            return EXIT_UNREACHABLE;
        }
    };
    let response = match answer {
        Ok(response) => response,
        Err(error) => {
            let _ = writeln!(err, "plumb: {what}: {}", error_text(&error));
            return match error.kind {
                RequestErrorKind::ReadOnly => EXIT_READ_ONLY,
                _ => EXIT_FAILED,
            };
        }
    };
    let json = matches!(
        command,
        Command::Status { json: true }
            | Command::Parity { json: true, .. }
            | Command::Dlq {
                command: DlqCommand::List { json: true, .. } | DlqCommand::Show { json: true, .. },
            }
    );
    let written = if json {
        print_json(out, &response)
    } else {
        print_text(out, &response)
    };
    if let Err(error) = written {
        let _ = writeln!(err, "plumb: cannot write the answer: {error}");
        return EXIT_FAILED;
    }
    match (response, command) {
        (Response::Affected { count: 0 }, _) => {
            let _ = writeln!(err, "plumb: {what}: no dead letter matched");
            EXIT_FAILED
        }
        (
            Response::ParityLatest { dimensions },
            Command::Parity {
                below: Some(floor), ..
            },
        ) => {
            let low: Vec<String> = dimensions
                .iter()
                .filter(|d| d.parity.parity_percent < *floor)
                .map(|d| format!("{} {:.2} %", d.parity.dimension, d.parity.parity_percent))
                .collect();
            if low.is_empty() {
                EXIT_OK
            } else {
                let _ = writeln!(err, "plumb: parity below {floor} %: {}", low.join(", "));
                EXIT_FAILED
            }
        }
        _ => EXIT_OK,
    }
}

fn request_for(command: &Command) -> Result<Request, String> {
    Ok(match command {
        Command::Status { .. } => Request::Status,
        Command::Pause { flow } => Request::Pause { flow: *flow },
        Command::Resume { flow } => Request::Resume { flow: *flow },
        Command::Reconcile { dry_run } => Request::Reconcile { dry_run: *dry_run },
        Command::Parity { .. } => Request::ParityLatest,
        Command::Dlq { command } => match command {
            DlqCommand::List {
                flow, cause, limit, ..
            } => Request::ListDeadLetters(DeadLetterQuery {
                flow: *flow,
                cause: cause.clone(),
                before: None,
                limit: *limit,
            }),
            DlqCommand::Show { id, .. } => Request::ShowDeadLetter { id: JobId(*id) },
            DlqCommand::Retry(selection) => Request::RetryDeadLetters {
                selection: selection
                    .to_protocol()
                    .ok_or("name dead letters: ids, --flow/--cause, or --all")?,
            },
            DlqCommand::Discard { selection, yes } => {
                let selection = selection
                    .to_protocol()
                    .ok_or("name dead letters: ids, --flow/--cause, or --all")?;
                if !yes {
                    return Err("discarding cannot be undone: add --yes".into());
                }
                Request::DiscardDeadLetters { selection }
            }
        },
    })
}

async fn send(
    socket: &Path,
    read_only: bool,
    request: Request,
) -> Result<Result<Response, plumb_common::protocol::RequestError>, ClientError> {
    let mut connection = Connection::connect(socket, read_only).await?;
    connection.request(request).await
}

fn print_json(out: &mut dyn Write, response: &Response) -> std::io::Result<()> {
    let text = match response {
        Response::Status(snapshot) => serde_json::to_string_pretty(snapshot),
        Response::DeadLetters(page) => serde_json::to_string_pretty(page),
        Response::DeadLetter(detail) => serde_json::to_string_pretty(detail),
        other => serde_json::to_string_pretty(other),
    }
    .map_err(std::io::Error::other)?;
    writeln!(out, "{text}")
}

fn print_text(out: &mut dyn Write, response: &Response) -> std::io::Result<()> {
    match response {
        Response::Status(snapshot) => print_status(out, snapshot, Timestamp::now()),
        Response::DeadLetters(page) => {
            for cause in &page.causes {
                writeln!(out, "# {} {}: {}", cause.flow, cause.cause, cause.count)?;
            }
            writeln!(
                out,
                "{:<8} {:<10} {:<20} {:>5} {:<24} MESSAGE",
                "ID", "FLOW", "CAUSE", "TRIES", "LAST FAILED"
            )?;
            for letter in &page.page.items {
                writeln!(
                    out,
                    "{:<8} {:<10} {:<20} {:>5} {:<24} {}",
                    letter.id,
                    letter.flow,
                    letter.cause,
                    letter.attempts,
                    letter.last_failed_at,
                    letter.message
                )?;
            }
            Ok(())
        }
        Response::DeadLetter(detail) => print_detail(out, detail),
        Response::Affected { count } => writeln!(out, "{count}"),
        Response::Flow { flow, paused_since } => match paused_since {
            Some(since) => writeln!(out, "{flow} paused since {since}"),
            None => writeln!(out, "{flow} running"),
        },
        Response::Queued { job } => writeln!(out, "queued as job {job}"),
        Response::Jobs(page) => {
            for job in &page.items {
                writeln!(out, "{} {} {}", job.id, job.flow, job.state)?;
            }
            Ok(())
        }
        Response::Inventory(page) => writeln!(out, "{} rows", page.items.len()),
        Response::ParityLatest { dimensions } => print_parity(out, dimensions),
        Response::ParityRuns(page) => writeln!(out, "{} runs", page.items.len()),
        Response::Mismatches(page) => writeln!(out, "{} mismatches", page.items.len()),
    }
}

/// The latest report per dimension as a table.
fn print_parity(
    out: &mut dyn Write,
    dimensions: &[plumb_common::protocol::LatestParity],
) -> std::io::Result<()> {
    if dimensions.is_empty() {
        return writeln!(out, "no reconciliation run has finished yet");
    }
    writeln!(
        out,
        "{:<10} {:>8} {:>9} {:>10} {:>6} {:<24} KINDS",
        "DIMENSION", "PARITY", "CHECKED", "MISMATCHED", "RUN", "AT"
    )?;
    for latest in dimensions {
        let p = &latest.parity;
        let kinds: Vec<String> = p
            .kinds
            .iter()
            .map(|k| format!("{}={}", k.kind, k.count))
            .collect();
        writeln!(
            out,
            "{:<10} {:>7.2}% {:>9} {:>10} {:>6} {:<24} {}",
            p.dimension.as_str(),
            p.parity_percent,
            p.checked,
            p.mismatched,
            latest.run,
            latest.at.to_string(),
            kinds.join(" ")
        )?;
    }
    Ok(())
}

/// The status as a table, ages against `now`.
pub fn print_status(
    out: &mut dyn Write,
    snapshot: &StatusSnapshot,
    now: Timestamp,
) -> std::io::Result<()> {
    writeln!(
        out,
        "plumbd {} up since {} · dead letters {} of {}",
        snapshot.agent_version,
        snapshot.started_at,
        count(snapshot.dead_letters),
        count(snapshot.dead_letter_bound)
    )?;
    writeln!(
        out,
        "{:<11} {:<8} {:>8} {:>9} {:>7} {:>9} {:>8} {:>6} {:>9}  LAST ERROR",
        "FLOW",
        "STATE",
        "PENDING",
        "IN-FLIGHT",
        "OLDEST",
        "DONE/MIN",
        "FAIL/MIN",
        "DEAD",
        "LAST OK"
    )?;
    for flow in &snapshot.flows {
        writeln!(
            out,
            "{:<11} {:<8} {:>8} {:>9} {:>7} {:>9} {:>8} {:>6} {:>9}  {}",
            flow.flow.as_str(),
            if flow.paused_since.is_some() {
                "paused"
            } else {
                "running"
            },
            flow.pending,
            flow.in_flight,
            ago(now, flow.oldest_pending),
            flow.completed_last_minute,
            flow.failed_last_minute,
            flow.dead,
            ago(now, flow.last_success),
            flow.last_error.as_ref().map_or("-", |e| e.message.as_str())
        )?;
    }
    Ok(())
}

fn print_detail(out: &mut dyn Write, detail: &DeadLetterDetail) -> std::io::Result<()> {
    let letter = &detail.summary;
    writeln!(out, "id:           {}", letter.id)?;
    writeln!(out, "flow:         {}", letter.flow)?;
    writeln!(out, "cause:        {} ({})", letter.cause, letter.class)?;
    writeln!(out, "attempts:     {}", letter.attempts)?;
    writeln!(out, "created:      {}", letter.created_at)?;
    writeln!(out, "first failed: {}", letter.first_failed_at)?;
    writeln!(out, "last failed:  {}", letter.last_failed_at)?;
    writeln!(out, "error:        {}", letter.message)?;
    writeln!(
        out,
        "payload:      {} ({} bytes)",
        detail.payload_kind, detail.payload_bytes
    )?;
    writeln!(out, "{}", detail.payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("plumb").chain(args.iter().copied()))
    }

    #[test]
    fn subcommands_parse_into_requests() {
        let cli = parse(&["dlq", "retry", "4", "5"]).expect("parse");
        let Some(command) = &cli.command else {
            panic!("no command")
        };
        assert_eq!(
            request_for(command),
            Ok(Request::RetryDeadLetters {
                selection: DeadLetterSelection::Ids {
                    ids: vec![JobId(4), JobId(5)]
                }
            })
        );
        let cli = parse(&["pause", "orders"]).expect("parse");
        let Some(command) = &cli.command else {
            panic!("no command")
        };
        assert_eq!(
            request_for(command),
            Ok(Request::Pause {
                flow: FlowKind::Orders
            })
        );
        let cli = parse(&["dlq", "discard", "--cause", "unknown_sku"]).expect("parse");
        let Some(command) = &cli.command else {
            panic!("no command")
        };
        assert!(request_for(command).is_err(), "discard needs --yes");
        let cli = parse(&["dlq", "retry"]).expect("parse");
        let Some(command) = &cli.command else {
            panic!("no command")
        };
        assert!(request_for(command).is_err(), "retry needs a selection");
    }

    #[test]
    fn usage_errors_exit_2() {
        let error = parse(&["pause", "nonsense"]).expect_err("unknown flow");
        assert_eq!(error.exit_code(), i32::from(EXIT_USAGE));
        let error = parse(&["dlq", "retry", "4", "--all"]).expect_err("conflict");
        assert_eq!(error.exit_code(), i32::from(EXIT_USAGE));
    }

    #[tokio::test]
    async fn an_absent_agent_exits_3() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(
            &Command::Status { json: false },
            &dir.path().join("none.sock"),
            false,
            &mut out,
            &mut err,
        )
        .await;
        assert_eq!(code, EXIT_UNREACHABLE);
        assert!(String::from_utf8_lossy(&err).contains("cannot connect"));
    }

    #[test]
    fn parity_prints_one_line_per_dimension() {
        let mut out = Vec::new();
        print_parity(&mut out, &crate::sample::parity_latest()).expect("write");
        let text = String::from_utf8_lossy(&out);
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.contains("catalog      97.50%"), "{text}");
        assert!(text.contains("erp_only=1"), "{text}");
        let cli = parse(&["parity", "--below", "99.5"]).expect("parse");
        assert!(matches!(
            cli.command,
            Some(Command::Parity {
                below: Some(_),
                json: false
            })
        ));
    }

    #[test]
    fn status_prints_one_line_per_flow() {
        let mut out = Vec::new();
        print_status(&mut out, &crate::sample::status(), crate::sample::NOW).expect("write");
        let text = String::from_utf8_lossy(&out);
        assert_eq!(text.lines().count(), 2 + FlowKind::ALL.len());
        assert!(text.contains("inventory   paused"), "{text}");
    }
}
