//! Billing writes to the accounts table: linking a Stripe customer, applying a subscription
//! state only if it is not older than the last one applied (webhooks arrive out of order), and
//! ending Pro when the followed subscription leaves the Pro price.
//!
//! Every write is one conditional `UpdateItem`, so two deliveries racing each other can never
//! interleave half of one state with half of another.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use crate::auth::LocationId;
use crate::billing::SubscriptionState;
use crate::store::accounts::{Account, Accounts};
use crate::store::{is_conditional_failure, StoreError};

/// Whether a subscription state was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Applied,
    /// Not written: a newer state was applied already, or the account follows another, live
    /// subscription that this (ended) one must not override. For
    /// [`Accounts::end_foreign_subscription`]: the account does not follow that subscription.
    Stale,
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

impl Accounts {
    /// Stores `customer_id` as the account's Stripe customer unless it already has one, and
    /// returns the customer the account ends up with (the earlier one wins a race). Creates the
    /// account item if needed, with the defaults the OAuth flow would give it.
    #[tracing::instrument(skip(self, customer_id), fields(location = %location))]
    pub async fn link_customer(
        &self,
        location: &LocationId,
        customer_id: &str,
        now: i64,
    ) -> Result<Account, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .update_expression(
                "SET stripeCustomerId = if_not_exists(stripeCustomerId, :customer), \
                 updatedAt = :now, createdAt = if_not_exists(createdAt, :now), \
                 #plan = if_not_exists(#plan, :free), \
                 cancelAtPeriodEnd = if_not_exists(cancelAtPeriodEnd, :false), \
                 tokenVersion = if_not_exists(tokenVersion, :zero)",
            )
            .expression_attribute_names("#plan", "plan")
            .expression_attribute_values(":customer", s(customer_id))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":free", s("free"))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":zero", n(0))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let item = output
            .attributes
            .ok_or_else(|| StoreError::Failed("update returned no attributes".into()))?;
        Ok(serde_dynamo::from_item(item)?)
    }
}

