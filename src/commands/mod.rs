//! Front doors besides the prompt itself (DESIGN §8).

pub mod log;
