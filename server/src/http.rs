//! The HTTP surface: websocket upgrades for documents, health, metrics, a small JSON API and
//! the browser client's static files.
//!
//! | path | what |
//! |------|------|
//! | `GET /healthz` | 200 `ok` when the database answers (with `x-tandem-websockets-available`: how many more websockets it takes), else 503 |
//! | `GET /metrics` | Prometheus text |
//! | `GET /api/docs` | JSON list of stored documents: `id`, `stored_bytes`, `updated_at_ms`, `connections` |
//! | `GET /api/docs/ID/text` | the document's current plain text (404 if it does not exist) |
//! | `POST /api/docs/ID/share`, `POST /api/docs/ID/rename`, `DELETE /api/docs/ID` | share links, rename, delete: see [`crate::manage`] |
//! | `/api/docs/ID/versions...`, `POST /api/docs/ID/restore`, `GET /api/docs/ID/authors` | the version history and who wrote the text ([`crate::history::api`]) |
//! | `GET /ws/ID`, or any `GET /ID` with `Upgrade: websocket` | the document's websocket |
//! | `GET /api/mux` with `Upgrade: websocket` | many documents over one websocket ([`crate::multiplex`]) |
//! | anything else | the browser client: built into the binary, or the files of `--web-dir`; unknown paths get its `index.html`, so `/d/ID` and `/ID` open it |
//!
//! An ID is path-like (`team/src/main.rs`, see [`tandem_crdt::validate_doc_id`]) and may span
//! several path segments; each endpoint percent-decodes it exactly once, `%2F` included, so
//! `/%61`, `/ws/%61` and `/ws/a` are all document `a`.
//!
//! With an auth key, the API needs a token too (`?token=` or `Authorization: Bearer`): one for
//! the document for its text, one minted with `--doc "" --prefix` (all documents) for the list.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, FromRequestParts, OriginalUri, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tandem_crdt::Extensions;
use tandem_crdt::mux::MUX_PATH;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::admission::{Refused, Slot};
use crate::app::App;
use crate::connection;
use crate::linger::LingerOnClose;
use crate::listen::ConnectionSlot;
use crate::manage;
use crate::metrics::Rejection;
use crate::multiplex::{self, MuxRequest};
use crate::peer::{Peer, ProxyTrust};
use crate::request::{IdInPath, TokenQuery, authorize_api, unauthorized};
use crate::session::ConnectRequest;
use crate::web_bundle;

/// The `/healthz` header saying how many more websockets the server takes (0: it is full).
const WEBSOCKETS_AVAILABLE: &str = "x-tandem-websockets-available";

/// Bytes read from a websocket's socket at a time. tungstenite's default (128 KiB) is zero-filled
/// before every read and stays resident: 14 % of CPU in memset and ~130 KB per idle connection.
/// Messages larger than this still arrive whole (the buffer grows for a frame in progress).
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Bytes of outgoing frames buffered before they are written to the socket; the send loop
/// flushes every batch anyway, so this only splits very large batches.
const WRITE_BUFFER_BYTES: usize = 8 * 1024;

/// `/ID...`: y-websocket's URL convention.
const BARE: IdInPath = IdInPath { prefix: "/", suffix: "" };
/// `/ws/ID...`.
const WS: IdInPath = IdInPath { prefix: "/ws/", suffix: "" };
/// `/api/docs/ID.../text`.
const TEXT: IdInPath = IdInPath { prefix: "/api/docs/", suffix: "/text" };

