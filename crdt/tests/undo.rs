//! Per-user undo: a replica undoes only its own edits, in steps grouped by time.

use tandem_crdt::{Document, DocumentConfig};

fn doc(client_id: u64) -> Document {
    Document::new(DocumentConfig::new(client_id)).unwrap()
}

/// Applies `update` everywhere in `to`.
fn send(update: &[u8], to: &mut [&mut Document]) {
    for doc in to {
        doc.apply_update(update).unwrap();
    }
}

/// Undoes on `doc`, checks the delta against its view, and sends the update to `peer`.
fn undo(doc: &mut Document, peer: &mut Document, now_ms: u64) {
    let mut view = doc.text();
    let change = doc.undo(now_ms).unwrap().expect("something to undo");
    change.delta.apply_to(&mut view).unwrap();
    assert_eq!(view, doc.text(), "the undo delta patches the view");
    peer.apply_update(&change.update).unwrap();
}

#[test]
fn undo_removes_only_the_local_users_concurrent_edit() {
    let mut a = doc(1);
    let mut b = doc(2);
    send(&a.insert(0, "shared 📄\n", 0).unwrap(), &mut [&mut b]);
    a.end_undo_step();
    // Concurrent: A appends, B prepends, neither has seen the other's edit yet.
    let from_a = a.insert(9, "alice 🍎", 1_000).unwrap();
    let from_b = b.insert(0, "bob 中 ", 1_000).unwrap();
    send(&from_b, &mut [&mut a]);
    send(&from_a, &mut [&mut b]);
    assert_eq!(a.text(), "bob 中 shared 📄\nalice 🍎");
    assert_eq!(a.text(), b.text());

    undo(&mut a, &mut b, 2_000);
    assert_eq!(a.text(), "bob 中 shared 📄\n", "B's edit stays, A's goes");
    assert_eq!(b.text(), a.text());
    undo(&mut a, &mut b, 3_000);
    assert_eq!(a.text(), "bob 中 ", "then A's first edit");
    assert!(!a.can_undo());
    assert!(b.can_undo(), "B's own history is untouched");
    undo(&mut b, &mut a, 3_000);
    assert_eq!(a.text(), "");
}

#[test]
fn undo_after_interleaved_typing_leaves_the_other_users_text() {
    let mut a = doc(1);
    let mut b = doc(2);
    // A and B type alternately at the start and end of the text, each within one undo group.
    for (i, (ca, cb)) in ["h", "i", "😀"].iter().zip(["x", "y", "z"]).enumerate() {
        let now = i as u64 * 100;
        send(&a.insert(i, ca, now).unwrap(), &mut [&mut b]); // A's i chars come first

        let end = b.len_chars();
        send(&b.insert(end, cb, now).unwrap(), &mut [&mut a]);
    }
    assert_eq!(a.text(), "hi😀xyz");
    // B deletes part of A's text ("i"); A's undo must not bring it back nor touch "xyz".
    send(&b.delete(1..2, 300).unwrap(), &mut [&mut a]);
    undo(&mut a, &mut b, 400);
    assert_eq!(a.text(), "xyz");
    assert_eq!(b.text(), "xyz");
    // Redo brings back what A typed, minus what B deleted meanwhile.
    let change = a.redo(500).unwrap().unwrap();
    b.apply_update(&change.update).unwrap();
    assert_eq!(a.text(), "h😀xyz");
    assert_eq!(b.text(), a.text());
}

#[test]
fn grouping_by_time_and_explicit_step_ends() {
    let mut a = doc(1);
    let mut peer = doc(2);
    let mut type_at = |a: &mut Document, text: &str, now: u64| {
        let end = a.len_chars();
        let update = a.insert(end, text, now).unwrap();
        peer.apply_update(&update).unwrap();
    };
    // 0, 200, 400 ms: one step (each within 500 ms of the last).
    type_at(&mut a, "one", 0);
    type_at(&mut a, " two", 200);
    type_at(&mut a, " three", 400);
    // 1000 ms: 600 ms later, a new step.
    type_at(&mut a, " four", 1_000);
    // 1100 ms would group, but the editor ended the step (the cursor jumped).
    a.end_undo_step();
    type_at(&mut a, " five", 1_100);

    let mut other = doc(3);
    undo(&mut a, &mut other, 1_200);
    assert_eq!(a.text(), "one two three four");
    undo(&mut a, &mut other, 1_300);
    assert_eq!(a.text(), "one two three");
    undo(&mut a, &mut other, 1_400);
    assert_eq!(a.text(), "");
    assert!(a.undo(1_500).unwrap().is_none());

    // Redo in reverse order, each with a delta that patches the view.
    let mut view = a.text();
    for expected in ["one two three", "one two three four", "one two three four five"] {
        let change = a.redo(2_000).unwrap().unwrap();
        change.delta.apply_to(&mut view).unwrap();
        assert_eq!(view, expected);
        assert_eq!(a.text(), expected);
    }
    assert!(!a.can_redo());
    // A new edit after an undo clears the redo stack.
    undo(&mut a, &mut other, 3_000);
    type_at(&mut a, "!", 3_100);
    assert!(!a.can_redo());
}

#[test]
fn remote_edits_are_never_undone() {
    let mut a = doc(1);
    let mut b = doc(2);
    send(&b.insert(0, "from b", 0).unwrap(), &mut [&mut a]);
    assert!(!a.can_undo());
    assert!(a.undo(10).unwrap().is_none());
    assert_eq!(a.text(), "from b");
}
