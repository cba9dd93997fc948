//! The embedded backend: one SQLite file in WAL mode. A batch is one transaction that upserts
//! its rows into the one-minute, hourly and daily tables (counters add), appends detail records and
//! DNS rows, and bumps the batch counter; `synchronous=FULL` makes a committed batch durable.

use crate::aggregate::{
    bucket, detail_hash, detail_key, Batch, DetailCounts, DnsCounts, End, FlowCounts, DAY_MS,
    MINUTE_MS,
};
use crate::query::{
    day_cut, Dialect, DnsRow, DomainRow, EdgeRow, Filter, GraphEdge, PolicyRow, Result, Retention,
    RetentionReport, Sql, SqlValue, Store, StoreError, StoreStats, Talker, ROLLUPS,
};
use crate::record::{EndpointKind, FlowRecord};
use rusqlite::{params, params_from_iter, Connection, ErrorCode, OptionalExtension};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// 2: daily rollups (`flows_1d`, `dns_1d`); a version 1 store gets them from its hourly
/// rows when it is opened. 3: detail rows add up connections per (minute, key): `minute`,
/// `key_hash` (unique together), counters and `flows` columns beside the key in `record`.
const SCHEMA_VERSION: i64 = 3;

fn flow_table(suffix: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS flows_{suffix} (
            bucket INTEGER NOT NULL,
            src_ns TEXT NOT NULL, src_name TEXT NOT NULL, src_kind TEXT NOT NULL,
            dst_ns TEXT NOT NULL, dst_name TEXT NOT NULL, dst_kind TEXT NOT NULL,
            dst_dns TEXT NOT NULL, port INTEGER NOT NULL, proto TEXT NOT NULL,
            verdict TEXT NOT NULL, reporter TEXT NOT NULL,
            flows INTEGER NOT NULL, packets_out INTEGER NOT NULL, bytes_out INTEGER NOT NULL,
            packets_in INTEGER NOT NULL, bytes_in INTEGER NOT NULL, tls_flows INTEGER NOT NULL,
            plaintext_flows INTEGER NOT NULL, drift_flows INTEGER NOT NULL,
            first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
            PRIMARY KEY (bucket, src_ns, src_name, src_kind, dst_ns, dst_name, dst_kind,
                         dst_dns, port, proto, verdict, reporter)
        ) WITHOUT ROWID;"
    )
}

fn dns_table(suffix: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS dns_{suffix} (
            bucket INTEGER NOT NULL,
            client_ns TEXT NOT NULL, client_name TEXT NOT NULL, client_kind TEXT NOT NULL,
            qname TEXT NOT NULL, domain TEXT NOT NULL, qtype TEXT NOT NULL, rcode TEXT NOT NULL,
            reporter TEXT NOT NULL, queries INTEGER NOT NULL, answers TEXT NOT NULL,
            first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
            PRIMARY KEY (bucket, client_ns, client_name, client_kind, qname, qtype, rcode,
                         reporter)
        ) WITHOUT ROWID;"
    )
}

const DETAIL_TABLE: &str = "CREATE TABLE IF NOT EXISTS flow_detail (
    id INTEGER PRIMARY KEY,
    start INTEGER NOT NULL, end_ INTEGER NOT NULL,
    src_ns TEXT NOT NULL, src_name TEXT NOT NULL, src_kind TEXT NOT NULL, src_ip TEXT NOT NULL,
    dst_ns TEXT NOT NULL, dst_name TEXT NOT NULL, dst_kind TEXT NOT NULL, dst_ip TEXT NOT NULL,
    port INTEGER NOT NULL, proto TEXT NOT NULL, verdict TEXT NOT NULL, policy TEXT NOT NULL,
    security TEXT NOT NULL, reporter TEXT NOT NULL, record TEXT NOT NULL,
    minute INTEGER NOT NULL DEFAULT 0, key_hash INTEGER NOT NULL DEFAULT 0,
    packets_out INTEGER NOT NULL DEFAULT 0, bytes_out INTEGER NOT NULL DEFAULT 0,
    packets_in INTEGER NOT NULL DEFAULT 0, bytes_in INTEGER NOT NULL DEFAULT 0,
    tcp_flags INTEGER NOT NULL DEFAULT 0, flows INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS flow_detail_start ON flow_detail(start);
