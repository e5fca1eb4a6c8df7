//! Failures and their exit codes (DESIGN §4, a contract).

use std::fmt;

use crate::event::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The stream finished, or the reader closed stdout early.
    Success = 0,
    Internal = 1,
    Usage = 2,
    Auth = 3,
    Rejected = 4,
    RateLimit = 5,
    Server = 6,
    Network = 7,
    /// `map`/`batch` finished, but some items failed (the output says which).
    SomeFailed = 8,
    Interrupted = 130,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The class of a service error, by its code first (it is the more specific) and then by
    /// its HTTP status.
    pub fn of_api_error(e: &ApiError) -> Exit {
        if let Some(code) = e.code.as_deref() {
            if code.starts_with("Throttling")
                || code == "Arrearage"
                || code == "insufficient_quota"
                || code == "AllocationQuota.FreeTierOnly"
                || code == "PrepaidBillOverdue"
                || code == "rate_limit_exceeded"
            {
                return Exit::RateLimit;
            }
            if code.starts_with("InternalError") {
                return Exit::Server;
            }
            if code == "InvalidApiKey" || code == "invalid_api_key" {
                return Exit::Auth;
            }
        }
        match e.status {
            // A redirect means the base URL is wrong: a configuration problem.
            Some(300..=399 | 401 | 403) => Exit::Auth,
            Some(429) => Exit::RateLimit,
            Some(400..=499) => Exit::Rejected,
            Some(500..=599) => Exit::Server,
            // An error object without a status: the service refused, say so as a rejection
            // when it named a code, else as a server failure.
            _ if e.code.is_some() => Exit::Rejected,
            _ => Exit::Server,
        }
    }
}

/// Register the API key for redaction from everything written afterwards (errors included).
pub fn redact_secret(secret: &str) {
    crate::redact::register(secret);
}

/// An error message built from what a server sent, or naming the base URL: never the key,
/// never a URL's password.
fn redact(text: String) -> String {
    let text = crate::redact::redact_string(text);
    match crate::redact::url_passwords(&text) {
        std::borrow::Cow::Borrowed(_) => text,
        std::borrow::Cow::Owned(o) => o,
    }
}

/// Everything that can end a run early. `Display` is the one stderr line, without the
/// `qstream: ` prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub exit: Exit,
    pub message: String,
    pub api: Option<ApiError>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Error {
            exit,
            message: redact(message.into()),
            api: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Exit::Auth, message)
    }

    pub fn network(message: impl Into<String>) -> Self {
        Self::new(Exit::Network, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Exit::Internal, message)
    }

    pub fn interrupted() -> Self {
        Self::new(Exit::Interrupted, "interrupted")
    }

    /// The reader went away (`| head`): a success, and nothing to say.
    pub fn closed_output() -> Self {
        Self::new(Exit::Success, "")
    }

    pub fn api(mut e: ApiError) -> Self {
        e.message = redact(std::mem::take(&mut e.message));
        e.code = e.code.map(redact);
        e.request_id = e.request_id.map(redact);
        Error {
            exit: Exit::of_api_error(&e),
            message: e.message.clone(),
            api: Some(e),
        }
    }

    /// A write to stdout or stderr failed: a closed pipe ends the run quietly.
    pub fn output(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Self::closed_output()
        } else {
            Self::internal(format!("cannot write output: {e}"))
        }
    }

    pub fn is_quiet(&self) -> bool {
        self.exit == Exit::Success
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = if self.message.is_empty() {
            "the service reported an error"
        } else {
            &self.message
        };
        // Messages come from the network: keep them to one line.
        for (i, line) in message
            .split(['\n', '\r'])
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(line.trim())?;
        }
        if let Some(api) = &self.api {
            let mut parts = Vec::new();
            if let Some(code) = &api.code {
                parts.push(code.clone());
            }
            if let Some(status) = api.status {
                parts.push(format!("HTTP {status}"));
            }
            if let Some(id) = &api.request_id {
                parts.push(format!("request_id {id}"));
            }
            if !parts.is_empty() {
                write!(f, " ({})", parts.join(", "))?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<crate::sse::LineTooLong> for Error {
    fn from(e: crate::sse::LineTooLong) -> Self {
        Error::network(format!("malformed stream: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: Option<u16>, code: Option<&str>) -> ApiError {
        ApiError {
            status,
            code: code.map(String::from),
            message: "m".into(),
            request_id: None,
        }
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(Exit::of_api_error(&api(Some(401), None)), Exit::Auth);
        assert_eq!(Exit::of_api_error(&api(Some(403), None)), Exit::Auth);
        assert_eq!(
            Exit::of_api_error(&api(Some(403), Some("Arrearage"))),
            Exit::RateLimit
        );
        assert_eq!(
            Exit::of_api_error(&api(Some(400), Some("Throttling.RateQuota"))),
            Exit::RateLimit
        );
        assert_eq!(Exit::of_api_error(&api(Some(429), None)), Exit::RateLimit);
        assert_eq!(
            Exit::of_api_error(&api(Some(400), Some("InvalidParameter"))),
            Exit::Rejected
        );
        assert_eq!(Exit::of_api_error(&api(Some(503), None)), Exit::Server);
        assert_eq!(
            Exit::of_api_error(&api(Some(400), Some("InternalError.Algo"))),
            Exit::Server
        );
    }

    #[test]
    fn a_registered_secret_never_appears_in_an_error() {
        // Process-wide: a string no other test uses.
        redact_secret("sk-unit-test-xyzzy-0000");
        let mut e = api(Some(401), Some("InvalidApiKey"));
        e.message = "key sk-unit-test-xyzzy-0000 is wrong".into();
        let e = Error::api(e);
        assert_eq!(e.message, "key [redacted] is wrong");
        assert_eq!(
            e.api.map(|a| a.message).as_deref(),
            Some("key [redacted] is wrong")
        );
        let e = Error::network("malformed stream: \"sk-unit-test-xyzzy-0000\"");
        assert_eq!(e.message, "malformed stream: \"[redacted]\"");
    }

    #[test]
    fn display_is_one_line_with_details() {
        let mut e = api(Some(429), Some("Throttling"));
        e.message = "Requests rate limit exceeded\nplease slow down".into();
        e.request_id = Some("abc".into());
        assert_eq!(
            Error::api(e).to_string(),
            "Requests rate limit exceeded please slow down (Throttling, HTTP 429, request_id abc)"
        );
    }
}
