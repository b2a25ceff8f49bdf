//! The node's libp2p identity: its key file (`daylight-p2p-key-v1 <hex>`), generated and read.

use super::*;

/// A libp2p identity from a 32-byte Ed25519 secret.
pub fn identity_from_secret(secret: [u8; 32]) -> Result<identity::Keypair, NetworkError> {
    identity::Keypair::ed25519_from_bytes(secret).map_err(|e| NetworkError::Setup(e.to_string()))
}

/// First word of a p2p identity key file: `daylight-p2p-key-v1 <64 hex digits>`.
const IDENTITY_FILE_TAG: &str = "daylight-p2p-key-v1";

/// A fresh libp2p identity: the key file text and the peer id it gives.
pub fn generate_identity() -> Result<(String, PeerId), NetworkError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| NetworkError::Setup(e.to_string()))?;
    let keypair = identity_from_secret(secret)?;
    Ok((
        format!("{IDENTITY_FILE_TAG} {}", hex::encode(secret)),
        keypair.public().to_peer_id(),
    ))
}

/// Reads a libp2p identity key file written by [`generate_identity`].
pub fn parse_identity(text: &str) -> Result<identity::Keypair, NetworkError> {
    let bad = || {
        NetworkError::Setup(format!(
            "a p2p key file holds `{IDENTITY_FILE_TAG} <64 hex digits>`"
        ))
    };
    let hex_secret = text
        .trim()
        .strip_prefix(IDENTITY_FILE_TAG)
        .map(str::trim)
        .ok_or_else(bad)?;
    let secret: [u8; 32] = hex::decode(hex_secret)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    identity_from_secret(secret)
}
