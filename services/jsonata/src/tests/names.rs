//! `Expression::free_variables`, `reads_member` and `reaches`.

use crate::Expression;

fn free(source: &str) -> Vec<String> {
    Expression::parse(source)
        .unwrap_or_else(|e| panic!("{source}: {e}"))
        .free_variables()
}

#[test]
fn variables_read_from_outside() {
    assert_eq!(free("$states.input.a"), ["states"]);
    assert_eq!(free("$b + $a + $b"), ["a", "b"]);
    assert_eq!(
        free("{\"x\": $states.input, \"y\": $count}"),
        ["count", "states"]
    );
    assert!(free("a.b.c + 1").is_empty());
    assert!(free("$").is_empty());
    assert!(free("$$.a").is_empty());
}

#[test]
fn calls_of_builtins_are_not_variables() {
    assert_eq!(free("$sum($xs)"), ["xs"]);
    assert!(free("$string(1) & $uppercase(\"a\")").is_empty());
    // A function the host supplies is read from outside like a variable.
    assert_eq!(free("$partition($xs, 2)"), ["partition", "xs"]);
    // A built-in named without a call is listed: a variable of that name would be read.
    assert_eq!(free("$map($xs, $string)"), ["string", "xs"]);
}

#[test]
fn names_bound_inside_are_not_free() {
    assert!(free("($x := 1; $x + 1)").is_empty());
    assert_eq!(free("($x := $x + 1; $x)"), ["x"]);
    assert!(free("function($a, $b) { $a + $b }").is_empty());
    assert_eq!(free("function($a) { $a + $b }"), ["b"]);
    assert!(free("($f := function($n) { $n = 0 ? 1 : $n * $f($n - 1) }; $f(5))").is_empty());
    assert!(free("Account.Order@$o.Product[$o.OrderID = \"x\"]").is_empty());
    assert!(free("Account.Order#$i.Product.{\"i\": $i}").is_empty());
    assert_eq!(
        free("$map($xs, function($v, $i) { $v + $i + $k })"),
        ["k", "xs"]
    );
}

#[test]
fn over_approximates_rather_than_misses() {
    // Bound in one block, read in another: listed.
    assert_eq!(free("(($x := 1); $x)"), ["x"]);
    // Bound only on one branch: listed.
    assert_eq!(free("($c ? ($y := 1) : 0; $y)"), ["c", "y"]);
    // Read before its binding: listed.
    assert_eq!(free("($z; $z := 1)"), ["z"]);
}

#[test]
fn sorted_and_unique() {
    assert_eq!(free("[$c, $a, $b, $a, $c]"), ["a", "b", "c"]);
}

fn reads(source: &str, name: &str, member: &str) -> bool {
    Expression::parse(source)
        .unwrap_or_else(|e| panic!("{source}: {e}"))
        .reads_member(name, member)
}

#[test]
fn members_read_through_paths_are_told_apart() {
    let merge = "$merge([$states.input, {'n': $states.input.n + 1}])";
    assert!(reads(merge, "states", "input"));
    assert!(!reads(merge, "states", "context"));
    assert!(reads("$states.context.State.Name", "states", "context"));
    assert!(!reads("$states.context.State.Name", "states", "input"));
    // Every other way of reading the variable may reach any member.
    for whole in [
        "$states",
        "$keys($states)",
        "$lookup($states, 'context')",
        "$states[0].context",
        "$states.$",
        "$states.('context')",
        "$states.input & $string($states)",
        "$states@$s.input",
    ] {
        assert!(reads(whole, "states", "context"), "{whole}");
    }
    // A name bound inside is not the variable from outside.
    assert!(!reads(
        "($states := {}; $states.context)",
        "states",
        "context"
    ));
    assert!(!reads("$other.context", "states", "context"));
}

#[test]
fn host_functions_are_reached_through_the_builtins_that_call_them() {
    let reaches = |source: &str, name: &str| {
        Expression::parse(source)
            .unwrap_or_else(|e| panic!("{source}: {e}"))
            .reaches(name)
    };
    assert!(reaches("$random()", "random"));
    assert!(reaches("$shuffle([1, 2])", "random"));
    assert!(reaches("$toMillis('10:00', '[H]:[m]')", "now"));
    assert!(!reaches("$states.input", "random"));
    assert!(!reaches("$uuid()", "now"));
}
