//! Route tables: each function declares its routes once; the edge matches paths against them,
//! answers 404/405/preflight, and logs the route template instead of raw paths carrying ids.

/// One method + path template, e.g. `GET /api/analysis/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// Whether the general per-IP rate limit applies (health checks and signed webhooks opt out).
    pub throttled: bool,
}

impl Route {
    pub const fn new(method: &'static str, path: &'static str) -> Self {
        Self {
            method,
            path,
            throttled: true,
        }
    }

    /// The same route without the general per-IP limit.
    pub const fn unthrottled(self) -> Self {
        Self {
            throttled: false,
            ..self
        }
    }
}

/// A matched route and the values of its `{params}`.
#[derive(Debug, Clone)]
pub struct RouteMatch {
    pub route: Route,
    params: Vec<(&'static str, String)>,
}

impl RouteMatch {
    /// The raw value of a path parameter; handlers parse it into a domain type.
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(key, _)| *key == name)
            .map_or("", |(_, value)| value.as_str())
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
pub enum Lookup {
    Found(RouteMatch),
    /// The path exists with other methods (listed for `Allow`).
    WrongMethod(Vec<&'static str>),
    Missing,
}

pub fn lookup(routes: &[Route], method: &str, path: &str) -> Lookup {
    let mut methods = Vec::new();
    for route in routes {
        if let Some(params) = match_path(route.path, path) {
            if route.method == method {
                return Lookup::Found(RouteMatch {
                    route: *route,
                    params,
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

    const ROUTES: &[Route] = &[
        Route::new("GET", "/api/analysis/{id}"),
        Route::new("DELETE", "/api/analysis/{id}"),
        Route::new("GET", "/health"),
    ];

    #[test]
    fn matches_templates_and_extracts_params() {
        match lookup(ROUTES, "DELETE", "/api/analysis/abc") {
            Lookup::Found(m) => {
                assert_eq!(m.param("id"), "abc");
                assert_eq!(m.key(), "DELETE /api/analysis/{id}");
            }
            _ => panic!("expected a match"),
        }
        assert!(matches!(
            lookup(ROUTES, "GET", "/health/"),
            Lookup::Found(_)
        ));
        assert!(matches!(
            lookup(ROUTES, "GET", "/api/analysis/"),
            Lookup::Missing
        ));
        assert!(matches!(
            lookup(ROUTES, "GET", "/api/analysis/a/b"),
            Lookup::Missing
        ));
    }

    #[test]
    fn known_path_with_other_method_lists_allowed_methods() {
        match lookup(ROUTES, "POST", "/api/analysis/x") {
            Lookup::WrongMethod(methods) => assert_eq!(methods, vec!["GET", "DELETE"]),
            _ => panic!("expected wrong method"),
        }
    }
}
