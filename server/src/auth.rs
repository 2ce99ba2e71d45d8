//! Access tokens: which document (or id prefix) a connection may open, read-only or read-write,
//! until when.
//!
//! A token is `BASE64URL(JSON grant) "." BASE64URL(HMAC-SHA256(key, JSON grant))`, so an operator
//! can mint tokens with the server's key (`tandem-server token ...`) and the server checks them
//! without any database. The clock is passed in ([`AuthKey::verify`] takes `now`), which keeps
//! expiry testable.
//!
//! Key rotation: a key may have an id ([`AuthKey::with_id`]); the tokens it mints carry it
//! (`"kid"` in the signed JSON), and [`grant_by_any`] checks a token with the key its id names
//! among all the keys the server honours. Dropping a key from that set revokes every token it
//! signed. Tokens without an id (minted before rotation) are checked with the key that has none.
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

impl Grant {
    /// Whether the grant has run out at unix time `now` (seconds): from `expires_at` on.
    pub fn is_expired(&self, now: u64) -> bool {
        self.expires_at.is_some_and(|exp| now >= exp)
    }
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
    /// The token names a key this server does not honour (retired, or never known).
    #[error("token signed with a retired or unknown key")]
    UnknownKey,
}

/// The server's signing key.
#[derive(Clone)]
pub struct AuthKey {
    key: Vec<u8>,
    /// Carried by the tokens this key mints; `None` for a key from before rotation.
    id: Option<String>,
}

/// The part of a token's JSON that names its key.
#[derive(Deserialize)]
struct KeyIdField {
    #[serde(default)]
    kid: Option<String>,
}

/// The key id a token claims, read before its signature is checked (to pick the key that
/// checks it); `None` when it names none.
fn claimed_key_id(token: &str) -> Result<Option<String>, AuthError> {
    let (payload, _) = token.split_once('.').ok_or(AuthError::Malformed)?;
    let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| AuthError::Malformed)?;
    let field: KeyIdField = serde_json::from_slice(&payload).map_err(|_| AuthError::Malformed)?;
    Ok(field.kid)
}

/// Why a list of keys (`--auth-keys-file`) cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyListError {
    /// A line is not `ID KEY`.
    #[error("line {line}: expected `ID KEY` (an id, a space, the key)")]
    BadLine {
        /// The line number, from 1.
        line: usize,
    },
    /// Two keys have one id: a token naming it could not say which.
    #[error("key id {id:?} appears twice")]
    DuplicateId {
        /// The id.
        id: String,
    },
    /// No key at all.
    #[error("no key in the list")]
    Empty,
}

/// Keys from the lines `ID KEY` of `text`, in order (the first one mints); empty lines and
/// lines starting with `#` are skipped.
pub fn keys_from_lines(text: &str) -> Result<Vec<AuthKey>, KeyListError> {
    let mut keys: Vec<AuthKey> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || KeyListError::BadLine { line: index + 1 };
        let (id, key) = line.split_once(char::is_whitespace).ok_or_else(bad)?;
        let key = key.trim();
        if key.is_empty() {
            return Err(bad());
        }
        if keys.iter().any(|known| known.id() == Some(id)) {
            return Err(KeyListError::DuplicateId { id: id.to_owned() });
        }
        keys.push(AuthKey::with_id(id, key.as_bytes()));
    }
    if keys.is_empty() {
        return Err(KeyListError::Empty);
    }
    Ok(keys)
}

