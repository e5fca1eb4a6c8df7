//! Web search: the request's `search_options` (Model Studio "Web search": `enable_search`,
//! `search_options.{search_strategy, forced_search, enable_source, enable_citation,
//! citation_format}`; sources come back only on the native protocol).

use serde_json::{Map, Value};

use crate::cli::{Cli, SearchStrategy};

/// `None` when no search was asked for, else the `search_options` (possibly empty).
pub fn options(cli: &Cli) -> Option<Map<String, Value>> {
    if !(cli.search || cli.search_strategy.is_some() || cli.force_search || cli.sources) {
        return None;
    }
    let mut o = Map::new();
    if let Some(s) = cli.search_strategy {
        let name = match s {
            SearchStrategy::Turbo => "turbo",
            SearchStrategy::Max => "max",
            SearchStrategy::Agent => "agent",
            SearchStrategy::AgentMax => "agent_max",
        };
        o.insert("search_strategy".into(), name.into());
    }
    if cli.force_search {
        o.insert("forced_search".into(), true.into());
    }
    if cli.sources {
        o.insert("enable_source".into(), true.into());
        o.insert("enable_citation".into(), true.into());
        o.insert("citation_format".into(), "[<number>]".into());
    }
    Some(o)
}
