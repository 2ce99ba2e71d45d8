//! A shared document's version history on tandem-server, through its REST API
//! (`/api/docs/ID/versions...`, `/api/docs/ID/authors`): listing, reading, naming and restoring
//! versions, and who wrote each part of the current text. Used by `tandem history URL [VID]`,
//! the editor's history panel and its authorship colouring. A stock y-websocket server keeps
//! no history; it answers these requests with something other than JSON, which
//! [`HistoryError::NoHistory`] says in words.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use tandem_connect::{Connector, HttpResponse, Problem};
use tandem_crdt::diff::Run;
use tandem_crdt::{doc_id_from_path, doc_id_to_path};

/// One version, as the server lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VersionInfo {
    /// The version's id.
    pub id: i64,
    /// When it was recorded, unix milliseconds.
    pub created_at_ms: i64,
    /// A named version's name.
    pub name: Option<String>,
    /// Who edited since the version before it.
    pub authors: Vec<String>,
    /// Its length in chars.
    pub chars: i64,
    /// `auto`, `named` or `restore`.
    pub kind: String,
}

/// A stretch of the current text written by one author, as `GET /api/docs/ID/authors` lists
/// them (in order, covering the whole text).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AuthorRun {
    /// Its length in chars (Unicode scalar values, the unit of the editor's rope).
    pub chars: u64,
    /// Its length in UTF-16 code units (the browser's unit).
    pub utf16: u64,
    /// Who wrote it; `None` when the server knows no name for it.
    pub author: Option<String>,
}

/// Why a history request failed.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The URL is not `ws://HOST:PORT/DOC-ID`.
    #[error("{0}")]
    BadUrl(String),
    /// The server could not be reached.
    #[error("{0}")]
    Connect(String),
    /// The server answered with an error (its reason).
    #[error("the server refused: {0}")]
    Refused(String),
    /// The server keeps no history (a stock y-websocket server).
    #[error("this server keeps no version history (history needs tandem-server)")]
    NoHistory,
}

/// The history API of one shared document.
#[derive(Clone)]
pub struct HistoryClient {
    connector: Connector,
    server: String,
    /// The document id, percent-encoded for a path.
    doc_path: String,
    token: Option<String>,
}

impl HistoryClient {
    /// The history of the document at `url` (`ws://HOST:PORT/DOC-ID`, wss:// too).
    pub fn new(
        url: &str,
        token: Option<String>,
        connector: Connector,
    ) -> Result<Self, HistoryError> {
        let bad = |why: &str| HistoryError::BadUrl(format!("{url}: {why}"));
        let url = url.split(['?', '#']).next().unwrap_or(url);
        let (scheme, rest) =
            url.split_once("://").ok_or_else(|| bad("expected ws://HOST:PORT/DOC-ID"))?;
        if !matches!(scheme, "ws" | "wss" | "http" | "https") {
            return Err(bad("expected ws:// or wss://"));
        }
        let (authority, raw_doc) = rest.split_once('/').ok_or_else(|| bad("no document id"))?;
        // A `ws://HOST/ws/DOC` URL names the same document as `ws://HOST/DOC`.
        let raw_doc = raw_doc.strip_prefix("ws/").unwrap_or(raw_doc);
        let doc = doc_id_from_path(raw_doc).map_err(|e| bad(&e.to_string()))?;
        Ok(Self {
            connector,
            server: format!("{scheme}://{authority}"),
            doc_path: doc_id_to_path(&doc),
            token,
        })
    }

