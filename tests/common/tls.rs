//! TLS for the tests: a CA, server and client certificates made at test
//! time with rcgen (no key is ever committed), written to a temp dir for
//! the server's flags and the third-party clients, and a blocking rustls
//! client stream for [`super::Esme`].
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A certificate and its key, as DER and as PEM files.
pub struct Pair {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl Pair {
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }
    pub fn cert_str(&self) -> &str {
        self.cert.to_str().unwrap()
    }
    pub fn key_str(&self) -> &str {
        self.key.to_str().unwrap()
    }
}

/// A test CA in its own temp dir, with a server certificate for
/// `localhost` and 127.0.0.1.
pub struct Pki {
    pub dir: PathBuf,
    pub ca: CertifiedIssuer<'static, KeyPair>,
    /// The CA certificate, PEM.
    pub ca_file: PathBuf,
    pub server: Pair,
}

fn dn(cn: &str) -> rcgen::DistinguishedName {
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(DnType::OrganizationName, "smsc tests");
    dn.push(DnType::CommonName, cn);
    dn
}

impl Pki {
    pub fn new(name: &str) -> Pki {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "smsc-tls-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name = dn(&format!("smsc test CA {name}"));
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        let mut pki = Pki {
            server: Pair {
                cert: PathBuf::new(),
                key: PathBuf::new(),
                der: CertificateDer::from(Vec::new()),
                key_der: Vec::new(),
            },
            dir,
            ca,
            ca_file,
        };
        pki.server = pki.server_pair("server");
        pki
    }

    /// A server certificate for localhost and 127.0.0.1 (files `<file>.pem`, `<file>.key`).
    pub fn server_pair(&self, file: &str) -> Pair {
        let mut p =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        p.distinguished_name = dn(&format!("smsc {file}"));
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(p, file)
    }

    /// A client certificate with this subject CN and DNS SANs.
    pub fn client(&self, cn: &str, dns: &[&str]) -> Pair {
        let mut p =
            CertificateParams::new(dns.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        p.distinguished_name = dn(cn);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(p, &format!("client-{cn}"))
    }

    fn issue(&self, p: CertificateParams, file: &str) -> Pair {
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.ca).unwrap();
        let (cert_path, key_path) = (
            self.dir.join(format!("{file}.pem")),
            self.dir.join(format!("{file}.key")),
        );
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        Pair {
            cert: cert_path,
            key: key_path,
            der: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }

    /// The server flags for this PKI's server pair (no client CA).
    pub fn flags(&self) -> Vec<String> {
        vec![
            "--tls-listen".into(),
            "127.0.0.1:0".into(),
            "--tls-cert".into(),
            self.server.cert_str().into(),
            "--tls-key".into(),
            self.server.key_str().into(),
        ]
    }

    /// [`Pki::flags`] plus `--tls-client-ca` (this CA).
    pub fn flags_with_client_ca(&self) -> Vec<String> {
        let mut f = self.flags();
        f.extend([
            "--tls-client-ca".into(),
            self.ca_file.to_str().unwrap().into(),
        ]);
        f
    }

    /// A rustls client trusting this CA, with a client certificate or not,
    /// for the given protocol versions (None: 1.3 and 1.2).
    pub fn client_config(
        &self,
        client: Option<&Pair>,
        versions: Option<&[&'static rustls::SupportedProtocolVersion]>,
    ) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.der().clone()).unwrap();
        let builder =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_protocol_versions(versions.unwrap_or(rustls::DEFAULT_VERSIONS))
                .unwrap()
                .with_root_certificates(roots);
        let config = match client {
            Some(c) => builder
                .with_client_auth_cert(vec![c.der.clone()], c.key_der())
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        Arc::new(config)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A blocking TLS stream to the server, handshake done (or failed: Err
/// with rustls' error as text).
pub fn connect(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> Result<StreamOwned<ClientConnection, TcpStream>, String> {
    let tcp = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).unwrap();
    tcp.set_read_timeout(Some(super::WAIT)).unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let conn = ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    let mut s = StreamOwned::new(conn, tcp);
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock).map_err(|e| e.to_string())?;
    }
    Ok(s)
}

/// The server certificate a fresh TLS client is shown.
pub fn peer_certificate(addr: SocketAddr, config: Arc<ClientConfig>) -> CertificateDer<'static> {
    let s = connect(addr, config).expect("TLS handshake");
    s.conn.peer_certificates().unwrap()[0].clone().into_owned()
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}
