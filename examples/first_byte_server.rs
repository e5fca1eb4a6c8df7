//! A loopback server for the TLS start-up bench (scripts/bench, section i): a rustls server,
//! beside the bench's Python (OpenSSL) one, so that the handshake's server half costs what a
//! quick server's does and what is left is the client's.
//!
//! `first_byte_server http|https CERT KEY`: prints its port, then for each connection a line
//! `T CPU`: the time (CLOCK_MONOTONIC, ns) at which the first byte of the HTTP request arrived
//! (over TLS the first decrypted byte: the handshake is in it; -1 when the connection failed),
//! and the CPU time (ns) this server spent from the accept to that byte; and answers with a
//! short event stream. One connection at a time, as the bench makes them.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

const SSE: &[u8] = b"data: {\"choices\":[{\"delta\":{\"content\":\"ok\",\"role\":\"assistant\"},\"index\":0,\"finish_reason\":null}],\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"id\":\"x\"}\n\n\
data: {\"choices\":[{\"delta\":{},\"index\":0,\"finish_reason\":\"stop\"}],\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"id\":\"x\"}\n\ndata: [DONE]\n\n";

fn clock_ns(clock: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// Reads one request (head and `Content-Length` body), noting when its first byte came and the
/// CPU time spent until then, and answers it.
fn serve(stream: &mut (impl Read + Write), cpu0: i64) -> std::io::Result<(i64, i64)> {
    let mut reader = BufReader::new(&mut *stream);
    let first = reader.fill_buf()?;
    if first.is_empty() {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let t = (
        clock_ns(libc::CLOCK_MONOTONIC),
        clock_ns(libc::CLOCK_THREAD_CPUTIME_ID) - cpu0,
    );
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    std::io::copy(&mut reader.take(length as u64), &mut std::io::sink())?;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        SSE.len()
    )?;
    stream.write_all(SSE)?;
    stream.flush()?;
    Ok(t)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [scheme, cert, key] = args.as_slice() else {
        return Err("usage: first_byte_server http|https CERT KEY".into());
    };
    let tls = match scheme.as_str() {
        "http" => None,
        "https" => {
            let certs: Vec<CertificateDer<'static>> =
                CertificateDer::pem_file_iter(cert)?.collect::<Result<_, _>>()?;
            let key = PrivateKeyDer::from_pem_file(key)?;
            let config = rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_protocol_versions(rustls::ALL_VERSIONS)?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
            Some(Arc::new(config))
        }
        _ => return Err("the scheme is http or https".into()),
    };
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", listener.local_addr()?.port())?;
    out.flush()?;
    for tcp in listener.incoming() {
        let cpu0 = clock_ns(libc::CLOCK_THREAD_CPUTIME_ID);
        let t = tcp.and_then(|mut tcp: TcpStream| match &tls {
            None => serve(&mut tcp, cpu0),
            Some(config) => {
                let conn =
                    rustls::ServerConnection::new(config.clone()).map_err(std::io::Error::other)?;
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let t = serve(&mut tls, cpu0);
                tls.conn.send_close_notify();
                let _ = tls.flush();
                t
            }
        });
        let (t, cpu) = t.unwrap_or((-1, 0));
        writeln!(out, "{t} {cpu}")?;
        out.flush()?;
    }
    Ok(())
}
