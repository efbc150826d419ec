//! The S3 calls of Distributed Map: GetObject by byte range (an ItemReader reads an object a
//! chunk at a time), ListObjectsV2 a page at a time, and PutObject (a ResultWriter's files),
//! against any S3-compatible API (`integrations.s3`), buckets in the path, signed with SigV4
//! when credentials are set.

use std::time::Duration;

pub use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri, header};
use http_body_util::Full;
use quick_xml::Reader;
use quick_xml::events::Event as Xml;
use sha2::{Digest, Sha256};

use crate::client::{self, HttpClient};
use crate::config::S3Config;
use crate::sigv4::{self, Credentials};
use crate::{Error, check_base_url};

/// How long one S3 request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Why an S3 call failed, in words a state's cause can carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum S3Error {
    /// S3 answered with an error (`NoSuchKey`, `NoSuchBucket`, `AccessDenied`, …).
    #[error("S3 answered {status} {code}: {message}")]
    Service {
        status: u16,
        code: String,
        message: String,
    },
    /// No answer: the endpoint is down, the network broke, the request timed out.
    #[error("S3 could not be reached: {0}")]
    Unreachable(String),
    /// An answer that is not what S3 sends.
    #[error("S3 answered something unreadable: {0}")]
    Unreadable(String),
}

/// One range of an object's bytes, and the object's whole size.
#[derive(Debug, Clone)]
pub struct Range {
    pub bytes: Bytes,
    pub object_size: u64,
}

/// An object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub etag: String,
    /// RFC 3339, as S3 sends it.
    pub last_modified: String,
    pub storage_class: String,
}

/// One page of a listing, and whether more follow (`IsTruncated`).
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub objects: Vec<Listed>,
    pub truncated: bool,
}

/// The S3 client. Cheap to clone.
#[derive(Clone)]
pub struct S3 {
    http: HttpClient,
    endpoint: String,
    region: String,
    credentials: Option<Credentials>,
}

