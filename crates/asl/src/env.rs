//! The only door through which the outside world (time, randomness) enters the
//! language core.

/// What the language core needs from its host. Implementations decide where the
/// values come from: the runtime uses the wall clock and the OS RNG, tests and
/// `run-local` use deterministic ones.
pub trait Env {
    /// Now, in milliseconds since the Unix epoch (UTC).
    fn now_millis(&self) -> i64;
    /// A fresh random (version 4) UUID in its canonical lower-case text form,
    /// e.g. `1b4f0e9a-8d7c-4b8a-9c2e-3f4a5b6c7d8e`.
    fn uuid_v4(&mut self) -> String;
    /// A uniformly distributed number in `[0, 1)` (unseeded randomness:
    /// `States.MathRandom` without a seed, retry jitter).
    fn random_f64(&mut self) -> f64;
}

/// A deterministic [`Env`]: a fixed clock that tests may move, and a
/// counter-based pseudo-random stream (SplitMix64). Used by tests and by
/// `baton run-local`.
#[derive(Debug, Clone)]
pub struct FixedEnv {
    /// Current time in epoch milliseconds.
    pub now: i64,
    state: u64,
}

impl FixedEnv {
    /// A deterministic environment starting at `now` (epoch ms) with `seed`.
    pub fn new(now: i64, seed: u64) -> Self {
        Self { now, state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        // SplitMix64: tiny, good enough for reproducible test values.
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Env for FixedEnv {
    fn now_millis(&self) -> i64 {
        self.now
    }

    fn uuid_v4(&mut self) -> String {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        b[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        format_uuid_v4(b)
    }

    fn random_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Formats 16 random bytes as a version-4, variant-1 UUID.
pub fn format_uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{byte:02x}"));
    }
    s
}
