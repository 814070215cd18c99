//! The one rule for applying a subscription as Stripe reports it, whoever read it: a webhook
//! delivery or the status route's repair. Only the Pro price grants Pro; a followed subscription
//! moved to another price ends Pro; anything else is not written.

use super::stripe::Subscription;
use super::Applied;
use crate::auth::LocationId;
use crate::store::accounts::billing::SubscriptionWrites;
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
pub async fn sync_subscription<A: SubscriptionWrites>(
    accounts: &A,
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plans::Plan;
    use crate::store::accounts::memory::MemoryAccounts;

    const PRO: &str = "price_pro";
    const NOW: i64 = 1_800_000_000;

    fn location() -> LocationId {
        LocationId::parse("LocSync1").expect("a location id")
    }

    fn subscription(id: &str, price: &str, status: &str) -> Subscription {
        serde_json::from_value(json!({
            "id": id,
            "status": status,
            "customer": "cus_1",
            "items": {"data": [{"price": {"id": price}, "current_period_end": NOW + 86_400}]},
            "metadata": {"locationId": "LocSync1"},
        }))
        .expect("a subscription")
    }

    async fn sync(accounts: &MemoryAccounts, sub: &Subscription, as_of: i64) -> Synced {
        sync_subscription(accounts, PRO, &location(), sub, as_of, NOW)
            .await
            .expect("memory never fails")
    }

    fn plan(accounts: &MemoryAccounts) -> Plan {
        accounts
            .get(&location())
            .map(|a| a.effective_plan(NOW))
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn a_subscription_on_the_pro_price_grants_pro() {
        let accounts = MemoryAccounts::default();
        let synced = sync(&accounts, &subscription("sub_1", PRO, "active"), NOW).await;
        assert_eq!(synced, Synced::Applied);
        assert_eq!(plan(&accounts), Plan::Pro);
    }

    #[tokio::test]
    async fn a_state_older_than_the_last_applied_changes_nothing() {
        let accounts = MemoryAccounts::default();
        sync(&accounts, &subscription("sub_1", PRO, "active"), NOW).await;
        let late = sync(&accounts, &subscription("sub_1", PRO, "unpaid"), NOW - 60).await;
        assert_eq!(late, Synced::Stale);
        assert_eq!(plan(&accounts), Plan::Pro);
    }

    #[tokio::test]
    async fn a_followed_subscription_moved_off_the_pro_price_ends_pro() {
        let accounts = MemoryAccounts::default();
        sync(&accounts, &subscription("sub_1", PRO, "active"), NOW - 60).await;
        let moved = sync(
            &accounts,
            &subscription("sub_1", "price_other", "active"),
            NOW,
        )
        .await;
        assert_eq!(moved, Synced::ProEnded);
        assert_eq!(plan(&accounts), Plan::Free);
    }

    #[tokio::test]
    async fn a_subscription_on_another_price_the_account_does_not_follow_grants_nothing() {
        let accounts = MemoryAccounts::default();
        let other = sync(
            &accounts,
            &subscription("sub_2", "price_other", "active"),
            NOW,
        )
        .await;
        assert_eq!(other, Synced::NotProPrice);
        assert_eq!(plan(&accounts), Plan::Free);
        sync(&accounts, &subscription("sub_1", PRO, "active"), NOW).await;
        let other = sync(
            &accounts,
            &subscription("sub_2", "price_other", "active"),
            NOW,
        )
        .await;
        assert_eq!(other, Synced::NotProPrice);
        assert_eq!(
            plan(&accounts),
            Plan::Pro,
            "the followed Pro subscription is untouched"
        );
    }

    #[tokio::test]
    async fn an_old_subscription_ending_never_downgrades_a_newer_live_one() {
        let accounts = MemoryAccounts::default();
        sync(&accounts, &subscription("sub_new", PRO, "active"), NOW - 60).await;
        let ended = sync(&accounts, &subscription("sub_old", PRO, "canceled"), NOW).await;
        assert_eq!(ended, Synced::Stale);
        assert_eq!(plan(&accounts), Plan::Pro);
    }
}
