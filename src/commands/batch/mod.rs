//! `qstream batch`: the vendor's Batch API (Model Studio "OpenAI compatible - Batch"), a front
//! door beside the single request (DESIGN §8). `submit` turns the same items `qstream map`
//! reads into the service's JSONL and creates a batch; `status`, `wait`, `fetch`, `cancel`
//! and `list` follow it. The request options before `batch` apply to every item.

pub mod client;
pub mod jsonl;
pub mod merge;
mod run;

pub use run::run;
