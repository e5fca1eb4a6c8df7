//! Media input (`--image`, `--audio`, `--video`): URLs pass through; local files become
//! base64 data URLs with their MIME type, checked against the service's inline-size limit
//! before any request is made.

use std::path::Path;

use serde_json::{json, Value};

use crate::error::{Error, Result};

pub use crate::cli::MediaKind as Kind;

impl Kind {
    pub fn flag(self) -> &'static str {
        match self {
            Kind::Image => "--image",
            Kind::Audio => "--audio",
            Kind::Video => "--video",
        }
    }
}

/// One attachment, ready for the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub kind: Kind,
    /// A URL as given, or a `data:` URL.
    pub url: String,
    /// The audio format name (`mp3`, `wav`, …) for the compatible `input_audio` part.
    pub format: Option<String>,
}

/// The largest base64 payload the service takes inline: its documentation puts local files
/// passed as Base64 at under 10 MB; bigger ones must be passed by URL.
pub const MAX_INLINE_BASE64: usize = 10 * 1024 * 1024;

fn is_url(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    ["http://", "https://", "oss://", "data:", "file://"]
        .iter()
        .any(|p| lower.starts_with(p))
}

/// The MIME type of a file: from its first bytes, else from its name (for tests).
#[doc(hidden)]
pub fn mime_type(bytes: &[u8], path: &Path) -> Option<&'static str> {
    sniff(bytes).or_else(|| mime_from_name(path))
}

/// The MIME type the first bytes show, if they match a known signature.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    let at = |i: usize, sig: &[u8]| bytes.get(i..i + sig.len()) == Some(sig);
    if at(0, b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if at(0, b"\xFF\xD8\xFF") {
        Some("image/jpeg")
    } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
        Some("image/gif")
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        Some("image/webp")
    } else if at(0, b"BM") && bytes.len() > 14 {
        Some("image/bmp")
    } else if at(0, b"II*\0") || at(0, b"MM\0*") {
        Some("image/tiff")
    } else if at(0, b"RIFF") && at(8, b"WAVE") {
        Some("audio/wav")
    } else if at(0, b"RIFF") && at(8, b"AVI ") {
        Some("video/x-msvideo")
    } else if at(0, b"ID3") || (bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xE6 == 0xE2) {
        Some("audio/mpeg")
    } else if bytes.len() > 1 && bytes[0] == 0xFF && bytes[1] & 0xF6 == 0xF0 {
        // An ADTS frame header: AAC.
        Some("audio/aac")
    } else if at(0, b"fLaC") {
        Some("audio/flac")
    } else if at(0, b"OggS") {
        Some("audio/ogg")
    } else if at(0, b"#!AMR") {
        Some("audio/amr")
    } else if at(0, b"FLV\x01") {
        Some("video/x-flv")
    } else if at(0, b"\x30\x26\xB2\x75\x8E\x66\xCF\x11") {
        Some("video/x-ms-asf")
    } else if at(0, b"\x1A\x45\xDF\xA3") {
        Some("video/webm")
    } else if at(4, b"ftyp") {
        match bytes.get(8..12) {
            Some(b"M4A ") => Some("audio/mp4"),
            Some(b"qt  ") => Some("video/quicktime"),
            Some(b"heic" | b"heix" | b"mif1") => Some("image/heic"),
            Some(b"avif" | b"avis") => Some("image/avif"),
            _ => Some("video/mp4"),
        }
    } else {
        None
    }
}

/// The MIME type a file's extension suggests.
fn mime_from_name(path: &Path) -> Option<&'static str> {
    {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            "gif" => "image/gif",
            "webp" => "image/webp",
            "bmp" => "image/bmp",
            "tif" | "tiff" => "image/tiff",
            "heic" => "image/heic",
            "wav" => "audio/wav",
            "mp3" => "audio/mpeg",
            "m4a" => "audio/mp4",
            "aac" => "audio/aac",
            "flac" => "audio/flac",
            "ogg" | "opus" => "audio/ogg",
            "amr" => "audio/amr",
            "mp4" => "video/mp4",
            "mov" => "video/quicktime",
            "avi" => "video/x-msvideo",
            "webm" => "video/webm",
            "mkv" => "video/x-matroska",
            _ => return None,
        })
    }
}

/// What a file that matched no media signature looks like, for the message refusing it.
fn describe_unknown(bytes: &[u8]) -> &'static str {
    let head = bytes.get(..4096).unwrap_or(bytes);
    let text = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A multi-byte character cut at the end of the sample is still text.
        Err(e) => e.error_len().is_none(),
    };
    if bytes.is_empty() {
        "empty"
    } else if head.starts_with(b"%PDF-") {
        "application/pdf"
    } else if text && !head.contains(&0) {
        "text/plain"
    } else {
        "unrecognised data"
    }
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Image => "an image",
        Kind::Audio => "audio",
        Kind::Video => "a video",
    }
}

