//! The pace of a map run: how many requests may be in flight and how fast attempts may go out.
//!
//! - a window of requests in flight, started small and doubled per answered window (slow
//!   start, since the service throttles fast ramp-ups), then grown by one per window (additive
//!   increase), and halved on a refusal (multiplicative decrease); never above `-j`;
//! - a request rate: `--rpm` when given; after a refusal, 85% of the rate that was refused,
//!   then raised by 3% of it each second without a refusal (never above `--rpm`);
//! - `--tpm`: a token bucket charged with the tokens each answer reports;
//! - `Retry-After`: no attempt goes out before it has passed.
//!
//! Buckets hold a tenth of a second's worth: the service enforces its per-minute limits per
//! second, so a burst after a quiet spell would be refused.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::transport::{Cancel, Pace};

/// The share of the refused rate to go on at.
const CUT: f64 = 0.85;
/// The share of the refused rate added each second without a refusal.
const RAISE: f64 = 0.03;
/// The longest sleep between looks at Ctrl-C.
const NAP: Duration = Duration::from_millis(20);

pub struct Limits {
    state: Mutex<State>,
    wake: Condvar,
    jobs: f64,
    /// `--rpm` as requests per second.
    rate_cap: Option<f64>,
    /// `--tpm` as tokens per second.
    tokens_per_s: Option<f64>,
}

struct State {
    window: f64,
    threshold: f64,
    in_flight: u32,
    hold_until: Option<Instant>,
    /// Requests per second allowed now (`None`: no limit known).
    rate: Option<f64>,
    /// The rate that was refused last, for the size of each raise.
    refused_rate: f64,
    requests: f64,
    requests_at: Instant,
    tokens: f64,
    tokens_at: Instant,
    last_cut: Option<Instant>,
    last_raise: Instant,
    /// When the attempts of the last second went out.
    sent: VecDeque<Instant>,
    refused: u64,
}

/// What the progress line and the summary report.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    pub in_flight: u32,
    pub refused: u64,
}

