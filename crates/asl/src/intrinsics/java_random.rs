//! `java.util.Random`: AWS runs on the JVM, and a seeded `States.MathRandom`
//! most plausibly draws from `new java.util.Random(seed)`. This is the same
//! 48-bit linear congruential generator, bit for bit.

const MULTIPLIER: i64 = 0x5_DEEC_E66D;
const ADDEND: i64 = 0xB;
const MASK: i64 = (1 << 48) - 1;

/// A `java.util.Random` seeded like `new Random(seed)`.
#[derive(Debug, Clone)]
pub(crate) struct JavaRandom {
    seed: i64,
}

impl JavaRandom {
    pub(crate) fn new(seed: i64) -> Self {
        Self {
            seed: (seed ^ MULTIPLIER) & MASK,
        }
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.seed = (self.seed.wrapping_mul(MULTIPLIER).wrapping_add(ADDEND)) & MASK;
        // `(int)(seed >>> (48 - bits))`: the cast keeps the low 32 bits.
        ((self.seed as u64) >> (48 - bits)) as i32
    }

    /// `Random.nextInt(bound)`; `bound` must be positive.
    pub(crate) fn next_int(&mut self, bound: i32) -> Option<i32> {
        if bound <= 0 {
            return None;
        }
        let mut r = self.next(31);
        let m = bound - 1;
        if bound & m == 0 {
            return Some(((i64::from(bound) * i64::from(r)) >> 31) as i32);
        }
        let mut u = r;
        loop {
            r = u % bound;
            if u.wrapping_sub(r).wrapping_add(m) >= 0 {
                return Some(r);
            }
            u = self.next(31);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::JavaRandom;

    #[test]
    fn matches_java_reference_values() {
        // Values printed by a JVM (`new java.util.Random(seed).nextInt(bound)`).
        let mut r = JavaRandom::new(42);
        let got: Vec<i32> = (0..5).map(|_| r.next_int(100).unwrap_or(-1)).collect();
        assert_eq!(got, vec![30, 63, 48, 84, 70]);
        assert_eq!(JavaRandom::new(0).next_int(10), Some(0));
        assert_eq!(JavaRandom::new(1).next_int(10), Some(5));
        assert_eq!(JavaRandom::new(3).next_int(999), Some(239));
        assert_eq!(JavaRandom::new(-10).next_int(9), Some(0));
        // power-of-two bound path
        assert_eq!(JavaRandom::new(42).next_int(16), Some(11));
        assert_eq!(JavaRandom::new(7).next_int(0), None);
    }
}
