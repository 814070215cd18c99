use std::convert::Infallible;

use aws_lambda_events::event::sqs::SqsEvent;
use backend_core::{telemetry, App};
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    // Boxed, as in backend_core::lambda::run: on the heap, not in `main`'s stack frame.
    let app = Box::pin(App::from_env()).await.inspect_err(|err| {
        tracing::error!(error = %err, "cold start failed: configuration is invalid");
    })?;
    Box::pin(lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let app = app.clone();
        let deadline_ms = i64::try_from(event.context.deadline).ok();
        async move { Ok::<_, Infallible>(erasure::handle(&app, event.payload, deadline_ms).await) }
    })))
    .await
}