/// The router over the shared server state.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/docs", get(list_documents))
        .route(
            "/api/docs/{*id}",
            get(document_get).post(document_post).delete(manage::delete_document),
        )
        // Before the fallback, which would take it for the document `api/mux` (that document
        // stays reachable at `/ws/api/mux`).
        .route(MUX_PATH, get(multiplexed_route))
        .route("/ws/{*id}", get(websocket_route))
        .fallback(fallback)
        .with_state(app)
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    // A database that answers reads may still refuse writes (a full disk): then nothing is
    // confirmed, and the server is not healthy.
    if let Some(reason) = app.writer.failure() {
        return (StatusCode::SERVICE_UNAVAILABLE, format!("storage refuses writes: {reason}\n"))
            .into_response();
    }
    match app.storage.ping().await {
        // A full server refuses websocket upgrades with a 503 that a browser hides from the
        // page; the page's probe of this endpoint learns why from the header.
        Ok(()) => {
            let available = app.admission.available();
            ([(WEBSOCKETS_AVAILABLE, available.to_string())], "ok\n").into_response()
        }
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, format!("database unavailable: {error}\n"))
            .into_response(),
    }
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut text = app.metrics.render();
    text.push_str(&format!(
        "# HELP tandem_connections_available Connections that may still open.\n\
         # TYPE tandem_connections_available gauge\ntandem_connections_available {}\n",
        app.admission.available()
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

#[derive(Debug, serde::Serialize)]
struct DocumentListing {
    #[serde(flatten)]
    info: crate::storage::DocumentInfo,
    connections: usize,
}

async fn list_documents(
    State(app): State<Arc<App>>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = authorize_api(&app, &query, &headers, "") {
        return unauthorized(error);
    }
    match app.storage.list().await {
        Ok(docs) => {
            let listing: Vec<DocumentListing> = docs
                .into_iter()
                .map(|info| {
                    let connections = app.rooms.get(&info.id).map_or(0, |room| room.connections());
                    DocumentListing { info, connections }
                })
                .collect();
            axum::Json(listing).into_response()
        }
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, format!("{error}\n")).into_response(),
    }
}

/// `GET /api/docs/...`: the history's endpoints, else the document's text.
async fn document_get(
    State(app): State<Arc<App>>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    if let Some(response) =
        crate::history::api::handle(&app, &axum::http::Method::GET, &uri, &headers, &[]).await
    {
        return response;
    }
    document_text(State(app), OriginalUri(uri), Query(query), headers).await
}

/// `POST /api/docs/...`: the history's endpoints, then share and rename ([`manage`]).
async fn document_post(
    State(app): State<Arc<App>>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    match crate::history::api::handle(&app, &axum::http::Method::POST, &uri, &headers, &body).await
    {
        Some(response) => response,
        None => manage::post_document(&app, uri.path(), &query, &headers, &body).await,
    }
}

async fn document_text(
    State(app): State<Arc<App>>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    let id = match TEXT.read(uri.path()) {
        Ok(id) => id,
        Err(refusal) => return refusal.into_response(),
    };
    if let Err(error) = authorize_api(&app, &query, &headers, &id) {
        return unauthorized(error);
    }
    match app.rooms.text(&id).await {
        Ok(Some(text)) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, "no such document\n").into_response(),
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, format!("{error}\n")).into_response(),
    }
}

async fn websocket_route(State(app): State<Arc<App>>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    match WebSocketUpgrade::from_request_parts(&mut parts, &app).await {
        Ok(upgrade) => websocket(app, upgrade, &WS, &parts),
        Err(rejection) => rejection.into_response(),
    }
}

/// `GET /ID` with `Upgrade: websocket` is a document (y-websocket's URL convention); any other
/// request is for the web client's files.
async fn fallback(State(app): State<Arc<App>>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    if is_websocket_upgrade(&parts.headers) {
        return match WebSocketUpgrade::from_request_parts(&mut parts, &app).await {
            Ok(upgrade) => websocket(app, upgrade, &BARE, &parts),
            Err(rejection) => rejection.into_response(),
        };
    }
    static_files(&app, Request::from_parts(parts, body)).await
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

#[derive(Debug, Default)]
struct WebsocketQuery {
    token: Option<String>,
    /// Comma-separated extensions; `durable` is the one there is.
    ext: Option<String>,
}

impl WebsocketQuery {
    /// [`Extensions::Tandem`] when `ext` names `durable`.
    fn extensions(&self) -> Extensions {
        let durable =
            self.ext.as_deref().is_some_and(|ext| ext.split(',').any(|e| e.trim() == "durable"));
        if durable { Extensions::Tandem } else { Extensions::Stock }
    }
}

fn websocket(
    app: Arc<App>,
    upgrade: WebSocketUpgrade,
    id_in_path: &IdInPath,
    parts: &axum::http::request::Parts,
) -> Response {
    let id = match id_in_path.read(parts.uri.path()) {
        Ok(id) => id,
        Err(refusal) => return refusal.into_response(),
    };
    let query = parts.uri.query().map(parse_websocket_query).unwrap_or_default();
    let extensions = query.extensions();
    let max = app.config.limits.max_message_bytes;
    upgrade_to(app, upgrade, parts, max, move |socket, app, peer, slot| {
        let request = ConnectRequest { doc: id, token: query.token, extensions, peer };
        connection::serve(socket, app, request, slot)
    })
}

/// `GET /api/mux`: the multiplexed websocket ([`crate::multiplex`]).
async fn multiplexed_route(State(app): State<Arc<App>>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &app).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let query = parts.uri.query().map(parse_websocket_query).unwrap_or_default();
    let extensions = query.extensions();
    // Room for the header too: a document's largest frame passes as it would on its own socket.
    let max = app.config.limits.max_message_bytes + multiplex::HEADER_BYTES;
    upgrade_to(app, upgrade, &parts, max, move |socket, app, peer, slot| {
        let request = MuxRequest { token: query.token, extensions, peer };
        multiplex::serve(socket, app, request, slot)
    })
}

