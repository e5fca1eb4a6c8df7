use std::time::Duration;

use serde_json::json;

use super::queries::{Filter, Target};
use super::*;

fn temp_db(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "qstream-store-{tag}-{}-{}",
        std::process::id(),
        new_id()
    ));
    dir.join("sub").join("log.db")
}

fn row(prompt: &str, cid: Option<&str>) -> NewExchange {
    let id = new_id();
    NewExchange {
        cid: cid.map(str::to_owned).unwrap_or_else(|| id.clone()),
        id,
        started_at: now_ms(),
        model: "qwen-plus".to_owned(),
        protocol: "compatible".to_owned(),
        base_url: "http://127.0.0.1:1/compatible-mode/v1".to_owned(),
        prompt: Some(prompt.to_owned()),
        messages: json!([{"role": "user", "content": prompt}]).to_string(),
        params: json!({}),
        ..Default::default()
    }
}

fn answer(content: &str) -> Outcome {
    Outcome {
        status: "ok",
        content: content.to_owned(),
        ..Default::default()
    }
}

#[test]
fn ids_sort_by_time_and_are_distinct() {
    let a = new_id();
    std::thread::sleep(Duration::from_millis(2));
    let b = new_id();
    let c = new_id();
    assert_eq!(a.len(), 26);
    assert!(a < b, "{a} {b}");
    assert_ne!(b, c);
}

#[cfg(unix)]
#[test]
fn the_directory_is_0700_and_the_file_0600() {
    use std::os::unix::fs::PermissionsExt;
    let path = temp_db("modes");
    Store::open(&path, BUSY_TIMEOUT).expect("open");
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().expect("parent")), 0o700);
}

#[test]
fn fts5_is_compiled_in_and_search_finds_prompts_and_answers() {
    let store = Store::open(&temp_db("fts"), BUSY_TIMEOUT).expect("open");
    let a = row("tell me about otters", None);
    let b = row("and badgers?", None);
    store.insert(&a).expect("insert");
    store.insert(&b).expect("insert");
    store
        .complete(&a.id, &mut answer("Otters hold hands."))
        .expect("complete");
    store
        .complete(&b.id, &mut answer("Badgers dig."))
        .expect("complete");
    let find = |q: &str| -> Vec<String> {
        store
            .list(&Filter {
                limit: 10,
                query: Some(q.to_owned()),
                ..Default::default()
            })
            .expect("list")
            .into_iter()
            .map(|x| x.id)
            .collect()
    };
    assert_eq!(find("otters"), vec![a.id.clone()]);
    assert_eq!(find("dig"), vec![b.id.clone()]);
    assert_eq!(find("hands otters"), vec![a.id.clone()]);
    assert!(find("hands dig").is_empty());
    // FTS5 syntax in the user's words is taken literally.
    assert!(find("\"AND OR NEAR(").is_empty());
}

#[test]
fn a_version_1_database_is_migrated_with_its_rows_searchable() {
    let path = temp_db("v1");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    {
        let conn = Connection::open(&path).expect("open v1");
        conn.execute_batch(schema::V1).expect("v1 schema");
        conn.execute(
            "INSERT INTO exchanges (id, cid, started_at, model, protocol, base_url, prompt,
                messages, params, content, status)
             VALUES ('01OLD', '01OLD', 1, 'qwen-max', 'compatible', 'u', 'old prompt',
                '[]', '{}', 'an old walrus answer', 'ok')",
            [],
        )
        .expect("v1 row");
        conn.execute_batch("PRAGMA user_version = 1")
            .expect("version");
    }
    let store = Store::open(&path, BUSY_TIMEOUT).expect("migrate");
    let version: i64 = store
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, schema::CURRENT);
    let found = store
        .list(&Filter {
            limit: 10,
            query: Some("walrus".to_owned()),
            ..Default::default()
        })
        .expect("search");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].cached_tokens, None);
    assert!(!found[0].clipped);
    // New rows use the new columns.
    let mut x = row("new", None);
    x.media = Some(json!([{"kind": "image", "url": "https://example.com/a.png"}]));
    store.insert(&x).expect("insert after migration");
    assert_eq!(
        store.exchange(&x.id).expect("read").expect("row").media,
        x.media
    );
}

