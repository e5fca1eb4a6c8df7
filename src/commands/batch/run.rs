//! The `qstream batch` actions.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::client::{check_id, Client};
use super::{jsonl, merge};
use crate::cli::{BatchAction, BatchSubmitArgs, Cli, Protocol};
use crate::config::{Config, Env, Stdin};
use crate::error::{Error, Exit, Result};
use crate::sink::sanitize;
use crate::store::batches::BatchRecord;
use crate::store::{self, Store};
use crate::transport::Cancel;

/// The states a batch ends in (the service's `status`).
const TERMINAL: [&str; 4] = ["completed", "failed", "expired", "cancelled"];

/// Run `qstream batch …`; `cli` holds the request options given before `batch`.
pub fn run(action: &BatchAction, cli: &Cli, env: &dyn Env) -> Result<()> {
    let cancel = Arc::new(Cancel::default());
    {
        let cancel = Arc::clone(&cancel);
        let _ = ctrlc::set_handler(move || cancel.cancel());
    }
    let cli = batch_cli(cli)?;
    // `qstream --dry-run batch …` and `qstream --json batch …` mean what the subcommand's own
    // flags mean: a dry run must never be taken for a submission.
    if cli.dry_run && !matches!(action, BatchAction::Submit(_)) {
        return Err(Error::usage(
            "--dry-run applies to `batch submit` only (it prints the JSONL and sends nothing)",
        ));
    }
    let json_too = cli.json;
    match action {
        BatchAction::Submit(args) => {
            let mut args = args.clone();
            args.dry_run |= cli.dry_run;
            args.json |= json_too;
            submit(&args, &cli, env, &cancel)
        }
        BatchAction::Status { id, json } => {
            let json = &(*json || json_too);
            let batch = Service::open(&cli, env, &cancel)?.retrieve(id)?;
            emit(&if *json {
                format!("{batch}\n")
            } else {
                describe(&batch)
            })
        }
        BatchAction::Wait { id, json, interval } => wait(id, *json, *interval, &cli, env, &cancel),
        BatchAction::Fetch { id, output } => fetch(id, output.as_deref(), &cli, env, &cancel),
        BatchAction::Cancel { id, json } => {
            let json = &(*json || json_too);
            let batch = Service::open(&cli, env, &cancel)?.cancel(id)?;
            emit(&if *json {
                format!("{batch}\n")
            } else {
                describe(&batch)
            })
        }
        BatchAction::List { count: n, json } => list(*n, *json || json_too, &cli, env, &cancel),
    }
}

/// The command line as the Batch API needs it: the compatible protocol (the Batch API is
/// the OpenAI-compatible one) and nothing that needs a conversation.
fn batch_cli(cli: &Cli) -> Result<Cli> {
    if cli.continue_ || cli.cid.is_some() {
        return Err(Error::usage(
            "batch: -c/--cid continue a conversation, one request at a time; a batch item carries its own \"messages\"",
        ));
    }
    if cli.replay.is_some() || cli.record.is_some() {
        return Err(Error::usage(
            "batch: --replay and --record are for a single streamed answer",
        ));
    }
    if cli.protocol == Some(Protocol::Dashscope) && cli.base_url.is_some() {
        return Err(Error::usage(
            "batch: the Batch API is under the compatible base URL (…/compatible-mode/v1); --protocol dashscope names a native one",
        ));
    }
    let mut cli = cli.clone();
    cli.protocol = Some(Protocol::Compatible);
    Ok(cli)
}

/// The settings of a single request without its prompt (a placeholder `items::config_for`
/// replaces): the base URL, headers and network for the service, and each item's start.
fn service_config(cli: &Cli, env: &dyn Env) -> Result<Config> {
    let c = Cli {
        prompt: vec!["item".to_owned()],
        no_stdin: true,
        template: None,
        ..cli.clone()
    };
    Config::from_cli(&c, env, Stdin::default())
}

/// The client with its settings, and the local record of submissions.
struct Service<'a> {
    client: Client<'a>,
    config: Config,
    store: Option<Store>,
    quiet: bool,
}

