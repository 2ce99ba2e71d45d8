//! What every REST endpoint reads from a request: the document id in its path (decoded once, by
//! one rule) and its token, and the refusals when either is wrong. Shared by the routes in
//! [`crate::http`], [`crate::manage`] and the history's API.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tandem_crdt::{DocIdError, doc_id_from_path};

use crate::app::App;
use crate::auth::{Access, AuthError};

/// Where a document's id sits in a request path: after `prefix`, before `suffix`.
///
/// Every endpoint reads its id from the raw (still percent-encoded) path through
/// [`doc_id_from_path`], so an id is decoded exactly once and by one rule whichever
/// endpoint it came through.
pub(crate) struct IdInPath {
    pub(crate) prefix: &'static str,
    pub(crate) suffix: &'static str,
}

/// Why a request path names no document.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum IdRefusal {
    /// The path is not this endpoint's shape: 404.
    NotHere,
    /// The id breaks the rule: 400.
    Invalid(DocIdError),
}

impl IntoResponse for IdRefusal {
    fn into_response(self) -> Response {
        match self {
            IdRefusal::NotHere => (StatusCode::NOT_FOUND, "not found\n").into_response(),
            IdRefusal::Invalid(reason) => {
                (StatusCode::BAD_REQUEST, format!("{reason}\n")).into_response()
            }
        }
    }
}

impl IdInPath {
    /// The decoded id.
    pub(crate) fn read(&self, path: &str) -> Result<String, IdRefusal> {
        let raw = path
            .strip_prefix(self.prefix)
            .and_then(|rest| rest.strip_suffix(self.suffix))
            .ok_or(IdRefusal::NotHere)?;
        doc_id_from_path(raw).map_err(IdRefusal::Invalid)
    }
}

#[derive(Debug, Default, Deserialize)]
/// The `?token=` of an API request.
pub(crate) struct TokenQuery {
    /// The token, when given in the query.
    pub(crate) token: Option<String>,
}

/// Checks an API request's token (`?token=` or `Authorization: Bearer`) for `doc` (`""`: every
/// document).
pub(crate) fn authorize_api(
    app: &App,
    query: &TokenQuery,
    headers: &HeaderMap,
    doc: &str,
) -> Result<Access, AuthError> {
    app.authorize(api_token(query, headers), doc).map(|grant| grant.access)
}

/// The token of an API request: `?token=` or else `Authorization: Bearer`.
pub(crate) fn api_token<'a>(query: &'a TokenQuery, headers: &'a HeaderMap) -> Option<&'a str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    query.token.as_deref().or(bearer)
}

/// A 401 saying why the token was refused.
pub(crate) fn unauthorized(error: AuthError) -> Response {
    (StatusCode::UNAUTHORIZED, format!("{error}\n")).into_response()
}