/// The account writes the billing rule (`billing::sync_subscription`) makes: the DynamoDB table
/// ([`Accounts`]) in the functions, [`super::memory::MemoryAccounts`] in unit tests.
pub trait SubscriptionWrites: Sync {
    /// Writes `state` (and the plan it grants at `now`) if `as_of` (the Stripe event's
    /// `created`, or the moment Stripe was read) is not older than the last state applied.
    ///
    /// A state of an ended subscription is also refused when the account follows another
    /// subscription that is still live, so a late `deleted` of an old subscription never
    /// downgrades a newer one. Equal timestamps apply (Stripe's `created` has one-second
    /// resolution; related events often share it).
    fn apply_subscription(
        &self,
        location: &LocationId,
        state: &SubscriptionState,
        as_of: i64,
        now: i64,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;

    /// Ends Pro, as of `as_of`, for the account if it follows `subscription_id`: that
    /// subscription left our Pro price (a plan switch in the billing portal, a support agent),
    /// so none of its later states may be applied, and without this write the account would
    /// keep the Pro it had when the subscription was still on the Pro price.
    ///
    /// `Stale` when there is nothing to end: the account follows another subscription (or none,
    /// or does not exist), or a newer state was applied already. Equal timestamps end it, as in
    /// [`Self::apply_subscription`].
    fn end_foreign_subscription(
        &self,
        location: &LocationId,
        subscription_id: &str,
        as_of: i64,
        now: i64,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
}

impl SubscriptionWrites for Accounts {
    #[tracing::instrument(skip(self, state), fields(location = %location, subscription = %state.subscription_id))]
    async fn apply_subscription(
        &self,
        location: &LocationId,
        state: &SubscriptionState,
        as_of: i64,
        now: i64,
    ) -> Result<Applied, StoreError> {
        let plan = state.plan(now);
        let mut set = vec![
            "stripeSubscriptionId = :sub",
            "subscriptionStatus = :status",
            "cancelAtPeriodEnd = :cancel",
            "#plan = :plan",
            "lastStripeEventCreated = :asof",
            "billingSyncedAt = :now",
            "updatedAt = :now",
            "createdAt = if_not_exists(createdAt, :now)",
            "tokenVersion = if_not_exists(tokenVersion, :zero)",
        ];
        let mut remove = Vec::new();
        let mut values: HashMap<String, AttributeValue> = HashMap::from([
            (":sub".into(), s(&state.subscription_id)),
            (":status".into(), s(state.status.as_str())),
            (
                ":cancel".into(),
                AttributeValue::Bool(state.cancel_at_period_end),
            ),
            (":plan".into(), s(plan.as_str())),
            (":asof".into(), n(as_of)),
            (":now".into(), n(now)),
            (":zero".into(), n(0)),
        ]);
        if let Some(customer) = &state.customer_id {
            set.push("stripeCustomerId = :customer");
            values.insert(":customer".into(), s(customer));
        }
        match state.current_period_end {
            Some(end) => {
                set.push("currentPeriodEnd = :periodEnd");
                values.insert(":periodEnd".into(), n(end));
            }
            None => remove.push("currentPeriodEnd"),
        }
        match state.ends_at {
            Some(end) => {
                set.push("subscriptionEndsAt = :endsAt");
                values.insert(":endsAt".into(), n(end));
            }
            None => remove.push("subscriptionEndsAt"),
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let mut condition = String::from(
            "(attribute_not_exists(lastStripeEventCreated) OR lastStripeEventCreated <= :asof)",
        );
        if state.status.is_live() {
            // Stripe's `created` has one-second resolution: at a tie, an ended subscription stays
            // ended (a late `updated` must not bring back a `deleted` one).
            condition.push_str(
                " AND NOT (lastStripeEventCreated = :asof AND stripeSubscriptionId = :sub \
                 AND subscriptionStatus = :canceled)",
            );
            values.insert(":canceled".into(), s("canceled"));
        } else {
            condition.push_str(
                " AND (attribute_not_exists(stripeSubscriptionId) OR stripeSubscriptionId = :sub \
                 OR NOT (subscriptionStatus IN (:active, :trialing, :pastDue)))",
            );
            values.insert(":active".into(), s("active"));
            values.insert(":trialing".into(), s("trialing"));
            values.insert(":pastDue".into(), s("past_due"));
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_names("#plan", "plan")
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Applied::Applied),
            Err(err) if is_conditional_failure(&err) => Ok(Applied::Stale),
            Err(err) => Err(StoreError::from_sdk(err)),
        }
    }

    #[tracing::instrument(skip(self, subscription_id), fields(location = %location, subscription = %subscription_id))]
    async fn end_foreign_subscription(
        &self,
        location: &LocationId,
        subscription_id: &str,
        as_of: i64,
        now: i64,
    ) -> Result<Applied, StoreError> {
        // Never after `now`: a `canceled` state with an end still ahead is Pro until that end.
        let ended_at = as_of.min(now);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(location)))
            .update_expression(
                "SET subscriptionStatus = :canceled, #plan = :free, subscriptionEndsAt = :endsAt, \
                 cancelAtPeriodEnd = :false, lastStripeEventCreated = :asof, \
                 billingSyncedAt = :now, updatedAt = :now",
            )
            .condition_expression(
                "stripeSubscriptionId = :sub AND (attribute_not_exists(lastStripeEventCreated) \
                 OR lastStripeEventCreated <= :asof)",
            )
            .expression_attribute_names("#plan", "plan")
            .expression_attribute_values(":sub", s(subscription_id))
            .expression_attribute_values(":canceled", s("canceled"))
            .expression_attribute_values(":free", s("free"))
            .expression_attribute_values(":endsAt", n(ended_at))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":asof", n(as_of))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Applied::Applied),
            Err(err) if is_conditional_failure(&err) => Ok(Applied::Stale),
            Err(err) => Err(StoreError::from_sdk(err)),
        }
    }
}
