//! A program run in a real terminal: a detached tmux session on its own tmux server (its
//! own socket in a temporary directory, so a developer's sessions are never touched and
//! nothing is left behind), keys sent with `send-keys`, the screen read with
//! `capture-pane`.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// One detached tmux session running one command.
#[derive(Debug)]
pub struct Tmux {
    /// Holds the server's socket; removed with it.
    dir: tempfile::TempDir,
}

impl Tmux {
    /// Starts `command` (a shell command line) in a `width` x `height` terminal. Panics
    /// with what to install when tmux is missing: the console tests are never skipped.
    pub fn start(command: &str, width: u16, height: u16) -> Tmux {
        let tmux = Tmux {
            dir: tempfile::tempdir().expect("tempdir for the tmux socket"),
        };
        // The pane stays after the program exits, saying how it ended, so a failure shows
        // the program's last words instead of an empty screen.
        let script = format!("{command}; echo \"[exited with $?]\"; sleep 3600");
        let output = tmux.run(&[
            "new-session",
            "-d",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "sh",
            "-c",
            &script,
        ]);
        assert!(
            output.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(self.dir.path().join("tmux.sock"))
            .args(args)
            .env_remove("TMUX")
            .output()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot run tmux ({error}): the console's end-to-end tests need it \
                     (Debian/Ubuntu: apt-get install tmux)"
                )
            })
    }

    /// Sends keys as tmux names them (`j`, `Space`, `Escape`, `Enter`, `C-c`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "0"];
        args.extend_from_slice(keys);
        let output = self.run(&args);
        assert!(output.status.success(), "tmux send-keys {keys:?} failed");
    }

    /// Types `text` literally.
    pub fn type_text(&self, text: &str) {
        let output = self.run(&["send-keys", "-t", "0", "-l", text]);
        assert!(output.status.success(), "tmux send-keys -l {text:?} failed");
    }

    /// The screen as text, one line per row.
    pub fn screen(&self) -> String {
        let output = self.run(&["capture-pane", "-p", "-t", "0"]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A tmux format expanded for the pane (`#{alternate_on}`, `#{cursor_flag}`...): the
    /// terminal's modes as the program left them.
    pub fn pane_format(&self, format: &str) -> String {
        let output = self.run(&["display-message", "-p", "-t", "0", format]);
        assert!(
            output.status.success(),
            "tmux display-message {format:?} failed"
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Waits up to `patience` until the screen satisfies `check`; returns that screen, or
    /// panics with `what` and the last screen.
    pub fn wait_for(&self, what: &str, patience: Duration, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + patience;
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {patience:?} waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}