impl std::fmt::Debug for S3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl S3 {
    pub(crate) fn new(
        config: &S3Config,
        default_region: &str,
        http: HttpClient,
    ) -> Result<Self, Error> {
        let credentials = Credentials::from_settings(
            "s3",
            config.access_key_id.as_deref(),
            config.secret_access_key.as_deref(),
            config.session_token.as_deref(),
        )?;
        let region = config
            .region
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| default_region.to_owned());
        let endpoint = match &config.endpoint {
            Some(endpoint) => {
                check_base_url(endpoint, "s3 endpoint")?;
                endpoint.trim_end_matches('/').to_owned()
            }
            None => format!("https://s3.{region}.amazonaws.com"),
        };
        Ok(Self {
            http,
            endpoint,
            region,
            credentials,
        })
    }

    /// A client of its own for `config` (the scheduler's comes with its `Invoker`): for tools
    /// and tests that read and write an S3-compatible server.
    pub fn connect(config: &S3Config, default_region: &str) -> Result<Self, Error> {
        let http = HttpClient::new(crate::destinations::Destinations::Any)?;
        Self::new(config, default_region, http)
    }

    /// Bytes `start..start + length` of an object (fewer at its end).
    pub async fn get_range(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        start: u64,
        length: u64,
    ) -> Result<Range, S3Error> {
        let query = version_id
            .map(|v| format!("versionId={}", sigv4::uri_encode(v.as_bytes())))
            .unwrap_or_default();
        let range = format!("bytes={start}-{}", start + length.max(1) - 1);
        let response = self
            .send(
                Method::GET,
                &object_path(bucket, key),
                &query,
                &[("range", &range)],
                Bytes::new(),
            )
            .await;
        let response = match response {
            // A range past the end of an empty object.
            Err(S3Error::Service { status: 416, .. }) => {
                return Ok(Range {
                    bytes: Bytes::new(),
                    object_size: start,
                });
            }
            other => other?,
        };
        let object_size = if response.status == StatusCode::PARTIAL_CONTENT {
            response
                .headers
                .get(header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit('/').next())
                .and_then(|total| total.parse::<u64>().ok())
                .unwrap_or(start + response.body.len() as u64)
        } else {
            // A server that ignored the range sent the whole object.
            response.body.len() as u64
        };
        let bytes = if response.status == StatusCode::PARTIAL_CONTENT || start == 0 {
            let end = usize::try_from(length)
                .unwrap_or(usize::MAX)
                .min(response.body.len());
            response.body.slice(..end)
        } else {
            let from = usize::try_from(start).unwrap_or(usize::MAX);
            let to = from.saturating_add(usize::try_from(length).unwrap_or(usize::MAX));
            response
                .body
                .slice(from.min(response.body.len())..to.min(response.body.len()))
        };
        Ok(Range { bytes, object_size })
    }

    /// One page of the objects under `prefix` whose keys come after `start_after`.
    pub async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<&str>,
    ) -> Result<Page, S3Error> {
        let mut query = vec![("list-type", "2".to_owned())];
        if !prefix.is_empty() {
            query.push(("prefix", sigv4::uri_encode(prefix.as_bytes())));
        }
        if let Some(key) = start_after {
            query.push(("start-after", sigv4::uri_encode(key.as_bytes())));
        }
        query.sort();
        let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let response = self
            .send(
                Method::GET,
                &format!("/{}", sigv4::uri_encode(bucket.as_bytes())),
                &query.join("&"),
                &[],
                Bytes::new(),
            )
            .await?;
        parse_listing(&response.body)
    }

    /// Writes an object.
    pub async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), S3Error> {
        self.send(
            Method::PUT,
            &object_path(bucket, key),
            "",
            &[("content-type", "application/json")],
            Bytes::from(body),
        )
        .await
        .map(|_| ())
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<client::Response, S3Error> {
        let url = if query.is_empty() {
            format!("{}{path}", self.endpoint)
        } else {
            format!("{}{path}?{query}", self.endpoint)
        };
        let uri: Uri = url
            .parse()
            .map_err(|e| S3Error::Unreadable(format!("the request URL: {e}")))?;
        let host = client::host_header(&uri)
            .ok_or_else(|| S3Error::Unreadable("the S3 endpoint has no host".to_owned()))?;
        let digest = hex(&Sha256::digest(&body));
        let mut signed: Vec<(&str, &str)> =
            vec![("host", &host), ("x-amz-content-sha256", &digest)];
        signed.extend_from_slice(headers);
        let mut builder = Request::builder().method(method.clone()).uri(uri.clone());
        for (name, value) in &signed {
            builder = builder.header(*name, *value);
        }
        if let Some(credentials) = &self.credentials {
            let signable = sigv4::SignableRequest {
                method: method.as_str(),
                path: uri.path(),
                query: uri.query().unwrap_or_default(),
                headers: &signed,
                body: &body,
            };
            for (name, value) in sigv4::sign(
                &signable,
                credentials,
                "s3",
                &self.region,
                time::OffsetDateTime::now_utc(),
            ) {
                builder = builder.header(name, value);
            }
        }
        let request = builder
            .body(Full::new(body))
            .map_err(|e| S3Error::Unreadable(format!("cannot build the request: {e}")))?;
        let response = self
            .http
            .send(request, REQUEST_TIMEOUT)
            .await
            .map_err(|e| S3Error::Unreachable(e.to_string()))?;
        if response.status.is_success() {
            return Ok(response);
        }
        let (code, message) = parse_error(&response.body);
        Err(S3Error::Service {
            status: response.status.as_u16(),
            code: code.unwrap_or_else(|| response.status.as_str().to_owned()),
            message: message.unwrap_or_else(|| response.reason.clone()),
        })
    }
}

