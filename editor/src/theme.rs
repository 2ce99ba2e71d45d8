//! Colours for the interface and for syntax scopes, read from TOML (`assets/themes/*.toml`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::settings_file::{ConfigError, parse};

/// A 24-bit colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub(crate) fn parse(s: &str) -> Result<Self, ConfigError> {
        let err = || ConfigError::Colour(s.to_owned());
        let hex = s.strip_prefix('#').filter(|h| h.len() == 6 && h.is_ascii()).ok_or_else(err)?;
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| err());
        Ok(Rgb(byte(0)?, byte(2)?, byte(4)?))
    }
}

/// Interface colours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UiColours {
    /// Text area background.
    pub background: Rgb,
    /// Default text.
    pub foreground: Rgb,
    /// Line numbers.
    pub gutter: Rgb,
    /// The cursor line's number.
    pub gutter_current: Rgb,
    /// Selected text background.
    pub selection: Rgb,
    /// Search match background.
    pub search_match: Rgb,
    /// Status bar background.
    pub status_background: Rgb,
    /// Status bar text.
    pub status_foreground: Rgb,
    /// Message line text.
    pub message: Rgb,
    /// Error messages.
    pub error: Rgb,
    /// Help screen background.
    pub help_background: Rgb,
}

/// A complete theme.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Theme {
    /// Interface colours.
    pub ui: UiColours,
    /// Scope selector → foreground colour, in file order.
    pub syntax: Vec<(String, Rgb)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    ui: BTreeMap<String, String>,
    #[serde(default)]
    syntax: toml::Table,
}

const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../assets/themes/dark.toml")),
    ("light", include_str!("../../assets/themes/light.toml")),
];

impl Theme {
    /// A built-in theme by name.
    pub fn builtin(name: &str) -> Option<Result<Theme, ConfigError>> {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| Theme::from_toml(text, Path::new(n)))
    }

    /// The default theme.
    pub fn dark() -> Theme {
        // Checked by a unit test; a plain fallback keeps the editor usable regardless.
        Theme::builtin("dark").and_then(Result::ok).unwrap_or_else(Theme::plain)
    }

    fn plain() -> Theme {
        let (bg, fg) = (Rgb(0, 0, 0), Rgb(220, 220, 220));
        Theme {
            ui: UiColours {
                background: bg,
                foreground: fg,
                gutter: Rgb(120, 120, 120),
                gutter_current: fg,
                selection: Rgb(60, 60, 120),
                search_match: Rgb(120, 100, 0),
                status_background: Rgb(60, 60, 60),
                status_foreground: fg,
                message: fg,
                error: Rgb(255, 90, 90),
                help_background: bg,
            },
            syntax: Vec::new(),
        }
    }

    /// Reads a theme file; every `[ui]` colour is required.
    pub fn from_toml(text: &str, path: &Path) -> Result<Theme, ConfigError> {
        let file: ThemeFile = parse(text, path)?;
        let get = |k: &str| {
            file.ui
                .get(k)
                .ok_or_else(|| ConfigError::Colour(format!("missing [ui] {k}")))
                .and_then(|v| Rgb::parse(v))
        };
        let ui = UiColours {
            background: get("background")?,
            foreground: get("foreground")?,
            gutter: get("gutter")?,
            gutter_current: get("gutter_current")?,
            selection: get("selection")?,
            search_match: get("search_match")?,
            status_background: get("status_background")?,
            status_foreground: get("status_foreground")?,
            message: get("message")?,
            error: get("error")?,
            help_background: get("help_background")?,
        };
        let syntax = file
            .syntax
            .iter()
            .map(|(scope, v)| Ok((scope.clone(), Rgb::parse(v.as_str().unwrap_or_default())?)))
            .collect::<Result<_, ConfigError>>()?;
        Ok(Theme { ui, syntax })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_themes_parse() {
        for (name, _) in BUILTIN {
            let t = Theme::builtin(name).unwrap().unwrap();
            assert!(t.syntax.len() > 10);
        }
        assert_eq!(Rgb::parse("#0a0B0c").unwrap(), Rgb(10, 11, 12));
        assert!(Rgb::parse("#12345").is_err());
        assert!(Theme::from_toml("[ui]\nbackground = \"#000000\"", Path::new("t")).is_err());
    }
}
