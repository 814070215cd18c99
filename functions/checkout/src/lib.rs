//! checkout: the signed-in account's subscription. Starting one (a Stripe Checkout Session),
//! managing it (a billing portal link), reading its status (repaired from Stripe when stale),
//! and cancelling it at the end of the paid period.

use backend_core::auth::{require_session, LocationId};
use backend_core::billing::stripe::{CheckoutRequest, StripeError};
use backend_core::billing::{plan_features, sync_subscription, PlanFeatures};
use backend_core::clock::{format_rfc3339, now_epoch};
use backend_core::http::{ApiError, Reply, Route};
use backend_core::store::accounts::billing::SubscriptionWrites;
use backend_core::store::accounts::{Account, Plan};
use backend_core::App;
use lambda_http::Request;
use serde::Serialize;
use time::OffsetDateTime;

/// The function's routes, each bound to its handler.
pub fn routes() -> Vec<Route> {
    vec![
        Route::post("/api/subscription/checkout", checkout),
        Route::post("/api/subscription/portal", portal),
        Route::get("/api/subscription/status", status),
        Route::post("/api/subscription/cancel", cancel),
    ]
}

/// The signed-in caller's location (401 without a session), recorded on the handler's span.
async fn signed_in(app: &App, req: &Request) -> Result<LocationId, ApiError> {
    let location = require_session(app, req).await?.location_id;
    tracing::Span::current().record("location", tracing::field::display(&location));
    Ok(location)
}

/// The account, or the defaults of one that never subscribed (the OAuth flow creates accounts;
/// a session without one is treated as Free rather than failing).
async fn account(app: &App, location: &LocationId) -> Result<Account, ApiError> {
    Ok(app
        .accounts()
        .get(location)
        .await?
        .unwrap_or_else(|| Account {
            location_id: location.as_str().to_owned(),
            ..Account::default()
        }))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckoutStarted {
    url: String,
    session_id: String,
}

/// `POST /api/subscription/checkout`: a Checkout Session URL for the Pro price.
#[tracing::instrument(skip_all, fields(location))]
async fn checkout(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let location = &signed_in(app, req).await?;
    let now = now_epoch();
    let account = account(app, location).await?;
    if account.has_live_subscription(now) {
        return Err(ApiError::Conflict(
            "this account already has an active subscription; manage it in the billing portal"
                .into(),
        ));
    }
    let stripe = app.stripe().await?;
    let customer_id = match account.stripe_customer_id {
        Some(customer) => customer,
        None => {
            let created = stripe.create_customer(location).await?;
            // A concurrent first checkout may have linked one already: use whichever is stored.
            app.accounts()
                .link_customer(location, &created.id, now)
                .await?
                .stripe_customer_id
                .unwrap_or(created.id)
        }
    };
    let origin = app.config.frontend_origin();
    let success_url =
        format!("{origin}/billing?checkout=success&session_id={{CHECKOUT_SESSION_ID}}");
    let cancel_url = format!("{origin}/billing?checkout=cancelled");
    let session = stripe
        .create_checkout_session(&CheckoutRequest {
            location,
            customer_id: &customer_id,
            price_id: &app.config.stripe.price_id,
            success_url: &success_url,
            cancel_url: &cancel_url,
            now,
        })
        .await?;
    let url = session
        .url
        .ok_or_else(|| StripeError::Decode("the checkout session has no url".into()))?;
    tracing::info!(session = %session.id, "checkout session created");
    Reply::ok(&CheckoutStarted {
        url,
        session_id: session.id,
    })
}

#[derive(Debug, Serialize)]
struct PortalLink {
    url: String,
}

/// `POST /api/subscription/portal`: a Stripe billing portal link for the account's customer.
#[tracing::instrument(skip_all, fields(location))]
async fn portal(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let location = &signed_in(app, req).await?;
    let account = account(app, location).await?;
    let Some(customer_id) = account.stripe_customer_id else {
        return Err(ApiError::NotFound(
            "this account has no billing profile yet; start a subscription first".into(),
        ));
    };
    let return_url = format!("{}/billing", app.config.frontend_origin());
    let session = app
        .stripe()
        .await?
        .create_portal_session(&customer_id, &return_url)
        .await?;
    Reply::ok(&PortalLink { url: session.url })
}

/// What the front end shows about billing.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionView {
    plan: Plan,
    status: Option<String>,
    current_period_end: Option<String>,
    cancel_at_period_end: bool,
    subscription_ends_at: Option<String>,
    /// When the state was last confirmed against Stripe.
    synced_at: Option<String>,
    features: [PlanFeatures; 2],
}

fn rfc3339(epoch: Option<i64>) -> Option<String> {
    epoch
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .map(format_rfc3339)
}

fn view(account: &Account, now: i64) -> SubscriptionView {
    SubscriptionView {
        plan: account.effective_plan(now),
        status: account.subscription_status.clone(),
        current_period_end: rfc3339(account.current_period_end),
        cancel_at_period_end: account.cancel_at_period_end,
        subscription_ends_at: rfc3339(account.subscription_ends_at),
        synced_at: rfc3339(account.billing_synced_at),
        features: plan_features(),
    }
}

/// `GET /api/subscription/status`: the stored state, first repaired from Stripe when it has
/// not been confirmed for a few minutes (a lost or delayed webhook must not cost a paying user
/// their plan, nor keep Pro for an ended subscription).
#[tracing::instrument(skip_all, fields(location))]
async fn status(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let location = &signed_in(app, req).await?;
    let now = now_epoch();
    let mut account = account(app, location).await?;
    if let Some(subscription_id) = account.stripe_subscription_id.clone() {
        if account.billing_is_stale(now) {
            // Stripe being down must not take the status page with it: serve what we have.
            match repair(app, location, &subscription_id).await {
                Ok(()) => account = self::account(app, location).await?,
                Err(err) => {
                    tracing::warn!(error = %err, "billing repair failed; serving the stored state")
                }
            }
        }
    }
    Reply::ok(&view(&account, now))
}

/// Re-reads the subscription from Stripe and applies it by the webhook's own rule.
async fn repair(app: &App, location: &LocationId, subscription_id: &str) -> Result<(), ApiError> {
    let stripe = app.stripe().await?;
    let read_at = now_epoch();
    let subscription = stripe.get_subscription(subscription_id).await?;
    let synced = sync_subscription(
        &app.accounts(),
        &app.config.stripe.price_id,
        location,
        &subscription,
        read_at,
        now_epoch(),
    )
    .await?;
    tracing::info!(synced = ?synced, "billing state re-read from Stripe");
    Ok(())
}

/// `POST /api/subscription/cancel`: cancels at the period end. Pro stays until then; the answer
/// is the new status. Cancelling twice is harmless.
#[tracing::instrument(skip_all, fields(location))]
async fn cancel(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let location = &signed_in(app, req).await?;
    let now = now_epoch();
    let account = account(app, location).await?;
    let subscription_id = match &account.stripe_subscription_id {
        Some(id) if account.has_live_subscription(now) => id.clone(),
        _ => {
            return Err(ApiError::Conflict(
                "this account has no active subscription to cancel".into(),
            ))
        }
    };
    if account.cancel_at_period_end {
        return Reply::ok(&view(&account, now));
    }
    let stripe = app.stripe().await?;
    let read_at = now_epoch();
    let subscription = stripe.cancel_at_period_end(&subscription_id).await?;
    app.accounts()
        .apply_subscription(location, &subscription.state(), read_at, now_epoch())
        .await?;
    let account = self::account(app, location).await?;
    tracing::info!("subscription set to cancel at period end");
    Reply::ok(&view(&account, now))
}
