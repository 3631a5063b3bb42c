//! Link tokens kept sealed: the store holds a token's SHA-256 (to resolve links) and, so later
//! mails (reminders, publications, rejections) can carry the same link, the token encrypted with
//! AES-256-GCM under a key the store never sees, bound to its request.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::domain::{Id, LinkToken};

#[derive(Clone)]
pub struct LinkKey([u8; 32]);

impl LinkKey {
    /// Derives the key from a secret of any length (a generated secret string).
    pub fn from_secret(secret: &str) -> Self {
        Self(Sha256::digest(secret.trim().as_bytes()).into())
    }

    /// The records key of an install that set only a link key (see [`LinkKey::derive`]).
    pub fn derived_from(link_key: &LinkKey) -> Self {
        Self(link_key.derive("records"))
    }

    /// A separate key for another purpose (e.g. signing cursors), so one secret serves both
    /// without one use weakening the other.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"portaal-derive|");
        h.update(purpose.as_bytes());
        h.update(b"|");
        h.update(self.0);
        h.finalize().into()
    }

    pub fn seal(&self, token: &LinkToken, request: &Id) -> String {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let cipher = Aes256Gcm::new((&self.0).into());
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: token.expose().as_bytes(),
                    aad: request.as_str().as_bytes(),
                },
            )
            .expect("AES-GCM encryption of a short message cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(out)
    }

    /// The token, if it was sealed under this key for this request.
    pub fn open(&self, sealed: &str, request: &Id) -> Option<LinkToken> {
        let raw = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(sealed)
            .ok()?;
        if raw.len() < 12 {
            return None;
        }
        let (nonce, ciphertext) = raw.split_at(12);
        let cipher = Aes256Gcm::new((&self.0).into());
        let plain = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: request.as_str().as_bytes(),
                },
            )
            .ok()?;
        LinkToken::parse(std::str::from_utf8(&plain).ok()?).ok()
    }
}

/// Keys the `case_ref` of destruction records (`PORTAAL_RECORDS_KEY`): an HMAC-SHA256 of the
/// case number's SHA-256, so only the portal can match a case number to its record (a bare hash
/// is reversed by trying case numbers), and records that held the bare hash move over without it.
#[derive(Clone)]
pub struct RecordsKey([u8; 32]);

impl RecordsKey {
    pub fn from_secret(secret: &str) -> Self {
        Self(Sha256::digest(secret.trim().as_bytes()).into())
    }

    /// The records key of an install that set only a link key (see [`LinkKey::derive`]).
    pub fn derived_from(link_key: &LinkKey) -> Self {
        Self(link_key.derive("records"))
    }

    /// A key of this process only (tests, and installs that set no key: records made then
    /// cannot be found by case number after a restart).
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self(key)
    }

    /// The record's reference for a case number.
    pub fn case_ref(&self, case: &crate::domain::CaseId) -> String {
        self.case_ref_of_hash(&hex::encode(Sha256::digest(case.as_str().as_bytes())))
    }

    /// The reference of a record that stored the case number's hex SHA-256.
    pub fn case_ref_of_hash(&self, case_hash: &str) -> String {
        use hmac::Mac;
        let mut mac = <hmac::Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC takes any key length");
        mac.update(case_hash.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for RecordsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordsKey(<redacted>)")
    }
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Id {
        Id::from_ulid(ulid::Ulid(n))
    }

    #[test]
    fn a_case_ref_needs_the_key_and_old_hashes_map_onto_it() {
        let case = crate::domain::CaseId::parse("BZ-2026-0042").unwrap();
        let key = RecordsKey::from_secret("archief");
        let reference = key.case_ref(&case);
        let bare = hex::encode(Sha256::digest(b"BZ-2026-0042"));
        assert_ne!(reference, bare);
        assert_eq!(
            key.case_ref_of_hash(&bare),
            reference,
            "migrates from the hash"
        );
        assert_ne!(RecordsKey::from_secret("anders").case_ref(&case), reference);
        assert_eq!(reference.len(), 64);
    }

    #[test]
    fn a_sealed_token_opens_only_with_its_key_and_request() {
        let key = LinkKey::from_secret("geheim");
        let token = LinkToken::generate();
        let sealed = key.seal(&token, &id(1));
        assert!(!sealed.contains(token.expose()));
        assert_eq!(key.open(&sealed, &id(1)), Some(token));
        assert_eq!(key.open(&sealed, &id(2)), None, "bound to its request");
        assert_eq!(
            LinkKey::from_secret("anders").open(&sealed, &id(1)),
            None,
            "bound to its key"
        );
        assert_eq!(key.open("bm9uc2Vuc2U", &id(1)), None);
    }
}
