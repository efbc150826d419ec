//! Generated expressions: parsing and evaluating any of them returns (never panics past the
//! API, never aborts) and does so within the time limit, and the rewrite that bounds them
//! changes no outcome jsonata-core alone would give. `DIFF_SEEDS=15` runs the comparison over
//! fifteen times as many expressions (about a minute).

use std::time::{Duration, Instant};

use serde_json::json;

use super::plain;
use crate::{Env, Error, Expression, Limits};

/// xorshift64*: small, seeded, and the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.below(options.len())]
    }
}

const FUNCTIONS: &[&str] = &[
    "string",
    "length",
    "substring",
    "substringBefore",
    "substringAfter",
    "uppercase",
    "lowercase",
    "trim",
    "pad",
    "contains",
    "split",
    "join",
    "match",
    "replace",
    "eval",
    "base64encode",
    "base64decode",
    "encodeUrlComponent",
    "encodeUrl",
    "decodeUrlComponent",
    "decodeUrl",
    "number",
    "abs",
    "floor",
    "ceil",
    "round",
    "power",
    "sqrt",
    "random",
    "formatNumber",
    "formatBase",
    "formatInteger",
    "parseInteger",
    "sum",
    "max",
    "min",
    "average",
    "boolean",
    "not",
    "exists",
    "count",
    "append",
    "sort",
    "reverse",
    "shuffle",
    "distinct",
    "zip",
    "keys",
    "lookup",
    "spread",
    "merge",
    "sift",
    "each",
    "error",
    "assert",
    "type",
    "map",
    "filter",
    "reduce",
    "single",
    "now",
    "millis",
    "fromMillis",
    "toMillis",
    "partition",
    "f",
    "g",
];

const PICTURES: &[&str] = &[
    "\"[Y0001]-[M01]-[D01]\"",
    "\"[H]:[m]\"",
    "\"[Y,*-64]\"",
    "\"[f,9]\"",
    "\"[YI]\"",
    "\"[FNn], [D1o] [MNn]\"",
    "\"#,##0.00\"",
    "\"0.0e0\"",
    "\"w\"",
    "\"I\"",
    "\"A\"",
    "\"000\"",
    "\"[\"",
    "\"[Y,2-5]\"",
    "\"##0;(##0)\"",
    "\"[Z01:01t]\"",
    "\"[h]:[m01][P]\"",
    "\"%\"",
];

const TOKENS: &[&str] = &[
    "(", ")", "[", "]", "{", "}", ".", ",", ";", ":", "?", "??", "?:", "+", "-", "*", "/", "%",
    "&", "=", "!=", "<", ">", "<=", ">=", "..", "~>", ":=", "|", "^(", "@", "#", "$", "$$", "$x",
    "**", "and", "or", "in", "function", "\"s\"", "'t'", "1", "0.5", "-2", "1e400", "`q`", "/a+/i",
    "true", "null", "items", "a", "b", "$f",
];

