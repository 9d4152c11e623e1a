//! Bulk operations: start a bulk query, wait for it to finish (polling, or woken by the
//! `bulk_operations/finish` webhook), and stream its JSONL result as grouped records.
//!
//! The result file is read as a stream and parsed line by line ([`super::jsonl`]): a
//! catalogue-sized file is never held in memory. The download goes to a signed storage URL,
//! without the access token.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Notify;

use super::client::{ShopifyClient, transport_error};
use super::documents::{BULK_OPERATION, BULK_OPERATION_RUN_QUERY, BulkQuery};
use super::error::{ShopifyError, excerpt};
use super::ids::{Kind, de_gid, gid};
use super::jsonl::{BulkLayout, BulkRecord, JsonlGrouper};
use super::response::UserError;

/// A bulk operation's state.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperation {
    /// The operation.
    #[serde(deserialize_with = "de_gid")]
    pub id: u64,
    /// CREATED, RUNNING, COMPLETED, FAILED, CANCELING, CANCELED, EXPIRED.
    pub status: String,
    /// Why it failed: ACCESS_DENIED, INTERNAL_SERVER_ERROR, TIMEOUT.
    #[serde(default)]
    pub error_code: Option<String>,
    /// The result file, once COMPLETED (absent when nothing matched).
    #[serde(default)]
    pub url: Option<String>,
    /// What was written before a failure.
    #[serde(default)]
    pub partial_data_url: Option<String>,
}

impl BulkOperation {
    /// Whether it will change no more.
    pub fn is_finished(&self) -> bool {
        matches!(
            self.status.as_str(),
            "COMPLETED" | "FAILED" | "CANCELED" | "EXPIRED"
        )
    }

