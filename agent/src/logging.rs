//! Logging: structured `tracing` to stderr (journald adds time and unit) and, when
//! `agent.log_dir` is set, to daily-rolled files written by a non-blocking background
//! thread, so a slow disk never stalls a worker.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::AgentConfig;

/// Why logging could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// The log directory could not be created.
    #[error("cannot create the log directory {path}: {source}")]
    LogDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// `agent.log_level` is not a valid filter.
    #[error("agent.log_level: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    /// A global subscriber was already set.
    #[error("logging was already initialised: {0}")]
    Init(#[from] tracing_subscriber::util::TryInitError),
}

/// Installs the global subscriber. Keep the guard alive until exit: dropping it flushes
/// the file writer.
pub fn init(agent: &AgentConfig) -> Result<Option<WorkerGuard>, LoggingError> {
    let filter = || EnvFilter::try_new(&agent.log_level);
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_filter(filter()?);
    let (file, guard) = match &agent.log_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| LoggingError::LogDir {
                path: dir.clone(),
                source,
            })?;
            let appender = tracing_appender::rolling::daily(dir, "plumbd.log");
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer = tracing_subscriber::fmt::layer()
                .json()
                .with_writer(writer)
                .with_filter(filter()?);
            (Some(layer), Some(guard))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init()?;
    Ok(guard)
}