/// A random expression, at most `depth` levels of nesting.
fn expression(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 {
        return leaf(rng);
    }
    let d = depth - 1;
    match rng.below(20) {
        0..=3 => leaf(rng),
        4 => format!(
            "{}.{}",
            expression(rng, d),
            rng.pick(&["a", "b", "items", "*", "**", "%", "$", "n"])
        ),
        5 => {
            let op = rng.pick(&[
                "+", "-", "*", "/", "%", "=", "!=", "<", ">=", "and", "or", "&", "..", "in", "??",
                "?:", "~>",
            ]);
            format!("({} {op} {})", expression(rng, d), expression(rng, d))
        }
        6 | 7 => {
            let name = rng.pick(FUNCTIONS);
            let args: Vec<String> = (0..rng.below(4)).map(|_| argument(rng, d)).collect();
            format!("${name}({})", args.join(", "))
        }
        8 => format!("function($x, $y) {{ {} }}", expression(rng, d)),
        9 => format!(
            "($x := {}; $f := function($n) {{ {} }}; {})",
            expression(rng, d),
            expression(rng, d),
            expression(rng, d)
        ),
        10 => format!(
            "({} ? {} : {})",
            expression(rng, d),
            expression(rng, d),
            expression(rng, d)
        ),
        11 => format!("[{}, {}]", expression(rng, d), expression(rng, d)),
        12 => format!(
            "{{\"k\": {}, {}: {}}}",
            expression(rng, d),
            expression(rng, d),
            expression(rng, d)
        ),
        13 => format!("{}[{}]", expression(rng, d), expression(rng, d)),
        14 => format!(
            "{} ~> |{}|{{\"u\": {}}}, [\"a\"]|",
            expression(rng, d),
            expression(rng, d),
            expression(rng, d)
        ),
        15 => format!(
            "{} ~> ${}({})",
            expression(rng, d),
            rng.pick(FUNCTIONS),
            argument(rng, d)
        ),
        16 => format!("${}(?, {})", rng.pick(FUNCTIONS), argument(rng, d)),
        17 => match rng.below(4) {
            0 => format!("{}^(>{})", expression(rng, d), expression(rng, d)),
            1 => format!("items{{a: {}}}", expression(rng, d)),
            2 => format!("{}[]", expression(rng, d)),
            _ => format!(
                "{} ~> ${}({})[]",
                expression(rng, d),
                rng.pick(FUNCTIONS),
                argument(rng, d)
            ),
        },
        18 => format!(
            "items@$o#$i.{{\"v\": $o, \"i\": $i, \"e\": {}}}",
            expression(rng, d)
        ),
        _ => (0..1 + rng.below(8))
            .map(|_| rng.pick(TOKENS))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn argument(rng: &mut Rng, depth: usize) -> String {
    match rng.below(6) {
        0 => rng.pick(PICTURES).to_string(),
        1 => rng
            .pick(&["/(a)(b)?/", "/\\d+/g", "/./", "/x*/"])
            .to_string(),
        2 => "?".to_string(),
        _ => expression(rng, depth),
    }
}

fn leaf(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => rng
            .pick(&[
                "0",
                "1",
                "-1",
                "2.5",
                "1e308",
                "-1e308",
                "1e-300",
                "2000000000",
                "9007199254740993",
            ])
            .to_string(),
        1 => rng
            .pick(&[
                "\"\"",
                "\"abc\"",
                "\"x,y\"",
                "\"\\u00e9\\n\"",
                "\"2024-05-06T13:45:00Z\"",
                "'13:45'",
            ])
            .to_string(),
        2 => rng.pick(&["true", "false", "null"]).to_string(),
        3 => rng
            .pick(&[
                "items",
                "a",
                "a.b",
                "n",
                "s",
                "items[0]",
                "items[n > 1].n",
                "nested.**.v",
            ])
            .to_string(),
        4 => rng
            .pick(&["$", "$$", "$x", "$states", "$states.input", "$f", "$i"])
            .to_string(),
        5 => format!("[{}..{}]", rng.below(20), rng.below(40)),
        6 => rng
            .pick(&["$string", "$pad", "$uppercase", "$sum", "$partition"])
            .to_string(),
        _ => rng
            .pick(&[
                "items.n",
                "a.b.c",
                "{}",
                "[]",
                "[1, [2, [3]]]",
                "{\"a\": {\"b\": 1}}",
            ])
            .to_string(),
    }
}

#[test]
fn generated_expressions_never_panic_and_stay_within_the_time_limit() {
    let limits = Limits {
        timeout: Duration::from_millis(50),
        max_depth: 500,
        max_sequence: 10_000,
        max_output_bytes: 64 * 1024,
    };
    // The timeout is checked between evaluation steps; a step is bounded by the other limits.
    let allowed = Duration::from_millis(1_500);
    let input = json!({
        "a": { "b": { "c": 1 } },
        "n": 3,
        "s": "some text, with commas",
        "items": [{ "n": 1, "a": "x" }, { "n": 2, "a": "y" }, { "n": 3 }],
        "nested": { "v": 1, "w": { "v": [2, { "v": 3 }] } },
    });
    let states = json!({ "input": input.clone() });
    let mut env = Env::new(limits);
    env.bind("states", &states);
    env.function("random", |_| Ok(Some(json!(0.5))));
    env.function("millis", |_| Ok(Some(json!(1_714_953_600_000_i64))));
    env.function("now", |_| Ok(Some(json!("2024-05-06T00:00:00.000Z"))));
    env.function("partition", |args| Ok(args.first().cloned().flatten()));

    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let (mut parsed, mut evaluated, mut caught) = (0, 0, 0);
    for _ in 0..20_000 {
        let depth = 1 + rng.below(4);
        let source = expression(&mut rng, depth);
        let started = Instant::now();
        let Ok(parsed_expression) = Expression::parse(&source) else {
            continue;
        };
        parsed += 1;
        let input = (rng.below(8) > 0).then_some(&input);
        match parsed_expression.evaluate(input, &env) {
            Ok(_) => evaluated += 1,
            Err(Error::Evaluation {
                code: None,
                message,
            }) if message.contains("failed on this expression") => caught += 1,
            Err(_) => {}
        }
        let elapsed = started.elapsed();
        assert!(elapsed < allowed, "{source}: took {elapsed:?}");
    }
    // The generator must reach the evaluator, not only the parser.
    assert!(parsed > 10_000, "only {parsed} of 20,000 parsed");
    assert!(evaluated > 4_000, "only {evaluated} evaluated to a value");
    println!("{parsed} parsed, {evaluated} evaluated, {caught} panics inside jsonata-core caught");
}

/// Outcomes through this crate and through jsonata-core alone agree, except where a bound of
/// ours refuses (or either side runs out of time).
#[test]
fn the_rewrite_changes_no_outcome() {
    let limits = Limits {
        timeout: Duration::from_millis(50),
        max_depth: 500,
        max_sequence: 10_000,
        max_output_bytes: 64 * 1024,
    };
    let input = json!({
        "a": { "b": { "c": 1 } },
        "n": 3,
        "s": "some text, with commas",
        "items": [{ "n": 1, "a": "x" }, { "n": 2, "a": "y" }, { "n": 3 }],
        "nested": { "v": 1, "w": { "v": [2, { "v": 3 }] } },
    });
    let env = Env::new(limits);
    let seeds: u64 = std::env::var("DIFF_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let (mut compared, mut differences) = (0, Vec::new());
    for seed in 0..seeds {
        let mut rng = Rng(0xd1ff_e7e2_c0de_5eed ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        for _ in 0..20_000 {
            let depth = 1 + rng.below(4);
            let source = expression(&mut rng, depth);
            // What the host supplies, or this crate refuses, has nothing to compare with.
            if [
                "$eval",
                "$random",
                "$now",
                "$millis",
                "$shuffle",
                "$toMillis",
                "$partition",
                "$states",
                "$f(",
                "$g(",
            ]
            .iter()
            .any(|name| source.contains(name))
            {
                continue;
            }
            let ours = Expression::parse(&source).and_then(|e| e.evaluate(Some(&input), &env));
            let theirs = std::panic::catch_unwind(|| plain(&source, Some(&input), limits));
            let Ok(theirs) = theirs else { continue };
            let same = match (&ours, &theirs) {
                // Our bounds refuse more, on purpose; time depends on the machine.
                (Err(Error::Limit { .. }), _) | (_, Err(Error::Limit { .. })) => continue,
                (Ok(a), Ok(b)) => a == b,
                (Err(a), Err(b)) => a.code() == b.code(),
                _ => false,
            };
            compared += 1;
            if !same {
                differences.push(format!(
                    "{source}\n  ours:   {ours:?}\n  theirs: {theirs:?}"
                ));
            }
        }
    }
    assert!(compared > 5_000, "only {compared} compared");
    assert!(
        differences.is_empty(),
        "{} of {compared} differ:\n{}",
        differences.len(),
        differences
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
