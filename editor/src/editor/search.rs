//! Incremental search, next/previous match and replace, in bounded steps so that no frame waits on a whole
//! 100 MB buffer.
//!
//! All positions are char offsets into the buffer.

use std::ops::Range;

use super::{Confirm, Editor, Mode};
use crate::history::ChangeKind;
use crate::input::{Key, KeyEvent};
use crate::search::{Found, Query, SearchOptions};
use crate::selection::Selection;
use crate::text::Edit;

/// Bytes a search scans per step, so that no frame waits on a whole 100 MB buffer.
pub(super) const SEARCH_BUDGET: usize = 4 << 20;

/// Buffers up to this size count their matches for "match K of N" (a count is a scan of the whole buffer).
pub(super) const COUNT_LIMIT: usize = 2 << 20;

/// A replace-one-by-one session.
#[derive(Clone, Debug)]
pub struct ReplaceSession {
    query: Query,
    replacement: String,
    regex: bool,
    current: Range<usize>,
    origin: usize,
    wrapped: bool,
    count: usize,
}

pub(super) struct PendingSearch {
    query: Query,
    origin: usize,
    resume: usize,
}

/// Which way find next/previous looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Direction {
    /// Towards the end of the buffer (wrapping).
    Forward,
    /// Towards the start.
    Backward,
}

/// What the search remembers between commands.
#[derive(Default)]
pub(super) struct SearchState {
    /// Regex and case flags.
    pub(super) options: SearchOptions,
    /// The last submitted search, for find next/previous.
    pub(super) last: Option<String>,
    /// The query whose matches are highlighted.
    pub(super) highlight: Option<Query>,
    /// A search still scanning.
    pub(super) pending: Option<PendingSearch>,
}

impl Editor {
    // ----- search -----

    pub(super) fn search_incremental(&mut self, input: &str, origin: Selection) {
        self.search.pending = None;
        if input.is_empty() {
            self.view.selection = origin;
            self.search.highlight = None;
            self.message = None;
            return;
        }
        match Query::new(input, self.search.options) {
            Ok(q) => {
                self.search.highlight = Some(q.clone());
                self.message = None;
                let from = origin.range().start;
                let found = q.find_next(self.rope(), from, SEARCH_BUDGET);
                self.search_found(found, q, from, Direction::Forward);
            }
            Err(e) => {
                self.search.highlight = None;
                self.error(format!("invalid regex: {e}"));
            }
        }
    }

    /// Shows what a search `direction` from `origin` found: the match selected, "match K of N" (counted in
    /// buffers up to [`COUNT_LIMIT`]) and whether the search wrapped around.
    pub(super) fn search_found(
        &mut self,
        found: Found,
        query: Query,
        origin: usize,
        direction: Direction,
    ) {
        match found {
            Found::Match(start, end) => {
                self.view.selection = Selection { anchor: start, head: end };
                self.doc.history.seal();
                self.center_if_off_screen();
                let wrapped = match direction {
                    Direction::Forward if start < origin => " (wrapped to the top)",
                    Direction::Backward if start >= origin => " (wrapped to the bottom)",
                    _ => "",
                };
                let counted = (self.rope().len_bytes() <= COUNT_LIMIT)
                    .then(|| query.count(self.rope(), start))
                    .flatten();
                match counted {
                    Some((k, n)) => self.info(format!("match {k} of {n}{wrapped}")),
                    None if !wrapped.is_empty() => self.info(format!("search{wrapped}")),
                    None => self.message = None,
                }
            }
            Found::None => self.error("no match"),
            Found::Pending(resume) => {
                self.info("searching…");
                self.search.pending = Some(PendingSearch { query, origin, resume });
            }
        }
    }

    pub(super) fn search_step(&mut self, direction: Direction) {
        let query = match (&self.search.highlight, &self.search.last) {
            (Some(q), _) => q.clone(),
            (None, Some(s)) => match Query::new(s, self.search.options) {
                Ok(q) => q,
                Err(e) => return self.error(format!("invalid regex: {e}")),
            },
            (None, None) => return self.info("no previous search (Ctrl-F)"),
        };
        self.search.highlight = Some(query.clone());
        let range = self.view.selection.range();
        let from = if range.is_empty() { range.end } else { range.start + 1 };
        let (found, origin) = if direction == Direction::Forward {
            (query.find_next(self.rope(), from, SEARCH_BUDGET), from)
        } else {
            (query.find_prev(self.rope(), range.start), range.start)
        };
        self.search_found(found, query, origin, direction);
    }