    async fn call(
        &self,
        method: &str,
        tail: &str,
        body: Option<&str>,
    ) -> Result<HttpResponse, HistoryError> {
        let mut path = format!("/api/docs/{}{tail}", self.doc_path);
        if let Some(token) = &self.token {
            let sep = if path.contains('?') { '&' } else { '?' };
            let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
            path.push_str(&format!("{sep}token={token}"));
        }
        let answer = self
            .connector
            .request(&self.server, method, &path, body)
            .await
            .map_err(|e| HistoryError::Connect(Problem::from_connect(&e).to_string()))?;
        if (200..300).contains(&answer.status) {
            return Ok(answer);
        }
        // tandem-server's refusals are `{"error": "..."}`; anything else is not tandem-server.
        match serde_json::from_str::<serde_json::Value>(&answer.body) {
            Ok(value) => match value.get("error").and_then(|e| e.as_str()) {
                Some(reason) => Err(HistoryError::Refused(reason.to_owned())),
                None => Err(HistoryError::NoHistory),
            },
            Err(_) => Err(HistoryError::NoHistory),
        }
    }

    fn json<T: serde::de::DeserializeOwned>(answer: HttpResponse) -> Result<T, HistoryError> {
        serde_json::from_str(&answer.body).map_err(|_| HistoryError::NoHistory)
    }

    /// Every version, newest first.
    pub async fn list(&self) -> Result<Vec<VersionInfo>, HistoryError> {
        Self::json(self.call("GET", "/versions", None).await?)
    }

    /// The text of version `id`.
    pub async fn text(&self, id: i64) -> Result<String, HistoryError> {
        Ok(self.call("GET", &format!("/versions/{id}/text"), None).await?.body)
    }

    /// The change from the current text to version `id`'s, as runs.
    pub async fn diff_from_current(&self, id: i64) -> Result<Vec<Run>, HistoryError> {
        Self::json(self.call("GET", &format!("/versions/{id}/diff"), None).await?)
    }

    /// The current text's runs by author, in order.
    pub async fn authors(&self) -> Result<Vec<AuthorRun>, HistoryError> {
        Self::json(self.call("GET", "/authors", None).await?)
    }

    /// Records the current text as a version named `name`.
    pub async fn name_current(&self, name: &str) -> Result<VersionInfo, HistoryError> {
        let body = serde_json::json!({ "name": name }).to_string();
        Self::json(self.call("POST", "/versions", Some(&body)).await?)
    }

    /// Makes the text version `id`'s again; returns the version the restore made.
    pub async fn restore(&self, id: i64) -> Result<VersionInfo, HistoryError> {
        let body = serde_json::json!({ "version": id }).to_string();
        Self::json(self.call("POST", "/restore", Some(&body)).await?)
    }
}

/// One line for `version`: id, time (UTC), kind, length, authors and name.
pub fn version_line(version: &VersionInfo) -> String {
    let at = SystemTime::UNIX_EPOCH + Duration::from_millis(version.created_at_ms.max(0) as u64);
    let authors =
        if version.authors.is_empty() { "-".to_owned() } else { version.authors.join(", ") };
    let mut line = format!(
        "{:>6}  {}  {:<7}  {:>8} chars  {}",
        version.id,
        crate::journal::utc(at),
        version.kind,
        version.chars,
        authors
    );
    if let Some(name) = &version.name {
        line.push_str(&format!("  \"{name}\""));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(url: &str) -> Result<HistoryClient, HistoryError> {
        HistoryClient::new(url, None, Connector::new(None).unwrap())
    }

    #[test]
    fn urls_name_the_server_and_the_document() {
        let c = client("ws://h:8080/team/%E4%BC%9A%E8%AE%AE").ok().unwrap();
        assert_eq!(c.server, "ws://h:8080");
        assert_eq!(c.doc_path, doc_id_to_path("team/会议"));
        assert_eq!(client("wss://h/ws/notes?x=1").ok().unwrap().doc_path, "notes");
        for bad in ["h:8080/notes", "ftp://h/notes", "ws://h", "ws://h/a/../b"] {
            assert!(client(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_version_line_says_when_who_and_what() {
        let version = VersionInfo {
            id: 12,
            created_at_ms: 86_400_000 + 3_600_000,
            name: Some("draft".into()),
            authors: vec!["ada".into(), "bob".into()],
            chars: 345,
            kind: "named".into(),
        };
        assert_eq!(
            version_line(&version),
            "    12  1970-01-02 01:00:00 UTC  named         345 chars  ada, bob  \"draft\""
        );
    }
}
