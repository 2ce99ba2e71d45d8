use super::*;

fn keys(spec: &[&str]) -> Vec<TermEvent> {
    spec.iter().map(|s| TermEvent::Key(s.parse().unwrap())).collect()
}

fn feed(bytes: &[u8]) -> Vec<TermEvent> {
    InputParser::default().feed(bytes)
}

fn mouse_at(kind: MouseKind, column: u16, row: u16) -> TermEvent {
    TermEvent::Mouse(MouseEvent { kind, column, row, shift: false, alt: false, clicks: 1 })
}

#[test]
fn issue_11_shift_f3_is_a_key_not_a_cursor_position_report() {
    assert_eq!(feed(b"\x1b[1;2R"), keys(&["shift-f3"]));
    assert_eq!(feed(b"\x1b[1;5R\x1bOR\x1b[R"), keys(&["ctrl-f3", "f3", "f3"]));
}

#[test]
fn text_and_control_keys() {
    let typed = feed("aZé中😀 ".as_bytes());
    assert_eq!(
        typed,
        KeyEvent::typed("aZé中😀 ").into_iter().map(TermEvent::Key).collect::<Vec<_>>()
    );
    assert_eq!(
        feed(b"\r\t\x7f\x08\x13\x00\n"),
        keys(&["enter", "tab", "backspace", "ctrl-h", "ctrl-s", "ctrl-space", "ctrl-j"])
    );
}

#[test]
fn alt_is_an_escape_prefix() {
    assert_eq!(
        feed(b"\x1bx\x1bX\x1b\x7f\x1b\x1b[C"),
        keys(&["alt-x", "alt-x", "alt-backspace", "esc", "right"])
    );
}

#[test]
fn cursor_and_function_keys_with_modifiers() {
    assert_eq!(
        feed(b"\x1b[A\x1bOB\x1b[1;5C\x1b[1;3D\x1b[H\x1b[1;2F\x1b[Z\x1bOP\x1b[1;6S"),
        keys(&[
            "up",
            "down",
            "ctrl-right",
            "alt-left",
            "home",
            "shift-end",
            "backtab",
            "f1",
            "ctrl-shift-f4"
        ])
    );
    assert_eq!(
        feed(b"\x1b[2~\x1b[3;5~\x1b[5~\x1b[6~\x1b[1~\x1b[4~\x1b[15~\x1b[24;2~\x1b[[A"),
        keys(&[
            "insert",
            "ctrl-delete",
            "pageup",
            "pagedown",
            "home",
            "end",
            "f5",
            "shift-f12",
            "f1"
        ])
    );
    assert_eq!(feed(b"\x1b[27;5;107~\x1b[107;5u\x1b[13u"), keys(&["ctrl-k", "ctrl-k", "enter"]));
}

#[test]
fn a_sequence_cut_between_reads_waits_for_the_rest() {
    let mut parser = InputParser::default();
    assert_eq!(parser.feed(b"a\x1b[1;"), keys(&["a"]));
    assert!(parser.is_waiting());
    assert_eq!(parser.feed(b"2R\xe4\xb8"), keys(&["shift-f3"]));
    assert_eq!(parser.feed(b"\xad"), keys(&["中"]));
    assert!(!parser.is_waiting());
}

#[test]
fn a_lone_escape_is_the_escape_key_once_nothing_more_comes() {
    let mut parser = InputParser::default();
    assert_eq!(parser.feed(b"\x1b"), vec![]);
    assert!(parser.is_waiting() && !parser.in_paste());
    assert_eq!(parser.flush(), keys(&["esc"]));
    assert_eq!(parser.feed(b"\x1b["), vec![]);
    assert_eq!(parser.flush(), keys(&["alt-["]));
    assert_eq!(parser.feed(b"\x1b[12;"), vec![]);
    assert_eq!(parser.flush(), vec![], "an unfinished sequence is dropped");
    assert!(!parser.is_waiting());
}

#[test]
fn bracketed_paste_arrives_whole_even_in_pieces() {
    let mut parser = InputParser::default();
    assert_eq!(parser.feed(b"x\x1b[200~one\r\ntw"), keys(&["x"]));
    assert!(parser.in_paste());
    assert_eq!(
        parser.feed("o ü\x1b[201~y".as_bytes()),
        vec![TermEvent::Paste("one\r\ntwo ü".into()), TermEvent::Key("y".parse().unwrap())]
    );
}

#[test]
fn sgr_mouse_press_drag_release_and_wheel() {
    assert_eq!(
        feed(b"\x1b[<0;5;3M\x1b[<32;6;3M\x1b[<0;6;3m\x1b[<64;1;1M\x1b[<65;1;1M"),
        vec![
            mouse_at(MouseKind::Down, 4, 2),
            mouse_at(MouseKind::Drag, 5, 2),
            mouse_at(MouseKind::Up, 5, 2),
            mouse_at(MouseKind::ScrollUp, 0, 0),
            mouse_at(MouseKind::ScrollDown, 0, 0),
        ]
    );
    let shifted = feed(b"\x1b[<4;2;2M\x1b[<8;2;2M");
    assert!(matches!(shifted[0], TermEvent::Mouse(MouseEvent { shift: true, alt: false, .. })));
    assert!(matches!(shifted[1], TermEvent::Mouse(MouseEvent { shift: false, alt: true, .. })));
    assert_eq!(
        feed(b"\x1b[<2;5;3M\x1b[<35;5;3M\x1b[<66;1;1M"),
        vec![],
        "right button, motion, sideways wheel"
    );
}

#[test]
fn x10_and_rxvt_mouse() {
    assert_eq!(
        feed(b"\x1b[M %#\x1b[M#%#\x1b[32;5;3M\x1b[35;5;3M"),
        vec![
            mouse_at(MouseKind::Down, 4, 2),
            mouse_at(MouseKind::Up, 4, 2),
            mouse_at(MouseKind::Down, 4, 2),
            mouse_at(MouseKind::Up, 4, 2),
        ]
    );
}

#[test]
fn unknown_sequences_and_replies_are_skipped_whole() {
    assert_eq!(feed(b"\x1b[?1;2c\x1b[I\x1b[?12;3Ra\x1b[99~\xffb"), keys(&["a", "b"]));
}
