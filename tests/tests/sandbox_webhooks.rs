//! Webhook delivery: signatures checked against an independent HMAC for every example
//! payload, retries with backoff on a scaled clock, subscription removal, timeouts,
//! duplicates and reordering.

// Helpers outside #[test] functions unwrap too: a panic there is the failure report.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use plumb_tests::sandbox::payloads::{EXAMPLES, example};
use plumb_tests::sandbox::receiver::Receiver;
use plumb_tests::sandbox::webhooks::{DeliveryRecord, Outcome};
use plumb_tests::sandbox::{Admin, FaultConfig, Sandbox, SandboxConfig};

const SECRET: &str = "sandbox-app-secret";

/// Base64 HMAC-SHA256 computed outside this process: python3's hmac module, or openssl.
fn independent_hmac(body: &[u8], key: &str) -> String {
    let python = Command::new("python3")
        .args([
            "-c",
            "import base64,hashlib,hmac,sys; print(base64.b64encode(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).digest()).decode())",
            key,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    if let Ok(mut child) = python {
        child.stdin.take().unwrap().write_all(body).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "python3 failed computing the HMAC");
        return String::from_utf8(output.stdout).unwrap().trim().to_owned();
    }
    let openssl = Command::new("sh")
        .args([
            "-c",
            "openssl dgst -sha256 -hmac \"$1\" -binary | openssl base64 -A",
            "sh",
            key,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = openssl else {
        panic!(
            "neither python3 nor openssl is installed: one is needed to check webhook signatures independently"
        );
    };
    child.stdin.take().unwrap().write_all(body).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "openssl failed computing the HMAC");
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

async fn wait_deliveries(
    admin: &Admin,
    timeout: Duration,
    done: impl Fn(&[DeliveryRecord]) -> bool,
) -> Vec<DeliveryRecord> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let deliveries = admin.deliveries();
        if done(&deliveries) || tokio::time::Instant::now() >= deadline {
            return deliveries;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn scaled() -> SandboxConfig {
    SandboxConfig {
        // 56 s x 0.0001 = 5.6 ms for the first retry; 8 retries take about 1.4 s.
        webhook_time_scale: 0.0001,
        ..SandboxConfig::default()
    }
}

#[tokio::test]
async fn every_example_payload_is_signed_as_an_independent_hmac_computes_it() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let admin = sandbox.admin();
    let receiver = Receiver::start().await.unwrap();
    for (topic, _) in EXAMPLES {
        admin.subscribe(topic, &receiver.url());
    }
    for (topic, _) in EXAMPLES {
        admin.emit(topic, example(topic));
    }
    let received = receiver
        .wait_for(Duration::from_secs(10), |r| r.len() >= EXAMPLES.len())
        .await;
    assert_eq!(received.len(), EXAMPLES.len());
    for delivery in &received {
        let topic = delivery.header("X-Shopify-Topic").unwrap();
        let expected = independent_hmac(&delivery.body, SECRET);
        assert_eq!(
            delivery.header("X-Shopify-Hmac-Sha256"),
            Some(expected.as_str()),
            "signature of {topic}"
        );
        for header in [
            "X-Shopify-Shop-Domain",
            "X-Shopify-API-Version",
            "X-Shopify-Webhook-Id",
            "X-Shopify-Event-Id",
            "X-Shopify-Triggered-At",
            "X-Shopify-Name",
        ] {
            assert!(
                delivery.header(header).is_some_and(|v| !v.is_empty()),
                "{header} on {topic}"
            );
        }
        assert_eq!(
            delivery.header("X-Shopify-Shop-Domain"),
            Some("plumb-sandbox.myshopify.com")
        );
        assert_eq!(delivery.header("X-Shopify-API-Version"), Some("2026-07"));
        // The body is the example's JSON (ids as integers, big ones intact).
        let original: serde_json::Value =
            serde_json::from_str(EXAMPLES.iter().find(|(t, _)| *t == topic).unwrap().1).unwrap();
        assert_eq!(delivery.json(), original, "{topic}");
    }
    // A wrong secret does not match: the check above is not vacuous.
    assert_ne!(
        independent_hmac(&received[0].body, "another-secret"),
        received[0].header("X-Shopify-Hmac-Sha256").unwrap()
    );
}

#[tokio::test]
async fn failing_deliveries_retry_eight_times_with_backoff_then_remove_the_subscription() {
    let sandbox = Sandbox::start(scaled()).await.unwrap();
    let admin = sandbox.admin();
    let receiver = Receiver::start().await.unwrap();
    receiver.set_status(500);
    let subscription = admin.subscribe("inventory_levels/update", &receiver.url());
    admin.emit(
        "inventory_levels/update",
        example("inventory_levels/update"),
    );
    let deliveries = wait_deliveries(&admin, Duration::from_secs(20), |d| {
        d.first().is_some_and(|d| d.outcome != Outcome::Pending)
    })
    .await;
    let delivery = &deliveries[0];
    assert_eq!(delivery.outcome, Outcome::Failed);
    assert_eq!(delivery.attempts.len(), 9, "1 attempt + 8 retries");
    assert!(delivery.attempts.iter().all(|a| a.status == Some(500)));
    // Exponential backoff: the gap before retry n is at least 56 s x 2^(n-1), scaled.
    for (n, pair) in delivery.attempts.windows(2).enumerate() {
        let minimum = (56_000.0 * 2f64.powi(n as i32) * 0.0001) as u64;
        assert!(
            pair[1].at_ms - pair[0].at_ms >= minimum,
            "retry {} after {:?}",
            n + 1,
            delivery.attempts
        );
    }
    assert!(delivery.subscription_removed);
    assert!(admin.subscriptions().iter().all(|s| s.id != subscription));
    // Every attempt resends the original payload with the same ids.
    let received = receiver.received();
    assert_eq!(received.len(), 9);
    assert!(received.iter().all(|r| r.body == received[0].body
        && r.header("X-Shopify-Event-Id") == received[0].header("X-Shopify-Event-Id")));

    // After removal, new events go nowhere.
    admin.emit(
        "inventory_levels/update",
        example("inventory_levels/update"),
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(admin.deliveries().len(), 1);
}

#[tokio::test]
async fn a_redirect_is_a_failure_and_a_later_2xx_delivers() {
    let sandbox = Sandbox::start(SandboxConfig {
        webhook_time_scale: 0.002,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let admin = sandbox.admin();
    let receiver = Receiver::start().await.unwrap();
    receiver.set_status(302);
    admin.subscribe("orders/create", &receiver.url());
    admin.emit("orders/create", example("orders/create"));
    receiver
        .wait_for(Duration::from_secs(10), |r| r.len() >= 2)
        .await;
    receiver.set_status(200);
    let deliveries = wait_deliveries(&admin, Duration::from_secs(20), |d| {
        d.first().is_some_and(|d| d.outcome == Outcome::Delivered)
    })
    .await;
    let delivery = &deliveries[0];
    assert_eq!(delivery.outcome, Outcome::Delivered, "{delivery:?}");
    assert_eq!(delivery.attempts[0].status, Some(302));
    assert_eq!(delivery.attempts.last().unwrap().status, Some(200));
    assert_eq!(admin.subscriptions().len(), 1);
}

#[tokio::test]
async fn a_slow_receiver_times_out() {
    let sandbox = Sandbox::start(SandboxConfig {
        webhook_timeout: Duration::from_millis(200),
        webhook_retries: 0,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let admin = sandbox.admin();
    let receiver = Receiver::start().await.unwrap();
    receiver.set_delay(Duration::from_secs(2));
    admin.subscribe("orders/paid", &receiver.url());
    admin.emit("orders/paid", example("orders/paid"));
    let deliveries = wait_deliveries(&admin, Duration::from_secs(10), |d| {
        d.first().is_some_and(|d| d.outcome != Outcome::Pending)
    })
    .await;
    assert_eq!(deliveries[0].outcome, Outcome::Failed);
    assert_eq!(deliveries[0].attempts[0].status, None);
    assert!(deliveries[0].attempts[0].error.is_some());
}

#[tokio::test]
async fn duplicates_carry_the_same_event_id_and_reordered_deliveries_all_arrive() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let admin = sandbox.admin();
    let receiver = Receiver::start().await.unwrap();
    admin.subscribe("orders/updated", &receiver.url());
    admin.set_faults(FaultConfig {
        webhook_duplicate: 1.0,
        ..FaultConfig::default()
    });
    admin.emit("orders/updated", example("orders/updated"));
    let received = receiver
        .wait_for(Duration::from_secs(10), |r| r.len() >= 2)
        .await;
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[0].header("X-Shopify-Event-Id"),
        received[1].header("X-Shopify-Event-Id")
    );
    assert_eq!(received[0].body, received[1].body);
    assert_eq!(admin.fault_counters().webhook_duplicate, 1);
    assert!(admin.deliveries().iter().any(|d| d.duplicate));

    admin.set_faults(FaultConfig {
        webhook_reorder: 1.0,
        webhook_reorder_ms: Some(300),
        ..FaultConfig::default()
    });
    for _ in 0..10 {
        admin.emit("orders/updated", example("orders/updated"));
    }
    let received = receiver
        .wait_for(Duration::from_secs(10), |r| r.len() >= 12)
        .await;
    assert_eq!(received.len(), 12);
    assert_eq!(admin.fault_counters().webhook_reorder, 10);
}

#[tokio::test]
async fn a_dropped_webhook_is_never_sent_but_logged() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let admin = sandbox.admin();
    let receiver = Receiver::start().await.unwrap();
    admin.subscribe("orders/create", &receiver.url());
    admin.set_faults(FaultConfig {
        webhook_drop: 1.0,
        ..FaultConfig::default()
    });
    admin.emit("orders/create", example("orders/create"));
    let deliveries = wait_deliveries(&admin, Duration::from_secs(5), |d| !d.is_empty()).await;
    assert_eq!(deliveries[0].outcome, Outcome::Dropped);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(receiver.received().is_empty());
    assert_eq!(admin.fault_counters().webhook_drop, 1);
}
