#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    backend_core::lambda::run(oauth_callback::ROUTES, oauth_callback::handle).await
}
