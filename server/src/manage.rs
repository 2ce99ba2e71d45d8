//! Managing documents over the JSON API: share links, rename and delete.
//!
//! | request | answer |
//! |---------|--------|
//! | `POST /api/docs/ID/share` `{"access": "r" or "rw", "expires_in_s": N}` | 200 `{"token", "access", "expires_at"}` |
//! | `POST /api/docs/ID/rename` `{"to": NEW-ID}` | 200 `{"id": NEW-ID}`; 404 no such document; 409 the new id is taken or open |
//! | `DELETE /api/docs/ID` | 204; 404 no such document |
//!
//! Each needs a token with write access to the document (and to the new id, for a rename), as
//! `?token=` or `Authorization: Bearer`; without `--auth-key` everyone may. A share link is
//! never wider than its maker's token: for this one document only, read-only unless asked for
//! and allowed, and it expires no later than the maker's token (servers without an auth key
//! need no tokens, so there `share` answers 404).
//!
//! Connected clients of a renamed or deleted document are told with the `Gone` extension
//! message (tandem clients) and the close code 4410 (everyone), so they stop reconnecting to
//! the old id and keep their local copy. Several servers on one database are not told: their
//! rooms of the old id live on until they unload.

use std::sync::Arc;

use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tandem_crdt::{Removal, validate_doc_id};

use crate::app::App;
use crate::auth::{Access, Grant};
use crate::request::{IdInPath, IdRefusal, TokenQuery, api_token, authorize_api, unauthorized};
use crate::storage::{Relocated, unix_ms};

/// `/api/docs/ID.../share`.
const SHARE: IdInPath = IdInPath { prefix: "/api/docs/", suffix: "/share" };
/// `/api/docs/ID.../rename`.
const RENAME: IdInPath = IdInPath { prefix: "/api/docs/", suffix: "/rename" };
/// `/api/docs/ID...`.
const DOCUMENT: IdInPath = IdInPath { prefix: "/api/docs/", suffix: "" };

/// The body of a share request.
#[derive(Debug, Deserialize)]
struct ShareRequest {
    /// What the link grants.
    access: Access,
    /// Seconds until the link stops working; absent: when the maker's token does.
    #[serde(default)]
    expires_in_s: Option<u64>,
}

/// The answer to a share request.
#[derive(Debug, Serialize, PartialEq, Eq)]
struct Shared {
    token: String,
    access: Access,
    /// Unix seconds; `None` never.
    expires_at: Option<u64>,
}

/// The body of a rename request.
#[derive(Debug, Deserialize)]
struct RenameRequest {
    to: String,
}

/// Why a share link is not made.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum ShareRefusal {
    #[error("the token grants read-only access; sharing needs write access")]
    ReadOnly,
    #[error("an expiry must be at least one second away")]
    NoTime,
}

/// The grant of a link to `doc` that `maker` asks for: never wider than `maker` (this one
/// document; read-write only when asked; no later expiry).
fn link_grant(
    maker: &Grant,
    doc: &str,
    wanted: &ShareRequest,
    now_s: u64,
) -> Result<Grant, ShareRefusal> {
    if maker.access != Access::ReadWrite {
        return Err(ShareRefusal::ReadOnly);
    }
    let asked = match wanted.expires_in_s {
        Some(0) => return Err(ShareRefusal::NoTime),
        Some(seconds) => Some(now_s.saturating_add(seconds)),
        None => None,
    };
    let expires_at = match (asked, maker.expires_at) {
        (Some(a), Some(m)) => Some(a.min(m)),
        (a, m) => a.or(m),
    };
    // The holder of a link is not its maker: no author name is handed on.
    Ok(Grant { doc: doc.to_owned(), prefix: false, access: wanted.access, expires_at, name: None })
}

fn refused(status: StatusCode, reason: impl std::fmt::Display) -> Response {
    (status, format!("{reason}\n")).into_response()
}

fn read_only() -> Response {
    refused(StatusCode::FORBIDDEN, "the token grants read-only access")
}

/// Checks that the request's token may write `doc`.
fn may_write(app: &App, query: &TokenQuery, headers: &HeaderMap, doc: &str) -> Option<Response> {
    match authorize_api(app, query, headers, doc) {
        Ok(Access::ReadWrite) => None,
        Ok(Access::ReadOnly) => Some(read_only()),
        Err(error) => Some(unauthorized(error)),
    }
}

/// `POST /api/docs/ID/share` or `POST /api/docs/ID/rename`; 404 for other paths.
pub(crate) async fn post_document(
    app: &App,
    path: &str,
    query: &TokenQuery,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    match SHARE.read(path) {
        Ok(id) => return share(app, &id, query, headers, body),
        Err(IdRefusal::Invalid(reason)) => return refused(StatusCode::BAD_REQUEST, reason),
        Err(IdRefusal::NotHere) => {}
    }
    match RENAME.read(path) {
        Ok(id) => rename(app, &id, query, headers, body).await,
        Err(refusal) => refusal.into_response(),
    }
}

