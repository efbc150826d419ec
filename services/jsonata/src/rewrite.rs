//! The parsed expression, rewritten once so that every evaluation of it is bounded.
//!
//! jsonata-core bounds time (checked between nodes), evaluation depth and sequence length, but
//! not memory: a few characters of JSONata can ask for gigabytes in one step (`$pad("", 1e9)`,
//! `$formatInteger(1e15, "I")`, a value doubled forty times by `[$a, $a]` or `$s & $s`), and a
//! value whose parts are shared exponentially often takes forever to compare or print without
//! ever reaching a timeout check. A host function cannot wrap a built-in (it would lose the
//! context argument and callbacks, and jsonata-core refuses to replace the ones it compiles),
//! so the expression itself is rewritten around the places where that can happen. Each
//! rewrite calls an internal host function (`guards`) named with a space, so that no
//! expression can spell, shadow or call it.
//!
//! - A call of a built-in with `Guard::Arguments` becomes a block that binds its arguments,
//!   checks them (`GUARD_CALL`), and then calls the built-in with them, unchanged: the built-in
//!   still sees its context and callbacks. Its string result is counted (`GUARD_RESULT`).
//! - A call of a built-in with `Guard::Result` has its result counted.
//! - Partial applications and references to those built-ins (`$pad(?, 3)`, `$map(xs, $string)`)
//!   become functions that make the same call, so that no route reaches them unchecked.
//! - `a & b` checks each operand's size and counts its result; `a .. b` is a bounded range; the
//!   arrays an array constructor splices in, the values an object constructor nests, the operands
//!   of `=`, `!=` and `in`, the input of a transform, and the arguments every function of the
//!   expression receives are checked for size and depth. Every loop of JSONata goes through a
//!   function (`$reduce`, `$map`, recursion), so a value cannot grow step by step past the
//!   bounds, in size or in depth, without one of them seeing it: jsonata-core walks some values
//!   (a field step over nested arrays) by recursion on the native stack.
//!
//! A guarded call checks nothing when its name is bound to something other than the built-in
//! (by the expression, or by the host), so the rewrite needs no scope analysis.
//!
//! Each rewrite keeps what jsonata-core reads off the tree's shape: a call on the right of `~>`
//! stays a call and nothing else becomes one, array constructors nested in array constructors
//! stay constructors, a predicate that calls nothing stays as it is (jsonata-core runs those
//! differently), partial applications still evaluate their arguments when they are made, a
//! built-in passed as a value checks its arguments against the built-in's signature, and a
//! function's argument check costs no evaluation level (`check_first`).
//! `tests::property::the_rewrite_changes_no_outcome` compares outcomes with jsonata-core's
//! alone over generated expressions.

use jsonata_core::ast::{AstNode, BinaryOp, PathStep, Stage};

use crate::builtins::{self, Guard};

/// Checks a guarded call's arguments: `[name, $name, $, arguments...]`.
pub(crate) const GUARD_CALL: &str = "guard call";
/// Counts a string a guarded call or `&` built: `[name, value]`, returns the value.
pub(crate) const GUARD_RESULT: &str = "guard result";
/// Checks an operand of `&`: returns it.
pub(crate) const GUARD_CONCAT: &str = "guard concat";
/// Checks the size and depth of a value that is spliced, nested, compared or copied: returns it.
pub(crate) const GUARD_TREE: &str = "guard tree";
/// Checks the size and depth of the arguments a function of the expression was called with.
pub(crate) const GUARD_ARGUMENTS: &str = "guard arguments";
/// `a .. b`, counted.
pub(crate) const RANGE: &str = "bounded range";
/// Whether `$name` is the built-in `name`: `[$name, name]`.
pub(crate) const IS_BUILTIN: &str = "is builtin";
/// Whether a value is a function.
pub(crate) const IS_FUNCTION: &str = "is function";
/// Counts what a `$replace` callback returned: returns it.
pub(crate) const GUARD_REPLACEMENT: &str = "guard replacement";
/// `$toMillis`'s timestamp and picture, with the date parts the picture leaves out taken from
/// the host's clock rather than jsonata-core's (see `impure`).
pub(crate) const CLOCK_TIMESTAMP: &str = "clock timestamp";
pub(crate) const CLOCK_PICTURE: &str = "clock picture";

