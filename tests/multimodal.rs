//! Issue 4: media input (`--image`, `--audio`, `--video`), multimodal responses, Qwen-Omni
//! speech to WAV (`--audio-out`), tool definitions and streamed tool calls, and `n > 1`.
//!
//! The real binary runs against the loopback server of `tests/common`. Every expected value is
//! written out here or computed by this file's own helpers (its own base64 encoder and decoder,
//! its own WAV header reader), never taken from qstream's code.
//!
//! The media fixtures in `tests/fixtures/media/` were generated for this file with python3:
//! `pixel.png` a real 2×2 RGB PNG (IHDR, zlib IDAT and IEND with their CRCs), `tone.wav` a
//! 16 kHz mono 16-bit PCM WAV of 160 samples, `clip.mp4` an ISO-BMFF file made of an `ftyp`
//! box (`isom`), an empty `free` box and a 512-byte `mdat` box.

mod common;

#[cfg(unix)]
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
#[cfg(unix)]
use std::process::Stdio;
#[cfg(unix)]
use std::time::{Duration, Instant};

use common::{qstream, run, temp_dir, Output, Recorded, Reply, Server};
use serde_json::{json, Value};

const KEY: &str = "sk-test";
const PROMPT: &str = "What is in these?";
/// Whole body in one write, 7-byte writes, 1-byte writes.
const CHUNKINGS: [usize; 3] = [0, 7, 1];

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Compatible,
    DashScope,
}

const BOTH: [Proto; 2] = [Proto::Compatible, Proto::DashScope];

