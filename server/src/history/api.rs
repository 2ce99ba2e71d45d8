//! The history's REST endpoints (routed from [`crate::http`]):
//!
//! | request | answer |
//! |---------|--------|
//! | `GET /api/docs/ID/versions` | JSON array of [`super::Version`], newest first |
//! | `GET /api/docs/ID/versions/VID/text` | that version's plain text |
//! | `GET /api/docs/ID/versions/VID/diff?against=VID2` | the change from `VID2`'s text (default: the current text, also `against=current`) to `VID`'s, as [`tandem_crdt::diff::Run`]s |
//! | `POST /api/docs/ID/versions` `{"name": "..."}` | records a named version of the current text; 201 and its JSON |
//! | `POST /api/docs/ID/restore` `{"version": VID}` | records the current text, makes the text `VID`'s as a CRDT edit, records that; 201 and the new version's JSON |
//! | `GET /api/docs/ID/authors` | the current text's runs by author, in order: JSON array of [`super::authorship::AuthorRun`] (`{"chars", "utf16", "author"}`); 404 for no such document |
//!
//! Tokens as for the document: reading needs read access, naming and restoring write access.
//! Every refusal is a 4xx with `{"error": "why"}` and changes nothing. These paths win over a
//! document whose id ends in `/versions` or `/restore` for `/api/docs/ID/text`-style reads.

use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tandem_crdt::doc_id_from_path;

use super::authorship::author_runs;
use super::{NewVersion, VersionKind};
use crate::app::App;
use crate::auth::Access;
use crate::storage::unix_ms;

/// Longest name a named version may have, in chars.
const MAX_NAME_CHARS: usize = 200;

