//! The one rule for applying a subscription as Stripe reports it, whoever read it: a webhook
//! delivery or the status route's repair. Only the Pro price grants Pro; a followed subscription
//! moved to another price ends Pro; anything else is not written.

use super::stripe::Subscription;
use super::Applied;
use crate::auth::LocationId;
use crate::store::accounts::Accounts;
use crate::store::StoreError;
use crate::telemetry::metrics;

/// What applying a subscription did to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synced {
    /// The account now reflects the subscription.
    Applied,
    /// Not written: a newer state was applied already.
    Stale,
    /// The subscription the account follows left the Pro price: its Pro ended.
    ProEnded,
    /// Not for the Pro price and not the account's subscription: nothing written.
    NotProPrice,
}

/// Applies `subscription` (as Stripe had it at `as_of`) to `location`'s account.
///
/// Any price of the Stripe account may carry a `locationId` (another product, a test price, one
/// made by hand) and must not grant Pro, so a subscription not for `pro_price_id` is never
/// applied; if the account follows that very subscription it was moved off the Pro price (a plan
/// switch in the portal, a support agent) and its Pro ends as of `as_of`, or it would stay Pro
/// forever. Both cases are logged and counted.
#[tracing::instrument(skip_all, fields(location = %location, subscription = %subscription.id))]
pub async fn sync_subscription(
    accounts: &Accounts,
    pro_price_id: &str,
    location: &LocationId,
    subscription: &Subscription,
    as_of: i64,
    now: i64,
) -> Result<Synced, StoreError> {
    if subscription.is_for_price(pro_price_id) {
        let applied = accounts
            .apply_subscription(location, &subscription.state(), as_of, now)
            .await?;
        return Ok(match applied {
            Applied::Applied => Synced::Applied,
            Applied::Stale => Synced::Stale,
        });
    }
    let ended = accounts
        .end_foreign_subscription(location, &subscription.id, as_of, now)
        .await?;
    Ok(match ended {
        Applied::Applied => {
            tracing::warn!("subscription moved off the Pro price; Pro ended");
            metrics::count("StripeProEndedByPriceChange", &[]);
            Synced::ProEnded
        }
        Applied::Stale => {
            tracing::warn!("subscription not for the Pro price; not applied");
            metrics::count("StripeForeignPriceIgnored", &[]);
            Synced::NotProPrice
        }
    })
}
