//! Trust without a web PKI: a node's QUIC certificate is self-signed with its ed25519 validator
//! key, and clients accept a server only if the certificate's key is one they pinned (from
//! genesis). The TLS 1.3 handshake signature is checked against that same key, so a node cannot
//! be impersonated without its validator key.

use std::sync::Arc;

use commonware_codec::Encode as _;
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::NetError;

/// ALPN of the player protocol; a peer speaking anything else is refused in the handshake.
pub const ALPN: &[u8] = b"z3r0/edge/1";

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32 key bytes follow.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// DER prefix of a PKCS#8 v1 Ed25519 private key (RFC 8410); the 32 seed bytes follow.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The node's certificate and key for `key`.
pub fn node_certificate(
    key: &PrivateKey,
) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), NetError> {
    let seed = key.encode();
    let mut pkcs8 = ED25519_PKCS8_PREFIX.to_vec();
    pkcs8.extend_from_slice(&seed);
    let der = PrivatePkcs8KeyDer::from(pkcs8);
    let pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_ED25519)
        .map_err(|e| NetError::Tls(format!("node key: {e}")))?;
    let params = rcgen::CertificateParams::new(vec!["z3r0-node".to_string()])
        .map_err(|e| NetError::Tls(format!("certificate parameters: {e}")))?;
    let cert = params
        .self_signed(&pair)
        .map_err(|e| NetError::Tls(format!("self-signing: {e}")))?;
    Ok((cert.der().clone(), PrivateKeyDer::Pkcs8(der)))
}

/// The ed25519 key a certificate is bound to, if it is an Ed25519 certificate.
pub fn certificate_key(cert: &CertificateDer<'_>) -> Option<[u8; 32]> {
    let parsed = webpki::EndEntityCert::try_from(cert).ok()?;
    let spki = parsed.subject_public_key_info();
    let bytes: &[u8] = spki.as_ref();
    let key = bytes.strip_prefix(&ED25519_SPKI_PREFIX[..])?;
    key.try_into().ok()
}

/// rustls server configuration for a node.
pub fn server_crypto(key: &PrivateKey) -> Result<rustls::ServerConfig, NetError> {
    let (cert, private) = node_certificate(key)?;
    let mut config = rustls::ServerConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| NetError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![cert], private)
        .map_err(|e| NetError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

/// Accepts a server whose certificate key is one of `pinned`.
#[derive(Debug)]
pub struct PinnedKeys {
    pinned: Vec<[u8; 32]>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl PinnedKeys {
    pub fn new(pinned: &[PublicKey]) -> Self {
        Self {
            pinned: pinned
                .iter()
                .filter_map(|k| k.encode().as_ref().try_into().ok())
                .collect(),
            provider: crypto_provider(),
        }
    }
}

impl ServerCertVerifier for PinnedKeys {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let refuse = |why: &str| Err(rustls::Error::General(why.to_string()));
        if !intermediates.is_empty() {
            return refuse("node certificates are self-signed, without intermediates");
        }
        match certificate_key(end_entity) {
            Some(key) if self.pinned.contains(&key) => Ok(ServerCertVerified::assertion()),
            Some(_) => refuse("the node's key is not one of the pinned validator keys"),
            None => refuse("the node's certificate is not bound to an ed25519 key"),
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("TLS 1.2 is not offered".into()))
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

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

/// rustls client configuration that trusts only `pinned` node keys.
pub fn client_crypto(pinned: &[PublicKey]) -> Result<rustls::ClientConfig, NetError> {
    let mut config = rustls::ClientConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| NetError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedKeys::new(pinned)))
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN.to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::Signer as _;

    #[test]
    fn the_certificate_carries_the_validator_key() {
        let key = PrivateKey::from_seed(7);
        let (cert, _) = node_certificate(&key).unwrap();
        let bound = certificate_key(&cert).unwrap();
        assert_eq!(bound.as_slice(), key.public_key().encode().as_ref());
        assert_eq!(certificate_key(&CertificateDer::from(vec![0u8; 10])), None);
    }

    #[test]
    fn only_pinned_keys_pass() {
        let key = PrivateKey::from_seed(1);
        let other = PrivateKey::from_seed(2);
        let (cert, _) = node_certificate(&key).unwrap();
        let name = ServerName::try_from("z3r0-node").unwrap();
        let now = UnixTime::now();
        let ok = PinnedKeys::new(&[other.public_key(), key.public_key()]);
        assert!(ok.verify_server_cert(&cert, &[], &name, &[], now).is_ok());
        let wrong = PinnedKeys::new(&[other.public_key()]);
        assert!(
            wrong
                .verify_server_cert(&cert, &[], &name, &[], now)
                .is_err()
        );
        assert!(
            ok.verify_server_cert(&cert, std::slice::from_ref(&cert), &name, &[], now)
                .is_err()
        );
    }
}
