//! The digests `States.Hash` offers (MD5, SHA-1, SHA-256, SHA-384, SHA-512), from RustCrypto's
//! crates. Also the task-token digest of the interpreter. Not constant-time: neither needs it.

use sha2::Digest;

/// Hex digest (lowercase) of `data` with `algorithm` as AWS spells it, or `None` if unknown.
pub fn hex_digest(algorithm: &str, data: &[u8]) -> Option<String> {
    let bytes: Vec<u8> = match algorithm {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA-1" => sha1::Sha1::digest(data).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data).to_vec(),
        "SHA-384" => sha2::Sha384::digest(data).to_vec(),
        "SHA-512" => sha2::Sha512::digest(data).to_vec(),
        _ => return None,
    };
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::hex_digest;

    fn h(alg: &str, data: &str) -> String {
        hex_digest(alg, data.as_bytes()).unwrap_or_default()
    }

    #[test]
    fn known_answers() {
        assert_eq!(h("MD5", ""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(h("MD5", "hello"), "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(
            h("SHA-1", "hello"),
            "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"
        );
        assert_eq!(
            h("SHA-256", ""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            h("SHA-384", "hello"),
            "59e1748777448c69de6b800d7a33bbfb9ff1b463e44354c3553bcdb9c666fa90125a3c79f90397bdf5f6a13de828684f"
        );
        assert_eq!(
            h("SHA-512", "hello"),
            "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043"
        );
        // Multi-block input (crosses the 56/112-byte padding boundaries).
        let long = "a".repeat(1000);
        assert_eq!(h("MD5", &long), "cabe45dcc9ae5b66ba86600cca6b8ba8");
        assert_eq!(
            h("SHA-1", &long),
            "291e9a6c66994949b57ba5e650361e98fc36b1ba"
        );
        assert_eq!(
            h("SHA-256", &long),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
        );
    }

    #[test]
    fn unknown_algorithms_are_refused() {
        for alg in ["sha-256", "SHA256", "", "MD-5", "SHA-257"] {
            assert_eq!(hex_digest(alg, b"x"), None);
        }
    }
}
