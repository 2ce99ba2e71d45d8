//! Access tokens: which document (or id prefix) a connection may open, read-only or read-write,
//! until when.
//!
//! A token is `BASE64URL(JSON grant) "." BASE64URL(HMAC-SHA256(key, JSON grant))`, so an operator
//! can mint tokens with the server's key (`tandem-server token ...`) and the server checks them
//! without any database. The clock is passed in ([`AuthKey::verify`] takes `now`), which keeps
//! expiry testable.
//!
//! ```
//! use tandem_server::auth::{Access, AuthKey, Grant};
//!
//! let key = AuthKey::new(b"secret");
//! let token = key.mint(&Grant { doc: "notes".into(), prefix: false, access: Access::ReadOnly, expires_at: Some(100), name: None });
//! assert_eq!(key.verify(&token, "notes", 50), Ok(Access::ReadOnly));
//! assert!(key.verify(&token, "other", 50).is_err());
//! assert!(key.verify(&token, "notes", 100).is_err());
//! ```

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What a connection may do with a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Access {
    /// Receive the document and everyone's changes, send presence; updates are refused.
    #[serde(rename = "r")]
    ReadOnly,
    /// Read and edit.
    #[serde(rename = "rw")]
    ReadWrite,
}

impl From<Access> for tandem_crdt::PeerAccess {
    fn from(access: Access) -> Self {
        match access {
            Access::ReadOnly => Self::ReadOnly,
            Access::ReadWrite => Self::ReadWrite,
        }
    }
}

/// What a token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The document id, or the id prefix when `prefix` is set.
    pub doc: String,
    /// Whether `doc` is a prefix: the token opens every document whose id starts with it.
    #[serde(default)]
    pub prefix: bool,
    /// Read-only or read-write.
    pub access: Access,
    /// Unix time in seconds from which the token is refused; `None` never expires.
    #[serde(rename = "exp", default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// Who holds the token: the author name of its edits in the version history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The `name` claim of `token`, read without checking the signature: only for a token
/// [`AuthKey::verify`] accepted.
pub fn name_claim(token: &str) -> Option<String> {
    let (payload, _) = token.split_once('.')?;
    let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let grant: Grant = serde_json::from_slice(&payload).ok()?;
    grant.name.filter(|name| !name.is_empty())
}

/// Why a token was refused. The messages are sent to the client as the close reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The server requires a token and none was given.
    #[error("a token is required (?token=...)")]
    Missing,
    /// The token is not of the form `payload.signature` or does not decode.
    #[error("malformed token")]
    Malformed,
    /// The signature does not match: wrong key or tampered payload.
    #[error("invalid token signature")]
    BadSignature,
    /// The token has expired.
    #[error("token expired")]
    Expired,
    /// The token is for another document.
    #[error("token does not grant this document")]
    WrongDocument,
}

/// The server's signing key.
#[derive(Clone)]
pub struct AuthKey {
    key: Vec<u8>,
}

impl std::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key itself.
        f.write_str("AuthKey(..)")
    }
}

impl AuthKey {
    /// A key from raw bytes (the `--auth-key` string's bytes).
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
        }
    }

    /// A signed token for `grant`.
    pub fn mint(&self, grant: &Grant) -> String {
        // Serializing a struct of strings, bools and integers cannot fail.
        let payload = serde_json::to_vec(grant).unwrap_or_default();
        let mut mac = self.mac();
        mac.update(&payload);
        let signature = mac.finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(signature))
    }

    /// Checks `token` for document `doc` at unix time `now` (seconds); returns the access it
    /// grants.
    pub fn verify(&self, token: &str, doc: &str, now: u64) -> Result<Access, AuthError> {
        let (payload, signature) = token.split_once('.').ok_or(AuthError::Malformed)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| AuthError::Malformed)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| AuthError::Malformed)?;
        let mut mac = self.mac();
        mac.update(&payload);
        // verify_slice compares in constant time.
        mac.verify_slice(&signature).map_err(|_| AuthError::BadSignature)?;
        let grant: Grant = serde_json::from_slice(&payload).map_err(|_| AuthError::Malformed)?;
        if grant.expires_at.is_some_and(|exp| now >= exp) {
            return Err(AuthError::Expired);
        }
        let matches = if grant.prefix { doc.starts_with(&grant.doc) } else { doc == grant.doc };
        if !matches {
            return Err(AuthError::WrongDocument);
        }
        Ok(grant.access)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(doc: &str, prefix: bool, access: Access, expires_at: Option<u64>) -> Grant {
        Grant { doc: doc.into(), prefix, access, expires_at, name: None }
    }

    #[test]
    fn exact_document_token() {
        let key = AuthKey::new(b"k");
        let token = key.mint(&grant("notes", false, Access::ReadWrite, None));
        assert_eq!(key.verify(&token, "notes", u64::MAX - 1), Ok(Access::ReadWrite));
        assert_eq!(key.verify(&token, "notes2", 0), Err(AuthError::WrongDocument));
        assert_eq!(key.verify(&token, "note", 0), Err(AuthError::WrongDocument));
    }

    #[test]
    fn a_name_claim_is_read_from_the_token() {
        let key = AuthKey::new(b"k");
        let named =
            Grant { name: Some("ada".into()), ..grant("d", false, Access::ReadWrite, None) };
        let token = key.mint(&named);
        assert_eq!(key.verify(&token, "d", 0), Ok(Access::ReadWrite));
        assert_eq!(name_claim(&token).as_deref(), Some("ada"));
        assert_eq!(name_claim(&key.mint(&grant("d", false, Access::ReadWrite, None))), None);
        assert_eq!(name_claim("garbage"), None);
    }

    #[test]
    fn prefix_token() {
        let key = AuthKey::new(b"k");
        let token = key.mint(&grant("team-", true, Access::ReadOnly, None));
        assert_eq!(key.verify(&token, "team-a", 0), Ok(Access::ReadOnly));
        assert_eq!(key.verify(&token, "other", 0), Err(AuthError::WrongDocument));
    }

    #[test]
    fn expiry_is_exclusive() {
        let key = AuthKey::new(b"k");
        let token = key.mint(&grant("d", false, Access::ReadWrite, Some(10)));
        assert_eq!(key.verify(&token, "d", 9), Ok(Access::ReadWrite));
        assert_eq!(key.verify(&token, "d", 10), Err(AuthError::Expired));
    }

    #[test]
    fn wrong_key_and_tampering_are_refused() {
        let key = AuthKey::new(b"k");
        let token = key.mint(&grant("d", false, Access::ReadOnly, None));
        assert_eq!(AuthKey::new(b"other").verify(&token, "d", 0), Err(AuthError::BadSignature));
        let (_, signature) = token.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&grant("d", false, Access::ReadWrite, None)).unwrap());
        let forged = format!("{forged_payload}.{signature}");
        assert_eq!(key.verify(&forged, "d", 0), Err(AuthError::BadSignature));
    }

    #[test]
    fn garbage_is_malformed() {
        let key = AuthKey::new(b"k");
        for token in ["", "abc", "a.b.c", "!!!.???", "e30.AAAA"] {
            assert!(key.verify(token, "d", 0).is_err(), "{token}");
        }
    }
}
