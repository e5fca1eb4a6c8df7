//! `--audio-out`: Qwen-Omni's speech (base64 of 16-bit little-endian mono PCM at 24 kHz),
//! decoded as it arrives into a WAV file whose header is rewritten after every write, so the
//! file is valid whenever the stream stops: at its end, on an error, or on Ctrl-C.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::media::Base64Decoder;

pub const SAMPLE_RATE: u32 = 24_000;
pub const CHANNELS: u16 = 1;
pub const BITS: u16 = 16;

/// The 44-byte header of a PCM WAV file holding `data_len` bytes.
pub fn header(data_len: u32) -> [u8; 44] {
    let mut h = [0u8; 44];
    let byte_rate = SAMPLE_RATE * u32::from(CHANNELS) * u32::from(BITS / 8);
    let block_align = CHANNELS * (BITS / 8);
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(36 + data_len + (data_len & 1)).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&CHANNELS.to_le_bytes());
    h[24..28].copy_from_slice(&SAMPLE_RATE.to_le_bytes());
    h[28..32].copy_from_slice(&byte_rate.to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&BITS.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_len.to_le_bytes());
    h
}

pub struct WavWriter {
    file: File,
    path: PathBuf,
    decoder: Base64Decoder,
    pcm: Vec<u8>,
    /// The first byte of a sample whose second byte has not arrived yet.
    half_sample: Option<u8>,
    data_len: u32,
}

impl WavWriter {
    pub fn create(path: &Path) -> Result<Self> {
        let mut file = File::create(path)
            .map_err(|e| Error::usage(format!("cannot create {}: {e}", path.display())))?;
        file.write_all(&header(0))
            .map_err(|e| Error::internal(format!("cannot write {}: {e}", path.display())))?;
        Ok(WavWriter {
            file,
            path: path.to_owned(),
            decoder: Base64Decoder::default(),
            pcm: Vec::new(),
            half_sample: None,
            data_len: 0,
        })
    }

    fn io(&self, e: std::io::Error) -> Error {
        Error::internal(format!("cannot write {}: {e}", self.path.display()))
    }

    /// Decode a base64 piece and append its PCM; returns how many PCM bytes it held.
    pub fn push(&mut self, base64: &str) -> Result<usize> {
        self.pcm.clear();
        self.decoder
            .feed(base64.as_bytes(), &mut self.pcm)
            .map_err(|e| {
                Error::network(format!(
                    "malformed stream: audio data is not base64 (byte {:#04x})",
                    e.0
                ))
            })?;
        self.append()
    }

    /// Append the decoded bytes in `pcm`, whole 16-bit samples only: an odd byte waits for
    /// its partner. Returns the bytes decoded.
    fn append(&mut self) -> Result<usize> {
        let n = self.pcm.len();
        if n == 0 {
            return Ok(0);
        }
        if let Some(b) = self.half_sample.take() {
            self.pcm.insert(0, b);
        }
        if self.pcm.len() % 2 == 1 {
            self.half_sample = self.pcm.pop();
        }
        if self.pcm.is_empty() {
            return Ok(n);
        }
        let data_len = u32::try_from(self.data_len as usize + self.pcm.len())
            .map_err(|_| Error::internal("audio output over 4 GiB"))?;
        let r = self
            .file
            .write_all(&self.pcm)
            .and_then(|_| self.patch_header(data_len));
        r.map_err(|e| self.io(e))?;
        self.data_len = data_len;
        Ok(n)
    }

    fn patch_header(&mut self, data_len: u32) -> std::io::Result<()> {
        let h = header(data_len);
        self.file.seek(SeekFrom::Start(4))?;
        self.file.write_all(&h[4..8])?;
        self.file.seek(SeekFrom::Start(40))?;
        self.file.write_all(&h[40..44])?;
        self.file.seek(SeekFrom::End(0))?;
        Ok(())
    }

    /// The stream is over: decode a trailing unpadded group; half a sample is dropped.
    /// Returns the PCM bytes written in all.
    pub fn finish(&mut self) -> Result<u32> {
        self.pcm.clear();
        let _ = self.decoder.finish(&mut self.pcm);
        self.append()?;
        self.half_sample = None;
        self.file.flush().map_err(|e| self.io(e))?;
        Ok(self.data_len)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::base64_encode;

    #[test]
    fn header_fields() {
        let h = header(48_000);
        assert_eq!(&h[0..4], b"RIFF");
        assert_eq!(u32::from_le_bytes([h[4], h[5], h[6], h[7]]), 36 + 48_000);
        assert_eq!(&h[8..16], b"WAVEfmt ");
        assert_eq!(u16::from_le_bytes([h[22], h[23]]), 1);
        assert_eq!(u32::from_le_bytes([h[24], h[25], h[26], h[27]]), 24_000);
        assert_eq!(u32::from_le_bytes([h[28], h[29], h[30], h[31]]), 48_000);
        assert_eq!(u16::from_le_bytes([h[34], h[35]]), 16);
        assert_eq!(u32::from_le_bytes([h[40], h[41], h[42], h[43]]), 48_000);
    }

    #[test]
    fn pieces_split_across_groups_make_a_valid_file_at_every_step() {
        let dir = std::env::temp_dir().join(format!("qstream-wav-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("a.wav");
        let pcm: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let b64 = base64_encode(&pcm);
        let mut w = WavWriter::create(&path).expect("create");
        let mut total = 0;
        for piece in b64.as_bytes().chunks(7) {
            total += w
                .push(std::str::from_utf8(piece).expect("ascii"))
                .expect("push");
            let file = std::fs::read(&path).expect("read");
            let len = u32::from_le_bytes([file[40], file[41], file[42], file[43]]) as usize;
            assert_eq!(
                len,
                file.len() - 44,
                "header matches the data after every push"
            );
        }
        assert_eq!(total, 1000);
        assert_eq!(w.finish().expect("finish"), 1000);
        let file = std::fs::read(&path).expect("read");
        assert_eq!(&file[44..], &pcm[..]);
        let _ = std::fs::remove_dir_all(dir);
    }
}
