//! Parallel and Map: states that run child threads and gather their outputs in order.

use std::collections::VecDeque;

use serde_json::{Value, json};

use super::distributed::is_distributed;
use super::probe::StateMock;
use super::runner::Runner;
use super::snapshot::{BranchesPhase, IterationsPhase, Phase, Thread};
use crate::dataflow::{self, Pipeline};
use crate::entropy::Entropy;
use crate::failure::{Failure, errors};
use crate::jsonata::{self, States};
use crate::limits;
use crate::map_run;
use crate::model::index::{branch_scope, processor_scope};
use crate::model::{
    IndexedState, IntegerField, MapState, NumberField, OrExpression, ParallelState, QueryLanguage,
    StateKind,
};
use crate::variables::Env;

impl Runner<'_> {
    pub fn run_parallel(
        &mut self,
        thread: &mut Thread,
        flow: Pipeline<'_>,
        parallel: &ParallelState,
    ) -> Result<(), Failure> {
        if let Some(mock) = self.state_mock(thread) {
            // TestState: AWS runs no branch and evaluates no input of a mocked Parallel state.
            return self.answer_with_mock(thread, flow, mock.clone());
        }
        let env = self.env(thread);
        let effective = flow.input(&thread.input, &env)?;
        let input = flow.arguments(&effective, &env, &mut self.entropy)?;
        drop(env);
        let mut last = thread.last_event;
        self.emit(&mut last, "ParallelStateStarted", json!({}));
        thread.last_event = last;
        let branches = parallel
            .branches
            .iter()
            .enumerate()
            .map(|(i, branch)| {
                Thread::new(
                    branch_scope(&thread.scope, &thread.state, i),
                    branch.start_at.clone(),
                    input.clone(),
                    last,
                )
            })
            .collect();
        thread.phase = Phase::Branches(BranchesPhase { branches });
        Ok(())
    }

    pub fn advance_branches(&mut self, thread: &mut Thread) -> bool {
        let Phase::Branches(mut phase) = std::mem::replace(&mut thread.phase, Phase::Enter) else {
            return false;
        };
        self.with_scope_of(thread, |runner| {
            for branch in phase.branches.iter_mut().filter(|b| !b.is_finished()) {
                runner.advance(branch);
            }
        });
        let failed = phase.branches.iter().find_map(|b| match &b.phase {
            Phase::Failed { error, cause } => {
                Some((Failure::new(error.clone(), cause.clone()), b.last_event))
            }
            _ => None,
        });
        let def = match self.state_def(thread) {
            Ok(def) => def,
            Err(failure) => {
                self.fail_thread(thread, failure);
                return true;
            }
        };
        if let Some((failure, branch_last)) = failed {
            phase.branches.iter().for_each(|b| self.cancel_tasks(b));
            thread.last_event = branch_last;
            self.give_up_or_retry(thread, def, failure, "ParallelStateFailed");
            keep_for_redrive(thread, Phase::Branches(phase));
            return true;
        }
        if !phase.branches.iter().all(Thread::is_finished) {
            thread.phase = Phase::Branches(phase);
            return false;
        }
        // AWS chains the state's closing events to the newest event of its branches.
        let newest = phase
            .branches
            .iter()
            .map(|b| b.last_event)
            .max()
            .unwrap_or(thread.last_event);
        let outputs: Vec<Value> = phase
            .branches
            .into_iter()
            .map(|b| match b.phase {
                Phase::Succeeded { output } => output,
                _ => Value::Null,
            })
            .collect();
        thread.last_event = newest;
        let result = Value::Array(outputs);
        if let Some(problem) = limits::payload_problem(&result) {
            let failure = Failure::data_limit_exceeded(problem);
            self.give_up_or_retry(thread, def, failure, "ParallelStateFailed");
            return true;
        }
        self.finish_with_result(thread, def, result, "ParallelStateSucceeded");
        true
    }

    /// The `…StateSucceeded` event, then ResultSelector, ResultPath, OutputPath, Exited and the
    /// transition. AWS chains both events to the same previous event.
    pub(super) fn finish_with_result(
        &mut self,
        thread: &mut Thread,
        def: &IndexedState,
        result: Value,
        succeeded: &str,
    ) {
        let mut unchained = thread.last_event;
        self.emit(&mut unchained, succeeded, json!({}));
        self.exit_with_result(thread, def, result);
    }

    pub fn run_map(
        &mut self,
        thread: &mut Thread,
        flow: Pipeline<'_>,
        map: &MapState,
    ) -> Result<(), Failure> {
        let env = self.env(thread);
        let effective = flow.input(&thread.input, &env)?;
        let max_concurrency = count(
            map.max_concurrency.as_ref(),
            map.max_concurrency_path.as_deref(),
            ("MaxConcurrency", "MaxConcurrencyPath", None),
            &effective,
            &env,
            &mut self.entropy,
        )?;
        flow.record(|i| i.max_concurrency = Some(max_concurrency.unwrap_or(0) as u64));
        let read = self
            .probe
            .filter(|probe| probe.watching(&thread.scope, &thread.state).is_some())
            .and_then(|probe| probe.map_items.clone());
        let items = if let Some(items) = read {
            // TestState: the items the test says the ItemReader read.
            items
        } else if map.item_reader.is_some() && is_distributed(map) && self.probe.is_none() {
            // The run reads them from S3 as it goes: none are known yet.
            Vec::new()
        } else if flow.language() == QueryLanguage::Jsonata {
            jsonata_items(map, &effective, &env, &mut self.entropy)?
        } else {
            let items_path = map.items_path.as_deref().unwrap_or("$");
            match dataflow::evaluate_path(items_path, &effective, &env)? {
                Value::Array(items) => {
                    flow.record(|i| i.after_items_path = Some(Value::Array(items.clone())));
                    items
                }
                other => {
                    return Err(Failure::runtime(format!(
                        "Item list at path '{items_path}' must be a JSON array, but found: {other}"
                    )));
                }
            }
        };
        let mut last = thread.last_event;
        self.emit(
            &mut last,
            "MapStateStarted",
            json!({ "mapStateStartedEventDetails": { "length": items.len() } }),
        );
        // AWS reads the tolerated failure settings after the map started.
        let tolerated = count(
            map.tolerated_failure_count.as_ref(),
            map.tolerated_failure_count_path.as_deref(),
            (
                "ToleratedFailureCount",
                "ToleratedFailureCountPath",
                Some("ToleratedFailureCount cannot be negative."),
            ),
            &effective,
            &env,
            &mut self.entropy,
        )
        .and_then(|count| {
            let percentage = percentage(map, &effective, &env, &mut self.entropy)?;
            Ok((count, percentage))
        });
        drop(env);
        thread.last_event = last;
        let (tolerated_count, tolerated_percentage) = tolerated?;
        flow.record(|i| {
            i.tolerated_failure_count = tolerated_count.map(|n| n as u64);
            i.tolerated_failure_percentage = tolerated_percentage;
        });
        // `Parameters` is the older name of `ItemSelector`; AWS still applies it, with
        // `ItemProcessor` as with the legacy `Iterator`.
        // Items are selected as their iteration starts, not all at once: a selector that copies
        // the whole input (`{"all.$": "$"}`) over many items would otherwise hold that many
        // copies before any iteration ran.
        if let Some(mock) = self.state_mock(thread) {
            // TestState: the mock stands for the iterations; the failures the test gives count
            // against the tolerated ones.
            let failures = self
                .probe
                .and_then(|probe| probe.map_iteration_failures)
                .unwrap_or(0) as usize;
            let total = match &mock {
                StateMock::Result { items, .. } => *items,
                StateMock::Error(_) => items.len(),
            };
            let tolerance_set = tolerated_count.is_some() || tolerated_percentage.is_some();
            let probe_phase = IterationsPhase {
                pending: VecDeque::new(),
                selector_input: None,
                running: Vec::new(),
                results: Vec::new(),
                failed: Vec::new(),
                max_concurrency: 0,
                failures,
                result_bytes: 0,
                tolerated_count,
                tolerated_percentage,
            };
            if tolerance_set && exceeds(&probe_phase, total) {
                return Err(Failure::new(
                    errors::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                    "The specified tolerated failure threshold was exceeded",
                ));
            }
            return self.answer_with_mock(thread, flow, mock.clone());
        }
        if is_distributed(map) && self.probe.is_none() {
            let tolerated = (tolerated_count, tolerated_percentage);
            let concurrency = max_concurrency.unwrap_or(0);
            return self.start_map_run(thread, flow, map, items, effective, concurrency, tolerated);
        }
        let selected = map.selector().is_some();
        let pending: VecDeque<(usize, Value)> = items.into_iter().enumerate().collect();
        thread.phase = Phase::Iterations(IterationsPhase {
            results: vec![None; pending.len()],
            failed: Vec::new(),
            pending,
            selector_input: selected.then_some(effective),
            running: Vec::new(),
            max_concurrency: max_concurrency.unwrap_or(0),
            failures: 0,
            // The brackets of the result array; each result adds its size and a comma.
            result_bytes: 1,
            tolerated_count,
            tolerated_percentage,
        });
        Ok(())
    }

    pub fn advance_iterations(&mut self, thread: &mut Thread) -> bool {
        let Phase::Iterations(mut phase) = std::mem::replace(&mut thread.phase, Phase::Enter)
        else {
            return false;
        };
        let def = match self.state_def(thread) {
            Ok(def) => def,
            Err(failure) => {
                self.fail_thread(thread, failure);
                return true;
            }
        };
        let StateKind::Map(map) = &def.state.kind else {
            let failure = Failure::runtime(format!("State '{}' is not a Map state", thread.state));
            self.fail_thread(thread, failure);
            return true;
        };
        // Without a processor (an invalid definition) iterations fail on a state that is not
        // there, as they always have.
        let (field, start) = map
            .processor()
            .map_or(("Iterator", String::new()), |(f, p)| {
                (f, p.start_at.clone())
            });
        let scope = processor_scope(&thread.scope, &thread.state, field);
        let total = phase.results.len();
        // AWS runs at most 40 iterations of an inline Map at once, whatever MaxConcurrency says.
        let concurrency = match phase.max_concurrency {
            0 => INLINE_MAX_CONCURRENCY,
            n => n.min(INLINE_MAX_CONCURRENCY),
        };
        let mut progressed = false;
        let mut launch_after: Option<u64> = None;
        loop {
            // Start iterations up to MaxConcurrency (0 means no limit).
            while !phase.pending.is_empty()
                && phase.running.len() < concurrency
                && !self.out_of_budget()
            {
                let Some((index, item)) = phase.pending.pop_front() else {
                    break;
                };
                let input = match &phase.selector_input {
                    Some(effective) => {
                        match self.select_item(thread, map.selector(), effective, index, item) {
                            Ok(input) => input,
                            Err(failure) => {
                                for (_, other) in &phase.running {
                                    self.cancel_tasks(other);
                                }
                                self.give_up_or_retry(thread, def, failure, "MapStateFailed");
                                return true;
                            }
                        }
                    }
                    None => item,
                };
                // AWS chains a new iteration to the last state event of the one before it.
                let mut last = launch_after.unwrap_or(thread.last_event);
                let started = self.emit(
                    &mut last,
                    "MapIterationStarted",
                    json!({ "mapIterationStartedEventDetails": { "index": index, "name": thread.state } }),
                );
                let child = Thread::new(scope.clone(), start.clone(), input, started);
                phase.running.push((index, child));
                progressed = true;
            }
            self.with_scope_of(thread, |runner| {
                for (_, child) in phase.running.iter_mut() {
                    runner.advance(child);
                }
            });
            let mut finished_any = false;
            let (done, running): (Vec<_>, Vec<_>) = std::mem::take(&mut phase.running)
                .into_iter()
                .partition(|(_, child)| child.is_finished());
            phase.running = running;
            let mut done = done.into_iter();
            while let Some((index, mut child)) = done.next() {
                finished_any = true;
                let child_last = child.last_event;
                let mut last = child_last;
                match std::mem::replace(&mut child.phase, Phase::Enter) {
                    Phase::Succeeded { output } => {
                        self.emit(
                            &mut last,
                            "MapIterationSucceeded",
                            json!({ "mapIterationSucceededEventDetails": { "index": index, "name": thread.state } }),
                        );
                        // The results are the Map's result: bounded as they are gathered.
                        phase.result_bytes += limits::json_size(&output) + 1;
                        if phase.result_bytes > limits::MAX_PAYLOAD_BYTES {
                            for (_, other) in &phase.running {
                                self.cancel_tasks(other);
                            }
                            thread.last_event = child_last;
                            let failure = Failure::data_limit_exceeded(limits::TOO_LARGE);
                            self.give_up_or_retry(thread, def, failure, "MapStateFailed");
                            return true;
                        }
                        phase.results[index] = Some(output);
                        thread.last_event = last;
                        launch_after = Some(child_last);
                    }
                    Phase::Failed { error, cause } => {
                        // Kept as it ended, for a redrive.
                        child.phase = Phase::Failed {
                            error: error.clone(),
                            cause: cause.clone(),
                        };
                        phase.failed.push((index, child));
                        self.emit(
                            &mut last,
                            "MapIterationFailed",
                            json!({ "mapIterationFailedEventDetails": { "index": index, "name": thread.state } }),
                        );
                        phase.failures += 1;
                        let failed = json!({ "Error": error, "Cause": cause });
                        phase.result_bytes += limits::json_size(&failed) + 1;
                        phase.results[index] = Some(failed);
                        if exceeds(&phase, total) {
                            for (_, other) in &phase.running {
                                self.cancel_tasks(other);
                            }
                            let tolerance_set = phase.tolerated_count.is_some()
                                || phase.tolerated_percentage.is_some();
                            let failure = if tolerance_set {
                                Failure::new(
                                    errors::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                                    "The specified tolerated failure threshold was exceeded",
                                )
                            } else {
                                Failure::new(error, cause)
                            };
                            thread.last_event = child_last;
                            self.give_up_or_retry(thread, def, failure, "MapStateFailed");
                            // Iterations that ended in the same step are gathered after a redrive.
                            phase.running.extend(done);
                            keep_for_redrive(thread, Phase::Iterations(phase));
                            return true;
                        }
                    }
                    _ => {}
                }
            }
            progressed |= finished_any;
            if !finished_any || phase.pending.is_empty() || self.out_of_budget() {
                break;
            }
        }
        if phase.pending.is_empty() && phase.running.is_empty() {
            let results: Vec<Value> = phase
                .results
                .into_iter()
                .map(|r| r.unwrap_or(Value::Null))
                .collect();
            self.finish_with_result(thread, def, Value::Array(results), "MapStateSucceeded");
            return true;
        }
        thread.phase = Phase::Iterations(phase);
        progressed
    }
}