impl<'a> Service<'a> {
    fn open(cli: &Cli, env: &dyn Env, cancel: &'a Cancel) -> Result<Self> {
        let config = service_config(cli, env)?;
        let key = crate::settings::api_key(cli.key_source.as_ref(), env)?;
        crate::redact::register(key.expose());
        let client = Client::new(&config, key, cancel, cli.quiet)?;
        // The record is read whatever `--no-log` says (it only stops new records).
        let store = store::path(env).and_then(|p| match Store::open_existing(&p) {
            Ok(s) => s,
            Err(e) => {
                if !cli.quiet {
                    crate::sink::stdio::line(&format!(
                        "qstream: warning: cannot read the log of submitted batches: {e}"
                    ));
                }
                None
            }
        });
        Ok(Service {
            client,
            config,
            store,
            quiet: cli.quiet,
        })
    }

    /// The hints a single request's error gets, except the one for a 404: that names the
    /// chat URL, and here the URL was a batch's or a file's.
    fn teach(&self, e: Error) -> Error {
        if e.api.as_ref().and_then(|a| a.status) == Some(404) {
            return e;
        }
        crate::explain::teach(e, &self.config)
    }

    fn retrieve(&self, id: &str) -> Result<Value> {
        let batch = self.client.retrieve(id).map_err(|e| self.teach(e))?;
        self.remember(&batch);
        Ok(batch)
    }

    fn cancel(&self, id: &str) -> Result<Value> {
        let batch = self.client.cancel(id).map_err(|e| self.teach(e))?;
        self.remember(&batch);
        Ok(batch)
    }

    /// Keep the last status seen in the record (a failure to is not worth a word).
    fn remember(&self, batch: &Value) {
        if let (Some(store), Some(id), Some(status)) =
            (&self.store, batch["id"].as_str(), batch["status"].as_str())
        {
            let _ = store.set_batch_status(id, status);
        }
    }

    fn say(&self, line: &str) {
        if !self.quiet {
            crate::sink::stdio::line(line);
        }
    }
}

/// Write to stdout; service text is shown with control characters as placeholders on a
/// terminal.
fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let text = if std::io::stdout().is_terminal() {
        sanitize::for_terminal(text)
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::output)
}

fn count(batch: &Value, key: &str) -> u64 {
    batch["request_counts"][key].as_u64().unwrap_or(0)
}

/// One line about a batch: id, status, progress, when it was made; the errors of a failed one.
fn describe(batch: &Value) -> String {
    let id = batch["id"].as_str().unwrap_or("?");
    let status = batch["status"].as_str().unwrap_or("unknown");
    let mut line = format!(
        "{id}  {status}  {} of {} done, {} failed",
        count(batch, "completed"),
        count(batch, "total"),
        count(batch, "failed")
    );
    if let Some(t) = batch["created_at"].as_i64() {
        line.push_str(&format!(
            "  created {} UTC",
            crate::commands::log::utc_minute(t.saturating_mul(1000))
        ));
    }
    line.push('\n');
    for e in batch["errors"]["data"].as_array().into_iter().flatten() {
        let code = e["code"].as_str().unwrap_or("error");
        let message = e["message"].as_str().unwrap_or_default();
        match e["line"].as_u64() {
            Some(n) => line.push_str(&format!("  {code}: {message} (line {n})\n")),
            None => line.push_str(&format!("  {code}: {message}\n")),
        }
    }
    line
}

/// A file of our own under the temporary directory (mode 0600), removed when dropped.
struct Spool {
    path: PathBuf,
    file: File,
}