impl Limits {
    pub fn new(jobs: u32, rpm: Option<u32>, tpm: Option<u64>) -> Limits {
        let now = Instant::now();
        let rate_cap = rpm.map(|r| f64::from(r) / 60.0);
        let tokens_per_s = tpm.map(|t| t as f64 / 60.0);
        let jobs = f64::from(jobs.max(1));
        Limits {
            state: Mutex::new(State {
                window: jobs.min(2.0),
                threshold: jobs,
                in_flight: 0,
                hold_until: None,
                rate: rate_cap,
                refused_rate: rate_cap.unwrap_or(0.0),
                requests: rate_cap.map_or(0.0, burst),
                requests_at: now,
                tokens: tokens_per_s.map_or(0.0, burst),
                tokens_at: now,
                last_cut: None,
                last_raise: now,
                sent: VecDeque::new(),
                refused: 0,
            }),
            wake: Condvar::new(),
            jobs,
            rate_cap,
            tokens_per_s,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain numbers: still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Take a place in the window of requests in flight (Ctrl-C ends the wait).
    pub fn enter(&self, cancel: &Cancel) -> Result<()> {
        let mut s = self.lock();
        loop {
            if cancel.is_cancelled() {
                return Err(Error::interrupted());
            }
            if f64::from(s.in_flight) < s.window.floor().max(1.0) {
                s.in_flight += 1;
                return Ok(());
            }
            s = match self.wake.wait_timeout(s, NAP) {
                Ok((s, _)) => s,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Give the place back; `tokens` is what the answer used (its reported usage).
    pub fn leave(&self, tokens: u64) {
        let mut s = self.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        if self.tokens_per_s.is_some() {
            s.tokens -= tokens as f64;
        }
        drop(s);
        self.wake.notify_all();
    }

    pub fn snapshot(&self) -> Snapshot {
        let s = self.lock();
        Snapshot {
            in_flight: s.in_flight,
            refused: s.refused,
        }
    }

    /// How long until an attempt may go out; zero takes it.
    fn wait(&self, s: &mut State, now: Instant) -> Duration {
        if let Some(r) = s.rate {
            let cap = burst(r);
            s.requests = (s.requests + (now - s.requests_at).as_secs_f64() * r).min(cap);
            s.requests_at = now;
        }
        if let Some(t) = self.tokens_per_s {
            s.tokens = (s.tokens + (now - s.tokens_at).as_secs_f64() * t).min(burst(t));
            s.tokens_at = now;
        }
        let mut wait = Duration::ZERO;
        if let Some(until) = s.hold_until {
            if until > now {
                wait = wait.max(until - now);
            } else {
                s.hold_until = None;
            }
        }
        if let Some(r) = s.rate {
            if s.requests < 1.0 {
                wait = wait.max(Duration::from_secs_f64((1.0 - s.requests) / r));
            }
        }
        if let Some(t) = self.tokens_per_s {
            if s.tokens < 0.0 {
                wait = wait.max(Duration::from_secs_f64(-s.tokens / t));
            }
        }
        wait
    }
}

/// A bucket's size: a tenth of a second's worth, at least one.
fn burst(per_s: f64) -> f64 {
    (per_s / 10.0).max(1.0)
}

impl Pace for Limits {
    fn before(&self, cancel: &Cancel) -> Result<()> {
        loop {
            if cancel.is_cancelled() {
                return Err(Error::interrupted());
            }
            let mut s = self.lock();
            let now = Instant::now();
            let wait = self.wait(&mut s, now);
            if wait.is_zero() {
                if s.rate.is_some() {
                    s.requests -= 1.0;
                }
                s.sent.push_back(now);
                while s
                    .sent
                    .front()
                    .is_some_and(|t| now - *t > Duration::from_secs(1))
                {
                    s.sent.pop_front();
                }
                return Ok(());
            }
            drop(s);
            std::thread::sleep(wait.min(NAP));
        }
    }

    fn refused(&self, retry_after: Option<Duration>) {
        let mut s = self.lock();
        let now = Instant::now();
        s.refused += 1;
        if let Some(d) = retry_after {
            let until = now + d;
            s.hold_until = Some(s.hold_until.map_or(until, |h| h.max(until)));
        }
        // The refusals of requests sent before the last cut say nothing new.
        if s.last_cut.is_some_and(|t| now - t < Duration::from_secs(1)) {
            return;
        }
        s.last_cut = Some(now);
        s.window = (s.window / 2.0).max(1.0);
        s.threshold = s.window;
        let measured = s.sent.len() as f64;
        let refused_at = match s.rate {
            Some(r) => r.min(measured.max(1.0)),
            None => measured.max(1.0),
        };
        s.refused_rate = refused_at;
        s.rate = Some((refused_at * CUT).max(0.5));
        s.requests = s.requests.min(1.0);
        s.last_raise = now;
    }

    fn answered(&self) {
        let mut s = self.lock();
        let now = Instant::now();
        s.window = if s.window < s.threshold {
            s.window + 1.0
        } else {
            s.window + 1.0 / s.window
        }
        .min(self.jobs);
        if let (Some(r), true) = (s.rate, s.last_cut.is_some()) {
            let secs = (now - s.last_raise).as_secs_f64();
            if secs >= 1.0 {
                let raised = r + RAISE * s.refused_rate * secs;
                s.rate = Some(match self.rate_cap {
                    Some(cap) => raised.min(cap),
                    None => raised,
                });
                s.last_raise = now;
            }
        }
        drop(s);
        self.wake.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_then_halving_on_refusal() {
        let l = Limits::new(16, None, None);
        assert_eq!(l.lock().window, 2.0);
        for _ in 0..40 {
            l.answered();
        }
        assert_eq!(l.lock().window, 16.0);
        l.refused(Some(Duration::from_secs(2)));
        let s = l.lock();
        assert_eq!(s.window, 8.0);
        assert!(s.rate.is_some());
        assert!(s.hold_until.is_some_and(|h| h > Instant::now()));
    }

    #[test]
    fn refusals_within_a_second_cut_once() {
        let l = Limits::new(16, Some(600), None);
        l.refused(None);
        let after_one = l.lock().rate;
        l.refused(None);
        assert_eq!(l.lock().rate, after_one);
        assert_eq!(l.snapshot().refused, 2);
        // Never above --rpm: 600/min = 10/s, cut below it.
        assert!(after_one.is_some_and(|r| r < 10.0));
    }

    #[test]
    fn the_token_bucket_waits_after_a_big_answer() {
        let l = Limits::new(4, None, Some(6000));
        let cancel = Cancel::default();
        l.enter(&cancel).unwrap();
        l.leave(1000);
        let mut s = l.lock();
        let wait = l.wait(&mut s, Instant::now());
        // 100 tokens/s, 990 tokens owed: about 9.9 s.
        assert!(wait > Duration::from_secs(9), "{wait:?}");
    }
}
