//! UpdateStateMachine, versions, aliases and tags through the SDK (docs/compatibility.md).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sfn::types::{EncryptionType, ExecutionStatus, RoutingConfigurationListItem, Tag};
use switchback_tests::TestApp;

use crate::error_code;
use crate::executions::{create_machine, wait_until_done};

fn pass(result: &str) -> String {
    format!(
        r#"{{"StartAt": "P", "States": {{"P": {{"Type": "Pass", "Result": "{result}", "End": true}}}}}}"#
    )
}

fn route(version: &str, weight: i32) -> RoutingConfigurationListItem {
    RoutingConfigurationListItem::builder()
        .state_machine_version_arn(version)
        .weight(weight)
        .build()
        .expect("route")
}

async fn output_of(app: &TestApp, target: &str) -> (String, Option<String>, Option<String>) {
    let started = app
        .client
        .start_execution()
        .state_machine_arn(target)
        .send()
        .await
        .expect("start");
    let done = wait_until_done(
        &app.client,
        started.execution_arn(),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    (
        done.output().unwrap_or_default().to_owned(),
        done.state_machine_version_arn().map(str::to_owned),
        done.state_machine_alias_arn().map(str::to_owned),
    )
}

/// An update makes a new revision; publishing freezes it as version N (again: the same
/// version while nothing changed; with a stale revision: ConflictException); a version ARN
/// runs that version's definition whatever the machine holds now; a running execution keeps
/// the definition it started with.
#[tokio::test]
async fn updates_and_versions() {
    let app = TestApp::spawn().await;
    let machine = create_machine(&app, "versioned", &pass("v0")).await;
    let wait = r#"{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3, "Next": "P"}, "P": {"Type": "Pass", "Result": "before", "End": true}}}"#;
    let updated = app
        .client
        .update_state_machine()
        .state_machine_arn(&machine)
        .definition(wait)
        .send()
        .await
        .unwrap();
    let revision = updated.revision_id().expect("a revision").to_owned();
    let running = app
        .client
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap()
        .execution_arn()
        .to_owned();

    let v1 = app
        .client
        .publish_state_machine_version()
        .state_machine_arn(&machine)
        .revision_id(&revision)
        .description("first")
        .send()
        .await
        .unwrap()
        .state_machine_version_arn()
        .to_owned();
    assert_eq!(v1, format!("{machine}:1"));
    let again = app
        .client
        .publish_state_machine_version()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.state_machine_version_arn(),
        v1,
        "nothing changed: the same version"
    );

    let v2 = app
        .client
        .update_state_machine()
        .state_machine_arn(&machine)
        .definition(pass("v2"))
        .publish(true)
        .version_description("second")
        .send()
        .await
        .unwrap()
        .state_machine_version_arn()
        .expect("published")
        .to_owned();
    assert_eq!(v2, format!("{machine}:2"));
    let (code, message) = error_code(
        app.client
            .publish_state_machine_version()
            .state_machine_arn(&machine)
            .revision_id(&revision)
            .send()
            .await,
    );
    assert_eq!(code, "ConflictException", "{message}");

    // The execution started before the update runs what it started with.
    let done = wait_until_done(&app.client, &running, Duration::from_secs(10)).await;
    assert_eq!(done.output(), Some("\"before\""));
    let (output, version, alias) = output_of(&app, &machine).await;
    assert_eq!((output.as_str(), version, alias), ("\"v2\"", None, None));

    let described = app
        .client
        .describe_state_machine()
        .state_machine_arn(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(described.definition(), wait);
    assert_eq!(described.description(), Some("first"));
    assert_eq!(described.revision_id(), Some(revision.as_str()));
    assert_eq!(
        described.encryption_configuration().map(|e| e.r#type()),
        Some(&EncryptionType::AwsOwnedKey)
    );
    let listed = app
        .client
        .list_state_machine_versions()
        .state_machine_arn(&machine)
        .max_results(1)
        .send()
        .await
        .unwrap();
    let arns: Vec<&str> = listed
        .state_machine_versions()
        .iter()
        .map(|v| v.state_machine_version_arn())
        .collect();
    assert_eq!(arns, [v2.as_str()], "newest first");
    let rest = app
        .client
        .list_state_machine_versions()
        .state_machine_arn(&machine)
        .next_token(listed.next_token().expect("more"))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.state_machine_versions().len(), 1);
    assert_eq!(
        rest.state_machine_versions()[0].state_machine_version_arn(),
        v1
    );
    assert!(rest.next_token().is_none());
    let (code, _) = error_code(
        app.client
            .update_state_machine()
            .state_machine_arn(&machine)
            .send()
            .await,
    );
    assert_eq!(code, "MissingRequiredParameter", "nothing to change");

    let (code, _) = error_code(
        app.client
            .start_execution()
            .state_machine_arn(format!("{machine}:9"))
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineDoesNotExist");
    let (code, _) = error_code(
        app.client
            .update_state_machine()
            .state_machine_arn(&v1)
            .definition(pass("x"))
            .send()
            .await,
    );
    assert_eq!(
        code, "StateMachineDoesNotExist",
        "a version cannot be updated"
    );

    // Deleted versions keep their numbers to themselves.
    app.client
        .delete_state_machine_version()
        .state_machine_version_arn(&v2)
        .send()
        .await
        .unwrap();
    let v3 = app
        .client
        .update_state_machine()
        .state_machine_arn(&machine)
        .definition(pass("v3"))
        .publish(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        v3.state_machine_version_arn(),
        Some(format!("{machine}:3").as_str())
    );
    let (output, version, _) = output_of(&app, &v1).await;
    assert_eq!(output, "\"before\"");
    assert_eq!(version.as_deref(), Some(v1.as_str()));

    // Listing a version lists what ran it; ExecutionStarted names it.
    let listed = app
        .client
        .list_executions()
        .state_machine_arn(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.executions().len(), 1);
    let item = &listed.executions()[0];
    assert_eq!(item.state_machine_version_arn(), Some(v1.as_str()));
    let all = app
        .client
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    assert_eq!(
        all.executions().len(),
        3,
        "the machine lists every execution"
    );
    let history = app
        .client
        .get_execution_history()
        .execution_arn(item.execution_arn())
        .send()
        .await
        .unwrap();
    let started = history.events()[0]
        .execution_started_event_details()
        .expect("ExecutionStarted");
    assert_eq!(started.state_machine_version_arn(), Some(v1.as_str()));
    assert_eq!(started.state_machine_alias_arn(), None);
    app.stop().await;
}

/// An alias at 90/10 sends about nine starts in ten to the first version (1,000 starts: the
/// bounds are more than five standard deviations wide); a version an alias routes to cannot
/// be deleted.
#[tokio::test]
async fn an_alias_routes_starts_by_weight() {
    let app = TestApp::spawn().await;
    let machine = create_machine(&app, "aliased", &pass("one")).await;
    let publish = |result: &'static str| {
        let client = app.client.clone();
        let machine = machine.clone();
        async move {
            client
                .update_state_machine()
                .state_machine_arn(&machine)
                .definition(pass(result))
                .publish(true)
                .send()
                .await
                .unwrap()
                .state_machine_version_arn()
                .expect("version")
                .to_owned()
        }
    };
    let one = publish("one").await;
    let two = publish("two").await;
    let alias = app
        .client
        .create_state_machine_alias()
        .name("live")
        .routing_configuration(route(&one, 90))
        .routing_configuration(route(&two, 10))
        .send()
        .await
        .unwrap()
        .state_machine_alias_arn()
        .to_owned();
    assert_eq!(alias, format!("{machine}:live"));

    let mut starts = Vec::new();
    for _ in 0..1_000 {
        let started = app
            .client
            .start_execution()
            .state_machine_arn(&alias)
            .send()
            .await
            .unwrap();
        starts.push(started.execution_arn().to_owned());
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    for arn in &starts {
        let described = app
            .client
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .unwrap();
        assert_eq!(described.state_machine_alias_arn(), Some(alias.as_str()));
        *counts
            .entry(
                described
                    .state_machine_version_arn()
                    .unwrap_or_default()
                    .to_owned(),
            )
            .or_default() += 1;
    }
    let first = counts.get(&one).copied().unwrap_or(0);
    assert!((850..=950).contains(&first), "{counts:?}");
    assert_eq!(first + counts.get(&two).copied().unwrap_or(0), 1_000);

    let (code, message) = error_code(
        app.client
            .delete_state_machine_version()
            .state_machine_version_arn(&two)
            .send()
            .await,
    );
    assert_eq!(code, "ConflictException");
    assert!(message.ends_with("[live]"), "{message}");
    let routing = app
        .client
        .list_state_machine_aliases()
        .state_machine_arn(&two)
        .send()
        .await
        .unwrap();
    let routed: Vec<&str> = routing
        .state_machine_aliases()
        .iter()
        .map(|a| a.state_machine_alias_arn())
        .collect();
    assert_eq!(
        routed,
        [alias.as_str()],
        "a version lists the aliases routing to it"
    );
    let (code, message) = error_code(
        app.client
            .update_state_machine_alias()
            .state_machine_alias_arn(&alias)
            .routing_configuration(route(&one, 70))
            .routing_configuration(route(&two, 29))
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "Sum of routing configuration weights must equal 100. Received: [70, 29]"
    );
    app.client
        .update_state_machine_alias()
        .state_machine_alias_arn(&alias)
        .routing_configuration(route(&one, 100))
        .send()
        .await
        .unwrap();
    app.client
        .delete_state_machine_version()
        .state_machine_version_arn(&two)
        .send()
        .await
        .unwrap();
    let described = app
        .client
        .describe_state_machine_alias()
        .state_machine_alias_arn(&alias)
        .send()
        .await
        .unwrap();
    assert_eq!(described.routing_configuration().len(), 1);
    app.client
        .delete_state_machine_alias()
        .state_machine_alias_arn(&alias)
        .send()
        .await
        .unwrap();
    let (code, _) = error_code(
        app.client
            .describe_state_machine_alias()
            .state_machine_alias_arn(&alias)
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFound");
    app.stop().await;
}

/// Tags on state machines and activities: given at creation, added (a key again replaces its
/// value), removed, listed; 50 at most; an unknown resource is ResourceNotFound.
#[tokio::test]
async fn tags_on_machines_and_activities() {
    let app = TestApp::spawn().await;
    let tag = |key: &str, value: &str| Tag::builder().key(key).value(value).build();
    let machine = app
        .client
        .create_state_machine()
        .name("tagged")
        .definition(pass("x"))
        .role_arn(crate::executions::ROLE)
        .tags(tag("team", "a"))
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_owned();
    let activity = app
        .client
        .create_activity()
        .name("worker")
        .send()
        .await
        .unwrap()
        .activity_arn()
        .to_owned();
    for arn in [&machine, &activity] {
        app.client
            .tag_resource()
            .resource_arn(arn)
            .tags(tag("team", "b"))
            .tags(tag("env", "prod"))
            .send()
            .await
            .unwrap();
        app.client
            .untag_resource()
            .resource_arn(arn)
            .tag_keys("missing")
            .send()
            .await
            .unwrap();
        let listed = app
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        let pairs: Vec<(&str, &str)> = listed
            .tags()
            .iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
            .collect();
        assert_eq!(pairs, [("team", "b"), ("env", "prod")], "{arn}");
        app.client
            .untag_resource()
            .resource_arn(arn)
            .tag_keys("team")
            .send()
            .await
            .unwrap();
        let listed = app
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap();
        assert_eq!(listed.tags().len(), 1);
    }
    let mut many = app.client.tag_resource().resource_arn(&machine);
    for i in 0..50 {
        many = many.tags(tag(&format!("k{i}"), "v"));
    }
    let (code, _) = error_code(many.send().await);
    assert_eq!(code, "TooManyTags", "env plus 50 more is 51");
    let (code, message) = error_code(
        app.client
            .list_tags_for_resource()
            .resource_arn(format!("{machine}-gone"))
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFound", "{message}");
    app.stop().await;
}