/// Takes the socket's connection slot and upgrades it to a websocket that `serve` serves and
/// that takes messages of up to `max_message_bytes`.
fn upgrade_to<Serve, Serving>(
    app: Arc<App>,
    upgrade: WebSocketUpgrade,
    parts: &axum::http::request::Parts,
    max_message_bytes: usize,
    serve: Serve,
) -> Response
where
    Serve: FnOnce(WebSocket, Arc<App>, Option<Peer>, Arc<Slot>) -> Serving + Send + 'static,
    Serving: Future<Output = ()> + Send + 'static,
{
    // The socket's slot, taken when it was accepted (crate::listen), now counts the websocket.
    let Some(ConnectionSlot(slot)) = parts.extensions.get::<ConnectionSlot>().cloned() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no connection slot\n").into_response();
    };
    // Before the 101: a full server still answers (its sockets that are not websockets have
    // slots of their own, see crate::admission), so the client learns why it was refused.
    if let Err(refused) = slot.establish() {
        if refused == Refused::Full {
            app.metrics.reject(Rejection::ConnectionLimit);
        }
        return (StatusCode::SERVICE_UNAVAILABLE, "too many connections\n").into_response();
    }
    let linger = parts.extensions.get::<LingerOnClose>().cloned().unwrap_or_default();
    let trust = if app.config.trust_proxy { ProxyTrust::LastHop } else { ProxyTrust::None };
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| Peer::identify(info.0, &parts.headers, trust));
    let tracker = app.tracker.clone();
    upgrade
        .max_message_size(max_message_bytes)
        .max_frame_size(max_message_bytes)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .on_upgrade(move |socket| async move {
            // The server may close a websocket while its client still sends (a frame over the
            // limit, say): the close frame must not be reset away.
            linger.arm();
            tracker.track_future(serve(socket, app, peer, slot)).await;
        })
}

/// Reads `token` and `ext` from a query string; other parameters (y-websocket adds its own)
/// are ignored.
fn parse_websocket_query(query: &str) -> WebsocketQuery {
    let pairs: HashMap<String, String> =
        url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    WebsocketQuery { token: pairs.get("token").cloned(), ext: pairs.get("ext").cloned() }
}

/// `--web-dir` if given, else the client built into the binary.
async fn static_files(app: &App, request: Request) -> Response {
    let Some(dir) = &app.config.web_dir else {
        return web_bundle::serve(request.method(), request.uri().path());
    };
    if !dir.join("index.html").is_file() {
        return web_bundle::missing_client(
            "The browser client is not installed here: <code>--web-dir</code> has no \
             <code>index.html</code>; build it with <code>scripts/build-web.sh</code>.",
        );
    }
    let service = ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")));
    match service.oneshot(request).await {
        Ok(response) => response.map(axum::body::Body::new),
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use tandem_crdt::DocIdError;

    use super::*;
    use crate::request::IdRefusal;

    #[test]
    fn every_endpoint_reads_its_id_the_same_way() {
        for (place, path) in [
            (&BARE, "/%E4%BC%9A%E8%AE%AE/x%2Fy"),
            (&WS, "/ws/%E4%BC%9A%E8%AE%AE/x%2Fy"),
            (&TEXT, "/api/docs/%E4%BC%9A%E8%AE%AE/x%2Fy/text"),
        ] {
            assert_eq!(place.read(path).ok().as_deref(), Some("会议/x/y"), "{path}");
        }
        assert_eq!(BARE.read("/%61").ok().as_deref(), Some("a"));
        assert_eq!(WS.read("/ws/%61").ok().as_deref(), Some("a"));
        assert_eq!(TEXT.read("/api/docs/a/text/text").ok().as_deref(), Some("a/text"));
        assert_eq!(TEXT.read("/api/docs/a"), Err(IdRefusal::NotHere));
        assert_eq!(WS.read("/ws/a/../b"), Err(IdRefusal::Invalid(DocIdError::DotSegment)));
    }

    #[test]
    fn websocket_query() {
        let q = parse_websocket_query("ext=durable&token=a%2Eb&room=x");
        assert_eq!(q.ext.as_deref(), Some("durable"));
        assert_eq!(q.token.as_deref(), Some("a.b"));
    }
}
