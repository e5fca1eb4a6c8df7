//! Where requests go: the base URL checked once as configuration, plain http only to loopback,
//! and the proxy chosen from the environment, never for a loopback target and never dropped
//! silently.

use std::net::IpAddr;

use ureq::http::Uri;

use crate::error::{Error, Result};

/// A base URL qstream can send to: http(s), a host, a valid port, no query or fragment
/// (the request path is appended to it, so either would send the request to the wrong place).
pub fn check_base_url(url: &str) -> Result<()> {
    let bad = |why: &str| Error::usage(format!("the base URL {url:?} {why}"));
    if url.contains('#') {
        return Err(bad("has a fragment (#…); give the URL without it"));
    }
    let uri: Uri = url
        .parse()
        .map_err(|e| bad(&format!("is not a URL: {e}")))?;
    match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("http" | "https") => {}
        _ => return Err(bad("must start with https://")),
    }
    if uri.query().is_some() {
        return Err(bad("has a query (?…); give the URL without it"));
    }
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
    let host = uri.host().unwrap_or("");
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    let hostport = authority.rsplit('@').next().unwrap_or(authority);
    let port_ok = match hostport.get(host.len()..) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix(':')
            .is_some_and(|p| p.is_empty() || p.parse::<u16>().is_ok_and(|p| p > 0)),
        None => false,
    };
    if !port_ok {
        return Err(bad("has an invalid port"));
    }
    Ok(())
}

/// The host of a URL, lower-case, without IPv6 brackets ("" when there is none).
pub fn host(url: &str) -> String {
    let host = url
        .parse::<Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned()
}

/// A host that is this machine without asking anyone: a loopback address, or `localhost`.
/// Names under `.localhost` are not: RFC 6761 asks resolvers to keep them local, but the
/// system's resolver may still send them to DNS, which can answer anything.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The proxy variables, in the order they are consulted.
const PROXY_VARS: [&str; 6] = [
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
];

/// The proxy for a request to `url`: none for a loopback target (the key must not travel to
/// a proxy, over plain http least of all), else the first proxy variable that is set, which
/// must be usable (HTTP, HTTPS or SOCKS): a setting that cannot be used is an error, never a
/// reason to connect around it. A host `NO_PROXY` names is reached directly.
pub fn proxy(url: &str, var: &dyn Fn(&str) -> Option<String>) -> Result<Option<ureq::Proxy>> {
    let host = host(url);
    if is_loopback(&host) {
        return Ok(None);
    }
    let no_proxy = var("NO_PROXY").or_else(|| var("no_proxy"));
    if no_proxy.is_some_and(|list| no_proxy_matches(&list, &host)) {
        return Ok(None);
    }
    let Some((name, value)) = PROXY_VARS.iter().find_map(|name| {
        var(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| (*name, v))
    }) else {
        return Ok(None);
    };
    // The value may hold a password: name the variable, never echo it.
    let unusable = |why: String| {
        Error::usage(format!(
            "{name} is not a proxy qstream can use ({why}); it takes http://, https://, socks4://, socks4a://, socks5:// or socks5h:// URLs"
        ))
    };
    let value = value.trim();
    if let Some((scheme, _)) = value.split_once("://") {
        let known = [
            "http", "https", "socks", "socks4", "socks4a", "socks5", "socks5h",
        ];
        if !known.iter().any(|k| scheme.eq_ignore_ascii_case(k)) {
            return Err(unusable(format!("the scheme {scheme:?} is not supported")));
        }
    }
    ureq::Proxy::new(value)
        .map(Some)
        .map_err(|e| unusable(e.to_string()))
}