impl Spool {
    fn create(what: &str) -> Result<Spool> {
        let path = std::env::temp_dir().join(format!(
            "qstream-batch-{what}-{}.jsonl",
            store::new_id().to_ascii_lowercase()
        ));
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path).map_err(|e| {
            Error::internal(format!(
                "cannot create a temporary file {}: {e}",
                path.display()
            ))
        })?;
        Ok(Spool { path, file })
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn spool_error(e: std::io::Error) -> Error {
    Error::internal(format!("cannot write a temporary file: {e}"))
}

fn submit(args: &BatchSubmitArgs, cli: &Cli, env: &dyn Env, cancel: &Cancel) -> Result<()> {
    let window = jsonl::window(&args.window)?;
    let mut metadata = serde_json::Map::new();
    for (flag, key, text, max) in [
        ("--name", "ds_name", &args.name, 100),
        ("--description", "ds_description", &args.description, 200),
    ] {
        if let Some(t) = text {
            if t.chars().count() > max {
                return Err(Error::usage(format!(
                    "{flag} takes at most {max} characters (the Batch API's {key})"
                )));
            }
            metadata.insert(key.to_owned(), Value::String(t.clone()));
        }
    }
    let stdin = args.input == Path::new("-");
    let origin = if stdin {
        "stdin".to_owned()
    } else {
        args.input.display().to_string()
    };
    let reader: Box<dyn BufRead> = if stdin {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let file = File::open(&args.input)
            .map_err(|e| Error::usage(format!("cannot read {origin}: {e}")))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            return Err(Error::usage(format!(
                "cannot read {origin}: it is a directory"
            )));
        }
        Box::new(BufReader::new(file))
    };

    // The file the service gets, written and checked before anything is sent. Every item
    // starts from the settings of a single request (the prompt placeholder is replaced).
    let base = service_config(cli, env)?;
    let items = crate::items::read(
        reader,
        (!stdin).then_some(args.input.as_path()),
        &args.items.options(),
    )?;
    let spool = Spool::create("input")?;
    let mut checker = jsonl::Checker::new(args.test);
    {
        let mut writer = BufWriter::new(&spool.file);
        for item in items {
            if cancel.is_cancelled() {
                return Err(Error::interrupted());
            }
            // As `map` prepares it: the role's prompt template, then the item's settings.
            let (item, config) = crate::commands::map::prepare(cli, &base, item?)?;
            let line = jsonl::line(&item.id, &config, args.test);
            let text = line.to_string();
            checker.add(&item.id, item.line, text.len() as u64, &line)?;
            writer
                .write_all(text.as_bytes())
                .and_then(|()| writer.write_all(b"\n"))
                .map_err(spool_error)?;
        }
        writer.flush().map_err(spool_error)?;
    }
    let summary = checker.finish()?;

    if args.dry_run {
        let mut file = &spool.file;
        file.seek(SeekFrom::Start(0)).map_err(spool_error)?;
        let mut out = std::io::stdout().lock();
        std::io::copy(&mut file, &mut out).map_err(Error::output)?;
        return out.flush().map_err(Error::output);
    }

    let service = Service::open(cli, env, cancel)?;
    service.say(&format!(
        "qstream: uploading {} request{} for {} ({:.1} kB) from {origin}",
        summary.requests,
        if summary.requests == 1 { "" } else { "s" },
        summary.model,
        summary.bytes as f64 / 1e3
    ));
    let filename = if stdin {
        "stdin.jsonl".to_owned()
    } else {
        let stem = args
            .input
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "input".to_owned());
        format!("{stem}.jsonl")
    };
    let file = service
        .client
        .upload(&spool.path, &filename)
        .map_err(|e| service.teach(e))?;
    let file_id = file["id"]
        .as_str()
        .ok_or_else(|| Error::network("the Batch API's answer to the upload names no file id"))?
        .to_owned();
    let batch = service
        .client
        .create(
            &file_id,
            &summary.url,
            &window,
            (!metadata.is_empty()).then_some(Value::Object(metadata)),
        )
        .map_err(|e| service.teach(e))?;
    let id = batch["id"]
        .as_str()
        .ok_or_else(|| Error::network("the Batch API's answer to the new batch names no id"))?
        .to_owned();

    if let Some(path) = crate::store::record::log_path(cli, env) {
        let record = BatchRecord {
            id: id.clone(),
            created_at: store::now_ms(),
            input: if stdin {
                "-".to_owned()
            } else {
                std::fs::canonicalize(&args.input)
                    .unwrap_or_else(|_| args.input.clone())
                    .display()
                    .to_string()
            },
            input_file_id: file_id,
            base_url: service.config.base_url.clone(),
            region: service
                .config
                .region
                .map(|r| format!("{r:?}").to_ascii_lowercase()),
            model: summary.model.clone(),
            endpoint: summary.url.clone(),
            window,
            requests: summary.requests as i64,
            test: args.test,
            ids: summary.ids,
            status: batch["status"].as_str().map(str::to_owned),
        };
        let stored = Store::open(&path, store::BUSY_TIMEOUT).and_then(|s| s.insert_batch(&record));
        if let Err(e) = stored {
            service.say(&format!(
                "qstream: warning: the batch was created, but not recorded in the log: {e}"
            ));
        }
    }
    if args.json {
        emit(&format!("{batch}\n"))?;
    } else {
        emit(&format!("{id}\n"))?;
    }
    service.say(&format!(
        "qstream: batch created; `qstream batch wait {id}`, then `qstream batch fetch {id}`"
    ));
    Ok(())
}