impl Proto {
    /// `--base-url` relative to the server.
    fn base(self) -> &'static str {
        match self {
            Proto::Compatible => "/compatible-mode/v1",
            Proto::DashScope => "/api/v1",
        }
    }

    /// The path a request with attachments must go to.
    fn multimodal_path(self) -> &'static str {
        match self {
            Proto::Compatible => "/compatible-mode/v1/chat/completions",
            Proto::DashScope => "/api/v1/services/aigc/multimodal-generation/generation",
        }
    }

    /// The path a text-only request must go to.
    fn text_path(self) -> &'static str {
        match self {
            Proto::Compatible => "/compatible-mode/v1/chat/completions",
            Proto::DashScope => "/api/v1/services/aigc/text-generation/generation",
        }
    }

    /// A short well-formed answer "OK" in this protocol (multimodal shape for DashScope).
    fn ok_stream(self) -> Vec<u8> {
        match self {
            Proto::Compatible => compatible_sse(&[
                json!({"choices":[{"delta":{"role":"assistant","content":"OK"},"index":0,"finish_reason":null}]}),
                json!({"choices":[{"delta":{},"index":0,"finish_reason":"stop"}]}),
                json!({"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}),
            ]),
            Proto::DashScope => dashscope_sse(&[
                json!({"output":{"choices":[{"message":{"role":"assistant","content":[{"text":"OK"}]},"finish_reason":"null"}]},"usage":{"input_tokens":5,"output_tokens":1},"request_id":"req-ok"}),
                json!({"output":{"choices":[{"message":{"role":"assistant","content":[]},"finish_reason":"stop"}]},"usage":{"input_tokens":5,"output_tokens":1},"request_id":"req-ok"}),
            ]),
        }
    }

    /// The body qstream must send: the fixed fields, `messages`, and `extra` (top level for
    /// compatible, in `parameters` for DashScope).
    fn body(self, model: &str, messages: Value, extra: Value) -> Value {
        let extra = extra.as_object().expect("extra is an object").clone();
        match self {
            Proto::Compatible => {
                let mut body = json!({
                    "model": model,
                    "messages": messages,
                    "stream": true,
                    "stream_options": {"include_usage": true},
                });
                body.as_object_mut().expect("object").extend(extra);
                body
            }
            Proto::DashScope => {
                let mut parameters =
                    json!({"result_format": "message", "incremental_output": true});
                parameters.as_object_mut().expect("object").extend(extra);
                json!({"model": model, "input": {"messages": messages}, "parameters": parameters})
            }
        }
    }
}

/// `qstream` aimed at `server` in `proto`, with the key set.
fn qstream_at(server: &Server, proto: Proto) -> Command {
    let mut cmd = qstream();
    cmd.env("DASHSCOPE_API_KEY", KEY)
        .arg("--base-url")
        .arg(format!("{}{}", server.url(), proto.base()));
    if proto == Proto::DashScope {
        cmd.args(["--protocol", "dashscope"]);
    }
    cmd
}

/// Serve `body` in `chunk`-byte writes, run qstream with `args`, return its output and the one
/// request the server received.
fn serve(body: Vec<u8>, chunk: usize, proto: Proto, args: &[&str]) -> (Output, Recorded) {
    let server = Server::start(vec![Reply::sse(body).chunks(chunk)]);
    let out = run(qstream_at(&server, proto).args(args), None);
    let mut requests = server.requests();
    assert_eq!(requests.len(), 1, "one request expected: {out:?}");
    (out, requests.remove(0))
}

/// `data: JSON` events, then `data: [DONE]`.
fn compatible_sse(chunks: &[Value]) -> Vec<u8> {
    let mut body = String::new();
    for c in chunks {
        body.push_str(&format!("data: {c}\n\n"));
    }
    body.push_str("data: [DONE]\n\n");
    body.into_bytes()
}

/// DashScope's framing: `id`, `event:result`, `:HTTP_STATUS/200`, `data`.
fn dashscope_sse(datas: &[Value]) -> Vec<u8> {
    let mut body = String::new();
    for (i, d) in datas.iter().enumerate() {
        body.push_str(&format!(
            "id:{}\nevent:result\n:HTTP_STATUS/200\ndata:{d}\n\n",
            i + 1
        ));
    }
    body.into_bytes()
}

fn assert_success(out: &Output) {
    assert_eq!(out.status, Some(0), "exit status: {out:?}");
}

/// Each stdout line parsed as JSON.
fn json_lines(stdout: &str) -> Vec<Value> {
    assert!(
        stdout.is_empty() || stdout.ends_with('\n'),
        "JSON lines end with a newline: {stdout:?}"
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

/// One `qstream: …` line on stderr and nothing on stdout.
fn assert_one_error_line(out: &Output) {
    assert!(
        out.stderr.starts_with("qstream: ")
            && out.stderr.ends_with('\n')
            && out.stderr.matches('\n').count() == 1,
        "one `qstream: …` line expected: {:?}",
        out.stderr
    );
    assert_eq!(out.stdout, "", "nothing on stdout");
}

/// Give a would-be connection time to be accepted before counting.
fn connections_after_exit(server: &Server) -> usize {
    std::thread::sleep(std::time::Duration::from_millis(100));
    server.connections()
}

fn media_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join("media")
        .join(name)
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn write_temp(tag: &str, name: &str, bytes: &[u8]) -> PathBuf {
    let path = temp_dir(tag).join(name);
    std::fs::write(&path, bytes).expect("write temp file");
    path
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
fn b64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let mut n = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            n |= u32::from(b) << (16 - 8 * i);
        }
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Strict standard base64: length a multiple of 4, padding only at the end, canonical.
fn b64_decode(s: &str) -> Vec<u8> {
    assert_eq!(
        s.len() % 4,
        0,
        "base64 length {} is not a multiple of 4",
        s.len()
    );
    let body = s.trim_end_matches('=');
    assert!(s.len() - body.len() <= 2, "too much padding");
    let mut out = Vec::new();
    let mut bits = 0u32;
    let mut nbits = 0;
    for c in body.bytes() {
        let v = B64
            .iter()
            .position(|&a| a == c)
            .unwrap_or_else(|| panic!("not base64: {:?}", c as char)) as u32;
        bits = (bits << 6) | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    assert_eq!(b64_encode(&out), s, "base64 is not canonical");
    out
}

/// The bytes of `data:<mime>;base64,<b64>`, checking the MIME type.
fn data_url_bytes(url: &str, mime: &str) -> Vec<u8> {
    let prefix = format!("data:{mime};base64,");
    let b64 = url
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("expected a {prefix}… URL, got {:?}", short(url)));
    b64_decode(b64)
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

// ---------------------------------------------------------------------------
// 1. Media input: the request, exactly
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Image,
    Audio,
    Video,
}

/// One `--image`/`--audio`/`--video` argument and what it must become.
struct Attach {
    kind: Kind,
    arg: String,
    /// For a local file: its bytes and the MIME type its data URL must carry.
    file: Option<(Vec<u8>, &'static str)>,
    /// For audio: the `format` of the compatible `input_audio` part.
    format: Option<&'static str>,
}

impl Attach {
    fn url(kind: Kind, url: &str, format: Option<&'static str>) -> Attach {
        Attach {
            kind,
            arg: url.to_owned(),
            file: None,
            format,
        }
    }

    fn file(kind: Kind, path: &Path, mime: &'static str, format: Option<&'static str>) -> Attach {
        let bytes = std::fs::read(path).expect("read media file");
        Attach {
            kind,
            arg: path_str(path).to_owned(),
            file: Some((bytes, mime)),
            format,
        }
    }

    fn flag(&self) -> &'static str {
        match self.kind {
            Kind::Image => "--image",
            Kind::Audio => "--audio",
            Kind::Video => "--video",
        }
    }

    /// The URL the request must carry: the argument, or the file as a data URL.
    fn expected_url(&self) -> String {
        match &self.file {
            Some((bytes, mime)) => format!("data:{mime};base64,{}", b64_encode(bytes)),
            None => self.arg.clone(),
        }
    }

    fn part(&self, proto: Proto) -> Value {
        let url = self.expected_url();
        match (proto, self.kind) {
            (Proto::Compatible, Kind::Image) => {
                json!({"type": "image_url", "image_url": {"url": url}})
            }
            (Proto::Compatible, Kind::Audio) => {
                let mut audio = json!({"data": url});
                if let Some(f) = self.format {
                    audio["format"] = json!(f);
                }
                json!({"type": "input_audio", "input_audio": audio})
            }
            (Proto::Compatible, Kind::Video) => {
                json!({"type": "video_url", "video_url": {"url": url}})
            }
            (Proto::DashScope, Kind::Image) => json!({ "image": url }),
            (Proto::DashScope, Kind::Audio) => json!({ "audio": url }),
            (Proto::DashScope, Kind::Video) => json!({ "video": url }),
        }
    }

    /// The URL in the part the request actually has for this attachment.
    fn sent_url<'a>(&self, proto: Proto, part: &'a Value) -> &'a str {
        let v = match (proto, self.kind) {
            (Proto::Compatible, Kind::Image) => &part["image_url"]["url"],
            (Proto::Compatible, Kind::Audio) => &part["input_audio"]["data"],
            (Proto::Compatible, Kind::Video) => &part["video_url"]["url"],
            (Proto::DashScope, Kind::Image) => &part["image"],
            (Proto::DashScope, Kind::Audio) => &part["audio"],
            (Proto::DashScope, Kind::Video) => &part["video"],
        };
        v.as_str()
            .unwrap_or_else(|| panic!("{:?} part has no URL: {part}", self.kind))
    }
}

/// Send `attachments` (in this order) with PROMPT and an optional system message; check the
/// path and the body exactly, and decode every inline file back to its bytes.
fn check_media(proto: Proto, attachments: &[Attach], system: Option<&str>) {
    let mut args = vec!["-m", "qwen-vl-max"];
    if let Some(s) = system {
        args.extend(["-s", s]);
    }
    for a in attachments {
        args.extend([a.flag(), a.arg.as_str()]);
    }
    args.push(PROMPT);
    let (out, req) = serve(proto.ok_stream(), 0, proto, &args);
    assert_success(&out);
    assert_eq!(out.stdout, "OK");
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, proto.multimodal_path(), "{proto:?}");
    let body = req.json();

    // Inline files decode back to exactly their bytes, with the right MIME type.
    let messages = match proto {
        Proto::Compatible => &body["messages"],
        Proto::DashScope => &body["input"]["messages"],
    };
    let user = messages
        .as_array()
        .and_then(|m| m.last())
        .expect("a user message");
    let parts = user["content"].as_array().expect("content is a list");
    assert_eq!(parts.len(), attachments.len() + 1, "{proto:?}: {parts:?}");
    for (a, part) in attachments.iter().zip(parts) {
        let url = a.sent_url(proto, part);
        match &a.file {
            Some((bytes, mime)) => assert_eq!(
                &data_url_bytes(url, mime),
                bytes,
                "{proto:?} {} {}",
                a.flag(),
                a.arg
            ),
            None => assert_eq!(url, a.arg),
        }
    }

    // The whole body, exactly.
    let mut content: Vec<Value> = attachments.iter().map(|a| a.part(proto)).collect();
    content.push(match proto {
        Proto::Compatible => json!({"type": "text", "text": PROMPT}),
        Proto::DashScope => json!({ "text": PROMPT }),
    });
    let mut expected_messages = Vec::new();
    if let Some(s) = system {
        expected_messages.push(match proto {
            Proto::Compatible => json!({"role": "system", "content": s}),
            Proto::DashScope => json!({"role": "system", "content": [{"text": s}]}),
        });
    }
    expected_messages.push(json!({"role": "user", "content": content}));
    assert_eq!(
        body,
        proto.body("qwen-vl-max", Value::Array(expected_messages), json!({})),
        "{proto:?}"
    );
}

