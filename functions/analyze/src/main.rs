#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    backend_core::lambda::run(analyze::ROUTES, analyze::handle).await
}