    /// The result URL of a finished operation: `None` when it completed with no results,
    /// an error when it did not complete.
    pub fn result_url(&self) -> Result<Option<&str>, ShopifyError> {
        match (self.status.as_str(), self.error_code.as_deref()) {
            ("COMPLETED", _) => Ok(self.url.as_deref()),
            (_, Some("ACCESS_DENIED")) => Err(ShopifyError::Unauthorized {
                status: 200,
                message: format!("bulk operation {} was denied access", self.id),
            }),
            ("FAILED", _) => Err(ShopifyError::Server {
                status: 200,
                message: format!(
                    "bulk operation {} failed: {}",
                    self.id,
                    self.error_code.as_deref().unwrap_or("no error code")
                ),
            }),
            (status, _) => Err(ShopifyError::Invalid(format!(
                "bulk operation {} is {status}, not completed",
                self.id
            ))),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunData {
    bulk_operation_run_query: Option<RunPayload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunPayload {
    bulk_operation: Option<Started>,
    #[serde(default)]
    user_errors: Vec<UserError>,
}

#[derive(Debug, Deserialize)]
struct Started {
    #[serde(deserialize_with = "de_gid")]
    id: u64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusData {
    bulk_operation: Option<BulkOperation>,
}

impl ShopifyClient {
    /// Starts `query` as a bulk operation and returns its id; `layout` asks for grouped
    /// output or not, and the result must be read with the same layout. Grouping is slower
    /// at Shopify: ask for it when records are needed whole. `OPERATION_IN_PROGRESS` (too
    /// many running) is [`ShopifyError::BulkBusy`], transient.
    pub async fn run_bulk_query(
        &self,
        query: &BulkQuery,
        layout: BulkLayout,
    ) -> Result<u64, ShopifyError> {
        self.run_bulk_document(query.name, query.document, layout)
            .await
    }

    /// [`Self::run_bulk_query`] of a document made at run time (named `name`), such as
    /// one of [`BulkQuery::with_search`].
    pub async fn run_bulk_document(
        &self,
        name: &str,
        document: &str,
        layout: BulkLayout,
    ) -> Result<u64, ShopifyError> {
        let variables = json!({
            "query": document,
            "groupObjects": layout == BulkLayout::Grouped,
        });
        let data: RunData = self.execute(&BULK_OPERATION_RUN_QUERY, variables).await?;
        let payload = data
            .bulk_operation_run_query
            .ok_or_else(|| ShopifyError::Shape("bulkOperationRunQuery returned null".to_owned()))?;
        if let Some(error) = payload.user_errors.into_iter().next() {
            if error.code() == "OPERATION_IN_PROGRESS" {
                return Err(ShopifyError::BulkBusy {
                    message: error.message,
                });
            }
            return Err(error.into_error());
        }
        let started = payload.bulk_operation.ok_or_else(|| {
            ShopifyError::Shape("bulkOperationRunQuery returned no operation".to_owned())
        })?;
        tracing::info!(
            query = name,
            operation = started.id,
            "bulk operation started"
        );
        Ok(started.id)
    }

    /// A bulk operation's state; `None` if Shopify does not know it.
    pub async fn bulk_operation(&self, id: u64) -> Result<Option<BulkOperation>, ShopifyError> {
        let data: StatusData = self
            .execute(&BULK_OPERATION, json!({"id": gid(Kind::BulkOperation, id)}))
            .await?;
        Ok(data.bulk_operation)
    }

    /// Waits until a bulk operation finished, reading its state every `poll`, or sooner
    /// when `finished` is notified (the `bulk_operations/finish` webhook arrived).
    pub async fn wait_bulk_operation(
        &self,
        id: u64,
        poll: Duration,
        finished: Option<Arc<Notify>>,
    ) -> Result<BulkOperation, ShopifyError> {
        loop {
            // Register before reading, so a webhook during the read is not missed.
            let notified = finished.as_ref().map(|n| n.clone().notified_owned());
            let operation = self.bulk_operation(id).await?.ok_or_else(|| {
                ShopifyError::Invalid(format!("bulk operation {id} is unknown to Shopify"))
            })?;
            if operation.is_finished() {
                return Ok(operation);
            }
            match notified {
                Some(notified) => {
                    tokio::select! {
                        () = tokio::time::sleep(poll) => {}
                        () = notified => {}
                    }
                }
                None => tokio::time::sleep(poll).await,
            }
        }
    }

    /// Streams the records of a result file, parsed as the bytes arrive: with
    /// [`BulkLayout::Grouped`] each root object with everything nested under it, with
    /// [`BulkLayout::Flat`] every line on its own.
    pub fn bulk_records(
        &self,
        url: &str,
        layout: BulkLayout,
    ) -> impl Stream<Item = Result<BulkRecord, ShopifyError>> + Send + 'static {
        let request = self.download_client().get(url);
        let started = async move {
            let response = request.send().await.map_err(|e| transport_error(&e))?;
            let status = response.status().as_u16();
            if status != 200 {
                let body = response.bytes().await.unwrap_or_default();
                let message = format!("bulk result download: {}", excerpt(&body));
                return Err(match status {
                    429 => ShopifyError::RateLimited,
                    500..=599 => ShopifyError::Server { status, message },
                    // An expired or tampered signed URL: run the operation again.
                    _ => ShopifyError::Status { status, message },
                });
            }
            Ok(response.bytes_stream().boxed())
        };
        let state = Download::Starting(Box::pin(started));
        futures::stream::unfold(state, move |state| async move {
            match state {
                Download::Starting(start) => match start.await {
                    Ok(bytes) => {
                        next_record(Download::Reading {
                            bytes,
                            grouper: JsonlGrouper::from(layout),
                            ready: VecDeque::new(),
                        })
                        .await
                    }
                    Err(error) => Some((Err(error), Download::Done)),
                },
                other => next_record(other).await,
            }
        })
    }
}

type ByteStream = futures::stream::BoxStream<'static, Result<bytes::Bytes, reqwest::Error>>;
type Start = futures::future::BoxFuture<'static, Result<ByteStream, ShopifyError>>;

enum Download {
    Starting(Start),
    Reading {
        bytes: ByteStream,
        grouper: JsonlGrouper,
        ready: VecDeque<BulkRecord>,
    },
    /// The records parsed before the end or an error, then the error if there was one.
    Draining(VecDeque<BulkRecord>, Option<ShopifyError>),
    Done,
}

/// The next record: from what is parsed already, else from more bytes. Records completed
/// before a bad line are still handed out, then the error, then nothing.
async fn next_record(state: Download) -> Option<(Result<BulkRecord, ShopifyError>, Download)> {
    match state {
        Download::Reading {
            mut bytes,
            mut grouper,
            mut ready,
        } => loop {
            if let Some(record) = ready.pop_front() {
                let state = Download::Reading {
                    bytes,
                    grouper,
                    ready,
                };
                return Some((Ok(record), state));
            }
            let mut out = Vec::new();
            let failed = match bytes.next().await {
                Some(Ok(chunk)) => match grouper.push(&chunk, &mut out) {
                    Ok(()) => {
                        ready.extend(out);
                        continue;
                    }
                    Err(error) => Some(ShopifyError::Shape(error.to_string())),
                },
                Some(Err(error)) => Some(transport_error(&error)),
                None => grouper
                    .finish(&mut out)
                    .err()
                    .map(|error| ShopifyError::Shape(error.to_string())),
            };
            ready.extend(out);
            return drain(ready, failed);
        },
        Download::Draining(ready, failed) => drain(ready, failed),
        Download::Starting(_) | Download::Done => None,
    }
}

fn drain(
    mut ready: VecDeque<BulkRecord>,
    failed: Option<ShopifyError>,
) -> Option<(Result<BulkRecord, ShopifyError>, Download)> {
    match ready.pop_front() {
        Some(record) => Some((Ok(record), Download::Draining(ready, failed))),
        None => failed.map(|error| (Err(error), Download::Done)),
    }
}
