//! The front doors besides the bare prompt (DESIGN §8): each a clap subcommand.

pub mod batch;
pub mod config;
pub mod log;
pub mod map;
