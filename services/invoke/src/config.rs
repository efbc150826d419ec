//! Settings for task integrations: where Lambda lives and with which credentials, and the
//! connections HTTP Tasks authenticate with (Switchback's stand-in for EventBridge connections).
//!
//! Loaded by the `config` crate from the `[integrations]` section of `switchback.toml` and from
//! `SWITCHBACK__INTEGRATIONS__...` variables. Every field has a default, so an absent section
//! means "unsigned Lambda calls to AWS's public endpoint, no connections, HTTP Tasks to public
//! addresses only". Unknown keys are refused (`deny_unknown_fields`): a misspelt setting must
//! stop the start, not be silently ignored; only the labels of connections, the names of
//! functions and the names of HTTP parameters are free.
//!
//! `Debug` is written by hand for every type that holds a secret: settings get logged at start-up
//! and secrets must never reach a log.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// The `[integrations]` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntegrationsConfig {
    /// How `arn:aws:states:::lambda:invoke` and direct function ARNs reach Lambda.
    pub lambda: LambdaConfig,
    /// Where HTTP Tasks may go.
    pub http: HttpConfig,
    /// The S3-compatible API Distributed Map states read items from and write results to.
    pub s3: S3Config,
    /// Connections that HTTP Tasks name in `Authentication.ConnectionArn`.
    ///
    /// In TOML either an array of tables (`[[integrations.connections]]`) or a table of tables
    /// keyed by any label (`[integrations.connections.github]`). Only the keyed form can be set
    /// or overridden from the environment, e.g.
    /// `SWITCHBACK__INTEGRATIONS__CONNECTIONS__GITHUB__BASIC__PASSWORD`.
    #[serde(deserialize_with = "list_or_map")]
    pub connections: Vec<ConnectionConfig>,
}

/// `[integrations.http]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Whether HTTP Tasks may reach loopback, private (RFC 1918, `fc00::/7`), link-local,
    /// unspecified and other non-public addresses, checked on the addresses a name resolves to
    /// when connecting. Unset means false: an ApiEndpoint is chosen by whoever writes a state
    /// machine, and without this check it could read the service's own `/metrics`, a cloud
    /// metadata endpoint or any internal service. `switchback dev` sets it to true when unset,
    /// since there the services a user calls run on the same machine.
    pub allow_private_destinations: Option<bool>,
}

impl HttpConfig {
    pub fn private_destinations_allowed(&self) -> bool {
        self.allow_private_destinations.unwrap_or(false)
    }
}

/// `[integrations.lambda]`.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LambdaConfig {
    /// Base URL of a Lambda-compatible API, e.g. `http://localstack:4566` or the Runtime
    /// Interface Emulator at `http://fn:8080`. Unset: `https://lambda.{region}.amazonaws.com`.
    pub endpoint: Option<String>,
    /// Region used for the default endpoint and for signing when the function is not named by a
    /// full ARN (whose region wins). Unset: the service's `aws.region`.
    pub region: Option<String>,
    /// Access key id for SigV4 signing. Requests are unsigned unless this and
    /// `secret_access_key` are both set.
    pub access_key_id: Option<String>,
    /// Secret access key for SigV4 signing. Never logged.
    pub secret_access_key: Option<String>,
    /// Session token of temporary credentials, sent as `X-Amz-Security-Token`. Never logged.
    pub session_token: Option<String>,
    /// Per-function overrides, keyed by the bare function name (`my-function`, not its ARN).
    pub functions: HashMap<String, FunctionConfig>,
}

/// `[integrations.s3]`.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// Base URL of an S3-compatible API, e.g. `http://minio:9000`; buckets are addressed in
    /// the path (`{endpoint}/{bucket}/{key}`). Unset: `https://s3.{region}.amazonaws.com`.
    pub endpoint: Option<String>,
    /// Region for the default endpoint and for signing. Unset: the service's `aws.region`.
    pub region: Option<String>,
    /// Access key id for SigV4 signing. Requests are unsigned unless this and
    /// `secret_access_key` are both set.
    pub access_key_id: Option<String>,
    /// Secret access key for SigV4 signing. Never logged.
    pub secret_access_key: Option<String>,
    /// Session token of temporary credentials, sent as `X-Amz-Security-Token`. Never logged.
    pub session_token: Option<String>,
}

/// `[integrations.lambda.functions.<name>]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FunctionConfig {
    /// Base URL for this function only; wins over `lambda.endpoint`.
    pub endpoint: Option<String>,
    /// The function name sent in the request path instead of the one the state machine gives.
    /// The Runtime Interface Emulator, for one, serves a single function named `function`.
    pub remote_name: Option<String>,
}

