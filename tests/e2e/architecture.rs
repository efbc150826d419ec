//! Invariants of the crate graph (docs/ARCHITECTURE.md).

use std::process::Command;

fn normal_dependencies(package: &str) -> String {
    normal_dependencies_pruning(package, &[])
}

/// As [`normal_dependencies`], without the subtrees of `pruned`.
fn normal_dependencies_pruning(package: &str, pruned: &[&str]) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut args = vec![
        "tree",
        "--offline",
        "-e",
        "normal",
        "--prefix",
        "none",
        "-p",
        package,
    ];
    for name in pruned {
        args.extend(["--prune", name]);
    }
    let output = Command::new(cargo)
        .args(args)
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

/// `rand` and `chrono` reach the language crate only as dependencies of the JSONata engine, whose
/// clock and random source `switchback-jsonata` never lets an expression use (`$now`,
/// `$millis` and `$random` are the caller's: its tests prove it).
#[test]
fn the_language_crate_is_pure() {
    let tree = normal_dependencies_pruning("switchback-asl", &["jsonata-core"]);
    let names = crate_names(&tree);
    assert!(
        names.contains(&"serde_json"),
        "cargo tree output looks wrong: {tree}"
    );
    for forbidden in [
        "tokio",
        "sqlx",
        "hyper",
        "axum",
        "rand",
        "chrono",
        "switchback-store",
    ] {
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

/// Crates that talk to PostgreSQL: the drivers and the migration runner.
fn is_database_crate(name: &str) -> bool {
    name == "sqlx"
        || name.starts_with("sqlx-")
        || name.starts_with("tokio-postgres")
        || name.starts_with("postgres")
        || name.starts_with("refinery")
        || name == "deadpool-postgres"
        || name == "bb8-postgres"
        || name == "diesel"
}

/// SQL a string literal would hold: statements, and PostgreSQL's notification and lock calls.
const SQL_WORDS: [&str; 10] = [
    "SELECT ",
    "INSERT INTO",
    "DELETE FROM",
    "UPDATE ",
    "CREATE TABLE",
    "ALTER TABLE",
    "LISTEN ",
    "NOTIFY ",
    "pg_notify",
    "pg_advisory",
];

/// docs/ARCHITECTURE.md: "no other crate contains SQL" than `switchback-store`. Among the
/// crates of `services/`, only the store depends (directly, in any dependency kind) on a
/// PostgreSQL driver or the migration runner, and the others' sources hold no SQL statement
/// outside comments: the language crate, the API, the scheduler and the binary reach the
/// database only through the store's functions. The test crate is exempt: its support
/// creates databases and injects faults with SQL of its own.
#[test]
fn only_the_store_talks_to_postgres() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--offline",
            "--no-deps",
            "--format-version",
            "1",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata is JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let mut service_crates = Vec::new();
    for package in packages {
        let name = package["name"].as_str().unwrap_or_default();
        let manifest =
            std::path::PathBuf::from(package["manifest_path"].as_str().unwrap_or_default());
        let database: Vec<&str> = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["name"].as_str())
            .filter(|d| is_database_crate(d))
            .collect();
        match name {
            "switchback-store" => {
                assert!(
                    database.contains(&"sqlx") && database.contains(&"tokio-postgres"),
                    "the store's drivers went missing from the metadata: {database:?}"
                );
            }
            "switchback-tests" => {}
            _ => {
                assert!(
                    database.is_empty(),
                    "{name} depends on {database:?}: only switchback-store talks to PostgreSQL"
                );
                service_crates.push((name.to_owned(), manifest));
            }
        }
    }
    let mut names: Vec<&str> = service_crates.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "switchback",
            "switchback-api",
            "switchback-asl",
            "switchback-console",
            "switchback-invoke",
            "switchback-jsonata",
            "switchback-scheduler"
        ],
        "the workspace's crates changed: decide whether the new one may hold SQL"
    );

    for (name, manifest) in &service_crates {
        let src = manifest.parent().expect("crate directory").join("src");
        let mut files = vec![src];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).expect("read a source directory") {
                    files.push(entry.expect("a directory entry").path());
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read a source file");
            for (number, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for word in SQL_WORDS {
                    assert!(
                        !line.contains(word),
                        "{name}: {}:{} holds SQL ({word:?}): {line}",
                        path.display(),
                        number + 1
                    );
                }
            }
        }
    }
}
