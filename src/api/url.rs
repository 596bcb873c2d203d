//! API URLs: checking the base URL the user gives (`https://`, or `http://` for a loopback host), joining a path to
//! it, and showing a URL without credentials.

use url::Url;

use crate::api::ApiError;

pub const DEFAULT_API_URL: &str = "https://api.ultravox.ai";

/// Checks an API base URL: `https://`, or `http://` for a loopback host only (the emulator).
pub fn parse_base_url(raw: &str) -> Result<Url, ApiError> {
    let url = Url::parse(raw.trim())
        .map_err(|e| ApiError::InvalidUrl { url: redact_url_text(raw), reason: e.to_string() })?;
    let shown = display_url(&url);
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(ApiError::InsecureUrl { url: shown }),
        other => return Err(ApiError::InvalidUrl { url: shown, reason: format!("unsupported scheme `{other}`") }),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::InvalidUrl { url: shown, reason: "no host".into() });
    }
    if !url.username().is_empty() || url.password().is_some() {
        // They would be sent as Basic credentials beside the API key, and a command line is visible to `ps`.
        return Err(ApiError::InvalidUrl {
            url: shown,
            reason: "it carries a user name or password; the API key is the only credential sent".into(),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ApiError::InvalidUrl { url: shown, reason: "a base URL has no query or fragment".into() });
    }
    Ok(url)
}

/// Whether the URL's host is this machine (`localhost`, `127.0.0.0/8`, `::1`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `path` (absolute, e.g. `/api/agents`) under the base URL, which may itself have a path.
pub fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}{}", base.path().trim_end_matches('/'), path);
    url.set_path(&joined);
    url
}

/// A URL as it may be shown: no user, no password, no query.
pub fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string().trim_end_matches('/').to_string()
}

/// A URL a request goes to, as messages and logs show it ([`display_url`]): masked whole where it holds a secret of
/// the run (a registration's ID, a pagination link from the server).
pub fn shown_url(url: &Url) -> String {
    crate::redact::shown(&display_url(url)).into_owned()
}

fn redact_url_text(raw: &str) -> String {
    // An unparseable URL may still carry `user:pass@`; drop everything before an `@` in the authority.
    match raw.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((_, after)) if !after.contains('/') || rest.find('@') < rest.find('/') => {
                format!("{scheme}://{after}")
            }
            _ => raw.to_string(),
        },
        None => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_only_for_loopback() {
        assert!(parse_base_url("http://127.0.0.1:8080").is_ok());
        assert!(parse_base_url("http://localhost:1").is_ok());
        assert!(parse_base_url("http://[::1]:1").is_ok());
        assert!(parse_base_url("https://api.ultravox.ai").is_ok());
        assert!(matches!(parse_base_url("http://api.ultravox.ai"), Err(ApiError::InsecureUrl { .. })));
        assert!(matches!(parse_base_url("http://10.0.0.1"), Err(ApiError::InsecureUrl { .. })));
        assert!(matches!(parse_base_url("ftp://x"), Err(ApiError::InvalidUrl { .. })));
    }

    #[test]
    fn shown_urls_carry_no_credentials() {
        let url = Url::parse("https://user:pw@example.com/base?token=x").unwrap();
        assert_eq!(display_url(&url), "https://example.com/base");
        let err = parse_base_url("https://user:pw@exa mple.com").unwrap_err();
        assert!(!err.to_string().contains("pw"), "{err}");
        let err = parse_base_url("http://user:pw-secret@127.0.0.1:8787").unwrap_err();
        assert!(err.to_string().contains("carries a user name or password"), "{err}");
        assert!(!err.to_string().contains("pw-secret"), "{err}");
    }

    #[test]
    fn paths_join_under_a_base_path() {
        let base = Url::parse("https://example.com/proxy/").unwrap();
        assert_eq!(join(&base, "/api/agents").as_str(), "https://example.com/proxy/api/agents");
    }
}
