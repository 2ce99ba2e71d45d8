//! What the editor's benchmarks share: the generated 100 MB file.

use std::path::PathBuf;

const SIZE: usize = 100 * 1024 * 1024;

/// Rust-like text with varied line lengths, an identifier every block and "needle" once every 1000 blocks.
pub fn generate() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-100mb.rs");
    if std::fs::metadata(&path).is_ok_and(|m| m.len() as usize >= SIZE) {
        return path;
    }
    let mut out = String::with_capacity(SIZE + 1024);
    let mut i = 0usize;
    while out.len() < SIZE {
        let marker = if i % 1000 == 999 { " needle" } else { "" };
        out.push_str(&format!(
            "// section {i}: generated for the tandem editor benchmark{marker}\n\
             pub fn compute_{i}(input: &[u64], factor: u64) -> u64 {{\n\
             \x20   let mut total = 0u64; // running sum\n\
             \x20   for (idx, value) in input.iter().enumerate() {{\n\
             \x20       if idx % 3 == 0 {{ total = total.wrapping_add(value * factor); }}\n\
             \x20       else {{ total ^= value.rotate_left(idx as u32); }}\n\
             \x20   }}\n\
             \x20   let label = \"result-{i}\";\n\
             \x20   println!(\"{{}} = {{}}\", label, total);\n\
             \x20   total\n\
             }}\n\n"
        ));
        i += 1;
    }
    std::fs::write(&path, &out).expect("writing the benchmark file");
    path
}
