//! The OpenAPI document is the contract: every answer a test app gives is checked against it.
//!
//! The document is OpenAPI 3.1, whose schemas are JSON Schema 2020-12 (no 3.0 `nullable`), so
//! they go to the `jsonschema` crate as they are; a schema's `$ref`s point into the document's
//! `components`, which every compiled schema carries along. [`layer`] wraps a test app's router:
//! an answer whose path and method, status, content type or JSON body the document does not
//! describe is written to the app's [`Breaches`], printed at once, and fails the test when the app
//! is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Value, json};

/// The document the portal serves (`GET /api/v1/openapi.json`).
pub const DOCUMENT_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../functions/portal/assets/openapi.json"
);

/// Path templates whose last parameter spans several segments, which OpenAPI cannot say in the
/// template; the document says it in the parameter's description.
const MULTI_SEGMENT: &[&str] = &["/blobs/{key}"];

/// The parsed document and the schemas compiled so far.
pub struct Contract {
    doc: Value,
    compiled: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// The one contract of this process.
pub fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let text = std::fs::read_to_string(DOCUMENT_PATH).expect("the OpenAPI document");
        Contract::new(serde_json::from_str(&text).expect("the OpenAPI document is JSON"))
    })
}

/// One answer as the contract sees it.
pub struct Answer<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub status: StatusCode,
    pub headers: &'a HeaderMap,
    /// The body, when it is JSON (other bodies are not read: they may be large).
    pub json: Option<&'a [u8]>,
}

impl Contract {
    pub fn new(doc: Value) -> Self {
        Self {
            doc,
            compiled: Mutex::default(),
        }
    }

    /// The path template (and its path item) that `path` is an instance of.
    pub fn template(&self, path: &str) -> Option<(&str, &Value)> {
        let paths = self.doc["paths"].as_object()?;
        // A template of fixed segments wins over one with a parameter there.
        let mut best: Option<(&str, &Value, usize)> = None;
        for (template, item) in paths {
            if let Some(params) = matches(template, path) {
                if best.is_none_or(|(_, _, p)| params < p) {
                    best = Some((template, item, params));
                }
            }
        }
        best.map(|(t, i, _)| (t, i))
    }

    /// Whether the document describes `answer`; if not, what is wrong, naming the path, status
    /// and the schema's complaint.
    pub fn check(&self, answer: &Answer) -> Result<(), String> {
        let (method, path, status) = (answer.method, answer.path, answer.status);
        let content_type = answer
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(essence);
        let where_ = format!("{method} {path} answered {status}");
        let lower = method.as_str().to_ascii_lowercase();
        let operation = self.template(path).and_then(|(template, item)| {
            let op = item.get(lower.as_str()).or_else(|| {
                // HEAD is served wherever GET is.
                (method == Method::HEAD).then(|| item.get("get")).flatten()
            });
            op.map(|op| (template, op))
        });
        let Some((template, operation)) = operation else {
            // The document's rule: an unknown path or method is a bare 404/405, but under
            // `/api/v1` without a valid key the 401 comes first.
            if matches!(status.as_u16(), 404 | 405) && content_type.is_none() {
                return Ok(());
            }
            if status == StatusCode::UNAUTHORIZED && path.starts_with("/api/v1/") {
                let unauthorized = json!({"$ref": "#/components/responses/Unauthorized"});
                let key = "an unrouted path under /api/v1, 401";
                return self.check_response(&where_, key, &unauthorized, content_type, answer);
            }
            return Err(match self.template(path) {
                Some((template, _)) => format!(
                    "{where_}, but the OpenAPI document has no {} on {template}",
                    method.as_str()
                ),
                None => format!("{where_}, but no path of the OpenAPI document matches it"),
            });
        };
        let where_ = format!("{method} {path} ({template}) answered {status}");
        let responses = &operation["responses"];
        let code = status.as_u16().to_string();
        let range = format!("{}XX", status.as_u16() / 100);
        let (key, response) = [code.as_str(), range.as_str(), "default"]
            .into_iter()
            .find_map(|k| responses.get(k).map(|r| (k, r)))
            .ok_or_else(|| {
                let documented: Vec<&String> = responses
                    .as_object()
                    .map(|o| o.keys().collect())
                    .unwrap_or_default();
                format!("{where_}: status {code} is not documented (only {documented:?})")
            })?;
        let key = format!("{} {template} {key}", method.as_str());
        self.check_response(&where_, &key, response, content_type, answer)
    }

