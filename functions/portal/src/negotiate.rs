//! `Accept` negotiation, one way for every route that answers in more than one media type.

use axum::http::{HeaderMap, header};

/// Which of `offered` the client lists first in `Accept` (quality values aside: clients of this
/// API list what they want first); `None` when it names none of them (then the route's default).
pub fn preferred<'a>(headers: &HeaderMap, offered: &[&'a str]) -> Option<&'a str> {
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    accept
        .split(',')
        .map(portaal_core::domain::ContentType::essence)
        .find_map(|media| offered.iter().find(|o| **o == media).copied())
}

/// A JSON answer instead of the route's HTML page.
pub fn wants_json(headers: &HeaderMap) -> bool {
    preferred(headers, &["text/html", "application/json"]) == Some("application/json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn the_first_named_offer_wins() {
        assert!(wants_json(&accept("application/json")));
        assert!(wants_json(&accept("application/json; q=1, */*")));
        assert!(!wants_json(&accept(
            "text/html,application/xhtml+xml,application/json;q=0.9"
        )));
        assert!(!wants_json(&accept("*/*")));
        assert!(!wants_json(&HeaderMap::new()));
        assert_eq!(
            preferred(
                &accept("TEXT/CSV;q=0.9, application/json"),
                &["application/json", "text/csv"]
            ),
            Some("text/csv")
        );
    }
}
