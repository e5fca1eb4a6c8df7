//! What a map run says on stderr: a progress bar on a terminal (done, failed, in flight,
//! requests and tokens per minute, ETA), and at the end one summary line with what the
//! vendor's streaming guide says to watch (time to first token p50/p95, error rate by class,
//! tokens); `--stats` adds the same as one JSON object. Nothing but errors with `-q`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::pace::Snapshot;
use crate::error::Exit;
use crate::exchange::Summary;

pub struct Report {
    bar: Option<indicatif::ProgressBar>,
    stats: bool,
    quiet: bool,
    todo: u64,
    skipped: u64,
    ok: u64,
    failed: u64,
    interrupted: u64,
    by_class: BTreeMap<&'static str, u64>,
    ttft: Vec<f32>,
    input_tokens: u64,
    output_tokens: u64,
    total_tokens: u64,
    started: Instant,
    last_draw: Option<Instant>,
}

/// The name of an error's class, by its exit code (DESIGN §4).
fn class(exit: Exit) -> &'static str {
    match exit {
        Exit::Auth => "auth",
        Exit::Rejected => "rejected",
        Exit::RateLimit => "rate_limit",
        Exit::Server => "server",
        Exit::Network => "network",
        Exit::Usage => "usage",
        Exit::Interrupted => "interrupted",
        Exit::Internal | Exit::Success | Exit::SomeFailed => "internal",
    }
}

#[derive(Serialize)]
struct StatsJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    items: u64,
    skipped: u64,
    ok: u64,
    failed: u64,
    not_done: u64,
    errors: &'a BTreeMap<&'static str, u64>,
    error_rate: f64,
    ttft_p50_s: Option<f64>,
    ttft_p95_s: Option<f64>,
    input_tokens: u64,
    output_tokens: u64,
    total_tokens: u64,
    dispatched: u64,
    refused_429: u64,
    duration_s: f64,
    items_per_s: f64,
}

/// The `p`-th percentile (nearest rank) of sorted values.
fn percentile(sorted: &[f32], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, sorted.len()) - 1)
        .map(|v| (f64::from(*v) * 1000.0).round() / 1000.0)
}

impl Report {
    pub fn new(todo: u64, skipped: u64, bar: bool, stats: bool, quiet: bool) -> Report {
        let bar = bar.then(|| {
            let pb = indicatif::ProgressBar::with_draw_target(
                Some(todo),
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{bar:24} {pos}/{len} {msg} ETA {eta}")
            {
                pb.set_style(style);
            }
            pb
        });
        Report {
            bar,
            stats,
            quiet,
            todo,
            skipped,
            ok: 0,
            failed: 0,
            interrupted: 0,
            by_class: BTreeMap::new(),
            ttft: Vec::new(),
            input_tokens: 0,
            output_tokens: 0,
            total_tokens: 0,
            started: Instant::now(),
            last_draw: None,
        }
    }

    pub fn item(&mut self, s: &Summary) {
        match &s.result {
            Ok(()) => self.ok += 1,
            Err(e) => {
                self.failed += 1;
                *self.by_class.entry(class(e.exit)).or_default() += 1;
            }
        }
        if let Some(t) = s.ttft_sent.or(s.ttft) {
            self.ttft.push(t.as_secs_f32());
        }
        if let Some(u) = s.usage {
            self.input_tokens += u.input_tokens;
            self.output_tokens += u.output_tokens;
            self.total_tokens += u.total_tokens;
        }
        if let Some(pb) = &self.bar {
            pb.inc(1);
        }
    }

    pub fn interrupted(&mut self) {
        self.interrupted += 1;
    }

    /// Items whose line was written.
    pub fn written(&self) -> u64 {
        self.ok + self.failed
    }

    pub fn failed(&self) -> u64 {
        self.failed
    }

    /// Redraw the progress message (at most a few times a second).
    pub fn tick(&mut self, pace: &Snapshot) {
        let Some(pb) = &self.bar else { return };
        let now = Instant::now();
        if self
            .last_draw
            .is_some_and(|t| now - t < Duration::from_millis(200))
        {
            return;
        }
        self.last_draw = Some(now);
        let minutes = (now - self.started).as_secs_f64() / 60.0;
        let per_min = |n: u64| {
            if minutes > 0.0 {
                n as f64 / minutes
            } else {
                0.0
            }
        };
        pb.set_message(format!(
            "ok {}, failed {}, in flight {}, {:.0} req/min, {:.0} tokens/min",
            self.ok,
            self.failed,
            pace.in_flight,
            per_min(self.written()),
            per_min(self.total_tokens)
        ));
    }

    /// The summary line (and `--stats`) on stderr, the bar cleared first.
    pub fn finish(&mut self, elapsed: Duration, refused: u64, sent: u64) {
        if let Some(pb) = self.bar.take() {
            pb.finish_and_clear();
        }
        if self.quiet {
            return;
        }
        self.ttft.sort_by(f32::total_cmp);
        let p50 = percentile(&self.ttft, 50.0);
        let p95 = percentile(&self.ttft, 95.0);
        let done = self.written();
        let rate = if done > 0 {
            self.failed as f64 / done as f64
        } else {
            0.0
        };
        let secs = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.3} s"));
        let classes = if self.by_class.is_empty() {
            String::new()
        } else {
            let parts: Vec<String> = self
                .by_class
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            format!(" ({})", parts.join(", "))
        };
        let mut line = format!(
            "map: {done} of {} items done in {:.1} s: {} ok, {} failed{classes}, error rate {:.1}%; ttft p50 {}, p95 {}; tokens: input {}, output {}, total {}",
            self.todo,
            elapsed.as_secs_f64(),
            self.ok,
            self.failed,
            rate * 100.0,
            secs(p50),
            secs(p95),
            self.input_tokens,
            self.output_tokens,
            self.total_tokens
        );
        if self.skipped > 0 {
            line.push_str(&format!("; {} done before, skipped", self.skipped));
        }
        if refused > 0 {
            line.push_str(&format!("; {refused} refused (429) and retried"));
        }
        crate::sink::stdio::line(&line);
        if self.stats {
            let secs = elapsed.as_secs_f64();
            let json = StatsJson {
                kind: "map_stats",
                items: self.todo + self.skipped,
                skipped: self.skipped,
                ok: self.ok,
                failed: self.failed,
                not_done: self.todo.saturating_sub(done),
                errors: &self.by_class,
                error_rate: rate,
                ttft_p50_s: p50,
                ttft_p95_s: p95,
                input_tokens: self.input_tokens,
                output_tokens: self.output_tokens,
                total_tokens: self.total_tokens,
                dispatched: sent,
                refused_429: refused,
                duration_s: (secs * 1000.0).round() / 1000.0,
                items_per_s: if secs > 0.0 { done as f64 / secs } else { 0.0 },
            };
            if let Ok(text) = serde_json::to_string(&json) {
                crate::sink::stdio::line(&text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f32> = (1..=100).map(|i| i as f32 / 100.0).collect();
        assert_eq!(percentile(&v, 50.0), Some(0.5));
        assert_eq!(percentile(&v, 95.0), Some(0.95));
        assert_eq!(percentile(&[0.25], 95.0), Some(0.25));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
