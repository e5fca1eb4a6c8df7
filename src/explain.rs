//! Errors that teach: what the service's error means for this request, added to the one
//! stderr line (Model Studio "Error codes": 401 InvalidApiKey "check that the API key, region
//! and Base URL match"; "Base URL overview": "API Keys are independent across regions";
//! 429 "check the message to identify the limit").

use crate::cli::{Protocol, Region};
use crate::config::Config;
use crate::error::Error;
use crate::event::ApiError;

/// What a 429 (or a `Throttling*` code) says was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Requests per minute (`Throttling.RateQuota`, "Requests rate limit exceeded").
    Requests,
    /// Tokens per minute (`Throttling.AllocationQuota`, "Allocated quota exceeded").
    Tokens,
    /// Burst protection: "Request rate increased too quickly".
    RampUp,
    /// Money or free quota, not rate: `insufficient_quota`, `Arrearage`,
    /// `AllocationQuota.FreeTierOnly`. Waiting does not help.
    Quota,
    /// A rate limit the message does not name.
    Unknown,
}

fn code_is(e: &ApiError, codes: &[&str]) -> bool {
    e.code
        .as_deref()
        .is_some_and(|c| codes.iter().any(|k| c.eq_ignore_ascii_case(k)))
}

/// The kind of limit, when `e` is about one.
pub fn limit(e: &ApiError) -> Option<Limit> {
    let m = e.message.to_ascii_lowercase();
    if code_is(
        e,
        &[
            "insufficient_quota",
            "Arrearage",
            "AllocationQuota.FreeTierOnly",
            "PrepaidBillOverdue",
        ],
    ) {
        return Some(Limit::Quota);
    }
    let throttled = e.status == Some(429)
        || e.code
            .as_deref()
            .is_some_and(|c| c.starts_with("Throttling") || c == "rate_limit_exceeded");
    if !throttled {
        return None;
    }
    Some(if m.contains("increased too quickly") {
        Limit::RampUp
    } else if m.contains("free quota") || m.contains("exhausted") {
        Limit::Quota
    } else if code_is(e, &["Throttling.AllocationQuota"])
        || m.contains("allocated quota")
        || m.contains("token")
    {
        Limit::Tokens
    } else if code_is(e, &["Throttling.RateQuota"]) || m.contains("requests rate") {
        Limit::Requests
    } else {
        Limit::Unknown
    })
}

/// Whether a rate-limit error is worth retrying: a 429 that is about a rate, not about money.
pub fn retryable_429(e: &ApiError) -> bool {
    e.status == Some(429) && limit(e) != Some(Limit::Quota)
}

fn region_words(config: &Config) -> String {
    match config.region {
        Some(r) => {
            let info = crate::models::region(r);
            let flag = match r {
                Region::Intl => "intl",
                Region::Cn => "cn",
                Region::Us => "us",
                Region::Hk => "hk",
                Region::Eu => "eu",
                Region::Jp => "jp",
            };
            format!("region {flag} ({})", info.name)
        }
        None => format!("base URL {}", config.base_url),
    }
}

/// The hint for `e` in the setting of `config`, if there is one worth giving.
pub fn hint(e: &Error, config: &Config) -> Option<String> {
    let api = e.api.as_ref()?;
    if code_is(api, &["DataInspectionFailed", "data_inspection_failed"])
        || api.message.contains("inappropriate content")
    {
        return Some("content inspection blocked the input or the answer".into());
    }
    if code_is(api, &["InvalidApiKey", "invalid_api_key"]) || api.status == Some(401) {
        return Some(format!(
            "the key was sent to {}; keys work only in the region they were made in, so a key from another region fails the same way (try --region)",
            region_words(config)
        ));
    }
    if code_is(api, &["ModelNotFound", "model_not_found"]) {
        return Some(format!(
            "model {} is not offered at {} (models differ by region)",
            config.model,
            region_words(config)
        ));
    }
    if code_is(api, &["InvalidURL"]) && config.protocol == Protocol::Dashscope {
        let (endpoint, _) = crate::request::native_endpoint(config);
        let other = match endpoint {
            crate::cli::NativeEndpoint::Text => "multimodal",
            crate::cli::NativeEndpoint::Multimodal => "text",
        };
        return Some(format!(
            "{} may be served at the other native endpoint: try --native-endpoint {other}",
            config.model
        ));
    }
    if api.status == Some(404) {
        // Whatever the body says, the URL it was said about (its password left out).
        let url = crate::request::build(config).url;
        return Some(format!(
            "nothing at {} (check the base URL)",
            crate::redact::url_passwords(&url)
        ));
    }
    Some(match limit(api)? {
        Limit::Requests => "too many requests per minute (RPM) for this model".into(),
        Limit::Tokens => "too many tokens per minute (TPM) for this model".into(),
        Limit::RampUp => {
            "requests ramped up too quickly (burst protection); raise the rate gradually".into()
        }
        Limit::Quota => "the quota or balance is used up (not a rate limit: not retried)".into(),
        Limit::Unknown => return None,
    })
}