CREATE TABLE IF NOT EXISTS workloads (
    ns TEXT NOT NULL, name TEXT NOT NULL, labels TEXT NOT NULL, PRIMARY KEY (ns, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;";

/// Options for opening a SQLite store.
#[derive(Clone, Debug, Default)]
pub struct SqliteOptions {
    pub retention: Retention,
    /// SQLite's `max_page_count` (pages of 4 KiB): a hard size cap; writes beyond it fail as
    /// a full disk would. 0: none.
    pub max_pages: u64,
}

pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    retention: Retention,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl SqliteStore {
    pub fn open(path: &Path, opts: &SqliteOptions) -> Result<SqliteStore> {
        let err = |e: rusqlite::Error| StoreError::Backend {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let conn = Connection::open(path).map_err(err)?;
        // auto_vacuum must be chosen before the first table exists.
        conn.execute_batch(
            "PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
        )
        .map_err(err)?;
        if opts.max_pages > 0 {
            conn.pragma_update(None, "max_page_count", opts.max_pages as i64)
                .map_err(err)?;
        }
        let mut schema = String::new();
        for (suffix, _) in ROLLUPS {
            schema.push_str(&flow_table(suffix));
            schema.push_str(&dns_table(suffix));
        }
        schema.push_str(DETAIL_TABLE);
        conn.execute_batch(&schema).map_err(err)?;
        let version: Option<i64> = conn
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(err)?;
        match version {
            None => {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema', ?1), ('batches', 0), ('records', 0)",
                    params![SCHEMA_VERSION],
                )
                .map_err(err)?;
            }
            Some(SCHEMA_VERSION) => {}
            Some(v @ (1 | 2)) => {
                if v == 1 {
                    // The daily rollups did not exist: add the hourly rows up by day.
                    let day = |t: &str| format!("({t} - ({t} % {DAY_MS}))");
                    conn.execute_batch(&format!(
                        "BEGIN;
                     INSERT INTO flows_1d SELECT {}, src_ns, src_name, src_kind, dst_ns, dst_name,
                       dst_kind, dst_dns, port, proto, verdict, reporter, sum(flows),
                       sum(packets_out), sum(bytes_out), sum(packets_in), sum(bytes_in),
                       sum(tls_flows), sum(plaintext_flows), sum(drift_flows), min(first_seen),
                       max(last_seen)
                     FROM flows_1h GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;
                     INSERT INTO dns_1d SELECT {}, client_ns, client_name, client_kind, qname,
                       domain, qtype, rcode, reporter, sum(queries), max(answers),
                       min(first_seen), max(last_seen)
                     FROM dns_1h GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
                     COMMIT;",
                        day("bucket"),
                        day("bucket")
                    ))
                    .map_err(err)?;
                }
                // Version 2 detail rows were one record each, its counters in the JSON; each
                // keeps a key of its own (-id).
                let mut sql = String::from("BEGIN;");
                for col in [
                    "minute",
                    "key_hash",
                    "packets_out",
                    "bytes_out",
                    "packets_in",
                    "bytes_in",
                    "tcp_flags",
                ] {
                    sql.push_str(&format!(
                        "ALTER TABLE flow_detail ADD COLUMN {col} INTEGER NOT NULL DEFAULT 0;"
                    ));
                }
                sql.push_str(&format!(
                    "ALTER TABLE flow_detail ADD COLUMN flows INTEGER NOT NULL DEFAULT 1;
                     UPDATE flow_detail SET minute = start - (start % 60000), key_hash = -id,
                       packets_out = coalesce(json_extract(record, '$.packets_out'), 0),
                       bytes_out = coalesce(json_extract(record, '$.bytes_out'), 0),
                       packets_in = coalesce(json_extract(record, '$.packets_in'), 0),
                       bytes_in = coalesce(json_extract(record, '$.bytes_in'), 0),
                       tcp_flags = coalesce(json_extract(record, '$.tcp_flags'), 0);
                     UPDATE meta SET value = {SCHEMA_VERSION} WHERE key = 'schema';
                     COMMIT;"
                ));
                conn.execute_batch(&sql).map_err(err)?;
            }
            Some(v) => {
                return Err(StoreError::Backend {
                    path: path.to_path_buf(),
                    message: format!(
                    "store schema version {v} is not {SCHEMA_VERSION}, the one this palisade reads"
                ),
                })
            }
        }
        conn.execute_batch(
            "CREATE UNIQUE INDEX IF NOT EXISTS flow_detail_key ON flow_detail(minute, key_hash);",
        )
        .map_err(err)?;
        Ok(SqliteStore {
            conn,
            path: path.to_path_buf(),
            retention: opts.retention.clone(),
        })
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::Backend {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn write_err(&self, e: rusqlite::Error, records: u64) -> StoreError {
        if e.sqlite_error_code() == Some(ErrorCode::DiskFull) {
            StoreError::DiskFull {
                path: self.path.clone(),
                records,
            }
        } else {
            self.err(e)
        }
    }

    fn write_tx(&mut self, b: &Batch) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        for (suffix, width) in ROLLUPS {
            let mut st = tx.prepare_cached(&format!(
                "INSERT INTO flows_{suffix} VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22)
                 ON CONFLICT DO UPDATE SET flows = flows + excluded.flows,
                   packets_out = packets_out + excluded.packets_out,
                   bytes_out = bytes_out + excluded.bytes_out,
                   packets_in = packets_in + excluded.packets_in,
                   bytes_in = bytes_in + excluded.bytes_in,
                   tls_flows = tls_flows + excluded.tls_flows,
                   plaintext_flows = plaintext_flows + excluded.plaintext_flows,
                   drift_flows = drift_flows + excluded.drift_flows,
                   first_seen = min(first_seen, excluded.first_seen),
                   last_seen = max(last_seen, excluded.last_seen)"
            ))?;
            for (k, c) in &b.flows {
                st.execute(params![
                    bucket(k.bucket, width),
                    k.src.namespace,
                    k.src.name,
                    k.src.kind.as_str(),
                    k.dst.namespace,
                    k.dst.name,
                    k.dst.kind.as_str(),
                    k.dst_name,
                    k.port,
                    k.protocol,
                    k.verdict,
                    k.reporter,
                    c.flows as i64,
                    c.packets_out as i64,
                    c.bytes_out as i64,
                    c.packets_in as i64,
                    c.bytes_in as i64,
                    c.tls_flows as i64,
                    c.plaintext_flows as i64,
                    c.drift_flows as i64,
                    c.first_seen,
                    c.last_seen,
                ])?;
            }
            let mut st = tx.prepare_cached(&format!(
                "INSERT INTO dns_{suffix} VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)
                 ON CONFLICT DO UPDATE SET queries = queries + excluded.queries,
                   answers = CASE WHEN excluded.last_seen >= last_seen AND excluded.answers <> ''
                                  THEN excluded.answers ELSE answers END,
                   first_seen = min(first_seen, excluded.first_seen),
                   last_seen = max(last_seen, excluded.last_seen)"
            ))?;
            for (k, c) in &b.dns {
                st.execute(params![
                    bucket(k.bucket, width),
                    k.client.namespace,
                    k.client.name,
                    k.client.kind.as_str(),
                    k.qname,
                    k.domain,
                    k.qtype,
                    k.rcode,
                    k.reporter,
                    c.queries as i64,
                    c.answers,
                    c.first_seen,
                    c.last_seen,
                ])?;
            }
        }
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO flow_detail (start, end_, src_ns, src_name, src_kind, src_ip, dst_ns,
                   dst_name, dst_kind, dst_ip, port, proto, verdict, policy, security, reporter, record,
                   minute, key_hash, packets_out, bytes_out, packets_in, bytes_in, tcp_flags, flows)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,
                   ?22,?23,?24,?25)
                 ON CONFLICT (minute, key_hash) DO UPDATE SET start = min(start, excluded.start),
                   end_ = max(end_, excluded.end_), packets_out = packets_out + excluded.packets_out,
                   bytes_out = bytes_out + excluded.bytes_out,
                   packets_in = packets_in + excluded.packets_in,
                   bytes_in = bytes_in + excluded.bytes_in,
                   tcp_flags = tcp_flags | excluded.tcp_flags, flows = flows + excluded.flows",
            )?;
            for r in &b.details {
                let (s, d) = (End::of(&r.src), End::of(&r.dst));
                let policy = r
                    .policy
                    .clone()
                    .or_else(|| r.computed_policy.clone())
                    .unwrap_or_default();
                let key = detail_key(r);
                let c = DetailCounts::of(r);
                st.execute(params![
                    r.start,
                    r.end,
                    s.namespace,
                    s.name,
                    s.kind.as_str(),
                    r.src.ip,
                    d.namespace,
                    d.name,
                    d.kind.as_str(),
                    r.dst.ip,
                    r.dst.port,
                    r.protocol,
                    r.effective_verdict().as_str(),
                    policy,
                    r.security.as_str(),
                    r.reporter,
                    key,
                    bucket(r.start, MINUTE_MS),
                    detail_hash(&key) as i64,
                    c.packets_out as i64,
                    c.bytes_out as i64,
                    c.packets_in as i64,
                    c.bytes_in as i64,
                    c.tcp_flags,
                    c.connections as i64,
                ])?;
            }
        }
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO workloads VALUES (?1, ?2, ?3)
                 ON CONFLICT DO UPDATE SET labels = excluded.labels",
            )?;
            for w in &b.workloads {
                st.execute(params![w.namespace, w.name, w.labels])?;
            }
        }
        tx.execute(
            "UPDATE meta SET value = value + 1 WHERE key = 'batches'",
            [],
        )?;
        tx.execute(
            "UPDATE meta SET value = value + ?1 WHERE key = 'records'",
            params![b.records as i64],
        )?;
        tx.commit()
    }

    fn rows<T>(
        &self,
        q: (String, Vec<SqlValue>),
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let (sql, p) = q;
        let mut st = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let params = params_from_iter(p.iter().map(|v| match v {
            SqlValue::Int(i) => rusqlite::types::Value::Integer(*i),
            SqlValue::Text(s) => rusqlite::types::Value::Text(s.clone()),
        }));
        let it = st.query_map(params, map).map_err(|e| self.err(e))?;
        it.collect::<rusqlite::Result<Vec<T>>>()
            .map_err(|e| self.err(e))
    }

    fn sql(&self, f: &Filter) -> Sql<'static> {
        Sql {
            dialect: &DIALECT,
            res: self.retention.resolution(f, now_ms()),
        }
    }

    fn count(&self, sql: &str) -> Result<u64> {
        self.conn
            .query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// Deletes minute rows before `minute_t` and every other row before `t`.
    fn delete_before(&self, rep: &mut RetentionReport, minute_t: i64, t: i64) -> Result<()> {
        let del = |sql: &str, t: i64| -> Result<u64> {
            self.conn
                .execute(sql, params![t])
                .map(|n| n as u64)
                .map_err(|e| self.err(e))
        };
        rep.minute_rows_deleted += del("DELETE FROM flows_1m WHERE bucket < ?1", minute_t)?;
        rep.dns_rows_deleted += del("DELETE FROM dns_1m WHERE bucket < ?1", minute_t)?;
        rep.hour_rows_deleted += del("DELETE FROM flows_1h WHERE bucket < ?1", t)?;
        rep.day_rows_deleted += del("DELETE FROM flows_1d WHERE bucket < ?1", t)?;
        rep.dns_rows_deleted += del("DELETE FROM dns_1h WHERE bucket < ?1", t)?;
        rep.dns_rows_deleted += del("DELETE FROM dns_1d WHERE bucket < ?1", t)?;
        rep.detail_rows_deleted += del("DELETE FROM flow_detail WHERE start < ?1", t)?;
        Ok(())
    }

    fn size(&self) -> Result<u64> {
        let used = self.count(
            "SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count FROM pragma_freelist_count())",
        )?;
        let page = self.count("SELECT page_size FROM pragma_page_size()")?;
        Ok(used * page)
    }
}

