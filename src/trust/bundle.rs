//! The trust bundle file, read once and indexed by each certificate's subject, so that a
//! connection decodes and parses only the certificates that can issue its server's chain.
//!
//! A chain is accepted by the bundle's roots only through a root whose subject is the issuer
//! of a certificate in the chain (webpki matches them byte for byte), so the roots picked here
//! accept exactly the chains the whole bundle accepts. Whatever is missed (a block whose start
//! does not read as a certificate is always picked) costs only time: the platform verifier,
//! with every certificate, still has the last word.

use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;

use base64::Engine;
use rustls::pki_types::CertificateDer;

const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
const END: &[u8] = b"-----END CERTIFICATE-----";

/// How much of a block is decoded to find its subject: 512 characters are 384 bytes, past the
/// subject of nearly every root (a longer one is decoded whole).
const SUBJECT_PREFIX: usize = 512;

/// The file is read in pieces of this size, none of them kept: reading the whole file into
/// new memory cost more in page faults than the read (0.3-0.7 ms for 220 KB, against 0.1 ms).
const READ_SIZE: usize = 64 * 1024;

pub struct Bundle {
    /// The file, kept open: a block is read again when a chain needs it.
    file: File,
    blocks: Vec<Block>,
    /// The blocks' subjects, one after another.
    subjects: Vec<u8>,
}

struct Block {
    /// Where the base64 between the markers is in the file.
    body: Range<u64>,
    /// The subject's contents, in `subjects`; `None` when the block's start does not read as
    /// a certificate (it is then always a candidate).
    subject: Option<Range<usize>>,
}

impl Bundle {
    /// Reads and indexes the certificate blocks of a PEM file.
    pub fn open(path: &Path) -> std::io::Result<Bundle> {
        Bundle::read(File::open(path)?, READ_SIZE, SUBJECT_PREFIX)
    }