/// `e` with its hint appended to the message; the one-line form stays: `<what>: <hint>
/// (<code>, HTTP <status>, request_id <id>)`.
pub fn teach(mut e: Error, config: &Config) -> Error {
    if let Some(h) = hint(&e, config) {
        e.message = if e.message.trim().is_empty() {
            h
        } else {
            format!("{}: {h}", e.message.trim_end_matches(['.', ' ']))
        };
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: Option<u16>, code: Option<&str>, message: &str) -> ApiError {
        ApiError {
            status,
            code: code.map(String::from),
            message: message.into(),
            request_id: None,
        }
    }

    #[test]
    fn limits_are_told_apart() {
        let l = |s, c, m| limit(&api(s, c, m));
        assert_eq!(
            l(
                Some(429),
                Some("Throttling.RateQuota"),
                "Requests rate limit exceeded, please try again later."
            ),
            Some(Limit::Requests)
        );
        assert_eq!(
            l(
                Some(429),
                Some("Throttling.AllocationQuota"),
                "Allocated quota exceeded, please increase your quota limit."
            ),
            Some(Limit::Tokens)
        );
        assert_eq!(
            l(Some(429), Some("Throttling"), "Request rate increased too quickly. To ensure system stability, please adjust your client logic."),
            Some(Limit::RampUp)
        );
        assert_eq!(
            l(
                Some(429),
                Some("insufficient_quota"),
                "You exceeded your current quota"
            ),
            Some(Limit::Quota)
        );
        assert_eq!(
            l(
                Some(403),
                Some("AllocationQuota.FreeTierOnly"),
                "The free tier of the model has been exhausted."
            ),
            Some(Limit::Quota)
        );
        assert_eq!(
            l(Some(400), Some("Arrearage"), "Access denied"),
            Some(Limit::Quota)
        );
        assert_eq!(l(Some(429), None, "slow down"), Some(Limit::Unknown));
        assert_eq!(l(Some(400), Some("InvalidParameter"), "x"), None);
    }

    fn config(args: &[&str]) -> Config {
        crate::config::testing::config_of(args)
    }

    #[test]
    fn a_401_and_a_missing_model_name_the_region() {
        let e = Error::api(api(
            Some(401),
            Some("InvalidApiKey"),
            "Invalid API-key provided.",
        ));
        let c = config(&["--region", "cn", "hi"]);
        assert_eq!(
            teach(e.clone(), &c).to_string(),
            "Invalid API-key provided: the key was sent to region cn (China (Beijing)); keys work only in the region they were made in, so a key from another region fails the same way (try --region) (InvalidApiKey, HTTP 401)"
        );
        let e = Error::api(api(
            Some(404),
            Some("ModelNotFound"),
            "Model not found (qwen9-max)!",
        ));
        let c = config(&["--region", "us", "-m", "qwen9-max", "hi"]);
        assert_eq!(
            teach(e, &c).to_string(),
            "Model not found (qwen9-max)!: model qwen9-max is not offered at region us (US (Virginia)) (models differ by region) (ModelNotFound, HTTP 404)"
        );
        // Nothing to add: the error stays as it was.
        let e = Error::api(api(Some(400), Some("InvalidParameter"), "bad top_p"));
        assert_eq!(teach(e.clone(), &c), e);
    }

    #[test]
    fn quota_is_not_retried_but_rates_are() {
        assert!(retryable_429(&api(
            Some(429),
            Some("Throttling.RateQuota"),
            "Requests rate limit exceeded"
        )));
        assert!(retryable_429(&api(Some(429), None, "")));
        assert!(!retryable_429(&api(
            Some(429),
            Some("insufficient_quota"),
            "quota"
        )));
        assert!(!retryable_429(&api(Some(429), Some("Arrearage"), "")));
        assert!(!retryable_429(&api(
            Some(429),
            Some("AllocationQuota.FreeTierOnly"),
            ""
        )));
    }
}