fn png() -> PathBuf {
    media_fixture("pixel.png")
}
fn wav() -> PathBuf {
    media_fixture("tone.wav")
}
fn mp4() -> PathBuf {
    media_fixture("clip.mp4")
}

#[test]
fn each_media_kind_as_a_url_in_both_protocols() {
    for proto in BOTH {
        check_media(
            proto,
            &[Attach::url(
                Kind::Image,
                "https://example.com/img/cat.png",
                None,
            )],
            None,
        );
        check_media(
            proto,
            &[Attach::url(
                Kind::Audio,
                "https://example.com/a/welcome.mp3?sig=x1",
                Some("mp3"),
            )],
            None,
        );
        check_media(
            proto,
            &[Attach::url(
                Kind::Video,
                "https://example.com/v/clip.mp4",
                None,
            )],
            None,
        );
    }
}

#[test]
fn each_media_kind_as_a_local_file_in_both_protocols() {
    for proto in BOTH {
        check_media(
            proto,
            &[Attach::file(Kind::Image, &png(), "image/png", None)],
            None,
        );
        check_media(
            proto,
            &[Attach::file(Kind::Audio, &wav(), "audio/wav", Some("wav"))],
            None,
        );
        check_media(
            proto,
            &[Attach::file(Kind::Video, &mp4(), "video/mp4", None)],
            None,
        );
    }
}

#[test]
fn attachments_keep_their_command_line_order_across_kinds() {
    for proto in BOTH {
        // Files.
        check_media(
            proto,
            &[
                Attach::file(Kind::Video, &mp4(), "video/mp4", None),
                Attach::file(Kind::Image, &png(), "image/png", None),
                Attach::file(Kind::Audio, &wav(), "audio/wav", Some("wav")),
            ],
            None,
        );
        // URLs and files mixed, a kind repeated, and a system message.
        check_media(
            proto,
            &[
                Attach::file(Kind::Audio, &wav(), "audio/wav", Some("wav")),
                Attach::url(Kind::Image, "https://example.com/a.jpg", None),
                Attach::url(Kind::Video, "https://example.com/b.mp4", None),
                Attach::file(Kind::Image, &png(), "image/png", None),
                Attach::url(Kind::Audio, "https://example.com/c.wav", Some("wav")),
            ],
            Some("Be brief."),
        );
    }
}

#[test]
fn native_system_message_becomes_a_text_part() {
    check_media(
        Proto::DashScope,
        &[Attach::url(Kind::Image, "https://example.com/x.png", None)],
        Some("You describe pictures."),
    );
    // Compatible keeps it a string (checked by the same helper).
    check_media(
        Proto::Compatible,
        &[Attach::url(Kind::Image, "https://example.com/x.png", None)],
        Some("You describe pictures."),
    );
}

#[test]
fn mime_type_comes_from_magic_bytes_before_the_extension() {
    // Each file's name says one thing and its first bytes another: the bytes win.
    let dir = temp_dir("mime-magic");
    let copy = |from: PathBuf, name: &str| {
        let to = dir.join(name);
        std::fs::copy(from, &to).expect("copy fixture");
        to
    };
    let png_as_jpg = copy(png(), "photo.jpg");
    let wav_as_mp3 = copy(wav(), "voice.mp3");
    let mp4_as_avi = copy(mp4(), "movie.avi");
    for proto in BOTH {
        check_media(
            proto,
            &[
                Attach::file(Kind::Image, &png_as_jpg, "image/png", None),
                Attach::file(Kind::Audio, &wav_as_mp3, "audio/wav", Some("wav")),
                Attach::file(Kind::Video, &mp4_as_avi, "video/mp4", None),
            ],
            None,
        );
    }
}

#[test]
fn mime_type_comes_from_the_extension_when_the_bytes_say_nothing() {
    let dir = temp_dir("mime-ext");
    // Binary in no format qstream knows (text would be refused: issue 10, item 21).
    let junk = b"\x00\x01\x02\x03 not a known format\n";
    let jpg = dir.join("shot.jpg");
    let mp3 = dir.join("speech.mp3");
    let webm = dir.join("screen.webm");
    for p in [&jpg, &mp3, &webm] {
        std::fs::write(p, junk).expect("write");
    }
    for proto in BOTH {
        check_media(
            proto,
            &[
                Attach::file(Kind::Image, &jpg, "image/jpeg", None),
                Attach::file(Kind::Audio, &mp3, "audio/mpeg", Some("mp3")),
                Attach::file(Kind::Video, &webm, "video/webm", None),
            ],
            None,
        );
    }
}

// ---------------------------------------------------------------------------
// 2. Media errors: before any connection
// ---------------------------------------------------------------------------

#[test]
fn a_missing_file_exits_2_naming_it_before_connecting() {
    let server = Server::start(vec![]);
    let dir = temp_dir("missing");
    for proto in BOTH {
        for (flag, name) in [
            ("--image", "gone.png"),
            ("--audio", "gone.wav"),
            ("--video", "gone.mp4"),
        ] {
            let missing = dir.join(name);
            let out = run(
                qstream_at(&server, proto).args([
                    "--image",
                    "https://example.com/ok.png",
                    flag,
                    path_str(&missing),
                    PROMPT,
                ]),
                None,
            );
            assert_eq!(out.status, Some(2), "{proto:?} {flag}: {out:?}");
            assert_one_error_line(&out);
            assert!(
                out.stderr.contains(path_str(&missing)),
                "stderr names the file: {:?}",
                out.stderr
            );
        }
        // A directory is no file either.
        let out = run(
            qstream_at(&server, proto).args(["--image", path_str(&dir), PROMPT]),
            None,
        );
        assert_eq!(out.status, Some(2), "{proto:?} directory: {out:?}");
        assert_one_error_line(&out);
        assert!(out.stderr.contains(path_str(&dir)), "{:?}", out.stderr);
    }
    assert_eq!(connections_after_exit(&server), 0);
}

#[test]
fn a_file_over_the_inline_limit_exits_2_before_connecting() {
    let server = Server::start(vec![]);
    let dir = temp_dir("too-big");
    // 7.5 MiB + 1 byte is just over 10 MiB as base64; 8 MiB well over. Sparse: nothing is written.
    for (i, len) in [7_864_321u64, 8 << 20].into_iter().enumerate() {
        for (flag, ext) in [("--image", "png"), ("--audio", "wav"), ("--video", "mp4")] {
            let path = dir.join(format!("big{i}.{ext}"));
            let file = std::fs::File::create(&path).expect("create");
            file.set_len(len).expect("set_len");
            drop(file);
            for proto in BOTH {
                let out = run(
                    qstream_at(&server, proto).args([flag, path_str(&path), PROMPT]),
                    None,
                );
                assert_eq!(out.status, Some(2), "{proto:?} {flag} {len}: {out:?}");
                assert_one_error_line(&out);
                assert!(
                    out.stderr.contains("10 MB"),
                    "the message names the limit: {:?}",
                    out.stderr
                );
                assert!(out.stderr.contains(path_str(&path)), "{:?}", out.stderr);
            }
        }
    }
    assert_eq!(connections_after_exit(&server), 0);
}

