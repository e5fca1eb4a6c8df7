//! TLS: whom to trust, and the connector that wraps ureq's sockets in rustls.
//!
//! The trust is the platform's, exactly as before (rustls-platform-verifier, which on Linux
//! reads `SSL_CERT_FILE` / `SSL_CERT_DIR` or else the distribution's bundle *and* certificate
//! directory), but it is not loaded before the ClientHello any more:
//!
//! 1. the bundle file alone (`SSL_CERT_FILE`, else the distribution's, as openssl-probe finds
//!    it) is read and indexed by subject ([`bundle`]) once the ClientHello is sent, while the
//!    server works out its answer (a round trip and the server's key exchange and signature:
//!    more than the read takes); on the thread that connects, since a thread started for it
//!    ran on the same CPU and held the connecting thread back for as long as the load took.
//!    A connection then decodes and parses only the bundle's roots that can issue its chain;
//! 2. a certificate it does not accept goes to the platform verifier, built (with every
//!    certificate of the file and of the directories) only then; its verdict is final.
//!
//! So whatever the platform verifier accepts is accepted, and nothing else: the bundle is part
//! of the platform's store, and a chain that ends in one of its roots ends in a root of the
//! whole store. A CA added only to a certificate directory costs the full load, and is trusted.

use std::fmt;
use std::io::{Read, Write};
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, StreamOwned};
use ureq::unversioned::transport::time::{Duration as UDuration, Instant as UInstant};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};

mod bundle;

use bundle::Bundle;

/// The crypto ureq itself uses with its `rustls` feature.
fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The bundle, read and indexed the first time it is asked for; `None` when there is no
/// bundle or no certificate in it.
fn bundle() -> Option<&'static Bundle> {
    static BUNDLE: OnceLock<Option<Bundle>> = OnceLock::new();
    BUNDLE
        .get_or_init(|| {
            let bundle = Bundle::open(&bundle_path()?).ok()?;
            (!bundle.is_empty()).then_some(bundle)
        })
        .as_ref()
}

/// A verifier with the bundle's roots that may have issued the server's chain: those whose
/// subject is the issuer of a certificate in it (the only roots a path can end in).
fn bundle_verifier(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
) -> Option<Arc<WebPkiServerVerifier>> {
    let chain: Vec<&[u8]> = std::iter::once(end_entity)
        .chain(intermediates)
        .map(|c| c.as_ref())
        .collect();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(bundle()?.issuers_of(&chain));
    if roots.is_empty() {
        return None;
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .ok()
}

/// The file rustls-native-certs reads first: `SSL_CERT_FILE` when either variable is set
/// (then only they count), else the distribution's bundle.
pub fn bundle_path() -> Option<std::path::PathBuf> {
    let env_set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if env_set("SSL_CERT_FILE") || env_set("SSL_CERT_DIR") {
        std::env::var_os("SSL_CERT_FILE")
            .filter(|v| !v.is_empty())
            .map(Into::into)
    } else {
        openssl_probe::probe().cert_file
    }
}

/// Where the trust store is, in words: the variables when either is set (then only they
/// count), else the system's bundle and directories.
pub fn store_description() -> String {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    let (file, dir) = (var("SSL_CERT_FILE"), var("SSL_CERT_DIR"));
    if file.is_some() || dir.is_some() {
        let mut parts = Vec::new();
        if let Some(file) = file {
            parts.push(format!("SSL_CERT_FILE={}", file.to_string_lossy()));
        }
        if let Some(dir) = dir {
            parts.push(format!("SSL_CERT_DIR={}", dir.to_string_lossy()));
        }
        return parts.join(", ");
    }
    let probe = openssl_probe::probe();
    let places: Vec<String> = probe
        .cert_file
        .iter()
        .chain(&probe.cert_dir)
        .map(|p| p.display().to_string())
        .collect();
    if places.is_empty() {
        "the system's, which has none: set SSL_CERT_FILE or SSL_CERT_DIR".to_owned()
    } else {
        format!("the system's: {}", places.join(", "))
    }
}

/// The bundle first; the platform's whole store when the bundle does not accept.
#[derive(Debug)]
pub struct Verifier {
    provider: Arc<CryptoProvider>,
    platform: OnceLock<Result<Arc<rustls_platform_verifier::Verifier>, rustls::Error>>,
}

impl Verifier {
    fn new(provider: Arc<CryptoProvider>) -> Verifier {
        Verifier {
            provider,
            platform: OnceLock::new(),
        }
    }

    fn platform(&self) -> Result<&Arc<rustls_platform_verifier::Verifier>, rustls::Error> {
        self.platform
            .get_or_init(|| {
                rustls_platform_verifier::Verifier::new(self.provider.clone()).map(Arc::new)
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(bundle) = bundle_verifier(end_entity, intermediates) {
            let verdict = bundle.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            );
            if verdict.is_ok() {
                return verdict;
            }
        }
        self.platform()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    // Signatures do not depend on the roots: checked as the platform verifier checks them.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Wraps the socket of an `https://` URL in TLS, as ureq's own rustls connector does, with
/// [`Verifier`] for the server's certificate.
pub struct TlsConnector {
    config: Arc<ClientConfig>,
}

impl TlsConnector {
    pub fn new() -> Result<TlsConnector, rustls::Error> {
        let provider = provider();
        let config = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(rustls::ALL_VERSIONS)?
            .dangerous() // not: the verifier is the platform's, only loaded later
            .with_custom_certificate_verifier(Arc::new(Verifier::new(provider)))
            .with_no_client_auth();
        Ok(TlsConnector {
            config: Arc::new(config),
        })
    }
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector").finish()
    }
}

impl<In: Transport> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details
            .uri
            .authority()
            .map(|a| a.host())
            .ok_or(ureq::Error::Tls("no host to verify the certificate for"))?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let name = ServerName::try_from(host)
            .map_err(|_| ureq::Error::Tls("the host is not a valid name for TLS"))?
            .to_owned();
        let mut conn = ClientConnection::new(self.config.clone(), name)?;
        let mut sock = Gather::new(TransportAdapter::new(
            transport.boxed(),
            details.current_time.clone(),
        ));
        // The connect timeout runs from the start of the connection, TCP included.
        let mut timeout = details.timeout;
        if let (UInstant::Exact(now), UInstant::Exact(then), UDuration::Exact(d)) =
            ((details.current_time)(), details.now, timeout.after)
        {
            timeout.after = UDuration::Exact(d.saturating_sub(now.saturating_duration_since(then)));
        }
        sock.sock.set_timeout(timeout);
        handshake(&mut conn, &mut sock)?;
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(TlsTransport {
            buffers,
            stream: StreamOwned { conn, sock },
        })))
    }
}