impl Runner<'_> {
    /// TestState's mock for this Map or Parallel state, when it is the state under test.
    fn state_mock(&self, thread: &Thread) -> Option<&StateMock> {
        let probe = self.probe?;
        probe.watching(&thread.scope, &thread.state)?;
        probe.state_mock.as_ref()
    }

    /// A mocked Map or Parallel state ends with the mock's result (through the state's result
    /// stages), or fails with its error.
    fn answer_with_mock(
        &mut self,
        thread: &mut Thread,
        flow: Pipeline<'_>,
        mock: StateMock,
    ) -> Result<(), Failure> {
        let result = match mock {
            StateMock::Error(failure) => return Err(failure),
            StateMock::Result { value, .. } => value,
        };
        let def = self.state_def(thread)?;
        let succeeded = match def.state.kind {
            StateKind::Map(_) => "MapStateSucceeded",
            _ => "ParallelStateSucceeded",
        };
        self.finish_with_result(thread, def, result, succeeded);
        // AWS reports no `result` for a mocked Map or Parallel state.
        flow.record(|i| i.result = None);
        Ok(())
    }
}

/// A Parallel or Map state whose branches, iterations or run failed it: when nothing recovered
/// the thread (no retry, no catch), it keeps them for a redrive (see `runner::redrive_thread`).
pub(super) fn keep_for_redrive(thread: &mut Thread, children: Phase) {
    if matches!(thread.phase, Phase::Failed { .. }) {
        thread.unfinished = Some(Box::new(children));
    }
}

