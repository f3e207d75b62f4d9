//! Writes every ```rust block of the README into a module of its own, the way rustdoc reads
//! them (`# ` lines are code too), so `src/lib.rs` compiles them as a user's crate would.

use std::fmt::Write as _;

fn main() {
    let readme_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    println!("cargo:rerun-if-changed={readme_path}");
    let readme = std::fs::read_to_string(readme_path).expect("the README");
    let mut out = String::new();
    let mut block: Option<String> = None;
    let mut count = 0;
    for line in readme.lines() {
        match &mut block {
            None if line.starts_with("```rust") => block = Some(String::new()),
            None => {}
            Some(code) if line == "```" => {
                writeln!(
                    out,
                    "pub mod snippet_{count} {{\n#![allow(dead_code, unused_imports)]\n{code}}}"
                )
                .unwrap();
                count += 1;
                block = None;
            }
            Some(code) => {
                let line = match line {
                    "#" => "",
                    _ => line.strip_prefix("# ").unwrap_or(line),
                };
                code.push_str(line);
                code.push('\n');
            }
        }
    }
    assert!(count >= 4, "found only {count} Rust snippets in the README");
    let out_dir = std::env::var("OUT_DIR").unwrap();
    std::fs::write(format!("{out_dir}/snippets.rs"), out).unwrap();
}
