//! Pacing against a server that keeps a real leaky bucket: many concurrent callers, and
//! not one THROTTLED answer, because the client waits on its model instead.

mod shopify_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plumb_agent::shopify::documents::LOCATIONS;

use shopify_support::{Reply, Script, client_for, ok_body, throttled_body};

/// Shopify's bucket, kept by the test server: refills continuously, refuses a call whose
/// requested cost it does not hold.
#[derive(Debug)]
struct LeakyBucket {
    max: f64,
    level: f64,
    restore: f64,
    at: Instant,
    throttled: u64,
}

impl LeakyBucket {
    fn answer(&mut self, cost: u32) -> Reply {
        let now = Instant::now();
        self.level = (self.level + self.restore * (now - self.at).as_secs_f64()).min(self.max);
        self.at = now;
        if self.level < f64::from(cost) {
            self.throttled += 1;
            return Reply::json(
                200,
                &throttled_body(cost, self.level as u32, self.restore as u32),
            );
        }
        self.level -= f64::from(cost);
        let data =
            r#"{"locations":{"nodes":[],"pageInfo":{"hasNextPage":false,"endCursor":null}}}"#;
        Reply::json(200, &ok_body(data, cost, cost, self.level.floor()))
    }
}

#[tokio::test]
async fn concurrent_callers_share_the_bucket_without_being_throttled() {
    // 200 points, 1,000 back per second, 50 per call: 40 calls need 2,000 points, so
    // about 1.8 s of refill must be waited for, by the client, not by the server.
    let bucket = Arc::new(Mutex::new(LeakyBucket {
        max: 200.0,
        level: 200.0,
        restore: 1_000.0,
        at: Instant::now(),
        throttled: 0,
    }));
    let server_bucket = bucket.clone();
    let script =
        Script::start_with(Arc::new(move |_| server_bucket.lock().unwrap().answer(50))).await;
    let client = client_for(&script);
    // Teach the client the cost first (the first call of an operation goes alone).
    client
        .execute_raw(&LOCATIONS, serde_json::json!({"first": 1}))
        .await
        .unwrap();
    let start = Instant::now();
    let mut calls = Vec::new();
    for _ in 0..40 {
        let client = client.clone();
        calls.push(tokio::spawn(async move {
            client
                .execute_raw(&LOCATIONS, serde_json::json!({"first": 1}))
                .await
        }));
    }
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let elapsed = start.elapsed();
    let throttled = bucket.lock().unwrap().throttled;
    assert_eq!(throttled, 0, "the server throttled {throttled} calls");
    assert_eq!(client.stats().throttled, 0);
    assert_eq!(client.stats().calls, 41);
    // 150 points were left after the first call; the other 1,850 took refill time.
    assert!(
        elapsed >= Duration::from_millis(1_800),
        "{elapsed:?}: the bucket was overdrawn"
    );
    assert!(
        elapsed < Duration::from_secs(4),
        "{elapsed:?}: pacing far slower than the bucket"
    );
}
