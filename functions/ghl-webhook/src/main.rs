#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    analyzer_core::lambda::run(ghl_webhook::ROUTES, ghl_webhook::handle).await
}
