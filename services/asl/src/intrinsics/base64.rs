//! Base64 (RFC 4648 standard alphabet, padded) for `States.Base64Encode`/`Base64Decode`,
//! written out here because the crate takes no encoding dependency.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn sextet(c: char) -> Option<u32> {
    let v = match c {
        'A'..='Z' => c as u32 - 'A' as u32,
        'a'..='z' => c as u32 - 'a' as u32 + 26,
        '0'..='9' => c as u32 - '0' as u32 + 52,
        '+' => 62,
        '/' => 63,
        _ => return None,
    };
    Some(v)
}

/// Decodes leniently, as AWS was observed to: characters outside the alphabet (spaces, `!`)
/// are skipped, the first `=` ends the data, and a short final group yields the whole bytes it
/// holds (`abc` decodes to two bytes) — AWS returns output for all of these instead of failing.
pub fn decode_lenient(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in text.chars() {
        if c == '=' {
            break;
        }
        let Some(v) = sextet(c) else { continue };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{decode_lenient, encode};

    #[test]
    fn encodes_with_padding() {
        assert_eq!(encode(b""), "");
        assert_eq!(encode(b"f"), "Zg==");
        assert_eq!(encode(b"fo"), "Zm8=");
        assert_eq!(encode(b"foo"), "Zm9v");
        assert_eq!(encode(b"Data to encode"), "RGF0YSB0byBlbmNvZGU=");
        assert_eq!(encode("✓".as_bytes()), "4pyT");
    }

    #[test]
    fn decodes_canonical_input() {
        assert_eq!(decode_lenient("RGF0YSB0byBlbmNvZGU="), b"Data to encode");
        assert_eq!(decode_lenient("YWJjAGRlZg=="), b"abc\0def");
        assert_eq!(decode_lenient(""), b"");
        assert_eq!(decode_lenient("IA=="), b" ");
    }

    #[test]
    fn decodes_malformed_input_leniently() {
        assert_eq!(decode_lenient(" YWJjZA== "), b"abcd");
        assert_eq!(decode_lenient("abc"), decode_lenient("abc="));
        assert_eq!(decode_lenient("ab==cd"), decode_lenient("ab"));
        assert_eq!(decode_lenient("!!!invalid!!!"), decode_lenient("invalid"));
    }
}
