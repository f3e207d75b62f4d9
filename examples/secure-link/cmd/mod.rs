//! One module per command.

pub mod delegate;
pub mod keygen;
pub mod nginx_config;
pub mod revoke;
pub mod serve;
pub mod sign;
pub mod verify;
