//! Invariants of the crate graph (docs/ARCHITECTURE.md).

use std::process::Command;

fn normal_dependencies(package: &str) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn crate_names(tree: &str) -> Vec<&str> {
    tree.lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

#[test]
fn the_language_crate_is_pure() {
    let tree = normal_dependencies("switchback-asl");
    let names = crate_names(&tree);
    assert!(
        names.contains(&"serde_json"),
        "cargo tree output looks wrong: {tree}"
    );
    for forbidden in ["tokio", "sqlx", "hyper", "axum", "rand", "switchback-store"] {
        assert!(
            !names.contains(&forbidden),
            "switchback-asl depends on {forbidden}"
        );
    }
}

#[test]
fn api_and_scheduler_never_import_each_other() {
    let api = normal_dependencies("switchback-api");
    assert!(!crate_names(&api).contains(&"switchback-scheduler"));
    let scheduler = normal_dependencies("switchback-scheduler");
    assert!(!crate_names(&scheduler).contains(&"switchback-api"));
    assert!(crate_names(&scheduler).contains(&"switchback-store"));
}