/// One connection: how an HTTP Task that names `arn` authenticates, plus the parameters it adds
/// to every call.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionConfig {
    /// The ARN state machines use, e.g. `arn:aws:events:us-east-1:123456789012:connection/github/0f6c...`.
    /// Any string is accepted; it must be unique among connections.
    pub arn: String,
    /// `BASIC`, `API_KEY` or `OAUTH_CLIENT_CREDENTIALS` (EventBridge's names; lowercase accepted).
    pub authorization_type: AuthorizationType,
    /// Required for `BASIC`.
    #[serde(default)]
    pub basic: Option<BasicAuth>,
    /// Required for `API_KEY`.
    #[serde(default)]
    pub api_key: Option<ApiKeyAuth>,
    /// Required for `OAUTH_CLIENT_CREDENTIALS`.
    #[serde(default)]
    pub oauth: Option<OAuthConfig>,
    /// Headers, query parameters and body parameters added to every call through this
    /// connection. They win over the task's own values with the same name, as with EventBridge.
    #[serde(default)]
    pub invocation_http_parameters: HttpParameters,
    /// Where this connection's credentials may be sent: URL prefixes such as
    /// `https://api.example.com/v1/` (same scheme, host and port; the path starts with the
    /// prefix's path at a `/` boundary), or `"*"` for anywhere. Empty, the default, means the
    /// connection cannot be used: whoever writes a state machine chooses its ApiEndpoint, and
    /// the operator's credentials must not follow it to any server. From the environment, a
    /// comma-separated list.
    #[serde(default, deserialize_with = "list_or_commas")]
    pub allowed_endpoints: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum AuthorizationType {
    #[serde(rename = "BASIC", alias = "basic")]
    Basic,
    #[serde(rename = "API_KEY", alias = "api_key")]
    ApiKey,
    #[serde(
        rename = "OAUTH_CLIENT_CREDENTIALS",
        alias = "oauth_client_credentials"
    )]
    OAuthClientCredentials,
}

/// `Authorization: Basic base64(username:password)`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    /// Never logged.
    pub password: String,
}

/// A header named `name` with the value `value` on every call.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyAuth {
    /// Header name, e.g. `x-api-key`.
    pub name: String,
    /// Never logged.
    pub value: String,
}

/// The OAuth 2.0 client-credentials grant. The token is fetched on first use and cached until
/// shortly before it expires.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthConfig {
    /// Token endpoint, e.g. `https://auth.example.com/oauth2/token`.
    pub authorization_endpoint: String,
    /// `POST` (default), `GET` or `PUT`.
    #[serde(default = "default_oauth_method")]
    pub http_method: String,
    /// Sent with `client_secret` as HTTP Basic credentials (RFC 6749 section 2.3.1).
    pub client_id: String,
    /// Never logged.
    pub client_secret: String,
    /// Extra headers, query parameters and form fields of the token request (e.g. `scope`).
    #[serde(default)]
    pub oauth_http_parameters: HttpParameters,
}

fn default_oauth_method() -> String {
    "POST".to_owned()
}

/// Name/value parameters; values may be secrets, so `Debug` prints names only.
#[derive(Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpParameters {
    pub headers: BTreeMap<String, String>,
    pub query: BTreeMap<String, String>,
    pub body: BTreeMap<String, String>,
}

/// A list of connections or a table of them keyed by label. A visitor rather than an untagged
/// enum: an untagged enum swallows the inner error ("data did not match any variant"), and the
/// operator needs to hear which key of which connection is wrong.
fn list_or_map<'de, D>(deserializer: D) -> Result<Vec<ConnectionConfig>, D::Error>
where
    D: Deserializer<'de>,
{
    struct Connections;

    impl<'de> Visitor<'de> for Connections {
        type Value = Vec<ConnectionConfig>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of connections or a table of connections keyed by label")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::deserialize(SeqAccessDeserializer::new(seq))
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let by_label =
                BTreeMap::<String, ConnectionConfig>::deserialize(MapAccessDeserializer::new(map))?;
            Ok(by_label.into_values().collect())
        }
    }

    deserializer.deserialize_any(Connections)
}

/// A list of strings, or one string of comma-separated items: environment variables hold
/// only strings.
fn list_or_commas<'de, D>(deserializer: D) -> Result<Vec<String>, D::Error>
where
    D: Deserializer<'de>,
{
    struct Items;

    impl<'de> Visitor<'de> for Items {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of strings or a comma-separated string")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
            Ok(text
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::deserialize(SeqAccessDeserializer::new(seq))
        }
    }

    deserializer.deserialize_any(Items)
}

const REDACTED: &str = "<redacted>";

