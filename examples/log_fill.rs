//! Fill a log database with generated exchanges, for `scripts/bench-log` (issue 14's budget is
//! measured on 100,000 rows).
//!
//! ```text
//! cargo run --release --example log_fill -- PATH ROWS
//! ```
//!
//! Rows look like real ones: a prompt of 8–40 words and an answer of 60–400 words drawn from a
//! small vocabulary (so a search word matches many rows, the hard case), one conversation in
//! five continued for a few turns, usage and timings filled in. Deterministic (a fixed seed).

use std::path::PathBuf;

use qstream::store::{self, NewExchange, Outcome, Store};
use serde_json::json;

const WORDS: &[&str] = &[
    "the",
    "stream",
    "answer",
    "token",
    "model",
    "qwen",
    "request",
    "server",
    "latency",
    "cache",
    "python",
    "rust",
    "function",
    "error",
    "retry",
    "terminal",
    "markdown",
    "table",
    "index",
    "search",
    "log",
    "database",
    "vector",
    "prompt",
    "system",
    "user",
    "assistant",
    "tool",
    "weather",
    "otter",
    "river",
    "mountain",
    "invoice",
    "budget",
    "schedule",
    "meeting",
    "draft",
    "review",
    "diff",
    "commit",
    "branch",
    "merge",
    "deploy",
    "cluster",
    "region",
    "quota",
];

/// xorshift64*: enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
    fn words(&mut self, lo: u64, hi: u64) -> String {
        let n = self.range(lo, hi);
        (0..n)
            .map(|_| WORDS[self.next() as usize % WORDS.len()])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().ok_or("usage: log_fill PATH ROWS")?);
    let rows: u64 = args.next().ok_or("usage: log_fill PATH ROWS")?.parse()?;
    let store = Store::open(&path, store::BUSY_TIMEOUT)?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start = store::now_ms() - rows as i64 * 60_000;
    let mut cid = String::new();
    let mut turns_left = 0;
    store.conn().execute_batch("BEGIN")?;
    for i in 0..rows {
        if i % 10_000 == 0 && i > 0 {
            store.conn().execute_batch("COMMIT; BEGIN")?;
        }
        let id = store::new_id();
        if turns_left == 0 {
            cid = id.clone();
            turns_left = if rng.range(0, 5) == 0 {
                rng.range(2, 6)
            } else {
                1
            };
        }
        turns_left -= 1;
        let prompt = rng.words(8, 40);
        let content = rng.words(60, 400);
        let model = ["qwen-plus", "qwen-max", "qwen-turbo", "qwen3-coder-plus"][i as usize % 4];
        store.insert(&NewExchange {
            id: id.clone(),
            cid: cid.clone(),
            started_at: start + i as i64 * 60_000,
            model: model.to_owned(),
            protocol: "compatible".to_owned(),
            region: Some("intl".to_owned()),
            base_url: "https://dashscope-intl.aliyuncs.com/compatible-mode/v1".to_owned(),
            system: None,
            prompt: Some(prompt.clone()),
            messages: store::Messages::Json(
                json!([{"role": "user", "content": prompt}]).to_string(),
            ),
            media: None,
            params: json!({}),
            run_id: None,
        })?;
        let output = content.len() as u64 / 4;
        store.complete(
            &id,
            &mut Outcome {
                status: "ok",
                content,
                finish_reason: Some("stop".to_owned()),
                usage: Some(qstream::event::Usage {
                    input_tokens: 30,
                    output_tokens: output,
                    total_tokens: 30 + output,
                    ..Default::default()
                }),
                ttft_ms: Some(300.0),
                duration_ms: 2000.0,
                ..Default::default()
            },
        )?;
    }
    store.conn().execute_batch("COMMIT")?;
    println!("{rows} rows in {}", path.display());
    Ok(())
}
