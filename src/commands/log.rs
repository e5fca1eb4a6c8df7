//! `qstream log`: list, search, show, export and remove what the log keeps.

use std::io::{IsTerminal, Write};

use crate::cli::{LogAction, LogArgs};
use crate::config::Env;
use crate::error::{Error, Result};
use crate::sink::sanitize;
use crate::store::queries::{self, Filter, Target};
use crate::store::{self, Exchange, Store, StoreError};

/// Run `qstream log …`.
pub fn run(args: &LogArgs, env: &dyn Env) -> Result<()> {
    let path = store::path(env)
        .ok_or_else(|| Error::config("no place for the log: set QSTREAM_LOG_DB or HOME"))?;
    if args.action == Some(LogAction::Path) {
        return print(&format!("{}\n", path.display()));
    }
    let store = Store::open_existing(&path).map_err(internal)?;
    let terminal = std::io::stdout().is_terminal();
    let mut out = String::new();
    match &args.action {
        None => {
            let filter = Filter {
                limit: args.count,
                query: args.query.clone(),
                cid: args.cid.clone(),
                model: args.model.clone(),
                status: args.status.clone(),
                since_ms: args.since.as_deref().map(since).transpose()?,
            };
            let rows = match &store {
                Some(s) => s.list(&filter).map_err(lookup)?,
                None => Vec::new(),
            };
            if args.json {
                for row in &rows {
                    out.push_str(
                        &serde_json::to_string(row).map_err(|e| Error::internal(e.to_string()))?,
                    );
                    out.push('\n');
                }
            } else {
                table(&rows, &mut out);
            }
        }
        Some(LogAction::Last) => {
            let Some(row) = store
                .as_ref()
                .map(Store::last)
                .transpose()
                .map_err(internal)?
                .flatten()
            else {
                return Err(Error::usage("the log holds no answer yet"));
            };
            if row.clipped {
                let _ = writeln!(
                    std::io::stderr(),
                    "qstream: warning: this answer was longer than the log keeps; it is cut"
                );
            }
            out = row.content;
        }
        Some(LogAction::Show { id }) => {
            let store = need(store, id)?;
            let rows = match store.resolve(id).map_err(lookup)? {
                Target::Conversation(cid) => store.conversation(&cid).map_err(internal)?,
                Target::Exchange(id) => {
                    store.exchange(&id).map_err(internal)?.into_iter().collect()
                }
            };
            show(&rows, &mut out);
        }
        Some(LogAction::Export { cid }) => {
            let store = need(store, cid)?;
            let cid = store.resolve_cid(cid).map_err(lookup)?;
            let turns = store.conversation(&cid).map_err(internal)?;
            let messages = queries::export(&turns);
            out = serde_json::to_string_pretty(&messages)
                .map_err(|e| Error::internal(e.to_string()))?;
            out.push('\n');
        }
        Some(LogAction::Usage { since: when, json }) => {
            let since_ms = when.as_deref().map(since).transpose()?;
            let rows = match &store {
                Some(s) => s.usage(since_ms).map_err(internal)?,
                None => Vec::new(),
            };
            usage(&rows, *json, &mut out)?;
        }
        Some(LogAction::Rm { id }) => {
            let store = need(store, id)?;
            let target = store.resolve(id).map_err(lookup)?;
            let n = store.remove(&target).map_err(internal)?;
            let what = match &target {
                Target::Conversation(cid) => format!("conversation {cid}"),
                Target::Exchange(id) => format!("exchange {id}"),
            };
            let _ = writeln!(
                std::io::stderr(),
                "removed {what} ({n} exchange{})",
                if n == 1 { "" } else { "s" }
            );
        }
        Some(LogAction::Path) => {}
    }
    if terminal
        && matches!(args.action, Some(LogAction::Show { .. }))
        && crate::colour(crate::cli::Color::Auto, true)
    {
        return print_bytes(&rendered(&out, env));
    }
    if terminal {
        out = sanitize::for_terminal(&out).into_owned();
    }
    print(&out)
}

/// `log show` on a terminal that takes colour: through the renderer of live answers (it
/// sanitizes what it writes), so prompts show as quotes, headings as headings, code highlighted.
fn rendered(text: &str, env: &dyn Env) -> Vec<u8> {
    use crate::render::{Options, Renderer, Style, Width};
    let truecolor = matches!(env.var("COLORTERM").as_deref(), Some("truecolor" | "24bit"));
    let mut renderer = Renderer::new(Options {
        width: Width::Tty {
            fd: 1,
            fallback: 80,
        },
        base: Style::PLAIN,
        truecolor,
    });
    let mut out = Vec::with_capacity(text.len() + text.len() / 4);
    renderer.push(text, &mut out);
    renderer.finish(&mut out);
    out
}

fn print_bytes(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|_| out.flush())
        .map_err(Error::output)
}

fn internal(e: StoreError) -> Error {
    Error::internal(format!("log: {e}"))
}

/// A name the user typed that names nothing, or several things: a usage error.
fn lookup(e: StoreError) -> Error {
    Error::usage(format!("log: {e}"))
}

fn need(store: Option<Store>, id: &str) -> Result<Store> {
    store.ok_or_else(|| {
        Error::usage(format!(
            "log: nothing in the log is called {id:?} (the log is empty)"
        ))
    })
}

fn print(text: &str) -> Result<()> {
    print_bytes(text.as_bytes())
}

/// `--since`: `30m`, `2h`, `3d`, `1w` ago, or a day `YYYY-MM-DD` (midnight UTC); ms since the
/// epoch.
pub fn since(text: &str) -> Result<i64> {
    since_at(text, store::now_ms())
}

