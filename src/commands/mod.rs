//! The front doors besides the bare prompt (DESIGN §8): each a clap subcommand.

pub mod batch;
pub mod config;
pub mod item_line;
pub mod log;
pub mod map;
