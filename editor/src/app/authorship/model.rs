//! [`Authorship`]: the colouring's model, pure. The server's runs, the buffer's length, edits
//! and the time go in; when to ask the server, which ranges to colour and what to tell the
//! user come out. The runs describe the server's text, so they are applied only when they
//! cover the buffer's text exactly; otherwise (edits still on their way) the server is asked
//! again, later each time, as the browser's colouring does.
//!
//! All positions are char offsets into the buffer (Unicode scalar values: the unit of ropey
//! and of a run's `chars`). Times are milliseconds, passed in.

use std::ops::Range;

use crate::collab::{AuthorRun, HistoryError};

/// How long after the last edit the runs are asked for again.
pub const SETTLE_MS: u64 = 500;
/// The longest wait between two tries while the answers do not fit or fail.
pub const MAX_RETRY_MS: u64 = 10_000;

/// The colourable part of the server's runs: the authors in order of first appearance (the
/// legend's order) and each known author's ranges, in text order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorRanges {
    /// Every author once.
    pub authors: Vec<String>,
    /// `(range, index into authors)`, sorted, not overlapping; text of no known author has none.
    pub ranges: Vec<(Range<usize>, usize)>,
}

impl AuthorRanges {
    /// The ranges as the editor's marks (start and end of each, in order), which follow every
    /// edit until the next answer replaces them.
    pub fn marks(&self) -> Vec<usize> {
        self.ranges.iter().flat_map(|(r, _)| [r.start, r.end]).collect()
    }
}

/// The ranges of `runs` with a known author, or `None` when the runs do not describe a text of
/// `len` chars (it changed between the server's answer and now: ask again rather than colour
/// the wrong letters) or are malformed (an empty run).
pub fn author_ranges(runs: &[AuthorRun], len: usize) -> Option<AuthorRanges> {
    let mut out = AuthorRanges::default();
    let mut at = 0usize;
    for run in runs {
        let size = usize::try_from(run.chars).ok().filter(|&n| n > 0)?;
        let end = at.checked_add(size)?;
        if let Some(author) = run.author.as_deref().filter(|a| !a.is_empty()) {
            let index = match out.authors.iter().position(|a| a == author) {
                Some(i) => i,
                None => {
                    out.authors.push(author.to_owned());
                    out.authors.len() - 1
                }
            };
            out.ranges.push((at..end, index));
        }
        at = end;
    }
    (at == len).then_some(out)
}

/// The ranges (from `marks`, two per range, with `runs[i]` the author of range `i`) that touch
/// `shown`, clipped to it: what one frame draws, found by binary search so that a large
/// document costs no more than a small one.
pub fn visible<'a>(
    marks: &'a [usize],
    runs: &'a [usize],
    shown: Range<usize>,
) -> impl Iterator<Item = (Range<usize>, usize)> + 'a {
    let pairs = marks.len() / 2;
    // Marks follow edits monotonically, so the ends stay sorted.
    let first = partition(pairs, |i| marks[2 * i + 1] <= shown.start);
    (first..pairs.min(runs.len()))
        .map(move |i| (marks[2 * i]..marks[2 * i + 1], runs[i]))
        .take_while(move |(r, _)| r.start < shown.end)
        .filter(|(r, _)| !r.is_empty())
        .map(move |(r, author)| (r.start.max(shown.start)..r.end.min(shown.end), author))
}

/// The first index in `0..n` where `before` is false (it holds for a prefix).
fn partition(n: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) { lo = mid + 1 } else { hi = mid }
    }
    lo
}

/// Where the asking stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asking {
    /// Ask at this time.
    Due(u64),
    /// A request is on its way; `edited`: the text changed since it left.
    Waiting { edited: bool },
    /// The colouring fits the text; nothing to ask until it changes.
    Idle,
}

/// What to do after an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Colour these ranges (replacing any before).
    Apply(AuthorRanges),
    /// Nothing to show now (it will ask again at [`Authorship::due`]); a problem to tell, if any.
    Wait(Option<String>),
    /// Switch the colouring off, saying why (the server keeps no authorship).
    Off(String),
}

/// The colouring of one buffer, while it is on.
#[derive(Debug, Clone)]
pub struct Authorship {
    asking: Asking,
    retry_ms: u64,
    /// The authors of the ranges shown, in the legend's order; `None` before the first fit.
    authors: Option<Vec<String>>,
    /// The author (index into `authors`) of each range shown.
    runs: Vec<usize>,
}

