//! Pass, Choice, Wait, Succeed and Fail (Task states are in `task`).

use serde_json::Value;

use super::history;
use super::runner::Runner;
use super::snapshot::{Phase, Thread};
use crate::dataflow::{Pipeline, StateData};
use crate::failure::{Failure, errors};
use crate::jsonata::{self, States};
use crate::model::{ChoiceState, FailState, PassState, QueryLanguage, StateKind, WaitState};
use crate::variables::Env;
use crate::{choice, dataflow, intrinsics, wait};

impl Runner<'_> {
    /// Runs the current state (after its Entered event, or again after a retry backoff).
    pub fn run_state(&mut self, thread: &mut Thread) {
        let def = match self.state_def(thread) {
            Ok(def) => def,
            Err(failure) => return self.fail_thread(thread, failure),
        };
        let flow = self.flow(thread, def);
        let result = match &def.state.kind {
            StateKind::Pass(pass) => self.run_pass(thread, flow, pass),
            StateKind::Task(task) => self.run_task(thread, flow, task),
            StateKind::Choice(choice) => self.run_choice(thread, flow, choice),
            StateKind::Wait(wait) => self.run_wait(thread, flow, wait),
            StateKind::Succeed(_) => self.run_succeed(thread, flow),
            StateKind::Fail(fail) => self.run_fail(thread, flow, fail),
            StateKind::Parallel(parallel) => self.run_parallel(thread, flow, parallel),
            StateKind::Map(map) => self.run_map(thread, flow, map),
        };
        if let Err(failure) = result {
            let evaluation = failure.error == errors::QUERY_EVALUATION_ERROR;
            // Only states with Retry and Catch recover; the others fail their thread. A Map or
            // Parallel state whose expressions fail records its own failure event too.
            match &def.state.kind {
                StateKind::Map(_) if evaluation => {
                    self.give_up_or_retry(thread, def, failure, "MapStateFailed");
                }
                StateKind::Parallel(_) if evaluation => {
                    self.give_up_or_retry(thread, def, failure, "ParallelStateFailed");
                }
                StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_) => {
                    self.handle_failure(thread, def, failure);
                }
                _ => {
                    let failure = self.explain_failure(thread, failure);
                    self.report_evaluation(thread, &failure);
                    self.fail_thread(thread, failure);
                }
            }
        }
    }

    fn run_pass(
        &mut self,
        thread: &mut Thread,
        flow: Pipeline<'_>,
        pass: &PassState,
    ) -> Result<(), Failure> {
        let env = self.env(thread);
        // With a `Result`, `Parameters` is not applied; `InputPath` still is (a path that finds
        // nothing fails the state), though TestState does not report it, as AWS does not.
        let (effective, result) = match &pass.result {
            Some(result) => {
                let effective = flow.inspected(None).input(&thread.input, &env)?;
                flow.record(|i| i.result = Some(result.clone()));
                (effective, result.clone())
            }
            None => {
                let effective = flow.input(&thread.input, &env)?;
                let result = flow.arguments(&effective, &env, &mut self.entropy)?;
                (effective, result)
            }
        };
        flow.record_jsonpath(|i| i.after_result_selector = Some(result.clone()));
        let data = StateData {
            input: &thread.input,
            effective: &effective,
            result: Some(&result),
        };
        let assigned = flow.assign(data, &env, &mut self.entropy)?;
        let output = flow.output(&thread.input, result, &env, &mut self.entropy)?;
        drop(env);
        self.exit_and_transition(thread, output, assigned);
        Ok(())
    }

    fn run_choice(
        &mut self,
        thread: &mut Thread,
        flow: Pipeline<'_>,
        choice: &ChoiceState,
    ) -> Result<(), Failure> {
        let env = self.env(thread);
        let effective = flow.input(&thread.input, &env)?;
        let (next, rule) = choice::next_state(choice, &effective, &env, &mut self.entropy)?;
        let data = StateData::without_result(&thread.input, &effective);
        // The matched rule's Assign and Output, or the state's own when Default was taken.
        let language = flow.language();
        let (assigned, output) = match rule {
            Some(rule) => {
                let assigned = dataflow::assign(
                    language,
                    rule.assign.as_ref(),
                    data,
                    &env,
                    &mut self.entropy,
                )?;
                let output = match (&rule.output, language) {
                    (Some(_), QueryLanguage::Jsonata) => dataflow::jsonata_output(
                        rule.output.as_ref(),
                        data,
                        effective.clone(),
                        &env,
                        &mut self.entropy,
                    )?,
                    _ => flow.inspected(None).output(
                        &thread.input,
                        effective.clone(),
                        &env,
                        &mut self.entropy,
                    )?,
                };
                (assigned, output)
            }
            None => (
                flow.assign(data, &env, &mut self.entropy)?,
                flow.inspected(None).output(
                    &thread.input,
                    effective.clone(),
                    &env,
                    &mut self.entropy,
                )?,
            ),
        };
        drop(env);
        self.apply_assignments(thread, &assigned)?;
        let mut last = thread.last_event;
        self.emit(
            &mut last,
            "ChoiceStateExited",
            history::exited_assigning(&thread.state, &output, &assigned),
        );
        thread.last_event = last;
        self.go_to(thread, &next, output);
        Ok(())
    }

    fn run_wait(
        &mut self,
        thread: &mut Thread,
        flow: Pipeline<'_>,
        wait: &WaitState,
    ) -> Result<(), Failure> {
        let env = self.env(thread);
        let effective = flow.input(&thread.input, &env)?;
        let until_ms = wait::wait_until_ms(wait, &effective, &env, self.now, &mut self.entropy)?;
        let data = StateData::without_result(&thread.input, &effective);
        let assigned = flow.assign(data, &env, &mut self.entropy)?;
        let output = flow.inspected(None).output(
            &thread.input,
            effective.clone(),
            &env,
            &mut self.entropy,
        )?;
        drop(env);
        thread.phase = Phase::Waiting {
            until_ms,
            output,
            assigned,
        };
        Ok(())
    }

    fn run_succeed(&mut self, thread: &mut Thread, flow: Pipeline<'_>) -> Result<(), Failure> {
        let env = self.env(thread);
        let effective = flow.input(&thread.input, &env)?;
        let output =
            flow.inspected(None)
                .output(&thread.input, effective, &env, &mut self.entropy)?;
        drop(env);
        let mut last = thread.last_event;
        self.emit(
            &mut last,
            "SucceedStateExited",
            history::exited(&thread.state, &output),
        );
        thread.last_event = last;
        thread.phase = Phase::Succeeded { output };
        Ok(())
    }

    fn run_fail(
        &mut self,
        thread: &mut Thread,
        flow: Pipeline<'_>,
        def: &FailState,
    ) -> Result<(), Failure> {
        let in_jsonata = flow.language() == QueryLanguage::Jsonata;
        // A Fail state has no InputPath; AWS reports its input as the filtered one.
        flow.record_jsonpath(|i| i.after_input_path = Some(thread.input.clone()));
        let env = self.env(thread);
        let error = self.fail_text(
            &thread.input,
            &env,
            (&def.error, &def.error_path),
            ("ErrorPath", in_jsonata),
        )?;
        let cause = self.fail_text(
            &thread.input,
            &env,
            (&def.cause, &def.cause_path),
            ("CausePath", in_jsonata),
        )?;
        thread.phase = Phase::Failed { error, cause };
        Ok(())
    }

    /// A Fail state's error or cause: the literal, else the value of its `…Path`, a reference
    /// path or an intrinsic function (AWS accepts both), else empty. A value that is not a string
    /// is given as its JSON text.
    fn fail_text(
        &mut self,
        input: &Value,
        env: &Env<'_>,
        (literal, path): (&Option<String>, &Option<String>),
        (path_field, in_jsonata): (&str, bool),
    ) -> Result<String, Failure> {
        if let Some(value) = literal {
            let field = Value::String(value.clone());
            let expression = jsonata::expression_text(&field).filter(|_| in_jsonata);
            let Some(expression) = expression else {
                return Ok(value.clone());
            };
            // JSONata: an expression over `$states.input` that must give a string.
            let location = if path_field == "ErrorPath" {
                "Error"
            } else {
                "Cause"
            };
            return match jsonata::evaluate_field(
                location,
                &field,
                States::input(input),
                env,
                &mut self.entropy,
            )? {
                Value::String(text) => Ok(text),
                other => Err(jsonata::unexpected_type(
                    location, expression, "string", &other,
                )),
            };
        }
        let Some(path) = path else {
            return Ok(String::new());
        };
        let value = if intrinsics::is_intrinsic(path) {
            intrinsics::evaluate(path, input, env, &mut self.entropy)?
        } else {
            dataflow::evaluate_path(path, input, env).map_err(|_| {
                Failure::runtime(format!(
                    "The JSONPath '{path}' specified for the field '{path_field}' could not be found in the input '{input}'"
                ))
            })?
        };
        Ok(match value {
            Value::String(s) => s,
            other => other.to_string(),
        })
    }
}
