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

/// The MIME type of a file: from its first bytes, else from its name.
pub fn mime_type(bytes: &[u8], path: &Path) -> Option<&'static str> {
    let at = |i: usize, sig: &[u8]| bytes.get(i..i + sig.len()) == Some(sig);
    let sniffed = if at(0, b"\x89PNG\r\n\x1a\n") {
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
    } else if at(0, b"fLaC") {
        Some("audio/flac")
    } else if at(0, b"OggS") {
        Some("audio/ogg")
    } else if at(0, b"#!AMR") {
        Some("audio/amr")
    } else if at(0, b"\x1A\x45\xDF\xA3") {
        Some("video/webm")
    } else if at(4, b"ftyp") {
        match bytes.get(8..12) {
            Some(b"M4A ") => Some("audio/mp4"),
            Some(b"qt  ") => Some("video/quicktime"),
            Some(b"heic" | b"heix" | b"mif1") => Some("image/heic"),
            _ => Some("video/mp4"),
        }
    } else {
        None
    };
    sniffed.or_else(|| {
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
    })
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
    let mime = mime_type(&bytes, path).unwrap_or(match kind {
        Kind::Image => "image/png",
        Kind::Audio => "audio/wav",
        Kind::Video => "video/mp4",
    });
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
