//! The portal: pages for link holders and the case-system API, one axum Router served by a local
//! server or, unchanged, by `lambda_http` behind API Gateway.

pub mod api;
pub mod caller;
pub mod dev;
pub mod integration;
pub mod lambda;
pub mod lazy_routes;
pub mod listener;
pub mod local;
pub mod middleware;
pub mod negotiate;
pub mod page;
pub mod portal;
pub mod problem;
pub mod records;
pub mod staff;
pub mod state;

use axum::Router;
use axum::routing::get;
use lazy_routes::{ByPrefix, LazyRoutes};

pub use state::AppState;

/// JSON bodies are small; file bytes never come through this router's JSON routes.
const JSON_BODY_LIMIT: usize = 256 * 1024;

pub fn app(state: AppState) -> Router {
    // The console's and the API's tables are built at their first request (lazy_routes): a page
    // view's cold start does not pay for them. Each logs its own routes.
    let console = LazyRoutes::new({
        let state = state.clone();
        move || middleware::logged(staff::routes()).with_state(state.clone())
    });
    let api = LazyRoutes::new({
        let state = state.clone();
        move || {
            middleware::logged(Router::new().nest("/api/v1", api::routes(state.clone())))
                .with_state(state.clone())
        }
    });
    let pages = Router::new()
        .route("/", get(portal::home))
        .route("/assets/portal.css", get(portal::css))
        .route("/assets/js/{name}", get(portal::script))
        .merge(portal::routes());
    let pages_and_api = middleware::logged(pages)
        .with_state(state.clone())
        .fallback_service(ByPrefix::new([("/staff", console), ("/api/v1", api)]));
    let pages_and_api = Router::new().fallback_service(pages_and_api);
    let pages_and_api = middleware::with_body_limit(pages_and_api, JSON_BODY_LIMIT);
    let mut router = middleware::with_timeout(pages_and_api, middleware::REQUEST_TIMEOUT);
    if let Some(embedded) = state.system.embedded.clone() {
        let blobs = dev::routes(
            embedded,
            state.system.portaal.clone(),
            state.system.config.limits.upload_idle,
            state.system.config.dev_routes,
        );
        router = router.merge(middleware::logged(blobs).with_state(state.clone()));
    }
    middleware::around(router, &state)
}
