use std::collections::HashSet;

use aws_sdk_sfn::types::{EncryptionConfiguration, EncryptionType, Tag};
use switchback_tests::TestApp;

use crate::error_code;

#[tokio::test]
async fn create_describe_list_delete() {
    let app = TestApp::spawn().await;
    let created = app
        .client
        .create_activity()
        .name("worker.queue-1")
        .send()
        .await
        .unwrap();
    let arn = created.activity_arn().to_owned();
    assert_eq!(
        arn,
        "arn:aws:states:us-east-1:123456789012:activity:worker.queue-1"
    );

    let described = app
        .client
        .describe_activity()
        .activity_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.name(), "worker.queue-1");
    assert_eq!(described.activity_arn(), arn);
    assert_eq!(described.creation_date(), created.creation_date());
    let encryption = described
        .encryption_configuration()
        .expect("encryption configuration");
    assert_eq!(encryption.r#type().as_str(), "AWS_OWNED_KEY");

    let listed = app.client.list_activities().send().await.unwrap();
    assert_eq!(listed.activities().len(), 1);
    assert_eq!(listed.activities()[0].activity_arn(), arn);
    assert_eq!(listed.activities()[0].name(), "worker.queue-1");
    assert!(listed.next_token().is_none());

    app.client
        .delete_activity()
        .activity_arn(&arn)
        .send()
        .await
        .unwrap();
    // Deleting again is not an error.
    app.client
        .delete_activity()
        .activity_arn(&arn)
        .send()
        .await
        .unwrap();
    let (code, message) = error_code(
        app.client
            .describe_activity()
            .activity_arn(&arn)
            .send()
            .await,
    );
    assert_eq!(code, "ActivityDoesNotExist");
    assert_eq!(message, format!("Activity Does Not Exist: '{arn}'"));
    assert!(
        app.client
            .list_activities()
            .send()
            .await
            .unwrap()
            .activities()
            .is_empty()
    );
    app.stop().await;
}