/// Which internal host functions a rewritten expression calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Uses {
    pub guard_call: bool,
    pub guard_result: bool,
    pub guard_concat: bool,
    pub guard_tree: bool,
    pub guard_arguments: bool,
    pub range: bool,
    pub is_builtin: bool,
    pub is_function: bool,
    pub guard_replacement: bool,
    pub clock: bool,
}

/// `ast`, rewritten, and which internal functions it needs.
pub(crate) fn rewrite(ast: AstNode) -> (AstNode, Uses) {
    let mut rewriter = Rewriter::default();
    let ast = rewriter.node(ast);
    (ast, rewriter.uses)
}

#[derive(Default)]
struct Rewriter {
    uses: Uses,
}

fn call(name: &str, args: Vec<AstNode>) -> AstNode {
    AstNode::Function {
        name: name.to_string(),
        args,
        is_builtin: true,
    }
}

fn variable(name: &str) -> AstNode {
    AstNode::Variable(name.to_string())
}

/// A literal: nothing to check about its size.
fn is_literal(node: &AstNode) -> bool {
    matches!(
        node,
        AstNode::String(_)
            | AstNode::Number(_)
            | AstNode::Boolean(_)
            | AstNode::Null
            | AstNode::Undefined
            | AstNode::Regex { .. }
            | AstNode::Lambda { .. }
    )
}

/// A literal scalar: comparing anything to it is one step.
fn is_scalar_literal(node: &AstNode) -> bool {
    matches!(
        node,
        AstNode::String(_) | AstNode::Number(_) | AstNode::Boolean(_) | AstNode::Null
    )
}

/// What jsonata-core treats as an array constructor inside another one (its result is one
/// item, not spliced in): it must keep its shape.
fn is_array_constructor(node: &AstNode) -> bool {
    match node {
        AstNode::Array(_) => true,
        AstNode::Path { steps } => {
            matches!(steps.as_slice(), [step] if matches!(step.node, AstNode::Array(_)))
        }
        _ => false,
    }
}

/// Whether `~>` would pass its left side into `node` as a call's first argument: a call, or a
/// one-step path whose step is one.
fn heads_with_call(node: &AstNode) -> bool {
    match node {
        AstNode::Function { .. } => true,
        AstNode::Path { steps } => {
            matches!(steps.as_slice(), [step] if matches!(step.node, AstNode::Function { .. }))
        }
        _ => false,
    }
}

/// Whether `node` calls a function (or uses `~>`), as jsonata-core judges a predicate
/// (`Evaluator::may_raise_on_nothing`): kinds of node it does not list count as calls.
fn makes_calls(node: &AstNode) -> bool {
    match node {
        AstNode::String(_)
        | AstNode::Name(_)
        | AstNode::Number(_)
        | AstNode::Boolean(_)
        | AstNode::Null
        | AstNode::Undefined
        | AstNode::Regex { .. }
        | AstNode::ParentVariable(_)
        | AstNode::Parent(_)
        | AstNode::Wildcard
        | AstNode::Descendant
        | AstNode::Variable(_) => false,
        AstNode::Path { steps } => steps.iter().any(|step| {
            makes_calls(&step.node)
                || step.stages.iter().any(|stage| match stage {
                    Stage::Filter(predicate) => makes_calls(predicate),
                    _ => false,
                })
        }),
        AstNode::Binary { op, lhs, rhs } => {
            *op == BinaryOp::ChainPipe || makes_calls(lhs) || makes_calls(rhs)
        }
        AstNode::Unary { operand, .. } => makes_calls(operand),
        AstNode::Array(items) | AstNode::ArrayGroup(items) | AstNode::Block(items) => {
            items.iter().any(makes_calls)
        }
        AstNode::Object(pairs) => pairs
            .iter()
            .any(|(key, value)| makes_calls(key) || makes_calls(value)),
        AstNode::Conditional {
            condition,
            then_branch,
            else_branch,
        } => {
            makes_calls(condition)
                || makes_calls(then_branch)
                || else_branch.as_deref().is_some_and(makes_calls)
        }
        _ => true,
    }
}