impl Authorship {
    /// Switched on at `now`: asks at once.
    pub fn new(now: u64) -> Self {
        Authorship {
            asking: Asking::Due(now),
            retry_ms: SETTLE_MS,
            authors: None,
            runs: Vec::new(),
        }
    }

    /// When to ask next, if a request is due.
    pub fn due(&self) -> Option<u64> {
        match self.asking {
            Asking::Due(at) => Some(at),
            Asking::Waiting { .. } | Asking::Idle => None,
        }
    }

    /// Whether to send a request now (then one is on its way).
    pub fn ask(&mut self, now: u64) -> bool {
        match self.asking {
            Asking::Due(at) if at <= now => {
                self.asking = Asking::Waiting { edited: false };
                true
            }
            _ => false,
        }
    }

    /// The text changed at `now` (here or elsewhere): ask again once it settles.
    pub fn edited(&mut self, now: u64) {
        self.asking = match self.asking {
            Asking::Waiting { .. } => Asking::Waiting { edited: true },
            Asking::Due(_) | Asking::Idle => Asking::Due(now + SETTLE_MS),
        };
    }

    /// The server answered, with the buffer `len` chars long at `now`.
    pub fn answered(
        &mut self,
        answer: Result<Vec<AuthorRun>, HistoryError>,
        len: usize,
        now: u64,
    ) -> Outcome {
        let edited = matches!(self.asking, Asking::Waiting { edited: true });
        let runs = match answer {
            Ok(runs) => runs,
            Err(HistoryError::NoHistory) => {
                return Outcome::Off(
                    "this server keeps no authorship (who wrote what needs tandem-server)".into(),
                );
            }
            Err(e) => {
                self.back_off(now);
                let secs = self.retry_ms.div_ceil(1000);
                return Outcome::Wait(Some(format!(
                    "authors unknown: {e}; asking again in {secs}s"
                )));
            }
        };
        let Some(ranges) = author_ranges(&runs, len) else {
            // The server's text is not this one yet (edits on their way): ask again later.
            self.back_off(now);
            return Outcome::Wait(None);
        };
        self.retry_ms = SETTLE_MS;
        self.asking = if edited { Asking::Due(now + SETTLE_MS) } else { Asking::Idle };
        self.authors = Some(ranges.authors.clone());
        self.runs = ranges.ranges.iter().map(|(_, author)| *author).collect();
        Outcome::Apply(ranges)
    }

    fn back_off(&mut self, now: u64) {
        self.retry_ms = (self.retry_ms * 2).min(MAX_RETRY_MS);
        self.asking = Asking::Due(now + self.retry_ms);
    }

    /// The authors shown, in the legend's order; `None` until an answer fitted.
    pub fn authors(&self) -> Option<&[String]> {
        self.authors.as_deref()
    }

    /// The author of each range shown (an index into [`Authorship::authors`]).
    pub fn runs(&self) -> &[usize] {
        &self.runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chars: u64, author: Option<&str>) -> AuthorRun {
        AuthorRun { chars, utf16: chars, author: author.map(str::to_owned) }
    }

    #[test]
    fn runs_become_the_ranges_of_known_authors_in_chars() {
        // "hello big 👋 world\n?" as the server's authors test writes it: the emoji is one char
        // (two UTF-16 units), which is the rope's unit too.
        let text = ropey::Rope::from("hello big 👋 world\n?");
        let runs = [
            AuthorRun { chars: 6, utf16: 6, author: Some("ada".into()) },
            AuthorRun { chars: 6, utf16: 7, author: Some("bob".into()) },
            AuthorRun { chars: 6, utf16: 6, author: Some("ada".into()) },
            AuthorRun { chars: 1, utf16: 1, author: None },
        ];
        let ranges = author_ranges(&runs, text.len_chars()).unwrap();
        assert_eq!(ranges.authors, ["ada", "bob"]);
        assert_eq!(ranges.ranges, [(0..6, 0), (6..12, 1), (12..18, 0)]);
        assert_eq!(text.slice(6..12).to_string(), "big 👋 ");
        assert_eq!(ranges.marks(), [0, 6, 6, 12, 12, 18]);
    }

    #[test]
    fn cjk_counts_one_char_each() {
        let text = "会议记录";
        let runs = [run(2, Some("李")), run(2, Some("王"))];
        let ranges = author_ranges(&runs, text.chars().count()).unwrap();
        assert_eq!(ranges.ranges, [(0..2, 0), (2..4, 1)]);
    }

