//! `StringMatches`: `*` matches any run of characters (including none); `\*` is a literal star
//! and `\\` a literal backslash. A backslash before any other character stands for itself, so
//! `a\b` matches the text `a\b`.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Token {
    Literal(char),
    Star,
}

fn tokens(pattern: &str) -> Vec<Token> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&next @ ('*' | '\\')) => {
                    chars.next();
                    out.push(Token::Literal(next));
                }
                _ => out.push(Token::Literal('\\')),
            },
            '*' => out.push(Token::Star),
            other => out.push(Token::Literal(other)),
        }
    }
    out
}

/// Whether `text` matches the whole `pattern`.
pub(super) fn string_matches(text: &str, pattern: &str) -> bool {
    let pattern = tokens(pattern);
    let text: Vec<char> = text.chars().collect();
    // Greedy matching with one backtrack point (the last star): linear in practice and never
    // worse than O(text × pattern), so a hostile pattern cannot blow up.
    let (mut t, mut p) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Token::Star) => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(Token::Literal(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match backtrack {
                // Let the last star swallow one more character and retry after it.
                Some((star, start)) => {
                    p = star + 1;
                    t = start + 1;
                    backtrack = Some((star, start + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|token| *token == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::string_matches;

    #[test]
    fn wildcards() {
        assert!(string_matches("log-2024.txt", "log-*.txt"));
        assert!(string_matches("log-.txt", "log-*.txt"));
        assert!(!string_matches("log-2024.csv", "log-*.txt"));
        assert!(string_matches("anything", "*"));
        assert!(string_matches("", "*"));
        assert!(string_matches("", "**"));
        assert!(!string_matches("", "a*"));
        assert!(string_matches("abc", "a*b*c"));
        assert!(string_matches("aXbYbZc", "a*b*c"));
        assert!(!string_matches("acb", "a*b*c"));
        assert!(string_matches("mississippi", "*sip*"));
        assert!(string_matches("exact", "exact"));
        assert!(!string_matches("exact!", "exact"));
        assert!(!string_matches("Exact", "exact"));
        assert!(string_matches(
            "héllo wörld",
            "h?llo*".replace('?', "é").as_str()
        ));
    }

    #[test]
    fn escapes() {
        // Pattern text `a\*b` (JSON "a\\*b"): a literal star.
        assert!(string_matches("a*b", "a\\*b"));
        assert!(!string_matches("axb", "a\\*b"));
        // Pattern text `a\\*` : a literal backslash, then a wildcard.
        assert!(string_matches("a\\xyz", "a\\\\*"));
        assert!(string_matches("a\\", "a\\\\*"));
        assert!(!string_matches("axyz", "a\\\\*"));
        // Pattern text `\\\*`: backslash then star, both literal.
        assert!(string_matches("\\*", "\\\\\\*"));
        // A backslash before anything else is itself.
        assert!(string_matches("a\\b", "a\\b"));
        assert!(string_matches("trailing\\", "trailing\\"));
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let text = "a".repeat(5000);
        let pattern = format!("{}b", "*a".repeat(200));
        assert!(!string_matches(&text, &pattern));
    }
}
