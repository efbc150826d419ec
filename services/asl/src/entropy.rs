//! Randomness as an argument: the caller seeds it, so a step is a pure function of its inputs
//! (and replaying it with the same seed gives the same jitter, UUIDs and random numbers).

/// A seed from 16 random bytes the caller drew (a UUID v4's, say).
pub fn seed_from(bytes: [u8; 16]) -> u64 {
    u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ])
}

/// A small deterministic generator (SplitMix64). Not for secrets: task tokens are made by the
/// caller from the operating system's random source.
#[derive(Debug, Clone)]
pub struct Entropy {
    state: u64,
}

impl Entropy {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// 16 random bytes, e.g. for a version-4 UUID.
    pub fn next_bytes_16(&mut self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::Entropy;

    #[test]
    fn is_deterministic_and_in_range() {
        let (mut a, mut b) = (Entropy::new(7), Entropy::new(7));
        for _ in 0..1000 {
            let x = a.next_f64();
            assert_eq!(x, b.next_f64());
            assert!((0.0..1.0).contains(&x));
        }
        assert_ne!(Entropy::new(1).next_u64(), Entropy::new(2).next_u64());
    }
}
