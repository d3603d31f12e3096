//! The signatures both providers use: SHA256withRSA (PKCS#1 v1.5) in base64, and keys in PEM.
//! RustCrypto's `rsa` and `sha2` do the work; nothing here is hand-rolled.

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

/// SHA256withRSA over `message`, base64.
pub fn sign(key: &RsaPrivateKey, message: &[u8]) -> String {
    let signer = SigningKey::<Sha256>::new(key.clone());
    B64.encode(signer.sign(message).to_bytes())
}

/// Checks a base64 SHA256withRSA signature; false for anything malformed.
pub fn verify(key: &RsaPublicKey, message: &[u8], signature_b64: &str) -> bool {
    let Ok(bytes) = B64.decode(signature_b64.trim()) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(bytes.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(message, &sig)
        .is_ok()
}

/// A private key from PEM (PKCS#8, `BEGIN PRIVATE KEY`, as WeChat Pay's `apiclient_key.pem`).
pub fn private_key_pem(pem: &str) -> Result<RsaPrivateKey, String> {
    RsaPrivateKey::from_pkcs8_pem(pem.trim())
        .map_err(|e| format!("not a PKCS#8 RSA private key: {e}"))
}

/// A public key from PEM (`BEGIN PUBLIC KEY`), or from a bare base64 body as Alipay's console
/// shows it.
pub fn public_key_pem(text: &str) -> Result<RsaPublicKey, String> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        return RsaPublicKey::from_public_key_pem(text)
            .map_err(|e| format!("not an RSA public key: {e}"));
    }
    let der = B64
        .decode(text.split_whitespace().collect::<String>())
        .map_err(|e| format!("not base64: {e}"))?;
    RsaPublicKey::from_public_key_der(&der).map_err(|e| format!("not an RSA public key: {e}"))
}

/// Alipay's console shows a private key as bare base64 too.
pub fn private_key_text(text: &str) -> Result<RsaPrivateKey, String> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        return private_key_pem(text);
    }
    let der = B64
        .decode(text.split_whitespace().collect::<String>())
        .map_err(|e| format!("not base64: {e}"))?;
    RsaPrivateKey::from_pkcs8_der(&der).map_err(|e| format!("not a PKCS#8 RSA private key: {e}"))
}

/// PEM text of keys (the fake provider hands its test keys out this way).
pub fn private_pem(key: &RsaPrivateKey) -> String {
    key.to_pkcs8_pem(LineEnding::LF)
        .map(|p| p.to_string())
        .unwrap_or_default()
}
pub fn public_pem(key: &RsaPublicKey) -> String {
    key.to_public_key_pem(LineEnding::LF).unwrap_or_default()
}

/// A random string of `n` letters and digits (nonces, numbers).
pub fn nonce(n: usize) -> String {
    use rand::{distributions::Alphanumeric, Rng};
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let key = super::super::fake::test_keys().wechat_merchant.clone();
        let public = RsaPublicKey::from(&key);
        let sig = sign(&key, b"POST\n/v3/pay\n1\nabc\n{}\n");
        assert!(verify(&public, b"POST\n/v3/pay\n1\nabc\n{}\n", &sig));
        assert!(!verify(&public, b"POST\n/v3/pay\n1\nabc\n{ }\n", &sig));
        assert!(!verify(&public, b"x", "not base64!"));
        let pem = public_pem(&public);
        assert_eq!(public_key_pem(&pem).unwrap(), public);
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert_eq!(public_key_pem(&body).unwrap(), public);
        assert_eq!(private_key_text(&private_pem(&key)).unwrap(), key);
    }
}
