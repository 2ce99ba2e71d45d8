//! The policy holds for the whole repository: no test prints its own skip message (and so
//! returns early and passes under CI); each one goes through `require_or_skip`.

use std::path::{Path, PathBuf};

/// The folders holding tests that cross a process or need a tool.
const TEST_DIRS: [&str; 5] = ["crdt/tests", "editor/tests", "server/tests", "load/tests", "tests"];

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let skipped_dir = ["node_modules", "require"].iter().any(|name| path.ends_with(name));
        if path.is_dir() && !skipped_dir {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// A print of a skip message, on one line or with the message on the next line.
fn prints_a_skip(line: &str) -> bool {
    line.contains("println!(\"skipped") || line.trim_start().starts_with("\"skipped")
}

#[test]
fn every_skip_goes_through_require_or_skip() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in TEST_DIRS {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 10, "found only {files:?}: is the layout still {TEST_DIRS:?}?");
    let offenders: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            let hits: Vec<String> = text
                .lines()
                .enumerate()
                .filter(|(_, line)| prints_a_skip(&line.to_lowercase()))
                .map(|(n, line)| format!("{}:{}: {}", file.display(), n + 1, line.trim()))
                .collect();
            hits
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "these tests print their own skip and would pass under CI; use require_or_skip:\n{}",
        offenders.join("\n")
    );
}
