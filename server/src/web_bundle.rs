//! The browser client built into the binary (see `build.rs`): served at `/` unless `--web-dir`
//! names a directory to serve instead. Unknown paths get `index.html`, so `/d/DOC-ID` opens the
//! client; a binary built without the client serves a page saying how to get it.

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// The files of `web/dist` at build time, by URL path (`/index.html`).
static FILES: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/web_bundle.rs"));

/// The page served instead of a client that is missing, saying why (`why` is HTML).
pub(crate) fn missing_client(why: &str) -> Response {
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tandem</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>tandem-server is running</h1>
<p>{why}</p>
<p>Documents are at <code>ws://HOST:PORT/DOC-ID</code>; open one with
<code>tandem ws://HOST:PORT/DOC-ID</code>.</p>
<p><a href="/healthz">/healthz</a> · <a href="/metrics">/metrics</a> · <a href="/api/docs">/api/docs</a></p>
</body></html>
"#
    ))
    .into_response()
}

/// Whether the client is built in.
pub(crate) fn is_embedded() -> bool {
    !FILES.is_empty()
}

/// The response to a request for `path` with `method`.
pub(crate) fn serve(method: &Method, path: &str) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let Some((path, bytes)) = find(FILES, path) else {
        return missing_client(
            "This binary was built without the browser client. Build it with \
             <code>scripts/build-web.sh</code> and then the server, or point <code>--web-dir</code> \
             (<code>TANDEM_WEB_DIR</code>) at the client's files.",
        );
    };
    let body = if method == Method::HEAD { Body::empty() } else { Body::from(*bytes) };
    Response::builder()
        .header(header::CONTENT_TYPE, content_type(path))
        .header(header::CONTENT_LENGTH, bytes.len())
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The file for `path`, else `index.html` (the client routes `/d/DOC-ID` itself); `None` with no
/// files at all.
fn find<'a>(files: &'a [(&'a str, &'a [u8])], path: &str) -> Option<&'a (&'a str, &'a [u8])> {
    let wanted = if path == "/" { "/index.html" } else { path };
    files
        .iter()
        .find(|(name, _)| *name == wanted)
        .or_else(|| files.iter().find(|(name, _)| *name == "/index.html"))
}

/// The media type of a file by its extension.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        // Browsers compile wasm while it downloads only with this type.
        Some("wasm") => "application/wasm",
        Some("json" | "map") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_find_their_file_and_others_the_page() {
        let files: &[(&str, &[u8])] =
            &[("/index.html", b"page"), ("/app.js", b"js"), ("/chunks/a.js", b"a")];
        assert_eq!(find(files, "/").map(|f| f.0), Some("/index.html"));
        assert_eq!(find(files, "/chunks/a.js").map(|f| f.0), Some("/chunks/a.js"));
        assert_eq!(find(files, "/d/team%2Fnotes").map(|f| f.0), Some("/index.html"));
        assert_eq!(find(&[], "/"), None);
        assert_eq!(content_type("/tandem_web_bg.wasm"), "application/wasm");
        assert_eq!(content_type("/app.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("/LICENSE"), "application/octet-stream");
    }
}