/// `body` with `check` evaluated before anything else in it.
///
/// Wrapping the body (`(check; body)`) would put every call of the function one evaluation
/// level deeper, and JSONata counts levels (a recursive function's depth limit is part of its
/// meaning), so the check goes into what `body` evaluates first, beside the path to its tail
/// rather than around it. Only a body with no such place is wrapped.
fn check_first(check: AstNode, body: AstNode) -> AstNode {
    match body {
        AstNode::Block(mut expressions) => {
            expressions.insert(0, check);
            AstNode::Block(expressions)
        }
        AstNode::Conditional {
            condition,
            then_branch,
            else_branch,
        } => AstNode::Conditional {
            condition: Box::new(AstNode::Block(vec![check, *condition])),
            then_branch,
            else_branch,
        },
        // The left operand is evaluated first (for `~>` too, whose right side keeps its shape).
        AstNode::Binary { op, lhs, rhs } if op != BinaryOp::ColonEqual => AstNode::Binary {
            op,
            lhs: Box::new(AstNode::Block(vec![check, *lhs])),
            rhs,
        },
        AstNode::Call { procedure, args } => AstNode::Call {
            procedure: Box::new(AstNode::Block(vec![check, *procedure])),
            args,
        },
        // The first argument, unless its shape means something to the callee: a placeholder
        // makes a partial application, and a higher-order built-in reads a function's
        // parameters off its syntax.
        AstNode::Function {
            name,
            mut args,
            is_builtin,
        } if args.first().is_some_and(|first| {
            !matches!(first, AstNode::Placeholder | AstNode::Lambda { .. })
        }) =>
        {
            let first = args.remove(0);
            args.insert(0, AstNode::Block(vec![check, first]));
            AstNode::Function {
                name,
                args,
                is_builtin,
            }
        }
        other => AstNode::Block(vec![check, other]),
    }
}

/// A guarded built-in's name and arguments, if `node` calls one by name without placeholders.
fn guarded_call(node: &AstNode) -> Option<(&str, &[AstNode])> {
    match node {
        AstNode::Function {
            name,
            args,
            is_builtin: true,
        } if builtins::guard(name) != Guard::None
            && !args.iter().any(|arg| matches!(arg, AstNode::Placeholder)) =>
        {
            Some((name, args))
        }
        _ => None,
    }
}

impl Rewriter {
    fn node(&mut self, node: AstNode) -> AstNode {
        // As in `names`: deep levels move to heap-allocated stack segments.
        jsonata_core::value::with_stack(|| self.node_here(node))
    }

    fn node_here(&mut self, node: AstNode) -> AstNode {
        match node {
            AstNode::Function {
                name,
                args,
                is_builtin: true,
            } if builtins::guard(&name) != Guard::None => {
                if args.iter().any(|arg| matches!(arg, AstNode::Placeholder)) {
                    self.partial(&name, args)
                } else {
                    let args = self.nodes(args);
                    self.guarded(&name, args)
                }
            }
            AstNode::Function {
                name,
                args,
                is_builtin,
            } => AstNode::Function {
                name,
                args: self.nodes(args),
                is_builtin,
            },
            AstNode::Variable(name) if builtins::guard(&name) != Guard::None => {
                self.reference(&name)
            }
            AstNode::Call { procedure, args } => AstNode::Call {
                procedure: Box::new(self.node(*procedure)),
                args: self.nodes(args),
            },
            AstNode::Lambda {
                params,
                body,
                signature,
                thunk,
            } => {
                let body = self.node(*body);
                let body = if params.is_empty() {
                    body
                } else {
                    self.uses.guard_arguments = true;
                    let arguments = params.iter().map(|param| variable(param)).collect();
                    check_first(call(GUARD_ARGUMENTS, arguments), body)
                };
                AstNode::Lambda {
                    params,
                    body: Box::new(body),
                    signature,
                    thunk,
                }
            }
            AstNode::Binary { op, lhs, rhs } => self.binary(op, *lhs, *rhs),
            AstNode::Unary { op, operand } => AstNode::Unary {
                op,
                operand: Box::new(self.node(*operand)),
            },
            AstNode::Array(items) => AstNode::Array(self.items(items)),
            AstNode::ArrayGroup(items) => AstNode::ArrayGroup(self.items(items)),
            AstNode::Block(expressions) => AstNode::Block(self.nodes(expressions)),
            AstNode::Object(pairs) => AstNode::Object(self.pairs(pairs)),
            AstNode::ObjectTransform { input, pattern } => AstNode::ObjectTransform {
                input: Box::new(self.node(*input)),
                pattern: self.pairs(pattern),
            },
            AstNode::Conditional {
                condition,
                then_branch,
                else_branch,
            } => AstNode::Conditional {
                condition: Box::new(self.node(*condition)),
                then_branch: Box::new(self.node(*then_branch)),
                else_branch: else_branch.map(|branch| Box::new(self.node(*branch))),
            },
            AstNode::Path { steps } => AstNode::Path {
                steps: steps.into_iter().map(|step| self.step(step)).collect(),
            },
            AstNode::FunctionApplication(inner) => {
                AstNode::FunctionApplication(Box::new(self.node(*inner)))
            }
            AstNode::Sort { input, terms } => AstNode::Sort {
                input: Box::new(self.node(*input)),
                terms: terms
                    .into_iter()
                    .map(|(term, ascending)| (self.node(term), ascending))
                    .collect(),
            },
            AstNode::Transform {
                location,
                update,
                delete,
            } => self.transform(*location, *update, delete.map(|d| *d)),
            leaf => leaf,
        }
    }