/// SQLite's expression for "the workload (ns, name) has label ? = ?".
fn label_exists(ns: &str, name: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM workloads w, json_each(w.labels) j WHERE w.ns = {ns} AND w.name = {name} AND j.key = ? AND j.value = ?)"
    )
}

fn end_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<End> {
    let kind: String = r.get(i + 2)?;
    Ok(End {
        namespace: r.get(i)?,
        name: r.get(i + 1)?,
        kind: EndpointKind::parse(&kind).unwrap_or_default(),
    })
}

fn u(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(r.get::<_, i64>(i)? as u64)
}

/// A row of [`Sql::flows`].
fn edge_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EdgeRow> {
    Ok(EdgeRow {
        src: end_at(r, 0)?,
        dst: end_at(r, 3)?,
        dst_name: r.get(6)?,
        port: r.get(7)?,
        protocol: r.get(8)?,
        verdict: r.get(9)?,
        reporter: r.get(10)?,
        counts: FlowCounts {
            flows: u(r, 11)?,
            packets_out: u(r, 12)?,
            bytes_out: u(r, 13)?,
            packets_in: u(r, 14)?,
            bytes_in: u(r, 15)?,
            tls_flows: u(r, 16)?,
            plaintext_flows: u(r, 17)?,
            drift_flows: u(r, 18)?,
            first_seen: r.get(19)?,
            last_seen: r.get(20)?,
        },
    })
}

