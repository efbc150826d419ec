//! The `$names` an expression reads: those it does not bind itself (`free_variables`), and
//! every name it mentions at all (what an evaluation needs to bind or register).

use std::collections::BTreeSet;

use jsonata_core::ast::{AstNode, BinaryOp, PathStep, Stage};

use crate::builtins;

/// The names of one parsed (not yet rewritten) expression.
#[derive(Debug, Clone, Default)]
pub(crate) struct Names {
    /// Read from outside: sorted, unique.
    pub free: Vec<String>,
    /// Every `$name` read or called anywhere, bound inside or not.
    pub mentioned: BTreeSet<String>,
    /// Free names read other than as `$name.member` (whole, or in a way the walk cannot
    /// follow): an evaluation needs all of each.
    pub read_whole: BTreeSet<String>,
    /// `(name, member)` for each free `$name.member` path.
    pub members_read: BTreeSet<(String, String)>,
}

impl Names {
    /// Whether an evaluation can read `member` of free variable `$name`.
    pub fn reads_member(&self, name: &str, member: &str) -> bool {
        self.read_whole.contains(name)
            || self
                .members_read
                .iter()
                .any(|(read, read_member)| read == name && read_member == member)
    }
}

pub(crate) fn analyse(ast: &AstNode) -> Names {
    let mut walker = Walker::default();
    walker.node(ast);
    Names {
        free: walker.free.into_iter().collect(),
        mentioned: walker.mentioned,
        read_whole: walker.read_whole,
        members_read: walker.members_read,
    }
}

/// A walk keeping the names bound where it is: a stack, so that leaving a scope is a
/// truncation. Binding is approximated towards "free": only bindings certain to be in effect
/// count (a `:=` that is a direct expression of the block, lambda parameters, a path's
/// focus and index variables in its later steps), so a name is never missed.
#[derive(Default)]
struct Walker {
    bound: Vec<String>,
    free: BTreeSet<String>,
    mentioned: BTreeSet<String>,
    read_whole: BTreeSet<String>,
    members_read: BTreeSet<(String, String)>,
}

impl Walker {
    fn is_bound(&self, name: &str) -> bool {
        self.bound.iter().any(|bound| bound == name)
    }

    fn read(&mut self, name: &str) {
        // `$` alone is the context, not a variable.
        if name.is_empty() {
            return;
        }
        self.mentioned.insert(name.to_string());
        if !self.is_bound(name) {
            self.free.insert(name.to_string());
            self.read_whole.insert(name.to_string());
        }
    }

    /// `$name.member` as a path's first two steps.
    fn read_member(&mut self, name: &str, member: &str) {
        self.mentioned.insert(name.to_string());
        if !self.is_bound(name) {
            self.free.insert(name.to_string());
            self.members_read
                .insert((name.to_string(), member.to_string()));
        }
    }

    fn node(&mut self, node: &AstNode) {
        // The parser allows about a thousand levels of nesting; on a small stack in a debug
        // build that needs more than the stack has, so deep levels move to the heap as
        // jsonata-core's own walkers do.
        jsonata_core::value::with_stack(|| self.node_here(node));
    }

