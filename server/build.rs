//! Builds the browser client's files (`web/dist`, made by `scripts/build-web.sh`) into the
//! binary, so one `tandem-server` serves everything, wherever it is installed. Without
//! `web/dist` the build still succeeds: the server then serves a page saying how to get the
//! client (build it first, or point `--web-dir` at it).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let web = manifest.join("../web");
    let dist = web.join("dist");
    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        collect(&dist, &dist, &mut files);
        files.sort();
        println!("cargo:rerun-if-changed={}", dist.display());
    } else {
        // A path that does not exist would rerun this script (and rebuild the server) every
        // time; the folder it would appear in is watched instead.
        println!("cargo:rerun-if-changed={}", web.display());
        println!(
            "cargo:warning=web/dist not found: this tandem-server serves no browser client \
             (run scripts/build-web.sh before building, or pass --web-dir at run time)"
        );
    }
    let mut code = String::from("&[\n");
    for (url_path, file) in &files {
        let file = file.canonicalize().expect("a file just listed");
        writeln!(code, "    ({url_path:?}, include_bytes!({:?})),", file.display().to_string())
            .expect("writing to a String");
    }
    code.push(']');
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    std::fs::write(out.join("web_bundle.rs"), code).expect("writing into OUT_DIR");
}

/// Every file under `dir`, as (`/path` from `root`, file).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root)
            && let Some(relative) = relative.to_str()
        {
            files.push((format!("/{}", relative.replace('\\', "/")), path));
        }
    }
}
