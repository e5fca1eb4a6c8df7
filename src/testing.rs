//! Test helpers shared across the crate's unit tests.

/// A fixed pseudo-random sequence (xorshift64) for generated test inputs: the same inputs on
/// every run, so a failure can be replayed.
pub(crate) struct Xorshift(pub u64);

impl Xorshift {
    /// The next number of the sequence.
    pub(crate) fn next(&mut self) -> u64 {
        let s = &mut self.0;
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    /// The next number below `n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
