//! One login per session. Tryton hashes the password on every login (about 190 ms) and
//! rate-limits logins, so the session is kept and shared by every call; a 401 (expired or
//! invalidated session) logs in again, once, and retries the call once.
//!
//! Model calls always end with the user's context (Tryton answers 422 without it); the
//! context comes from `res.user.get_preferences` right after login, because creates need its
//! `company`.

use std::sync::Arc;

use base64::Engine;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use super::rpc::{RpcError, Transport};
use crate::erp::ErpError;

#[derive(Debug)]
struct Auth {
    header: String,
    user_id: i64,
    context: Map<String, Value>,
}

/// A logged-in (or about to be) user on one database.
pub struct Session {
    transport: Transport,
    user: String,
    password: String,
    /// The current login; `None` until the first call or after a 401. Held across a login,
    /// so concurrent calls wait for one login instead of each making their own.
    auth: Mutex<Option<Arc<Auth>>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("transport", &self.transport)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session that logs in on its first call.
    pub fn new(transport: Transport, user: String, password: String) -> Session {
        Session {
            transport,
            user,
            password,
            auth: Mutex::new(None),
        }
    }

    /// A server-level call (no database, no login): `common.server.version`.
    pub async fn server(&self, method: &str, params: Value) -> Result<Value, ErpError> {
        self.transport
            .call(method, params, None, false)
            .await
            .map_err(|error| match error {
                RpcError::Session => ErpError::Unauthorized(format!("{method}: HTTP 401")),
                RpcError::Erp(error) => error,
            })
    }

    /// The logged-in user's id (logs in if needed).
    pub async fn user_id(&self) -> Result<i64, ErpError> {
        Ok(self.current().await?.user_id)
    }

    /// `model.<model>.<method>(*args, context)`, with `extra` merged into the context.
    pub async fn model(
        &self,
        model: &str,
        method: &str,
        args: Vec<Value>,
        extra: Option<&Map<String, Value>>,
    ) -> Result<Value, ErpError> {
        self.call(&format!("model.{model}.{method}"), args, extra)
            .await
    }

    /// A call on the database with the context last, re-logging in once on 401.
    pub async fn call(
        &self,
        method: &str,
        args: Vec<Value>,
        extra: Option<&Map<String, Value>>,
    ) -> Result<Value, ErpError> {
        let mut retried = false;
        loop {
            let auth = self.current().await?;
            let mut context = auth.context.clone();
            if let Some(extra) = extra {
                context.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            let mut params = args.clone();
            params.push(Value::Object(context));
            match self
                .transport
                .call(method, Value::Array(params), Some(&auth.header), true)
                .await
            {
                Ok(result) => return Ok(result),
                Err(RpcError::Erp(error)) => return Err(error),
                Err(RpcError::Session) if !retried => {
                    tracing::info!(method, "Tryton session expired: logging in again");
                    self.forget(&auth).await;
                    retried = true;
                }
                Err(RpcError::Session) => {
                    return Err(ErpError::Unauthorized(format!(
                        "{method}: a fresh session was refused at once"
                    )));
                }
            }
        }
    }

    /// Drops the session if it is still the one that failed (another call may have logged
    /// in again already).
    async fn forget(&self, failed: &Arc<Auth>) {
        let mut auth = self.auth.lock().await;
        if auth.as_ref().is_some_and(|a| Arc::ptr_eq(a, failed)) {
            *auth = None;
        }
    }

    async fn current(&self) -> Result<Arc<Auth>, ErpError> {
        let mut auth = self.auth.lock().await;
        if let Some(current) = auth.as_ref() {
            return Ok(current.clone());
        }
        let fresh = Arc::new(self.login().await?);
        *auth = Some(fresh.clone());
        Ok(fresh)
    }

    async fn login(&self) -> Result<Auth, ErpError> {
        let answer = self
            .transport
            .call(
                "common.db.login",
                json!([self.user, {"password": self.password}, "en"]),
                None,
                true,
            )
            .await
            .map_err(|error| match error {
                RpcError::Session => {
                    ErpError::Unauthorized(format!("user {:?}: wrong user or password", self.user))
                }
                RpcError::Erp(error) => error,
            })?;
        let (user_id, token) = match answer.as_array().map(Vec::as_slice) {
            Some([id, token, ..]) => (id.as_i64(), token.as_str()),
            _ => (None, None),
        };
        let (Some(user_id), Some(token)) = (user_id, token) else {
            return Err(ErpError::BadResponse(format!(
                "common.db.login answered {answer}, not [user id, token, ...]"
            )));
        };
        let header = format!(
            "Session {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{user_id}:{token}", self.user))
        );
        let preferences = self
            .transport
            .call(
                "model.res.user.get_preferences",
                json!([true, {}]),
                Some(&header),
                true,
            )
            .await
            .map_err(|error| match error {
                RpcError::Session => ErpError::Unauthorized("a fresh session was refused".into()),
                RpcError::Erp(error) => error,
            })?;
        let Value::Object(context) = preferences else {
            return Err(ErpError::BadResponse(
                "res.user.get_preferences did not answer an object".into(),
            ));
        };
        tracing::info!(user = %self.user, user_id, "logged in to Tryton");
        Ok(Auth {
            header,
            user_id,
            context,
        })
    }
}