#[test]
fn prefixes_name_one_conversation_or_exchange_or_say_which_they_could_be() {
    let store = Store::open(&temp_db("prefix"), BUSY_TIMEOUT).expect("open");
    let mut first = row("one", None);
    first.id = "01AAAAAAAAAAAAAAAAAAAAAAAA".to_owned();
    first.cid = first.id.clone();
    let mut second = row("two", Some(&first.cid));
    second.id = "01AAAAAAAAABBBBBBBBBBBBBBB".to_owned();
    let mut other = row("three", None);
    other.id = "01BBBBBBBBBBBBBBBBBBBBBBBB".to_owned();
    other.cid = other.id.clone();
    for x in [&first, &second, &other] {
        store.insert(x).expect("insert");
        store.complete(&x.id, &mut answer("a")).expect("complete");
    }
    assert_eq!(
        store.resolve("01a").expect("one conversation"),
        Target::Conversation(first.cid.clone())
    );
    assert_eq!(
        store.resolve("01AAAAAAAAAB").expect("an exchange"),
        Target::Exchange(second.id.clone())
    );
    let e = store.resolve("01").expect_err("ambiguous");
    assert!(e.0.contains(&first.cid) && e.0.contains(&other.cid), "{e}");
    assert!(store.resolve("01C").is_err());
    assert!(store.resolve("%").is_err());
    assert_eq!(
        store.history(&first.cid).expect("history"),
        vec![
            json!({"role": "user", "content": "one"}),
            json!({"role": "assistant", "content": "a"}),
            json!({"role": "user", "content": "two"}),
            json!({"role": "assistant", "content": "a"}),
        ]
    );
    assert_eq!(
        store
            .remove(&Target::Conversation(first.cid.clone()))
            .expect("rm"),
        2
    );
    assert_eq!(store.latest_cid().expect("latest"), Some(other.cid.clone()));
}

#[test]
fn a_version_3_database_gains_the_batches_table_and_keeps_its_rows() {
    let path = temp_db("v3");
    {
        // Version 3 as `map` wrote it: this schema without the batches table.
        let store = Store::open(&path, BUSY_TIMEOUT).expect("create");
        store.insert(&row("an old prompt", None)).expect("row");
        store
            .conn()
            .execute_batch("DROP TABLE batches; PRAGMA user_version = 3")
            .expect("back to 3");
    }
    let store = Store::open(&path, BUSY_TIMEOUT).expect("migrate");
    let version: i64 = store
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, schema::CURRENT);
    let rows: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM exchanges", [], |r| r.get(0))
        .expect("count");
    assert_eq!(rows, 1, "the old row is kept");
    let record = batches::BatchRecord {
        id: "batch_1".into(),
        created_at: 5,
        input: "items.jsonl".into(),
        input_file_id: "file-batch-1".into(),
        base_url: "u".into(),
        model: "qwen-plus".into(),
        endpoint: "/v1/chat/completions".into(),
        window: "24h".into(),
        requests: 2,
        ids: vec!["b".into(), "a".into()],
        ..Default::default()
    };
    store.insert_batch(&record).expect("insert");
    store
        .set_batch_status("batch_1", "completed")
        .expect("status");
    let back = store.batch("batch_1").expect("read").expect("there");
    assert_eq!(back.ids, vec!["b".to_owned(), "a".to_owned()]);
    assert_eq!(back.status.as_deref(), Some("completed"));
    assert_eq!(
        store.batch_inputs(&["batch_1", "batch_x"]).expect("inputs"),
        vec![("batch_1".to_owned(), "items.jsonl".to_owned())]
    );
}

#[test]
fn the_batches_step_may_run_twice() {
    // A database whose version says 3 but that already has the table (a development build
    // that numbered its steps otherwise) still opens.
    let path = temp_db("v3twice");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    {
        let store = Store::open(&path, BUSY_TIMEOUT).expect("create");
        store
            .conn()
            .execute_batch("PRAGMA user_version = 3")
            .expect("back to 3");
    }
    let store = Store::open(&path, BUSY_TIMEOUT).expect("migrate again");
    let version: i64 = store
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, schema::CURRENT);
}

#[test]
fn the_end_of_a_run_leaves_the_checkpoint_to_the_next_runs_insert() {
    // The completion of a long answer takes the write-ahead log past SQLite's 1000 pages. That
    // commit is waited for by the user, so it does not copy the log into the database; the
    // next run's insert, on its own thread, does.
    let path = temp_db("checkpoint-later");
    let db_len = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let run = |content: &str| {
        let recorder = record::Recorder::start(
            path.clone(),
            row("a prompt", None),
            &crate::config::ProcessEnv,
            true,
            std::time::Instant::now(),
        );
        assert_eq!(recorder.finish(answer(content)), None);
    };
    let long = "word ".repeat(1 << 20);
    run(&long);
    assert!(
        db_len() < 1 << 20,
        "the completion checkpointed: {}",
        db_len()
    );
    run("short");
    assert!(db_len() > 5 << 20, "the next insert did not: {}", db_len());
    let store = Store::open(&path, BUSY_TIMEOUT).expect("open");
    let rows: Vec<String> = store
        .conn()
        .prepare("SELECT content FROM exchanges ORDER BY id")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    assert!(rows == [long, "short".to_owned()]);
}
