//! What the service's documentation says about model names and regions, in one place: which
//! native endpoint serves a model, and which host serves a region.
//!
//! Sources (2026): Model Studio "Deep thinking" (the DashScope API for Qwen3.5 "uses a
//! multimodal interface"; `Generation` "returns a url error"), "Qwen API via DashScope",
//! "Base URL overview" and "Select region, service deployment scope, and access domain".

use crate::cli::{NativeEndpoint, Region};

/// A test on a lower-cased model name.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// The name starts with this.
    Prefix(&'static str),
    /// One of the name's `-`-separated words is this (`qwen3-vl-plus` has `vl`).
    Word(&'static str),
    /// `qwen<major>.<minor>…` at or after this version (`qwen3.5-plus`, `qwen4-max`).
    QwenFrom(u32, u32),
}

/// The native endpoint by model name: the first rule that matches wins; no match means the
/// text-generation endpoint (qwen-plus, qwen-max, qwen-flash, qwen3-max, qwq-plus, …).
const ENDPOINT_RULES: &[(Rule, NativeEndpoint, &str)] = &[
    (Rule::Prefix("qvq"), NativeEndpoint::Multimodal, "QVQ"),
    (Rule::Word("vl"), NativeEndpoint::Multimodal, "Qwen-VL"),
    (Rule::Word("omni"), NativeEndpoint::Multimodal, "Qwen-Omni"),
    (
        Rule::Word("audio"),
        NativeEndpoint::Multimodal,
        "Qwen-Audio",
    ),
    (
        Rule::QwenFrom(3, 5),
        NativeEndpoint::Multimodal,
        "Qwen3.5 and later",
    ),
];

/// `(major, minor)` of a `qwen<major>[.<minor>]` first word.
fn qwen_version(name: &str) -> Option<(u32, u32)> {
    let first = name.split('-').next()?;
    let v = first.strip_prefix("qwen")?;
    let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
    Some((major.parse().ok()?, minor.parse().ok()?))
}

impl Rule {
    fn matches(self, name: &str) -> bool {
        match self {
            Rule::Prefix(p) => name.starts_with(p),
            Rule::Word(w) => name.split('-').any(|part| part == w),
            Rule::QwenFrom(major, minor) => qwen_version(name).is_some_and(|v| v >= (major, minor)),
        }
    }
}

/// The endpoint the model's name picks, and why (the family the rule names), when a rule
/// matched.
pub fn native_endpoint(model: &str) -> (NativeEndpoint, Option<&'static str>) {
    let name = model.trim().to_ascii_lowercase();
    ENDPOINT_RULES
        .iter()
        .find(|(rule, _, _)| rule.matches(&name))
        .map_or((NativeEndpoint::Text, None), |(_, e, why)| (*e, Some(why)))
}

/// Where a region is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionInfo {
    /// The region's name in messages.
    pub name: &'static str,
    /// The region id in workspace hosts (`{WorkspaceId}.{id}.maas.aliyuncs.com`).
    pub id: &'static str,
    /// The shared DashScope host, when the region has one.
    pub shared_host: Option<&'static str>,
}

pub fn region(r: Region) -> RegionInfo {
    let (name, id, shared_host) = match r {
        Region::Intl => (
            "Singapore",
            "ap-southeast-1",
            Some("dashscope-intl.aliyuncs.com"),
        ),
        Region::Cn => (
            "China (Beijing)",
            "cn-beijing",
            Some("dashscope.aliyuncs.com"),
        ),
        Region::Us => (
            "US (Virginia)",
            "us-east-1",
            Some("dashscope-us.aliyuncs.com"),
        ),
        Region::Hk => (
            "China (Hong Kong)",
            "cn-hongkong",
            Some("cn-hongkong.dashscope.aliyuncs.com"),
        ),
        Region::Eu => ("Germany (Frankfurt)", "eu-central-1", None),
        Region::Jp => ("Japan (Tokyo)", "ap-northeast-1", None),
    };
    RegionInfo {
        name,
        id,
        shared_host,
    }
}

/// The host for a region: the workspace's own when one is given, else the shared one.
/// `Err` says why there is none.
pub fn host(r: Region, workspace: Option<&str>) -> Result<String, String> {
    let info = region(r);
    match (workspace, info.shared_host) {
        (Some(ws), _) => {
            if ws.is_empty() || !ws.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(format!(
                    "--workspace {ws:?}: a workspace ID has only letters, digits and '-'"
                ));
            }
            Ok(format!(
                "{}.{}.maas.aliyuncs.com",
                ws.to_ascii_lowercase(),
                info.id
            ))
        }
        (None, Some(h)) => Ok(h.to_owned()),
        (None, None) => Err(format!(
            "{} is served only through a workspace host: give --workspace ID (or --base-url)",
            info.name
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_table() {
        use NativeEndpoint::*;
        for (model, want) in [
            ("qwen-plus", Text),
            ("qwen-max", Text),
            ("qwen-flash", Text),
            ("qwen-turbo", Text),
            ("qwen3-max", Text),
            ("qwen3-235b-a22b", Text),
            ("qwen3-coder-plus", Text),
            ("qwq-plus", Text),
            ("qwen2.5-72b-instruct", Text),
            ("qwen-mt-plus", Text),
            ("qwen3.5-plus", Multimodal),
            ("qwen3.5-flash", Multimodal),
            ("qwen3.6-plus", Multimodal),
            ("qwen3.7-plus", Multimodal),
            ("Qwen3.5-Plus-2026-02-15", Multimodal),
            ("qwen4-max", Multimodal),
            ("qwen-vl-max", Multimodal),
            ("qwen-vl-ocr", Multimodal),
            ("qwen3-vl-plus", Multimodal),
            ("qwen2.5-vl-72b-instruct", Multimodal),
            ("qvq-max", Multimodal),
            ("qwen3-omni-flash", Multimodal),
            ("qwen-omni-turbo", Multimodal),
            ("qwen2-audio-instruct", Multimodal),
        ] {
            assert_eq!(native_endpoint(model).0, want, "{model}");
        }
        assert_eq!(
            native_endpoint("qwen3.7-plus"),
            (Multimodal, Some("Qwen3.5 and later"))
        );
        assert_eq!(native_endpoint("qwen-plus"), (Text, None));
    }

    #[test]
    fn hosts_by_region_and_workspace() {
        assert_eq!(
            host(Region::Us, None).as_deref(),
            Ok("dashscope-us.aliyuncs.com")
        );
        assert_eq!(
            host(Region::Hk, None).as_deref(),
            Ok("cn-hongkong.dashscope.aliyuncs.com")
        );
        assert_eq!(
            host(Region::Intl, Some("ws-1")).as_deref(),
            Ok("ws-1.ap-southeast-1.maas.aliyuncs.com")
        );
        assert_eq!(
            host(Region::Eu, Some("ws-1")).as_deref(),
            Ok("ws-1.eu-central-1.maas.aliyuncs.com")
        );
        assert!(host(Region::Jp, None).is_err_and(|e| e.contains("--workspace")));
        assert!(host(Region::Cn, Some("a.b/c")).is_err());
    }
}
