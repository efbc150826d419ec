//! Opaque pagination tokens.
//!
//! A token carries the keyset position to continue after, the list it belongs to, and when it
//! was issued, signed with a key every API node reads from the database. A token that was
//! altered, belongs to another list, or is older than a day is answered with `InvalidToken`,
//! as AWS does.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;

use crate::Error;

type HmacSha256 = Hmac<Sha256>;

/// AWS pagination tokens expire after 24 hours.
const LIFETIME_SECONDS: i64 = 24 * 60 * 60;

#[derive(Clone)]
pub struct PageTokens {
    key: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    /// Which list (and filter) the token continues, e.g. `activities`.
    l: String,
    /// The position to continue after.
    p: i64,
    /// Issued at, epoch seconds.
    t: i64,
}

impl PageTokens {
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn mac(&self, payload: &[u8]) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.key).expect("hmac accepts keys of any length");
        mac.update(payload);
        mac
    }

    pub fn issue(&self, list: &str, position: i64) -> String {
        let payload = Payload {
            l: list.to_owned(),
            p: position,
            t: OffsetDateTime::now_utc().unix_timestamp(),
        };
        let payload = serde_json::to_vec(&payload).unwrap_or_default();
        let tag = self.mac(&payload).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The position a token continues after, if the token is genuine and belongs to `list`.
    pub fn read(&self, list: &str, token: &str) -> Result<i64, Error> {
        let invalid = || Error::InvalidToken(format!("Invalid Token: '{token}'"));
        let (payload, tag) = token.split_once('.').ok_or_else(invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        self.mac(&payload)
            .verify_slice(&tag)
            .map_err(|_| invalid())?;
        let payload: Payload = serde_json::from_slice(&payload).map_err(|_| invalid())?;
        if payload.l != list {
            return Err(invalid());
        }
        let age = OffsetDateTime::now_utc().unix_timestamp() - payload.t;
        if !(0..=LIFETIME_SECONDS).contains(&age) {
            return Err(Error::InvalidToken(format!(
                "Invalid Token: '{token}' (expired)"
            )));
        }
        Ok(payload.p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_tampering() {
        let tokens = PageTokens::new(b"secret".to_vec());
        let token = tokens.issue("activities", 42);
        assert_eq!(tokens.read("activities", &token).ok(), Some(42));
        assert!(tokens.read("stateMachines", &token).is_err());
        let mut forged = token.clone().into_bytes();
        forged[3] ^= 1;
        let forged = String::from_utf8_lossy(&forged).into_owned();
        assert!(tokens.read("activities", &forged).is_err());
        assert!(tokens.read("activities", "garbage").is_err());
        let other = PageTokens::new(b"other".to_vec());
        assert!(other.read("activities", &token).is_err());
    }
}
