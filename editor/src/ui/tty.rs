//! Reading the terminal's input bytes (Unix) and parsing them with [`InputParser`]: the IO half of tandem's own
//! input reading, which replaces crossterm's because crossterm takes Shift-F3 for a cursor position report.

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::os::fd::AsFd;

use rustix::event::{PollFd, PollFlags, Timespec, poll};

use super::input_parser::{InputParser, TermEvent};

/// How long the rest of an escape sequence may take to arrive before what came is read as typed (a lone `ESC`
/// is then the Escape key). Terminals send a sequence in one write; 50 ms leaves room for a slow ssh link and is
/// still shorter than anyone presses Escape and another key.
const SEQUENCE_WAIT: Timespec = Timespec { tv_sec: 0, tv_nsec: 50_000_000 };

/// The terminal's input.
pub(crate) struct TtyInput {
    file: File,
    parser: InputParser,
    buf: Vec<u8>,
}

impl TtyInput {
    /// Standard input when it is the terminal, otherwise the controlling terminal (`/dev/tty`), as crossterm reads
    /// it and puts it in raw mode.
    pub(crate) fn open() -> io::Result<TtyInput> {
        let stdin = io::stdin();
        let file = if stdin.is_terminal() {
            File::from(stdin.as_fd().try_clone_to_owned()?)
        } else {
            File::open("/dev/tty")?
        };
        Ok(TtyInput { file, parser: InputParser::default(), buf: vec![0; 4096] })
    }

    /// Waits for the next events; `None` when the terminal is gone.
    pub(crate) fn next_events(&mut self) -> io::Result<Option<Vec<TermEvent>>> {
        loop {
            let wait = self.parser.is_waiting() && !self.parser.in_paste();
            let timeout = wait.then_some(&SEQUENCE_WAIT);
            let mut fds = [PollFd::new(&self.file, PollFlags::IN)];
            match poll(&mut fds, timeout) {
                Ok(0) => return Ok(Some(self.parser.flush())),
                Ok(_) => {}
                // A signal (a resize) interrupted the wait.
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            let n = match self.file.read(&mut self.buf) {
                Ok(0) => return Ok(None),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let events = self.parser.feed(&self.buf[..n]);
            if !events.is_empty() {
                return Ok(Some(events));
            }
        }
    }
}
