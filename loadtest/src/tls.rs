//! `loadtest run --tls`: the rustls client configuration (trusting a CA
//! file, or for benchmarks verifying nothing) and the server name.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

/// What a TLS run connects with.
pub struct TlsClient {
    pub config: Arc<ClientConfig>,
    pub name: ServerName<'static>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// `--tls-ca FILE` (verify the server against it) or `--tls-insecure`
/// (accept any certificate: benchmarks only); `--tls-server-name` or the
/// address's IP as the name to verify.
pub fn client(
    ca: Option<&Path>,
    insecure: bool,
    server_name: Option<&str>,
    addr: SocketAddr,
) -> Result<TlsClient, String> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(rustls::DEFAULT_VERSIONS)
        .map_err(|e| e.to_string())?;
    let config = match (ca, insecure) {
        (Some(path), false) => {
            let mut roots = RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("--tls-ca {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("--tls-ca {}: no certificate in it", path.display()));
            }
            for c in certs {
                roots
                    .add(c)
                    .map_err(|e| format!("--tls-ca {}: {e}", path.display()))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        (None, true) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider())))
            .with_no_client_auth(),
        (Some(_), true) => return Err("--tls-ca and --tls-insecure exclude each other".into()),
        (None, false) => return Err("--tls needs --tls-ca FILE or --tls-insecure".into()),
    };
    let name = match server_name {
        Some(n) => ServerName::try_from(n.to_string())
            .map_err(|e| format!("--tls-server-name {n}: {e}"))?,
        None => ServerName::IpAddress(addr.ip().into()),
    };
    Ok(TlsClient {
        config: Arc::new(config),
        name,
    })
}

/// `--tls-insecure`: every certificate is accepted (the handshake and the
/// encryption cost the same; nothing is authenticated).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

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
            &self.0.signature_verification_algorithms,
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
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