/// Drives the handshake until the server's last flight is taken in. The ClientHello goes out
/// first and the trust store is read while the server answers; the client's last flight (TLS
/// 1.3: its Finished) is left queued, to go out with the request's first bytes in one write.
fn handshake(conn: &mut ClientConnection, sock: &mut Gather) -> std::io::Result<()> {
    let mut hello_sent = false;
    while conn.is_handshaking() {
        while conn.wants_write() {
            conn.write_tls(sock)?;
        }
        if !hello_sent {
            hello_sent = true;
            bundle();
        }
        match conn.read_tls(sock) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the server closed the connection during the TLS handshake",
                ))
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if let Err(e) = conn.process_new_packets() {
            // The alert that says why, if there is one, as rustls's own loop sends it.
            let _ = conn.write_tls(sock);
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e));
        }
    }
    Ok(())
}

/// The socket, with the records rustls has queued sent in one write (a flight of the
/// handshake, or the client's Finished with the request) rather than one write, and one
/// packet, each.
struct Gather {
    sock: TransportAdapter,
    scratch: Vec<u8>,
}

impl Gather {
    /// At most this much is gathered (the handshake's flights, a request's head); beyond, one
    /// record at a time, as without it.
    const MAX: usize = 32 * 1024;

    fn new(sock: TransportAdapter) -> Gather {
        Gather {
            sock,
            scratch: Vec::new(),
        }
    }
}

impl Read for Gather {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.sock.read(buf)
    }
}

impl Write for Gather {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.sock.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        let pieces = bufs.iter().filter(|b| !b.is_empty()).count();
        if pieces < 2 || total > Gather::MAX {
            return match bufs.iter().find(|b| !b.is_empty()) {
                Some(b) => self.sock.write(b),
                None => Ok(0),
            };
        }
        self.scratch.clear();
        for b in bufs {
            self.scratch.extend_from_slice(b);
        }
        self.sock.write_all(&self.scratch)?;
        Ok(total)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.sock.flush()
    }
}

pub struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, Gather>,
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let StreamOwned { conn, sock } = &mut self.stream;
        sock.sock.set_timeout(timeout);
        // Not `StreamOwned::write`: it sends what is queued (the handshake's last flight)
        // before it takes the request; here they go out together.
        let mut rest = &self.buffers.output()[..amount];
        while !rest.is_empty() || conn.wants_write() {
            let taken = conn.writer().write(rest)?;
            rest = &rest[taken..];
            if taken == 0 && !conn.wants_write() {
                return Err(std::io::Error::from(std::io::ErrorKind::WriteZero).into());
            }
            while conn.wants_write() {
                conn.write_tls(sock)?;
            }
        }
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.sock.sock.set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.sock.sock.get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsTransport")
            .field("chained", &self.stream.sock.sock.inner())
            .finish()
    }
}
