//! TLS trust (issue 17): the trust store qstream uses is the platform's (`SSL_CERT_FILE`,
//! `SSL_CERT_DIR`, else the distribution's bundle and directory), loaded lazily; a CA added to
//! it is trusted, wherever it was added, and an unknown one is refused with exit 7, a clear
//! message and no retry. Against a loopback rustls server started in the test, with the fixed
//! certificates of tests/fixtures/tls (see its README).

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{fixture, qstream, run, temp_dir, Output};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

const KEY: &str = "sk-tls-test-key";

struct TlsServer {
    port: u16,
    /// TCP connections accepted (handshakes attempted).
    connections: Arc<AtomicUsize>,
    /// The requests received over completed handshakes, head and body.
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl TlsServer {
    /// Serves the fixture's answer over TLS, with `server.pem` (signed by `ca.pem`).
    fn start() -> TlsServer {
        TlsServer::start_on("127.0.0.1")
    }

    /// As `start`, listening on another loopback address.
    fn start_on(ip: &str) -> TlsServer {
        TlsServer::start_with(ip, rustls::ALL_VERSIONS)
    }

    /// As `start_on`, speaking only the TLS versions given.
    fn start_with(ip: &str, versions: &[&'static rustls::SupportedProtocolVersion]) -> TlsServer {
        let tls = fixture_path("server.pem");
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls)
            .expect("server.pem")
            .collect::<Result<_, _>>()
            .expect("certs");
        let key = PrivateKeyDer::from_pem_file(fixture_path("server.key")).expect("server.key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(versions)
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
        let config = Arc::new(config);
        let listener = TcpListener::bind((ip, 0)).expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (c, r) = (connections.clone(), requests.clone());
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { continue };
                c.fetch_add(1, Ordering::SeqCst);
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                    continue;
                };
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                if let Some(request) = read_request(&mut tls) {
                    r.lock().unwrap().push(request);
                    let body = fixture("compatible_basic.sse");
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = tls.write_all(head.as_bytes());
                    let _ = tls.write_all(&body);
                    let _ = tls.flush();
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                }
            }
        });
        TlsServer {
            port,
            connections,
            requests,
        }
    }

    fn url(&self, host: &str) -> String {
        format!("https://{host}:{}/compatible-mode/v1", self.port)
    }
}

/// One HTTP/1.1 request with a `Content-Length` body; `None` when the handshake or the read
/// fails (the client refused the certificate).
fn read_request(stream: &mut impl Read) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if data.len() >= end + 4 + len {
                return Some(data);
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => data.extend_from_slice(&buf[..n]),
        }
    }
}

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// A trust store in a temporary directory: a bundle file with `bundle` (concatenated) and a
/// certificate directory with `dir` (one file each), the way a distribution lays them out.
fn store(bundle: &[&str], dir: &[&str]) -> (PathBuf, PathBuf) {
    let root = temp_dir("tls-store");
    let file = root.join("ca-certificates.crt");
    let mut text = Vec::new();
    for name in bundle {
        text.extend(std::fs::read(fixture_path(name)).expect("pem"));
    }
    std::fs::write(&file, text).expect("write bundle");
    let certs = root.join("certs");
    std::fs::create_dir(&certs).expect("certs dir");
    for name in dir {
        std::fs::copy(fixture_path(name), certs.join(name)).expect("copy pem");
    }
    (file, certs)
}

fn ask(server: &TlsServer, host: &str, (file, dir): &(PathBuf, PathBuf)) -> Command {
    let mut cmd = qstream();
    cmd.env("DASHSCOPE_API_KEY", KEY)
        .env("SSL_CERT_FILE", file)
        .env("SSL_CERT_DIR", dir)
        .args(["--no-log", "--base-url", &server.url(host), "who are you?"]);
    cmd
}

fn answered(out: &Output, server: &TlsServer) {
    assert_eq!(out.status, Some(0), "stderr: {}", out.stderr);
    assert!(out.stdout.starts_with("I am"), "stdout: {:?}", out.stdout);
    let requests = server.requests.lock().unwrap();
    assert_eq!(requests.len(), 1);
    let request = String::from_utf8_lossy(&requests[0]);
    assert!(
        request.starts_with("POST /compatible-mode/v1/chat/completions HTTP/1.1"),
        "{request}"
    );
    assert!(request.contains("who are you?"), "{request}");
}