const DIALECT: Dialect = Dialect {
    label_exists,
    detail_order: "id",
    // Detail rows are upserted: one row per key, nothing to OR.
    bit_or: "max",
    first_seen: "min",
    last_seen: "max",
};

impl Store for SqliteStore {
    fn write(&mut self, batch: &Batch) -> Result<()> {
        self.write_tx(batch)
            .map_err(|e| self.write_err(e, batch.records))
    }

    fn flows(&self, f: &Filter) -> Result<Vec<EdgeRow>> {
        self.rows(self.sql(f).flows(f)?, edge_row)
    }

    fn top_talkers(&self, f: &Filter) -> Result<Vec<Talker>> {
        self.rows(self.sql(f).top_talkers(f)?, |r| {
            Ok(Talker {
                end: end_at(r, 0)?,
                bytes_out: u(r, 3)?,
                bytes_in: u(r, 4)?,
                flows: u(r, 5)?,
            })
        })
    }

    fn graph(&self, f: &Filter) -> Result<Vec<GraphEdge>> {
        self.rows(self.sql(f).graph(f)?, |r| {
            Ok(GraphEdge {
                src: end_at(r, 0)?,
                dst: end_at(r, 3)?,
                bytes: u(r, 6)?,
                flows: u(r, 7)?,
                denied: u(r, 8)?,
            })
        })
    }

