#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    analyzer_core::lambda::run(oauth_callback::ROUTES, oauth_callback::handle).await
}
