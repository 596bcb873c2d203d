//! The retry policy: which failed attempts are tried again ([`is_retried`], mirroring the README's table), how long
//! to wait between attempts (exponential backoff with jitter, or the server's `Retry-After`), and when to give up.
//! Transport failures are told apart through reqwest's and hyper's typed errors, never by their text.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::api::{Attempts, GaveUp};

/// The longest wait between attempts that the client picks itself (a server's `Retry-After` is capped separately).
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// One failed attempt.
pub enum Failure {
    /// An answer with a status other than 2xx.
    Status { status: StatusCode, retry_after: Option<Duration>, body: Vec<u8>, location: Option<String> },
    /// No connection could be made: nothing was sent.
    Connect(reqwest::Error),
    /// The connection was closed or reset before a complete answer: the request may have been processed.
    Closed(reqwest::Error),
    /// No complete answer within the request timeout: the request may have been processed.
    Timeout(reqwest::Error),
    /// Anything else (TLS, protocol): the request may have been processed.
    Other(reqwest::Error),
    /// A 2xx answer larger than the client reads: not retried.
    TooLarge,
}

impl Failure {
    pub fn from_transport(e: reqwest::Error) -> Failure {
        // A connect timeout is a failure to connect (nothing was sent), not a slow answer.
        if e.is_connect() {
            Failure::Connect(e)
        } else if e.is_timeout() {
            Failure::Timeout(e)
        } else if is_closed(&e) {
            Failure::Closed(e)
        } else {
            Failure::Other(e)
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Failure::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn reason(&self) -> String {
        match self {
            Failure::Status { status, .. } => format!("HTTP {}", status.as_u16()),
            Failure::Connect(e) | Failure::Closed(e) | Failure::Timeout(e) | Failure::Other(e) => transport_reason(e),
            Failure::TooLarge => "the answer is too large".into(),
        }
    }

    /// Whether the API may have processed the request despite this failure: a 5xx other than 503, a lost
    /// connection, a timeout; not a refusal before processing (429, 503, a 4xx) nor a failure to connect.
    pub fn may_have_been_processed(&self) -> bool {
        match self {
            Failure::Status { status, .. } => status.as_u16() >= 500 && status.as_u16() != 503,
            Failure::Connect(_) => false,
            Failure::Closed(_) | Failure::Timeout(_) | Failure::Other(_) | Failure::TooLarge => true,
        }
    }
}

/// Which failures are retried. A failure is transient when the same request may well succeed a moment later; it is
/// retried when, in addition, repeating the request cannot change the outcome:
///
/// - 429 and 503: the API refused the request before processing it; any request is retried.
/// - No connection: nothing was sent; any request is retried.
/// - 502, 504, and a connection closed or reset before the answer: a proxy or the network failed, and the API may
///   or may not have processed the request; only an idempotent request is retried.
/// - Everything else is not retried: other statuses (500 and every 4xx among them) would answer the same again, a
///   timeout has already waited as long as `--timeout` allows, and a malformed answer or a redirect is not
///   transient.
pub fn is_retried(failure: &Failure, idempotent: bool) -> bool {
    match failure {
        Failure::Status { status, .. } => match status.as_u16() {
            429 | 503 => true,
            502 | 504 => idempotent,
            _ => false,
        },
        Failure::Connect(_) => true,
        Failure::Closed(_) => idempotent,
        Failure::Timeout(_) | Failure::Other(_) | Failure::TooLarge => false,
    }
}

/// Whether another attempt may start after `wait`, within `attempts` (its count, and its budget from `started`), or
/// why not. A server's `Retry-After` longer than `max_retry_after` is not waited for.
pub fn next_attempt(
    attempts: &Attempts,
    started: Instant,
    wait: Duration,
    asked_by_server: bool,
    max_retry_after: Duration,
) -> Result<(), GaveUp> {
    if asked_by_server && wait > max_retry_after {
        return Err(GaveUp::RetryAfterTooLong { asked: wait, cap: max_retry_after });
    }
    if attempts.made >= attempts.max {
        return Err(GaveUp::Attempts);
    }
    if started.elapsed() + wait >= attempts.budget {
        return Err(GaveUp::Budget(attempts.budget));
    }
    Ok(())
}

/// Exponential backoff with jitter: about 0.25 s, 0.5 s, 1 s, ... (at most 8 s), each plus up to half again.
pub fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(250)
        .checked_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF);
    base + jitter(base / 2)
}