    fn dns_by_workload(&self, f: &Filter) -> Result<Vec<DnsRow>> {
        self.rows(self.sql(f).dns_by_workload(f)?, |r| {
            Ok(DnsRow {
                client: end_at(r, 0)?,
                qname: r.get(3)?,
                domain: r.get(4)?,
                qtype: r.get(5)?,
                rcode: r.get(6)?,
                counts: DnsCounts {
                    queries: u(r, 7)?,
                    answers: r.get(8)?,
                    first_seen: r.get(9)?,
                    last_seen: r.get(10)?,
                },
            })
        })
    }

    fn dns_by_domain(&self, f: &Filter) -> Result<Vec<DomainRow>> {
        self.rows(self.sql(f).dns_by_domain(f)?, |r| {
            Ok(DomainRow {
                domain: r.get(0)?,
                queries: u(r, 1)?,
                clients: u(r, 2)?,
                names: u(r, 3)?,
            })
        })
    }

    fn new_edges(&self, f: &Filter, first_after: i64) -> Result<Vec<EdgeRow>> {
        self.rows(self.sql(f).new_edges(f, first_after)?, edge_row)
    }

    fn denied_by_policy(&self, f: &Filter) -> Result<Vec<PolicyRow>> {
        self.rows(self.sql(f).denied_by_policy(f)?, |r| {
            Ok(PolicyRow {
                policy: r.get(0)?,
                flows: u(r, 1)?,
                edges: u(r, 2)?,
                first_seen: r.get(3)?,
                last_seen: r.get(4)?,
            })
        })
    }

