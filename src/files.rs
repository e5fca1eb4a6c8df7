//! No output file may be an input or another output: `--replay a.sse --record a.sse` would
//! empty the recording before reading it, `--messages h.json --record h.json` overwrite the
//! history, `--record x --audio-out x` interleave two formats. Checked before anything is
//! opened for writing; a file is the same when its path is (after making it absolute) or when
//! its device and inode are (a hard link, a symlink, `./x`).
//!
//! Only regular files and paths that do not exist yet take part: `/dev/null` or a terminal as
//! two outputs harm nothing.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One file named on the command line (or by the environment), and what it is for.
pub struct Named<'a> {
    pub what: &'a str,
    pub path: &'a Path,
}

#[derive(PartialEq, Eq)]
enum Identity {
    /// A regular file: its device and inode (elsewhere the canonical path stands in).
    #[cfg(unix)]
    File(u64, u64),
    /// Not there yet: its absolute path.
    New(PathBuf),
}

fn identity(path: &Path) -> Option<Identity> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => file_id(&meta, path),
        Ok(_) => None,
        Err(_) => Some(Identity::New(
            std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        )),
    }
}

#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata, _path: &Path) -> Option<Identity> {
    use std::os::unix::fs::MetadataExt;
    Some(Identity::File(meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_meta: &std::fs::Metadata, path: &Path) -> Option<Identity> {
    std::fs::canonicalize(path).ok().map(Identity::New)
}

/// stdout, when it is a regular file (`> out`): an output like the others.
fn stdout_identity() -> Option<Identity> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let fd = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
        let meta = std::fs::File::from(fd).metadata().ok()?;
        meta.is_file()
            .then(|| file_id(&meta, Path::new("")))
            .flatten()
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Refuse (exit 2) when an output (stdout included, when it is a file) is the same file as an
/// input or as another output.
pub fn check_distinct(inputs: &[Named<'_>], outputs: &[Named<'_>]) -> Result<()> {
    let ids = |list: &[Named<'_>]| -> Vec<Option<Identity>> {
        list.iter().map(|n| identity(n.path)).collect()
    };
    let (in_ids, out_ids) = (ids(inputs), ids(outputs));
    if let Some(id) = stdout_identity() {
        let clash = inputs
            .iter()
            .zip(&in_ids)
            .chain(outputs.iter().zip(&out_ids))
            .find(|(_, other)| other.as_ref() == Some(&id));
        if let Some((other, _)) = clash {
            return Err(Error::usage(format!(
                "stdout and {} {} are the same file: it would be overwritten",
                other.what,
                other.path.display()
            )));
        }
    }
    for (i, out) in outputs.iter().enumerate() {
        let Some(id) = &out_ids[i] else { continue };
        let clash = inputs
            .iter()
            .zip(&in_ids)
            .chain(outputs[..i].iter().zip(&out_ids[..i]))
            .find(|(_, other)| other.as_ref() == Some(id));
        if let Some((other, _)) = clash {
            return Err(Error::usage(format!(
                "{} {} and {} {} are the same file: it would be overwritten",
                out.what,
                out.path.display(),
                other.what,
                other.path.display()
            )));
        }
    }
    Ok(())
}
