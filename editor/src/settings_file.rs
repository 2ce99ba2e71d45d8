//! Reading a TOML settings file (the configuration or a theme): the one error type both report and the parser
//! that names the file in its errors. Its own module so that the config, which loads themes, and the themes do not
//! import each other.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Errors reading configuration or themes.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped options.
    #[error("invalid {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: Box<toml::de::Error>,
    },
    /// A colour is not `#rrggbb`.
    #[error("invalid colour {0:?} (expected \"#rrggbb\")")]
    Colour(String),
    /// No built-in or user theme has this name.
    #[error("unknown theme {0:?} (built-in: dark, light)")]
    UnknownTheme(String),
}

/// Parses `text` (read from `path`, named in errors) into `T`.
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(
    text: &str,
    path: &Path,
) -> Result<T, ConfigError> {
    toml::from_str(text)
        .map_err(|e| ConfigError::Parse { path: path.to_owned(), source: Box::new(e) })
}