/// Whether a `NO_PROXY` list names `host`, as curl reads it: `*` is every host; an entry
/// (with or without a leading `*.` or `.`) matches that name and the names under it.
fn no_proxy_matches(list: &str, host: &str) -> bool {
    list.split(',').map(str::trim).any(|entry| {
        if entry == "*" {
            return true;
        }
        let name = entry
            .trim_start_matches('*')
            .trim_start_matches('.')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let name = name.trim_start_matches('[').trim_end_matches(']');
        !name.is_empty()
            && (host == name
                || host
                    .strip_suffix(name)
                    .is_some_and(|rest| rest.ends_with('.')))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert!(check_base_url("https://dashscope-intl.aliyuncs.com/compatible-mode/v1").is_ok());
        assert!(check_base_url("http://127.0.0.1:8080/api/v1").is_ok());
        assert!(check_base_url("http://[::1]:8080/api/v1").is_ok());
        assert!(check_base_url("http://user:pw@example.com/v1").is_ok());
        for bad in [
            "https://",
            "https://exa mple.com/v1",
            "https://example.com:99999/v1",
            "https://example.com:0/v1",
            "https://:443/v1",
            "https://example.com/v1?x=1",
            "https://example.com/v1#f",
            "ftp://example.com/v1",
            "example.com/v1",
        ] {
            let e = check_base_url(bad).expect_err(bad);
            assert_eq!(e.exit, crate::error::Exit::Usage, "{bad}");
        }
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "LOCALHOST",
            "localhost.",
            "127.0.0.1",
            "127.9.9.9",
            "::1",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "api.localhost",
            "localhost.evil.com",
            "10.0.0.1",
            "example.com",
            "",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
        assert_eq!(host("http://[::1]:9/x"), "::1");
        assert_eq!(host("http://u@LocalHost:9/x"), "localhost");
    }

    #[test]
    fn proxies() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let all = env(&[("ALL_PROXY", "socks5h://127.0.0.1:1080")]);
        assert!(proxy("http://127.0.0.1:9/v1", &all).expect("ok").is_none());
        assert!(proxy("http://localhost:9/v1", &all).expect("ok").is_none());
        let p = proxy("https://example.com/v1", &all)
            .expect("ok")
            .expect("a proxy");
        assert_eq!(p.protocol(), ureq::ProxyProtocol::Socks5h);
        // ALL_PROXY comes first, an empty one counts as unset.
        let both = env(&[("ALL_PROXY", ""), ("https_proxy", "http://proxy:3128")]);
        let p = proxy("https://example.com/v1", &both)
            .expect("ok")
            .expect("a proxy");
        assert_eq!(p.host(), "proxy");
        let bad = env(&[("HTTPS_PROXY", "ftp://user:hunter2@proxy:21")]);
        let e = proxy("https://example.com/v1", &bad).expect_err("ftp");
        assert_eq!(e.exit, crate::error::Exit::Usage);
        assert!(e.message.contains("HTTPS_PROXY") && !e.message.contains("hunter2"));
        assert!(proxy("https://example.com/v1", &env(&[]))
            .expect("ok")
            .is_none());
        // Whitespace around the value is not a reason to go direct.
        let spaced = env(&[("ALL_PROXY", " socks5h://127.0.0.1:1080 ")]);
        assert!(proxy("https://example.com/v1", &spaced)
            .expect("ok")
            .is_some());
        let except = env(&[
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("NO_PROXY", "internal, .corp.example ,*.aliyuncs.com"),
        ]);
        for (url, direct) in [
            ("https://dashscope-intl.aliyuncs.com/v1", true),
            ("https://internal/v1", true),
            ("https://api.internal/v1", true),
            ("https://x.corp.example/v1", true),
            ("https://example.com/v1", false),
            ("https://notinternal/v1", false),
        ] {
            let p = proxy(url, &except).expect("ok");
            assert_eq!(p.is_none(), direct, "{url}");
        }
        let all = env(&[("HTTPS_PROXY", "http://proxy:3128"), ("no_proxy", "*")]);
        assert!(proxy("https://example.com/v1", &all).expect("ok").is_none());
    }
}
