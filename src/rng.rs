//! Seeds and random number generators.
//!
//! Every random function in dictlab takes an explicit `rng: &mut impl Rng`. Sweeps derive one seed
//! per item by hashing `(base_seed, item id)` with SHA-256 ([`derive_seed`]), never from a thread,
//! a shard or a method, and build a [`Rng64`] (ChaCha8, portable and stable across versions, unlike
//! `StdRng`) from it with [`rng_from_seed`].

use sha2::{Digest, Sha256};

pub use rand::{Rng, SeedableRng};
pub use rand_chacha::ChaCha8Rng as Rng64;

/// A portable, version-stable RNG seeded from a `u64`.
pub fn rng_from_seed(seed: u64) -> Rng64 {
    Rng64::seed_from_u64(seed)
}

/// Derive a seed from a base seed and an item identity (e.g. `"n=64,m=128/rep=3"`).
///
/// SHA-256 of the little-endian base seed, a separator and the UTF-8 id; the first 8 bytes of the
/// digest as a little-endian `u64`. Stable across platforms, versions and thread counts.
pub fn derive_seed(base_seed: u64, id: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(base_seed.to_le_bytes());
    h.update(b"\x1f");
    h.update(id.as_bytes());
    let d = h.finalize();
    u64::from_le_bytes(d[..8].try_into().expect("sha256 digest has 32 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_seeds_are_stable_and_distinct() {
        // Pinned value: changing the derivation silently would change every sweep's data.
        assert_eq!(derive_seed(0, "a"), derive_seed(0, "a"));
        assert_ne!(derive_seed(0, "a"), derive_seed(1, "a"));
        assert_ne!(derive_seed(0, "a"), derive_seed(0, "b"));
        let pinned = derive_seed(42, "n=64/rep=0");
        let mut h = Sha256::new();
        h.update(42u64.to_le_bytes());
        h.update(b"\x1fn=64/rep=0");
        let d = h.finalize();
        assert_eq!(pinned, u64::from_le_bytes(d[..8].try_into().unwrap()));
    }
}
