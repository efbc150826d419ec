//! JSONata's built-in functions as jsonata-core 2.2.13 has them, and which of them this crate
//! guards.
//!
//! jsonata-core keeps its own table private; this one must list the same names (a test checks
//! that every name here is a function in jsonata-core, and `free_variables` relies on it to
//! leave calls of built-ins out).

/// One built-in.
pub(crate) struct Builtin {
    pub name: &'static str,
    /// jsonata-js's `implementation.length`: how many arguments a higher-order function hands
    /// it when it is passed by reference (`$map(xs, $string)`).
    pub arity: usize,
    pub guard: Guard,
}

/// What this crate does around calls of a built-in (see `rewrite`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// Nothing.
    None,
    /// Strings it returns count toward the evaluation's live string bytes: its output is
    /// about as large as its input, so only repetition makes it large.
    Result,
    /// Its arguments are checked before it runs, since a small input can make it build a huge
    /// value (`$pad("", 1e9)`), and its result counts as for `Result`.
    Arguments,
}

const fn b(name: &'static str, arity: usize, guard: Guard) -> Builtin {
    Builtin { name, arity, guard }
}

use Guard::{Arguments, None as Unguarded, Result};

/// Sorted by name.
pub(crate) static BUILTINS: &[Builtin] = &[
    b("abs", 1, Unguarded),
    b("append", 2, Unguarded),
    b("assert", 2, Unguarded),
    b("average", 1, Unguarded),
    b("base64decode", 1, Result),
    b("base64encode", 1, Result),
    b("boolean", 1, Unguarded),
    b("ceil", 1, Unguarded),
    b("contains", 2, Unguarded),
    b("count", 1, Unguarded),
    b("decodeUrl", 1, Result),
    b("decodeUrlComponent", 1, Result),
    // Compares its items deeply: a value with exponentially shared parts would never finish.
    b("distinct", 1, Arguments),
    b("each", 2, Unguarded),
    b("encodeUrl", 1, Result),
    b("encodeUrlComponent", 1, Result),
    b("error", 1, Unguarded),
    b("eval", 2, Unguarded),
    b("exists", 1, Unguarded),
    b("filter", 2, Unguarded),
    b("floor", 1, Unguarded),
    b("formatBase", 2, Result),
    // Roman numerals are as long as the number is large.
    b("formatInteger", 2, Arguments),
    b("formatNumber", 3, Result),
    // Picture widths (`[f,100000000]`) pad to any length.
    b("fromMillis", 3, Arguments),
    b("join", 2, Arguments),
    b("keys", 1, Unguarded),
    b("length", 1, Unguarded),
    b("lookup", 2, Unguarded),
    b("lowercase", 1, Result),
    b("map", 2, Unguarded),
    // One match object per match: a few hundred bytes for each character of the input.
    b("match", 3, Arguments),
    b("max", 1, Unguarded),
    b("merge", 1, Unguarded),
    b("millis", 0, Unguarded),
    b("min", 1, Unguarded),
    b("not", 1, Unguarded),
    b("now", 2, Unguarded),
    b("number", 1, Unguarded),
    b("pad", 3, Arguments),
    b("parseInteger", 2, Unguarded),
    b("power", 2, Unguarded),
    b("random", 0, Unguarded),
    b("reduce", 3, Unguarded),
    b("replace", 4, Arguments),
    b("reverse", 1, Unguarded),
    b("round", 2, Unguarded),
    b("shuffle", 1, Unguarded),
    b("sift", 2, Unguarded),
    b("single", 2, Unguarded),
    b("sort", 2, Unguarded),
    b("split", 3, Arguments),
    b("spread", 1, Unguarded),
    b("sqrt", 1, Unguarded),
    b("string", 1, Arguments),
    b("substring", 3, Result),
    b("substringAfter", 2, Result),
    b("substringBefore", 2, Result),
    b("sum", 1, Unguarded),
    // Picture widths, and the clock (see `impure`).
    b("toMillis", 2, Arguments),
    b("trim", 1, Result),
    b("type", 1, Unguarded),
    b("uppercase", 1, Result),
    b("zip", 0, Unguarded),
];

/// The built-in called `name`.
pub(crate) fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS
        .binary_search_by_key(&name, |b| b.name)
        .ok()
        .and_then(|i| BUILTINS.get(i))
}

/// What this crate does around calls of `name`.
pub(crate) fn guard(name: &str) -> Guard {
    builtin(name).map_or(Guard::None, |b| b.guard)
}

/// The signature jsonata-core validates a guarded built-in's arguments against, for the
/// function that stands in for the built-in when it is passed as a value (see
/// `rewrite::reference`): called with too few or wrong arguments, it fails as the built-in
/// would. Only where the signature has as many parameters as the arity (`$string`'s has two
/// and an arity of one, so a higher-order function would hand it its index).
pub(crate) fn stand_in_signature(name: &str) -> Option<&'static str> {
    Some(match name {
        "base64decode" | "base64encode" | "decodeUrl" | "decodeUrlComponent" | "encodeUrl"
        | "encodeUrlComponent" | "lowercase" | "trim" | "uppercase" => "<s-:s>",
        "distinct" => "<x:x>",
        "formatBase" => "<n-n?:s>",
        "formatInteger" => "<n-s:s>",
        "formatNumber" => "<n-so?:s>",
        "fromMillis" => "<n-s?s?:s>",
        "join" => "<a<s>s?:s>",
        "match" => "<s-f<s:o>n?:a<o>>",
        "pad" => "<s-ns?:s>",
        "replace" => "<s-(sf)(sf)n?:s>",
        "split" => "<s-(sf)n?:a<s>>",
        "substring" => "<s-nn?:s>",
        "substringAfter" | "substringBefore" => "<s-s:s>",
        "toMillis" => "<s-s?:n>",
        _ => return None,
    })
}