/// The format name the compatible `input_audio` part wants.
fn audio_format(mime: &str) -> &str {
    match mime {
        "audio/mpeg" => "mp3",
        "audio/mp4" => "m4a",
        other => other.rsplit('/').next().unwrap_or(other),
    }
}

/// The format of an audio URL, from its path's extension.
fn url_audio_format(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next()?;
    let name = path.rsplit('/').next()?;
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    (!ext.is_empty() && ext.len() <= 5).then_some(ext)
}

/// Read one `--image`/`--audio`/`--video` argument.
pub fn load(kind: Kind, arg: &str) -> Result<Media> {
    if let Some(mime) = arg
        .strip_prefix("data:")
        .and_then(|rest| rest.split([';', ',']).next())
    {
        return Ok(Media {
            kind,
            url: arg.to_owned(),
            format: (kind == Kind::Audio).then(|| audio_format(mime).to_owned()),
        });
    }
    if is_url(arg) {
        return Ok(Media {
            kind,
            url: arg.to_owned(),
            format: (kind == Kind::Audio)
                .then(|| url_audio_format(arg))
                .flatten(),
        });
    }
    let path = Path::new(arg);
    let flag = kind.flag();
    let meta = std::fs::metadata(path).map_err(|e| Error::usage(format!("{flag} {arg}: {e}")))?;
    if !meta.is_file() {
        return Err(Error::usage(format!("{flag} {arg}: not a file")));
    }
    let encoded = (meta.len() as usize).div_ceil(3) * 4;
    if encoded > MAX_INLINE_BASE64 {
        return Err(Error::usage(format!(
            "{flag} {arg}: {:.1} MB is {:.1} MB as base64, over the service's 10 MB limit for inline files; pass a URL instead",
            meta.len() as f64 / 1e6,
            encoded as f64 / 1e6
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::usage(format!("{flag} {arg}: {e}")))?;
    // The content decides, not the name: a file is sent only as what its bytes show it is.
    let prefix = match kind {
        Kind::Image => "image/",
        Kind::Audio => "audio/",
        Kind::Video => "video/",
    };
    let mime = match sniff(&bytes) {
        Some(mime) if mime.starts_with(prefix) => mime,
        // An ISO-BMFF brand not listed: the flag tells audio from video.
        Some("video/mp4") if kind == Kind::Audio => "audio/mp4",
        // Matroska and WebM share a signature; WebM may hold audio only.
        Some("video/webm") if kind == Kind::Audio => "audio/webm",
        Some(other) => {
            return Err(Error::usage(format!(
                "{flag} {arg}: the file is {other}, not {}",
                kind_word(kind)
            )))
        }
        // Binary in a format not listed above: its name may say what it is.
        None => match (describe_unknown(&bytes), mime_from_name(path)) {
            ("unrecognised data", Some(by_name)) if by_name.starts_with(prefix) => by_name,
            (what, _) => {
                return Err(Error::usage(format!(
                    "{flag} {arg}: the file is {what}, not {}",
                    kind_word(kind)
                )))
            }
        },
    };
    Ok(Media {
        kind,
        url: format!("data:{mime};base64,{}", base64_encode(&bytes)),
        format: (kind == Kind::Audio).then(|| audio_format(mime).to_owned()),
    })
}

/// The user message's content parts, media first in the order given, then the text.
pub fn compatible_content(media: &[Media], text: Option<&str>) -> Value {
    let mut parts: Vec<Value> = media
        .iter()
        .map(|m| match m.kind {
            Kind::Image => json!({"type": "image_url", "image_url": {"url": m.url}}),
            Kind::Audio => {
                let mut audio = json!({"data": m.url});
                if let Some(f) = &m.format {
                    audio["format"] = Value::String(f.clone());
                }
                json!({"type": "input_audio", "input_audio": audio})
            }
            Kind::Video => json!({"type": "video_url", "video_url": {"url": m.url}}),
        })
        .collect();
    if let Some(text) = text {
        parts.push(json!({"type": "text", "text": text}));
    }
    Value::Array(parts)
}

/// The same for the native multimodal endpoint: `[{"image": …}, {"audio": …}, {"text": …}]`.
pub fn dashscope_content(media: &[Media], text: Option<&str>) -> Value {
    let mut parts: Vec<Value> = media
        .iter()
        .map(|m| match m.kind {
            Kind::Image => json!({"image": m.url}),
            Kind::Audio => json!({"audio": m.url}),
            Kind::Video => json!({"video": m.url}),
        })
        .collect();
    if let Some(text) = text {
        parts.push(json!({"text": text}));
    }
    Value::Array(parts)
}

/// Standard base64 with padding (the base64 crate, already in the tree through ureq).
pub fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Incremental base64 decoding: pieces need not align to 4-character groups, and a piece
/// padded on its own (`…==` mid-stream) is taken as it is.
#[derive(Debug, Default)]
pub struct Base64Decoder {
    group: [u8; 4],
    len: usize,
}

/// Not base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidBase64(pub u8);

impl Base64Decoder {
    fn value(c: u8) -> Option<u8> {
        match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        }
    }

    /// Decode `input`, appending the bytes of every complete group to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), InvalidBase64> {
        for &c in input {
            if c.is_ascii_whitespace() {
                continue;
            }
            self.group[self.len] = c;
            self.len += 1;
            if self.len == 4 {
                self.len = 0;
                self.group_out(out)?;
            }
        }
        Ok(())
    }

    fn group_out(&mut self, out: &mut Vec<u8>) -> Result<(), InvalidBase64> {
        let g = self.group;
        let pad = g.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 {
            return Err(InvalidBase64(b'='));
        }
        let mut n = 0u32;
        for &c in &g[..4 - pad] {
            n = (n << 6) | u32::from(Self::value(c).ok_or(InvalidBase64(c))?);
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
        Ok(())
    }

    /// The stream ended: decode an unpadded final group of 2 or 3 characters.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), InvalidBase64> {
        match self.len {
            0 => Ok(()),
            1 => Err(InvalidBase64(self.group[0])),
            n => {
                for i in n..4 {
                    self.group[i] = b'=';
                }
                self.len = 0;
                self.group_out(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_in_any_pieces() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for n in [0, 1, 2, 3, 4, 5, 100, 1000] {
            let enc = base64_encode(&data[..n]);
            for piece in [1, 3, 5, 7, 64] {
                let mut d = Base64Decoder::default();
                let mut out = Vec::new();
                for p in enc.as_bytes().chunks(piece) {
                    d.feed(p, &mut out).expect("valid");
                }
                d.finish(&mut out).expect("valid");
                assert_eq!(out, &data[..n], "n={n} piece={piece}");
            }
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
    }

    #[test]
    fn separately_padded_pieces_and_errors() {
        let mut d = Base64Decoder::default();
        let mut out = Vec::new();
        d.feed(b"Zm8=", &mut out).expect("ok");
        d.feed(b"YmFy", &mut out).expect("ok");
        assert_eq!(out, b"fobar");
        assert!(d.feed(b"ab!d", &mut out).is_err());
    }

    #[test]
    fn mime_from_magic_then_extension() {
        let p = Path::new("x.bin");
        assert_eq!(mime_type(b"\x89PNG\r\n\x1a\n....", p), Some("image/png"));
        assert_eq!(mime_type(b"\xFF\xD8\xFF\xE0", p), Some("image/jpeg"));
        assert_eq!(mime_type(b"RIFF\0\0\0\0WAVEfmt ", p), Some("audio/wav"));
        assert_eq!(mime_type(b"ID3\x04", p), Some("audio/mpeg"));
        assert_eq!(mime_type(b"\0\0\0\x18ftypisom", p), Some("video/mp4"));
        assert_eq!(mime_type(b"????", Path::new("a.JPG")), Some("image/jpeg"));
        assert_eq!(mime_type(b"????", p), None);
        assert_eq!(sniff(b"\xFF\xF1\x50\x80"), Some("audio/aac"));
        assert_eq!(sniff(b"\0\0\0\x1cftypavif"), Some("image/avif"));
        assert_eq!(describe_unknown(b"remember the milk"), "text/plain");
        assert_eq!(describe_unknown(b"caf\xc3"), "text/plain");
        assert_eq!(describe_unknown(b"\0\x01\x02"), "unrecognised data");
    }

    #[test]
    fn urls_pass_through_and_audio_format_comes_from_the_name() {
        let m = load(Kind::Audio, "https://x/y/welcome.mp3?sig=1").expect("url");
        assert_eq!(m.url, "https://x/y/welcome.mp3?sig=1");
        assert_eq!(m.format.as_deref(), Some("mp3"));
        let m = load(Kind::Image, "data:image/png;base64,AAAA").expect("data url");
        assert_eq!(m.format, None);
        let e = load(Kind::Video, "/nonexistent/clip.mp4").expect_err("missing");
        assert_eq!(e.exit, crate::error::Exit::Usage);
        assert!(e.message.starts_with("--video /nonexistent/clip.mp4"));
    }
}