    /// Whether the answer's content type and JSON body are what `response` (an OpenAPI response
    /// object, named `key` in messages) describes.
    fn check_response(
        &self,
        where_: &str,
        key: &str,
        response: &Value,
        content_type: Option<String>,
        answer: &Answer,
    ) -> Result<(), String> {
        let response = self.resolve(response);
        let content = response.get("content").and_then(Value::as_object);
        let Some(content_type) = content_type else {
            // No body type: an empty body, which is true whatever the document lists.
            return Ok(());
        };
        let Some(content) = content else {
            return Err(format!(
                "{where_}: a `{content_type}` body, but the document gives {key} no content"
            ));
        };
        let (media, described) = media_type(content, &content_type).ok_or_else(|| {
            format!(
                "{where_}: content type `{content_type}` is not documented (only {:?})",
                content.keys().collect::<Vec<_>>()
            )
        })?;
        let (Some(schema), Some(bytes)) = (described.get("schema"), answer.json) else {
            return Ok(());
        };
        let body: Value = serde_json::from_slice(bytes)
            .map_err(|e| format!("{where_}: the `{content_type}` body is not JSON: {e}"))?;
        let validator = self.compiled(&format!("{key} `{media}`"), schema)?;
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .take(5)
            .map(|e| format!("at `{}`: {e}", e.instance_path()))
            .collect();
        let mut undeclared = Vec::new();
        self.undeclared(schema, &body, "", &mut undeclared);
        if errors.is_empty() && undeclared.is_empty() {
            Ok(())
        } else if errors.is_empty() {
            Err(format!(
                "{where_}: fields the schema of {key} `{media}` does not declare: {}\nbody: {}",
                undeclared.join(", "),
                shorten(&body.to_string())
            ))
        } else {
            Err(format!(
                "{where_}: the body does not match the schema of {key} `{media}`: {}\nbody: {}",
                errors.join("; "),
                shorten(&body.to_string())
            ))
        }
    }

    /// The fields of `value` that `schema` does not declare, as JSON pointers. The document's
    /// schemas leave objects open (a client ignores fields it does not know), but a field the
    /// server sends and the document does not name is a gap in the contract. Objects whose schema
    /// declares no `properties` (maps, free-form data) are not looked into.
    fn undeclared(&self, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
        match value {
            Value::Object(fields) => {
                let mut declared: HashMap<&str, &Value> = HashMap::new();
                let mut open = false;
                self.declarations(schema, &mut declared, &mut open);
                if declared.is_empty() {
                    return;
                }
                for (name, field) in fields {
                    let at = format!("{at}/{name}");
                    match declared.get(name.as_str()) {
                        Some(sub) => self.undeclared(sub, field, &at, out),
                        None if open => {}
                        None => out.push(at),
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let mut item_schemas = Vec::new();
                    self.item_schemas(schema, &mut item_schemas);
                    for sub in item_schemas {
                        self.undeclared(sub, item, &format!("{at}/{i}"), out);
                    }
                }
            }
            _ => {}
        }
    }

    /// The properties `schema` declares, through `$ref`, `allOf`, `anyOf` and `oneOf`; `open`
    /// when it also allows others.
    fn declarations<'a>(
        &'a self,
        schema: &'a Value,
        declared: &mut HashMap<&'a str, &'a Value>,
        open: &mut bool,
    ) {
        let schema = self.resolve(schema);
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                declared.entry(name.as_str()).or_insert(sub);
            }
        }
        if schema
            .get("additionalProperties")
            .is_some_and(|a| a != &Value::Bool(false))
            || schema.get("patternProperties").is_some()
        {
            *open = true;
        }
        for sub in branches(schema) {
            self.declarations(sub, declared, open);
        }
    }

    /// The schemas of an array's items, through `$ref` and the combinators.
    fn item_schemas<'a>(&'a self, schema: &'a Value, out: &mut Vec<&'a Value>) {
        let schema = self.resolve(schema);
        if let Some(items) = schema.get("items") {
            out.push(items);
        }
        for sub in branches(schema) {
            self.item_schemas(sub, out);
        }
    }

    /// Whether a webhook's body is what the document's `webhooks` say of its `type`.
    pub fn check_webhook(&self, body: &str) -> Result<(), String> {
        let value: Value =
            serde_json::from_str(body).map_err(|e| format!("a webhook body is not JSON: {e}"))?;
        let kind = value["type"].as_str().unwrap_or_default();
        let request_body = self.resolve(&self.doc["webhooks"][kind]["post"]["requestBody"]);
        let schema = request_body["content"]["application/json"]
            .get("schema")
            .ok_or_else(|| format!("webhook `{kind}` is not in the OpenAPI document: {body}"))?;
        let validator = self.compiled(&format!("webhook {kind}"), schema)?;
        let mut complaints: Vec<String> = validator
            .iter_errors(&value)
            .take(5)
            .map(|e| format!("at `{}`: {e}", e.instance_path()))
            .collect();
        let mut undeclared = Vec::new();
        self.undeclared(schema, &value, "", &mut undeclared);
        complaints.extend(
            undeclared
                .iter()
                .map(|at| format!("undeclared field `{at}`")),
        );
        if complaints.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "webhook `{kind}` does not match the document: {}\nbody: {}",
                complaints.join("; "),
                shorten(body)
            ))
        }
    }

    /// A response object, its `$ref` followed.
    fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        while let Some(pointer) = value.get("$ref").and_then(Value::as_str) {
            value = self
                .doc
                .pointer(pointer.trim_start_matches('#'))
                .unwrap_or(&Value::Null);
        }
        value
    }

    /// The schema compiled once per operation, status and media type. It is compiled inside a
    /// copy of the document's components, so their `$ref`s resolve.
    fn compiled(&self, key: &str, schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
        if let Some(v) = self.compiled.lock().unwrap().get(key) {
            return Ok(v.clone());
        }
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.doc["components"],
            "allOf": [schema],
        });
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| format!("the schema of {key} does not compile: {e}"))?;
        let validator = Arc::new(validator);
        self.compiled
            .lock()
            .unwrap()
            .insert(key.to_owned(), validator.clone());
        Ok(validator)
    }
}