// ---------------------------------------------------------------------------
// 3. Multimodal responses
// ---------------------------------------------------------------------------

fn native_usage(out: u64) -> Value {
    json!({"input_tokens": 1250, "output_tokens": out, "image_tokens": 1200})
}

/// A Qwen-VL answer in the native protocol: content as lists of `{"text"}` parts, the last
/// chunk an empty list; `cumulative` repeats all text so far on each chunk.
fn native_vl_stream(cumulative: bool) -> Vec<u8> {
    let texts: [&str; 2] = if cumulative {
        ["A dog", "A dog on a beach"]
    } else {
        ["A dog", " on a beach"]
    };
    dashscope_sse(&[
        json!({"output":{"choices":[{"message":{"role":"assistant","content":[{"text":texts[0]}]},"finish_reason":"null"}]},"usage":native_usage(2),"request_id":"req-vl"}),
        json!({"output":{"choices":[{"message":{"role":"assistant","content":[{"text":texts[1]}]},"finish_reason":"null"}]},"usage":native_usage(5),"request_id":"req-vl"}),
        json!({"output":{"choices":[{"message":{"role":"assistant","content":[]},"finish_reason":"stop"}]},"usage":native_usage(5),"request_id":"req-vl"}),
    ])
}

#[test]
fn native_content_lists_decode_in_both_incremental_modes() {
    let usage_line = "usage: input 1250, output 5, total 1255 tokens\n";
    let events = vec![
        json!({"type":"content","text":"A dog"}),
        json!({"type":"content","text":" on a beach"}),
        json!({"type":"finish","reason":"stop"}),
        json!({"type":"usage","input_tokens":1250,"output_tokens":5,"total_tokens":1255}),
    ];
    for cumulative in [false, true] {
        for chunk in CHUNKINGS {
            let mut base = vec![
                "-m",
                "qwen-vl-max",
                "--image",
                "https://example.com/dog.jpg",
            ];
            if cumulative {
                base.push("--no-incremental");
            }
            let what = format!("cumulative={cumulative} chunk={chunk}");

            let mut args = base.clone();
            args.push("Describe it");
            let (out, req) = serve(native_vl_stream(cumulative), chunk, Proto::DashScope, &args);
            assert_success(&out);
            assert_eq!(out.stdout, "A dog on a beach", "{what}");
            assert_eq!(out.stderr, usage_line, "{what}");
            assert_eq!(req.path, Proto::DashScope.multimodal_path());
            assert_eq!(
                req.json()["parameters"]["incremental_output"],
                json!(!cumulative)
            );

            let mut args = base.clone();
            args.extend(["--json", "Describe it"]);
            let (out, _) = serve(native_vl_stream(cumulative), chunk, Proto::DashScope, &args);
            assert_success(&out);
            assert_eq!(json_lines(&out.stdout), events, "{what}");
        }
    }
}

#[test]
fn compatible_multimodal_responses_are_plain_delta_content() {
    let body = compatible_sse(&[
        json!({"choices":[{"delta":{"role":"assistant","content":""},"index":0,"finish_reason":null}],"model":"qwen-vl-max"}),
        json!({"choices":[{"delta":{"content":"A dog"},"index":0,"finish_reason":null}]}),
        json!({"choices":[{"delta":{"content":" on a beach"},"index":0,"finish_reason":null}]}),
        json!({"choices":[{"delta":{"content":""},"index":0,"finish_reason":"stop"}]}),
        json!({"choices":[],"usage":{"prompt_tokens":1250,"completion_tokens":5,"total_tokens":1255}}),
    ]);
    let png = png();
    for chunk in CHUNKINGS {
        let args = [
            "-m",
            "qwen-vl-max",
            "--image",
            path_str(&png),
            "Describe it",
        ];
        let (out, req) = serve(body.clone(), chunk, Proto::Compatible, &args);
        assert_success(&out);
        assert_eq!(out.stdout, "A dog on a beach");
        assert_eq!(
            out.stderr,
            "usage: input 1250, output 5, total 1255 tokens\n"
        );
        assert_eq!(req.path, Proto::Compatible.multimodal_path());

        let args = [
            "-m",
            "qwen-vl-max",
            "--image",
            path_str(&png),
            "--json",
            "Describe it",
        ];
        let (out, _) = serve(body.clone(), chunk, Proto::Compatible, &args);
        assert_success(&out);
        assert_eq!(
            json_lines(&out.stdout),
            vec![
                json!({"type":"content","text":"A dog"}),
                json!({"type":"content","text":" on a beach"}),
                json!({"type":"finish","reason":"stop"}),
                json!({"type":"usage","input_tokens":1250,"output_tokens":5,"total_tokens":1255}),
            ]
        );
    }
}

// ---------------------------------------------------------------------------
// 4. Qwen-Omni speech to WAV
// ---------------------------------------------------------------------------

/// 4801 samples of 16-bit little-endian mono PCM: 9602 bytes, so the base64 ends in one `=`.
fn pcm() -> Vec<u8> {
    (0..4801u32)
        .flat_map(|i| {
            // A sawtooth plus a slower wobble: every byte value turns up.
            let s = (i.wrapping_mul(1237) as u16 as i16).wrapping_add((i % 97) as i16 * 31);
            s.to_le_bytes()
        })
        .collect()
}

/// Piece lengths that are never multiples of 4, so groups split across chunks.
const PIECE_LENS: [usize; 12] = [7, 13, 5, 11, 2, 9, 17, 3, 6, 15, 1, 10];

/// The base64 of `pcm` in pieces of `PIECE_LENS` lengths (the last may be shorter).
fn pieces(b64: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut pos = 0;
    for &n in PIECE_LENS.iter().cycle() {
        if pos >= b64.len() {
            break;
        }
        let end = (pos + n).min(b64.len());
        out.push(&b64[pos..end]);
        pos = end;
    }
    out
}

const TRANSCRIPT: [&str; 3] = ["Hello", ", wor", "ld."];

