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
        messages: Messages::Json(json!([{"role": "user", "content": prompt}]).to_string()),
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

/// The store at `path`, opened (which migrates it) and checked to be at the current version.
fn migrated(path: &Path, what: &str) -> Store {
    let store = Store::open(path, BUSY_TIMEOUT).expect(what);
    let version: i64 = store
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, schema::CURRENT);
    store
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
    let store = migrated(&path, "migrate");
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
    let store = migrated(&path, "migrate");
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
    migrated(&path, "migrate again");
}

// ---------------------------------------------------------------------------
// Messages in parts (schema version 5)
// ---------------------------------------------------------------------------

/// The key every unit test registers (the secret is process-wide).
const KEY: &str = "sk-unit-test-xyzzy-0000";

/// Tiny sizes, so that every cut can be tried: parts of `part` bytes once the text is over 32,
/// the serializer's output redacted 3 bytes at a time (the key always straddles writes).
fn tiny(part: usize) -> parts::Sizes {
    parts::Sizes {
        over: 32,
        part,
        gather: 3,
    }
}

/// This turn's messages: multibyte characters everywhere (2, 3 and 4 bytes), JSON escapes, and
/// the key at `at` bytes into the prompt.
fn turn(at: usize) -> Vec<Value> {
    let mut prompt: String = "é€😀a\"\n".repeat(8);
    let mut at = at.min(prompt.len());
    while !prompt.is_char_boundary(at) {
        at -= 1;
    }
    prompt.insert_str(at, KEY);
    vec![
        json!({"role": "user", "content": prompt}),
        json!({"role": "tool", "tool_call_id": "c1", "content": [{"text": "ü".repeat(9)}]}),
    ]
}

/// A row of `messages` with the given sizes.
fn big_row(messages: Messages, cid: Option<&str>) -> NewExchange {
    let mut x = row("a big prompt", cid);
    x.messages = messages;
    x
}