    #[test]
    fn runs_that_do_not_cover_the_text_exactly_or_are_malformed_are_refused() {
        let runs = [run(3, Some("ada")), run(2, None)];
        assert!(author_ranges(&runs, 5).is_some());
        assert_eq!(author_ranges(&runs, 4), None, "shorter text");
        assert_eq!(author_ranges(&runs, 6), None, "longer text");
        assert_eq!(author_ranges(&[run(0, Some("ada"))], 0), None, "an empty run");
        assert_eq!(author_ranges(&[run(u64::MAX, None), run(u64::MAX, None)], 5), None);
        assert_eq!(author_ranges(&[], 0), Some(AuthorRanges::default()), "an empty text");
        let unnamed = author_ranges(&[run(2, Some("")), run(1, None)], 3).unwrap();
        assert!(unnamed.authors.is_empty() && unnamed.ranges.is_empty());
    }

    #[test]
    fn only_the_ranges_touching_the_shown_window_are_drawn_clipped_to_it() {
        let marks = [0, 10, 10, 20, 25, 30, 30, 30, 40, 50];
        let runs = [0, 1, 0, 1, 1];
        let got = |shown: Range<usize>| visible(&marks, &runs, shown).collect::<Vec<_>>();
        assert_eq!(got(12..28), [(12..20, 1), (25..28, 0)]);
        assert_eq!(got(0..5), [(0..5, 0)]);
        assert_eq!(got(20..25), []);
        assert_eq!(got(29..100), [(29..30, 0), (40..50, 1)], "an emptied range is skipped");
        assert_eq!(got(50..60), []);
        // A million ranges: the window's two are found without walking the others.
        let marks: Vec<usize> = (0..2_000_000).collect();
        let runs = vec![0; 1_000_000];
        assert_eq!(visible(&marks, &runs, 1_000_000..1_000_003).count(), 2);
    }

    #[test]
    fn it_asks_at_once_then_after_edits_settle() {
        let mut a = Authorship::new(1_000);
        assert_eq!(a.due(), Some(1_000));
        assert!(a.ask(1_000));
        assert!(!a.ask(1_000), "one request at a time");
        let outcome = a.answered(Ok(vec![run(2, Some("ada"))]), 2, 1_100);
        assert!(matches!(outcome, Outcome::Apply(_)));
        assert_eq!(a.authors(), Some(&["ada".to_owned()][..]));
        assert_eq!(a.due(), None, "nothing to ask while the colouring fits");
        a.edited(2_000);
        a.edited(2_300);
        assert_eq!(a.due(), Some(2_300 + SETTLE_MS), "each edit pushes the request back");
        assert!(!a.ask(2_700));
        assert!(a.ask(2_800));
    }

    #[test]
    fn an_edit_while_asking_asks_again_after_the_answer() {
        let mut a = Authorship::new(0);
        assert!(a.ask(0));
        a.edited(10);
        assert_eq!(a.due(), None);
        assert!(matches!(a.answered(Ok(vec![run(1, None)]), 1, 50), Outcome::Apply(_)));
        assert_eq!(a.due(), Some(50 + SETTLE_MS));
    }

    #[test]
    fn answers_that_do_not_fit_or_fail_are_asked_again_later_each_time() {
        let mut a = Authorship::new(0);
        let mut now = 0;
        let mut waits = Vec::new();
        for _ in 0..6 {
            assert!(a.ask(now));
            assert_eq!(a.answered(Ok(vec![run(3, None)]), 4, now), Outcome::Wait(None));
            let due = a.due().unwrap();
            waits.push(due - now);
            now = due;
        }
        assert_eq!(waits, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
        assert!(a.ask(now));
        let refused = a.answered(Err(HistoryError::Refused("busy".into())), 4, now);
        assert_eq!(
            refused,
            Outcome::Wait(Some(
                "authors unknown: the server refused: busy; asking again in 10s".into()
            ))
        );
        assert!(a.ask(now + 10_000));
        assert!(matches!(a.answered(Ok(vec![run(4, None)]), 4, now), Outcome::Apply(_)));
        a.edited(now);
        assert_eq!(a.due(), Some(now + SETTLE_MS), "a fit resets the backoff");
        assert_eq!(a.authors(), Some(&[][..]));
    }

    #[test]
    fn a_server_without_authorship_switches_it_off() {
        let mut a = Authorship::new(0);
        assert!(a.ask(0));
        let Outcome::Off(why) = a.answered(Err(HistoryError::NoHistory), 0, 0) else { panic!() };
        assert!(why.contains("keeps no authorship"), "{why}");
    }
}
