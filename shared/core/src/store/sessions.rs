//! The sessions table: one item per login, keyed by the SHA-256 of the token, expiring by TTL.

use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::{stream, StreamExt};
use serde::{Deserialize, Serialize};

use super::{conditional, StoreError};
use crate::auth::{LocationId, SessionToken};

/// Session deletes in flight at once during an erasure.
const DELETES_AT_ONCE: usize = 10;

/// A stored session (never the token itself).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub token_hash: String,
    pub location_id: LocationId,
    pub created_at: i64,
    /// Epoch seconds; also the table's TTL attribute.
    pub expires_at: i64,
}

#[derive(Clone)]
pub struct Sessions {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl Sessions {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Opens a session for `location`, returning the token for the cookie.
    #[tracing::instrument(skip(self), fields(location = %location))]
    pub async fn create(
        &self,
        location: &LocationId,
        now: i64,
        ttl_secs: i64,
    ) -> Result<(SessionToken, Session), StoreError> {
        let token = SessionToken::generate();
        let session = Session {
            token_hash: token.hash(),
            location_id: location.clone(),
            created_at: now,
            expires_at: now + ttl_secs,
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(serde_dynamo::to_item(&session)?))
            .condition_expression("attribute_not_exists(tokenHash)")
            .send()
            .await;
        match result {
            Ok(_) => Ok((token, session)),
            // 256 random bits never collide: an existing item is this write, landed by an attempt
            // whose answer was lost before the SDK retried it.
            Err(err) if super::is_conditional_failure(&err) => Ok((token, session)),
            Err(err) => Err(StoreError::from_sdk(err)),
        }
    }

    /// The live session for `token`; an expired one counts as absent.
    pub async fn find(
        &self,
        token: &SessionToken,
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("tokenHash", AttributeValue::S(token.hash()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let session: Session = serde_dynamo::from_item(item)?;
        Ok((session.expires_at > now).then_some(session))
    }

    /// Ends a session; deleting one that does not exist is fine (logout is idempotent).
    pub async fn delete(&self, token: &SessionToken) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("tokenHash", AttributeValue::S(token.hash()))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Deletes the sessions of `location` opened at or before `up_to` (epoch seconds: an
    /// uninstall's time), page by page through the `byLocation` index (keys only), each page
    /// deleted before the next is read: the work per call is bounded by the page, not by the
    /// location. Each delete is conditional on `createdAt <= up_to`, so a session opened after
    /// the uninstall (a reconnection) is the new installation's and stays. Returns how many were
    /// deleted; running it again deletes nothing more. The index is eventually consistent: a
    /// session opened in the same instant may be missed; the uninstall mark already refuses it,
    /// and its TTL removes it.
    #[tracing::instrument(skip(self), fields(location = %location))]
    pub async fn delete_opened_up_to(
        &self,
        location: &LocationId,
        up_to: i64,
    ) -> Result<u32, StoreError> {
        let mut deleted = 0;
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("byLocation")
                .key_condition_expression("locationId = :location")
                .expression_attribute_values(
                    ":location",
                    AttributeValue::S(location.as_str().to_owned()),
                )
                .limit(super::PAGE)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            let deleting: Vec<_> = output
                .items
                .unwrap_or_default()
                .into_iter()
                .filter_map(|item| item.get("tokenHash").cloned())
                .map(|hash| self.delete_opened_up_to_one(hash, up_to))
                .collect();
            let results: Vec<_> = stream::iter(deleting)
                .buffer_unordered(DELETES_AT_ONCE)
                .collect()
                .await;
            for result in results {
                deleted += u32::from(result?);
            }
            start = output.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() {
                return Ok(deleted);
            }
        }
    }

    /// One session deleted if it was opened at or before `up_to`; false when it was not (or is
    /// gone already).
    async fn delete_opened_up_to_one(
        &self,
        hash: AttributeValue,
        up_to: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("tokenHash", hash)
            .condition_expression("createdAt <= :upTo")
            .expression_attribute_values(":upTo", AttributeValue::N(up_to.to_string()))
            .send()
            .await;
        Ok(conditional(result)?.is_some())
    }

    /// Records a one-time marker (e.g. a spent OAuth state) under `key` until `expires_at`.
    /// Returns false when the marker already existed: the value was used before.
    pub async fn claim_once(&self, key: &str, expires_at: i64) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("tokenHash", AttributeValue::S(key.to_owned()))
            .item("expiresAt", AttributeValue::N(expires_at.to_string()))
            .condition_expression("attribute_not_exists(tokenHash)")
            .send()
            .await;
        Ok(conditional(result)?.is_some())
    }
}
