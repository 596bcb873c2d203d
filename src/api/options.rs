//! The limits every request of a [`Client`](super::Client) runs within: the timeouts (used by the client) and the
//! retry limits (used by the retry policy, [`retry`](super::retry)). Their own module, so that the client and the
//! policy both read them without depending on each other.

use std::time::Duration;

/// Limits for requests; the defaults suit CI.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// No retry starts after this much time has passed since the first attempt.
    pub retry_budget: Duration,
    /// The longest wait honoured from a `Retry-After` header.
    pub max_retry_after: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_attempts: 4,
            retry_budget: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(30),
        }
    }
}