fn jitter(max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    let nanos = max.as_nanos() as u64;
    if nanos == 0 { Duration::ZERO } else { Duration::from_nanos(h.finish() % nanos) }
}

/// `Retry-After` as a wait from now: delta-seconds, or an HTTP date (a past date is no wait).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(raw).ok()?;
    Some(when.duration_since(std::time::SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// Whether the connection closed or was reset before a complete answer: hyper's typed error saying so (an incomplete
/// message, a cancelled request, a closed channel), or an I/O error of that kind, anywhere in the error's sources.
fn is_closed(e: &reqwest::Error) -> bool {
    use std::error::Error as _;
    use std::io::ErrorKind;
    let mut source = e.source();
    while let Some(err) = source {
        if let Some(hyper) = err.downcast_ref::<hyper::Error>()
            && (hyper.is_incomplete_message() || hyper.is_canceled() || hyper.is_closed())
        {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
                    | ErrorKind::UnexpectedEof
            )
        {
            return true;
        }
        source = err.source();
    }
    false
}

pub fn transport_reason(e: &reqwest::Error) -> String {
    if e.is_connect() && e.is_timeout() {
        "could not connect (timed out)".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else if e.is_timeout() {
        "timed out".into()
    } else if is_closed(e) {
        "the connection was closed before a complete answer".into()
    } else if e.is_body() || e.is_decode() {
        "the answer's body could not be read".into()
    } else {
        "the request failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"));
        assert_eq!(retry_after(&headers), Some(Duration::ZERO), "a past date is no wait");
        headers.insert(RETRY_AFTER, HeaderValue::from_static(" 7 "));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("-1"));
        assert_eq!(retry_after(&headers), None);
        for hostile in ["tomorrow", "Sun, 06 Nov 99999999999999 08:49:37 GMT", "Sun, 06 Nov 1994 99:49:37 GMT"] {
            headers.insert(RETRY_AFTER, HeaderValue::from_str(hostile).unwrap());
            assert_eq!(retry_after(&headers), None, "{hostile}");
        }
        let future = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
        headers.insert(RETRY_AFTER, HeaderValue::from_str(&future).unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120), "{wait:?}");
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        for (attempt, base_ms) in [(1, 250), (2, 500), (3, 1000), (6, 8000), (40, 8000), (u32::MAX, 8000)] {
            let wait = backoff(attempt);
            let base = Duration::from_millis(base_ms);
            assert!(wait >= base && wait <= base + base / 2, "attempt {attempt}: {wait:?}");
        }
    }

    #[test]
    fn giving_up_by_attempts_budget_and_retry_after() {
        let cap = Duration::from_secs(30);
        let made = |made: u32| Attempts { made, ..Attempts::new(3, Duration::from_secs(5)) };
        let now = Instant::now();
        assert_eq!(next_attempt(&made(1), now, Duration::from_secs(1), false, cap), Ok(()));
        assert_eq!(next_attempt(&made(3), now, Duration::ZERO, false, cap), Err(GaveUp::Attempts));
        assert_eq!(
            next_attempt(&made(1), now, Duration::from_secs(5), false, cap),
            Err(GaveUp::Budget(Duration::from_secs(5)))
        );
        assert_eq!(
            next_attempt(&made(1), now, Duration::from_secs(31), true, cap),
            Err(GaveUp::RetryAfterTooLong { asked: Duration::from_secs(31), cap })
        );
        // The budget runs from the first attempt of the allowance, however many rounds it took.
        let earlier = now.checked_sub(Duration::from_secs(4)).unwrap();
        assert_eq!(
            next_attempt(&made(1), earlier, Duration::from_secs(1), false, cap),
            Err(GaveUp::Budget(Duration::from_secs(5)))
        );
    }

    #[test]
    fn which_statuses_are_retried() {
        let status = |code: u16| Failure::Status {
            status: StatusCode::from_u16(code).unwrap(),
            retry_after: None,
            body: Vec::new(),
            location: None,
        };
        for code in [429, 503] {
            assert!(is_retried(&status(code), false), "{code}");
        }
        for code in [502, 504] {
            assert!(is_retried(&status(code), true), "{code}");
            assert!(!is_retried(&status(code), false), "{code} may have been processed");
        }
        for code in [300, 301, 307, 308, 400, 401, 403, 404, 405, 409, 413, 415, 422, 500, 501, 505] {
            assert!(!is_retried(&status(code), true), "{code}");
        }
    }
}
