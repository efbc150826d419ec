//! Tells the corpus tests whether the conformance corpus recorded on AWS sits beside the project
//! (`../shared/conformance/corpus`). It lives outside the repository, so a checkout may lack it:
//! then `cfg(corpus)` is unset and the tests report themselves ignored, with the reason, instead
//! of passing having checked nothing.

use std::path::Path;

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/corpus");
    println!("cargo::rustc-check-cfg=cfg(corpus)");
    // The one place the path is written: the tests read it from here (`tests/support`).
    println!(
        "cargo::rustc-env=SWITCHBACK_CORPUS_DIR={}",
        corpus.display()
    );
    println!("cargo::rerun-if-changed=build.rs");
    // Cargo counts a missing watched path as changed on every build, which would rebuild this
    // crate and all its dependents each time, so only existing directories are watched: the
    // corpus, and its nearest existing parent (no higher than `../shared`) so that the corpus
    // appearing or going reruns this script.
    if corpus.is_dir() {
        println!("cargo::rerun-if-changed={}", corpus.display());
        println!("cargo::rustc-cfg=corpus");
    }
    if let Some(parent) = corpus.ancestors().skip(1).take(2).find(|dir| dir.is_dir()) {
        println!("cargo::rerun-if-changed={}", parent.display());
    }
}
