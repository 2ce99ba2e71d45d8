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
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column (in chars) of the problem.
        column: usize,
        /// What is wrong, on one line.
        message: String,
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
    toml::from_str(text).map_err(|e| {
        let at = e.span().map_or(0, |span| span.start.min(text.len()));
        let before = text.get(..at).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let message = e.message().split_whitespace().collect::<Vec<_>>().join(" ");
        ConfigError::Parse { path: path.to_owned(), line, column, message }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parse_error_names_the_line_and_column_on_one_line() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            a: Option<usize>,
        }
        let err = parse::<T>("a = 1\n  b = 2\n", Path::new("c.toml")).unwrap_err().to_string();
        assert!(err.starts_with("c.toml:2:3: unknown field `b`"), "{err}");
        assert!(!err.contains('\n'));
    }
}
