//! The portal: pages for link holders and the case-system API, one axum Router served by a local
//! server or, unchanged, by `lambda_http` behind API Gateway.

pub mod api;
pub mod caller;
pub mod dev;
pub mod integration;
pub mod lambda;
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

pub use state::AppState;

/// JSON bodies are small; file bytes never come through this router's JSON routes.
const JSON_BODY_LIMIT: usize = 256 * 1024;

pub fn app(state: AppState) -> Router {
    let pages_and_api = Router::new()
        .route("/", get(portal::home))
        .route("/assets/portal.css", get(portal::css))
        .route("/assets/js/{name}", get(portal::script))
        .merge(portal::routes())
        .merge(staff::routes())
        .nest("/api/v1", api::routes(state.clone()));
    let pages_and_api = middleware::logged(pages_and_api).with_state(state.clone());
    // The body limit and the timeout wrap the pages and the API once (a layer added to a Router
    // is cloned and boxed per route, which a cold start pays for). The signed blob routes
    // (dev::routes) stay outside them: a large upload is large and takes long.
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
