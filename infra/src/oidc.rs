//! The staff console's identity provider: an OpenID Connect client (authorization code flow with
//! PKCE S256, `state` and `nonce`) on the `openidconnect` crate, over the workspace's reqwest
//! (rustls). Discovery happens at the first sign-in and is retried until it succeeds, so a
//! provider that is down at start does not stop the portal. The crate checks the ID token's
//! signature (against the provider's JWKS), issuer, audience, expiry and nonce.

use async_trait::async_trait;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndSessionUrl,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken, IdTokenVerifier, IssuerUrl,
    LogoutRequest, Nonce, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, Scope, TokenResponse,
};
use portaal_core::staff::{Identity, IdentityProvider, PendingSignIn, SignInError, SignInStart};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::config::OidcConfig;

/// A client as discovery makes it: authorization endpoint set, token and userinfo endpoints as
/// the provider's metadata says.
type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Every claim of the ID token beyond the standard ones, so the roles claim can be any name.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct OtherClaims(serde_json::Map<String, serde_json::Value>);

impl AdditionalClaims for OtherClaims {}

type StaffIdToken = IdToken<
    OtherClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

struct Discovered {
    client: DiscoveredClient,
    end_session: Option<EndSessionUrl>,
}

pub struct Oidc {
    config: OidcConfig,
    redirect: RedirectUrl,
    http: std::sync::OnceLock<Result<reqwest::Client, String>>,
    discovered: OnceCell<Discovered>,
}

impl Oidc {
    /// A client for `config` whose redirect URI is `{public_url}/staff/auth/callback`.
    pub fn new(config: OidcConfig, public_url: &str) -> Result<Self, String> {
        let redirect = RedirectUrl::new(OidcConfig::redirect_uri(public_url))
            .map_err(|e| format!("redirect URI: {e}"))?;
        Ok(Self {
            config,
            redirect,
            http: std::sync::OnceLock::new(),
            discovered: OnceCell::new(),
        })
    }

    /// The client that talks to the provider, made at the first sign-in: making it reads and
    /// parses the system's trusted roots (4 ms of a Lambda cold start, docs/performance.md),
    /// which a department's page view never needs.
    fn http(&self) -> Result<&reqwest::Client, SignInError> {
        self.http
            .get_or_init(|| {
                reqwest::Client::builder()
                    // Following redirects would let the provider's metadata point us anywhere
                    // (SSRF).
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(std::time::Duration::from_secs(10))
                    .build()
                    .map_err(|e| format!("HTTP client: {e}"))
            })
            .as_ref()
            .map_err(|e| SignInError::Unavailable(e.clone()))
    }