/// The most iterations of an inline Map state that run at once (AWS's documented limit).
const INLINE_MAX_CONCURRENCY: usize = 40;

impl Runner<'_> {
    /// The input of iteration `index`: the Map's `ItemSelector` (or `Parameters`) applied to
    /// its item.
    fn select_item(
        &mut self,
        thread: &Thread,
        selector: Option<&Value>,
        effective: &Value,
        index: usize,
        item: Value,
    ) -> Result<Value, Failure> {
        let Some(template) = selector else {
            return Ok(item);
        };
        let mut env = self.env(thread);
        env.context["Map"] = json!({ "Item": { "Index": index, "Value": item } });
        match self
            .machine
            .state(&thread.scope, &thread.state)
            .map(|def| def.language)
        {
            Some(QueryLanguage::Jsonata) => jsonata::evaluate_field(
                "ItemSelector",
                template,
                States::input(effective),
                &env,
                &mut self.entropy,
            ),
            _ => dataflow::evaluate_template(template, effective, &env, &mut self.entropy),
        }
    }
}

/// Whether an inline Map's failures are more than it tolerates (the rule Distributed Map runs
/// follow too).
fn exceeds(phase: &IterationsPhase, total: usize) -> bool {
    map_run::exceeds_tolerance(
        phase.failures as u64,
        total as u64,
        phase.tolerated_count.map(|n| n as u64),
        phase.tolerated_percentage,
    )
}