/// One SSE event of the Omni stream, for working out what a cut-off stream delivered.
struct OmniEvent {
    /// Offset in the body just past the blank line that dispatches it.
    end: usize,
    /// Base64 characters of audio in this and all earlier events.
    b64_so_far: usize,
    /// Transcript in this and all earlier events.
    text_so_far: String,
}

struct Omni {
    pcm: Vec<u8>,
    pieces: Vec<String>,
    body: Vec<u8>,
    events: Vec<OmniEvent>,
}

/// A Qwen-Omni stream: the transcript interleaved with the speech, the finish chunk, the
/// usage chunk, `[DONE]`.
fn omni_stream() -> Omni {
    let pcm = pcm();
    let b64 = b64_encode(&pcm);
    assert!(b64.ends_with('=') && !b64.ends_with("=="));
    let pieces: Vec<String> = pieces(&b64).into_iter().map(String::from).collect();
    assert!(pieces.len() > 1000);
    let mut chunks = vec![(
        json!({"id":"chatcmpl-omni","object":"chat.completion.chunk","choices":[{"delta":{"role":"assistant","content":null,"audio":{"transcript":TRANSCRIPT[0]}},"index":0,"finish_reason":null}]}),
        0usize,
        TRANSCRIPT[0],
    )];
    for (i, p) in pieces.iter().enumerate() {
        if i == 100 {
            chunks.push((
                json!({"choices":[{"delta":{"audio":{"transcript":TRANSCRIPT[1]}},"index":0,"finish_reason":null}]}),
                0,
                TRANSCRIPT[1],
            ));
        }
        if i == 700 {
            chunks.push((
                json!({"choices":[{"delta":{"audio":{"transcript":TRANSCRIPT[2]}},"index":0,"finish_reason":null}]}),
                0,
                TRANSCRIPT[2],
            ));
        }
        chunks.push((
            json!({"choices":[{"delta":{"audio":{"data":p,"expires_at":1767225600,"id":"audio_omni"}},"index":0,"finish_reason":null}]}),
            p.len(),
            "",
        ));
    }
    chunks.push((
        json!({"choices":[{"delta":{},"index":0,"finish_reason":"stop"}]}),
        0,
        "",
    ));
    chunks.push((
        json!({"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":410,"total_tokens":422,"completion_tokens_details":{"audio_tokens":400,"text_tokens":10}}}),
        0,
        "",
    ));
    let mut body = String::new();
    let mut events = Vec::new();
    let mut b64_so_far = 0;
    let mut text_so_far = String::new();
    for (chunk, audio_chars, text) in chunks {
        body.push_str(&format!("data: {chunk}\n\n"));
        b64_so_far += audio_chars;
        text_so_far.push_str(text);
        events.push(OmniEvent {
            end: body.len(),
            b64_so_far,
            text_so_far: text_so_far.clone(),
        });
    }
    body.push_str("data: [DONE]\n\n");
    Omni {
        pcm,
        pieces,
        body: body.into_bytes(),
        events,
    }
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Check a 24 kHz 16-bit mono PCM WAV file field by field and return its data bytes.
fn wav_data(file: &[u8]) -> &[u8] {
    assert!(
        file.len() >= 44,
        "a WAV file has a 44-byte header: {}",
        file.len()
    );
    assert_eq!(&file[0..4], b"RIFF");
    assert_eq!(u32_at(file, 4) as usize, file.len() - 8, "RIFF size");
    assert_eq!(&file[8..12], b"WAVE");
    assert_eq!(&file[12..16], b"fmt ");
    assert_eq!(u32_at(file, 16), 16, "fmt chunk size");
    assert_eq!(u16_at(file, 20), 1, "PCM");
    assert_eq!(u16_at(file, 22), 1, "channels");
    assert_eq!(u32_at(file, 24), 24_000, "sample rate");
    assert_eq!(u32_at(file, 28), 48_000, "byte rate");
    assert_eq!(u16_at(file, 32), 2, "block align");
    assert_eq!(u16_at(file, 34), 16, "bits per sample");
    assert_eq!(&file[36..40], b"data");
    let len = u32_at(file, 40) as usize;
    // An odd-sized chunk is followed by one pad byte (RIFF).
    assert_eq!(file.len(), 44 + len + (len & 1), "data size {len}");
    &file[44..44 + len]
}

fn omni_body(voice: &str, system: Option<&str>) -> Value {
    let mut messages = Vec::new();
    if let Some(s) = system {
        messages.push(json!({"role": "system", "content": s}));
    }
    messages.push(json!({"role": "user", "content": "Say hello"}));
    Proto::Compatible.body(
        "qwen-omni-turbo",
        Value::Array(messages),
        json!({"modalities": ["text", "audio"], "audio": {"voice": voice, "format": "wav"}}),
    )
}

#[test]
fn omni_speech_is_written_to_a_valid_wav_and_the_transcript_to_stdout() {
    let omni = omni_stream();
    for chunk in [0, 7] {
        for voice in [None, Some("Ethan")] {
            let wav_path = temp_dir("omni").join("reply.wav");
            let mut args = vec!["-m", "qwen-omni-turbo", "--audio-out", path_str(&wav_path)];
            if let Some(v) = voice {
                args.extend(["--voice", v]);
            }
            args.push("Say hello");
            let (out, req) = serve(omni.body.clone(), chunk, Proto::Compatible, &args);
            assert_success(&out);
            assert_eq!(req.path, Proto::Compatible.text_path());
            assert_eq!(req.json(), omni_body(voice.unwrap_or("Cherry"), None));
            assert_eq!(out.stdout, "Hello, world.", "chunk={chunk}");
            let lines: Vec<&str> = out.stderr.lines().collect();
            assert!(
                lines.contains(&"usage: input 12, output 410, total 422 tokens"),
                "{:?}",
                out.stderr
            );
            assert!(
                lines.iter().any(|l| l.contains(path_str(&wav_path))),
                "stderr says where the speech went: {:?}",
                out.stderr
            );
            assert!(!out.stderr.contains("warning"), "{:?}", out.stderr);
            let file = std::fs::read(&wav_path).expect("the WAV file exists");
            let data = wav_data(&file);
            assert_eq!(data.len(), omni.pcm.len());
            assert!(data == omni.pcm.as_slice(), "the WAV holds exactly the PCM");
        }
    }
}

/// `{"type":"audio","bytes":N}` events: check their shape and return the sum of N.
fn audio_bytes(events: &[Value]) -> usize {
    events
        .iter()
        .filter(|e| e["type"] == "audio")
        .map(|e| {
            let obj = e.as_object().expect("object");
            assert_eq!(obj.len(), 2, "audio events carry type and bytes only: {e}");
            e["bytes"].as_u64().expect("bytes is a count") as usize
        })
        .sum()
}

