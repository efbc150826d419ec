//! Parsing JSONPath in the dialect AWS accepts (Jayway's): `$.a.b`, `$['a b']`, `$.a[0]`, and the
//! indefinite forms (wildcards, slices, unions, filters, `..`).
//!
//! Definite paths are evaluated here, reproducing Jayway's behaviour and messages, because AWS's
//! errors quote them. Indefinite paths are rewritten into RFC 9535 syntax (bracketed names, so
//! `$.delivery-partner` parses) and evaluated by `serde_json_path`.

use serde_json::Value;

/// Which document a path reads: `$…` the state's input, `$$…` the context object, `$name…`
/// the variable `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    Input,
    Context,
    Variable(String),
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// `.name` or `['name']`.
    Key(String),
    /// `[3]` or `[-1]`.
    Index(i64),
    /// Anything that may select several nodes; kept as its RFC 9535 spelling (e.g. `[*]`,
    /// `[1:3]`, `[?(@.a == 1)]`, `..`).
    Indefinite(String),
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedPath {
    pub root: Root,
    pub segments: Vec<Segment>,
}

impl ParsedPath {
    /// Whether the path selects at most one node (only names and indices), as Jayway decides
    /// whether to return a value or a list.
    pub fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| !matches!(s, Segment::Indefinite(_)))
    }

    /// The RFC 9535 spelling of the path (always rooted at `$`, whichever document it reads).
    pub fn to_rfc9535(&self) -> String {
        let mut out = String::from("$");
        for segment in &self.segments {
            match segment {
                Segment::Key(key) => out.push_str(&bracket_key(key)),
                Segment::Index(index) => out.push_str(&format!("[{index}]")),
                Segment::Indefinite(text) => out.push_str(text),
            }
        }
        out
    }
}

/// `['name']` with quotes and backslashes escaped, the way Jayway prints paths in its messages
/// (and RFC 9535 accepts).
pub fn bracket_key(key: &str) -> String {
    let escaped = key.replace('\\', "\\\\").replace('\'', "\\'");
    format!("['{escaped}']")
}

/// Parses `path`; `Err` carries a message describing the syntax error.
pub fn parse(path: &str) -> Result<ParsedPath, String> {
    let (root, rest) = if let Some(rest) = path.strip_prefix("$$") {
        (Root::Context, rest)
    } else if let Some((name, rest)) = variable_root(path) {
        (Root::Variable(name.to_owned()), rest)
    } else if let Some(rest) = path.strip_prefix('$') {
        (Root::Input, rest)
    } else {
        return Err(format!("Path must start with '$' : {path}"));
    };
    let chars: Vec<char> = rest.chars().collect();
    let mut segments = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' if chars.get(i + 1) == Some(&'.') => {
                // Deep scan: `..name`, `..*` or `..[…]`; the rest of the step follows it.
                i += 2;
                let (step, next) = read_dot_step(&chars, i)?;
                let text = match step {
                    Some(DotStep::Name(name)) => format!("..{}", bracket_key(&name)),
                    Some(DotStep::Wildcard) => "..[*]".to_string(),
                    None => "..".to_string(),
                };
                i = next;
                if text == ".." {
                    let (bracket, next) = read_bracket(&chars, i)?;
                    i = next;
                    segments.push(Segment::Indefinite(format!("..{}", bracket.rfc9535())));
                } else {
                    segments.push(Segment::Indefinite(text));
                }
            }
            '.' => {
                let (step, next) = read_dot_step(&chars, i + 1)?;
                i = next;
                match step {
                    Some(DotStep::Name(name)) => segments.push(Segment::Key(name)),
                    Some(DotStep::Wildcard) => segments.push(Segment::Indefinite("[*]".into())),
                    None => return Err(format!("Path must not end with a '.' : {path}")),
                }
            }
            '[' => {
                let (bracket, next) = read_bracket(&chars, i)?;
                i = next;
                segments.push(bracket.into_segment());
            }
            other => return Err(format!("Unexpected character '{other}' in path {path}")),
        }
    }
    Ok(ParsedPath { root, segments })
}

/// `$name…`: the name of a variable (a letter or `_`, then letters, digits and `_`) and the
/// rest of the path.
fn variable_root(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix('$')?;
    if !rest.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        return None;
    }
    let end = rest.find(['.', '[']).unwrap_or(rest.len());
    Some((&rest[..end], &rest[end..]))
}

enum DotStep {
    Name(String),
    Wildcard,
}

/// Reads the name after a `.`: Jayway takes everything up to the next `.` or `[`.
fn read_dot_step(chars: &[char], start: usize) -> Result<(Option<DotStep>, usize), String> {
    if chars.get(start) == Some(&'*') {
        return Ok((Some(DotStep::Wildcard), start + 1));
    }
    let mut end = start;
    while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
        end += 1;
    }
    if end == start {
        return Ok((None, start));
    }
    let name: String = chars[start..end].iter().collect();
    if name.contains(' ') {
        return Err(format!(
            "Use bracket notation ['my prop'] if your property contains blank characters. position: {start}"
        ));
    }
    Ok((Some(DotStep::Name(name)), end))
}