/// A JSONata Map's items: its `Items` field (an array, or an expression that yields one), else
/// its input, which must then be an array.
fn jsonata_items(
    map: &MapState,
    input: &Value,
    env: &Env<'_>,
    entropy: &mut Entropy,
) -> Result<Vec<Value>, Failure> {
    let Some(field) = &map.items else {
        return match input {
            Value::Array(items) => Ok(items.clone()),
            other => Err(Failure::query_evaluation(
                None,
                format!("Map state input must be an array but was: {other}"),
            )),
        };
    };
    match jsonata::evaluate_field("Items", field, States::input(input), env, entropy)? {
        Value::Array(items) => Ok(items),
        other => Err(jsonata::unexpected_type(
            "Items",
            jsonata::expression_text(field).unwrap_or_default(),
            "array",
            &other,
        )),
    }
}

/// A non-negative integer field given directly, as a JSONata expression (`field`), or through
/// a path (`path_field`). A negative integer from the path fails with the `negative` cause
/// where the field has one, else as any other value that is not a valid integer. (A negative
/// literal does not get here: the validator refuses it.)
pub(super) fn count(
    literal: Option<&IntegerField>,
    path: Option<&str>,
    (field, path_field, negative): (&str, &str, Option<&str>),
    input: &Value,
    env: &Env<'_>,
    entropy: &mut Entropy,
) -> Result<Option<usize>, Failure> {
    match literal {
        Some(IntegerField::Literal(n)) => return Ok(usize::try_from(*n).ok()),
        Some(IntegerField::Expression(text)) => {
            let n = jsonata::evaluate_integer(field, text, 0, States::input(input), env, entropy)?;
            return Ok(usize::try_from(n).ok());
        }
        None => {}
    }
    let Some(path) = path else {
        return Ok(None);
    };
    let value = dataflow::evaluate_path(path, input, env)?;
    if let Some(n) = value.as_u64() {
        return Ok(usize::try_from(n).ok());
    }
    // AWS reads the value's text as a number, so a string such as "1" counts too (recorded for
    // ToleratedFailureCountPath and MaxConcurrencyPath); "NoNumber" does not.
    let text_number = value.as_str().and_then(|text| text.parse::<i64>().ok());
    if let Some(n) = text_number.and_then(|n| u64::try_from(n).ok()) {
        return Ok(usize::try_from(n).ok());
    }
    match negative {
        Some(cause) if value.as_i64().or(text_number).is_some() => Err(Failure::runtime(cause)),
        _ => Err(Failure::runtime(format!(
            "The {path_field} field refers to value \"{}\" which is not a valid integer: {path}",
            raw_text(&value)
        ))),
    }
}

