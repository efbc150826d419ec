//! Everything lives in PostgreSQL: a new process on the same database sees the same resources.

use switchback_tests::TestApp;

#[tokio::test]
async fn resources_survive_a_restart() {
    let app = TestApp::spawn().await;
    let activity = app
        .client
        .create_activity()
        .name("durable")
        .send()
        .await
        .unwrap();
    app.client
        .create_activity()
        .name("second")
        .send()
        .await
        .unwrap();
    let machine = app
        .client
        .create_state_machine()
        .name("durable")
        .definition(r#"{"StartAt": "S", "States": {"S": {"Type": "Succeed"}}}"#)
        .role_arn("arn:aws:iam::123456789012:role/r")
        .send()
        .await
        .unwrap();
    let page = app
        .client
        .list_activities()
        .max_results(1)
        .send()
        .await
        .unwrap();
    let url = app.database_url.clone();
    app.stop().await;

    let app = TestApp::spawn_on(&url).await;
    let described = app
        .client
        .describe_activity()
        .activity_arn(activity.activity_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(described.creation_date(), activity.creation_date());
    let described = app
        .client
        .describe_state_machine()
        .state_machine_arn(machine.state_machine_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(described.name(), "durable");
    // A page token from the old process is still good.
    let next = app
        .client
        .list_activities()
        .next_token(page.next_token().expect("a second page"))
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = next.activities().iter().map(|a| a.name()).collect();
    assert_eq!(names, ["second"]);
    app.stop().await;
}

#[tokio::test]
async fn api_nodes_refuse_a_database_that_is_behind() {
    let url = switchback_tests::pg::fresh_database().await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::raw_sql("DELETE FROM refinery_schema_history")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let settings = switchback::settings::Settings::defaults().unwrap();
    let error = switchback::app::Application::build(&settings, &url, switchback::app::Role::Api)
        .await
        .err()
        .expect("must refuse");
    let message = format!("{error:#}");
    assert!(message.contains("run `switchback migrate`"), "{message}");
}

#[tokio::test]
async fn nodes_migrating_together_do_not_race() {
    let url = switchback_tests::pg::empty_database().await;
    let runs = (0..4).map(|_| {
        let url = url.clone();
        async move { switchback_store::migrate::run(&url).await }
    });
    let results = futures_join_all(runs).await;
    let applied: usize = results
        .into_iter()
        .map(|r| r.expect("every concurrent migration succeeds").len())
        .sum();
    // Exactly one run applied each migration; the others found nothing to do. Versions have
    // a gap (V6 was never released), so the files are counted.
    let expected = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations"))
        .unwrap()
        .filter(|f| {
            f.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".sql")
        })
        .count();
    assert_eq!(applied, expected);
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    switchback_store::migrate::check_current(&pool)
        .await
        .unwrap();
}

/// Runs futures concurrently on the current task set and collects their outputs in order.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.expect("task panicked"));
    }
    outputs
}
