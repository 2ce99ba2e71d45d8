//! What a test does when a tool or service it needs (tmux, node, a browser, PostgreSQL, the
//! editing traces) is not there: locally it prints `skipped: …` and returns, so a laptop without
//! Chromium still runs the rest; under CI (`CI=true`) it panics, so a green CI means the whole
//! suite ran and no test passed by returning early.
//!
//! ```no_run
//! fn tmux_runs() -> bool {
//!     std::process::Command::new("tmux").arg("-V").status().is_ok_and(|s| s.success())
//! }
//!
//! #[test]
//! fn edits_in_a_real_terminal() {
//!     if !tmux_runs() {
//!         return tandem_require::require_or_skip("edits_in_a_real_terminal", "tmux is not installed");
//!     }
//!     // ...
//! }
//! ```
#![deny(missing_docs)]

/// The environment variable CI systems set (GitHub, GitLab, Buildkite, ...; `.ci/run` sets it too).
pub const CI_VAR: &str = "CI";

/// What a missing requirement means where the tests run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// A developer's machine: a missing tool skips the test, with the reason printed.
    Skip,
    /// CI: a missing tool fails the test.
    Fail,
}

impl Policy {
    /// The policy for a value of the `CI` variable: `true` or `1` (any case) means CI; unset,
    /// empty, `false` or `0` do not.
    pub fn from_ci_value(value: Option<&str>) -> Self {
        match value.map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => Self::Fail,
            _ => Self::Skip,
        }
    }

    /// The policy of this process, from its `CI` variable.
    pub fn from_env() -> Self {
        Self::from_ci_value(std::env::var(CI_VAR).ok().as_deref())
    }

    /// Reports that `what` (usually the test's name) cannot run here because of `reason`: prints
    /// `skipped: WHAT: REASON` under [`Policy::Skip`], panics with the reason under
    /// [`Policy::Fail`].
    #[track_caller]
    pub fn missing(self, what: &str, reason: &str) {
        match self {
            Self::Skip => eprintln!("skipped: {what}: {reason}"),
            Self::Fail => {
                panic!("{what} cannot run and {CI_VAR}=true forbids skipping it: {reason}")
            }
        }
    }
}

/// Call when `what` cannot run here because of `reason`, then return from the test: a printed
/// skip locally, a panic under `CI=true` (see [`Policy`]).
#[track_caller]
pub fn require_or_skip(what: &str, reason: &str) {
    Policy::from_env().missing(what, reason);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_values_that_mean_ci() {
        for value in ["true", "TRUE", "True", "1", " true\n"] {
            assert_eq!(Policy::from_ci_value(Some(value)), Policy::Fail, "{value:?}");
        }
    }

    #[test]
    fn values_that_do_not_mean_ci() {
        for value in [None, Some(""), Some("false"), Some("0"), Some("no")] {
            assert_eq!(Policy::from_ci_value(value), Policy::Skip, "{value:?}");
        }
    }

    #[test]
    fn a_skip_returns() {
        Policy::Skip.missing("a_skip_returns", "nothing is missing, this only prints");
    }

    #[test]
    #[should_panic(expected = "forbids skipping it: tmux is not installed")]
    fn under_ci_a_missing_tool_fails_the_test() {
        Policy::from_ci_value(Some("true")).missing("some_test", "tmux is not installed");
    }
}
