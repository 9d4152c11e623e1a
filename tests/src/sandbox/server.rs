//! The HTTP layer: routing, the access token, gzip both ways, and the faults that act on
//! the connection (a dropped response, a held request).

use std::convert::Infallible;
use std::io::{Read, Write};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::Shared;
use super::graphql::{self, Reply};
use super::schema::ApiVersion;

/// Request bodies may be large (250-row mutations, big bulk queries), not unbounded.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Returned to hyper to close the connection without an answer.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped on purpose")]
pub struct Dropped;

/// Accepts connections until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        continue;
                    }
                };
                let shared = shared.clone();
                let mut stop = shutdown.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(shared.clone(), request));
                    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(connection);
                    tokio::select! {
                        result = connection.as_mut() => {
                            if let Err(error) = result {
                                tracing::debug!(%error, "connection ended");
                            }
                        }
                        _ = stop.changed() => {}
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
}

/// A JSON response.
pub fn json_response(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let headers = request.headers().clone();
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(json_response(
                413,
                &json!({"errors": "Request body too large"}),
            ));
        }
    };
    let gzipped_request = headers
        .get(hyper::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
    let body = if gzipped_request {
        let mut decoded = Vec::new();
        if flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut decoded)
            .is_err()
        {
            return Ok(json_response(400, &json!({"errors": "Invalid gzip body"})));
        }
        Bytes::from(decoded)
    } else {
        body
    };
    let accepts_gzip = headers
        .get(hyper::header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"));

    let response = if let Some(rest) = path.strip_prefix("/admin/api/") {
        let Some(version) = rest
            .strip_suffix("/graphql.json")
            .and_then(ApiVersion::parse)
        else {
            return Ok(json_response(404, &json!({"errors": "Not Found"})));
        };
        if method != Method::POST {
            return Ok(json_response(405, &json!({"errors": "Method Not Allowed"})));
        }
        shared.lock_stats().requests += 1;
        let token = headers
            .get("x-shopify-access-token")
            .and_then(|v| v.to_str().ok());
        let revoked = shared.lock_faults().config.token_revoked;
        if token != Some(shared.config.access_token.as_str()) || revoked {
            shared.lock_stats().unauthorized += 1;
            if revoked {
                shared.lock_faults().counters.token_revoked += 1;
            }
            return Ok(json_response(
                401,
                &json!({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}),
            ));
        }
        // Shopify also takes a bare document as `application/graphql`.
        let raw_document = headers
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/graphql"));
        let body = if raw_document {
            Bytes::from(json!({"query": String::from_utf8_lossy(&body)}).to_string())
        } else {
            body
        };
        let debug_cost = headers
            .get("shopify-graphql-cost-debug")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "1");
        match graphql::handle(&shared, version, &body, debug_cost).await {
            Reply::Json(status, value) => {
                let mut response = json_response(status, &value);
                let headers = response.headers_mut();
                if let Ok(id) =
                    hyper::header::HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                {
                    headers.insert("x-request-id", id);
                }
                headers.insert(
                    "x-shopify-api-version",
                    hyper::header::HeaderValue::from_static(version.as_str()),
                );
                if status == 429 {
                    headers.insert(
                        hyper::header::RETRY_AFTER,
                        hyper::header::HeaderValue::from_static("2.0"),
                    );
                }
                response
            }
            Reply::Drop => return Err(Dropped),
            Reply::Hold(duration) => {
                tokio::time::sleep(duration).await;
                return Err(Dropped);
            }
        }
    } else if path.starts_with("/sandbox/") {
        super::admin_http::handle(&shared, &method, &path, query.as_deref(), &body).await
    } else {
        json_response(404, &json!({"errors": "Not Found"}))
    };
    Ok(if accepts_gzip {
        gzip(response)
    } else {
        response
    })
}

fn gzip(response: Response<Full<Bytes>>) -> Response<Full<Bytes>> {
    let (mut parts, body) = response.into_parts();
    // A `Full` body is one in-memory chunk, so collecting it is immediate.
    let bytes = futures::executor::block_on(body.collect())
        .map(|collected| collected.to_bytes())
        .unwrap_or_else(|never: Infallible| match never {});
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    if encoder.write_all(&bytes).is_err() {
        return Response::from_parts(parts, Full::new(bytes));
    }
    match encoder.finish() {
        Ok(compressed) => {
            parts.headers.insert(
                hyper::header::CONTENT_ENCODING,
                hyper::header::HeaderValue::from_static("gzip"),
            );
            Response::from_parts(parts, Full::new(Bytes::from(compressed)))
        }
        Err(_) => Response::from_parts(parts, Full::new(bytes)),
    }
}
