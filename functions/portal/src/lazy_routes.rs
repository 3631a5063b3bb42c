//! Route tables built at their first request. A Lambda cold start for a department's page view
//! then does not build the console's or the API's tables (about 0.3 ms of init, measured in
//! docs/performance.md); the first console or API request builds its own, once per process.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use futures_util::future::{Either, Ready, ready};
use tower::Service;

/// A Router made by `make` at the first request it serves.
#[derive(Clone)]
pub struct LazyRoutes {
    make: Arc<dyn Fn() -> Router + Send + Sync>,
    built: Arc<OnceLock<Router>>,
}

impl LazyRoutes {
    pub fn new(make: impl Fn() -> Router + Send + Sync + 'static) -> Self {
        Self {
            make: Arc::new(make),
            built: Arc::new(OnceLock::new()),
        }
    }

    /// Whether the table has been built.
    pub fn is_built(&self) -> bool {
        self.built.get().is_some()
    }

    fn router(&self) -> Router {
        self.built.get_or_init(|| (self.make)()).clone()
    }
}

/// Sends a request whose path is a prefix, or lies under it, to that prefix's table; any other
/// is not found. Used as a Router's fallback, it leaves the request as it came: no matched path
/// or path parameters of an outer route, so each table routes and logs the whole path itself.
#[derive(Clone)]
pub struct ByPrefix(Arc<[(&'static str, LazyRoutes)]>);

impl ByPrefix {
    pub fn new(tables: impl IntoIterator<Item = (&'static str, LazyRoutes)>) -> Self {
        Self(tables.into_iter().collect())
    }

    fn table_for(&self, path: &str) -> Option<&LazyRoutes> {
        self.0.iter().find_map(|(prefix, table)| {
            let rest = path.strip_prefix(prefix)?;
            (rest.is_empty() || rest.starts_with('/')).then_some(table)
        })
    }
}

impl Service<Request> for ByPrefix {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<RouteFuture<Infallible>, Ready<Result<Response, Infallible>>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        match self.table_for(req.uri().path()) {
            Some(table) => Either::Left(table.router().call(req)),
            None => Either::Right(ready(Ok(StatusCode::NOT_FOUND.into_response()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::extract::{MatchedPath, Path};
    use axum::routing::get;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tower::ServiceExt;

    async fn matched(path: MatchedPath, Path(id): Path<String>) -> String {
        format!("{} {id}", path.as_str())
    }

    async fn get_body(app: &Router, path: &str) -> (StatusCode, String) {
        let res = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn a_table_is_built_once_at_its_first_request_and_routes_the_whole_path() {
        let builds = Arc::new(AtomicUsize::new(0));
        let inner = LazyRoutes::new({
            let builds = builds.clone();
            move || {
                builds.fetch_add(1, Ordering::SeqCst);
                Router::new()
                    .route("/inner", get(|| async { "start" }))
                    .route("/inner/{id}", get(matched))
            }
        });
        let app = Router::new()
            .route("/", get(|| async { "home" }))
            .fallback_service(ByPrefix::new([("/inner", inner.clone())]));

        assert_eq!(get_body(&app, "/").await, (StatusCode::OK, "home".into()));
        assert!(!inner.is_built(), "a page request builds no other table");
        assert_eq!(builds.load(Ordering::SeqCst), 0);

        for _ in 0..2 {
            // Its own route and its own single path parameter, nothing of an outer route.
            assert_eq!(
                get_body(&app, "/inner/7").await,
                (StatusCode::OK, "/inner/{id} 7".into())
            );
        }
        assert_eq!(get_body(&app, "/inner").await.1, "start");
        assert_eq!(builds.load(Ordering::SeqCst), 1);

        for elsewhere in ["/inner/7/8", "/innerx", "/other"] {
            assert_eq!(get_body(&app, elsewhere).await.0, StatusCode::NOT_FOUND);
        }
    }
}
