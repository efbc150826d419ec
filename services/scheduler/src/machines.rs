//! Parsed definitions, kept between batches: parsing and indexing a definition costs far more
//! than a step of a Pass state, and most executions share a few definitions.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use switchback_asl::interpreter::Machine;

/// How many definitions are kept; when full, the cache starts over (simple and bounded).
const CAPACITY: usize = 256;

#[derive(Default)]
pub struct Machines {
    parsed: HashMap<u64, (String, Machine)>,
}

impl Machines {
    /// The machine for this definition text, parsed once.
    pub fn get(&mut self, definition: &str) -> Machine {
        let mut hasher = DefaultHasher::new();
        definition.hash(&mut hasher);
        let key = hasher.finish();
        if let Some((text, machine)) = self.parsed.get(&key)
            && text == definition
        {
            return machine.clone();
        }
        if self.parsed.len() >= CAPACITY {
            self.parsed.clear();
        }
        let machine = Machine::parse(definition);
        self.parsed
            .insert(key, (definition.to_owned(), machine.clone()));
        machine
    }
}

#[cfg(test)]
mod tests {
    use super::Machines;

    #[test]
    fn parses_each_definition_once_and_tells_them_apart() {
        let mut machines = Machines::default();
        let a = r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}"#;
        let b = r#"{"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}"#;
        let first = machines.get(a);
        let again = machines.get(a);
        assert_eq!(first.definition(), again.definition());
        assert_ne!(machines.get(b).definition(), first.definition());
        assert_eq!(machines.parsed.len(), 2);
    }
}
