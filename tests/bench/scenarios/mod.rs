//! One module per scenario; each creates its own resources and deletes them, whatever the
//! outcome of its measurements.

mod activity;
mod console;
mod distributed;
mod fanout;
mod growth;
mod history;
pub(crate) mod idle;
mod pass5;
mod start;
mod test_state;
mod wait;

use aws_sdk_sfn::Client;

use crate::report::Report;
use crate::{Args, Scenario};

pub async fn run(client: &Client, args: &Args, report: &mut Report) -> anyhow::Result<()> {
    match args.scenario {
        Scenario::Start => start::run(client, args, report).await,
        Scenario::Pass5 => pass5::run(client, args, report).await,
        Scenario::Pass5Jsonata => pass5::run_jsonata(client, args, report).await,
        Scenario::Fanout => fanout::run(client, args, report).await,
        Scenario::Activity => activity::run(client, args, report).await,
        Scenario::Wait => wait::run(client, args, report).await,
        Scenario::History => history::run(client, args, report).await,
        Scenario::Idle => idle::run(client, args, report).await,
        Scenario::Growth => growth::run(client, args, report).await,
        Scenario::Console => console::run(client, args, report).await,
        Scenario::Distributed => distributed::run(client, args, report).await,
        Scenario::TestState => test_state::run(client, args, report).await,
        Scenario::Chaos => anyhow::bail!("chaos starts its own processes and needs no client"),
    }
}

/// Pass states chained `P1 → … → Pn`, the last one ending the execution.
pub fn pass_chain(n: usize) -> String {
    let states: Vec<String> = (1..=n)
        .map(|i| {
            let next = if i == n {
                r#""End": true"#.to_owned()
            } else {
                format!(r#""Next": "P{}""#, i + 1)
            };
            format!(r#""P{i}": {{"Type": "Pass", {next}}}"#)
        })
        .collect();
    format!(
        r#"{{"StartAt": "P1", "States": {{{}}}}}"#,
        states.join(", ")
    )
}

/// [`pass_chain`] in JSONata: each state's output is an expression over its input (the input
/// again, with `n` counted up), so every state evaluates one.
pub fn jsonata_pass_chain(n: usize) -> String {
    let mut definition: serde_json::Value =
        serde_json::from_str(&pass_chain(n)).unwrap_or_default();
    definition["QueryLanguage"] = "JSONata".into();
    if let Some(states) = definition["States"].as_object_mut() {
        for state in states.values_mut() {
            state["Output"] = "{% $merge([$states.input, {'n': $states.input.n + 1}]) %}".into();
        }
    }
    definition.to_string()
}

/// Events per second of server time: `n` over the span from the first start to the last stop.
pub fn server_span_ms(items: &[aws_sdk_sfn::types::ExecutionListItem]) -> Option<f64> {
    let first = items
        .iter()
        .map(|e| crate::sfn::epoch_ms(e.start_date()))
        .reduce(f64::min)?;
    let last = items
        .iter()
        .filter_map(|e| e.stop_date().map(crate::sfn::epoch_ms))
        .reduce(f64::max)?;
    Some(last - first)
}

#[cfg(test)]
mod tests {
    #[test]
    fn pass_chain_is_valid_json() {
        let definition: serde_json::Value =
            serde_json::from_str(&super::pass_chain(3)).expect("json");
        assert_eq!(definition["States"]["P3"]["End"], true);
        assert_eq!(definition["States"]["P1"]["Next"], "P2");
    }
}
