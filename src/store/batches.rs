//! The Batch API jobs this machine submitted (`qstream batch submit`): enough to list them with
//! the input each came from, and to put their results back in input order. Written once when
//! the batch is created, and its status refreshed when a later command sees it.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{now_ms, Result, Store};

/// One submitted batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchRecord {
    /// The service's batch id.
    pub id: String,
    pub created_at: i64,
    /// The input file as given (`-` for stdin).
    pub input: String,
    /// The uploaded JSONL's file id.
    pub input_file_id: String,
    pub base_url: String,
    pub region: Option<String>,
    pub model: String,
    pub endpoint: String,
    pub window: String,
    pub requests: i64,
    /// Sent to the free test model.
    pub test: bool,
    /// The `custom_id`s in input order.
    #[serde(skip)]
    pub ids: Vec<String>,
    /// The last status a command saw.
    pub status: Option<String>,
}

impl Store {
    pub fn insert_batch(&self, b: &BatchRecord) -> Result<()> {
        let ids = serde_json::to_string(&b.ids).map_err(|e| super::StoreError(e.to_string()))?;
        self.conn
            .prepare_cached(
                "INSERT OR REPLACE INTO batches (id, created_at, input, input_file_id, base_url,
                    region, model, endpoint, window, requests, test, ids, status, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?2)",
            )?
            .execute(params![
                b.id,
                b.created_at,
                b.input,
                b.input_file_id,
                b.base_url,
                b.region,
                b.model,
                b.endpoint,
                b.window,
                b.requests,
                b.test,
                ids,
                b.status,
            ])?;
        Ok(())
    }

    /// The record of batch `id`, if this machine submitted it.
    pub fn batch(&self, id: &str) -> Result<Option<BatchRecord>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, created_at, input, input_file_id, base_url, region, model, endpoint,
                    window, requests, test, ids, status FROM batches WHERE id = ?1",
                [id],
                |r| {
                    let ids: String = r.get(11)?;
                    Ok(BatchRecord {
                        id: r.get(0)?,
                        created_at: r.get(1)?,
                        input: r.get(2)?,
                        input_file_id: r.get(3)?,
                        base_url: r.get(4)?,
                        region: r.get(5)?,
                        model: r.get(6)?,
                        endpoint: r.get(7)?,
                        window: r.get(8)?,
                        requests: r.get(9)?,
                        test: r.get(10)?,
                        // A damaged list is no list: the caller reads the order elsewhere.
                        ids: serde_json::from_str(&ids).unwrap_or_default(),
                        status: r.get(12)?,
                    })
                },
            )
            .optional()?)
    }

    /// The inputs of the batches with these ids that this machine submitted: (id, input).
    pub fn batch_inputs(&self, ids: &[&str]) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, input FROM batches WHERE id = ?1")?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(row) = stmt
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
            {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// Remember the status a command saw (no-op for a batch submitted elsewhere).
    pub fn set_batch_status(&self, id: &str, status: &str) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE batches SET status = ?2, updated_at = ?3 WHERE id = ?1")?
            .execute(params![id, status, now_ms()])?;
        Ok(())
    }
}
