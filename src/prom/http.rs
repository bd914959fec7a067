//! What the Prometheus, Alertmanager and Grafana clients share: the URLs they accept (`http://` or
//! `https://`) and the one place their reqwest client is built, where the trust store is chosen. It
//! sits beside the Prometheus client, the first of the three, until they get a home of their own.

use std::time::Duration;

/// How the clients' errors tell a user to write a URL.
pub(crate) const URL_FORM: &str = "http://HOST:PORT or https://HOST:PORT";

/// `url` without its trailing `/`, when it is `http://HOST[:PORT][/PREFIX]` or the same with `https://`;
/// `None` for any other scheme, no host, or a space.
pub(crate) fn base_url(url: &str) -> Option<&str> {
    let base = url.trim_end_matches('/');
    let rest = base
        .strip_prefix("http://")
        .or_else(|| base.strip_prefix("https://"))?;
    (!rest.is_empty() && !rest.starts_with('/') && !rest.contains(char::is_whitespace))
        .then_some(base)
}

/// The HTTP client for `base` (a URL [`base_url`] accepted), every request bounded by `timeout`.
///
/// The trust store is the system's: reqwest's rustls verifies with rustls-platform-verifier, which on
/// Linux reads the CA bundle the machine trusts (`/etc/ssl/certs`, or `SSL_CERT_FILE`). Chosen over a
/// bundle compiled in (webpki-roots) because a school's or a company's own CA, installed on the host,
/// is what signs a self-hosted Prometheus or Grafana; and the image carries Debian's bundle (Dockerfile).
/// A plain `http://` client loads no roots at all: it then builds on a machine without CA
/// certificates, where the lab's own services, all plain HTTP, must still be reached.
///
/// Fails only for `https://` on a machine without CA certificates.
pub(crate) fn client(base: &str, timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    let builder = reqwest::Client::builder().timeout(timeout);
    let builder = if base.starts_with("https://") {
        builder
    } else {
        builder.tls_certs_only(std::iter::empty())
    };
    builder.build()
}

/// What the clients' errors add when an `https://` client cannot be built.
pub(crate) const NO_TRUST_STORE_FIX: &str = "install the system's CA certificates (apt-get install ca-certificates) or point SSL_CERT_FILE at a PEM bundle";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_are_accepted_and_nothing_else() {
        assert_eq!(
            base_url("http://prometheus:9090/"),
            Some("http://prometheus:9090")
        );
        assert_eq!(
            base_url("https://x:9090/prefix"),
            Some("https://x:9090/prefix")
        );
        for bad in [
            "prometheus:9090",
            "ftp://x:9090",
            "http://",
            "https://",
            "http:///x",
            "http://a b",
        ] {
            assert_eq!(base_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_plain_http_client_needs_no_ca_certificate() {
        assert!(client("http://127.0.0.1:9", Duration::from_secs(1)).is_ok());
    }
}
