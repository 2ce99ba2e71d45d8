//! [`TokenBucket`]: how fast a connection may go, in messages, bytes or CPU time.

use std::time::Duration;

use tokio::time::Instant;

/// Tokens that refill at `rate` per second up to `burst`; taking more than there are goes into
/// debt, and the debt says how long to wait.
pub(crate) struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64) -> Self {
        Self { rate, burst, tokens: burst, last: None }
    }

    /// Takes `n` tokens, going into debt if needed; returns the time until the debt is paid.
    pub fn take(&mut self, n: f64, now: Instant) -> Duration {
        if let Some(last) = self.last {
            let refill = now.saturating_duration_since(last).as_secs_f64() * self.rate;
            self.tokens = (self.tokens + refill).min(self.burst);
        }
        self.last = Some(now);
        self.tokens -= n;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 20.0);
        for _ in 0..20 {
            assert_eq!(bucket.take(1.0, start), Duration::ZERO);
        }
        assert_eq!(bucket.take(1.0, start), Duration::from_millis(100));
        // Half a second later five tokens came back, one was owed.
        assert_eq!(bucket.take(1.0, start + Duration::from_millis(500)), Duration::ZERO);
        assert_eq!(bucket.tokens.round() as i64, 3);
    }
}
