//! HTTPS: with `api.tls` set, the API speaks TLS with the given certificate, and only TLS.

use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::tls;
use switchback::settings::TlsSettings;
use switchback_tests::TestApp;

#[tokio::test]
async fn the_api_serves_https_with_the_configured_certificate() {
    let dir = std::env::temp_dir().join(format!("switchback-tls-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("certificate");
    let certificate = certified.cert.pem();
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, &certificate).expect("write certificate");
    std::fs::write(&key_file, certified.signing_key.serialize_pem()).expect("write key");

    let url = switchback_tests::pg::fresh_database().await;
    let app = TestApp::spawn_with(&url, move |settings| {
        settings.api.tls = Some(TlsSettings {
            cert_file,
            key_file,
        });
    })
    .await;

    // An SDK client that trusts the certificate works over https.
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .tls_context(
            tls::TlsContext::builder()
                .with_trust_store(
                    tls::TrustStore::empty().with_pem_certificate(certificate.as_bytes()),
                )
                .build()
                .expect("tls context"),
        )
        .build_https();
    let config = aws_sdk_sfn::Config::builder()
        .endpoint_url(format!("https://{}", app.address))
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "tests"))
        .behavior_version(BehaviorVersion::latest())
        .retry_config(aws_sdk_sfn::config::retry::RetryConfig::disabled())
        .http_client(https)
        .build();
    let client = aws_sdk_sfn::Client::from_conf(config);
    let created = client
        .create_activity()
        .name("secure")
        .send()
        .await
        .expect("create over https");
    assert!(created.activity_arn().ends_with(":activity:secure"));

    // Plain HTTP to the same port gets no answer from the API.
    let plain = app.client.list_activities().send().await;
    assert!(plain.is_err(), "plain http was answered: {plain:?}");

    // Nor does a client that does not trust the certificate.
    let untrusting = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .tls_context(
            tls::TlsContext::builder()
                .with_trust_store(tls::TrustStore::empty())
                .build()
                .expect("tls context"),
        )
        .build_https();
    let config = client.config().to_builder().http_client(untrusting).build();
    let refused = aws_sdk_sfn::Client::from_conf(config)
        .list_activities()
        .send()
        .await;
    assert!(refused.is_err(), "an untrusted certificate was accepted");

    // The API still answers after the failed handshakes.
    let listed = client.list_activities().send().await.expect("list");
    assert_eq!(listed.activities().len(), 1);
    app.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_missing_certificate_stops_the_start_with_its_path() {
    let url = switchback_tests::pg::fresh_database().await;
    let mut settings = switchback::settings::Settings::defaults().expect("defaults");
    settings.api.listen = "127.0.0.1:0".to_owned();
    settings.api.tls = Some(TlsSettings {
        cert_file: "/nonexistent/cert.pem".into(),
        key_file: "/nonexistent/key.pem".into(),
    });
    let built =
        switchback::app::Application::build(&settings, &url, switchback::app::Role::All).await;
    let error = format!("{:#}", built.err().expect("the start is refused"));
    assert!(
        error.contains("invalid api.tls settings")
            && error.contains("cannot read the certificate chain in /nonexistent/cert.pem"),
        "{error}"
    );
}
