//! Strings a user controls, kept losslessly in text columns.
//!
//! PostgreSQL's text cannot hold the NUL character, which JSON and AWS allow in an error, a
//! cause, a trace header or a worker's name. Such columns hold the string's JSON literal
//! (`"E\u0000"`), which escapes it; [`UserText`] reads them back. Columns that hold JSON text
//! (inputs, outputs, history events, snapshots, signals) need nothing: JSON escapes NUL itself.

use sqlx::postgres::{PgTypeInfo, PgValueRef};
use sqlx::{Decode, Postgres, Type};

/// The text to store for `s`.
pub fn encode(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// A user's string read from a column written with [`encode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserText(pub String);

impl UserText {
    fn decode(stored: &str) -> Self {
        // A value that is not a JSON string was not written by `encode`: it is shown as stored.
        Self(serde_json::from_str(stored).unwrap_or_else(|_| stored.to_owned()))
    }
}

impl From<UserText> for String {
    fn from(text: UserText) -> Self {
        text.0
    }
}

impl Type<Postgres> for UserText {
    fn type_info() -> PgTypeInfo {
        <String as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <String as Type<Postgres>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Postgres> for UserText {
    fn decode(value: PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let stored = <&str as Decode<Postgres>>::decode(value)?;
        Ok(Self::decode(stored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_nul_and_quotes() {
        for s in ["E\0", "plain", "\"quoted\" \\ back", ""] {
            let stored = encode(s);
            assert!(!stored.contains('\0'));
            assert_eq!(UserText::decode(&stored).0, s);
        }
        // Written before this encoding: shown as it is.
        assert_eq!(UserText::decode("legacy").0, "legacy");
    }
}