/// TLS 1.2 too: there the client's last flight is sent before the server's Finished comes
/// (with 1.3 it waits for the request's first bytes).
#[test]
fn a_tls_1_2_server_is_answered() {
    let server = TlsServer::start_with("127.0.0.1", &[&rustls::version::TLS12]);
    let store = store(&["ca.pem"], &[]);
    let out = run(&mut ask(&server, "127.0.0.1", &store), None);
    answered(&out, &server);
}

/// A request far bigger than one TLS record and than what is gathered into one write (the
/// client's Finished goes out with its first bytes) arrives whole and in order.
#[test]
fn a_big_request_over_tls_arrives_whole() {
    let server = TlsServer::start();
    let store = store(&["ca.pem"], &[]);
    let text: String = (0..40_000).map(|i| format!("line{i:05}\n")).collect();
    let out = run(
        &mut ask(&server, "127.0.0.1", &store),
        Some(text.as_bytes()),
    );
    answered(&out, &server);
    let requests = server.requests.lock().unwrap();
    let request = String::from_utf8_lossy(&requests[0]);
    let sent = request.find("line00000").expect("the text");
    let lines: Vec<&str> = request[sent..].split("\\n").take(40_000).collect();
    assert_eq!(lines.len(), 40_000);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(*line, format!("line{i:05}"));
    }
}

#[test]
fn a_ca_added_to_the_bundle_file_is_trusted() {
    let server = TlsServer::start();
    let store = store(&["other-ca.pem", "ca.pem"], &["other-ca.pem"]);
    let out = run(&mut ask(&server, "127.0.0.1", &store), None);
    answered(&out, &server);
}

/// The bundle is read first and alone; a CA that is only in the certificate directory is
/// still trusted (the whole store is loaded when the bundle does not vouch for the server).
#[test]
fn a_ca_added_only_to_the_certificate_directory_is_trusted() {
    let server = TlsServer::start();
    let store = store(&["other-ca.pem"], &["other-ca.pem", "ca.pem"]);
    let out = run(&mut ask(&server, "localhost", &store), None);
    answered(&out, &server);
}

#[test]
fn a_ca_in_a_directory_with_no_bundle_is_trusted() {
    let server = TlsServer::start();
    let (_, dir) = store(&[], &["ca.pem"]);
    let mut cmd = ask(&server, "127.0.0.1", &(PathBuf::new(), dir));
    cmd.env_remove("SSL_CERT_FILE");
    let out = run(&mut cmd, None);
    answered(&out, &server);
}

#[test]
fn an_unknown_ca_is_refused_with_exit_7_a_clear_message_and_no_retry() {
    let server = TlsServer::start();
    let store = store(&["other-ca.pem"], &["other-ca.pem"]);
    let out = run(&mut ask(&server, "127.0.0.1", &store), None);
    assert_eq!(out.status, Some(7), "stderr: {}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {}", out.stderr);
    let line = lines[0];
    assert!(
        line.starts_with("qstream: TLS: the server's certificate is not trusted"),
        "{line}"
    );
    assert!(line.contains("certificate authority"), "{line}");
    // Where qstream looked, so that the user knows where to add their CA.
    assert!(line.contains(&store.0.display().to_string()), "{line}");
    assert!(line.contains(&store.1.display().to_string()), "{line}");
    assert!(!line.contains(KEY));
    // A certificate does not change by waiting: one attempt, nothing sent.
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    assert!(server.requests.lock().unwrap().is_empty());
    assert!(out.stdout.is_empty());
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    let server = TlsServer::start_on("127.0.0.2");
    let store = store(&["ca.pem"], &["ca.pem"]);
    // 127.0.0.2 is loopback too, but not a name in the server's certificate.
    let out = run(&mut ask(&server, "127.0.0.2", &store), None);
    assert_eq!(out.status, Some(7), "stderr: {}", out.stderr);
    assert!(
        out.stderr
            .starts_with("qstream: TLS: the server's certificate is not trusted"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("127.0.0.2"), "{}", out.stderr);
    assert!(server.requests.lock().unwrap().is_empty());
}