/// The parts of `id`, in order, as bytes (a cut inside a character would show here).
/// The `messages` column of row `id`, as SQL sees it (the marker for a row in parts).
fn messages_column(store: &Store, id: &str) -> String {
    store
        .conn()
        .query_row("SELECT messages FROM exchanges WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .expect("messages")
}

fn parts_bytes(store: &Store, id: &str) -> Vec<Vec<u8>> {
    let mut stmt = store
        .conn()
        .prepare("SELECT CAST(text AS BLOB) FROM message_parts WHERE exchange_id = ?1 ORDER BY seq")
        .expect("prepare");
    let rows = stmt
        .query_map([id], |r| r.get::<_, Vec<u8>>(0))
        .expect("query")
        .collect::<rusqlite::Result<Vec<_>>>()
        .expect("parts");
    rows
}

fn view_text(store: &Store, id: &str) -> String {
    store
        .conn()
        .query_row(
            "SELECT messages FROM exchanges_messages WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .expect("the view")
}

#[test]
fn messages_in_parts_read_back_as_the_same_messages_inline_at_every_cut() {
    crate::redact::register(KEY);
    let store = Store::open(&temp_db("parts-cuts"), BUSY_TIMEOUT).expect("open");
    for at in 0..40 {
        let messages = turn(at);
        let inline_text = super::record::messages_json(&messages);
        assert!(inline_text.contains("[redacted]") && !inline_text.contains(KEY));
        let inline = big_row(Messages::Json(inline_text.clone()), None);
        store.insert(&inline).expect("inline");
        let want = store.exchange(&inline.id).expect("read").expect("there");
        // Straight from the messages (the key redacted as they stream), and from their text.
        for part in [4, 5, 7, 13, 64] {
            for from in [
                Messages::Values(messages.clone()),
                Messages::Json(inline_text.clone()),
            ] {
                let x = big_row(from, None);
                store.insert_sized(&x, tiny(part)).expect("insert");
                let raw = messages_column(&store, &x.id);
                let pieces = parts_bytes(&store, &x.id);
                assert!(pieces.len() > 1, "at {at}, part {part}: {raw}");
                assert_eq!(
                    raw,
                    format!(
                        r#"{{"parts":{},"bytes":{}}}"#,
                        pieces.len(),
                        inline_text.len()
                    )
                );
                let mut joined = Vec::new();
                for p in &pieces {
                    let text = std::str::from_utf8(p).expect("every part is whole UTF-8");
                    assert!(
                        p.len() <= part || text.chars().count() == 1,
                        "a part of {} bytes over {part}",
                        p.len()
                    );
                    joined.extend_from_slice(p);
                }
                assert_eq!(
                    String::from_utf8(joined).expect("utf-8"),
                    inline_text,
                    "at {at}, part {part}"
                );
                assert_eq!(view_text(&store, &x.id), inline_text);
                let got = store.exchange(&x.id).expect("read").expect("there");
                assert_eq!(got.messages, want.messages, "at {at}, part {part}");
            }
        }
        assert_eq!(
            view_text(&store, &inline.id),
            inline_text,
            "inline rows too"
        );
    }
}

#[test]
fn short_messages_from_values_are_the_bytes_of_the_inline_path() {
    crate::redact::register(KEY);
    let store = Store::open(&temp_db("parts-short"), BUSY_TIMEOUT).expect("open");
    for at in [0, 5, 17] {
        let messages = turn(at);
        let x = big_row(Messages::Values(messages.clone()), None);
        store.insert(&x).expect("insert");
        let raw = messages_column(&store, &x.id);
        assert_eq!(raw, super::record::messages_json(&messages));
        assert!(parts_bytes(&store, &x.id).is_empty());
    }
}

#[test]
fn a_key_that_is_not_plain_json_is_cleaned_string_by_string_as_the_inline_path_does() {
    crate::redact::register(KEY);
    let store = Store::open(&temp_db("parts-clean"), BUSY_TIMEOUT).expect("open");
    let tx = store.conn().unchecked_transaction().expect("tx");
    for at in [0, 9, 30] {
        let messages = turn(at);
        let want = super::record::clean_value(Value::Array(messages.clone())).to_string();
        let id = new_id();
        let written =
            parts::write_values_as(store.conn(), &id, &messages, tiny(6), false).expect("write");
        assert!(matches!(written, parts::Written::Parts(_)));
        let joined: Vec<u8> = parts_bytes(&store, &id).concat();
        assert_eq!(String::from_utf8(joined).expect("utf-8"), want);
        let short = parts::write_values_as(
            store.conn(),
            &new_id(),
            &messages,
            parts::Sizes::default(),
            false,
        )
        .expect("write");
        assert_eq!(short, parts::Written::Inline(want));
    }
    tx.rollback().expect("rollback");
}

#[test]
fn parts_out_of_order_missing_or_of_another_size_are_an_error_not_other_messages() {
    crate::redact::register(KEY);
    let store = Store::open(&temp_db("parts-broken"), BUSY_TIMEOUT).expect("open");
    let x = big_row(Messages::Values(turn(3)), None);
    store.insert_sized(&x, tiny(16)).expect("insert");
    assert!(store.exchange(&x.id).is_ok());
    store
        .conn()
        .execute(
            "DELETE FROM message_parts WHERE exchange_id = ?1 AND seq = 1",
            [&x.id],
        )
        .expect("delete a part");
    let e = store.exchange(&x.id).expect_err("a part is missing");
    assert!(e.0.contains("broken"), "{e}");
}

#[test]
fn a_big_turn_round_trips_through_history_show_and_export_with_no_key_in_the_file() {
    crate::redact::register(KEY);
    let path = temp_db("parts-big");
    let store = Store::open(&path, BUSY_TIMEOUT).expect("open");
    // Over the threshold at the real sizes, the key across each of the first part cuts (the
    // text is ASCII up to there, so the cuts fall at whole MiB of the JSON text) and
    // multibyte characters around the later ones.
    let head = r#"[{"content":""#.len();
    let mut prompt = String::new();
    for cut in 1..=5 {
        let end = cut * parts::PART_BYTES - head - prompt.len() - KEY.len() / 2;
        if cut <= 2 {
            prompt.push_str(&"x".repeat(end));
            prompt.push_str(KEY);
        } else {
            prompt.push_str(&"é€😀".repeat(end / 9 + 1));
        }
    }
    let messages = vec![json!({"content": prompt, "role": "user"})];
    let inline_text = super::record::messages_json(&messages);
    assert!(inline_text.len() > parts::PARTS_OVER);
    let inline = row("same", Some("inline-cid"));
    let mut inline = inline;
    inline.messages = Messages::Json(inline_text.clone());
    // The reference: the same messages inline, in a database that keeps anything inline.
    store
        .insert_sized(
            &inline,
            parts::Sizes {
                over: usize::MAX,
                ..Default::default()
            },
        )
        .expect("inline");
    store
        .complete(&inline.id, &mut answer("read it"))
        .expect("done");
    let big = big_row(Messages::Values(messages), Some("big-cid"));
    store.insert(&big).expect("insert");
    // Interrupted: the row is still whole.
    let mut stopped = answer("read");
    stopped.status = "interrupted";
    store.complete(&big.id, &mut stopped).expect("done");
    assert!(parts_bytes(&store, &big.id).len() >= 5);
    let inline_turns = store.conversation("inline-cid").expect("inline");
    let big_turns = store.conversation("big-cid").expect("big");
    assert_eq!(big_turns[0].status, "interrupted");
    assert_eq!(big_turns[0].messages, inline_turns[0].messages);
    assert_eq!(
        store.history("big-cid").expect("history"),
        vec![
            inline_turns[0].messages[0].clone(),
            json!({"role": "assistant", "content": "read"})
        ]
    );
    assert_eq!(
        queries::export(&big_turns)[0],
        queries::export(&inline_turns)[0]
    );
    assert_eq!(view_text(&store, &big.id), inline_text);
    let listed = store
        .list(&Filter {
            limit: 10,
            ..Default::default()
        })
        .expect("list");
    assert_eq!(listed[1].messages, inline_turns[0].messages);
    drop(store);
    for entry in std::fs::read_dir(path.parent().expect("dir")).expect("dir") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        assert!(
            memchr::memmem::find(&bytes, KEY.as_bytes()).is_none(),
            "the key is in the log"
        );
    }
}

#[test]
fn removing_a_row_removes_its_parts() {
    crate::redact::register(KEY);
    let store = Store::open(&temp_db("parts-rm"), BUSY_TIMEOUT).expect("open");
    let a = big_row(Messages::Values(turn(1)), Some("conv"));
    let b = big_row(Messages::Values(turn(2)), Some("conv"));
    let c = big_row(Messages::Values(turn(3)), None);
    for x in [&a, &b, &c] {
        store.insert_sized(x, tiny(8)).expect("insert");
    }
    let count = |store: &Store| -> i64 {
        store
            .conn()
            .query_row(
                "SELECT count(DISTINCT exchange_id) FROM message_parts",
                [],
                |r| r.get(0),
            )
            .expect("count")
    };
    assert_eq!(count(&store), 3);
    assert_eq!(
        store.remove(&Target::Exchange(c.id.clone())).expect("rm"),
        1
    );
    assert_eq!(count(&store), 2);
    assert_eq!(
        store
            .remove(&Target::Conversation("conv".to_owned()))
            .expect("rm"),
        2
    );
    assert_eq!(count(&store), 0);
}

#[test]
fn a_row_with_parts_inside_a_callers_transaction_goes_with_it() {
    crate::redact::register(KEY);
    let store = Store::open(&temp_db("parts-nested"), BUSY_TIMEOUT).expect("open");
    let rows = |store: &Store| -> (i64, i64) {
        store
            .conn()
            .query_row(
                "SELECT (SELECT count(*) FROM exchanges), (SELECT count(*) FROM message_parts)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("count")
    };
    let tx = store.conn().unchecked_transaction().expect("tx");
    store
        .insert_sized(&big_row(Messages::Values(turn(4)), None), tiny(8))
        .expect("insert");
    tx.rollback().expect("rollback");
    assert_eq!(rows(&store), (0, 0));
    let tx = store.conn().unchecked_transaction().expect("tx");
    store
        .insert_sized(&big_row(Messages::Values(turn(4)), None), tiny(8))
        .expect("insert");
    tx.commit().expect("commit");
    assert!(rows(&store).1 > 1);
    // A failure inside rolls back the row's own writes only: a second row of the same id.
    let x = big_row(Messages::Values(turn(5)), None);
    store.insert_sized(&x, tiny(8)).expect("insert");
    let before = rows(&store);
    let tx = store.conn().unchecked_transaction().expect("tx");
    assert!(store.insert_sized(&x, tiny(8)).is_err());
    tx.commit().expect("commit");
    assert_eq!(rows(&store), before);
}

#[test]
fn a_version_4_database_gains_the_parts_and_keeps_its_rows() {
    crate::redact::register(KEY);
    let path = temp_db("v4");
    let old = row("an old prompt", Some("old-cid"));
    {
        let store = Store::open(&path, BUSY_TIMEOUT).expect("create");
        store
            .conn()
            .execute_batch(
                "DROP VIEW exchanges_messages; DROP TRIGGER exchanges_parts_delete;
                 DROP TABLE message_parts; PRAGMA user_version = 4",
            )
            .expect("back to 4");
        store
            .insert_row(&old, r#"[{"role":"user","content":"an old prompt"}]"#)
            .expect("row");
    }
    let store = migrated(&path, "migrate");
    assert_eq!(
        store
            .exchange(&old.id)
            .expect("read")
            .expect("there")
            .messages,
        json!([{"role": "user", "content": "an old prompt"}])
    );
    assert_eq!(
        view_text(&store, &old.id),
        r#"[{"role":"user","content":"an old prompt"}]"#
    );
    let x = big_row(Messages::Values(turn(6)), None);
    store.insert_sized(&x, tiny(8)).expect("insert");
    assert!(parts_bytes(&store, &x.id).len() > 1);
    // And the step may run again.
    store
        .conn()
        .execute_batch("PRAGMA user_version = 4")
        .expect("back to 4");
    drop(store);
    Store::open(&path, BUSY_TIMEOUT).expect("migrate again");
}

#[test]
fn a_key_split_between_writes_is_redacted_before_any_cut() {
    crate::redact::register(KEY);
    let store = Store::open(&temp_db("parts-split"), BUSY_TIMEOUT).expect("open");
    let tx = store.conn().unchecked_transaction().expect("tx");
    // The key around where the parts are cut, a possible start of it at the very end.
    let text = format!("[\"{}{KEY}é{KEY}{KEY}€ sk-uni\"]", "ab".repeat(9));
    let want = crate::redact::redact_string(text.clone());
    for split in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
        for part in [4, 9, 16, 40] {
            let (a, b) = text.split_at(split);
            let id = new_id();
            let written =
                parts::write_pieces(store.conn(), &id, &[a.as_bytes(), b.as_bytes()], tiny(part))
                    .expect("write");
            assert!(matches!(written, parts::Written::Parts(_)));
            let pieces = parts_bytes(&store, &id);
            for p in &pieces {
                std::str::from_utf8(p).expect("whole characters");
            }
            assert_eq!(
                String::from_utf8(pieces.concat()).expect("utf-8"),
                want,
                "split at {split}, parts of {part}"
            );
        }
    }
    tx.rollback().expect("rollback");
}

#[test]
fn parts_written_in_any_order_are_read_in_seq_order_by_qstream_and_the_view() {
    let store = Store::open(&temp_db("parts-order"), BUSY_TIMEOUT).expect("open");
    let text = r#"[{"content":"één, twee, drie","role":"user"}]"#;
    let x = row("één", None);
    let cuts = [0, 15, 30, text.len()];
    store
        .insert_row(&x, &format!(r#"{{"parts":3,"bytes":{}}}"#, text.len()))
        .expect("row");
    for seq in [2usize, 0, 1] {
        store
            .conn()
            .execute(
                "INSERT INTO message_parts (exchange_id, seq, text) VALUES (?1, ?2, ?3)",
                rusqlite::params![x.id, seq as i64, &text[cuts[seq]..cuts[seq + 1]]],
            )
            .expect("part");
    }
    assert_eq!(view_text(&store, &x.id), text);
    assert_eq!(
        store
            .exchange(&x.id)
            .expect("read")
            .expect("there")
            .messages,
        serde_json::from_str::<Value>(text).expect("json")
    );
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