/// Checks `token` with whichever of `keys` its key id names (see the module's rotation notes)
/// and returns its grant; [`AuthError::UnknownKey`] when none of them is that key.
pub fn grant_by_any<'a>(
    keys: impl IntoIterator<Item = &'a AuthKey>,
    token: &str,
    doc: &str,
    now: u64,
) -> Result<Grant, AuthError> {
    let kid = claimed_key_id(token)?;
    let key = keys.into_iter().find(|key| key.id == kid).ok_or(AuthError::UnknownKey)?;
    key.grant(token, doc, now)
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
        Self { key: key.to_vec(), id: None }
    }

    /// A key with an id, which every token it mints carries (key rotation).
    pub fn with_id(id: &str, key: &[u8]) -> Self {
        Self { key: key.to_vec(), id: Some(id.to_owned()) }
    }

    /// The key's id, if it has one.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
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
        let mut payload = serde_json::to_value(grant).unwrap_or_default();
        if let (Some(id), Some(fields)) = (&self.id, payload.as_object_mut()) {
            fields.insert("kid".to_owned(), id.as_str().into());
        }
        let payload = serde_json::to_vec(&payload).unwrap_or_default();
        let mut mac = self.mac();
        mac.update(&payload);
        let signature = mac.finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(signature))
    }

    /// Checks `token` for document `doc` at unix time `now` (seconds); returns the access it
    /// grants.
    pub fn verify(&self, token: &str, doc: &str, now: u64) -> Result<Access, AuthError> {
        self.grant(token, doc, now).map(|grant| grant.access)
    }

    /// Like [`AuthKey::verify`], but the whole grant: what a token may hand on (a share link
    /// is never wider than its maker's token).
    pub fn grant(&self, token: &str, doc: &str, now: u64) -> Result<Grant, AuthError> {
        let (payload, signature) = token.split_once('.').ok_or(AuthError::Malformed)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| AuthError::Malformed)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| AuthError::Malformed)?;
        let mut mac = self.mac();
        mac.update(&payload);
        // verify_slice compares in constant time.
        mac.verify_slice(&signature).map_err(|_| AuthError::BadSignature)?;
        let grant: Grant = serde_json::from_slice(&payload).map_err(|_| AuthError::Malformed)?;
        let kid: KeyIdField = serde_json::from_slice(&payload).map_err(|_| AuthError::Malformed)?;
        if kid.kid != self.id {
            return Err(AuthError::UnknownKey);
        }
        if grant.is_expired(now) {
            return Err(AuthError::Expired);
        }
        let matches = if grant.prefix { doc.starts_with(&grant.doc) } else { doc == grant.doc };
        if !matches {
            return Err(AuthError::WrongDocument);
        }
        Ok(grant)
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
    fn a_grant_runs_out_at_its_expiry() {
        let lasting = grant("d", false, Access::ReadWrite, Some(10));
        assert!(!lasting.is_expired(9));
        assert!(lasting.is_expired(10));
        assert!(!grant("d", false, Access::ReadWrite, None).is_expired(u64::MAX));
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
    fn rotated_keys_check_their_own_tokens_and_retiring_one_revokes_them() {
        let old = AuthKey::new(b"before rotation");
        let june = AuthKey::with_id("2026-06", b"june");
        let december = AuthKey::with_id("2026-12", b"december");
        let legacy = old.mint(&grant("d", false, Access::ReadWrite, None));
        let from_june = june.mint(&grant("d", false, Access::ReadOnly, None));
        let from_december = december.mint(&grant("d", false, Access::ReadWrite, Some(10)));
        let all = [&december, &june, &old];
        let access = |token: &str, keys: &[&AuthKey]| {
            grant_by_any(keys.iter().copied(), token, "d", 5).map(|grant| grant.access)
        };
        assert_eq!(access(&legacy, &all), Ok(Access::ReadWrite));
        assert_eq!(access(&from_june, &all), Ok(Access::ReadOnly));
        assert_eq!(access(&from_december, &all), Ok(Access::ReadWrite));
        assert_eq!(grant_by_any(all, &from_december, "d", 10), Err(AuthError::Expired));
        // June retired: its tokens are refused, the others still work.
        let retired = [&december, &old];
        assert_eq!(access(&from_june, &retired), Err(AuthError::UnknownKey));
        assert_eq!(access(&legacy, &retired), Ok(Access::ReadWrite));
        assert_eq!(access(&legacy, &[&december]), Err(AuthError::UnknownKey));
        // A key checks only tokens that name it, even given the same secret under another id.
        let impostor = AuthKey::with_id("2026-06", b"december");
        assert_eq!(impostor.verify(&from_december, "d", 0), Err(AuthError::UnknownKey));
        assert_eq!(december.verify(&legacy, "d", 0), Err(AuthError::BadSignature));
        // The key id is signed: rewriting it breaks the signature.
        let (payload, signature) = from_june.split_once('.').unwrap();
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        let renamed = URL_SAFE_NO_PAD.encode(payload.replace("2026-06", "2026-12"));
        let forged = format!("{renamed}.{signature}");
        assert_eq!(access(&forged, &all), Err(AuthError::BadSignature));
    }

    #[test]
    fn key_lists() {
        let keys = keys_from_lines("# newest first\n2026-12 dec key\n\n2026-06   june\n").unwrap();
        let ids: Vec<_> = keys.iter().map(AuthKey::id).collect();
        assert_eq!(ids, [Some("2026-12"), Some("2026-06")]);
        let token = keys[1].mint(&grant("d", false, Access::ReadWrite, None));
        assert_eq!(
            AuthKey::with_id("2026-06", b"june").verify(&token, "d", 0),
            Ok(Access::ReadWrite)
        );
        assert_eq!(keys_from_lines("a 1\nlonely\n").err(), Some(KeyListError::BadLine { line: 2 }));
        assert_eq!(
            keys_from_lines("a 1\na 2").err(),
            Some(KeyListError::DuplicateId { id: "a".into() })
        );
        assert_eq!(keys_from_lines("# none\n").err(), Some(KeyListError::Empty));
    }

    #[test]
    fn garbage_is_malformed() {
        let key = AuthKey::new(b"k");
        for token in ["", "abc", "a.b.c", "!!!.???", "e30.AAAA"] {
            assert!(key.verify(token, "d", 0).is_err(), "{token}");
        }
    }
}