/// The subschemas of `allOf`, `anyOf` and `oneOf`.
fn branches(schema: &Value) -> impl Iterator<Item = &Value> {
    ["allOf", "anyOf", "oneOf"]
        .into_iter()
        .filter_map(|combinator| schema.get(combinator).and_then(Value::as_array))
        .flatten()
}

/// How many parameters `template` spends on `path`, if it matches at all.
fn matches(template: &str, path: &str) -> Option<usize> {
    let wanted: Vec<&str> = template.split('/').collect();
    let got: Vec<&str> = path.split('/').collect();
    let multi = MULTI_SEGMENT.contains(&template);
    if got.len() != wanted.len() && !(multi && got.len() > wanted.len()) {
        return None;
    }
    let mut params = 0;
    for (i, want) in wanted.iter().enumerate() {
        let seg = got[i];
        match want.find('{') {
            None if *want == seg => {}
            None => return None,
            Some(open) => {
                // `{id}.eml`: a parameter with fixed text before or after it.
                let close = want.find('}')?;
                let (prefix, suffix) = (&want[..open], &want[close + 1..]);
                let last = i + 1 == wanted.len();
                let seg = if multi && last {
                    &path[path.len() - got[i..].join("/").len()..]
                } else {
                    seg
                };
                if seg.len() <= prefix.len() + suffix.len()
                    || !seg.starts_with(prefix)
                    || !seg.ends_with(suffix)
                {
                    return None;
                }
                params += 1;
            }
        }
    }
    Some(params)
}

/// `application/json; charset=utf-8` → `application/json`.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The documented media type that covers `content_type` (exactly, `type/*` or `*/*`).
fn media_type<'a>(
    content: &'a serde_json::Map<String, Value>,
    content_type: &str,
) -> Option<(&'a str, &'a Value)> {
    let family = format!("{}/*", content_type.split('/').next().unwrap_or_default());
    [content_type, family.as_str(), "*/*"]
        .into_iter()
        .find_map(|k| content.get_key_value(k))
        .map(|(k, v)| (k.as_str(), v))
}

/// Whether a body of this type is JSON (read and checked against its schema).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(essence)
        .is_some_and(|ct| ct == "application/json" || ct.ends_with("+json"))
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(600) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// What answers of one app broke the contract.
#[derive(Default)]
pub struct Breaches(Mutex<Vec<String>>);

impl Breaches {
    pub fn record(&self, breach: String) {
        eprintln!("OpenAPI contract broken: {breach}");
        self.0.lock().unwrap().push(breach);
    }

    /// The breaches so far, forgotten (so a test that provokes one on purpose can take it).
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Middleware: checks every answer against [`contract`] and records what does not match.
pub async fn layer(State(breaches): State<Arc<Breaches>>, req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let res = next.run(req).await;
    let status = res.status();
    if !is_json(res.headers()) {
        let answer = Answer {
            method: &method,
            path: &path,
            status,
            headers: res.headers(),
            json: None,
        };
        if let Err(breach) = contract().check(&answer) {
            breaches.record(breach);
        }
        return res;
    }
    let (parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => {
            breaches.record(format!("{method} {path}: the body could not be read: {e}"));
            return Response::from_parts(parts, Body::empty());
        }
    };
    let answer = Answer {
        method: &method,
        path: &path,
        status,
        headers: &parts.headers,
        json: Some(&bytes),
    };
    if let Err(breach) = contract().check(&answer) {
        breaches.record(breach);
    }
    Response::from_parts(parts, Body::from(bytes))
}