#[test]
fn omni_json_mode_reports_byte_counts_not_payload() {
    let omni = omni_stream();
    for with_wav in [true, false] {
        let wav_path = temp_dir("omni-json").join("reply.wav");
        let mut args = vec!["-m", "qwen-omni-turbo", "--json"];
        if with_wav {
            args.extend(["--audio-out", path_str(&wav_path)]);
        }
        args.push("Say hello");
        let (out, _) = serve(omni.body.clone(), 7, Proto::Compatible, &args);
        assert_success(&out);
        let events = json_lines(&out.stdout);
        assert_eq!(audio_bytes(&events), omni.pcm.len(), "with_wav={with_wav}");
        let others: Vec<&Value> = events.iter().filter(|e| e["type"] != "audio").collect();
        assert_eq!(
            others,
            [
                &json!({"type":"content","text":"Hello"}),
                &json!({"type":"content","text":", wor"}),
                &json!({"type":"content","text":"ld."}),
                &json!({"type":"finish","reason":"stop"}),
                &json!({"type":"usage","input_tokens":12,"output_tokens":410,"total_tokens":422}),
            ]
        );
        // The audio events come where the speech came: between the transcript pieces.
        let first_audio = events.iter().position(|e| e["type"] == "audio");
        assert_eq!(first_audio, Some(1), "{:?}", &events[..3]);
        for p in omni.pieces.iter().filter(|p| p.len() >= 9) {
            assert!(!out.stdout.contains(p.as_str()), "base64 on stdout: {p}");
        }
        if with_wav {
            let file = std::fs::read(&wav_path).expect("WAV written");
            assert!(wav_data(&file) == omni.pcm.as_slice());
        }
    }
}

/// What a stream cut after `cut` bytes delivered: the transcript, and the PCM bytes that the
/// base64 of the dispatched events holds (a trailing 2 or 3 characters still make 1 or 2
/// whole bytes; a lone one makes none).
fn delivered(omni: &Omni, cut: usize) -> (String, usize) {
    let last = omni.events.iter().take_while(|e| e.end <= cut).last();
    let (text, chars) = last
        .map(|e| (e.text_so_far.clone(), e.b64_so_far))
        .unwrap_or_default();
    let bytes = chars / 4 * 3 + [0, 0, 1, 2][chars % 4];
    (text, bytes.min(omni.pcm.len()))
}

#[test]
fn omni_stream_cut_midway_still_leaves_a_valid_wav() {
    let omni = omni_stream();
    let n = omni.events.len();
    // Cut inside an event in the middle of the speech, once for each count of base64
    // characters modulo 4 delivered before it.
    let mut cuts = Vec::new();
    for residue in 0..4 {
        let e = omni.events[n / 3..2 * n / 3]
            .iter()
            .find(|e| e.b64_so_far % 4 == residue)
            .expect("an event with this residue");
        cuts.push(e.end + 20);
    }
    for cut in cuts {
        let wav_path = temp_dir("omni-cut").join("reply.wav");
        let server = Server::start(vec![Reply::sse(omni.body.clone()).chunks(7).cut_after(cut)]);
        let out = run(
            qstream_at(&server, Proto::Compatible).args([
                "-m",
                "qwen-omni-turbo",
                "--audio-out",
                path_str(&wav_path),
                "Say hello",
            ]),
            None,
        );
        assert_eq!(out.status, Some(7), "cut={cut}: {out:?}");
        let (text, bytes) = delivered(&omni, cut);
        assert_eq!(out.stdout, text, "cut={cut}");
        assert!(
            out.stderr.lines().any(|l| l.starts_with("qstream: ")),
            "{:?}",
            out.stderr
        );
        let file = std::fs::read(&wav_path).expect("WAV written");
        let data = wav_data(&file);
        assert!(
            data.len() < omni.pcm.len() && data.len() > 1000,
            "cut={cut}"
        );
        // Whole 16-bit samples only: an odd byte waits for its partner.
        assert_eq!(data.len(), bytes & !1, "cut={cut}: the data received");
        assert!(
            data == &omni.pcm[..data.len()],
            "cut={cut}: a prefix of the PCM"
        );
    }
}

/// The data size in the header of the WAV file at `path`, if it has a header yet.
#[cfg(unix)]
fn wav_data_size(path: &Path) -> Option<usize> {
    let file = std::fs::read(path).ok()?;
    (file.len() >= 44).then(|| u32_at(&file, 40) as usize)
}

