//! `Expression::free_variables`.

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
