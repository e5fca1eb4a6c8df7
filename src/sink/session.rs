//! What every mode shares: the spinner, `--stats`, speech saved to WAV.

use std::borrow::Cow;

use super::{Sink, Stats};
use crate::error::{Error, Result};
use crate::event::{Event, Usage};
use crate::redact::{redact, redact_cow, Redactor};
use crate::sse::SseEvent;

/// One stream of deltas, for redaction: a key split across deltas is split within one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Reasoning(u32),
    Content(u32),
    ToolCall(u32, u32),
}

impl Stream {
    fn of(event: &Event<'_>) -> Option<Stream> {
        match event {
            Event::Reasoning { choice, .. } => Some(Stream::Reasoning(*choice)),
            Event::Content { choice, .. } => Some(Stream::Content(*choice)),
            Event::ToolCall { choice, index, .. } => Some(Stream::ToolCall(*choice, *index)),
            _ => None,
        }
    }

    /// A delta of this stream carrying `text`.
    fn event(self, text: String) -> Event<'static> {
        let text = Cow::Owned(text);
        match self {
            Stream::Reasoning(choice) => Event::Reasoning { choice, text },
            Stream::Content(choice) => Event::Content { choice, text },
            Stream::ToolCall(choice, index) => Event::ToolCall {
                choice,
                index,
                id: None,
                name: None,
                arguments: text,
            },
        }
    }
}

/// Wraps the sink of the chosen mode with what every mode shares: the spinner while waiting
/// for the first token (a terminal only), and the figures for `--stats`.
pub struct Session {
    inner: Box<dyn Sink>,
    spinner: Option<indicatif::ProgressBar>,
    start: std::time::Instant,
    first_delta: Option<std::time::Instant>,
    deltas: u64,
    /// Whether the deltas arrived in real time, so that a rate means something (not a replay).
    live: bool,
    usage: Option<Usage>,
    stats: bool,
    quiet: bool,
    request_id: Option<String>,
    /// `--audio-out`, and a decoder to count speech bytes without it.
    wav: Option<crate::wav::WavWriter>,
    audio_count: crate::media::Base64Decoder,
    scratch: Vec<u8>,
    /// The answer kept for the log, when it is on.
    transcript: Option<super::Transcript>,
    /// Tails held back because they could be the start of the key, by stream.
    held: Vec<(Stream, Redactor)>,
}

impl Session {
    /// `spinner`: show one with this message (the caller decided stderr is a terminal).
    pub fn new(inner: Box<dyn Sink>, spinner: Option<String>, stats: bool, quiet: bool) -> Self {
        let spinner = spinner.map(|msg| {
            let pb = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            {
                pb.set_style(style);
            }
            pb.set_message(msg);
            pb.enable_steady_tick(std::time::Duration::from_millis(100));
            pb
        });
        Session {
            inner,
            spinner,
            start: std::time::Instant::now(),
            first_delta: None,
            deltas: 0,
            live: true,
            usage: None,
            stats,
            quiet,
            request_id: None,
            wav: None,
            audio_count: Default::default(),
            scratch: Vec::new(),
            transcript: None,
            held: Vec::new(),
        }
    }
    /// Keep the answer for the log.
    pub fn with_transcript(mut self, keep: bool) -> Self {
        self.transcript = keep.then(Default::default);
        self
    }

    /// Keep the answer, up to `limit` bytes of text.
    pub fn with_transcript_limit(mut self, limit: usize) -> Self {
        self.transcript = Some(super::Transcript::with_limit(limit));
        self
    }

    /// The answer kept so far (see `with_transcript`).
    pub fn take_transcript(&mut self) -> Option<super::Transcript> {
        self.transcript.take()
    }

    /// When the first delta came.
    pub fn first_delta_at(&self) -> Option<std::time::Instant> {
        self.first_delta
    }

    /// When the first delta came, measured from the start of the session.
    pub fn time_to_first_delta(&self) -> Option<std::time::Duration> {
        self.first_delta.map(|t| t - self.start)
    }

    /// Whether the stream arrives in real time (a replay does not): only then is a rate given.
    pub fn live(mut self, live: bool) -> Self {
        self.live = live;
        self
    }

    /// Save speech to this WAV file.
    pub fn with_wav(mut self, wav: Option<crate::wav::WavWriter>) -> Self {
        self.wav = wav;
        self
    }

    fn audio_piece(&mut self, choice: u32, data: &str) -> Result<()> {
        let bytes = match (&mut self.wav, choice) {
            (Some(w), 0) => w.push(data)?,
            _ => {
                self.scratch.clear();
                self.audio_count
                    .feed(data.as_bytes(), &mut self.scratch)
                    .map_err(|_| Error::network("malformed stream: audio data is not base64"))?;
                self.scratch.len()
            }
        };
        if bytes == 0 {
            // The piece did not complete a 4-character group: nothing to report yet.
            return Ok(());
        }
        self.inner.audio(choice, bytes)
    }

    /// Close the WAV file and say what it holds.
    fn finish_wav(&mut self) -> Result<()> {
        if let Some(mut w) = self.wav.take() {
            let bytes = w.finish()?;
            if !self.quiet {
                let line = format!(
                    "audio: {bytes} bytes, {:.2} s of 24 kHz 16-bit mono written to {}",
                    f64::from(bytes) / f64::from(crate::wav::SAMPLE_RATE * 2),
                    w.path().display()
                );
                self.notice(&line);
            }
        }
        Ok(())
    }

    /// The request ID, once known (a response header, or the stream itself).
    pub fn set_request_id(&mut self, id: Option<String>) {
        if id.is_some() {
            self.request_id = id.map(crate::redact::redact_string);
        }
    }

