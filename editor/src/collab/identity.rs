//! Who the user is and where the document lives: the `ws://HOST:PORT/DOC-ID` target, the name
//! and colour shown to others.

use crate::theme::Rgb;

use super::CollabError;

/// Colours picked for users who did not choose one (readable on dark and light themes).
const PALETTE: [&str; 8] =
    ["#ee6352", "#30bced", "#6eeb83", "#ffbc42", "#b27cf5", "#f78fb3", "#38d9a9", "#fd7e14"];

/// A document on a server, parsed from `ws://HOST:PORT/DOC-ID` (or `wss://`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `HOST:PORT`, naming the server in the local store.
    pub server: String,
    /// The document id (the URL path without its leading `/`).
    pub doc: String,
    /// The URL without query, e.g. `ws://127.0.0.1:8080/notes`.
    pub base: String,
}

impl Target {
    /// Parses a document URL; any query string is ignored (the token has its own flag).
    pub fn parse(url: &str) -> Result<Self, CollabError> {
        let bad = |why: &str| CollabError::Url(format!("{url}: {why}"));
        let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if !matches!(parsed.scheme(), "ws" | "wss") {
            return Err(bad("expected ws://HOST:PORT/DOC-ID or wss://…"));
        }
        let host = parsed.host_str().ok_or_else(|| bad("no host"))?;
        let port = parsed.port_or_known_default().ok_or_else(|| bad("no port"))?;
        let doc = parsed.path().trim_start_matches('/').to_owned();
        if doc.is_empty() {
            return Err(bad("no document id after the host"));
        }
        let server = format!("{host}:{port}");
        let base = format!("{}://{server}/{doc}", parsed.scheme());
        Ok(Self { server, doc, base })
    }

    /// The URL to connect to: asks tandem-server for durability confirmations (a stock
    /// y-websocket server ignores the query) and carries the token.
    pub fn connect_url(&self, token: Option<&str>) -> String {
        let mut url = format!("{}?ext=durable", self.base);
        if let Some(token) = token {
            url.push_str("&token=");
            url.push_str(
                &url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>(),
            );
        }
        url
    }
}

/// The name shown to others: `explicit` (flag or config), else git's `user.name`, else the login
/// name, else "anonymous".
pub fn user_name(explicit: Option<&str>) -> String {
    let git = || {
        let out = std::process::Command::new("git").args(["config", "user.name"]).output().ok()?;
        let name = String::from_utf8(out.stdout).ok()?.trim().to_owned();
        (out.status.success() && !name.is_empty()).then_some(name)
    };
    let login = || {
        ["USER", "LOGNAME", "USERNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|n| !n.trim().is_empty()))
    };
    explicit
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .or_else(git)
        .or_else(login)
        .unwrap_or_else(|| "anonymous".to_owned())
}

/// The user's colour: `explicit` if it is `#rrggbb`, else one picked from the name so that a
/// user keeps the same colour across sessions.
pub fn user_color(explicit: Option<&str>, name: &str) -> Result<String, CollabError> {
    if let Some(c) = explicit {
        Rgb::parse(c).map_err(|_| CollabError::Colour(c.to_owned()))?;
        return Ok(c.to_ascii_lowercase());
    }
    Ok(name_colour(name).to_owned())
}

/// The colour picked for `name` (`#rrggbb`) when its user chose none: also the colour of an
/// author who is not here to say theirs.
pub fn name_colour(name: &str) -> &'static str {
    // FNV-1a: stable across runs and platforms, unlike the std hasher.
    let hash = name
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    PALETTE[(hash % PALETTE.len() as u64) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_bad_ones_explain() {
        let t = Target::parse("ws://127.0.0.1:8080/notes?x=1").unwrap();
        assert_eq!(t.server, "127.0.0.1:8080");
        assert_eq!(t.doc, "notes");
        assert_eq!(
            t.connect_url(Some("a.b=")),
            "ws://127.0.0.1:8080/notes?ext=durable&token=a.b%3D"
        );
        assert_eq!(Target::parse("wss://example.org/team/doc").unwrap().server, "example.org:443");
        for bad in ["http://h:1/d", "ws://h:1/", "notes.md"] {
            assert!(matches!(Target::parse(bad), Err(CollabError::Url(_))), "{bad}");
        }
    }

    #[test]
    fn colours_are_validated_or_stable_per_name() {
        assert_eq!(user_color(Some("#A0B0C0"), "x").unwrap(), "#a0b0c0");
        assert!(user_color(Some("red"), "x").is_err());
        let a = user_color(None, "ada").unwrap();
        assert_eq!(a, user_color(None, "ada").unwrap());
        assert!(Rgb::parse(&a).is_ok());
    }

    #[test]
    fn explicit_names_win() {
        assert_eq!(user_name(Some(" Ada ")), "Ada");
        assert!(!user_name(Some("  ")).is_empty());
    }
}
