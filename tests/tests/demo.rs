//! README's first command, `cargo run -p plumb-tests --bin plumb-demo`, without the
//! console: the sandbox, the ERP double, the real plumbd and the traffic generator come
//! up, orders go through, the bad payloads become dead letters, and everything stops.

use std::process::Command;

use plumb_tests::agent::plumbd_binary;

#[test]
fn the_demo_runs_traffic_through_the_agent_and_stops_everything() {
    // Built first, so the demo's own build of it is a no-op.
    let _ = plumbd_binary();
    let dir = tempfile::tempdir().expect("tempdir");
    let demo_dir = dir.path().join("demo");
    let output = Command::new(env!("CARGO_BIN_EXE_plumb-demo"))
        .arg("--no-console")
        .args(["--for", "12", "--skus", "5", "--dir"])
        .arg(&demo_dir)
        .output()
        .expect("run plumb-demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the demo failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("orders"), "{stdout}");
    assert!(
        stdout.contains("stopped plumbd, the sandbox and the ERP double"),
        "{stdout}"
    );
    assert!(demo_dir.join("plumb.toml").exists());
}
