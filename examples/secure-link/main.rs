//! `secure-link`: mint and check signed links, serve a folder behind the layer, and write the
//! nginx configuration that checks the same links.
//!
//! ```text
//! SECURE_LINK_KEY=... cargo run --example secure-link -- sign /private/report.pdf
//! SECURE_LINK_KEY=... cargo run --example secure-link -- verify '/private/report.pdf?sl_kid=...'
//! cargo run --example secure-link -- serve
//! SECURE_LINK_KEY=... cargo run --all-features --example secure-link -- nginx-config --alias /srv/private/
//! ```
//!
//! Exit codes: 0 success, 1 a link that is not valid (`verify`) or a server failure, 2 a usage
//! or configuration problem.
//!
//! One module per command under `cmd/`; `args` holds the clap types, `keys` reads keys from
//! the environment, and `stand_ins` answers for every feature a build leaves out.

use std::process::ExitCode;

use clap::Parser;

mod args;
mod cmd;
mod demo;
mod failure;
mod keys;
mod server;
mod stand_ins;
mod store;

use args::{Cli, Command};

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Sign(args) => cmd::sign::sign(args),
        Command::Verify(args) => cmd::verify::verify(args),
        Command::Serve(args) => cmd::serve::serve(args),
        Command::Revoke(args) => cmd::revoke::revoke(args),
        Command::Keygen(args) => cmd::keygen::keygen(args),
        Command::Delegate(args) => cmd::delegate::delegate(&args),
        Command::NginxConfig(args) => cmd::nginx_config::nginx_config(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                eprintln!("secure-link: {}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}