/// `/{bucket}/{key}`, each segment of the key encoded as S3 expects it.
fn object_path(bucket: &str, key: &str) -> String {
    let key: Vec<String> = key
        .split('/')
        .map(|segment| sigv4::uri_encode(segment.as_bytes()))
        .collect();
    format!(
        "/{}/{}",
        sigv4::uri_encode(bucket.as_bytes()),
        key.join("/")
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The text of each element named in `wanted`, in document order, as (name, text); elements
/// repeat as they do in the body.
fn elements(body: &[u8], wanted: &[&str]) -> Result<Vec<(String, String)>, S3Error> {
    let mut reader = Reader::from_reader(body);
    let mut found = Vec::new();
    let mut open: Option<String> = None;
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Xml::Start(start)) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                open = wanted.contains(&name.as_str()).then_some(name);
                if let Some(name) = &open {
                    found.push((name.clone(), String::new()));
                }
            }
            Ok(Xml::Text(text)) => {
                if open.is_some()
                    && let Some((_, value)) = found.last_mut()
                {
                    let decoded = text
                        .decode()
                        .map_err(|e| S3Error::Unreadable(e.to_string()))?;
                    let unescaped = quick_xml::escape::unescape(&decoded)
                        .map_err(|e| S3Error::Unreadable(e.to_string()))?;
                    value.push_str(&unescaped);
                }
            }
            Ok(Xml::GeneralRef(reference)) => {
                if open.is_some()
                    && let Some((_, value)) = found.last_mut()
                {
                    let entity = format!("&{};", String::from_utf8_lossy(reference.as_ref()));
                    let text = quick_xml::escape::unescape(&entity)
                        .map_err(|e| S3Error::Unreadable(e.to_string()))?;
                    value.push_str(&text);
                }
            }
            Ok(Xml::End(_)) => open = None,
            Ok(Xml::Eof) => break,
            Ok(_) => {}
            Err(error) => return Err(S3Error::Unreadable(error.to_string())),
        }
        buf.clear();
    }
    Ok(found)
}

fn parse_listing(body: &[u8]) -> Result<Page, S3Error> {
    let fields = elements(
        body,
        &[
            "Key",
            "Size",
            "ETag",
            "LastModified",
            "StorageClass",
            "IsTruncated",
        ],
    )?;
    let mut page = Page::default();
    for (name, value) in fields {
        match name.as_str() {
            "Key" => page.objects.push(Listed {
                key: value,
                size: 0,
                etag: String::new(),
                last_modified: String::new(),
                storage_class: "STANDARD".to_owned(),
            }),
            "IsTruncated" => page.truncated = value == "true",
            field => {
                let Some(object) = page.objects.last_mut() else {
                    continue;
                };
                match field {
                    "Size" => object.size = value.parse().unwrap_or(0),
                    "ETag" => object.etag = value,
                    "LastModified" => object.last_modified = value,
                    _ => object.storage_class = value,
                }
            }
        }
    }
    Ok(page)
}

fn parse_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let fields = elements(body, &["Code", "Message"]).unwrap_or_default();
    let get = |wanted: &str| {
        fields
            .iter()
            .find(|(name, _)| name == wanted)
            .map(|(_, v)| v.clone())
    };
    (get("Code"), get("Message"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_page_reads_each_object_and_the_next_token() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>in/</Prefix>
<KeyCount>2</KeyCount><IsTruncated>true</IsTruncated><NextContinuationToken>t&amp;1</NextContinuationToken>
<Contents><Key>in/a &amp; b.json</Key><LastModified>2024-01-02T03:04:05.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>in/c.json</Key><LastModified>2024-01-02T03:04:06.000Z</LastModified><ETag>"def"</ETag><Size>7</Size></Contents>
</ListBucketResult>"#;
        let page = parse_listing(body).expect("parsed");
        assert!(page.truncated);
        assert_eq!(page.objects.len(), 2);
        assert_eq!(page.objects[0].key, "in/a & b.json");
        assert_eq!(page.objects[0].etag, "\"abc\"");
        assert_eq!(page.objects[0].size, 12);
        assert_eq!(page.objects[1].etag, "\"def\"");
        assert_eq!(page.objects[1].last_modified, "2024-01-02T03:04:06.000Z");
        let (code, message) = parse_error(
            b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>",
        );
        assert_eq!(code.as_deref(), Some("NoSuchKey"));
        assert_eq!(
            message.as_deref(),
            Some("The specified key does not exist.")
        );
    }

    #[test]
    fn keys_are_encoded_per_segment() {
        assert_eq!(object_path("b", "in/a b+c.json"), "/b/in/a%20b%2Bc.json");
    }
}
