//! TLS configuration: the certificate chain, private key and optional
//! client CA of `--tls-cert`, `--tls-key` and `--tls-client-ca`, loaded from
//! PEM files into a rustls `ServerConfig` (TLS 1.2 and 1.3, crypto provider
//! `ring`), its replacement on SIGHUP, and the names a verified client
//! certificate vouches for.
//!
//! The loops never lock this per PDU: a loop takes a clone of the current
//! `Arc<ServerConfig>` when it accepts a TLS connection and the version it
//! has seen differs from [`TlsShared::version`] (once per reload).
//!
//! What is on the wire (records, buffers) is `src/transport.rs`.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The files the TLS listener is configured from (kept for reloads).
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

/// `--tls-listen` and what it serves.
#[derive(Clone, Debug)]
pub struct TlsConfig {
    pub listen: SocketAddr,
    pub files: TlsFiles,
    /// The configuration loaded at start.
    pub server: Arc<ServerConfig>,
}

/// A file that does not load: which flag, which file, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError {
    pub flag: &'static str,
    pub file: PathBuf,
    pub problem: String,
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.flag, self.file.display(), self.problem)
    }
}

impl std::error::Error for TlsError {}

fn error(flag: &'static str, file: &Path, problem: impl Into<String>) -> TlsError {
    TlsError {
        flag,
        file: file.to_path_buf(),
        problem: problem.into(),
    }
}

/// The crypto provider: `ring` (see Cargo.toml for why).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| error(flag, path, format!("cannot read it: {e}")))
}

fn pem_problem(e: &pem::Error) -> String {
    match e {
        pem::Error::NoItemsFound => "nothing in PEM form in it".into(),
        other => format!("not valid PEM: {other}"),
    }
}