    /// Next match of the last search.
    pub fn find_next(&mut self) {
        self.search_step(Direction::Forward);
    }

    /// Previous match of the last search.
    pub fn find_prev(&mut self) {
        self.search_step(Direction::Backward);
    }

    pub(super) fn start_replace(&mut self, pattern: &str, replacement: String) {
        let query = match Query::new(pattern, self.search.options) {
            Ok(q) => q,
            Err(e) => return self.error(format!("invalid regex: {e}")),
        };
        let from = self.view.selection.range().start;
        match query.find_next(self.rope(), from, usize::MAX) {
            Found::Match(s, e) => {
                self.search.highlight = Some(query.clone());
                let regex = self.search.options.regex;
                let session = ReplaceSession {
                    query,
                    replacement,
                    regex,
                    current: s..e,
                    origin: s,
                    wrapped: false,
                    count: 0,
                };
                self.show_replace(session);
            }
            _ => self.error("no match"),
        }
    }

    pub(super) fn show_replace(&mut self, session: ReplaceSession) {
        self.view.selection =
            Selection { anchor: session.current.start, head: session.current.end };
        self.center_if_off_screen();
        self.mode = Mode::Confirm(Confirm::Replace(session));
    }

    pub(super) fn replace_key(&mut self, mut s: ReplaceSession, key: KeyEvent) {
        let next_from = match key.key {
            Key::Char('y') => {
                let text = s.query.expand(self.rope(), s.current.clone(), &s.replacement, s.regex);
                let end = s.current.start + text.chars().count();
                let edit = Edit { range: s.current.clone(), text };
                self.doc.history.seal();
                if !self.apply_local(edit, Selection::point(end), ChangeKind::Other) {
                    return;
                }
                s.count += 1;
                end
            }
            Key::Char('n') => s.current.end,
            Key::Char('a') => return self.replace_all(s),
            Key::Esc | Key::Char('q') => return self.finish_replace(s.count),
            _ => {
                self.mode = Mode::Confirm(Confirm::Replace(s));
                return;
            }
        };
        let Found::Match(start, end) = s.query.find_next(self.rope(), next_from, usize::MAX) else {
            return self.finish_replace(s.count);
        };
        if start < next_from {
            s.wrapped = true;
        }
        if s.wrapped && start >= s.origin {
            return self.finish_replace(s.count);
        }
        s.current = start..end;
        self.show_replace(s);
    }

    /// "a" in a replace session: replaces the current match and every one after it up to where the session
    /// started (wrapping around the end), never the matches already answered "n".
    pub(super) fn replace_all(&mut self, mut s: ReplaceSession) {
        self.doc.history.seal();
        let (mut pos, mut wrapped, mut origin) = (s.current.start, s.wrapped, s.origin);
        while let Found::Match(start, end) = s.query.find_next(self.rope(), pos, usize::MAX) {
            if start < pos {
                if wrapped {
                    break;
                }
                wrapped = true;
            }
            if wrapped && start >= origin {
                break;
            }
            let text = s.query.expand(self.rope(), start..end, &s.replacement, s.regex);
            let len = text.chars().count();
            pos = start + len;
            // Replacing before the start moves it.
            if start < origin {
                origin = (origin + len).saturating_sub(end - start);
            }
            let sel = Selection::point(pos);
            if !self.apply_local(Edit { range: start..end, text }, sel, ChangeKind::Batch) {
                break;
            }
            s.count += 1;
        }
        self.doc.history.seal();
        self.finish_replace(s.count);
    }

    pub(super) fn finish_replace(&mut self, count: usize) {
        self.mode = Mode::Normal;
        self.after_change();
        self.info(format!("replaced {count} match{}", if count == 1 { "" } else { "es" }));
    }

    /// Does a bounded slice of background work (continuing a search). Returns whether more remains.
    pub fn tick(&mut self) -> bool {
        let Some(p) = self.search.pending.take() else { return false };
        let found = p.query.scan_forward(self.rope(), p.origin, p.resume, SEARCH_BUDGET);
        self.search_found(found, p.query, p.origin, Direction::Forward);
        self.is_busy()
    }
}
