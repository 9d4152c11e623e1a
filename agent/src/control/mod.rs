//! The control server: the Unix socket the console and scripts talk to.
//!
//! The listener checks each peer's credentials (the agent's own uid, root, or a member of
//! the configured group) before a single byte is read, caps the number of clients, and
//! hands each connection to a [`session`]. Protocol types live in `plumb_common`; only
//! their handling lives here.

mod session;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;

use crate::clock::Clock;
use crate::shutdown::Shutdown;
use crate::store::Store;

/// Why the control socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Another process is listening on the socket already.
    #[error("{0} is in use by a running process (another plumbd?)")]
    InUse(PathBuf),
    /// Creating, binding or securing the socket failed.
    #[error("cannot set up the control socket {path}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Who may connect besides the agent's own user and root.
#[derive(Debug, Clone, Copy, Default)]
pub struct PeerPolicy {
    /// A group whose members may connect.
    pub group: Option<u32>,
}

/// Binds the control socket at `path` with mode 0660 (and the group, if given), replacing
/// a stale socket file left by a dead agent but never one that is still answering.
pub async fn bind(path: &Path, group: Option<u32>) -> Result<UnixListener, ControlError> {
    let io = |source| ControlError::Io {
        path: path.to_owned(),
        source,
    };
    if path.exists() {
        if UnixStream::connect(path).await.is_ok() {
            return Err(ControlError::InUse(path.to_owned()));
        }
        std::fs::remove_file(path).map_err(io)?;
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let listener = UnixListener::bind(path).map_err(io)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(io)?;
    if let Some(gid) = group {
        std::os::unix::fs::chown(path, None, Some(gid)).map_err(io)?;
    }
    Ok(listener)
}

/// What sessions share.
#[derive(Debug, Clone)]
pub struct ControlContext {
    /// The store.
    pub store: Store,
    /// The clock.
    pub clock: Clock,
    /// Who may connect.
    pub peers: PeerPolicy,
    /// The most clients at once.
    pub max_clients: usize,
}

/// Accepts connections until shutdown.
pub async fn serve(listener: UnixListener, context: ControlContext, mut shutdown: Shutdown) {
    let slots = Arc::new(Semaphore::new(context.max_clients));
    // Bumped by a session after a mutation, so every subscriber sees it now, not at the
    // next periodic statistics.
    let (changed, _) = tokio::sync::watch::channel(0u64);
    let own_uid = rustix::process::getuid().as_raw();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "control socket accept failed");
                    continue;
                }
            },
            () = shutdown.wait() => break,
        };
        let credentials = match stream.peer_cred() {
            Ok(credentials) => credentials,
            Err(error) => {
                tracing::warn!(%error, "cannot read a control client's credentials; refused");
                continue;
            }
        };
        let (uid, gid, pid) = (credentials.uid(), credentials.gid(), credentials.pid());
        if !peer_allowed(uid, gid, pid, own_uid, context.peers) {
            tracing::warn!(
                uid,
                gid,
                pid,
                "control client refused: not the agent's user, root or the configured group"
            );
            continue;
        }
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(
                uid,
                pid,
                max = context.max_clients,
                "control client refused: too many clients"
            );
            session::refuse(stream, "too many clients connected").await;
            continue;
        };
        let context = context.clone();
        let shutdown = shutdown.clone();
        let changed = changed.clone();
        tokio::spawn(async move {
            session::run(stream, context, changed, shutdown, uid, pid).await;
            drop(slot);
        });
    }
}

/// Whether a peer may use the socket: same user, root, or the configured group as primary
/// or supplementary group.
fn peer_allowed(uid: u32, gid: u32, pid: Option<i32>, own_uid: u32, policy: PeerPolicy) -> bool {
    if uid == own_uid || uid == 0 {
        return true;
    }
    let Some(group) = policy.group else {
        return false;
    };
    gid == group || pid.is_some_and(|pid| supplementary_groups(pid).contains(&group))
}

/// The supplementary groups of a process, from `/proc/<pid>/status`.
fn supplementary_groups(pid: i32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map(|status| groups_in_status(&status))
        .unwrap_or_default()
}

fn groups_in_status(status: &str) -> Vec<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Groups:"))
        .map(|groups| {
            groups
                .split_whitespace()
                .filter_map(|g| g.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_the_same_user_root_or_the_group() {
        let none = PeerPolicy::default();
        assert!(peer_allowed(1000, 1000, None, 1000, none));
        assert!(peer_allowed(0, 0, None, 1000, none));
        assert!(!peer_allowed(1001, 1001, None, 1000, none));
        let group = PeerPolicy { group: Some(500) };
        assert!(peer_allowed(1001, 500, None, 1000, group));
        assert!(!peer_allowed(1001, 501, None, 1000, group));
    }

    #[test]
    fn supplementary_groups_come_from_proc_status() {
        let status = "Name:\tplumb\nUid:\t1001\t1001\t1001\t1001\nGroups:\t4 24 500 \nNgid:\t0\n";
        assert_eq!(groups_in_status(status), [4, 24, 500]);
        assert_eq!(groups_in_status("Name:\tx\n"), Vec::<u32>::new());
    }
}
