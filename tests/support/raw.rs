//! Plain HTTP/1.1 requests to the API, for protocol cases the SDKs never produce.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response: status code and body.
pub struct RawResponse {
    pub status: u16,
    pub body: String,
}

impl RawResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("json body")
    }
}

/// Sends `POST /` with the given `X-Amz-Target` (if any) and body.
pub async fn post(address: SocketAddr, target: Option<&str>, body: &[u8]) -> RawResponse {
    let mut request = format!(
        "POST / HTTP/1.1\r\nHost: sync-localhost\r\nContent-Type: application/x-amz-json-1.0\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(target) = target {
        request.push_str(&format!("X-Amz-Target: {target}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    send(address, &bytes).await
}

/// Sends a GET.
pub async fn get(address: SocketAddr, path: &str) -> RawResponse {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    send(address, request.as_bytes()).await
}

async fn send(address: SocketAddr, request: &[u8]) -> RawResponse {
    try_send(address, request).await.expect("http exchange")
}

/// A GET that reports connection failures instead of panicking (for servers that may be down).
pub async fn try_get(address: SocketAddr, path: &str) -> std::io::Result<RawResponse> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    try_send(address, request.as_bytes()).await
}

async fn try_send(address: SocketAddr, request: &[u8]) -> std::io::Result<RawResponse> {
    let mut stream = TcpStream::connect(address).await?;
    stream.write_all(request).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(RawResponse {
        status,
        body: body.to_owned(),
    })
}
