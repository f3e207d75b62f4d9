//! The README's quick start is `examples/quickstart.rs` word for word, so the program a reader
//! pastes is the one `cargo test` builds and audits.

#[test]
fn the_quick_start_is_the_example() {
    let readme = include_str!("../README.md");
    let example = include_str!("../examples/quickstart.rs");
    let program: Vec<&str> = example
        .lines()
        .filter(|line| !line.starts_with("//!"))
        .skip_while(|line| line.is_empty())
        .collect();
    let section = readme
        .split("## Quick start (axum)")
        .nth(1)
        .expect("the README has a quick start");
    let block = section
        .split("```rust,no_run\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the quick start holds a rust block");
    assert_eq!(
        block.lines().collect::<Vec<_>>(),
        program,
        "copy examples/quickstart.rs into the README's quick start"
    );
}