fn percentage(
    map: &MapState,
    input: &Value,
    env: &Env<'_>,
    entropy: &mut Entropy,
) -> Result<Option<f64>, Failure> {
    let literal = map.tolerated_failure_percentage.as_ref();
    if let Some(p) = literal.and_then(NumberField::literal_f64) {
        return Ok(Some(p));
    }
    if let Some(OrExpression::Expression(text)) = literal {
        let location = "ToleratedFailurePercentage";
        let number = jsonata::evaluate_number(location, text, States::input(input), env, entropy)?;
        return match number.as_f64() {
            Some(p) if (0.0..=100.0).contains(&p) => Ok(Some(p)),
            _ => Err(Failure::query_evaluation(
                Some(location),
                format!(
                    "The JSONata expression '{}' specified for the field '{location}' returned an unexpected result. Expected a number between 0 and 100, but was: {number}",
                    jsonata::expression_text(&Value::String(text.clone())).unwrap_or(text)
                ),
            )),
        };
    }
    let Some(path) = map.tolerated_failure_percentage_path.as_deref() else {
        return Ok(None);
    };
    let value = dataflow::evaluate_path(path, input, env)?;
    // As for counts, a string holding a number counts ("1" is recorded).
    let number = value
        .as_f64()
        .or_else(|| value.as_str().and_then(|text| text.parse::<f64>().ok()))
        .filter(|p| p.is_finite());
    match number {
        Some(p) if (0.0..=100.0).contains(&p) => Ok(Some(p)),
        // LocalStack's wording, as for a negative count; AWS's is not recorded for either.
        Some(_) => Err(Failure::runtime(
            "ToleratedFailurePercentage must be between 0 and 100.",
        )),
        None => Err(Failure::runtime(format!(
            "The ToleratedFailurePercentagePath field refers to value \"{}\" which is not a valid percentage: {path}",
            raw_text(&value)
        ))),
    }
}

/// A value as AWS quotes it in these messages: strings without their JSON quotes.
fn raw_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