fn redact(value: &Option<String>) -> Option<&'static str> {
    value.as_ref().map(|_| REDACTED)
}

impl fmt::Debug for LambdaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LambdaConfig")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &redact(&self.secret_access_key))
            .field("session_token", &redact(&self.session_token))
            .field("functions", &self.functions)
            .finish()
    }
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &redact(&self.secret_access_key))
            .field("session_token", &redact(&self.session_token))
            .finish()
    }
}

impl fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("arn", &self.arn)
            .field("authorization_type", &self.authorization_type)
            .field("basic", &self.basic)
            .field("api_key", &self.api_key)
            .field("oauth", &self.oauth)
            .field(
                "invocation_http_parameters",
                &self.invocation_http_parameters,
            )
            .field("allowed_endpoints", &self.allowed_endpoints)
            .finish()
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &REDACTED)
            .finish()
    }
}

impl fmt::Debug for ApiKeyAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyAuth")
            .field("name", &self.name)
            .field("value", &REDACTED)
            .finish()
    }
}

impl fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("authorization_endpoint", &self.authorization_endpoint)
            .field("http_method", &self.http_method)
            .field("client_id", &self.client_id)
            .field("client_secret", &REDACTED)
            .field("oauth_http_parameters", &self.oauth_http_parameters)
            .finish()
    }
}

impl fmt::Debug for HttpParameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpParameters")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("query", &self.query.keys().collect::<Vec<_>>())
            .field("body", &self.body.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The shape the `config` crate hands over from TOML or the environment.
    #[test]
    fn connections_as_a_list_or_keyed_by_label() {
        let list = serde_json::json!({
            "lambda": {"endpoint": "http://localhost:4566", "functions": {"f": {"remote_name": "function"}}},
            "connections": [{
                "arn": "arn:a",
                "authorization_type": "API_KEY",
                "api_key": {"name": "x-api-key", "value": "v"},
                "invocation_http_parameters": {"headers": {"x-team": "t"}}
            }]
        });
        let config: Result<IntegrationsConfig, _> = serde_json::from_value(list);
        let Ok(config) = config else {
            panic!("{config:?}")
        };
        assert_eq!(
            config.connections[0].authorization_type,
            AuthorizationType::ApiKey
        );
        assert_eq!(
            config.lambda.functions["f"].remote_name.as_deref(),
            Some("function")
        );
        let keyed = serde_json::json!({
            "connections": {"github": {
                "arn": "arn:b",
                "authorization_type": "basic",
                "basic": {"username": "u", "password": "p"}
            }}
        });
        let config: Result<IntegrationsConfig, _> = serde_json::from_value(keyed);
        let Ok(config) = config else {
            panic!("{config:?}")
        };
        assert_eq!(config.connections[0].arn, "arn:b");
        assert!(config.lambda.endpoint.is_none());
        let empty: Result<IntegrationsConfig, _> = serde_json::from_value(serde_json::json!({}));
        assert!(empty.is_ok_and(|c| c.connections.is_empty()));
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let config = IntegrationsConfig {
            lambda: LambdaConfig {
                access_key_id: Some("AKIDEXAMPLE".into()),
                secret_access_key: Some("lambda-secret-value".into()),
                session_token: Some("session-token-value".into()),
                ..LambdaConfig::default()
            },
            connections: vec![ConnectionConfig {
                arn: "arn:conn".into(),
                authorization_type: AuthorizationType::OAuthClientCredentials,
                basic: Some(BasicAuth {
                    username: "user".into(),
                    password: "basic-password-value".into(),
                }),
                api_key: Some(ApiKeyAuth {
                    name: "x-api-key".into(),
                    value: "api-key-value".into(),
                }),
                oauth: Some(OAuthConfig {
                    authorization_endpoint: "http://auth".into(),
                    http_method: "POST".into(),
                    client_id: "client".into(),
                    client_secret: "client-secret-value".into(),
                    oauth_http_parameters: HttpParameters::default(),
                }),
                invocation_http_parameters: HttpParameters {
                    headers: [("x-token".to_owned(), "header-secret-value".to_owned())].into(),
                    query: [("key".to_owned(), "query-secret-value".to_owned())].into(),
                    body: BTreeMap::new(),
                },
                allowed_endpoints: vec!["*".into()],
            }],
            ..IntegrationsConfig::default()
        };
        let text = format!("{config:?}");
        for secret in [
            "lambda-secret-value",
            "session-token-value",
            "basic-password-value",
            "api-key-value",
            "client-secret-value",
            "header-secret-value",
            "query-secret-value",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("AKIDEXAMPLE"));
        assert!(text.contains("x-api-key"));
    }
}
