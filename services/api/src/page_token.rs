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
/// How far ahead of the reading node's clock the issuing node's may be: any node accepts any
/// node's token, and their clocks differ a little (with whole seconds, a node a few
/// milliseconds behind sees a fresh token as issued a second in the future).
const CLOCK_SKEW_SECONDS: i64 = 60;

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

    fn mac(&self, payload: &[u8], binding: &[u8]) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.key).expect("hmac accepts keys of any length");
        mac.update(payload);
        // Unbound tokens sign the payload alone, as they always have.
        if !binding.is_empty() {
            mac.update(b"\0");
            mac.update(binding);
        }
        mac
    }

    pub fn issue(&self, list: &str, position: i64) -> String {
        self.issue_at(list, position, b"", now())
    }

    /// As [`PageTokens::issue`], with `binding` signed but not carried: the token reads only
    /// where the same binding is given again (a console session bound to its key's secret,
    /// which rotating the secret then ends).
    pub fn issue_bound(&self, list: &str, position: i64, binding: &[u8]) -> String {
        self.issue_at(list, position, binding, now())
    }

    /// [`PageTokens::issue`] at `issued` (epoch seconds), so that expiry can be tested without
    /// waiting a day.
    fn issue_at(&self, list: &str, position: i64, binding: &[u8], issued: i64) -> String {
        let payload = Payload {
            l: list.to_owned(),
            p: position,
            t: issued,
        };
        let payload = serde_json::to_vec(&payload).unwrap_or_default();
        let tag = self.mac(&payload, binding).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The position a token continues after, if the token is genuine and belongs to `list`.
    pub fn read(&self, list: &str, token: &str) -> Result<i64, Error> {
        self.read_at(list, token, b"", now())
    }

    /// Reads a token of [`PageTokens::issue_bound`] with the same `binding`.
    pub fn read_bound(&self, list: &str, token: &str, binding: &[u8]) -> Result<i64, Error> {
        self.read_at(list, token, binding, now())
    }

    /// [`PageTokens::read`] as of `now` (epoch seconds): the one place the lifetime is applied.
    fn read_at(&self, list: &str, token: &str, binding: &[u8], now: i64) -> Result<i64, Error> {
        let invalid = || Error::InvalidToken(format!("Invalid Token: '{token}'"));
        let (payload, tag) = token.split_once('.').ok_or_else(invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| invalid())?;
        self.mac(&payload, binding)
            .verify_slice(&tag)
            .map_err(|_| invalid())?;
        let payload: Payload = serde_json::from_slice(&payload).map_err(|_| invalid())?;
        if payload.l != list {
            return Err(invalid());
        }
        // A token from further in the future than clocks differ was not issued as it says:
        // refused, rather than honoured for longer than a day.
        let age = now - payload.t;
        if !(-CLOCK_SKEW_SECONDS..=LIFETIME_SECONDS).contains(&age) {
            return Err(Error::InvalidToken(format!(
                "Invalid Token: '{token}' (expired)"
            )));
        }
        Ok(payload.p)
    }
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
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

    fn expired(result: Result<i64, Error>) -> bool {
        matches!(result, Err(Error::InvalidToken(message)) if message.ends_with("(expired)"))
    }

    /// Pagination tokens expire after 24 hours with `InvalidToken` "(expired)", as in AWS.
    #[test]
    fn tokens_expire_after_a_day() {
        let tokens = PageTokens::new(b"secret".to_vec());
        let issued = 1_700_000_000;
        let token = tokens.issue_at("executions", 7, b"", issued);
        assert_eq!(
            tokens.read_at("executions", &token, b"", issued).ok(),
            Some(7)
        );
        let just_in_time = issued + LIFETIME_SECONDS - 1;
        assert_eq!(
            tokens.read_at("executions", &token, b"", just_in_time).ok(),
            Some(7),
            "a token 24 h - 1 s old is accepted"
        );
        assert_eq!(
            tokens
                .read_at("executions", &token, b"", issued + LIFETIME_SECONDS)
                .ok(),
            Some(7),
            "a token exactly 24 h old is still accepted"
        );
        let too_late = issued + LIFETIME_SECONDS + 1;
        assert!(
            expired(tokens.read_at("executions", &token, b"", too_late)),
            "a token 24 h + 1 s old is refused as expired"
        );
        assert_eq!(
            tokens.read_at("executions", &token, b"", issued - 1).ok(),
            Some(7),
            "a token issued by a node whose clock is a second ahead is accepted"
        );
        assert!(
            expired(tokens.read_at("executions", &token, b"", issued - CLOCK_SKEW_SECONDS - 1)),
            "a token from the future, beyond clock skew, is refused"
        );
        // A tampered token is invalid, not expired: the signature is checked first.
        let forged = format!("{token}x");
        assert!(matches!(
            tokens.read_at("executions", &forged, b"", issued),
            Err(Error::InvalidToken(message)) if !message.ends_with("(expired)")
        ));
    }

    #[test]
    fn a_bound_token_reads_only_with_its_binding() {
        let tokens = PageTokens::new(b"secret".to_vec());
        let token = tokens.issue_bound("session", 0, b"alice's secret");
        assert_eq!(
            tokens.read_bound("session", &token, b"alice's secret").ok(),
            Some(0)
        );
        assert!(tokens.read_bound("session", &token, b"rotated").is_err());
        assert!(tokens.read("session", &token).is_err());
        // The binding is not in the token.
        assert!(!token.contains("alice"));
    }

    #[test]
    fn the_public_functions_use_the_real_clock() {
        let tokens = PageTokens::new(b"secret".to_vec());
        let old = tokens.issue_at("activities", 3, b"", now() - LIFETIME_SECONDS - 60);
        assert!(expired(tokens.read("activities", &old)));
        let fresh = tokens.issue("activities", 3);
        assert_eq!(
            tokens.read_at("activities", &fresh, b"", now()).ok(),
            Some(3)
        );
    }
}
