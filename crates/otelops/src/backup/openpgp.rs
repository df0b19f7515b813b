//! The certificates file: OpenPGP encrypted with a passphrase, with exactly
//! the guide's `gpg --symmetric --cipher-algo AES256 --compress-algo 1
//! --s2k-mode 3 --s2k-digest-algo SHA512 --s2k-count 65536` choices — an
//! SKESK v4 with an iterated and salted SHA-512 S2K, a SEIPD v1 (with MDC,
//! what gpg 2.2 writes and reads), AES-256, ZIP compression.

use std::path::Path;

use pgp::composed::{Message, MessageBuilder};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::types::{CompressionAlgorithm, StringToKey};

use super::{BackupError, Passphrase};

/// `--s2k-count 65536` as OpenPGP codes it (RFC 4880 3.7.1.3): the count is
/// `(16 + (c & 15)) << ((c >> 4) + 6)`, and 65536 = 16 << 12 gives c = 0x60
/// (gpg --list-packets prints it as "count 65536 (96)").
const S2K_COUNT_65536: u8 = 0x60;

pub fn encrypt(plain: &[u8], passphrase: &Passphrase) -> Result<Vec<u8>, BackupError> {
    let mut rng = rand08::rngs::OsRng;
    let mut builder = MessageBuilder::from_bytes("", plain.to_vec())
        .seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
    builder.compression(CompressionAlgorithm::ZIP);
    let s2k = StringToKey::new_iterated(&mut rng, HashAlgorithm::Sha512, S2K_COUNT_65536);
    builder
        .encrypt_with_password(s2k, &passphrase.to_pgp())
        .map_err(|e| BackupError::Encrypt(e.to_string()))?;
    builder
        .to_vec(rng)
        .map_err(|e| BackupError::Encrypt(e.to_string()))
}

/// The plaintext of a passphrase-encrypted file; the MDC is checked when the
/// last byte is read, so a changed or cut file fails here, never later.
pub fn decrypt(bytes: &[u8], passphrase: &Passphrase, path: &Path) -> Result<Vec<u8>, BackupError> {
    let damaged = |detail: String| BackupError::Damaged {
        path: path.to_owned(),
        detail: format!("OpenPGP: {detail}"),
    };
    let message = Message::from_bytes(bytes).map_err(|e| damaged(e.to_string()))?;
    if !message.is_encrypted() {
        return Err(damaged("not encrypted with a passphrase".to_owned()));
    }
    let mut message = message
        .decrypt_with_password(&passphrase.to_pgp())
        .map_err(|e| match e {
            // No session key came out of the passphrase.
            pgp::errors::Error::MissingKey => BackupError::WrongPassphrase(path.to_owned()),
            e => BackupError::Decrypt {
                path: path.to_owned(),
                detail: e.to_string(),
            },
        })?;
    while message.is_compressed() {
        message = message.decompress().map_err(|e| damaged(e.to_string()))?;
    }
    message.as_data_vec().map_err(|e| damaged(e.to_string()))
}