#[tokio::test]
async fn create_is_idempotent_on_the_name() {
    let app = TestApp::spawn().await;
    let first = app
        .client
        .create_activity()
        .name("same")
        .send()
        .await
        .unwrap();
    let tag = aws_sdk_sfn::types::Tag::builder()
        .key("k")
        .value("v")
        .build();
    let second = app
        .client
        .create_activity()
        .name("same")
        .tags(tag)
        .send()
        .await
        .unwrap();
    assert_eq!(first.activity_arn(), second.activity_arn());
    assert_eq!(first.creation_date(), second.creation_date());
    assert_eq!(
        app.client
            .list_activities()
            .send()
            .await
            .unwrap()
            .activities()
            .len(),
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn invalid_names_are_rejected() {
    let app = TestApp::spawn().await;
    for name in [
        "activity name",
        "a\"b",
        "a#b",
        "a$b",
        "a*b",
        "a/b",
        "a:b",
        "a\u{1}b",
        "a\u{85}b",
    ] {
        let (code, message) = error_code(app.client.create_activity().name(name).send().await);
        assert_eq!(code, "InvalidName", "{name:?}");
        assert_eq!(message, format!("Invalid Name: '{name}'"));
    }
    let long = "x".repeat(81);
    let (code, message) = error_code(app.client.create_activity().name(&long).send().await);
    assert_eq!(code, "ValidationException");
    assert!(message.contains("at 'name' failed to satisfy constraint: Member must have length less than or equal to 80"), "{message}");
    // 80 characters of anything allowed is fine, dots and dashes included.
    let ok = format!("a.b-c_{}", "x".repeat(74));
    app.client.create_activity().name(&ok).send().await.unwrap();
    assert!(
        app.client
            .list_activities()
            .send()
            .await
            .unwrap()
            .activities()
            .len()
            == 1
    );
    app.stop().await;
}

#[tokio::test]
async fn malformed_arns_are_rejected() {
    let app = TestApp::spawn().await;
    let (code, message) = error_code(
        app.client
            .describe_activity()
            .activity_arn("no_an_activity_arn")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidArn");
    assert_eq!(
        message,
        "Invalid Arn: 'Invalid ARN prefix: no_an_activity_arn'"
    );
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:m";
    let (code, message) = error_code(
        app.client
            .delete_activity()
            .activity_arn(machine)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidArn");
    assert_eq!(
        message,
        "Invalid Arn: 'Resource type not valid in this context: stateMachine'"
    );
    app.stop().await;
}

#[tokio::test]
async fn list_pages_survive_inserts_and_reject_forged_tokens() {
    let app = TestApp::spawn().await;
    for i in 0..7 {
        app.client
            .create_activity()
            .name(format!("a{i}"))
            .send()
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = app
            .client
            .list_activities()
            .max_results(3)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(page.activities().len() <= 3);
        seen.extend(page.activities().iter().map(|a| a.name().to_owned()));
        if pages == 1 {
            // A row created mid-listing appears once, at the end, and shifts nothing.
            app.client
                .create_activity()
                .name("late")
                .send()
                .await
                .unwrap();
        }
        match page.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "late"]);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());

    let first = app
        .client
        .list_activities()
        .max_results(2)
        .send()
        .await
        .unwrap();
    let token = first.next_token().expect("a next page").to_owned();
    let mut forged = token.clone().into_bytes();
    forged[2] = if forged[2] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let (code, _) = error_code(
        app.client
            .list_activities()
            .next_token(&forged)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidToken");
    // A token of one list is no good for another.
    let (code, _) = error_code(
        app.client
            .list_state_machines()
            .next_token(&token)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidToken");

    let (code, message) = error_code(app.client.list_activities().max_results(1001).send().await);
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: \
         Member must have value less than or equal to 1000"
    );
    app.stop().await;
}

/// ListActivities: "`maxResults` 1–1000 (0 = 100)" (docs/compatibility.md): no `maxResults`
/// and `maxResults` 0 both give pages of 100.
#[tokio::test]
async fn default_page_size_is_one_hundred() {
    let app = TestApp::spawn().await;
    for i in 0..101 {
        app.client
            .create_activity()
            .name(format!("p{i:03}"))
            .send()
            .await
            .unwrap();
    }
    let first = app.client.list_activities().send().await.unwrap();
    assert_eq!(first.activities().len(), 100);
    let rest = app
        .client
        .list_activities()
        .next_token(first.next_token().expect("more"))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.activities().len(), 1);
    assert_eq!(rest.activities()[0].name(), "p100");
    assert!(rest.next_token().is_none());
    // 0 is the default too, not an empty page.
    let zero = app
        .client
        .list_activities()
        .max_results(0)
        .send()
        .await
        .unwrap();
    assert_eq!(zero.activities().len(), 100);
    assert_eq!(zero.activities()[99].name(), "p099");
    let rest = app
        .client
        .list_activities()
        .max_results(0)
        .next_token(zero.next_token().expect("more"))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.activities().len(), 1);
    assert!(rest.next_token().is_none());
    app.stop().await;
}

#[tokio::test]
async fn regions_are_separate() {
    let app = TestApp::spawn().await;
    let west = app.client_in("eu-west-1");
    let created = west.create_activity().name("here").send().await.unwrap();
    assert_eq!(
        created.activity_arn(),
        "arn:aws:states:eu-west-1:123456789012:activity:here"
    );
    assert_eq!(
        west.list_activities()
            .send()
            .await
            .unwrap()
            .activities()
            .len(),
        1
    );
    assert!(
        app.client
            .list_activities()
            .send()
            .await
            .unwrap()
            .activities()
            .is_empty()
    );
    app.stop().await;
}

/// CreateActivity: "encryption configuration stored" (docs/compatibility.md), read back by
/// DescribeActivity as given; and `InvalidEncryptionConfiguration` for
/// "`CUSTOMER_MANAGED_KMS_KEY` without `kmsKeyId`, or `AWS_OWNED_KEY` with one", which creates
/// nothing.
#[tokio::test]
async fn encryption_configuration_is_checked_and_read_back() {
    let app = TestApp::spawn().await;
    let key = "arn:aws:kms:us-east-1:123456789012:key/1111-2222";
    let create = |name: &'static str, kind: EncryptionType, key: Option<&str>| {
        app.client
            .create_activity()
            .name(name)
            .encryption_configuration(
                EncryptionConfiguration::builder()
                    .r#type(kind)
                    .set_kms_key_id(key.map(str::to_owned))
                    .kms_data_key_reuse_period_seconds(120)
                    .build()
                    .expect("an encryption type"),
            )
            .send()
    };
    let (code, message) =
        error_code(create("keyless", EncryptionType::CustomerManagedKmsKey, None).await);
    assert_eq!(code, "InvalidEncryptionConfiguration");
    assert!(message.contains("kmsKeyId"), "{message}");
    let (code, message) = error_code(create("owned", EncryptionType::AwsOwnedKey, Some(key)).await);
    assert_eq!(code, "InvalidEncryptionConfiguration");
    assert!(message.contains("kmsKeyId"), "{message}");
    assert!(
        app.client
            .list_activities()
            .send()
            .await
            .unwrap()
            .activities()
            .is_empty()
    );

    let created = create("keyed", EncryptionType::CustomerManagedKmsKey, Some(key))
        .await
        .unwrap();
    let described = app
        .client
        .describe_activity()
        .activity_arn(created.activity_arn())
        .send()
        .await
        .unwrap();
    let encryption = described
        .encryption_configuration()
        .expect("encryption configuration");
    assert_eq!(encryption.r#type(), &EncryptionType::CustomerManagedKmsKey);
    assert_eq!(encryption.kms_key_id(), Some(key));
    assert_eq!(encryption.kms_data_key_reuse_period_seconds(), Some(120));
    app.stop().await;
}

/// TooManyTags: "more than 50 tags" (docs/compatibility.md's errors table), on CreateActivity
/// and CreateStateMachine alike; 50 are accepted, 51 refused and nothing created.
#[tokio::test]
async fn more_than_fifty_tags_are_refused() {
    let app = TestApp::spawn().await;
    let tags = |n: usize| -> Vec<Tag> {
        (0..n)
            .map(|i| Tag::builder().key(format!("k{i}")).value("v").build())
            .collect()
    };
    let definition = r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#;
    let activity = |name: &'static str, n: usize| {
        app.client
            .create_activity()
            .name(name)
            .set_tags(Some(tags(n)))
            .send()
    };
    let machine = |name: &'static str, n: usize| {
        app.client
            .create_state_machine()
            .name(name)
            .definition(definition)
            .role_arn("arn:aws:iam::123456789012:role/r")
            .set_tags(Some(tags(n)))
            .send()
    };
    let (code, _) = error_code(activity("crowded", 51).await);
    assert_eq!(code, "TooManyTags");
    let (code, _) = error_code(machine("crowded", 51).await);
    assert_eq!(code, "TooManyTags");
    assert!(
        app.client
            .list_activities()
            .send()
            .await
            .unwrap()
            .activities()
            .is_empty()
    );
    assert!(
        app.client
            .list_state_machines()
            .send()
            .await
            .unwrap()
            .state_machines()
            .is_empty()
    );
    activity("full", 50).await.unwrap();
    machine("full", 50).await.unwrap();
    app.stop().await;
}

/// Creating an activity again answers it, unless another encryption is asked for: its
/// encryption may not be changed (`ActivityAlreadyExists`). No choice means AWS_OWNED_KEY.
#[tokio::test]
async fn an_existing_activity_keeps_its_encryption() {
    let app = TestApp::spawn().await;
    let create = |kind: Option<EncryptionType>| {
        let mut request = app.client.create_activity().name("sealed");
        if let Some(kind) = kind {
            let mut config = EncryptionConfiguration::builder().r#type(kind.clone());
            if kind == EncryptionType::CustomerManagedKmsKey {
                config = config.kms_key_id("alias/mine");
            }
            request = request.encryption_configuration(config.build().expect("config"));
        }
        request.send()
    };
    let first = create(None).await.unwrap();
    let again = create(Some(EncryptionType::AwsOwnedKey)).await.unwrap();
    assert_eq!(again.activity_arn(), first.activity_arn());
    let (code, message) = error_code(create(Some(EncryptionType::CustomerManagedKmsKey)).await);
    assert_eq!(code, "ActivityAlreadyExists");
    assert!(
        message.contains("EncryptionConfiguration may not be updated"),
        "{message}"
    );
    app.stop().await;
}
