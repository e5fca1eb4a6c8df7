//! Differential: the fast JSON reader of the protocol decoders against serde_json.
//!
//! Layout: `flags, data…`. Bit 0 of flags picks the chunk shape (clear: compatible, set:
//! dashscope); `data` (UTF-8 with replacement) is one `data:` payload. The reader may give up
//! on anything; a chunk it returns must be exactly the one serde_json returns, and whenever
//! serde_json rejects the data the reader must have given up too. With bit 1 of flags set, the
//! data is two chunks split at its first newline: the shape learned from the first, applied to
//! the second, must fill exactly the chunk the reader reads from it (`shape_agrees`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use qstream::cli::Protocol;
use qstream::protocol::{fast_reader_agrees, shape_agrees};
use qstream_fuzz::check;

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let protocol = if flags & 1 == 0 {
        Protocol::Compatible
    } else {
        Protocol::Dashscope
    };
    let data = String::from_utf8_lossy(rest);
    if flags & 2 != 0 {
        if let Some((learned, applied)) = data.split_once('\n') {
            let (agrees, fits) = shape_agrees(protocol, learned, applied);
            check("shape-agrees", agrees, || {
                format!("{protocol:?}: a shape (fits: {fits}) learned from {learned:?} and the reader differ on {applied:?}")
            });
            return;
        }
    }
    let (agrees, read) = fast_reader_agrees(protocol, &data);
    check("fast-reader-agrees", agrees, || {
        format!("{protocol:?}: fast reader (read: {read}) and serde_json differ on {data:?}")
    });
});
