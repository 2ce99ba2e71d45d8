//! The configuration file: defaults embedded from `assets/config.toml`, overridden by the user's TOML.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::settings_file::{ConfigError, parse};
use crate::theme::Theme;

/// The default configuration, also the reference for every option.
pub const DEFAULT_CONFIG: &str = include_str!("../../assets/config.toml");

/// Editor settings.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Theme name or path.
    pub theme: String,
    /// Cells per tab stop.
    pub tab_width: usize,
    /// Tab inserts spaces.
    pub insert_spaces: bool,
    /// Wrap long lines.
    pub soft_wrap: bool,
    /// Show line numbers.
    pub line_numbers: bool,
    /// Syntax highlighting.
    pub syntax: bool,
    /// Mouse support.
    pub mouse: bool,
    /// Key spec → command name.
    pub keys: BTreeMap<String, String>,
    /// Name shown to collaborators (default: git's `user.name`, else the login name).
    #[serde(default)]
    pub user_name: Option<String>,
    /// Colour of this user's cursor for collaborators, `#rrggbb` (default: picked from the name).
    #[serde(default)]
    pub user_color: Option<String>,
    /// Why the user's file (or theme) was not used, with its line and column: the editor starts with the
    /// defaults and shows this once on the message line, so it can be used to fix its own config.
    #[serde(skip)]
    pub problem: Option<String>,
}

/// The user's file: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Overrides {
    theme: Option<String>,
    tab_width: Option<usize>,
    insert_spaces: Option<bool>,
    soft_wrap: Option<bool>,
    line_numbers: Option<bool>,
    syntax: Option<bool>,
    mouse: Option<bool>,
    #[serde(default)]
    keys: BTreeMap<String, String>,
    user_name: Option<String>,
    user_color: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        // The embedded default is checked by a unit test; should it ever fail to parse, this fallback keeps the
        // editor usable.
        parse(DEFAULT_CONFIG, Path::new("assets/config.toml")).unwrap_or_else(|_| Config {
            theme: "dark".into(),
            tab_width: 4,
            insert_spaces: false,
            soft_wrap: false,
            line_numbers: true,
            syntax: true,
            mouse: true,
            keys: BTreeMap::new(),
            user_name: None,
            problem: None,
            user_color: None,
        })
    }
}

impl Config {
    /// Where the user's config file lives on this platform (`…/tandem/config.toml`).
    pub fn default_path() -> Option<PathBuf> {
        config_dir().map(|d| d.join("config.toml"))
    }

    /// The defaults with the user's TOML text applied on top.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let o: Overrides = parse(text, path)?;
        let mut c = Config::default();
        c.theme = o.theme.unwrap_or(c.theme);
        c.tab_width = o.tab_width.unwrap_or(c.tab_width).clamp(1, 32);
        c.insert_spaces = o.insert_spaces.unwrap_or(c.insert_spaces);
        c.soft_wrap = o.soft_wrap.unwrap_or(c.soft_wrap);
        c.line_numbers = o.line_numbers.unwrap_or(c.line_numbers);
        c.syntax = o.syntax.unwrap_or(c.syntax);
        c.mouse = o.mouse.unwrap_or(c.mouse);
        c.keys.extend(o.keys);
        c.user_name = o.user_name.or(c.user_name);
        c.user_color = o.user_color.or(c.user_color);
        Ok(c)
    }

    /// Loads `path` if given (it must exist), else the platform config file if it exists, else the defaults.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let (path, required) = match path {
            Some(p) => (p.to_owned(), true),
            None => match Config::default_path() {
                Some(p) => (p, false),
                None => return Ok(Config::default()),
            },
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::from_toml(&text, &path),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Config::default())
            }
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// [`Config::load`], or the defaults with the reason in [`Config::problem`]: a broken config never stops
    /// the editor.
    pub fn load_or_defaults(path: Option<&Path>) -> Self {
        Config::load(path).unwrap_or_else(|e| {
            tracing::warn!("configuration not used: {e}");
            Config {
                problem: Some(format!("config not used (defaults instead): {e}")),
                ..Config::default()
            }
        })
    }

    /// The configured theme, else the dark one with the reason added to [`Config::problem`].
    pub fn theme_or_default(&mut self) -> Theme {
        self.load_theme().unwrap_or_else(|e| {
            tracing::warn!("theme not used: {e}");
            let problem = format!("theme not used (dark instead): {e}");
            self.problem = Some(match self.problem.take() {
                Some(earlier) => format!("{earlier}; {problem}"),
                None => problem,
            });
            Theme::dark()
        })
    }

    /// The configured theme: built-in name, `themes/NAME.toml` in the config dir, or a path to a TOML file.
    pub fn load_theme(&self) -> Result<Theme, ConfigError> {
        if let Some(theme) = Theme::builtin(&self.theme) {
            return theme;
        }
        let candidate = config_dir().map(|d| d.join("themes").join(format!("{}.toml", self.theme)));
        let path = match candidate.filter(|p| p.exists()) {
            Some(p) => p,
            None if self.theme.ends_with(".toml") => PathBuf::from(&self.theme),
            None => return Err(ConfigError::UnknownTheme(self.theme.clone())),
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|source| ConfigError::Read { path: path.clone(), source })?;
        Theme::from_toml(&text, &path)
    }
}

fn config_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "tandem").map(|d| d.config_dir().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_parses() {
        let c: Config = parse(DEFAULT_CONFIG, Path::new("default")).unwrap();
        assert_eq!(c.keys.get("ctrl-s").map(String::as_str), Some("save"));
        assert_eq!(c, Config::default());
    }

    #[test]
    fn overrides_merge_and_unknown_options_fail() {
        let c = Config::from_toml("tab_width = 8\n[keys]\n\"ctrl-s\" = \"none\"\n", Path::new("u"))
            .unwrap();
        assert_eq!(c.tab_width, 8);
        assert!(c.line_numbers);
        assert_eq!(c.keys.get("ctrl-s").map(String::as_str), Some("none"));
        assert!(Config::from_toml("tab_wdth = 8", Path::new("u")).is_err());
    }

    /// Issue 11: an invalid config starts the editor with the defaults and says why, with line and column.
    #[test]
    fn an_invalid_config_gives_the_defaults_and_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "tab_width = 8\ntheme = 3\n").unwrap();
        let c = Config::load_or_defaults(Some(&path));
        assert_eq!(c.tab_width, Config::default().tab_width);
        let problem = c.problem.unwrap();
        assert!(problem.contains(&format!("{}:2:9:", path.display())), "{problem}");
        let mut c = Config { theme: "no-such-theme".into(), ..Config::default() };
        assert_eq!(c.theme_or_default(), Theme::dark());
        assert!(c.problem.unwrap().contains("unknown theme"));
    }
}