/// The end of a batch as an exit: completed is a success; failed is a rejection (exit 4: the
/// service refused the input); expired and cancelled end with some items unanswered (exit 8).
fn ending(batch: &Value) -> Result<()> {
    let id = batch["id"].as_str().unwrap_or("?");
    match batch["status"].as_str().unwrap_or_default() {
        "completed" => Ok(()),
        "failed" => {
            let why = batch["errors"]["data"]
                .as_array()
                .and_then(|d| d.first())
                .map(|e| {
                    format!(
                        ": {}",
                        e["message"]
                            .as_str()
                            .or(e["code"].as_str())
                            .unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            Err(Error::new(
                Exit::Rejected,
                format!("batch {id} failed{why}"),
            ))
        }
        status => Err(Error::new(
            Exit::SomeFailed,
            format!(
                "batch {id} {status}: {} of {} requests done; `qstream batch fetch {id}` has what there is",
                count(batch, "completed"),
                count(batch, "total")
            ),
        )),
    }
}

fn wait(
    id: &str,
    json: bool,
    interval: f64,
    cli: &Cli,
    env: &dyn Env,
    cancel: &Cancel,
) -> Result<()> {
    let mut delay = Duration::try_from_secs_f64(interval)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Error::usage("--interval takes a positive number of seconds"))?;
    let longest = Duration::from_secs(120).max(delay);
    let service = Service::open(cli, env, cancel)?;
    let progress = !cli.quiet && std::io::stderr().is_terminal();
    let started = Instant::now();
    let clear = || {
        if progress {
            let _ = std::io::stderr().write_all(b"\r\x1b[2K");
        }
    };
    let mut failures = 0;
    loop {
        let batch = match service.retrieve(id) {
            Ok(b) => {
                failures = 0;
                b
            }
            // A wait may last days: a network or server failure the retries did not mend is
            // polled through, a few times in a row, before it ends the wait.
            Err(e) if transient(&e) && failures < WAIT_FAILURES => {
                failures += 1;
                clear();
                service.say(&format!(
                    "qstream: {e}; polling again in {:.0} s ({failures} of {WAIT_FAILURES})",
                    delay.as_secs_f64()
                ));
                pause(delay, cancel)?;
                delay = delay.mul_f64(1.5).min(longest);
                continue;
            }
            Err(e) => {
                clear();
                return Err(e);
            }
        };
        let Some(status) = batch["status"].as_str() else {
            clear();
            return Err(Error::network(format!(
                "the Batch API's answer about {id} has no status"
            )));
        };
        if TERMINAL.contains(&status) {
            clear();
            emit(&if json {
                format!("{batch}\n")
            } else {
                describe(&batch)
            })?;
            return ending(&batch);
        }
        if progress {
            let line = describe(&batch);
            let first = line.lines().next().unwrap_or_default();
            let text = format!(
                "\r\x1b[2K{}  ({} s)",
                sanitize::for_terminal(first),
                started.elapsed().as_secs()
            );
            let _ = std::io::stderr().write_all(text.as_bytes());
        }
        if let Err(e) = pause(delay, cancel) {
            clear();
            return Err(e);
        }
        delay = delay.mul_f64(1.5).min(longest);
    }
}

/// Failed polls in a row that `wait` lives through.
const WAIT_FAILURES: u32 = 5;

/// A failure worth polling through: the network, the server, a rate limit (not a quota).
fn transient(e: &Error) -> bool {
    match e.exit {
        Exit::Network | Exit::Server => true,
        Exit::RateLimit => e.api.as_ref().is_some_and(crate::explain::retryable_429),
        _ => false,
    }
}

/// Sleep, waking for Ctrl-C.
fn pause(d: Duration, cancel: &Cancel) -> Result<()> {
    let end = Instant::now() + d;
    while Instant::now() < end {
        if cancel.is_cancelled() {
            return Err(Error::interrupted());
        }
        std::thread::sleep((end - Instant::now()).min(Duration::from_millis(50)));
    }
    if cancel.is_cancelled() {
        return Err(Error::interrupted());
    }
    Ok(())
}

/// The `custom_id`s of the uploaded input, in order (for a batch this machine has no record
/// of): read from the service's copy.
fn ids_from_input(service: &Service<'_>, file_id: &str) -> Result<Vec<String>> {
    let mut spool = Spool::create("in")?;
    {
        let mut writer = BufWriter::new(&spool.file);
        service
            .client
            .download(file_id, &mut writer)
            .map_err(|e| service.teach(e))?;
        writer.flush().map_err(spool_error)?;
    }
    spool.file.seek(SeekFrom::Start(0)).map_err(spool_error)?;
    let mut ids = Vec::new();
    for line in BufReader::new(&mut spool.file).lines() {
        let line = line.map_err(spool_error)?;
        #[derive(serde::Deserialize)]
        struct Head {
            custom_id: Option<Value>,
        }
        if let Ok(Head {
            custom_id: Some(id),
        }) = serde_json::from_str::<Head>(&line)
        {
            match id {
                Value::String(s) => ids.push(s),
                Value::Number(n) => ids.push(n.to_string()),
                _ => {}
            }
        }
    }
    Ok(ids)
}

fn fetch(id: &str, output: Option<&Path>, cli: &Cli, env: &dyn Env, cancel: &Cancel) -> Result<()> {
    check_id(id, "batch")?;
    let service = Service::open(cli, env, cancel)?;
    let batch = service.retrieve(id)?;
    let status = batch["status"].as_str().unwrap_or("unknown");
    if !TERMINAL.contains(&status) {
        return Err(Error::usage(format!(
            "batch {id} is {status}: its results come when it ends (`qstream batch wait {id}`)"
        )));
    }
    let file_of = |key: &str| {
        batch[key]
            .as_str()
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
    };
    let (output_file, error_file) = (file_of("output_file_id"), file_of("error_file_id"));
    if status == "failed" && output_file.is_none() && error_file.is_none() {
        return ending(&batch);
    }
    let record = service
        .store
        .as_ref()
        .and_then(|s| s.batch(id).ok().flatten())
        .filter(|r| !r.ids.is_empty());
    let order = match (record, batch["input_file_id"].as_str()) {
        (Some(r), Some(f)) if r.input_file_id == f => r.ids,
        (Some(r), None) => r.ids,
        (_, Some(f)) => ids_from_input(&service, f)?,
        (None, None) => Vec::new(),
    };
    let mut files = Vec::new();
    for file_id in [output_file, error_file].into_iter().flatten() {
        let spool = Spool::create("out")?;
        {
            let mut writer = BufWriter::new(&spool.file);
            service
                .client
                .download(&file_id, &mut writer)
                .map_err(|e| service.teach(e))?;
            writer.flush().map_err(spool_error)?;
        }
        files.push(spool);
    }
    let mut handles = files
        .iter()
        .map(|s| s.file.try_clone())
        .collect::<std::io::Result<Vec<File>>>()
        .map_err(spool_error)?;
    let counts = match output {
        Some(path) => {
            // Written beside FILE and renamed over it once whole: a failure halfway leaves
            // FILE as it was.
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "output".to_owned());
            let partial = path.with_file_name(format!(".{name}.qstream-{}", store::new_id()));
            let cannot =
                |e: std::io::Error| Error::usage(format!("cannot write {}: {e}", path.display()));
            let file = File::create(&partial).map_err(cannot)?;
            let mut out = BufWriter::new(file);
            let merged = merge::merge(&order, &mut handles, &mut out).and_then(|counts| {
                let file = out.into_inner().map_err(|e| cannot(e.into_error()))?;
                file.sync_all().map_err(cannot)?;
                std::fs::rename(&partial, path).map_err(cannot)?;
                Ok(counts)
            });
            if merged.is_err() {
                let _ = std::fs::remove_file(&partial);
            }
            merged?
        }
        None => {
            let stdout = std::io::stdout();
            let mut out: Box<dyn Write> = if stdout.is_terminal() {
                Box::new(Sanitized(stdout.lock()))
            } else {
                Box::new(BufWriter::new(stdout.lock()))
            };
            merge::merge(&order, &mut handles, &mut out)?
        }
    };
    drop(files);
    let total = counts.ok + counts.failed;
    if counts.failed > 0 {
        return Err(Error::new(
            Exit::SomeFailed,
            format!(
                "{} of {total} items failed (batch {id} {status}); their lines say why",
                counts.failed
            ),
        ));
    }
    service.say(&format!("qstream: {total} items, all answered"));
    Ok(())
}

/// Lines to a terminal, with control characters shown as placeholders.
struct Sanitized<W: Write>(W);

impl<W: Write> Write for Sanitized<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(sanitize::for_terminal(&text).as_bytes())?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

fn list(n: usize, json: bool, cli: &Cli, env: &dyn Env, cancel: &Cancel) -> Result<()> {
    let service = Service::open(cli, env, cancel)?;
    let batches = service.client.list(n).map_err(|e| service.teach(e))?;
    let ids: Vec<&str> = batches.iter().filter_map(|b| b["id"].as_str()).collect();
    let inputs: std::collections::HashMap<String, String> = service
        .store
        .as_ref()
        .and_then(|s| s.batch_inputs(&ids).ok())
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut out = String::new();
    if !json && !batches.is_empty() {
        out.push_str("ID  STATUS  DONE/TOTAL  FAILED  CREATED (UTC)  INPUT\n");
    }
    for b in &batches {
        service.remember(b);
        let id = b["id"].as_str().unwrap_or("?");
        let input = inputs.get(id).cloned();
        if json {
            let mut b = b.clone();
            b["input"] = json!(input);
            out.push_str(&b.to_string());
            out.push('\n');
        } else {
            let created = b["created_at"]
                .as_i64()
                .map(|t| crate::commands::log::utc_minute(t.saturating_mul(1000)))
                .unwrap_or_else(|| "-".to_owned());
            out.push_str(&format!(
                "{id}  {}  {}/{}  {}  {created}  {}\n",
                b["status"].as_str().unwrap_or("unknown"),
                count(b, "completed"),
                count(b, "total"),
                count(b, "failed"),
                input.as_deref().unwrap_or("-")
            ));
        }
    }
    emit(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endings_have_their_exit_codes() {
        let b = |status: &str| json!({"id": "batch_1", "status": status, "request_counts": {"total": 3, "completed": 1, "failed": 0}});
        assert!(ending(&b("completed")).is_ok());
        assert_eq!(
            ending(&b("failed")).map_err(|e| e.exit),
            Err(Exit::Rejected)
        );
        assert_eq!(
            ending(&b("expired")).map_err(|e| e.exit),
            Err(Exit::SomeFailed)
        );
        assert_eq!(
            ending(&b("cancelled")).map_err(|e| e.exit),
            Err(Exit::SomeFailed)
        );
    }
}
