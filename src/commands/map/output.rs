//! Where the item lines go: stdout, or `--output FILE`, which a rerun resumes.
//!
//! A line is written whole with one `write` on a file opened for appending, so an interrupted
//! run leaves at most a last line without its line end. On resume only the whole lines of items
//! that succeeded are kept (rewritten to a temporary file, synced, then renamed over FILE): the
//! failed ones are sent again, and each id ends up in FILE once.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};

/// The ids already done in `path` (whole lines with `"status":"ok"`), after rewriting it to
/// hold those lines only. A missing file is an empty one.
pub fn resume(path: &Path) -> Result<HashSet<String>> {
    let mut done = HashSet::new();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(done),
        Err(e) => {
            return Err(Error::usage(format!(
                "cannot read --output {}: {e}",
                path.display()
            )))
        }
    };
    let tmp = temp_beside(path);
    let cannot = |e: std::io::Error| {
        Error::internal(format!("cannot rewrite --output {}: {e}", path.display()))
    };
    let mut kept = std::io::BufWriter::new(File::create(&tmp).map_err(cannot)?);
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    let mut changed = false;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::usage(format!("cannot read --output {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        let whole = line.last() == Some(&b'\n');
        let id = whole
            .then(|| serde_json::from_slice::<Value>(&line).ok())
            .flatten()
            .filter(|v| v.get("status").and_then(Value::as_str) == Some("ok"))
            .and_then(|v| match v.get("id") {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            });
        match id.map(|id| done.insert(id)) {
            Some(true) => kept.write_all(&line).map_err(cannot)?,
            _ => changed = true,
        }
    }
    if changed {
        let file = kept.into_inner().map_err(|e| cannot(e.into_error()))?;
        file.sync_all().map_err(cannot)?;
        std::fs::rename(&tmp, path).map_err(cannot)?;
    } else {
        drop(kept);
        let _ = std::fs::remove_file(&tmp);
    }
    Ok(done)
}

fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.qstream-{}.tmp", std::process::id()))
}

/// The destination of the lines.
pub enum Out {
    Stdout {
        out: std::io::Stdout,
        terminal: bool,
    },
    File {
        file: File,
        path: PathBuf,
    },
}

impl Out {
    pub fn stdout(terminal: bool) -> Out {
        Out::Stdout {
            out: std::io::stdout(),
            terminal,
        }
    }

    pub fn file(path: &Path) -> Result<Out> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::usage(format!("cannot write --output {}: {e}", path.display())))?;
        Ok(Out::File {
            file,
            path: path.to_owned(),
        })
    }

    /// Write one line (ending in `\n`) whole.
    pub fn line(&mut self, line: &mut Vec<u8>) -> Result<()> {
        match self {
            Out::Stdout { out, terminal } => {
                if *terminal {
                    crate::sink::sanitize_buffer(line);
                }
                let mut out = out.lock();
                out.write_all(line)
                    .and_then(|_| out.flush())
                    .map_err(Error::output)
            }
            Out::File { file, path } => file.write_all(line).map_err(|e| {
                Error::internal(format!("cannot write --output {}: {e}", path.display()))
            }),
        }
    }

    /// Flush, and sync a file to disk.
    pub fn finish(&mut self) -> Result<()> {
        match self {
            Out::Stdout { out, .. } => out.flush().map_err(Error::output),
            Out::File { file, path } => file.sync_all().map_err(|e| {
                Error::internal(format!("cannot sync --output {}: {e}", path.display()))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_keeps_whole_ok_lines_once() {
        let dir = std::env::temp_dir().join(format!("qstream-resume-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.jsonl");
        std::fs::write(
            &path,
            "{\"id\":\"a\",\"status\":\"ok\"}\n{\"id\":\"b\",\"status\":\"error\"}\n{\"id\":\"a\",\"status\":\"ok\"}\n{\"id\":\"c\",\"status\":\"ok\"}\n{\"id\":\"d\",\"sta",
        )
        .unwrap();
        let done = resume(&path).unwrap();
        assert_eq!(done, HashSet::from(["a".to_owned(), "c".to_owned()]));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"id\":\"a\",\"status\":\"ok\"}\n{\"id\":\"c\",\"status\":\"ok\"}\n"
        );
        assert!(resume(&dir.join("missing")).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
