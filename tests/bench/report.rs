//! The figures of one run: printed as they are measured (a run cut short still shows what it
//! got) and kept in order for the JSON file.

use serde_json::{Map, Value, json};

use crate::Args;
use crate::stats::{Summary, round3};

pub struct Report {
    header: Map<String, Value>,
    figures: Map<String, Value>,
    notes: Vec<String>,
    errors: Vec<String>,
}

impl Report {
    pub fn new(args: &Args) -> Report {
        let mut header = Map::new();
        header.insert("endpoint".into(), json!(args.endpoint));
        header.insert(
            "scenario".into(),
            json!(format!("{:?}", args.scenario).to_lowercase()),
        );
        header.insert("clients".into(), json!(args.clients));
        header.insert("count".into(), json!(args.count));
        header.insert("samples".into(), json!(args.samples));
        header.insert("rate".into(), json!(args.rate));
        println!(
            "bench {} against {}",
            header["scenario"].as_str().unwrap_or_default(),
            args.endpoint
        );
        Report {
            header,
            figures: Map::new(),
            notes: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// A latency distribution; nothing to report when no sample was taken.
    pub fn latency(&mut self, name: &str, samples: &[f64]) {
        match Summary::of(samples) {
            Some(summary) => {
                println!("  {name:<44} {summary}");
                self.figures.insert(name.into(), summary.to_json());
            }
            None => println!("  {name:<44} no samples"),
        }
    }

    /// A single figure with its unit, e.g. ("executions/s", 1234.5).
    pub fn value(&mut self, name: &str, value: f64, unit: &str) {
        println!("  {name:<44} {value:.2} {unit}");
        self.figures
            .insert(name.into(), json!({ "value": round3(value), "unit": unit }));
    }

    /// What a reader needs to interpret the figures (definitions, counts, caveats).
    pub fn note(&mut self, text: &str) {
        println!("  note: {text}");
        self.notes.push(text.to_owned());
    }

    pub fn error(&mut self, text: &str) {
        eprintln!("  error: {text}");
        self.errors.push(text.to_owned());
    }

    pub fn to_json_string(&self) -> anyhow::Result<String> {
        let mut out = self.header.clone();
        out.insert("figures".into(), Value::Object(self.figures.clone()));
        out.insert("notes".into(), json!(self.notes));
        out.insert("errors".into(), json!(self.errors));
        Ok(serde_json::to_string_pretty(&Value::Object(out))?)
    }
}
