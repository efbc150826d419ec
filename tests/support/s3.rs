//! A real S3-compatible server for the Distributed Map tests: `moto_server` (`pip install
//! 'moto[server]'`), started as a process of its own on a free port of 127.0.0.1 and killed
//! when dropped. Objects are written and read through Switchback's own S3 client
//! (`switchback_invoke::s3`), the bucket made with a plain `PUT /<bucket>`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use switchback_invoke::S3Config;
use switchback_invoke::s3::S3;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::processes::free_address;

/// The credentials the tests sign with (moto accepts any).
pub const ACCESS_KEY: &str = "test-key";
pub const SECRET_KEY: &str = "test-secret";

pub struct S3Server {
    child: Child,
    pub endpoint: String,
    pub client: S3,
}

impl S3Server {
    /// Starts `moto_server` and waits until it answers.
    pub async fn start() -> S3Server {
        let address = free_address();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &address.port().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server (pip install 'moto[server]')");
        let endpoint = format!("http://{address}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(address).await.is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let client = S3::connect(&Self::config_for(&endpoint), "us-east-1").expect("s3 client");
        S3Server {
            child,
            endpoint,
            client,
        }
    }

    fn config_for(endpoint: &str) -> S3Config {
        S3Config {
            endpoint: Some(endpoint.to_owned()),
            region: Some("us-east-1".to_owned()),
            access_key_id: Some(ACCESS_KEY.to_owned()),
            secret_access_key: Some(SECRET_KEY.to_owned()),
            session_token: None,
        }
    }

    /// The `integrations.s3` settings that point Switchback here.
    pub fn config(&self) -> S3Config {
        Self::config_for(&self.endpoint)
    }

    /// Creates a bucket.
    pub async fn bucket(&self, name: &str) {
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect to moto");
        let request = format!(
            "PUT /{name} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("create bucket");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .await
            .expect("bucket response");
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }

    pub async fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        self.client
            .put(bucket, key, body.to_vec())
            .await
            .expect("put object");
    }

    /// An object's bytes.
    pub async fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        self.try_get(bucket, key).await.expect("get object")
    }

    /// An object's bytes, if it exists.
    pub async fn try_get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.client
            .get_range(bucket, key, None, 0, 1 << 30)
            .await
            .ok()
            .map(|object| object.bytes.to_vec())
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
