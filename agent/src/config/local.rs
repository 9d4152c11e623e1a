//! The sections about the agent itself: `[agent]`, `[control]` and `[queue]`. Each has a
//! `Default` that is exactly what an absent section means, and the readers start from it,
//! so a default is written once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Value;

use super::reader::{Parse, Reader, mismatch};
use super::secret::SecretSource;
use super::values::{duration, duration_at_least, format_duration, integer, path, size, string};

/// `[agent]`: where the agent keeps its state and how it logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    /// The directory of the durable store.
    pub state_dir: PathBuf,
    /// Where daily log files go; `None`: log to stderr only (journald).
    pub log_dir: Option<PathBuf>,
    /// A tracing filter: a level or directives like "info,plumb_agent=debug".
    pub log_level: String,
    /// Worker threads of the async runtime.
    pub workers: usize,
    /// How long running jobs may finish after a stop request.
    pub shutdown_grace: Duration,
    /// Bytes of the store's page cache (redb's default, 1 GiB, would let a large catalogue
    /// grow the agent's memory to that).
    pub store_cache: usize,
}

/// The default `agent.store_cache`, 64 MiB.
const DEFAULT_STORE_CACHE: usize = 64 * 1024 * 1024;

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            state_dir: PathBuf::from("/var/lib/plumb"),
            log_dir: None,
            log_level: "info".to_owned(),
            workers: 4,
            shutdown_grace: Duration::from_secs(30),
            store_cache: DEFAULT_STORE_CACHE,
        }
    }
}

impl AgentConfig {
    /// The store file, `<state_dir>/plumb.redb`.
    pub fn store_path(&self) -> PathBuf {
        self.state_dir.join("plumb.redb")
    }

    pub(super) fn read(mut reader: Reader<'_>) -> Self {
        let default = AgentConfig::default();
        let config = AgentConfig {
            state_dir: reader.or("state_dir", default.state_dir, path),
            log_dir: reader.optional("log_dir", path),
            log_level: reader.or("log_level", default.log_level, log_filter),
            workers: reader.or("workers", default.workers, integer(1, 64)),
            shutdown_grace: reader.or("shutdown_grace", default.shutdown_grace, duration),
            store_cache: reader.or("store_cache", default.store_cache, store_cache),
        };
        reader.finish();
        config
    }
}

fn store_cache(value: Value) -> Parse<usize> {
    let bytes = size(value)?;
    let bytes = usize::try_from(bytes)
        .map_err(|_| format!("{bytes} bytes is more than this machine can address"))?;
    if bytes < 1_000_000 {
        return Err(format!(
            "too small: must be at least \"1MB\", got {bytes} bytes; \"64MiB\" suits 100,000 SKUs"
        ));
    }
    Ok(bytes)
}

/// `[control]`: the Unix socket `plumbctl` and the console talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlConfig {
    /// The socket path.
    pub socket: PathBuf,
    /// A group (gid) whose members may connect besides the agent's own user and root.
    pub group: Option<u32>,
    /// Connections served at once; more are refused.
    pub max_clients: usize,
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            socket: PathBuf::from("/run/plumb/plumbd.sock"),
            group: None,
            max_clients: 32,
        }
    }
}

impl ControlConfig {
    pub(super) fn read(mut reader: Reader<'_>, source: &dyn SecretSource) -> Self {
        let default = ControlConfig::default();
        let config = ControlConfig {
            socket: reader.or("socket", default.socket, path),
            group: reader.optional("group", |value| group(value, source)),
            max_clients: reader.or("max_clients", default.max_clients, integer(1, 1024)),
        };
        reader.finish();
        config
    }
}

/// `[queue]`: leases, retries and what the store keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// How long a claimed job is reserved before another worker may take it over.
    pub lease: Duration,
    /// The first retry delay; it doubles on each failure.
    pub backoff_base: Duration,
    /// The longest retry delay.
    pub backoff_cap: Duration,
    /// Dead letters kept; the oldest go first beyond that.
    pub max_dead_letters: u64,
    /// How long completed jobs stay in the ledger (duplicate detection, history).
    pub done_retention: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            lease: Duration::from_secs(60),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(600),
            max_dead_letters: 10_000,
            done_retention: Duration::from_secs(24 * 3600),
        }
    }
}

