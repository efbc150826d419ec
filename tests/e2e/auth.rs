//! Request authentication: with a credentials file, every request is checked (SigV4) and acts
//! in its key's account; failures answer in AWS's shapes.

use switchback_tests::TestApp;
use switchback_tests::app::client_as;

use crate::error_code;

const CREDENTIALS: &str = r#"
[[credentials]]
access_key_id = "AKIDALICE"
secret_access_key = "alice-secret"
account_id = "111111111111"

[[credentials]]
access_key_id = "AKIDBOB"
secret_access_key = "bob-secret"
account_id = "222222222222"

[[credentials]]
access_key_id = "AKIDREADER"
secret_access_key = "reader-secret"
account_id = "111111111111"
read_only = true

[[credentials]]
access_key_id = "AKIDEUROPE"
secret_access_key = "europe-secret"
account_id = "111111111111"
regions = ["eu-west-1"]
"#;

#[tokio::test]
async fn signed_requests_act_in_their_keys_account_and_others_are_refused() {
    let dir = std::env::temp_dir().join(format!("switchback-auth-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("credentials.toml");
    std::fs::write(&file, CREDENTIALS).expect("write credentials");
    let url = switchback_tests::pg::fresh_database().await;
    let app = TestApp::spawn_with(&url, move |settings| {
        settings.auth.credentials_file = Some(file);
        settings.api.activity_poll_seconds = 1;
    })
    .await;
    let alice = client_as(app.address, "us-east-1", "AKIDALICE", "alice-secret");
    let bob = client_as(app.address, "us-east-1", "AKIDBOB", "bob-secret");

    let created = alice
        .create_activity()
        .name("work")
        .send()
        .await
        .expect("alice creates");
    let arn = created.activity_arn();
    assert!(arn.contains(":111111111111:activity:work"), "{arn}");
    // Bob's account has none of Alice's resources.
    let listed = bob.list_activities().send().await.expect("bob lists");
    assert!(listed.activities().is_empty());
    let (code, _) = error_code(bob.describe_activity().activity_arn(arn).send().await);
    assert_eq!(code, "ActivityDoesNotExist");
    let mine = bob
        .create_activity()
        .name("work")
        .send()
        .await
        .expect("bob creates");
    assert!(mine.activity_arn().contains(":222222222222:"));

    // A read-only key reads, and may not write.
    let reader = client_as(app.address, "us-east-1", "AKIDREADER", "reader-secret");
    let listed = reader.list_activities().send().await.expect("reader lists");
    assert_eq!(listed.activities().len(), 1);
    let (code, message) = error_code(reader.create_activity().name("no").send().await);
    assert_eq!(code, "AccessDeniedException");
    assert_eq!(
        message,
        "User: AKIDREADER is not authorized to perform: states:CreateActivity"
    );
    // A key limited to a region acts nowhere else.
    let europe = client_as(app.address, "us-east-1", "AKIDEUROPE", "europe-secret");
    let (code, _) = error_code(europe.list_activities().send().await);
    assert_eq!(code, "AccessDeniedException");
    let europe = client_as(app.address, "eu-west-1", "AKIDEUROPE", "europe-secret");
    europe
        .list_activities()
        .send()
        .await
        .expect("in its region");

    // A page token is good only in the account that listed.
    alice
        .create_activity()
        .name("more")
        .send()
        .await
        .expect("a second activity");
    let page = alice
        .list_activities()
        .max_results(1)
        .send()
        .await
        .expect("a first page");
    let token = page.next_token().expect("a second page");
    let (code, _) = error_code(bob.list_activities().next_token(token).send().await);
    assert_eq!(code, "InvalidToken");

    // Nothing of Alice's can Bob start, stop, poll or complete.
    let definition = serde_json::json!({"StartAt": "Work", "States": {"Work": {
        "Type": "Task", "Resource": arn, "End": true}}});
    let machine = alice
        .create_state_machine()
        .name("m")
        .definition(definition.to_string())
        .role_arn("arn:aws:iam::111111111111:role/r")
        .send()
        .await
        .expect("alice's machine")
        .state_machine_arn()
        .to_owned();
    let (code, _) = error_code(
        bob.start_execution()
            .state_machine_arn(&machine)
            .send()
            .await,
    );
    assert_eq!(code, "StateMachineDoesNotExist");
    let execution = alice
        .start_execution()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("alice starts")
        .execution_arn()
        .to_owned();
    let (code, _) = error_code(bob.stop_execution().execution_arn(&execution).send().await);
    assert_eq!(code, "ExecutionDoesNotExist");
    let (code, _) = error_code(bob.get_activity_task().activity_arn(arn).send().await);
    assert_eq!(code, "ActivityDoesNotExist");
    let (token, _) = crate::language::take(&alice, arn).await;
    let (code, _) = error_code(
        bob.send_task_success()
            .task_token(&token)
            .output("{}")
            .send()
            .await,
    );
    assert_eq!(code, "TaskDoesNotExist", "a token acts only in its account");
    let (code, _) = error_code(bob.send_task_heartbeat().task_token(&token).send().await);
    assert_eq!(code, "TaskDoesNotExist");
    alice
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .expect("alice completes her task");

    // Bob's state machines reach nothing of Alice's either: her activity gets none of his
    // tasks, and her state machine is not his to start.
    let reach = serde_json::json!({"StartAt": "Poll", "States": {
        "Poll": {"Type": "Task", "Resource": arn, "TimeoutSeconds": 30, "Next": "Start"},
        "Start": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
            "Parameters": {"StateMachineArn": machine}, "End": true}}});
    let bobs = bob
        .create_state_machine()
        .name("reach")
        .definition(reach.to_string())
        .role_arn("arn:aws:iam::222222222222:role/r")
        .send()
        .await
        .expect("bob's machine")
        .state_machine_arn()
        .to_owned();
    let bob_execution = bob
        .start_execution()
        .state_machine_arn(&bobs)
        .send()
        .await
        .expect("bob starts")
        .execution_arn()
        .to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let polled = alice
        .get_activity_task()
        .activity_arn(arn)
        .send()
        .await
        .expect("alice polls");
    assert!(
        polled.task_token().is_none(),
        "Bob's task reached Alice's worker"
    );
    // Bob's own worker, in his account, cannot take it either: the activity is not his.
    let (code, _) = error_code(bob.get_activity_task().activity_arn(arn).send().await);
    assert_eq!(code, "ActivityDoesNotExist");
    bob.stop_execution()
        .execution_arn(&bob_execution)
        .send()
        .await
        .expect("bob stops his");
    let start_only = serde_json::json!({"StartAt": "Start", "States": {
        "Start": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
            "Parameters": {"StateMachineArn": machine}, "End": true}}});
    let bobs = bob
        .create_state_machine()
        .name("start-only")
        .definition(start_only.to_string())
        .role_arn("arn:aws:iam::222222222222:role/r")
        .send()
        .await
        .expect("bob's second machine")
        .state_machine_arn()
        .to_owned();
    let started = bob
        .start_execution()
        .state_machine_arn(&bobs)
        .send()
        .await
        .expect("bob starts")
        .execution_arn()
        .to_owned();
    let done =
        crate::executions::wait_until_done(&bob, &started, std::time::Duration::from_secs(10))
            .await;
    assert_eq!(done.status(), &aws_sdk_sfn::types::ExecutionStatus::Failed);
    assert_eq!(
        done.error(),
        Some("StepFunctions.StateMachineDoesNotExistException"),
        "{done:?}"
    );
    let alices = alice
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .expect("alice lists");
    assert_eq!(alices.executions().len(), 1, "only Alice's own execution");

    // A request signed 20 minutes ago.
    let late = aws_sdk_sfn::Client::from_conf(
        alice
            .config()
            .to_builder()
            .time_source(aws_smithy_async::time::StaticTimeSource::new(
                std::time::SystemTime::now() - std::time::Duration::from_secs(20 * 60),
            ))
            .build(),
    );
    let (code, message) = error_code(late.list_activities().send().await);
    assert_eq!(code, "InvalidSignatureException");
    assert!(message.starts_with("Signature expired: "), "{message}");

    // A wrong secret, an unknown key, no signature at all.
    let wrong = client_as(app.address, "us-east-1", "AKIDALICE", "not-the-secret");
    let (code, message) = error_code(wrong.list_activities().send().await);
    assert_eq!(code, "InvalidSignatureException");
    assert!(message.starts_with("The request signature we calculated does not match"));
    let unknown = client_as(app.address, "us-east-1", "AKIDNOBODY", "x");
    let (code, message) = error_code(unknown.list_activities().send().await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        (
            "UnrecognizedClientException",
            "The security token included in the request is invalid."
        )
    );
    let response =
        switchback_tests::raw::post(app.address, Some("AWSStepFunctions.ListActivities"), b"{}")
            .await;
    assert_eq!(response.status, 403);
    assert_eq!(
        response.json()["__type"],
        "MissingAuthenticationTokenException"
    );

    // Keys rotate without a restart: the file is re-read when it changes.
    std::fs::write(
        dir.join("credentials.toml"),
        r#"
[[credentials]]
access_key_id = "AKIDALICE"
secret_access_key = "alice-rotated-secret"
account_id = "111111111111"
"#,
    )
    .expect("rotate");
    let rotated = client_as(
        app.address,
        "us-east-1",
        "AKIDALICE",
        "alice-rotated-secret",
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        if rotated.list_activities().send().await.is_ok() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new secret was not taken up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (code, _) = error_code(alice.list_activities().send().await);
    assert_eq!(code, "InvalidSignatureException", "the old secret is gone");
    let (code, _) = error_code(bob.list_activities().send().await);
    assert_eq!(code, "UnrecognizedClientException", "so is Bob's key");
    // A broken file keeps the keys in force.
    std::fs::write(dir.join("credentials.toml"), "not toml [[[").expect("break");
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    rotated
        .list_activities()
        .send()
        .await
        .expect("the keys in force stay");
    let _ = std::fs::remove_dir_all(&dir);
}

/// boto3 (Python's SDK, installed by `.ci/run`) signs as the server checks: its right key
/// works, a wrong secret, an unknown key and a read-only key's write get AWS's errors.
#[tokio::test]
async fn boto3_requests_are_checked_as_the_rust_sdks() {
    let dir = std::env::temp_dir().join(format!("switchback-auth-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("credentials.toml");
    std::fs::write(&file, CREDENTIALS).expect("write credentials");
    let url = switchback_tests::pg::fresh_database().await;
    let app = TestApp::spawn_with(&url, move |settings| {
        settings.auth.credentials_file = Some(file);
    })
    .await;
    let script = r#"
import sys, boto3, botocore
endpoint = sys.argv[1]
def client(key, secret):
    return boto3.client("stepfunctions", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret)
def code(call):
    try:
        call()
        return "ok"
    except botocore.exceptions.ClientError as error:
        return error.response["Error"]["Code"]
alice = client("AKIDALICE", "alice-secret")
print(alice.create_activity(name="py")["activityArn"])
print(len(client("AKIDBOB", "bob-secret").list_activities()["activities"]))
print(code(lambda: client("AKIDALICE", "wrong").list_activities()))
print(code(lambda: client("AKIDNOBODY", "x").list_activities()))
print(code(lambda: client("AKIDREADER", "reader-secret").create_activity(name="no")))
"#;
    let endpoint = app.endpoint();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(endpoint)
            .output()
            .expect("run python3 with boto3")
    })
    .await
    .expect("python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "arn:aws:states:us-east-1:111111111111:activity:py",
            "0",
            "InvalidSignatureException",
            "UnrecognizedClientException",
            "AccessDeniedException",
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// With `api.throttling` on, each account's calls draw on buckets of their own: one account
/// that empties its StartExecution bucket is answered `ThrottlingException`, while another
/// account, and the same account's Express starts, go on.
#[tokio::test]
async fn a_throttled_account_does_not_slow_another() {
    let dir = std::env::temp_dir().join(format!("switchback-auth-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("credentials.toml");
    std::fs::write(&file, CREDENTIALS).expect("write credentials");
    let url = switchback_tests::pg::fresh_database().await;
    let app = TestApp::spawn_with(&url, move |settings| {
        settings.auth.credentials_file = Some(file);
        let throttling = &mut settings.api.throttling;
        throttling.enabled = true;
        // Two starts, then one every 100 seconds.
        let slow = switchback_api::throttle::Quota {
            bucket_size: 2,
            refill_per_second: 0.01,
        };
        throttling.quotas.insert("StartExecution".to_owned(), slow);
    })
    .await;
    let alice = client_as(app.address, "us-east-1", "AKIDALICE", "alice-secret");
    let bob = client_as(app.address, "us-east-1", "AKIDBOB", "bob-secret");
    let definition = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#;
    let machine = |client: aws_sdk_sfn::Client, name: &'static str, account: &'static str| async move {
        let express = name.ends_with("express");
        client
            .create_state_machine()
            .name(name)
            .definition(definition)
            .role_arn(format!("arn:aws:iam::{account}:role/r"))
            .r#type(if express {
                aws_sdk_sfn::types::StateMachineType::Express
            } else {
                aws_sdk_sfn::types::StateMachineType::Standard
            })
            .send()
            .await
            .expect("create")
            .state_machine_arn()
            .to_owned()
    };
    let alices = machine(alice.clone(), "standard", "111111111111").await;
    let alices_express = machine(alice.clone(), "express", "111111111111").await;
    let bobs = machine(bob.clone(), "standard", "222222222222").await;

    for _ in 0..2 {
        alice
            .start_execution()
            .state_machine_arn(&alices)
            .send()
            .await
            .expect("within the bucket");
    }
    let (code, message) = error_code(
        alice
            .start_execution()
            .state_machine_arn(&alices)
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ThrottlingException", "Rate exceeded")
    );
    // Express starts have their own bucket (AWS's default: 6,000).
    alice
        .start_execution()
        .state_machine_arn(&alices_express)
        .send()
        .await
        .expect("an express start");
    // Bob's bucket is his own, and other operations are not held back.
    bob.start_execution()
        .state_machine_arn(&bobs)
        .send()
        .await
        .expect("bob starts");
    alice
        .list_executions()
        .state_machine_arn(&alices)
        .send()
        .await
        .expect("alice lists");
    let _ = std::fs::remove_dir_all(&dir);
}
