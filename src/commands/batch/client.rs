//! The Batch API over HTTP: `/files` and `/batches` under the compatible base URL (Model Studio
//! "OpenAI compatible - Batch"). Every call goes through `transport::call`: the same agent,
//! proxy rules, TLS, timeouts, retries and error classes as a chat request.

use std::io::{Read, Write};
use std::path::Path;

use serde_json::{json, Value};
use ureq::Agent;

use crate::config::{ApiKey, Config, Network};
use crate::error::{Error, Result};
use crate::request::USER_AGENT;
use crate::transport::{self, Call, Cancel, Method, Payload};

/// The largest JSON answer read (a batch object, a page of the list): far above any real one.
const MAX_JSON: u64 = 16 << 20;

/// A connection to one region's (or workspace's) Batch API.
pub struct Client<'a> {
    agent: Agent,
    /// The compatible base URL, without a trailing slash (`…/compatible-mode/v1`).
    base: String,
    key: ApiKey,
    /// `--header` and the workspace header, over the defaults.
    headers: Vec<(String, String)>,
    net: Network,
    cancel: &'a Cancel,
    quiet: bool,
}

/// An id the service gave (a batch or a file), checked before it becomes part of a URL path.
pub fn check_id(id: &str, what: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 256
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && id != "."
        && id != "..";
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "{what} {id:?} is not an id the Batch API gives (letters, digits, '_', '-', '.')"
        )))
    }
}

impl<'a> Client<'a> {
    pub fn new(config: &Config, key: ApiKey, cancel: &'a Cancel, quiet: bool) -> Result<Self> {
        let agent = transport::agent_for(&config.network, &config.base_url, false)?;
        Ok(Client {
            agent,
            base: config.base_url.clone(),
            key,
            headers: config.headers.clone(),
            net: config.network.clone(),
            cancel,
            quiet,
        })
    }

    fn headers(&self, content_type: Option<&str>, accept: &str) -> Vec<(String, String)> {
        let mut h: Vec<(String, String)> = vec![
            ("Accept".into(), accept.into()),
            // A compressing proxy would hand back bytes this client does not decode.
            ("Accept-Encoding".into(), "identity".into()),
            ("User-Agent".into(), USER_AGENT.into()),
        ];
        if let Some(t) = content_type {
            h.push(("Content-Type".into(), t.into()));
        }
        for (name, value) in &self.headers {
            h.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
            h.push((name.clone(), value.clone()));
        }
        h
    }

    fn send(
        &self,
        method: Method,
        path: &str,
        payload: Payload,
        content_type: Option<&str>,
        accept: &str,
        idempotent: bool,
    ) -> Result<transport::Opened> {
        let url = format!("{}{path}", self.base);
        let headers = self.headers(content_type, accept);
        let call = Call {
            method,
            url: &url,
            headers: &headers,
            payload,
            idempotent,
            expecting: "an answer from the Batch API",
            pace: None,
        };
        let quiet = self.quiet;
        transport::call(
            &self.agent,
            &call,
            &self.key,
            &self.net,
            self.cancel,
            &mut |line| {
                if !quiet {
                    crate::sink::stdio::line(line);
                }
            },
        )
    }

    /// A call whose answer is one JSON object.
    fn json(
        &self,
        method: Method,
        path: &str,
        payload: Payload,
        content_type: Option<&str>,
        idempotent: bool,
    ) -> Result<Value> {
        let opened = self.send(
            method,
            path,
            payload,
            content_type,
            "application/json",
            idempotent,
        )?;
        let mut text = Vec::new();
        opened
            .body
            .take(MAX_JSON)
            .read_to_end(&mut text)
            .map_err(|e| transport::read_error(e, &self.net))?;
        let value: Value = serde_json::from_slice(&text).map_err(|_| {
            Error::network(format!(
                "the Batch API's answer to {path} is not JSON: {}",
                transport::excerpt(&String::from_utf8_lossy(&text))
            ))
        })?;
        if !value.is_object() {
            return Err(Error::network(format!(
                "the Batch API's answer to {path} is not a JSON object: {}",
                transport::excerpt(&value.to_string())
            )));
        }
        Ok(value)
    }