    fn nodes(&mut self, nodes: Vec<AstNode>) -> Vec<AstNode> {
        nodes.into_iter().map(|node| self.node(node)).collect()
    }

    fn step(&mut self, mut step: PathStep) -> PathStep {
        let node = std::mem::replace(&mut step.node, AstNode::Undefined);
        step.node = self.node(node);
        step.stages = std::mem::take(&mut step.stages)
            .into_iter()
            .map(|stage| match stage {
                // jsonata-core runs a predicate on an item that lacks the step's field only
                // when the predicate calls something; the guards are calls, so one that calls
                // nothing keeps its shape. It can build nothing large by itself: without a
                // function it cannot loop.
                Stage::Filter(predicate) if makes_calls(&predicate) => {
                    Stage::Filter(Box::new(self.node(*predicate)))
                }
                other => other,
            })
            .collect();
        // The step's node changed, so jsonata-core's cache of compiled steps must not take it
        // for the old one (see `PathStep::id`).
        step.id = Default::default();
        step
    }

    fn pairs(&mut self, pairs: Vec<(AstNode, AstNode)>) -> Vec<(AstNode, AstNode)> {
        pairs
            .into_iter()
            .map(|(key, value)| {
                let key = self.node(key);
                let value = self.node(value);
                (key, self.tree(value))
            })
            .collect()
    }

    /// An array constructor's items: those it splices in are checked (`[$a, $a]` doubles).
    fn items(&mut self, items: Vec<AstNode>) -> Vec<AstNode> {
        items
            .into_iter()
            .map(|item| {
                let item = self.node(item);
                if is_array_constructor(&item) {
                    item
                } else {
                    self.tree(item)
                }
            })
            .collect()
    }

    /// `node`, its size checked when it is not a literal.
    fn tree(&mut self, node: AstNode) -> AstNode {
        if is_literal(&node) {
            return node;
        }
        self.uses.guard_tree = true;
        call(GUARD_TREE, vec![node])
    }

