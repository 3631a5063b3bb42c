//! The Router as a Lambda behind an API Gateway REST API. lambda_http puts the stage in the path
//! (`/prod/p/…`); the routes know no stage, so it is taken off before routing.

use axum::Router;
use axum::http::{Request, Uri};
use lambda_http::request::RequestContext;
use tower::ServiceBuilder;
use tower::util::MapRequest;

use crate::state::StagePrefix;
use crate::{AppState, app};

pub type LambdaService =
    MapRequest<Router, fn(Request<lambda_http::Body>) -> Request<lambda_http::Body>>;

/// The service `lambda_http::run` serves: the same Router, stage prefix removed.
pub fn service(state: AppState) -> LambdaService {
    ServiceBuilder::new()
        .map_request(strip_stage as fn(Request<lambda_http::Body>) -> Request<lambda_http::Body>)
        .service(app(state))
}

pub fn strip_stage<B>(mut req: Request<B>) -> Request<B> {
    let stage = match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.stage.clone(),
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage.filter(|s| s != "$default") else {
        return req;
    };
    let prefix = format!("/{stage}");
    let path = req.uri().path();
    let rest = match path.strip_prefix(&prefix) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => return req,
    };
    let path_and_query = match req.uri().query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    };
    if let Ok(uri) = path_and_query.parse::<Uri>() {
        *req.uri_mut() = uri;
        req.extensions_mut().insert(StagePrefix(prefix));
    }
    req
}