impl QueueConfig {
    pub(super) fn read(mut reader: Reader<'_>) -> Self {
        let default = QueueConfig::default();
        let lease_floor = duration_at_least(
            Duration::from_secs(1),
            "a shorter lease expires while the job still runs and another worker repeats it",
        );
        let config = QueueConfig {
            lease: reader.or("lease", default.lease, lease_floor),
            backoff_base: reader.or("backoff_base", default.backoff_base, duration),
            backoff_cap: reader.or("backoff_cap", default.backoff_cap, duration),
            max_dead_letters: reader.or(
                "max_dead_letters",
                default.max_dead_letters,
                integer(1, i64::MAX),
            ),
            done_retention: reader.or("done_retention", default.done_retention, duration),
        };
        if config.backoff_cap < config.backoff_base {
            let (cap, base) = (reader.key("backoff_cap"), reader.key("backoff_base"));
            let message = format!(
                "{cap} (\"{}\") is shorter than {base} (\"{}\"): raise {cap} or lower {base}",
                format_duration(config.backoff_cap),
                format_duration(config.backoff_base)
            );
            reader.report(cap, message);
        }
        reader.finish();
        config
    }
}

/// A tracing filter: non-empty, and only the characters levels and directives use.
fn log_filter(value: Value) -> Parse<String> {
    let text = string(value)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_=,:.-".contains(c);
    if text.chars().all(allowed) {
        Ok(text)
    } else {
        Err(format!(
            "expected a level (error, warn, info, debug, trace) or directives like \
             \"info,plumb_agent=debug\", got {text:?}"
        ))
    }
}

/// A gid, given as a number or as a group name looked up in `/etc/group` (so a typo shows
/// up in `check-config`, not as refused connections later). Groups from a directory service
/// (LDAP, sssd) are not in that file: give their gid.
fn group(value: Value, source: &dyn SecretSource) -> Parse<u32> {
    let name = match value {
        Value::Integer(gid) => return u32::try_from(gid).map_err(|_| gid_out_of_range(gid)),
        Value::String(name) => name,
        other => return Err(mismatch("a group name or a numeric gid", &other)),
    };
    if name.is_empty() {
        return Err("empty: give a group name or a numeric gid, or remove the key".to_owned());
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return name.parse().map_err(|_| gid_out_of_range(&name));
    }
    let etc_group = Path::new("/etc/group");
    let groups = source.read_file(etc_group).map_err(|error| {
        format!(
            "cannot read {} to look up group `{name}`: {error}: give its numeric gid instead",
            etc_group.display()
        )
    })?;
    groups
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            (fields.next() == Some(name.as_str()))
                .then(|| fields.nth(1))
                .flatten()
        })
        .and_then(|gid| gid.parse().ok())
        .ok_or_else(|| {
            format!(
                "no group `{name}` in /etc/group: create it (groupadd --system {name}) or give \
                 its numeric gid"
            )
        })
}

fn gid_out_of_range(gid: impl std::fmt::Display) -> String {
    format!(
        "gid {gid} is out of range: give a group name or a gid from 0 to {}",
        u32::MAX
    )
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    struct EtcGroup;

    impl SecretSource for EtcGroup {
        fn env(&self, _: &str) -> Option<String> {
            None
        }

        fn read_file(&self, _: &Path) -> io::Result<String> {
            Ok("root:x:0:\nplumb:x:990:alice,bob\n".to_owned())
        }
    }

    #[test]
    fn groups_are_names_or_gids() {
        assert_eq!(group(Value::String("plumb".into()), &EtcGroup), Ok(990));
        assert_eq!(group(Value::String("1001".into()), &EtcGroup), Ok(1001));
        assert_eq!(group(Value::Integer(0), &EtcGroup), Ok(0));
        let message = group(Value::String("plumbops".into()), &EtcGroup).expect_err("unknown");
        assert!(message.contains("no group `plumbops`"), "{message}");
        assert!(group(Value::Integer(-1), &EtcGroup).is_err());
    }

    #[test]
    fn log_filters_accept_levels_and_directives() {
        for good in ["info", "warn,plumb_agent::store=debug", "plumb_agent=trace"] {
            assert_eq!(log_filter(Value::String(good.into())), Ok(good.to_owned()));
        }
        for bad in ["", "info; rm -rf /", "debug plumb"] {
            assert!(log_filter(Value::String(bad.into())).is_err(), "{bad:?}");
        }
    }
}