    fn binary(&mut self, op: BinaryOp, lhs: AstNode, rhs: AstNode) -> AstNode {
        match op {
            BinaryOp::ChainPipe => self.chain(lhs, rhs),
            BinaryOp::ColonEqual => AstNode::Binary {
                op,
                // The name bound is not a reference.
                lhs: Box::new(match lhs {
                    AstNode::Variable(_) => lhs,
                    other => self.node(other),
                }),
                rhs: Box::new(self.node(rhs)),
            },
            BinaryOp::Range => {
                self.uses.range = true;
                call(RANGE, vec![self.node(lhs), self.node(rhs)])
            }
            BinaryOp::Concatenate => {
                let lhs = self.node(lhs);
                let rhs = self.node(rhs);
                let concatenation = AstNode::Binary {
                    op,
                    lhs: Box::new(self.concat_operand(lhs)),
                    rhs: Box::new(self.concat_operand(rhs)),
                };
                self.uses.guard_result = true;
                call(
                    GUARD_RESULT,
                    vec![AstNode::String("&".to_string()), concatenation],
                )
            }
            BinaryOp::Equal | BinaryOp::NotEqual | BinaryOp::In => {
                let lhs = self.node(lhs);
                let rhs = self.node(rhs);
                // Comparing anything with a scalar literal (or a list of them) is quick.
                let quick = |node: &AstNode| {
                    is_scalar_literal(node)
                        || matches!(node, AstNode::Array(items) if items.iter().all(is_scalar_literal))
                };
                if quick(&lhs) || quick(&rhs) {
                    AstNode::Binary {
                        op,
                        lhs: Box::new(lhs),
                        rhs: Box::new(rhs),
                    }
                } else {
                    AstNode::Binary {
                        op,
                        lhs: Box::new(self.tree(lhs)),
                        rhs: Box::new(self.tree(rhs)),
                    }
                }
            }
            _ => AstNode::Binary {
                op,
                lhs: Box::new(self.node(lhs)),
                rhs: Box::new(self.node(rhs)),
            },
        }
    }

    fn concat_operand(&mut self, operand: AstNode) -> AstNode {
        if is_literal(&operand) {
            return operand;
        }
        self.uses.guard_concat = true;
        call(GUARD_CONCAT, vec![operand])
    }

    /// `lhs ~> $f(args)` is jsonata's `$f(lhs, args)`: a guarded `$f` becomes that call, so
    /// that its guard sees every argument.
    fn chain(&mut self, lhs: AstNode, rhs: AstNode) -> AstNode {
        if let Some((name, args)) = guarded_call(&rhs) {
            let name = name.to_string();
            let mut all = vec![self.node(lhs)];
            all.extend(self.nodes(args.to_vec()));
            return self.guarded(&name, all);
        }
        // `lhs ~> $f(args)[filter]`: the call heads a one-step path.
        if let AstNode::Path { steps } = &rhs
            && let [step] = steps.as_slice()
            && step.focus.is_none()
            && step.index_var.is_none()
            && step.ancestor_label.is_none()
            && let Some((name, args)) = guarded_call(&step.node)
        {
            let name = name.to_string();
            let mut all = vec![self.node(lhs)];
            all.extend(self.nodes(args.to_vec()));
            let node = self.guarded(&name, all);
            let AstNode::Path { mut steps } = rhs else {
                return node;
            };
            let mut step = steps.remove(0);
            step.node = AstNode::Undefined;
            let mut step = self.step(step);
            step.node = node;
            return AstNode::Path { steps: vec![step] };
        }
        let was_call = heads_with_call(&rhs);
        let lhs = self.node(lhs);
        let mut rhs = self.node(rhs);
        // jsonata-core passes `lhs` into a call on the right; anything else it evaluates and
        // applies. A rewrite that made a call of something else (`x ~> (a & b)`) must not
        // change which.
        if !was_call && heads_with_call(&rhs) {
            rhs = AstNode::Block(vec![rhs]);
        }
        AstNode::Binary {
            op: BinaryOp::ChainPipe,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        }
    }

