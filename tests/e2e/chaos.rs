//! The chaos suite's short run (`switchback_tests::chaos`): API and scheduler processes of the
//! real binary keep every promise while faults strike work in flight. The long run is
//! `bench --scenario chaos`.

use switchback_tests::chaos::{self, Plan};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_execution_is_exact_while_faults_strike_work_in_flight() {
    let report = chaos::run(&Plan::short()).await;
    println!("{report}");
    let shortcomings = report.shortcomings();
    assert!(
        shortcomings.is_empty(),
        "{report}\n{} shortcomings:\n{}",
        shortcomings.len(),
        shortcomings.join("\n")
    );
}