    fn read(mut file: File, read_size: usize, prefix: usize) -> std::io::Result<Bundle> {
        let (begins, ends) = (
            memchr::memmem::Finder::new(BEGIN),
            memchr::memmem::Finder::new(END),
        );
        let mut blocks = Vec::new();
        let mut subjects = Vec::new();
        let (mut b64, mut der) = (Vec::with_capacity(4096), Vec::with_capacity(4096));
        // The text read and not yet indexed, which starts at `base` in the file; an END is
        // looked for from `searched` on (the text before it has none).
        let mut work: Vec<u8> = Vec::with_capacity(read_size);
        let (mut base, mut searched) = (0u64, 0usize);
        loop {
            let old = work.len();
            work.resize(old + read_size.max(1), 0);
            let n = loop {
                match file.read(&mut work[old..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            work.truncate(old + n);
            let at_end = n == 0;
            let mut at = 0;
            let keep = loop {
                let Some(begin) = begins.find(&work[at..]).map(|b| at + b) else {
                    // A marker may be cut by the end of what was read.
                    break work.len().saturating_sub(BEGIN.len() - 1).max(at);
                };
                let start = begin + BEGIN.len();
                let from = searched.saturating_sub(END.len() - 1).max(start);
                let Some(end) = ends.find(&work[from..]).map(|e| from + e) else {
                    searched = work.len();
                    break begin;
                };
                searched = 0;
                let body = &work[start..end];
                let subject = subject_of(body, prefix, &mut b64, &mut der).map(|s| {
                    let at = subjects.len();
                    subjects.extend_from_slice(&der[s]);
                    at..subjects.len()
                });
                blocks.push(Block {
                    body: base + start as u64..base + end as u64,
                    subject,
                });
                at = end + END.len();
            };
            if at_end {
                break;
            }
            work.drain(..keep);
            base += keep as u64;
            searched = searched.saturating_sub(keep);
        }
        Ok(Bundle {
            file,
            blocks,
            subjects,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// A block's certificate, read again from the file and decoded; `None` when it does not
    /// decode (or the file changed under it: what is there now is what the platform reads).
    fn certificate(&self, block: &Block, b64: &mut Vec<u8>) -> Option<CertificateDer<'static>> {
        let len = usize::try_from(block.body.end - block.body.start).ok()?;
        let mut body = vec![0; len];
        self.file.read_exact_at(&mut body, block.body.start).ok()?;
        base64_text(&body, usize::MAX, b64);
        let der = base64::engine::general_purpose::STANDARD
            .decode(&b64[..])
            .ok()?;
        Some(CertificateDer::from(der))
    }

    /// The certificates of the bundle that may have issued one of `chain` (a server's
    /// certificate and the intermediates it sent), decoded.
    pub fn issuers_of(&self, chain: &[&[u8]]) -> Vec<CertificateDer<'static>> {
        let issuers: Vec<&[u8]> = chain
            .iter()
            .filter_map(|der| names(der).map(|(issuer, _)| issuer))
            .collect();
        let mut b64 = Vec::new();
        self.blocks
            .iter()
            .filter(|block| match &block.subject {
                Some(s) => issuers.contains(&&self.subjects[s.clone()]),
                None => true,
            })
            .filter_map(|block| self.certificate(block, &mut b64))
            .collect()
    }

    /// Every certificate of the bundle, decoded (what the platform's loader reads of it).
    #[cfg(test)]
    pub fn all(&self) -> Vec<CertificateDer<'static>> {
        let mut b64 = Vec::new();
        self.blocks
            .iter()
            .filter_map(|block| self.certificate(block, &mut b64))
            .collect()
    }

    /// The bundle of a PEM text (written to a file that is then removed), read in pieces of
    /// `read_size` with `prefix` characters decoded for a subject.
    #[cfg(test)]
    pub fn of_text_with(pem: &[u8], read_size: usize, prefix: usize) -> Bundle {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "qstream-bundle-{}-{}.pem",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, pem).expect("write");
        let file = File::open(&path).expect("open");
        let _ = std::fs::remove_file(&path);
        Bundle::read(file, read_size, prefix).expect("read")
    }

    #[cfg(test)]
    pub fn of_text(pem: &[u8]) -> Bundle {
        Bundle::of_text_with(pem, READ_SIZE, SUBJECT_PREFIX)
    }
}

/// The base64 of a block into `out`, without whitespace, stopping once it holds `limit`
/// characters: copied a line at a time (PEM lines are 64 characters), whitespace anywhere
/// dropped. True when `out` holds the whole block.
fn base64_text(body: &[u8], limit: usize, out: &mut Vec<u8>) -> bool {
    out.clear();
    let mut start = 0;
    let mut whole = true;
    for stop in memchr::memchr_iter(b'\n', body).chain([body.len()]) {
        if out.len() >= limit {
            whole = false;
            break;
        }
        out.extend_from_slice(body.get(start..stop).unwrap_or_default().trim_ascii());
        start = stop + 1;
    }
    if out
        .iter()
        .fold(false, |any, b| any | b.is_ascii_whitespace())
    {
        out.retain(|b| !b.is_ascii_whitespace());
    }
    whole
}

/// Where the subject's contents are in `der`, the certificate of a block decoded there:
/// `prefix` characters of it first, the whole block only when the subject ends further on.
fn subject_of(
    body: &[u8],
    prefix: usize,
    b64: &mut Vec<u8>,
    der: &mut Vec<u8>,
) -> Option<Range<usize>> {
    let prefix = prefix.max(4) / 4 * 4;
    let engine = &base64::engine::general_purpose::STANDARD;
    let subject_in = |der: &[u8]| {
        names(der).map(|(_, subject)| {
            let at = subject.as_ptr() as usize - der.as_ptr() as usize;
            at..at + subject.len()
        })
    };
    if !base64_text(body, prefix, b64) {
        if b64.len() >= prefix {
            b64.truncate(prefix);
            der.resize(prefix / 4 * 3, 0);
            if let Ok(n) = engine.decode_slice(&b64[..], &mut der[..]) {
                der.truncate(n);
                if let Some(subject) = subject_in(der) {
                    return Some(subject);
                }
            }
        }
        base64_text(body, usize::MAX, b64);
    }
    der.clear();
    engine.decode_vec(&b64[..], der).ok()?;
    subject_in(der)
}

/// The tag, header length and contents length of the DER element at the start of `der`.
fn header(der: &[u8]) -> Option<(u8, usize, usize)> {
    let tag = *der.first()?;
    let first = usize::from(*der.get(1)?);
    if first < 0x80 {
        return Some((tag, 2, first));
    }
    let n = first & 0x7f;
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = len << 8 | usize::from(*der.get(2 + i)?);
    }
    Some((tag, 2 + n, len))
}

/// The issuer's and the subject's contents (what webpki compares) in a certificate's DER, or
/// in as much of its start as holds them; `None` when they are not there.
pub fn names(der: &[u8]) -> Option<(&[u8], &[u8])> {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const VERSION: u8 = 0xa0;
    // Enters a SEQUENCE whose end may be past what was decoded.
    fn enter(der: &[u8]) -> Option<&[u8]> {
        let (tag, h, _) = header(der)?;
        if tag != SEQUENCE {
            return None;
        }
        der.get(h..)
    }
    // Takes the next element, which must have the tag `want`, and gives its contents.
    fn take<'a>(rest: &mut &'a [u8], want: u8) -> Option<&'a [u8]> {
        let (tag, h, len) = header(rest)?;
        if tag != want {
            return None;
        }
        let end = h.checked_add(len)?;
        let contents = rest.get(h..end)?;
        *rest = rest.get(end..)?;
        Some(contents)
    }
    let mut rest = enter(enter(der)?)?;
    if rest.first() == Some(&VERSION) {
        take(&mut rest, VERSION)?;
    }
    take(&mut rest, INTEGER)?; // serial number
    take(&mut rest, SEQUENCE)?; // signature algorithm
    let issuer = take(&mut rest, SEQUENCE)?;
    take(&mut rest, SEQUENCE)?; // validity
    let subject = take(&mut rest, SEQUENCE)?;
    Some((issuer, subject))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::RootCertStore;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tls")
            .join(name);
        std::fs::read(path).expect("fixture")
    }

    fn der(name: &str) -> Vec<u8> {
        Bundle::of_text(&fixture(name))
            .all()
            .remove(0)
            .as_ref()
            .to_vec()
    }

    /// The names read here are the ones webpki compares: a root's subject as rustls keeps it,
    /// and the server certificate's issuer is its CA's subject.
    #[test]
    fn names_are_what_webpki_compares() {
        for name in ["ca.pem", "other-ca.pem", "server.pem"] {
            let cert = der(name);
            let mut roots = RootCertStore::empty();
            roots
                .add(CertificateDer::from(cert.clone()))
                .expect("parses");
            let (_, subject) = names(&cert).expect("names");
            assert_eq!(subject, roots.roots[0].subject.as_ref(), "{name}");
        }
        let server = der("server.pem");
        let (issuer, _) = names(&server).expect("names");
        assert_eq!(issuer, names(&der("ca.pem")).expect("names").1);
        assert_ne!(issuer, names(&der("other-ca.pem")).expect("names").1);
    }

    /// Any start of a certificate gives its names or nothing, never other names or a panic.
    #[test]
    fn a_cut_certificate_gives_its_names_or_none() {
        for name in ["ca.pem", "server.pem"] {
            let cert = der(name);
            let whole = names(&cert).expect("names");
            let mut found_at = None;
            for n in 0..cert.len() {
                if let Some(got) = names(&cert[..n]) {
                    assert_eq!(got, whole, "{name} cut at {n}");
                    found_at.get_or_insert(n);
                }
            }
            // The names are found before the end: a prefix is enough.
            assert!(found_at.is_some_and(|n| n < cert.len() / 2 + 200), "{name}");
        }
    }

    /// However little of a block is decoded first, the subject indexed is the certificate's.
    #[test]
    fn the_subject_is_found_from_any_prefix() {
        let pem = [fixture("other-ca.pem"), fixture("ca.pem")].concat();
        let want = names(&der("ca.pem")).expect("names").1.to_vec();
        for prefix in [0, 4, 7, 64, 100, 256, 512, 100_000] {
            let bundle = Bundle::of_text_with(&pem, 64 * 1024, prefix);
            let s = bundle.blocks[1].subject.clone().expect("subject");
            assert_eq!(bundle.subjects[s], want[..], "prefix {prefix}");
        }
    }

    /// Read in pieces of any size, a bundle indexes the same blocks at the same places, and
    /// a block with no end (cut off at the end of the file) is not one.
    #[test]
    fn pieces_of_any_size_index_the_same_blocks() {
        let pem = [
            b"# comment\n".to_vec(),
            fixture("other-ca.pem"),
            b"text between\r\n".to_vec(),
            fixture("ca.pem"),
            fixture("server.pem"),
            b"-----BEGIN CERTIFICATE-----\nMIIB".to_vec(),
        ]
        .concat();
        let want = Bundle::of_text_with(&pem, 1 << 20, 512);
        assert_eq!(want.blocks.len(), 3);
        for read_size in [1, 2, 5, 26, 27, 28, 64, 100, 1000, 4096] {
            let got = Bundle::of_text_with(&pem, read_size, 512);
            assert_eq!(got.blocks.len(), 3, "read size {read_size}");
            for (g, w) in got.blocks.iter().zip(&want.blocks) {
                assert_eq!(g.body, w.body, "read size {read_size}");
                let subject = |b: &Bundle, block: &Block| {
                    block.subject.clone().map(|s| b.subjects[s].to_vec())
                };
                assert_eq!(subject(&got, g), subject(&want, w), "read size {read_size}");
            }
            assert_eq!(got.all(), want.all(), "read size {read_size}");
        }
    }

    /// A chain gets the roots that can issue it, and a block that is not a readable
    /// certificate is offered too (parsing drops it later); an unknown issuer gets none.
    #[test]
    fn a_chain_gets_the_roots_that_can_issue_it() {
        let junk = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let pem = [fixture("other-ca.pem"), fixture("ca.pem")].concat();
        let bundle = Bundle::of_text(&pem);
        let (server, ca, other) = (der("server.pem"), der("ca.pem"), der("other-ca.pem"));
        let got = |b: &Bundle, chain: &[&[u8]]| -> Vec<Vec<u8>> {
            b.issuers_of(chain)
                .iter()
                .map(|c| c.as_ref().to_vec())
                .collect()
        };
        assert_eq!(got(&bundle, &[&server]), vec![ca.clone()]);
        assert_eq!(
            got(&bundle, &[&server, &other]),
            vec![other.clone(), ca.clone()]
        );
        assert_eq!(got(&bundle, &[&other]), vec![other.clone()]);
        let only_other = Bundle::of_text(&fixture("other-ca.pem"));
        assert!(got(&only_other, &[&server]).is_empty());
        let with_junk = Bundle::of_text(&[pem, junk.to_vec()].concat());
        assert_eq!(
            got(&with_junk, &[&server]),
            vec![ca, vec![0, 0, 0]],
            "the unreadable block is offered"
        );
    }

    /// Whitespace anywhere in a block is dropped: line ends of either kind, blank lines,
    /// lines of any length, indented lines, a space or tab inside a line.
    #[test]
    fn pem_whitespace_anywhere_in_a_block_is_dropped() {
        use base64::Engine;
        let pem = String::from_utf8(fixture("ca.pem")).expect("ascii");
        let b64: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat();
        let der = base64::engine::general_purpose::STANDARD
            .decode(&b64)
            .expect("base64");
        let chunks = |n: usize| -> Vec<String> {
            b64.as_bytes()
                .chunks(n)
                .map(|c| String::from_utf8(c.to_vec()).expect("ascii"))
                .collect()
        };
        let layouts = [
            chunks(64).join("\n"),
            b64.clone(),
            chunks(7).join("\r\n"),
            chunks(64)
                .iter()
                .map(|l| format!("  {l} \t"))
                .collect::<Vec<_>>()
                .join("\n\n"),
            chunks(64)
                .iter()
                .map(|l| format!("{} {}\t{}", &l[..10], &l[10..20], &l[20..]))
                .collect::<Vec<_>>()
                .join("\n"),
        ];
        for body in layouts {
            let text = format!(
                "-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n\
                 -----BEGIN CERTIFICATE-----\n{}!\n-----END CERTIFICATE-----\n",
                &b64[..40]
            );
            let certs = Bundle::of_text(text.as_bytes()).all();
            assert_eq!(certs.len(), 1, "{body:?}");
            assert_eq!(certs[0].as_ref(), &der[..], "{body:?}");
        }
    }

    /// The same certificates as the platform's loader finds, in a bundle with text around the
    /// blocks, CRLF line ends, a key (not a certificate) and a block that does not decode.
    #[test]
    fn pem_bundle_read_as_the_platform_reads_it() {
        let mut pem = b"# a comment\n".to_vec();
        pem.extend(fixture("ca.pem"));
        pem.extend(b"some text\n");
        pem.extend(
            String::from_utf8(fixture("other-ca.pem"))
                .expect("ascii")
                .replace('\n', "\r\n")
                .into_bytes(),
        );
        pem.extend(fixture("server.key"));
        pem.extend(fixture("server.pem"));
        pem.extend(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n");
        let dir = std::env::temp_dir().join(format!("qstream-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("bundle.pem");
        std::fs::write(&file, &pem).expect("write");
        let mut platform = rustls_native_certs::load_certs_from_paths(Some(&file), None).certs;
        let _ = std::fs::remove_dir_all(&dir);
        let mut ours = Bundle::of_text(&pem).all();
        assert_eq!(ours.len(), 3);
        ours.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
        platform.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
        assert_eq!(ours, platform);
    }
}