fn since_at(text: &str, now_ms: i64) -> Result<i64> {
    let bad = || {
        Error::usage(format!(
            "--since takes 30m, 2h, 3d, 1w or a day like 2026-11-01, got {text:?}"
        ))
    };
    let t = text.trim();
    if let Some((y, m, d)) = parse_day(t) {
        return Ok(days_from_civil(y, m, d) * 86_400_000);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return Err(bad()),
    };
    Ok(now_ms.saturating_sub(n.saturating_mul(unit_ms)))
}

fn parse_day(t: &str) -> Option<(i64, u32, u32)> {
    let mut parts = t.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD HH:MM` (UTC) of ms since the epoch.
pub fn utc_minute(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // civil_from_days, the inverse of the above.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60
    )
}

/// The first words of a text on one line, at most `max` characters.
fn first_words(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        return line;
    }
    let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// How many characters of an id the table shows: the time (10) and 2 random characters.
const SHORT_ID: usize = 12;

fn short(id: &str) -> &str {
    id.get(..SHORT_ID).unwrap_or(id)
}

/// The width of the MODEL column: the longest name, at least the heading's.
fn model_width<'a>(models: impl Iterator<Item = &'a str>) -> usize {
    models.map(|m| m.chars().count()).max().unwrap_or(0).max(5)
}

fn table(rows: &[Exchange], out: &mut String) {
    use std::fmt::Write as _;
    if rows.is_empty() {
        return;
    }
    let model_w = model_width(rows.iter().map(|r| r.model.as_str()));
    let _ = writeln!(
        out,
        "{:<16}  {:<12}  {:<12}  {:<model_w$}  {:<11}  {:>7}  PROMPT",
        "TIME (UTC)", "ID", "CONVERSATION", "MODEL", "STATUS", "TOKENS"
    );
    for r in rows {
        let tokens = r
            .total_tokens
            .map(|t| t.to_string())
            .unwrap_or_else(|| "-".to_owned());
        let cid = if r.cid == r.id { "" } else { short(&r.cid) };
        let _ = writeln!(
            out,
            "{:<16}  {:<12}  {:<12}  {:<model_w$}  {:<11}  {:>7}  {}",
            utc_minute(r.started_at),
            short(&r.id),
            cid,
            r.model,
            r.status,
            tokens,
            first_words(r.prompt.as_deref().unwrap_or(""), 48)
        );
    }
}

fn show(rows: &[Exchange], out: &mut String) {
    use std::fmt::Write as _;
    for (i, r) in rows.iter().enumerate() {
        if i == 0 {
            let _ = writeln!(out, "conversation {}", r.cid);
            if let Some(system) = &r.system {
                let _ = writeln!(out, "system: {system}");
            }
        }
        let tokens = match (r.input_tokens, r.output_tokens) {
            (Some(i), Some(o)) => format!(", {i} in / {o} out tokens"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "\n## {}  {}  {}  {}{}",
            r.id,
            utc_minute(r.started_at),
            r.model,
            r.status,
            tokens
        );
        let _ = writeln!(
            out,
            "\n> {}",
            r.prompt.as_deref().unwrap_or("").replace('\n', "\n> ")
        );
        if let Some(media) = r.media.as_ref().and_then(|m| m.as_array()) {
            for m in media {
                let _ = writeln!(out, "> [attachment: {m}]");
            }
        }
        if !r.reasoning.is_empty() {
            let _ = writeln!(out, "\n(reasoning)\n{}", r.reasoning.trim_end());
        }
        let _ = writeln!(out, "\n{}", r.content.trim_end());
        if let Some(calls) = &r.tool_calls {
            let _ = writeln!(out, "\ntool calls: {calls}");
        }
        if let Some(e) = &r.error {
            let _ = writeln!(out, "\n[{}: {e}]", r.status);
        }
    }
}

fn usage(rows: &[queries::UsageRow], json: bool, out: &mut String) -> Result<()> {
    use std::fmt::Write as _;
    if json {
        for r in rows {
            out.push_str(&serde_json::to_string(r).map_err(|e| Error::internal(e.to_string()))?);
            out.push('\n');
        }
        return Ok(());
    }
    if rows.is_empty() {
        return Ok(());
    }
    let model_w = model_width(rows.iter().map(|r| r.model.as_str()));
    let _ = writeln!(
        out,
        "{:<10}  {:<model_w$}  {:>9}  {:>12}  {:>12}  {:>12}",
        "DAY (UTC)", "MODEL", "EXCHANGES", "INPUT", "OUTPUT", "TOTAL"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<10}  {:<model_w$}  {:>9}  {:>12}  {:>12}  {:>12}",
            r.day, r.model, r.exchanges, r.input_tokens, r.output_tokens, r.total_tokens
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_and_days() {
        let now = 1_800_000_000_000;
        assert_eq!(since_at("2h", now).ok(), Some(now - 7_200_000));
        assert_eq!(since_at("3d", now).ok(), Some(now - 3 * 86_400_000));
        assert_eq!(since_at("30m", now).ok(), Some(now - 1_800_000));
        // 2026-11-01T00:00:00Z, from `date -u -d 2026-11-01 +%s`.
        assert_eq!(since_at("2026-11-01", now).ok(), Some(1_793_491_200_000));
        for bad in ["", "h", "2", "2y", "2026-13-01", "yesterday"] {
            assert!(since_at(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn utc_minute_matches_date() {
        // `date -u -d @1793491200 '+%F %R'` and `date -u -d @951782400` (a leap day).
        assert_eq!(utc_minute(1_793_491_200_000), "2026-11-01 00:00");
        assert_eq!(utc_minute(951_782_400_000 + 3_723_000), "2000-02-29 01:02");
    }
}