    /// Write out the tails held back for redaction, but the one of `keep`: the stream moved
    /// on, so they were not the key.
    fn release(&mut self, keep: Option<Stream>) -> Result<()> {
        if self.held.is_empty() {
            return Ok(());
        }
        for (stream, mut r) in std::mem::take(&mut self.held) {
            if Some(stream) == keep {
                self.held.push((stream, r));
                continue;
            }
            let text = r.take();
            if !text.is_empty() {
                self.inner.event(stream.event(text))?;
            }
        }
        Ok(())
    }

    /// Whether `event` comes out of [`redact`](Self::redact) as it is: no key is registered,
    /// or it is a delta of text that cannot hold the key or its start while nothing is held.
    fn passes(&self, event: &Event<'_>) -> bool {
        if !crate::redact::active() {
            return true;
        }
        match event {
            Event::Content { text, .. } | Event::Reasoning { text, .. } => {
                self.held.is_empty() && !crate::redact::may_hold_key_str(text)
            }
            _ => false,
        }
    }

    /// `event` with the key redacted; `None` when all its text is held back for now.
    fn redact<'a>(&mut self, event: Event<'a>) -> Result<Option<Event<'a>>> {
        let stream = Stream::of(&event);
        self.release(stream)?;
        let Some(stream) = stream else {
            return Ok(Some(match event {
                Event::Finish { choice, reason } => Event::Finish {
                    choice,
                    reason: redact_cow(reason),
                },
                other => other,
            }));
        };
        let mut r = match self.held.iter().position(|(s, _)| *s == stream) {
            Some(i) => self.held.swap_remove(i).1,
            None => Redactor::default(),
        };
        let event = match event {
            Event::Reasoning { choice, text } => {
                let text = r.push(text);
                (!text.is_empty() || !r.is_holding()).then_some(Event::Reasoning { choice, text })
            }
            Event::Content { choice, text } => {
                let text = r.push(text);
                (!text.is_empty() || !r.is_holding()).then_some(Event::Content { choice, text })
            }
            Event::ToolCall {
                choice,
                index,
                id,
                name,
                arguments,
            } => Some(Event::ToolCall {
                choice,
                index,
                id: id.map(redact_cow),
                name: name.map(redact_cow),
                arguments: r.push(arguments),
            }),
            other => Some(other),
        };
        if r.is_holding() {
            self.held.push((stream, r));
        }
        Ok(event)
    }

    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    fn clear_spinner(&mut self) {
        if let Some(pb) = self.spinner.take() {
            pb.finish_and_clear();
        }
    }

    fn report(&self) -> Stats {
        let end = std::time::Instant::now();
        let total_s = (end - self.start).as_secs_f64();
        let ttft_s = self.first_delta.map(|t| (t - self.start).as_secs_f64());
        let output_tokens = self.usage.map(|u| u.output_tokens);
        // One delta (or a replay read at disk speed) gives no time to divide by.
        let output_tokens_per_s = match (self.first_delta, output_tokens) {
            (Some(first), Some(n))
                if self.live && self.deltas >= 2 && (end - first).as_secs_f64() > 0.0 =>
            {
                Some(n as f64 / (end - first).as_secs_f64())
            }
            _ => None,
        };
        Stats {
            ttft_s,
            total_s,
            deltas: self.deltas,
            output_tokens,
            output_tokens_per_s,
            request_id: self.request_id.clone(),
        }
    }
}

impl Sink for Session {
    fn event(&mut self, event: Event<'_>) -> Result<()> {
        if let Some(t) = self.transcript.as_mut() {
            t.event(&event);
        }
        if event.is_delta() {
            if self.first_delta.is_none() {
                self.first_delta = Some(std::time::Instant::now());
                self.clear_spinner();
            }
            self.deltas += 1;
        } else if let Event::Usage(u) = &event {
            self.usage = Some(*u);
        }
        if let Event::Audio { choice, data } = &event {
            return self.audio_piece(*choice, data);
        }
        if self.passes(&event) {
            // Nearly every event: straight on, not moved through `redact`.
            return self.inner.event(event);
        }
        match self.redact(event)? {
            Some(event) => self.inner.event(event),
            None => Ok(()),
        }
    }

    fn sse(&mut self, event: &SseEvent<'_>) -> Result<()> {
        self.clear_spinner();
        let (id, kind, data) = (redact(event.id), redact(event.event), redact(event.data));
        self.inner.sse(&SseEvent {
            id: &id,
            event: &kind,
            data: &data,
            ..*event
        })
    }

    fn wants_sse(&self) -> bool {
        self.inner.wants_sse()
    }

    fn flush(&mut self) -> Result<()> {
        self.inner.flush()
    }

    fn finish(&mut self) -> Result<()> {
        self.clear_spinner();
        self.release(None)?;
        self.inner.finish()?;
        self.finish_wav()?;
        if self.stats {
            let report = self.report();
            self.inner.stats(&report)?;
        }
        Ok(())
    }

    fn fail(&mut self, error: &Error, usage: Option<Usage>) -> Result<()> {
        self.clear_spinner();
        if !error.is_quiet() {
            self.release(None)?;
        }
        self.inner.fail(error, usage)?;
        self.finish_wav()?;
        if self.stats && !error.is_quiet() {
            if self.usage.is_none() {
                self.usage = usage;
            }
            let report = self.report();
            self.inner.stats(&report)?;
        }
        Ok(())
    }

    fn stats(&mut self, stats: &Stats) -> Result<()> {
        self.inner.stats(stats)
    }

    fn notice(&mut self, line: &str) {
        if self.quiet {
            return;
        }
        match &self.spinner {
            Some(pb) => pb.suspend(|| self.inner.notice(line)),
            None => self.inner.notice(line),
        }
    }
}
