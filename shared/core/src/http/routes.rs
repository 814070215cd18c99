//! Route tables: each function binds every route's method, path template and handler in one
//! table; the edge matches paths against it, answers 404/405/preflight, and logs the route
//! template instead of raw paths carrying ids.

use std::future::Future;
use std::pin::Pin;

use lambda_http::Request;

use super::{ApiError, Reply};
use crate::App;

/// What a handler's future resolves to.
pub type HandlerResult = Result<Reply, ApiError>;

/// A handler's future with the handler's types erased, so one table holds them all.
pub type HandlerFuture<'a> = Pin<Box<dyn Future<Output = HandlerResult> + Send + 'a>>;

/// An `async fn(&App, &Request) -> Result<Reply, ApiError>`. The trait names the future per
/// borrow, which a plain `Fn` bound cannot: it is what lets `Route::get(path, handler)` take a
/// handler function by name.
pub trait Handler<'a>: Send + Sync + 'static {
    type Future: Future<Output = HandlerResult> + Send + 'a;
    fn call(&self, app: &'a App, req: &'a Request) -> Self::Future;
}

impl<'a, F, Fut> Handler<'a> for F
where
    F: Fn(&'a App, &'a Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'a,
{
    type Future = Fut;
    fn call(&self, app: &'a App, req: &'a Request) -> Fut {
        self(app, req)
    }
}

type Erased = Box<dyn for<'a> Fn(&'a App, &'a Request) -> HandlerFuture<'a> + Send + Sync>;

/// Pins down the closure's signature (higher-ranked over the borrows) for `Box<dyn Fn>`.
fn erase<F>(f: F) -> F
where
    F: for<'a> Fn(&'a App, &'a Request) -> HandlerFuture<'a> + Send + Sync,
{
    f
}

/// One method + path template + the handler that answers it, e.g.
/// `Route::get("/api/analysis/{id}", get)`.
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// Whether the general per-IP rate limit applies (health checks and signed webhooks opt out).
    pub throttled: bool,
    handler: Erased,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

impl Route {
    fn new<H>(method: &'static str, path: &'static str, handler: H) -> Self
    where
        H: for<'a> Handler<'a>,
    {
        Self {
            method,
            path,
            throttled: true,
            handler: Box::new(erase(move |app, req| Box::pin(handler.call(app, req)))),
        }
    }

    pub fn get<H: for<'a> Handler<'a>>(path: &'static str, handler: H) -> Self {
        Self::new("GET", path, handler)
    }

    pub fn post<H: for<'a> Handler<'a>>(path: &'static str, handler: H) -> Self {
        Self::new("POST", path, handler)
    }

    pub fn put<H: for<'a> Handler<'a>>(path: &'static str, handler: H) -> Self {
        Self::new("PUT", path, handler)
    }

    pub fn delete<H: for<'a> Handler<'a>>(path: &'static str, handler: H) -> Self {
        Self::new("DELETE", path, handler)
    }

    /// The same route without the general per-IP limit.
    pub fn unthrottled(self) -> Self {
        Self {
            throttled: false,
            ..self
        }
    }

    /// Runs the route's handler.
    pub fn call<'a>(&self, app: &'a App, req: &'a Request) -> HandlerFuture<'a> {
        (self.handler)(app, req)
    }
}

/// The values of a matched route's `{params}`, carried in the request's extensions so handlers
/// read them with [`super::request::path_param`].
#[derive(Debug, Clone, Default)]
pub struct PathParams(pub(crate) Vec<(&'static str, String)>);

impl PathParams {
    /// The raw value of a path parameter (empty when absent); handlers parse it into a domain type.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| *key == name)
            .map_or("", |(_, value)| value.as_str())
    }
}

/// A matched route and the values of its `{params}`.
#[derive(Debug)]
pub struct RouteMatch<'r> {
    pub route: &'r Route,
    pub params: PathParams,
}

impl RouteMatch<'_> {
    /// The raw value of a path parameter.
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name)
    }

    /// `"GET /api/analysis/{id}"`, the shape AWS puts in `routeKey`.
    pub fn key(&self) -> String {
        format!("{} {}", self.route.method, self.route.path)
    }
}

/// Matches `path` against a template; a single trailing slash is tolerated.
pub fn match_path<'t>(template: &'t str, path: &str) -> Option<Vec<(&'t str, String)>> {
    let path = match path.strip_suffix('/') {
        Some(stripped) if !stripped.is_empty() => stripped,
        _ => path,
    };
    let mut params = Vec::new();
    let mut want = template.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) => {
                if let Some(name) = w.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                    if g.is_empty() {
                        return None;
                    }
                    params.push((name, g.to_owned()));
                } else if w != g {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// How a request relates to a function's route table.
pub enum Lookup<'r> {
    Found(RouteMatch<'r>),
    /// The path exists with other methods (listed for `Allow`).
    WrongMethod(Vec<&'static str>),
    Missing,
}

pub fn lookup<'r>(routes: &'r [Route], method: &str, path: &str) -> Lookup<'r> {
    let mut methods = Vec::new();
    for route in routes {
        if let Some(params) = match_path(route.path, path) {
            if route.method == method {
                return Lookup::Found(RouteMatch {
                    route,
                    params: PathParams(params),
                });
            }
            methods.push(route.method);
        }
    }
    if methods.is_empty() {
        Lookup::Missing
    } else {
        Lookup::WrongMethod(methods)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn nothing(_: &App, _: &Request) -> HandlerResult {
        Ok(Reply::no_content())
    }

    fn routes() -> Vec<Route> {
        vec![
            Route::get("/api/analysis/{id}", nothing),
            Route::delete("/api/analysis/{id}", nothing),
            Route::get("/health", nothing).unthrottled(),
        ]
    }

    #[test]
    fn matches_templates_and_extracts_params() {
        let routes = routes();
        match lookup(&routes, "DELETE", "/api/analysis/abc") {
            Lookup::Found(m) => {
                assert_eq!(m.param("id"), "abc");
                assert_eq!(m.key(), "DELETE /api/analysis/{id}");
            }
            _ => panic!("expected a match"),
        }
        assert!(matches!(
            lookup(&routes, "GET", "/health/"),
            Lookup::Found(m) if !m.route.throttled
        ));
        assert!(matches!(
            lookup(&routes, "GET", "/api/analysis/"),
            Lookup::Missing
        ));
        assert!(matches!(
            lookup(&routes, "GET", "/api/analysis/a/b"),
            Lookup::Missing
        ));
    }

    #[test]
    fn known_path_with_other_method_lists_allowed_methods() {
        let routes = routes();
        match lookup(&routes, "POST", "/api/analysis/x") {
            Lookup::WrongMethod(methods) => assert_eq!(methods, vec!["GET", "DELETE"]),
            _ => panic!("expected wrong method"),
        }
    }
}