    /// Whether the client to the provider has been made (it is at the first sign-in).
    pub fn is_connected(&self) -> bool {
        self.http.get().is_some()
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    async fn discovered(&self) -> Result<&Discovered, SignInError> {
        self.discovered
            .get_or_try_init(|| async {
                let issuer = IssuerUrl::new(self.config.issuer.clone())
                    .map_err(|e| SignInError::Unavailable(format!("issuer URL: {e}")))?;
                let metadata = ProviderMetadataWithLogout::discover_async(issuer, self.http()?)
                    .await
                    .map_err(|e| {
                        SignInError::Unavailable(format!(
                            "discovery at {}: {e}",
                            self.config.issuer
                        ))
                    })?;
                let end_session = metadata.additional_metadata().end_session_endpoint.clone();
                let client = CoreClient::from_provider_metadata(
                    metadata,
                    ClientId::new(self.config.client_id.clone()),
                    self.config
                        .client_secret
                        .as_ref()
                        .map(|s| ClientSecret::new(s.expose().to_owned())),
                )
                .set_redirect_uri(self.redirect.clone());
                Ok(Discovered {
                    client,
                    end_session,
                })
            })
            .await
    }
}

#[async_trait]
impl IdentityProvider for Oidc {
    async fn start(&self) -> Result<SignInStart, SignInError> {
        let discovered = self.discovered().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = discovered
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge);
        for scope in &self.config.extra_scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        Ok(SignInStart {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    async fn finish(&self, code: &str, pending: &PendingSignIn) -> Result<Identity, SignInError> {
        let discovered = self.discovered().await?;
        let response = discovered
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| SignInError::Unavailable(format!("token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
            .request_async(self.http()?)
            .await
            .map_err(|e| {
                SignInError::Refused(format!("the code was not redeemed: {}", chain(&e)))
            })?;
        let raw = response
            .id_token()
            .ok_or_else(|| SignInError::Refused("the provider sent no ID token".into()))?
            .to_string();
        identity_from_id_token(
            &discovered.client.id_token_verifier(),
            &raw,
            &pending.nonce,
            &self.config.roles_claim,
        )
    }

    async fn logout_url(&self, id_token: Option<&str>, after: &str) -> Option<String> {
        let discovered = self.discovered().await.ok()?;
        let endpoint = discovered.end_session.clone()?;
        let mut request = LogoutRequest::from(endpoint)
            .set_client_id(ClientId::new(self.config.client_id.clone()));
        if let Some(token) = id_token.and_then(|t| t.parse::<StaffIdToken>().ok()) {
            request = request.set_id_token_hint(&token);
        }
        if let Ok(after) = PostLogoutRedirectUrl::new(after.to_owned()) {
            request = request.set_post_logout_redirect_uri(after);
        }
        Some(request.http_get_url().to_string())
    }
}

/// An error with its causes, which the crate's errors keep apart.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// Checks an ID token (signature, issuer, audience, expiry, nonce: all by the crate) and reads
/// who it names and the values of `roles_claim` (an array of strings, or one string).
pub fn identity_from_id_token(
    verifier: &IdTokenVerifier<CoreJsonWebKey>,
    raw: &str,
    nonce: &str,
    roles_claim: &str,
) -> Result<Identity, SignInError> {
    let token: StaffIdToken = raw
        .parse()
        .map_err(|e| SignInError::Refused(format!("the ID token is malformed: {e}")))?;
    let claims = token
        .claims(verifier, &Nonce::new(nonce.to_owned()))
        .map_err(|e| SignInError::Refused(format!("the ID token is not valid: {e}")))?;
    let role_values = match claims.additional_claims().0.get(roles_claim) {
        Some(serde_json::Value::Array(values)) => values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    Ok(Identity {
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|e| e.as_str().to_owned()),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned()),
        role_values,
        id_token: Some(raw.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    //! Tokens signed with a test key (made for these tests only) against a verifier that knows
    //! its public half: each check the crate makes refuses the token it should.

    use super::*;
    use chrono::{Duration, Utc};
    use openidconnect::core::CoreRsaPrivateSigningKey;
    use openidconnect::{
        Audience, IdTokenClaims, JsonWebKeyId, JsonWebKeySet, PrivateSigningKey, StandardClaims,
        SubjectIdentifier,
    };

    const TEST_KEY: &str = include_str!("oidc/test-signing-key.pem");
    const ISSUER: &str = "https://idp.example.nl/realms/jz";
    const CLIENT: &str = "portaal";
    const NONCE: &str = "nonce-0123";

    fn signing_key() -> CoreRsaPrivateSigningKey {
        CoreRsaPrivateSigningKey::from_pem(TEST_KEY, Some(JsonWebKeyId::new("test".into())))
            .expect("the test key parses")
    }

    fn verifier() -> IdTokenVerifier<'static, CoreJsonWebKey> {
        IdTokenVerifier::new_confidential_client(
            ClientId::new(CLIENT.into()),
            ClientSecret::new("secret".into()),
            IssuerUrl::new(ISSUER.into()).unwrap(),
            JsonWebKeySet::new(vec![signing_key().as_verification_key()]),
        )
    }

    struct Claims {
        issuer: &'static str,
        audience: &'static str,
        nonce: &'static str,
        expires_in: Duration,
    }

    impl Default for Claims {
        fn default() -> Self {
            Self {
                issuer: ISSUER,
                audience: CLIENT,
                nonce: NONCE,
                expires_in: Duration::minutes(5),
            }
        }
    }

    fn token(c: Claims) -> String {
        let now = Utc::now();
        let mut other = serde_json::Map::new();
        other.insert("groups".into(), serde_json::json!(["JZ-Behandelaar", "x"]));
        let claims = IdTokenClaims::new(
            IssuerUrl::new(c.issuer.into()).unwrap(),
            vec![Audience::new(c.audience.into())],
            now + c.expires_in,
            now - Duration::minutes(1),
            StandardClaims::new(SubjectIdentifier::new("user-1".into())).set_email(Some(
                openidconnect::EndUserEmail::new("m.jansen@example.nl".into()),
            )),
            OtherClaims(other),
        )
        .set_nonce(Some(Nonce::new(c.nonce.into())));
        StaffIdToken::new(
            claims,
            &signing_key(),
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            None,
            None,
        )
        .unwrap()
        .to_string()
    }

    fn check(raw: &str) -> Result<Identity, SignInError> {
        identity_from_id_token(&verifier(), raw, NONCE, "groups")
    }

    fn refused_for(raw: &str, why: &str) {
        match check(raw) {
            Err(SignInError::Refused(detail)) => {
                assert!(detail.contains("not valid"), "{why}: {detail}")
            }
            other => panic!("{why}: expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_token_names_the_user_and_the_role_values() {
        let raw = token(Claims::default());
        let identity = check(&raw).unwrap();
        assert_eq!(identity.subject, "user-1");
        assert_eq!(identity.email.as_deref(), Some("m.jansen@example.nl"));
        assert_eq!(identity.role_values, vec!["JZ-Behandelaar", "x"]);
        assert_eq!(identity.id_token.as_deref(), Some(raw.as_str()));
    }

    #[test]
    fn a_token_from_another_issuer_is_refused() {
        refused_for(
            &token(Claims {
                issuer: "https://evil.example/realms/jz",
                ..Claims::default()
            }),
            "issuer",
        );
    }

    #[test]
    fn a_token_for_another_client_is_refused() {
        refused_for(
            &token(Claims {
                audience: "someone-else",
                ..Claims::default()
            }),
            "audience",
        );
    }

    #[test]
    fn a_token_with_another_nonce_is_refused() {
        refused_for(
            &token(Claims {
                nonce: "replayed",
                ..Claims::default()
            }),
            "nonce",
        );
    }

    #[test]
    fn an_expired_token_is_refused() {
        refused_for(
            &token(Claims {
                expires_in: Duration::minutes(-2),
                ..Claims::default()
            }),
            "expiry",
        );
    }

    #[test]
    fn a_token_with_a_bad_signature_is_refused() {
        let raw = token(Claims::default());
        // Another payload under the same signature: the signature no longer matches.
        let mut parts: Vec<String> = raw.split('.').map(str::to_owned).collect();
        let other = token(Claims {
            nonce: NONCE,
            expires_in: Duration::minutes(6),
            ..Claims::default()
        });
        parts[1] = other.split('.').nth(1).unwrap().to_owned();
        refused_for(&parts.join("."), "signature");
        // And a token signed by a key the provider never published.
        let mut unsigned: Vec<&str> = raw.split('.').collect();
        unsigned[2] = "AAAA";
        refused_for(&unsigned.join("."), "signature bytes");
    }
}
