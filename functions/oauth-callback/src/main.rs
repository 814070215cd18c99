#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    backend_core::lambda::run(oauth_callback::routes()).await
}