/// The content of one `[...]`.
enum Bracket {
    Names(Vec<String>),
    Index(i64),
    /// Already in RFC 9535 spelling, brackets included.
    Other(String),
}

impl Bracket {
    fn into_segment(self) -> Segment {
        match self {
            Bracket::Names(mut names) if names.len() == 1 => match names.pop() {
                Some(name) => Segment::Key(name),
                None => Segment::Indefinite("[]".into()),
            },
            Bracket::Index(index) => Segment::Index(index),
            other => Segment::Indefinite(other.rfc9535()),
        }
    }

    fn rfc9535(&self) -> String {
        match self {
            Bracket::Names(names) => {
                let inner: Vec<String> = names
                    .iter()
                    .map(|n| bracket_key(n).trim_matches(['[', ']']).to_string())
                    .collect();
                format!("[{}]", inner.join(","))
            }
            Bracket::Index(index) => format!("[{index}]"),
            Bracket::Other(text) => text.clone(),
        }
    }
}

/// Reads `[...]` starting at the `[`; returns the bracket and the index after its `]`.
fn read_bracket(chars: &[char], start: usize) -> Result<(Bracket, usize), String> {
    if chars.get(start) != Some(&'[') {
        return Err(format!("Expected '[' at position {start}"));
    }
    let mut i = start + 1;
    skip_blanks(chars, &mut i);
    match chars.get(i) {
        Some('\'') | Some('"') => {
            let mut names = Vec::new();
            loop {
                skip_blanks(chars, &mut i);
                let Some(&quote) = chars.get(i) else {
                    return Err("Unterminated bracket".into());
                };
                if quote != '\'' && quote != '"' {
                    return Err(format!("Expected a quoted name at position {i}"));
                }
                let (name, next) = read_quoted(chars, i + 1, quote)?;
                names.push(name);
                i = next;
                skip_blanks(chars, &mut i);
                match chars.get(i) {
                    Some(',') => i += 1,
                    Some(']') => return Ok((Bracket::Names(names), i + 1)),
                    _ => {
                        return Err(format!(
                            "Property must be separated by comma or Property must be terminated close square bracket at index {i}"
                        ));
                    }
                }
            }
        }
        Some('?') => {
            // A filter: copy through to the `]` that closes it, minding quotes and parentheses.
            let end = find_filter_end(chars, i)?;
            let text: String = chars[start..=end].iter().collect();
            Ok((Bracket::Other(text), end + 1))
        }
        _ => {
            let mut end = i;
            while end < chars.len() && chars[end] != ']' {
                end += 1;
            }
            if end >= chars.len() {
                return Err("Unterminated bracket".into());
            }
            let inner: String = chars[i..end].iter().collect::<String>().trim().to_string();
            if let Ok(index) = inner.parse::<i64>() {
                return Ok((Bracket::Index(index), end + 1));
            }
            let valid = inner == "*"
                || (!inner.is_empty()
                    && inner
                        .chars()
                        .all(|c| c.is_ascii_digit() || matches!(c, ':' | ',' | '-' | ' ')));
            if !valid {
                return Err(format!(
                    "Could not parse token starting at position {start}"
                ));
            }
            Ok((Bracket::Other(format!("[{inner}]")), end + 1))
        }
    }
}

/// Reads a quoted name from just after its opening quote. A backslash before the closing quote
/// character embeds it; other backslashes are kept as written (AWS matches `$['a\"b']` against the
/// key `a\"b`).
fn read_quoted(chars: &[char], start: usize, quote: char) -> Result<(String, usize), String> {
    let mut name = String::new();
    let mut i = start;
    while let Some(&c) = chars.get(i) {
        if c == '\\' && chars.get(i + 1) == Some(&quote) {
            name.push(quote);
            i += 2;
        } else if c == quote {
            return Ok((name, i + 1));
        } else {
            name.push(c);
            i += 1;
        }
    }
    Err("Property has not been closed - missing closing quote".into())
}

fn find_filter_end(chars: &[char], start: usize) -> Result<usize, String> {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut i = start;
    while let Some(&c) = chars.get(i) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) if c == '\\' => i += 1,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' => depth -= 1,
                ']' if depth == 0 => return Ok(i),
                _ => {}
            },
        }
        i += 1;
    }
    Err("Unterminated filter".into())
}

fn skip_blanks(chars: &[char], i: &mut usize) {
    while chars.get(*i).is_some_and(|c| c.is_whitespace()) {
        *i += 1;
    }
}

/// The name Jayway gives the class of a value it found where it wanted an object or array
/// (AWS's messages quote it; values are unwrapped from Jackson nodes except containers).
pub fn java_class_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "java.lang.Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => match n.as_i64() {
            Some(v) if i32::try_from(v).is_ok() => "java.lang.Integer",
            Some(_) => "java.lang.Long",
            None => "java.math.BigInteger",
        },
        Value::Number(_) => "java.lang.Double",
        Value::String(_) => "java.lang.String",
        Value::Array(_) => "com.fasterxml.jackson.databind.node.ArrayNode",
        Value::Object(_) => "com.fasterxml.jackson.databind.node.ObjectNode",
    }
}