    /// Upload a JSONL file with `purpose=batch` (multipart/form-data, as the OpenAI SDK sends
    /// it); the file object.
    pub fn upload(&self, file: &Path, filename: &str) -> Result<Value> {
        let boundary = format!("qstream-{}", crate::store::new_id());
        let name = filename.replace(['"', '\r', '\n', '\\'], "_");
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        );
        let tail = format!("\r\n--{boundary}--\r\n");
        let content_type = format!("multipart/form-data; boundary={boundary}");
        // A retry after a 5xx could leave two copies: harmless (files are not billed), so the
        // upload is retried as a read is.
        self.json(
            Method::Post,
            "/files",
            Payload::Spliced {
                head: head.into_bytes(),
                file: file.to_path_buf(),
                tail: tail.into_bytes(),
            },
            Some(&content_type),
            true,
        )
    }

    /// Create a batch from an uploaded file; the batch object.
    pub fn create(
        &self,
        input_file_id: &str,
        endpoint: &str,
        window: &str,
        metadata: Option<Value>,
    ) -> Result<Value> {
        let mut body = json!({
            "input_file_id": input_file_id,
            "endpoint": endpoint,
            "completion_window": window,
        });
        if let Some(m) = metadata {
            body["metadata"] = m;
        }
        let bytes = serde_json::to_vec(&body)
            .map_err(|e| Error::internal(format!("cannot encode the request: {e}")))?;
        // A 5xx may come after the batch was made: not repeated (two batches, billed twice).
        self.json(
            Method::Post,
            "/batches",
            Payload::Bytes(bytes),
            Some("application/json"),
            false,
        )
    }

    /// The batch object.
    pub fn retrieve(&self, id: &str) -> Result<Value> {
        check_id(id, "batch")?;
        self.json(
            Method::Get,
            &format!("/batches/{id}"),
            Payload::Empty,
            None,
            true,
        )
    }

    /// Ask the service to cancel; the batch object (status `cancelling`).
    pub fn cancel(&self, id: &str) -> Result<Value> {
        check_id(id, "batch")?;
        self.json(
            Method::Post,
            &format!("/batches/{id}/cancel"),
            Payload::Empty,
            None,
            true,
        )
    }

    /// Up to `count` batches, newest first (following the list's `after` cursor).
    pub fn list(&self, count: usize) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        while out.len() < count {
            let limit = (count - out.len()).min(100);
            let mut path = format!("/batches?limit={limit}");
            if let Some(a) = &after {
                check_id(a, "list cursor")?;
                path.push_str(&format!("&after={a}"));
            }
            let page = self.json(Method::Get, &path, Payload::Empty, None, true)?;
            let data = page
                .get("data")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let last = data
                .last()
                .and_then(|b| b.get("id"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let n = data.len();
            out.extend(data);
            let more = page
                .get("has_more")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if !more || n == 0 || last.is_none() {
                break;
            }
            after = page
                .get("last_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or(last);
        }
        out.truncate(count);
        Ok(out)
    }

    /// A file's content, copied into `to`; the bytes copied.
    pub fn download(&self, file_id: &str, to: &mut dyn Write) -> Result<u64> {
        check_id(file_id, "file")?;
        let opened = self.send(
            Method::Get,
            &format!("/files/{file_id}/content"),
            Payload::Empty,
            None,
            "*/*",
            true,
        )?;
        let mut body = opened.body;
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) if self.cancel.is_cancelled() => return Err(Error::interrupted()),
                Err(e) => return Err(transport::read_error(e, &self.net)),
            };
            let Some(bytes) = buf.get(..n) else {
                return Err(Error::internal(
                    "a read claimed more bytes than its buffer holds",
                ));
            };
            to.write_all(bytes)
                .map_err(|e| Error::internal(format!("cannot write a downloaded file: {e}")))?;
            total += n as u64;
        }
        Ok(total)
    }
}