#[cfg(unix)] // SIGINT
#[test]
fn omni_stream_interrupted_midway_still_leaves_a_valid_wav() {
    let omni = omni_stream();
    let n = omni.events.len();
    // Stall just past the middle, inside an event; after a residue-3 event so that the
    // trailing unpadded group is decoded when the file is closed.
    let event = omni.events[n / 2..]
        .iter()
        .find(|e| e.b64_so_far % 4 == 3)
        .expect("an event");
    let stall_at = event.end + 20;
    let (text, bytes) = delivered(&omni, stall_at);
    let server = Server::start(vec![
        Reply::sse(omni.body.clone()).stall_after(stall_at, Duration::from_secs(30))
    ]);
    let wav_path = temp_dir("omni-int").join("reply.wav");
    let mut child = qstream_at(&server, Proto::Compatible)
        .args([
            "-m",
            "qwen-omni-turbo",
            "--audio-out",
            path_str(&wav_path),
            "Say hello",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn qstream");
    // Wait until every whole group before the stall is in the file.
    let deadline = Instant::now() + Duration::from_secs(20);
    while wav_data_size(&wav_path) != Some(bytes - bytes % 3) {
        assert!(
            Instant::now() < deadline,
            "the WAV never reached {} bytes: {:?}",
            bytes - bytes % 3,
            wav_data_size(&wav_path)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("qstream did not exit after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read stdout");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    assert_eq!(code, Some(130), "stdout {stdout:?}, stderr {stderr:?}");
    assert_eq!(stdout, text);
    let file = std::fs::read(&wav_path).expect("WAV written");
    let data = wav_data(&file);
    assert_eq!(
        data.len(),
        bytes,
        "the data received, trailing group included"
    );
    assert!(data == &omni.pcm[..data.len()], "a prefix of the PCM");
}

#[test]
fn a_system_message_with_audio_out_warns() {
    let omni = omni_stream();
    let wav_path = temp_dir("omni-sys").join("reply.wav");
    let (out, req) = serve(
        omni.body.clone(),
        0,
        Proto::Compatible,
        &[
            "-m",
            "qwen-omni-turbo",
            "-s",
            "You are cheerful.",
            "--audio-out",
            path_str(&wav_path),
            "Say hello",
        ],
    );
    assert_success(&out);
    assert_eq!(req.json(), omni_body("Cherry", Some("You are cheerful.")));
    assert_eq!(out.stdout, "Hello, world.");
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("warning") && l.contains("system"))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning line: {:?}", out.stderr);
    assert!(wav_data(&std::fs::read(&wav_path).expect("WAV")) == omni.pcm.as_slice());

    // -q silences the warning.
    let (out, _) = serve(
        omni.body.clone(),
        0,
        Proto::Compatible,
        &[
            "-q",
            "-s",
            "x",
            "--audio-out",
            path_str(&wav_path),
            "Say hello",
        ],
    );
    assert_success(&out);
    assert_eq!(out.stderr, "");
}

#[test]
fn audio_out_with_the_native_protocol_is_a_usage_error() {
    let server = Server::start(vec![]);
    let wav_path = temp_dir("omni-native").join("reply.wav");
    let out = run(
        qstream_at(&server, Proto::DashScope).args([
            "--audio-out",
            path_str(&wav_path),
            "Say hello",
        ]),
        None,
    );
    assert_eq!(out.status, Some(2), "{out:?}");
    assert_one_error_line(&out);
    assert!(out.stderr.contains("--audio-out"), "{:?}", out.stderr);
    assert!(!wav_path.exists(), "no WAV file is created");
    assert_eq!(connections_after_exit(&server), 0);
}

// ---------------------------------------------------------------------------
// 5. Tool calls
// ---------------------------------------------------------------------------

fn tools() -> Value {
    json!([
        {"type": "function", "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}
        }},
        {"type": "function", "function": {
            "name": "get_time",
            "description": "The time in a time zone",
            "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}
        }}
    ])
}

fn tools_file() -> PathBuf {
    write_temp(
        "tools",
        "tools.json",
        serde_json::to_string_pretty(&tools())
            .expect("json")
            .as_bytes(),
    )
}

#[test]
fn tools_and_tool_choice_go_into_the_request() {
    let file = tools_file();
    let cases = [
        (None, None),
        (Some("auto"), Some(json!("auto"))),
        (Some("none"), Some(json!("none"))),
        (
            Some("get_weather"),
            Some(json!({"type": "function", "function": {"name": "get_weather"}})),
        ),
    ];
    for proto in BOTH {
        for (choice, expected_choice) in &cases {
            let mut args = vec!["--tools", path_str(&file)];
            if let Some(c) = choice {
                args.extend(["--tool-choice", c]);
            }
            args.push("Weather in Paris?");
            let (out, req) = serve(proto.ok_stream(), 0, proto, &args);
            assert_success(&out);
            assert_eq!(req.path, proto.text_path());
            let mut extra = json!({ "tools": tools() });
            if let Some(c) = expected_choice {
                extra["tool_choice"] = c.clone();
            }
            let messages = json!([{"role": "user", "content": "Weather in Paris?"}]);
            assert_eq!(
                req.json(),
                proto.body("qwen-plus", messages, extra),
                "{proto:?} {choice:?}"
            );
        }
    }
}

#[test]
fn a_missing_or_malformed_tools_file_exits_2_before_connecting() {
    let server = Server::start(vec![]);
    let dir = temp_dir("bad-tools");
    let missing = dir.join("missing.json");
    let not_json = write_temp("bad-tools", "tools.json", b"[{\"type\": \"function\",");
    let not_array = write_temp("bad-tools", "tools.json", br#"{"type": "function"}"#);
    for proto in BOTH {
        for file in [&missing, &not_json, &not_array] {
            let out = run(
                qstream_at(&server, proto).args(["--tools", path_str(file), "Weather?"]),
                None,
            );
            assert_eq!(out.status, Some(2), "{proto:?} {file:?}: {out:?}");
            assert_one_error_line(&out);
            assert!(out.stderr.contains(path_str(file)), "{:?}", out.stderr);
        }
    }
    assert_eq!(connections_after_exit(&server), 0);
}

/// The fragments of two parallel calls, interleaved, arguments split mid-token, id and name
/// only in the first fragment of each: (index, id, name, arguments).
const FRAGMENTS: [(u32, &str, &str, &str); 7] = [
    (0, "call_a", "get_weather", ""),
    (1, "call_b", "get_time", "{\"tz"),
    (0, "", "", "{\"loc"),
    (1, "", "", "\": \"Europe/Pa"),
    (0, "", "", "ation\": \"Par"),
    (0, "", "", "is\"}"),
    (1, "", "", "ris\"}"),
];

fn fragment_json(index: u32, id: &str, name: &str, args: &str) -> Value {
    let mut f = json!({"index": index, "type": "function", "function": {"arguments": args}});
    if !id.is_empty() {
        f["id"] = json!(id);
        f["function"]["name"] = json!(name);
    } else if index == 0 {
        // The service sends an empty id on later fragments; it must not win.
        f["id"] = json!("");
    }
    f
}

fn compatible_tool_stream() -> Vec<u8> {
    let mut chunks = vec![];
    for (i, &(index, id, name, args)) in FRAGMENTS.iter().enumerate() {
        let mut delta = json!({"tool_calls": [fragment_json(index, id, name, args)]});
        if i == 0 {
            delta["role"] = json!("assistant");
            delta["content"] = json!(null);
        }
        chunks.push(json!({"choices":[{"delta":delta,"index":0,"finish_reason":null}]}));
    }
    chunks.push(json!({"choices":[{"delta":{},"index":0,"finish_reason":"tool_calls"}]}));
    chunks.push(
        json!({"choices":[],"usage":{"prompt_tokens":210,"completion_tokens":40,"total_tokens":250}}),
    );
    compatible_sse(&chunks)
}

fn native_tool_stream() -> Vec<u8> {
    let usage = json!({"input_tokens": 210, "output_tokens": 40, "total_tokens": 250});
    let mut datas = vec![];
    for &(index, id, name, args) in &FRAGMENTS {
        datas.push(json!({"output":{"choices":[{"message":{"role":"assistant","content":"","tool_calls":[fragment_json(index, id, name, args)]},"finish_reason":"null"}]},"usage":usage,"request_id":"req-tools"}));
    }
    datas.push(json!({"output":{"choices":[{"message":{"role":"assistant","content":""},"finish_reason":"tool_calls"}]},"usage":usage,"request_id":"req-tools"}));
    dashscope_sse(&datas)
}

/// The two assembled calls.
fn assembled() -> Value {
    json!([
        {"index": 0, "id": "call_a", "name": "get_weather", "arguments": "{\"location\": \"Paris\"}"},
        {"index": 1, "id": "call_b", "name": "get_time", "arguments": "{\"tz\": \"Europe/Paris\"}"},
    ])
}

/// A `tool_call` event with `id`/`name` left out when null, for comparing fragments.
fn without_nulls(mut e: Value) -> Value {
    if let Some(o) = e.as_object_mut() {
        o.retain(|_, v| !v.is_null());
    }
    e
}

fn check_parallel_tool_calls(proto: Proto, body: Vec<u8>) {
    let file = tools_file();
    // Written out, key order included: {"index","id","name","arguments"}.
    let expected_text = concat!(
        r#"{"index":0,"id":"call_a","name":"get_weather","arguments":"{\"location\": \"Paris\"}"}"#,
        "\n",
        r#"{"index":1,"id":"call_b","name":"get_time","arguments":"{\"tz\": \"Europe/Paris\"}"}"#,
        "\n",
    );
    for chunk in CHUNKINGS {
        let (out, _) = serve(
            body.clone(),
            chunk,
            proto,
            &["--tools", path_str(&file), "Weather and time in Paris?"],
        );
        assert_success(&out);
        assert_eq!(out.stdout, expected_text, "{proto:?} chunk={chunk}");
        assert_eq!(
            out.stderr,
            "usage: input 210, output 40, total 250 tokens\n"
        );

        let (out, _) = serve(
            body.clone(),
            chunk,
            proto,
            &[
                "--json",
                "--tools",
                path_str(&file),
                "Weather and time in Paris?",
            ],
        );
        assert_success(&out);
        let events: Vec<Value> = json_lines(&out.stdout)
            .into_iter()
            .map(without_nulls)
            .collect();
        let mut expected: Vec<Value> = FRAGMENTS
            .iter()
            .map(|&(index, id, name, args)| {
                let mut e = json!({"type": "tool_call", "index": index, "arguments": args});
                if !id.is_empty() {
                    e["id"] = json!(id);
                    e["name"] = json!(name);
                }
                e
            })
            .collect();
        expected.push(json!({"type":"finish","reason":"tool_calls"}));
        expected
            .push(json!({"type":"usage","input_tokens":210,"output_tokens":40,"total_tokens":250}));
        expected.push(json!({"type":"tool_calls","calls": assembled()}));
        assert_eq!(events, expected, "{proto:?} chunk={chunk}");
    }
}

#[test]
fn parallel_tool_calls_are_assembled_compatible() {
    check_parallel_tool_calls(Proto::Compatible, compatible_tool_stream());
}

#[test]
fn parallel_tool_calls_are_assembled_native() {
    check_parallel_tool_calls(Proto::DashScope, native_tool_stream());
}

// ---------------------------------------------------------------------------
// 6. n > 1
// ---------------------------------------------------------------------------

fn two_choice_stream() -> Vec<u8> {
    compatible_sse(&[
        json!({"choices":[{"delta":{"role":"assistant","content":""},"index":0,"finish_reason":null},{"delta":{"role":"assistant","content":""},"index":1,"finish_reason":null}]}),
        json!({"choices":[{"delta":{"content":"Red"},"index":0,"finish_reason":null}]}),
        json!({"choices":[{"delta":{"content":"Blue"},"index":1,"finish_reason":null}]}),
        json!({"choices":[{"delta":{"content":" sea"},"index":1,"finish_reason":null}]}),
        json!({"choices":[{"delta":{"content":" sky"},"index":0,"finish_reason":null}]}),
        json!({"choices":[{"delta":{},"index":1,"finish_reason":"stop"}]}),
        json!({"choices":[{"delta":{},"index":0,"finish_reason":"stop"}]}),
        json!({"choices":[],"usage":{"prompt_tokens":8,"completion_tokens":4,"total_tokens":12}}),
    ])
}

#[test]
fn two_choices_text_prints_choice_0_and_json_tags_choice_1() {
    for chunk in CHUNKINGS {
        let (out, req) = serve(
            two_choice_stream(),
            chunk,
            Proto::Compatible,
            &["-o", "n=2", "A colour and a noun"],
        );
        assert_success(&out);
        assert_eq!(req.json()["n"], json!(2));
        assert_eq!(out.stdout, "Red sky", "chunk={chunk}");
        let notes: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains("choice 0"))
            .collect();
        assert_eq!(notes.len(), 1, "stderr says choice 0: {:?}", out.stderr);
        assert!(out
            .stderr
            .ends_with("usage: input 8, output 4, total 12 tokens\n"));

        let (out, _) = serve(
            two_choice_stream(),
            chunk,
            Proto::Compatible,
            &["--json", "-o", "n=2", "A colour and a noun"],
        );
        assert_success(&out);
        assert_eq!(out.stderr, "", "JSON mode has every choice: no notice");
        assert_eq!(
            json_lines(&out.stdout),
            vec![
                json!({"type":"content","text":"Red"}),
                json!({"type":"content","choice":1,"text":"Blue"}),
                json!({"type":"content","choice":1,"text":" sea"}),
                json!({"type":"content","text":" sky"}),
                json!({"type":"finish","choice":1,"reason":"stop"}),
                json!({"type":"finish","reason":"stop"}),
                json!({"type":"usage","input_tokens":8,"output_tokens":4,"total_tokens":12}),
            ]
        );
    }
}

/// Both choices call a tool: text mode, which prints choice 0 only, must print only choice 0's
/// call; `--json` has both, the second tagged `"choice":1`.
///
/// Ignored: src/sink.rs `TextSink::event` collects `Event::ToolCall { .. }` of every choice,
/// so text mode also prints `{"choice":1,…}` lines (reported with issue 4's tests).
#[test]
fn two_choices_text_mode_prints_only_choice_0_tool_calls() {
    let body = compatible_sse(&[
        json!({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},"index":0,"finish_reason":null}]}),
        json!({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_z","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"index":1,"finish_reason":null}]}),
        json!({"choices":[{"delta":{},"index":0,"finish_reason":"tool_calls"}]}),
        json!({"choices":[{"delta":{},"index":1,"finish_reason":"tool_calls"}]}),
    ]);
    let (out, _) = serve(
        body.clone(),
        0,
        Proto::Compatible,
        &["-o", "n=2", "Weather?"],
    );
    assert_success(&out);
    assert_eq!(
        out.stdout,
        "{\"index\":0,\"id\":\"call_a\",\"name\":\"get_weather\",\"arguments\":\"{}\"}\n"
    );
    let (out, _) = serve(
        body,
        0,
        Proto::Compatible,
        &["--json", "-o", "n=2", "Weather?"],
    );
    assert_success(&out);
    let events = json_lines(&out.stdout);
    assert_eq!(
        events.last(),
        Some(&json!({"type":"tool_calls","calls":[
            {"index":0,"id":"call_a","name":"get_weather","arguments":"{}"},
            {"choice":1,"index":0,"id":"call_z","name":"get_time","arguments":"{}"},
        ]}))
    );
}