    fn node_here(&mut self, node: &AstNode) {
        match node {
            AstNode::String(_)
            | AstNode::Name(_)
            | AstNode::Number(_)
            | AstNode::Boolean(_)
            | AstNode::Null
            | AstNode::Undefined
            | AstNode::Placeholder
            | AstNode::Regex { .. }
            | AstNode::ParentVariable(_)
            | AstNode::Wildcard
            | AstNode::Descendant
            | AstNode::Parent(_) => {}
            AstNode::Variable(name) => self.read(name),
            AstNode::Function {
                name,
                args,
                is_builtin,
            } => {
                // `name(...)` without `$` calls a field of the input, not a variable.
                if *is_builtin {
                    self.mentioned.insert(name.clone());
                    if !self.is_bound(name) && builtins::builtin(name).is_none() {
                        self.free.insert(name.clone());
                    }
                }
                args.iter().for_each(|arg| self.node(arg));
            }
            AstNode::Call { procedure, args } => {
                self.node(procedure);
                args.iter().for_each(|arg| self.node(arg));
            }
            AstNode::Lambda { params, body, .. } => {
                let mark = self.bound.len();
                self.bound.extend(params.iter().cloned());
                self.node(body);
                self.bound.truncate(mark);
            }
            AstNode::Binary {
                op: BinaryOp::ColonEqual,
                lhs,
                rhs,
            } => {
                match (lhs.as_ref(), rhs.as_ref()) {
                    // A function bound to a name calls itself by it.
                    (AstNode::Variable(name), AstNode::Lambda { .. }) => {
                        self.mentioned.insert(name.clone());
                        self.bound.push(name.clone());
                        self.node(rhs);
                        self.bound.pop();
                    }
                    (AstNode::Variable(name), _) => {
                        self.mentioned.insert(name.clone());
                        self.node(rhs);
                    }
                    _ => {
                        self.node(lhs);
                        self.node(rhs);
                    }
                }
            }
            AstNode::Binary { lhs, rhs, .. } => {
                self.node(lhs);
                self.node(rhs);
            }
            AstNode::Unary { operand, .. } => self.node(operand),
            AstNode::Array(items) | AstNode::ArrayGroup(items) => {
                items.iter().for_each(|item| self.node(item));
            }
            AstNode::Block(expressions) => {
                let mark = self.bound.len();
                for expression in expressions {
                    self.node(expression);
                    if let AstNode::Binary {
                        op: BinaryOp::ColonEqual,
                        lhs,
                        ..
                    } = expression
                        && let AstNode::Variable(name) = lhs.as_ref()
                    {
                        self.bound.push(name.clone());
                    }
                }
                self.bound.truncate(mark);
            }
            AstNode::Object(pairs) => {
                for (key, value) in pairs {
                    self.node(key);
                    self.node(value);
                }
            }
            AstNode::ObjectTransform { input, pattern } => {
                let mark = self.bound.len();
                self.tuple_source(input);
                for (key, value) in pattern {
                    self.node(key);
                    self.node(value);
                }
                self.bound.truncate(mark);
            }
            AstNode::Conditional {
                condition,
                then_branch,
                else_branch,
            } => {
                self.node(condition);
                self.node(then_branch);
                if let Some(else_branch) = else_branch {
                    self.node(else_branch);
                }
            }
            AstNode::Path { steps } => {
                let mark = self.bound.len();
                self.steps(steps);
                self.bound.truncate(mark);
            }
            AstNode::FunctionApplication(inner) => self.node(inner),
            AstNode::Sort { input, terms } => {
                let mark = self.bound.len();
                self.tuple_source(input);
                for (term, _) in terms {
                    self.node(term);
                }
                self.bound.truncate(mark);
            }
            AstNode::Transform {
                location,
                update,
                delete,
            } => {
                self.node(location);
                self.node(update);
                if let Some(delete) = delete {
                    self.node(delete);
                }
            }
        }
    }

    /// The input of a group-by or sort: a path's focus and index variables stay bound for
    /// what follows it.
    fn tuple_source(&mut self, input: &AstNode) {
        match input {
            AstNode::Path { steps } => self.steps(steps),
            other => self.node(other),
        }
    }

    /// A path's steps, leaving the variables they bind on the stack.
    fn steps(&mut self, steps: &[PathStep]) {
        for (index, step) in steps.iter().enumerate() {
            // `$name.member…`: only that member of `$name` is read.
            if index == 0
                && let (AstNode::Variable(name), Some(next)) = (&step.node, steps.get(1))
                && let AstNode::Name(member) = &next.node
                && !name.is_empty()
                && step.stages.is_empty()
                && step.focus.is_none()
                && step.index_var.is_none()
            {
                self.read_member(name, member);
            } else {
                self.node(&step.node);
            }
            let mut index_bound = Vec::new();
            for stage in &step.stages {
                match stage {
                    Stage::Filter(predicate) => self.node(predicate),
                    Stage::KeepArray => {}
                    Stage::Index(name) => index_bound.push(name.clone()),
                }
            }
            // Bound for the steps after this one (over-approximating: not for this step's own
            // predicates, where a later reading may not see them).
            self.bound.extend(index_bound);
            self.bound.extend(step.focus.iter().cloned());
            self.bound.extend(step.index_var.iter().cloned());
        }
    }
}
