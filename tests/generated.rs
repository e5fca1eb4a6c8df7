//! The man page and completions in the repository are what the clap definitions generate now.

#[path = "../examples/gen_docs/render.rs"]
mod render;

#[test]
fn man_page_and_completions_are_fresh() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stale = Vec::new();
    for (path, want) in render::files(qstream::cli::command()) {
        match std::fs::read(root.join(&path)) {
            Ok(have) if have == want => {}
            _ => stale.push(path),
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: run `cargo run --example gen_docs` and commit them"
    );
}

#[test]
fn man_page_has_the_sections_users_look_for() {
    let man = String::from_utf8(render::man_page(qstream::cli::command())).expect("utf-8");
    for section in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH DESCRIPTION",
        ".SH INPUT",
        ".SH NETWORK",
        ".SH ENVIRONMENT",
        ".SH \"EXIT STATUS\"",
        ".SH EXAMPLES",
        ".SH FILES",
        ".SH SUBCOMMANDS",
    ] {
        assert!(man.contains(section), "missing {section}");
    }
    assert!(man.contains("DASHSCOPE_API_KEY"));
    assert!(man.contains("130"));
    assert!(man.contains("config.toml") && man.contains("QSTREAM_PROFILE"));
}