/// Which history endpoint a path names, with the document id still percent-encoded.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    Versions(&'a str),
    Restore(&'a str),
    Authors(&'a str),
    Text(&'a str, &'a str),
    Diff(&'a str, &'a str),
}

impl<'a> Route<'a> {
    fn parse(path: &'a str) -> Option<Self> {
        let rest = path.strip_prefix("/api/docs/")?;
        if let Some(id) = rest.strip_suffix("/versions") {
            return Some(Route::Versions(id));
        }
        if let Some(id) = rest.strip_suffix("/restore") {
            return Some(Route::Restore(id));
        }
        if let Some(id) = rest.strip_suffix("/authors") {
            return Some(Route::Authors(id));
        }
        let (before, what) = rest.rsplit_once('/')?;
        let (before, vid) = before.rsplit_once('/')?;
        let id = before.strip_suffix("/versions")?;
        match what {
            "text" => Some(Route::Text(id, vid)),
            "diff" => Some(Route::Diff(id, vid)),
            _ => None,
        }
    }
}

/// A refusal: its status and reason, sent as `{"error": reason}`.
struct Refusal(StatusCode, String);

impl Refusal {
    fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self(status, reason.into())
    }

    fn unavailable(error: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, axum::Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

/// Answers a request for a history endpoint; `None` when the path is not one (the caller
/// routes it on).
pub(crate) async fn handle(
    app: &App,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Response> {
    let route = Route::parse(uri.path())?;
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let request = Request { app, token: param("token").or(bearer) };
    let result = match (route, method) {
        (Route::Versions(id), &Method::GET) => request.list(id).await,
        (Route::Versions(id), &Method::POST) => request.name_version(id, body).await,
        (Route::Restore(id), &Method::POST) => request.restore(id, body).await,
        (Route::Authors(id), &Method::GET) => request.authors(id).await,
        (Route::Text(id, vid), &Method::GET) => request.text(id, vid).await,
        (Route::Diff(id, vid), &Method::GET) => request.diff(id, vid, param("against")).await,
        _ => Err(Refusal::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed here")),
    };
    Some(result.unwrap_or_else(IntoResponse::into_response))
}

struct Request<'a> {
    app: &'a App,
    token: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameBody {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreBody {
    version: i64,
}

fn parse_body<'b, T: Deserialize<'b>>(body: &'b [u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body)
        .map_err(|error| Refusal::new(StatusCode::BAD_REQUEST, format!("malformed body: {error}")))
}

fn version_id(vid: &str) -> Result<i64, Refusal> {
    vid.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            format!("bad version id {vid:?}: not a positive integer"),
        )
    })
}

impl Request<'_> {
    /// The decoded document id, once the token grants `needed` on it.
    fn document(&self, raw_id: &str, needed: Access) -> Result<String, Refusal> {
        let id = doc_id_from_path(raw_id)
            .map_err(|reason| Refusal::new(StatusCode::BAD_REQUEST, reason.to_string()))?;
        let access = self
            .app
            .authorize(self.token, &id)
            .map_err(|error| Refusal::new(StatusCode::UNAUTHORIZED, error.to_string()))?
            .access;
        if needed == Access::ReadWrite && access == Access::ReadOnly {
            return Err(Refusal::new(StatusCode::FORBIDDEN, "the token grants reading only"));
        }
        Ok(id)
    }

    async fn list(&self, raw_id: &str) -> Result<Response, Refusal> {
        let id = self.document(raw_id, Access::ReadOnly)?;
        let versions = self.app.history.store().list(&id).await.map_err(Refusal::unavailable)?;
        Ok(axum::Json(versions).into_response())
    }

    async fn authors(&self, raw_id: &str) -> Result<Response, Refusal> {
        let id = self.document(raw_id, Access::ReadOnly)?;
        let (runs, live) = self
            .app
            .rooms
            .authorship(&id)
            .await
            .map_err(Refusal::unavailable)?
            .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "no such document"))?;
        let stored = self.app.history.store().authors(&id).await.map_err(Refusal::unavailable)?;
        // The first name stored for a client id wins, as in the store; names this server
        // learnt and has not stored yet fill in.
        let name_of = |client| stored.get(&client).or_else(|| live.get(&client));
        let runs = author_runs(&runs, |client| name_of(client).map(String::as_str));
        Ok(axum::Json(runs).into_response())
    }

    async fn version_text(&self, id: &str, vid: i64) -> Result<String, Refusal> {
        self.app.history.store().text(id, vid).await.map_err(Refusal::unavailable)?.ok_or_else(
            || Refusal::new(StatusCode::NOT_FOUND, format!("document {id:?} has no version {vid}")),
        )
    }

    async fn text(&self, raw_id: &str, vid: &str) -> Result<Response, Refusal> {
        let id = self.document(raw_id, Access::ReadOnly)?;
        let text = self.version_text(&id, version_id(vid)?).await?;
        Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
    }

    async fn diff(
        &self,
        raw_id: &str,
        vid: &str,
        against: Option<&str>,
    ) -> Result<Response, Refusal> {
        let id = self.document(raw_id, Access::ReadOnly)?;
        let vid = version_id(vid)?;
        let against = match against {
            None | Some("current") => None,
            Some(other) => Some(version_id(other)?),
        };
        let new = self.version_text(&id, vid).await?;
        let old = match against {
            Some(against) => self.version_text(&id, against).await?,
            None => {
                self.app.rooms.text(&id).await.map_err(Refusal::unavailable)?.unwrap_or_default()
            }
        };
        Ok(axum::Json(tandem_crdt::diff::runs(&old, &new)).into_response())
    }

    async fn name_version(&self, raw_id: &str, body: &[u8]) -> Result<Response, Refusal> {
        let id = self.document(raw_id, Access::ReadWrite)?;
        let NameBody { name } = parse_body(body)?;
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("a version's name has 1 to {MAX_NAME_CHARS} characters"),
            ));
        }
        let lease = self.app.rooms.acquire(&id).await.map_err(Refusal::unavailable)?;
        let version = lease
            .room()
            .checkpoint(VersionKind::Named, Some(name), unix_ms())
            .await
            .ok_or_else(|| Refusal::unavailable("the server is stopping"))?;
        self.record(&id, &version, false).await
    }

    async fn restore(&self, raw_id: &str, body: &[u8]) -> Result<Response, Refusal> {
        let id = self.document(raw_id, Access::ReadWrite)?;
        let RestoreBody { version } = parse_body(body)?;
        let version = version_id(&version.to_string())?;
        let target = self.version_text(&id, version).await?;
        let lease = self.app.rooms.acquire(&id).await.map_err(Refusal::unavailable)?;
        let room = lease.room();
        // What the document holds now is kept first, so the restore can be undone by
        // restoring it (unless it is the latest version already).
        let stopping = || Refusal::unavailable("the server is stopping");
        let before =
            room.checkpoint(VersionKind::Auto, None, unix_ms()).await.ok_or_else(stopping)?;
        self.app.history.store().record(&id, &before, true).await.map_err(Refusal::unavailable)?;
        room.replace_text(target, unix_ms()).await.map_err(Refusal::unavailable)?;
        // The restore is durable before it is listed.
        self.app.writer.flush().await.map_err(Refusal::unavailable)?;
        let mut restored =
            room.checkpoint(VersionKind::Restore, None, unix_ms()).await.ok_or_else(stopping)?;
        restored.authors.extend(self.app.author_claim(self.token));
        restored.authors.sort();
        restored.authors.dedup();
        self.record(&id, &restored, false).await
    }

    async fn record(
        &self,
        id: &str,
        version: &NewVersion,
        unless_unchanged: bool,
    ) -> Result<Response, Refusal> {
        match self.app.history.store().record(id, version, unless_unchanged).await {
            Ok(Some(version)) => Ok((StatusCode::CREATED, axum::Json(version)).into_response()),
            Ok(None) => Err(Refusal::new(StatusCode::CONFLICT, "nothing to record")),
            Err(error) => Err(Refusal::unavailable(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_paths() {
        assert_eq!(Route::parse("/api/docs/a/versions"), Some(Route::Versions("a")));
        assert_eq!(
            Route::parse("/api/docs/team/a%2Fb/restore"),
            Some(Route::Restore("team/a%2Fb"))
        );
        assert_eq!(Route::parse("/api/docs/a/b/versions/12/text"), Some(Route::Text("a/b", "12")));
        assert_eq!(Route::parse("/api/docs/a/versions/x/diff"), Some(Route::Diff("a", "x")));
        assert_eq!(Route::parse("/api/docs/a/b/authors"), Some(Route::Authors("a/b")));
        // A document's own text, and paths of no endpoint, are not history's.
        assert_eq!(Route::parse("/api/docs/a/text"), None);
        assert_eq!(Route::parse("/api/docs/notes/versions/text"), None);
        assert_eq!(Route::parse("/api/docs/a/versions/1/other"), None);
        assert_eq!(Route::parse("/api/other/a/versions"), None);
    }

    #[test]
    fn version_ids_are_positive_integers() {
        assert_eq!(version_id("7").ok(), Some(7));
        for bad in ["0", "-1", "x", "", "1.5", "99999999999999999999"] {
            assert!(version_id(bad).is_err(), "{bad}");
        }
    }
}
