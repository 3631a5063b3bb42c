//! The Router as a Lambda behind an API Gateway REST API. The routes know no stage: lambda_http
//! leaves it out of the path when `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH` is set (the template
//! sets it on the function, `.cargo/config.toml` for the tests), so API Gateway's path is routed
//! as it is. The stage is still where the caller reached us: links are made under it.

use axum::Router;
use axum::http::Request;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;
use tower::ServiceBuilder;
use tower::util::MapRequest;

use crate::state::StagePrefix;
use crate::{AppState, app};

/// The variable that keeps lambda_http from putting the stage in front of the path.
pub const IGNORE_STAGE_IN_PATH: &str = "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH";

pub type LambdaService =
    MapRequest<Router, fn(Request<lambda_http::Body>) -> Request<lambda_http::Body>>;

/// The service `lambda_http::run` serves: the same Router, told the stage it is served under.
pub fn service(state: AppState) -> LambdaService {
    ServiceBuilder::new()
        .map_request(with_stage as fn(Request<lambda_http::Body>) -> Request<lambda_http::Body>)
        .service(app(state))
}

/// Notes the API Gateway stage of the request (none for `$default`) for the links.
fn with_stage<B>(mut req: Request<B>) -> Request<B> {
    let stage = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.stage.clone(),
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.stage.clone(),
        _ => None,
    };
    if let Some(stage) = stage.filter(|s| s != "$default") {
        req.extensions_mut()
            .insert(StagePrefix(format!("/{stage}")));
    }
    req
}
