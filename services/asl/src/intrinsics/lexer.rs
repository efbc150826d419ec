//! Tokens of an intrinsic function call: `States.Name`, `(`, `)`, `,`, single-quoted strings,
//! numbers, `true`/`false`/`null`, and path arguments (`$…`, `$$…`).

/// A string literal: its value with escapes applied, and for `States.Format` the pieces that
/// tell an escaped brace (`\{`, a literal character) from a placeholder brace.
#[derive(Debug, Clone, PartialEq)]
pub struct StringLit {
    pub value: String,
    /// The literal's characters, each marked `true` when it came from a backslash escape.
    pub chars: Vec<(char, bool)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A function name such as `States.Format`.
    Name(String),
    Open,
    Close,
    Comma,
    Str(StringLit),
    /// The number's text exactly as written, so integers stay integers.
    Number(String),
    True,
    False,
    Null,
    /// A path argument, e.g. `$.a[0]`, `$$.Execution.Id`, `$['x']` or a variable `$name`.
    Path(String),
}

/// Splits `src` into tokens; `Err` carries a description of what was wrong.
pub fn tokenize(src: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '\'' => {
                let (lit, next) = string_literal(&chars, i + 1)?;
                tokens.push(Token::Str(lit));
                i = next;
            }
            '$' => {
                let next = path_end(&chars, i)?;
                tokens.push(Token::Path(chars[i..next].iter().collect()));
                i = next;
            }
            '-' | '0'..='9' => {
                let next = number_end(&chars, i)?;
                tokens.push(Token::Number(chars[i..next].iter().collect()));
                i = next;
            }
            c if c.is_ascii_alphabetic() => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                tokens.push(match word.as_str() {
                    "true" => Token::True,
                    "false" => Token::False,
                    "null" => Token::Null,
                    _ => Token::Name(word),
                });
            }
            other => return Err(format!("unexpected character '{other}' at position {i}")),
        }
    }
    Ok(tokens)
}

/// Reads a single-quoted literal whose body starts at `start`; returns it and the index after
/// the closing quote. `\'`, `\{`, `\}` and `\\` are escapes; any other backslash stays as
/// written (AWS passes e.g. `\"` through, which lets a literal hold escaped JSON).
fn string_literal(chars: &[char], start: usize) -> Result<(StringLit, usize), String> {
    let mut out = Vec::new();
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '\'' => {
                let value = out.iter().map(|&(c, _)| c).collect();
                return Ok((StringLit { value, chars: out }, i + 1));
            }
            '\\' => match chars.get(i + 1) {
                Some(&e @ ('\'' | '{' | '}' | '\\')) => {
                    out.push((e, true));
                    i += 2;
                }
                _ => {
                    out.push(('\\', false));
                    i += 1;
                }
            },
            c => {
                out.push((c, false));
                i += 1;
            }
        }
    }
    Err("unterminated string literal".to_string())
}

/// A path runs until a `,` or `)` outside brackets and quotes (so `$['a,b']` and `$.a[0]`
/// stay whole); trailing whitespace is not part of it.
fn path_end(chars: &[char], start: usize) -> Result<usize, String> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == '\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
        } else {
            match c {
                '\'' | '"' => quote = Some(c),
                '[' | '(' => depth += 1,
                ']' | ')' if depth > 0 => depth -= 1,
                ',' | ')' => break,
                _ => {}
            }
        }
        i += 1;
    }
    if quote.is_some() || depth > 0 {
        return Err("unterminated path argument".to_string());
    }
    while i > start && chars[i - 1].is_whitespace() {
        i -= 1;
    }
    Ok(i)
}

/// A JSON-style number: `-?digits(.digits)?([eE][+-]?digits)?` (`1.` and `.5` are refused).
fn number_end(chars: &[char], start: usize) -> Result<usize, String> {
    let digits = |mut i: usize| {
        let from = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        (i, i > from)
    };
    let mut i = start;
    if chars[i] == '-' {
        i += 1;
    }
    let (mut i, any) = digits(i);
    if !any {
        return Err("invalid number literal".to_string());
    }
    if chars.get(i) == Some(&'.') {
        let (next, any) = digits(i + 1);
        if !any {
            return Err("invalid number literal".to_string());
        }
        i = next;
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(chars.get(j), Some('+' | '-')) {
            j += 1;
        }
        let (next, any) = digits(j);
        if !any {
            return Err("invalid number literal".to_string());
        }
        i = next;
    }
    if chars
        .get(i)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '.')
    {
        return Err("invalid number literal".to_string());
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::{Token, tokenize};

    fn s(tokens: &[Token]) -> Vec<String> {
        tokens.iter().map(|t| format!("{t:?}")).collect()
    }

    #[test]
    fn tokenizes_calls_literals_and_paths() {
        let t = tokenize("States.Format('a\\'b\\{}', $.x[0], $$.Execution.Id, -1.5, true, null)")
            .expect("tokenizes");
        assert_eq!(t.len(), 14);
        assert_eq!(t[0], Token::Name("States.Format".into()));
        let Token::Str(lit) = &t[2] else {
            panic!("expected a string, got {:?}", s(&t));
        };
        assert_eq!(lit.value, "a'b{}");
        assert!(lit.chars[3].1 && !lit.chars[4].1);
        assert_eq!(t[4], Token::Path("$.x[0]".into()));
        assert_eq!(t[6], Token::Path("$$.Execution.Id".into()));
        assert_eq!(t[8], Token::Number("-1.5".into()));
        assert_eq!(t[10], Token::True);
        assert_eq!(t[12], Token::Null);
    }

    #[test]
    fn paths_keep_brackets_and_quotes_whole() {
        let t = tokenize("States.Array($['a,b'] , $.c)").expect("tokenizes");
        assert_eq!(t[2], Token::Path("$['a,b']".into()));
        assert_eq!(t[4], Token::Path("$.c".into()));
    }

    #[test]
    fn other_backslashes_and_newlines_pass_through() {
        let t = tokenize("States.StringToJson('{\\\"a\\\":\\\\1}\n')").expect("tokenizes");
        let Token::Str(lit) = &t[2] else {
            panic!("expected a string, got {:?}", s(&t));
        };
        assert_eq!(lit.value, "{\\\"a\\\":\\1}\n");
    }

    #[test]
    fn refuses_malformed_input() {
        assert!(tokenize("States.Array('abc").is_err());
        assert!(tokenize("States.Array(1.)").is_err());
        assert!(tokenize("States.Array(.5)").is_err());
        assert!(tokenize("States.Array(-)").is_err());
        assert!(tokenize("States.Array($['a)").is_err());
        assert!(tokenize("States.Array([1,2])").is_err());
        assert!(tokenize("States.Array(1e)").is_err());
        assert_eq!(
            tokenize("States.MathAdd(1e3, 2E-1)").map(|t| t.len()),
            Ok(6)
        );
    }
}
