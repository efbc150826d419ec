//! The naming rule shared by activities, state machines and executions.

/// Whether AWS accepts `name` for an activity, state machine or execution: 1–80 characters and
/// none of whitespace, brackets `< > { } [ ]`, wildcards `? *`, the characters
/// `" # % \ ^ | ~ ` $ & , ; : /`, or control characters (U+0000–001F, U+007F–009F).
pub fn is_valid_resource_name(name: &str) -> bool {
    let length = name.chars().count();
    (1..=80).contains(&length) && !name.chars().any(is_forbidden)
}

fn is_forbidden(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '<' | '>'
                | '{'
                | '}'
                | '['
                | ']'
                | '?'
                | '*'
                | '"'
                | '#'
                | '%'
                | '\\'
                | '^'
                | '|'
                | '~'
                | '`'
                | '$'
                | '&'
                | ','
                | ';'
                | ':'
                | '/'
                | '\u{FFFE}'
                | '\u{FFFF}'
        )
}

#[cfg(test)]
mod tests {
    use super::is_valid_resource_name;

    #[test]
    fn accepts_ordinary_names() {
        for name in ["a", "activity-1_x.y", "名前", &"x".repeat(80)] {
            assert!(is_valid_resource_name(name), "{name}");
        }
    }

    #[test]
    fn rejects_what_aws_rejects() {
        for name in [
            "", "a b", "a\tb", "a\u{0}", "a\u{1f}", "a\u{85}", "a<b", "a>b", "a{b", "a}b", "a[b",
            "a]b", "a?b", "a*b", "a\"b", "a#b", "a%b", "a\\b", "a^b", "a|b", "a~b", "a`b", "a$b",
            "a&b", "a,b", "a;b", "a:b", "a/b",
        ] {
            assert!(!is_valid_resource_name(name), "{name:?}");
        }
        assert!(!is_valid_resource_name(&"x".repeat(81)));
    }
}
