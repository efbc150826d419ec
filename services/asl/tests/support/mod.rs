//! What the corpus tests share: where the conformance corpus is, and the floors on what they
//! check.
//!
//! The tests run only under `cfg(corpus)`, which `build.rs` sets when it finds the corpus;
//! without it they are ignored with the reason. The floors make a run that checks fewer records
//! than before fail, rather than pass on whatever is left.

use std::path::PathBuf;

/// The conformance corpus recorded on AWS, at the path `build.rs` looked at.
pub fn corpus_dir() -> PathBuf {
    let dir = PathBuf::from(env!("SWITCHBACK_CORPUS_DIR"));
    // Reached without the corpus only through `--ignored`; say so rather than fail on a file.
    assert!(
        dir.is_dir(),
        "no conformance corpus at {}; these tests need it",
        dir.display()
    );
    dir
}

/// Fails when `count` fell below `floor`, the count when the floor was set. A count above it
/// passes but asks for the floor to be raised, so that later losses are caught too.
pub fn assert_at_least(what: &str, count: usize, floor: usize) {
    assert!(
        count >= floor,
        "{what}: {count}, below the floor of {floor}: the corpus shrank or a check regressed"
    );
    if count > floor {
        println!("{what}: {count}, above the floor of {floor}; raise the floor");
    }
}
