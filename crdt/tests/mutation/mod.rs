//! The seeded byte mutator of the differential fuzz tests (issue 18), shared by tandem-crdt's
//! in-process test and the end-to-end test against tandem-server (which includes this file).

use rand::Rng;
use rand::rngs::StdRng;

/// One mutation of 1–3 bytes: overwrite, flip a bit, insert or delete.
pub fn mutate(rng: &mut StdRng, update: &[u8]) -> Vec<u8> {
    let mut bytes = update.to_vec();
    for _ in 0..rng.random_range(1..=3) {
        let at = rng.random_range(0..bytes.len());
        match rng.random_range(0..4) {
            0 => bytes[at] = rng.random(),
            1 => bytes[at] ^= 1 << rng.random_range(0..8),
            2 => bytes.insert(at, rng.random()),
            _ if bytes.len() > 2 => drop(bytes.remove(at)),
            _ => bytes[at] = rng.random(),
        }
    }
    bytes
}
