//! Choice rules: `And`/`Or`/`Not`, the comparators with their `…Path` twins, and JSONata
//! `Condition`s. A rule's shape is "one test plus `Next`", which serde's derives cannot express
//! with unknown fields refused, so rules convert to and from JSON objects by hand.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// One entry of `Choices` (with `Next`), or a rule nested in `And`/`Or`/`Not` (without).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Map<String, Value>", into = "Map<String, Value>")]
pub struct ChoiceRule {
    pub condition: Condition,
    pub next: Option<String>,
    pub comment: Option<String>,
    /// JSONata (and JSONPath variables): assignments when this rule matches.
    pub assign: Option<Value>,
    /// JSONata: the state's output when this rule matches.
    pub output: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    And(Vec<ChoiceRule>),
    Or(Vec<ChoiceRule>),
    Not(Box<ChoiceRule>),
    Compare(Comparison),
    /// JSONata: `"Condition": "{% … %}"` (or a literal boolean).
    Jsonata(Value),
}

/// `{"Variable": "$.x", "NumericGreaterThan": 3}` or its twin `"NumericGreaterThanPath": "$.y"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub variable: String,
    pub comparator: Comparator,
    pub operand: Operand,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    String(String),
    Number(Number),
    Boolean(bool),
    /// The `…Path` twin: the operand is read from the input at this path.
    Path(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperandKind {
    String,
    Number,
    Boolean,
}

macro_rules! comparators {
    ($($name:ident: $kind:ident, $twin:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Comparator { $($name,)* }

        impl Comparator {
            pub const ALL: &[Comparator] = &[$(Comparator::$name,)*];

            pub fn name(self) -> &'static str {
                match self { $(Comparator::$name => stringify!($name),)* }
            }

            /// What a literal operand must be.
            pub fn operand_kind(self) -> OperandKind {
                match self { $(Comparator::$name => OperandKind::$kind,)* }
            }

            /// Whether `<name>Path` exists (`StringMatches` and the type tests have none).
            pub fn has_path_twin(self) -> bool {
                match self { $(Comparator::$name => $twin,)* }
            }
        }
    };
}

comparators! {
    StringEquals: String, true;
    StringLessThan: String, true;
    StringGreaterThan: String, true;
    StringLessThanEquals: String, true;
    StringGreaterThanEquals: String, true;
    StringMatches: String, false;
    NumericEquals: Number, true;
    NumericLessThan: Number, true;
    NumericGreaterThan: Number, true;
    NumericLessThanEquals: Number, true;
    NumericGreaterThanEquals: Number, true;
    TimestampEquals: String, true;
    TimestampLessThan: String, true;
    TimestampGreaterThan: String, true;
    TimestampLessThanEquals: String, true;
    TimestampGreaterThanEquals: String, true;
    BooleanEquals: Boolean, true;
    IsNull: Boolean, false;
    IsPresent: Boolean, false;
    IsNumeric: Boolean, false;
    IsString: Boolean, false;
    IsBoolean: Boolean, false;
    IsTimestamp: Boolean, false;
}

impl Comparator {
    /// A comparator field name: `(comparator, is_path_twin)`.
    pub fn from_key(key: &str) -> Option<(Comparator, bool)> {
        let (base, path) = match key.strip_suffix("Path") {
            Some(base) => (base, true),
            None => (key, false),
        };
        let comparator = *Comparator::ALL.iter().find(|c| c.name() == base)?;
        (!path || comparator.has_path_twin()).then_some((comparator, path))
    }

    pub fn key(self, operand: &Operand) -> String {
        match operand {
            Operand::Path(_) => format!("{}Path", self.name()),
            _ => self.name().to_owned(),
        }
    }
}

impl TryFrom<Map<String, Value>> for ChoiceRule {
    type Error = String;

    fn try_from(mut rule: Map<String, Value>) -> Result<Self, String> {
        let text = |value: Value, key: &str| match value {
            Value::String(text) => Ok(text),
            other => Err(format!("'{key}' must be a string, found {other}")),
        };
        let next = rule.remove("Next").map(|v| text(v, "Next")).transpose()?;
        let comment = rule
            .remove("Comment")
            .map(|v| text(v, "Comment"))
            .transpose()?;
        let assign = rule.remove("Assign");
        let output = rule.remove("Output");
        let variable = rule
            .remove("Variable")
            .map(|v| text(v, "Variable"))
            .transpose()?;
        let mut tests = rule.into_iter();
        let Some((key, value)) = tests.next() else {
            return Err("a choice rule needs a comparison, And, Or, Not or Condition".into());
        };
        if let Some((extra, _)) = tests.next() {
            return Err(format!(
                "a choice rule has one test, found '{key}' and '{extra}'"
            ));
        }
        let condition = match key.as_str() {
            "And" => Condition::And(rules(value, "And")?),
            "Or" => Condition::Or(rules(value, "Or")?),
            "Not" => Condition::Not(Box::new(nested(value, "Not")?)),
            "Condition" => Condition::Jsonata(value),
            _ => {
                let (comparator, path) = Comparator::from_key(&key)
                    .ok_or_else(|| format!("unknown choice rule field '{key}'"))?;
                Condition::Compare(Comparison {
                    variable: variable
                        .clone()
                        .ok_or_else(|| format!("'{key}' needs a 'Variable'"))?,
                    comparator,
                    operand: operand(comparator, path, value, &key)?,
                })
            }
        };
        if variable.is_some() && !matches!(condition, Condition::Compare(_)) {
            return Err(format!("'Variable' cannot go with '{key}'"));
        }
        Ok(ChoiceRule {
            condition,
            next,
            comment,
            assign,
            output,
        })
    }
}

fn nested(value: Value, key: &str) -> Result<ChoiceRule, String> {
    match value {
        Value::Object(map) => ChoiceRule::try_from(map),
        other => Err(format!("'{key}' must hold a rule object, found {other}")),
    }
}

fn rules(value: Value, key: &str) -> Result<Vec<ChoiceRule>, String> {
    match value {
        Value::Array(items) => items.into_iter().map(|v| nested(v, key)).collect(),
        other => Err(format!("'{key}' must be an array of rules, found {other}")),
    }
}

fn operand(comparator: Comparator, path: bool, value: Value, key: &str) -> Result<Operand, String> {
    Ok(match (path, comparator.operand_kind(), value) {
        (true, _, Value::String(path)) => Operand::Path(path),
        (false, OperandKind::String, Value::String(text)) => Operand::String(text),
        (false, OperandKind::Number, Value::Number(n)) => Operand::Number(n),
        (false, OperandKind::Boolean, Value::Bool(b)) => Operand::Boolean(b),
        (_, _, other) => return Err(format!("'{key}' has an operand of the wrong type: {other}")),
    })
}

impl From<ChoiceRule> for Map<String, Value> {
    fn from(rule: ChoiceRule) -> Self {
        let mut map = Map::new();
        match rule.condition {
            Condition::And(rules) => {
                map.insert(
                    "And".into(),
                    Value::Array(rules.into_iter().map(to_value).collect()),
                );
            }
            Condition::Or(rules) => {
                map.insert(
                    "Or".into(),
                    Value::Array(rules.into_iter().map(to_value).collect()),
                );
            }
            Condition::Not(rule) => {
                map.insert("Not".into(), to_value(*rule));
            }
            Condition::Jsonata(condition) => {
                map.insert("Condition".into(), condition);
            }
            Condition::Compare(comparison) => {
                let key = comparison.comparator.key(&comparison.operand);
                map.insert("Variable".into(), Value::String(comparison.variable));
                let operand = match comparison.operand {
                    Operand::String(text) | Operand::Path(text) => Value::String(text),
                    Operand::Number(n) => Value::Number(n),
                    Operand::Boolean(b) => Value::Bool(b),
                };
                map.insert(key, operand);
            }
        }
        let optional = [
            ("Next", rule.next.map(Value::String)),
            ("Comment", rule.comment.map(Value::String)),
            ("Assign", rule.assign),
            ("Output", rule.output),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                map.insert(key.into(), value);
            }
        }
        map
    }
}

fn to_value(rule: ChoiceRule) -> Value {
    Value::Object(rule.into())
}
