//! Failures against a real Tryton, classified at the boundary: an expired session is
//! renewed without the caller noticing, a refused login is permanent, a stopped server is
//! transient (`erp_unavailable`), a server that does not answer is transient
//! (`erp_timeout`).

use std::time::Duration;

use plumb_agent::erp::tryton::Tryton;
use plumb_agent::erp::{Erp, ErpError};
use plumb_common::ErrorClass;
use plumb_tests::tryton::TrytonServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_renew_and_outages_are_transient() {
    // a server of its own: this test stops it
    let server = TrytonServer::start();
    let tryton = server.connector();
    assert!(!tryton.warehouses().await.unwrap().is_empty());

    // the server forgets every session (expiry, restart with a cleared session table)
    server.expire_sessions();
    let warehouses = tryton
        .warehouses()
        .await
        .expect("logged in again and retried");
    assert!(!warehouses.is_empty());

    let mut settings = server.settings();
    settings.password = "not-the-password".into();
    let refused = Tryton::new(settings).unwrap().health().await.unwrap_err();
    assert!(matches!(refused, ErpError::Unauthorized(_)), "{refused}");
    assert_eq!(refused.class(), ErrorClass::Permanent);

    server.stop();
    let down = tryton.warehouses().await.unwrap_err();
    assert!(matches!(down, ErpError::Unavailable(_)), "{down}");
    assert_eq!(down.class(), ErrorClass::Transient);
    assert_eq!(down.cause(), "erp_unavailable");
    let failure: plumb_agent::store::Failure = down.into();
    assert_eq!(failure.class, ErrorClass::Transient);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_does_not_answer_times_out_as_transient() {
    // accepts connections, never answers
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let tryton = Tryton::new(plumb_agent::erp::tryton::TrytonSettings {
        url: format!("http://{address}"),
        database: "plumb".into(),
        user: "admin".into(),
        password: "x".into(),
        timeout: Duration::from_millis(300),
        overlap: Duration::from_secs(1),
    })
    .unwrap();
    let error = tryton.health().await.unwrap_err();
    assert!(matches!(error, ErpError::Timeout(_)), "{error}");
    assert_eq!(error.cause(), "erp_timeout");
    assert!(error.is_transient());
    hold.abort();
}