fn share(app: &App, id: &str, query: &TokenQuery, headers: &HeaderMap, body: &[u8]) -> Response {
    let wanted: ShareRequest = match serde_json::from_slice(body) {
        Ok(wanted) => wanted,
        Err(error) => return refused(StatusCode::BAD_REQUEST, error),
    };
    let Some(key) = &app.config.auth_key else {
        return refused(
            StatusCode::NOT_FOUND,
            "this server needs no tokens: share the link itself",
        );
    };
    // Counts a refusal like every other check; the grant is what the token holds.
    let maker = match app.authorize(api_token(query, headers), id) {
        Ok(grant) => grant,
        Err(error) => return unauthorized(error),
    };
    let now_s = unix_ms() / 1000;
    match link_grant(&maker, id, &wanted, now_s) {
        Ok(grant) => axum::Json(Shared {
            token: key.mint(&grant),
            access: grant.access,
            expires_at: grant.expires_at,
        })
        .into_response(),
        Err(ShareRefusal::ReadOnly) => read_only(),
        Err(refusal) => refused(StatusCode::BAD_REQUEST, refusal),
    }
}

async fn rename(
    app: &App,
    id: &str,
    query: &TokenQuery,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let wanted: RenameRequest = match serde_json::from_slice(body) {
        Ok(wanted) => wanted,
        Err(error) => return refused(StatusCode::BAD_REQUEST, error),
    };
    if let Err(reason) = validate_doc_id(&wanted.to) {
        return refused(StatusCode::BAD_REQUEST, format!("the new id: {reason}"));
    }
    if wanted.to == id {
        return refused(StatusCode::BAD_REQUEST, "the new id is the document's own");
    }
    for doc in [id, wanted.to.as_str()] {
        if let Some(response) = may_write(app, query, headers, doc) {
            return response;
        }
    }
    let removal = Removal::Renamed { to: wanted.to.clone() };
    match app.rooms.relocate(id, &removal).await {
        Ok(Relocated::Done) => {
            tracing::info!(doc = id, to = %wanted.to, "renamed");
            axum::Json(serde_json::json!({ "id": wanted.to })).into_response()
        }
        Ok(Relocated::NoSuchDocument) => refused(StatusCode::NOT_FOUND, "no such document"),
        Ok(Relocated::TargetTaken) => refused(
            StatusCode::CONFLICT,
            format!("“{}” is already a document, or someone has it open", wanted.to),
        ),
        Err(error) => refused(StatusCode::SERVICE_UNAVAILABLE, error),
    }
}

/// `DELETE /api/docs/ID`.
pub(crate) async fn delete_document(
    State(app): State<Arc<App>>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    let id = match DOCUMENT.read(uri.path()) {
        Ok(id) => id,
        Err(refusal) => return refusal.into_response(),
    };
    if let Some(response) = may_write(&app, &query, &headers, &id) {
        return response;
    }
    match app.rooms.relocate(&id, &Removal::Deleted).await {
        Ok(Relocated::Done) => {
            tracing::info!(doc = id, "deleted");
            StatusCode::NO_CONTENT.into_response()
        }
        Ok(_) => refused(StatusCode::NOT_FOUND, "no such document"),
        Err(error) => refused(StatusCode::SERVICE_UNAVAILABLE, error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maker(access: Access, expires_at: Option<u64>) -> Grant {
        Grant { doc: "team/".into(), prefix: true, access, expires_at, name: Some("ann".into()) }
    }

    fn wanted(access: Access, expires_in_s: Option<u64>) -> ShareRequest {
        ShareRequest { access, expires_in_s }
    }

    #[test]
    fn a_link_is_never_wider_than_its_makers_token() {
        let rw = maker(Access::ReadWrite, Some(1_000));
        let link = link_grant(&rw, "team/a", &wanted(Access::ReadOnly, Some(60)), 100).unwrap();
        assert_eq!(
            link,
            Grant {
                doc: "team/a".into(),
                prefix: false,
                access: Access::ReadOnly,
                expires_at: Some(160),
                name: None,
            }
        );
        let late = link_grant(&rw, "team/a", &wanted(Access::ReadWrite, Some(5_000)), 100);
        assert_eq!(late.unwrap().expires_at, Some(1_000), "not past the maker's own expiry");
        let open = link_grant(&rw, "team/a", &wanted(Access::ReadWrite, None), 100);
        assert_eq!(open.unwrap().expires_at, Some(1_000));
        let forever = maker(Access::ReadWrite, None);
        assert_eq!(
            link_grant(&forever, "d", &wanted(Access::ReadOnly, None), 1).unwrap().expires_at,
            None
        );
        let reader = maker(Access::ReadOnly, None);
        assert_eq!(
            link_grant(&reader, "d", &wanted(Access::ReadOnly, None), 1),
            Err(ShareRefusal::ReadOnly)
        );
        assert_eq!(
            link_grant(&forever, "d", &wanted(Access::ReadOnly, Some(0)), 1),
            Err(ShareRefusal::NoTime)
        );
    }
}
