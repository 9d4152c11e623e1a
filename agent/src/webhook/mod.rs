//! The webhook receiver: accept fast, work later.
//!
//! In this order, and nothing slow before the answer: cap the body (a cut body would fail
//! its signature on every retry, and Shopify deletes a subscription that keeps failing);
//! verify the signature over the raw bytes (401, nothing stored, only shop and topic
//! logged); dedupe on the event id; enqueue durably (group commit); answer 200 only after
//! the commit returned. A delivery for a topic no flow handles is kept as a dead letter,
//! not dropped.

pub mod verify;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::HeaderMap;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use plumb_common::FlowKind;

use crate::clock::Clock;
use crate::shutdown::Shutdown;
use crate::store::{EnqueueOptions, EnqueueOutcome, Failure, NewJob, Store};
use crate::work::{WebhookDelivery, Work};

/// What the receiver needs.
#[derive(Clone)]
pub struct Receiver {
    /// Where deliveries go.
    pub store: Store,
    /// The clock.
    pub clock: Clock,
    /// Every secret that may sign (current and, during a rotation, the previous one).
    pub secrets: Arc<Vec<Vec<u8>>>,
    /// The largest body accepted.
    pub max_body: usize,
    /// How long event ids are remembered for dedup.
    pub dedup_ttl: Duration,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.secrets.len()),
            )
            .field("max_body", &self.max_body)
            .field("dedup_ttl", &self.dedup_ttl)
            .finish_non_exhaustive()
    }
}

/// The flow that handles a topic; `None` for topics Plumb does not act on.
pub fn flow_for_topic(topic: &str) -> Option<FlowKind> {
    match topic {
        "orders/create"
        | "orders/paid"
        | "orders/updated"
        | "orders/edited"
        | "orders/cancelled"
        | "orders/fulfilled"
        | "orders/partially_fulfilled"
        // Compliance: the personal data Plumb holds is in stored order deliveries.
        | "customers/data_request"
        | "customers/redact"
        | "shop/redact" => Some(FlowKind::Orders),
        "refunds/create" => Some(FlowKind::Refunds),
        "inventory_levels/update" => Some(FlowKind::Inventory),
        "fulfillments/create" | "fulfillments/update" => Some(FlowKind::Fulfilment),
        "products/create" | "products/update" => Some(FlowKind::Products),
        "bulk_operations/finish" => Some(FlowKind::Reconcile),
        _ => None,
    }
}

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, text: &'static str) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Serves HTTP on `listener` until shutdown; open connections finish their request.
pub async fn serve(listener: TcpListener, receiver: Receiver, mut shutdown: Shutdown) {
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "webhook accept failed");
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = shutdown.wait() => break,
        };
        let receiver = receiver.clone();
        let mut conn_shutdown = shutdown.clone();
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let receiver = receiver.clone();
                async move { Ok::<_, Infallible>(receiver.handle(request, peer).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, %peer, "webhook connection ended with an error");
                    }
                }
                () = conn_shutdown.wait() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    while connections.join_next().await.is_some() {}
}

impl Receiver {
    async fn handle(&self, request: Request<Incoming>, peer: SocketAddr) -> Reply {
        match (request.method(), request.uri().path()) {
            (&Method::POST, "/webhooks/shopify") => self.receive(request, peer).await,
            (&Method::GET, "/healthz") => reply(StatusCode::OK, "ok\n"),
            (&Method::GET, "/readyz") => self.ready().await,
            (_, "/webhooks/shopify" | "/healthz" | "/readyz") => {
                reply(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
            }
            _ => reply(StatusCode::NOT_FOUND, "not found\n"),
        }
    }

    /// Ready when the store answers a read.
    async fn ready(&self) -> Reply {
        match self.store.completed_total().await {
            Ok(_) => reply(StatusCode::OK, "ready\n"),
            Err(_) => reply(StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n"),
        }
    }

    async fn receive(&self, request: Request<Incoming>, peer: SocketAddr) -> Reply {
        let (parts, body) = request.into_parts();
        let headers = parts.headers;
        let topic = header(&headers, "x-shopify-topic").unwrap_or_default();
        let shop = header(&headers, "x-shopify-shop-domain").unwrap_or_default();
        let declared = headers
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|len| len > self.max_body) {
            tracing::error!(%shop, %topic, %peer, declared, max = self.max_body, "webhook body over the limit; raise webhooks.max_body");
            return reply(StatusCode::PAYLOAD_TOO_LARGE, "body too large\n");
        }
        let body = match Limited::new(body, self.max_body).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                tracing::error!(%shop, %topic, %peer, max = self.max_body, "webhook body over the limit; raise webhooks.max_body");
                return reply(StatusCode::PAYLOAD_TOO_LARGE, "body too large\n");
            }
            Err(error) => {
                tracing::warn!(%shop, %topic, %peer, %error, "webhook body could not be read");
                return reply(StatusCode::BAD_REQUEST, "unreadable body\n");
            }
        };
        let signature = header(&headers, "x-shopify-hmac-sha256").unwrap_or_default();
        if !verify::signed_by_any(&body, &signature, &self.secrets) {
            tracing::warn!(%shop, %topic, %peer, "webhook signature invalid; refused and not stored");
            return reply(StatusCode::UNAUTHORIZED, "invalid signature\n");
        }
        let now = self.clock.now();
        let delivery = WebhookDelivery {
            topic: topic.clone(),
            shop: shop.clone(),
            event_id: header(&headers, "x-shopify-event-id"),
            webhook_id: header(&headers, "x-shopify-webhook-id"),
            api_version: header(&headers, "x-shopify-api-version"),
            triggered_at: header(&headers, "x-shopify-triggered-at"),
            received_at: now,
            body: None,
            body_base64: None,
        }
        .with_body(body.into());
        let dedup_key = delivery
            .event_id
            .as_ref()
            .map(|id| format!("shopify:event:{id}"))
            .or_else(|| {
                delivery
                    .webhook_id
                    .as_ref()
                    .map(|id| format!("shopify:webhook:{id}"))
            });
        let (flow, dead_on_arrival) = match flow_for_topic(&topic) {
            Some(flow) => (flow, None),
            None => (
                FlowKind::Orders,
                Some(Failure::permanent(
                    "unsupported_topic",
                    format!(
                        "no flow handles the webhook topic `{topic}`: remove the subscription or upgrade plumbd"
                    ),
                )),
            ),
        };
        let work = Work::ShopifyWebhook(delivery);
        let job = NewJob {
            flow,
            payload_kind: work.kind(),
            payload: work.encode(),
            options: EnqueueOptions {
                dedup: dedup_key.map(|key| (key, self.dedup_ttl)),
                dead_on_arrival,
                ..Default::default()
            },
        };
        match self.store.write(move |ctx| ctx.enqueue(job, now)).await {
            Ok(enqueued) => {
                if enqueued.outcome == EnqueueOutcome::Duplicate {
                    tracing::debug!(%shop, %topic, job = %enqueued.id, "duplicate webhook delivery acknowledged");
                } else if topic == "orders/create" {
                    // The "no orders" alert's signal.
                    self.store.note_order_received(now);
                }
                reply(StatusCode::OK, "ok\n")
            }
            Err(error) => {
                // Not stored: a 5xx makes Shopify deliver it again.
                tracing::error!(%shop, %topic, %error, "webhook could not be stored; Shopify will retry");
                reply(StatusCode::SERVICE_UNAVAILABLE, "not stored, retry\n")
            }
        }
    }
}
