//! `Error`: the one error type of this crate, and how jsonata-core's errors map onto it.

use jsonata_core::evaluator::EvaluatorError;
use jsonata_core::parser::ParserError;

/// Why an expression could not be parsed or evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text is not a JSONata expression (JSONata's `S0xxx` codes).
    #[error("{message}")]
    Parse {
        code: String,
        message: String,
        /// jsonata-core reports no positions; kept for a parser that does.
        position: Option<usize>,
    },
    /// The expression failed on this input: a type error, `$error()`, a bad argument
    /// (JSONata's `T`, `D` and `U` codes, as jsonata-core reports them).
    #[error("{message}")]
    Evaluation {
        code: Option<String>,
        message: String,
    },
    /// A host function (see `Env::function`) refused, or a function only the host can
    /// supply (`$now`, `$millis`, `$random`) was called without one.
    #[error("${name}: {message}")]
    Function { name: String, message: String },
    /// A bound was reached: time, evaluation depth, sequence length, the size of a value
    /// being built, or the size or depth of the result. When jsonata-core raised it, the
    /// message starts with its code (`D1011`, `D1012`, `D2014`, `D2015`, `U1001`).
    #[error("{message}")]
    Limit { message: String },
    /// A function AWS Step Functions does not offer (`$eval`).
    #[error("${function} is not supported (AWS Step Functions does not allow it)")]
    Unsupported { function: String },
}

impl Error {
    /// The JSONata error code, where there is one (`S0201`, `T2002`, `D1012`, ...).
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Parse { code, .. } => Some(code),
            Error::Evaluation { code, .. } => code.as_deref(),
            Error::Limit { message } => leading_code(message),
            Error::Function { .. } | Error::Unsupported { .. } => None,
        }
    }

    pub(crate) fn limit(message: impl Into<String>) -> Self {
        Error::Limit {
            message: message.into(),
        }
    }
}

/// The codes jsonata-core raises when one of its own bounds is reached rather than because
/// the expression is wrong: they are `Error::Limit`s.
const LIMIT_CODES: [&str; 5] = [
    "D1011", // evaluation depth (`max_stack_depth`)
    "D1012", // timeout
    "D2014", // a range of more than 10,000,000 numbers
    "D2015", // a sequence longer than `max_sequence_length`
    "U1001", // jsonata-core's own depth backstop
];

impl From<ParserError> for Error {
    fn from(error: ParserError) -> Self {
        let message = error.to_string();
        // Most variants carry their code inside the message ("Invalid syntax: S0201: ...");
        // the few that do not get jsonata-js's code for the same mistake.
        let code = match &error {
            ParserError::UnclosedComment => Some("S0106"),
            ParserError::InvalidNumber(_) => Some("S0102"),
            _ => None,
        }
        .or_else(|| find_code(&message))
        .unwrap_or("S0201")
        .to_string();
        Error::Parse {
            code,
            message,
            position: None,
        }
    }
}

impl From<EvaluatorError> for Error {
    fn from(error: EvaluatorError) -> Self {
        // `message()` is the text without the "Type error: " that `Display` adds; JSONata's
        // code leads it.
        let message = error.message().to_string();
        // Most messages lead with the code; a few wrap it ("Signature validation failed:
        // T0410: ...").
        let code = error
            .code()
            .or_else(|| find_code(&message))
            .map(str::to_string);
        match code {
            Some(code) if LIMIT_CODES.contains(&code.as_str()) => Error::Limit { message },
            code => Error::Evaluation { code, message },
        }
    }
}

/// A JSONata code (`X0000`) at the start of `message`.
fn leading_code(message: &str) -> Option<&str> {
    jsonata_core::evaluator::error_code_prefix(message)
}

/// The first JSONata code (`X0000:`) anywhere in `message`: parser messages put one after a
/// prefix of their own.
fn find_code(message: &str) -> Option<&str> {
    message
        .char_indices()
        .filter(|(_, c)| c.is_ascii_uppercase())
        .find_map(|(i, _)| leading_code(&message[i..]))
}