    fn details(&self, f: &Filter) -> Result<Vec<FlowRecord>> {
        let rows: Vec<(String, DetailCounts)> = self.rows(self.sql(f).details(f)?, |r| {
            Ok((
                r.get(0)?,
                DetailCounts {
                    start: r.get(1)?,
                    end: r.get(2)?,
                    packets_out: u(r, 3)?,
                    bytes_out: u(r, 4)?,
                    packets_in: u(r, 5)?,
                    bytes_in: u(r, 6)?,
                    tcp_flags: r.get(7)?,
                    connections: u(r, 8)?,
                },
            ))
        })?;
        rows.iter()
            .map(|(key, c)| {
                c.record(key).map_err(|e| StoreError::Backend {
                    path: self.path.clone(),
                    message: format!("a stored detail record is not readable: {e}"),
                })
            })
            .collect()
    }

    fn retain(&mut self, r: &Retention, now: i64) -> Result<RetentionReport> {
        let mut rep = RetentionReport::default();
        let cut = day_cut(now, r.max_age_ms);
        self.delete_before(&mut rep, day_cut(now, r.minute_age_ms).max(cut), cut)?;
        if r.max_bytes > 0 {
            // Drop the oldest day of everything until the store fits (or is empty).
            while self.size()? > r.max_bytes {
                let oldest: Option<i64> = self
                    .conn
                    .query_row(
                        "SELECT min(t) FROM (SELECT min(bucket) t FROM flows_1d
                           UNION ALL SELECT min(bucket) FROM dns_1d
                           UNION ALL SELECT min(start) FROM flow_detail
                           UNION ALL SELECT min(bucket) FROM flows_1m
                           UNION ALL SELECT min(bucket) FROM dns_1m)",
                        [],
                        |row| row.get(0),
                    )
                    .map_err(|e| self.err(e))?;
                let Some(oldest) = oldest else { break };
                let t = bucket(oldest, DAY_MS) + DAY_MS;
                self.delete_before(&mut rep, t, t)?;
            }
        }
        self.conn
            .execute_batch("PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(|e| self.err(e))?;
        rep.bytes_after = self.size()?;
        Ok(rep)
    }

    fn stats(&self) -> Result<StoreStats> {
        Ok(StoreStats {
            minute_rows: self.count("SELECT count(*) FROM flows_1m")?,
            hour_rows: self.count("SELECT count(*) FROM flows_1h")?,
            day_rows: self.count("SELECT count(*) FROM flows_1d")?,
            detail_rows: self.count("SELECT count(*) FROM flow_detail")?,
            dns_rows: self.count("SELECT count(*) FROM dns_1m")?,
            batches: self.count("SELECT value FROM meta WHERE key = 'batches'")?,
            records: self.count("SELECT value FROM meta WHERE key = 'records'")?,
            bytes: self.size()?,
        })
    }

    fn retention(&self) -> &Retention {
        &self.retention
    }
}
