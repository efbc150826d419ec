//! The syntax tree of an intrinsic function call: `Name(arg, …)` where each argument is a
//! literal, a path, or another call.

use super::lexer::{StringLit, Token, tokenize};

/// How deep calls may nest before we refuse the expression. AWS documents 10 levels and
/// enforces them when the definition is created; here it only guards the recursion.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Call { name: String, args: Vec<Expr> },
    Str(StringLit),
    Number(String),
    Bool(bool),
    Null,
    Path(String),
}

/// Parses a whole expression, which must be exactly one function call.
pub fn parse(src: &str) -> Result<Expr, String> {
    let tokens = tokenize(src)?;
    let mut parser = Parser { tokens, pos: 0 };
    let expr = parser.call(0)?;
    if parser.pos != parser.tokens.len() {
        return Err("unexpected input after the closing parenthesis".to_string());
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn call(&mut self, depth: usize) -> Result<Expr, String> {
        if depth >= MAX_DEPTH {
            return Err("intrinsic functions are nested too deeply".to_string());
        }
        let name = match self.next() {
            Some(Token::Name(name)) => name,
            _ => return Err("expected an intrinsic function name".to_string()),
        };
        if self.next() != Some(Token::Open) {
            return Err(format!("expected '(' after {name}"));
        }
        let mut args = Vec::new();
        if self.peek() == Some(&Token::Close) {
            self.pos += 1;
            return Ok(Expr::Call { name, args });
        }
        loop {
            args.push(self.argument(depth)?);
            match self.next() {
                Some(Token::Comma) => {}
                Some(Token::Close) => return Ok(Expr::Call { name, args }),
                _ => return Err(format!("expected ',' or ')' in the arguments of {name}")),
            }
        }
    }

    fn argument(&mut self, depth: usize) -> Result<Expr, String> {
        match self.peek() {
            Some(Token::Name(_)) => self.call(depth + 1),
            _ => match self.next() {
                Some(Token::Str(lit)) => Ok(Expr::Str(lit)),
                Some(Token::Number(n)) => Ok(Expr::Number(n)),
                Some(Token::True) => Ok(Expr::Bool(true)),
                Some(Token::False) => Ok(Expr::Bool(false)),
                Some(Token::Null) => Ok(Expr::Null),
                Some(Token::Path(p)) => Ok(Expr::Path(p)),
                _ => Err("expected an argument".to_string()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Expr, MAX_DEPTH, parse};

    #[test]
    fn parses_nested_calls() {
        let e = parse("States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)")
            .expect("parses");
        let Expr::Call { name, args } = e else {
            panic!("not a call");
        };
        assert_eq!(name, "States.ArrayGetItem");
        assert_eq!(args.len(), 2);
        assert!(
            matches!(&args[0], Expr::Call { name, args } if name == "States.StringSplit" && args.len() == 2)
        );
        assert_eq!(args[1], Expr::Number("0".into()));
    }

    #[test]
    fn parses_empty_argument_lists() {
        assert_eq!(
            parse(" States.UUID( ) "),
            Ok(Expr::Call {
                name: "States.UUID".into(),
                args: vec![]
            })
        );
    }

    #[test]
    fn refuses_malformed_calls() {
        for bad in [
            "States.Array(",
            "States.Array($.a) trailing",
            "States.Array($.a,)",
            "States.Array(, 1)",
            "States.Array 1",
            "$.a",
            "'x'",
            "States.Array(1 2)",
            "States.Array(1))",
        ] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
    }

    #[test]
    fn guards_deep_nesting() {
        let deep = |n: usize| format!("{}1{}", "States.Array(".repeat(n), ")".repeat(n));
        assert!(parse(&deep(11)).is_ok());
        assert!(parse(&deep(MAX_DEPTH + 1)).is_err());
    }
}
