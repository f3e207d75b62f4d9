//! Every Rust snippet of the README, compiled in a crate that only has the README's install
//! section for dependencies; `cargo test -p readme-snippets` runs the quick start's audit test.

include!(concat!(env!("OUT_DIR"), "/snippets.rs"));
