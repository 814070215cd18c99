#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    backend_core::lambda::run(history::routes()).await
}
