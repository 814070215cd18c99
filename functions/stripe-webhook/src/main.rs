#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    backend_core::lambda::run(stripe_webhook::routes()).await
}