    /// A call of the guarded built-in `name` with (rewritten) `args`.
    fn guarded(&mut self, name: &str, args: Vec<AstNode>) -> AstNode {
        self.uses.guard_result = true;
        let label = AstNode::String(name.to_string());
        if builtins::guard(name) != Guard::Arguments {
            return call(GUARD_RESULT, vec![label, call(name, args)]);
        }
        self.uses.guard_call = true;
        let names: Vec<String> = (0..args.len()).map(|i| format!("arg {i}")).collect();
        let mut block: Vec<AstNode> = names
            .iter()
            .zip(args)
            .map(|(bound, arg)| AstNode::Binary {
                op: BinaryOp::ColonEqual,
                lhs: Box::new(variable(bound)),
                rhs: Box::new(arg),
            })
            .collect();
        let mut check = vec![label.clone(), variable(name), variable("")];
        check.extend(names.iter().map(|bound| variable(bound)));
        block.push(call(GUARD_CALL, check));
        let mut final_args: Vec<AstNode> = names.iter().map(|bound| variable(bound)).collect();
        match name {
            "toMillis" if final_args.len() >= 2 => {
                self.uses.clock = true;
                let pair = vec![final_args[0].clone(), final_args[1].clone()];
                final_args[0] = call(CLOCK_TIMESTAMP, pair.clone());
                final_args[1] = call(CLOCK_PICTURE, pair);
            }
            "replace" if final_args.len() >= 3 => {
                // A callback's results are counted as it returns them.
                self.uses.is_function = true;
                self.uses.guard_replacement = true;
                let callback = AstNode::Lambda {
                    params: vec!["match".to_string()],
                    body: Box::new(call(
                        GUARD_REPLACEMENT,
                        vec![AstNode::Call {
                            procedure: Box::new(variable(&names[2])),
                            args: vec![variable("match")],
                        }],
                    )),
                    signature: None,
                    thunk: false,
                };
                final_args[2] = AstNode::Conditional {
                    condition: Box::new(call(IS_FUNCTION, vec![variable(&names[2])])),
                    then_branch: Box::new(callback),
                    else_branch: Some(Box::new(variable(&names[2]))),
                };
            }
            _ => {}
        }
        block.push(call(GUARD_RESULT, vec![label, call(name, final_args)]));
        AstNode::Block(block)
    }

    /// `$name(a, ?, b)`: a function of the placeholders making the guarded call.
    fn partial(&mut self, name: &str, args: Vec<AstNode>) -> AstNode {
        // jsonata evaluates the arguments given when it makes the partial application (their
        // errors are raised then), and the function holds their values.
        let mut params = Vec::new();
        let mut bindings = Vec::new();
        let args = args
            .into_iter()
            .map(|arg| match arg {
                AstNode::Placeholder => {
                    let param = format!("param {}", params.len());
                    let reference = variable(&param);
                    params.push(param);
                    reference
                }
                other => {
                    let bound = format!("bound {}", bindings.len());
                    let reference = variable(&bound);
                    bindings.push(AstNode::Binary {
                        op: BinaryOp::ColonEqual,
                        lhs: Box::new(variable(&bound)),
                        rhs: Box::new(self.node(other)),
                    });
                    reference
                }
            })
            .collect();
        let function = AstNode::Lambda {
            params,
            body: Box::new(self.guarded(name, args)),
            signature: None,
            thunk: false,
        };
        if bindings.is_empty() {
            return function;
        }
        bindings.push(function);
        AstNode::Block(bindings)
    }

    /// `$name` not called: when it is the built-in, a function of its arity making the
    /// guarded call; otherwise whatever `$name` is bound to.
    fn reference(&mut self, name: &str) -> AstNode {
        let arity = builtins::builtin(name).map_or(0, |b| b.arity);
        // A variadic built-in (`$zip`) has no arity to give a function standing in for it.
        if arity == 0 {
            return variable(name);
        }
        let params: Vec<String> = (0..arity).map(|i| format!("param {i}")).collect();
        let args = params.iter().map(|param| variable(param)).collect();
        let function = AstNode::Lambda {
            params,
            body: Box::new(self.guarded(name, args)),
            signature: builtins::stand_in_signature(name).map(str::to_string),
            thunk: false,
        };
        self.uses.is_builtin = true;
        AstNode::Conditional {
            condition: Box::new(call(
                IS_BUILTIN,
                vec![variable(name), AstNode::String(name.to_string())],
            )),
            then_branch: Box::new(function),
            else_branch: Some(Box::new(variable(name))),
        }
    }

    /// `|location|update,delete|` copies its input deeply: a function checking the input's size
    /// first, then applying the transform to it.
    fn transform(
        &mut self,
        location: AstNode,
        update: AstNode,
        delete: Option<AstNode>,
    ) -> AstNode {
        let transform = AstNode::Transform {
            location: Box::new(self.node(location)),
            update: Box::new(self.node(update)),
            delete: delete.map(|d| Box::new(self.node(d))),
        };
        self.uses.guard_tree = true;
        AstNode::Lambda {
            params: vec!["transform input".to_string()],
            body: Box::new(AstNode::Binary {
                op: BinaryOp::ChainPipe,
                lhs: Box::new(call(GUARD_TREE, vec![variable("transform input")])),
                rhs: Box::new(transform),
            }),
            signature: None,
            thunk: false,
        }
    }
}