/// Every certificate of a PEM file, in order (at least one).
fn read_certs(flag: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(flag, path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(flag, path, pem_problem(&e)))?;
    if certs.is_empty() {
        return Err(error(
            flag,
            path,
            "no certificate in it (expected -----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let flag = "--tls-key";
    let bytes = read(flag, path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        pem::Error::NoItemsFound => error(
            flag,
            path,
            "no private key in it (expected -----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)",
        ),
        other => error(flag, path, pem_problem(&other)),
    })
}

/// Loads the certificate chain, the key and the client CA into a server
/// configuration offering TLS 1.3 and 1.2. Every problem names its file.
pub fn load(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = provider();
    let certs = read_certs("--tls-cert", &files.cert)?;
    let leaf = certs
        .first()
        .ok_or_else(|| error("--tls-cert", &files.cert, "no certificate in it"))?;
    webpki::EndEntityCert::try_from(leaf).map_err(|e| {
        error(
            "--tls-cert",
            &files.cert,
            format!("the first certificate does not parse: {e}"),
        )
    })?;
    let key_der = read_key(&files.key)?;
    let key = provider
        .key_provider
        .load_private_key(key_der.clone_key())
        .map_err(|e| {
            error(
                "--tls-key",
                &files.key,
                format!("unusable private key: {e}"),
            )
        })?;
    let certified = CertifiedKey::new(certs.clone(), key);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(e) => {
            return Err(error(
                "--tls-key",
                &files.key,
                format!(
                    "does not belong to the certificate in {} ({e})",
                    files.cert.display()
                ),
            ))
        }
    }
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| error("--tls-cert", &files.cert, e.to_string()))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let flag = "--tls-client-ca";
            let mut roots = RootCertStore::empty();
            for c in read_certs(flag, ca)? {
                roots
                    .add(c)
                    .map_err(|e| error(flag, ca, format!("not a usable CA certificate: {e}")))?;
            }
            // Clients without a certificate may still connect: only the
            // accounts with `client_cert = required` need one.
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| error(flag, ca, e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(certs, key_der)
        .map_err(|e| error("--tls-cert", &files.cert, e.to_string()))?;
    Ok(Arc::new(config))
}

/// The configuration in force, shared by the loops; replaced by a reload.
pub struct TlsShared {
    files: TlsFiles,
    current: Mutex<Arc<ServerConfig>>,
    version: AtomicUsize,
}

impl TlsShared {
    pub fn new(c: &TlsConfig) -> TlsShared {
        TlsShared {
            files: c.files.clone(),
            current: Mutex::new(c.server.clone()),
            version: AtomicUsize::new(0),
        }
    }

    /// Changes with every successful reload.
    #[inline]
    pub fn version(&self) -> usize {
        self.version.load(Ordering::Acquire)
    }

    /// The configuration new handshakes use.
    pub fn current(&self) -> Arc<ServerConfig> {
        match self.current.lock() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reads the files again; on success new handshakes use them (sessions
    /// already established keep theirs). On failure nothing changes.
    pub fn reload(&self) -> Result<String, TlsError> {
        let fresh = load(&self.files)?;
        match self.current.lock() {
            Ok(mut g) => *g = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        self.version.fetch_add(1, Ordering::AcqRel);
        Ok(format!(
            "certificate {} and key {} in force for new handshakes",
            self.files.cert.display(),
            self.files.key.display()
        ))
    }
}

/// What a verified client certificate vouches for: its subject CN and its
/// DNS subject alternative names. Kept per connection (a few bytes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientNames {
    pub common_name: Option<Box<str>>,
    pub dns_names: Box<[Box<str>]>,
}

impl ClientNames {
    /// The names of a DER certificate (already verified by rustls against
    /// `--tls-client-ca`). A certificate that does not parse names nothing.
    pub fn of(der: &CertificateDer<'_>) -> ClientNames {
        let Ok(cert) = webpki::EndEntityCert::try_from(der) else {
            return ClientNames::default();
        };
        ClientNames {
            common_name: common_name(cert.subject())
                .and_then(|b| std::str::from_utf8(b).ok())
                .map(Box::from),
            dns_names: cert.valid_dns_names().map(Box::from).collect(),
        }
    }

    /// True when the subject CN equals `system_id` exactly, or a DNS SAN
    /// does (ASCII case-insensitively, as DNS names compare; wildcard
    /// names never match).
    pub fn names(&self, system_id: &[u8]) -> bool {
        !system_id.is_empty()
            && (self
                .common_name
                .as_deref()
                .is_some_and(|cn| cn.as_bytes() == system_id)
                || self
                    .dns_names
                    .iter()
                    .any(|d| !d.starts_with('*') && d.as_bytes().eq_ignore_ascii_case(system_id)))
    }
}

/// One DER element at the front of `input`: (tag, contents, rest).
fn der_next(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (bytes, rest) = (rest.get(..n)?, rest.get(n..)?);
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, rest)
    };
    Some((tag, rest.get(..len)?, rest.get(len..)?))
}

/// The last commonName (2.5.4.3) of a Name's RDNSequence contents (the
/// most specific one, as TLS stacks read it), if it is a string type.
fn common_name(mut rdns: &[u8]) -> Option<&[u8]> {
    const CN: &[u8] = &[0x55, 0x04, 0x03];
    const SET: u8 = 0x31;
    const SEQUENCE: u8 = 0x30;
    const OID: u8 = 0x06;
    let mut found = None;
    while !rdns.is_empty() {
        let (tag, mut set, rest) = der_next(rdns)?;
        rdns = rest;
        if tag != SET {
            return None;
        }
        while !set.is_empty() {
            let (tag, atv, rest) = der_next(set)?;
            set = rest;
            if tag != SEQUENCE {
                return None;
            }
            let (tag, oid, value) = der_next(atv)?;
            if tag != OID || oid != CN {
                continue;
            }
            let (tag, s, _) = der_next(value)?;
            // UTF8String, PrintableString, TeletexString, IA5String.
            if matches!(tag, 0x0c | 0x13 | 0x14 | 0x16) {
                found = Some(s);
            }
        }
    }
    found
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;

    fn cert(cn: &str, sans: &[&str]) -> CertificateDer<'static> {
        let mut p =
            rcgen::CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name
            .push(rcgen::DnType::OrganizationName, "Example");
        if !cn.is_empty() {
            p.distinguished_name.push(rcgen::DnType::CommonName, cn);
        }
        let key = rcgen::KeyPair::generate().unwrap();
        p.self_signed(&key).unwrap().der().clone()
    }

    #[test]
    fn client_names_from_cn_and_dns_sans() {
        let n = ClientNames::of(&cert("esme1", &["esme2.example", "Bulk"]));
        assert_eq!(n.common_name.as_deref(), Some("esme1"));
        assert!(n.names(b"esme1"));
        assert!(!n.names(b"ESME1"), "the CN compares exactly");
        assert!(
            n.names(b"bulk") && n.names(b"Bulk"),
            "DNS names ignore case"
        );
        assert!(n.names(b"esme2.example"));
        assert!(!n.names(b"esme2") && !n.names(b""));
        let none = ClientNames::of(&cert("", &[]));
        assert_eq!(none, ClientNames::default());
        assert!(!none.names(b"esme1"));
        let wild = ClientNames::of(&cert("x", &["*.example"]));
        assert!(!wild.names(b"*.example") && !wild.names(b"a.example"));
        assert_eq!(
            ClientNames::of(&CertificateDer::from(vec![0x30, 0x82])),
            ClientNames::default()
        );
    }

    #[test]
    fn der_walk_never_panics_on_garbage() {
        let mut x = 0x1234_5678_9abc_def0u64;
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let _ = common_name(&bytes);
            let _ = der_next(&bytes);
        }
        assert_eq!(der_next(&[0x04, 0x81]), None);
        assert_eq!(der_next(&[0x04, 0x02, 1]), None);
        assert_eq!(
            der_next(&[0x04, 0x01, 7, 8]),
            Some((0x04, &[7u8][..], &[8u8][..]))
        );
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn load_names_the_file_and_the_problem() {
        let dir = std::env::temp_dir().join(format!("smsc-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let c = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let other = rcgen::KeyPair::generate().unwrap();
        let cert = write(&dir, "cert.pem", &c.pem());
        let good_key = write(&dir, "key.pem", &key.serialize_pem());
        let wrong_key = write(&dir, "other.pem", &other.serialize_pem());
        let garbage = write(&dir, "garbage.pem", "hello\n");
        let missing = dir.join("missing.pem");
        let files = |cert: &Path, key: &Path, ca: Option<&Path>| TlsFiles {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            client_ca: ca.map(Path::to_path_buf),
        };
        assert!(load(&files(&cert, &good_key, None)).is_ok());
        assert!(load(&files(&cert, &good_key, Some(&cert))).is_ok());
        let e = load(&files(&missing, &good_key, None)).unwrap_err();
        assert_eq!((e.flag, e.file.clone()), ("--tls-cert", missing.clone()));
        assert!(e.problem.starts_with("cannot read it"), "{e}");
        let e = load(&files(&garbage, &good_key, None)).unwrap_err();
        assert_eq!(e.flag, "--tls-cert");
        assert!(e.to_string().contains("garbage.pem"), "{e}");
        let e = load(&files(&cert, &garbage, None)).unwrap_err();
        assert_eq!(e.flag, "--tls-key");
        assert!(e.problem.contains("no private key"), "{e}");
        let e = load(&files(&cert, &cert, None)).unwrap_err();
        assert_eq!(e.flag, "--tls-key");
        let e = load(&files(&cert, &wrong_key, None)).unwrap_err();
        assert_eq!((e.flag, e.file.clone()), ("--tls-key", wrong_key.clone()));
        assert!(e.problem.contains("does not belong"), "{e}");
        let e = load(&files(&cert, &good_key, Some(&garbage))).unwrap_err();
        assert_eq!(e.flag, "--tls-client-ca");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
