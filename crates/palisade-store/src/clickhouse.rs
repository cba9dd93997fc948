//! The scale-out backend: ClickHouse through the official `clickhouse` client (RowBinary over
//! HTTP). The SQL is kept to what ClickHouse 18.16 (Debian's `clickhouse-server`) accepts: no
//! TTL, no `LowCardinality`, no JSON functions beyond `visitParam*`, no correlated subqueries.
//!
//! Every table is partitioned by UTC day (`toYYYYMMDD`) and ordered by workload and time;
//! retention drops whole partitions (`ALTER TABLE … DROP PARTITION`). A batch is appended (one
//! `INSERT` per table, the batch counter last). The rollups are `SummingMergeTree`s whose
//! merges fold a key's rows (first and last seen as `min`/`max` states); the queries add up
//! what is not merged yet, so a key written by several batches reads as one row. Unlike SQLite, a batch is atomic per table,
//! not across tables: a crash between two inserts leaves the earlier tables written and the
//! batch uncounted.
//!
//! The client is async; the store owns a current-thread tokio runtime and blocks on it, so
//! call it from a plain thread (the ingest writer, `spawn_blocking`), not from async code.

use crate::aggregate::{
    bucket, detail_hash, detail_key, Batch, DetailCounts, DnsCounts, End, FlowCounts, DAY_MS,
    MINUTE_MS,
};
pub use crate::location::ClickhouseUrl;
use crate::query::{
    day_cut, Dialect, DnsRow, DomainRow, EdgeRow, Filter, GraphEdge, PolicyRow, Result, Retention,
    RetentionReport, Sql, SqlValue, Store, StoreError, StoreStats, Talker, ROLLUPS,
};
use crate::record::{EndpointKind, FlowRecord};
use ::clickhouse::{Client, Row};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

/// Options for opening a ClickHouse store.
#[derive(Clone, Debug, Default)]
pub struct ClickhouseOptions {
    pub retention: Retention,
}

pub struct ClickhouseStore {
    rt: tokio::runtime::Runtime,
    client: Client,
    /// The URL as given, without the password, for messages.
    name: PathBuf,
    database: String,
    retention: Retention,
}

const PARTITION: &str = "PARTITION BY toYYYYMMDD(toDateTime(intDiv(bucket, 1000), 'UTC'))";

// Rollup tables fold the rows of one key as they merge: every numeric column outside the key
// is a counter and summed, first and last seen are `min`/`max` states (18.16 has no
// SimpleAggregateFunction). No column list: with one, 18.16 keeps the first row's states
// instead of merging them. The sort key is the whole aggregation key, workload and time first.
fn flow_table(suffix: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS flows_{suffix} (
            bucket Int64, src_ns String, src_name String, src_kind String,
            dst_ns String, dst_name String, dst_kind String, dst_dns String, port UInt16,
            proto String, verdict String, reporter String,
            flows UInt64, packets_out UInt64, bytes_out UInt64, packets_in UInt64,
            bytes_in UInt64, tls_flows UInt64, plaintext_flows UInt64, drift_flows UInt64,
            first_seen AggregateFunction(min, Int64), last_seen AggregateFunction(max, Int64)
        ) ENGINE = SummingMergeTree {PARTITION}
          ORDER BY (src_ns, src_name, dst_ns, dst_name, bucket, src_kind, dst_kind, dst_dns, port,
            proto, verdict, reporter)"
    )
}

fn dns_table(suffix: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS dns_{suffix} (
            bucket Int64, client_ns String, client_name String, client_kind String,
            qname String, domain String, qtype String, rcode String, reporter String,
            queries UInt64, answers String,
            first_seen AggregateFunction(min, Int64), last_seen AggregateFunction(max, Int64)
        ) ENGINE = SummingMergeTree {PARTITION}
          ORDER BY (client_ns, client_name, bucket, client_kind, qname, domain, qtype, rcode,
            reporter)"
    )
}

/// A `min`/`max` aggregate state of an Int64 as RowBinary carries it: a has-value byte, then
/// the value.
type State = (u8, i64);

fn state(v: i64) -> State {
    (1, v)
}

const DETAIL_TABLE: &str = "CREATE TABLE IF NOT EXISTS flow_detail (
    start Int64, end_ Int64, seq UInt64,
    src_ns String, src_name String, src_kind String, src_ip String,
    dst_ns String, dst_name String, dst_kind String, dst_ip String,
    port UInt16, proto String, verdict String, policy String, security String,
    reporter String, record String, minute Int64, key_hash UInt64, packets_out UInt64,
    bytes_out UInt64, packets_in UInt64, bytes_in UInt64, tcp_flags UInt8, flows UInt64
) ENGINE = MergeTree PARTITION BY toYYYYMMDD(toDateTime(intDiv(start, 1000), 'UTC'))
  ORDER BY (src_ns, src_name, start, seq)";

const WORKLOAD_TABLE: &str = "CREATE TABLE IF NOT EXISTS workloads (
    ns String, name String, labels String
) ENGINE = ReplacingMergeTree ORDER BY (ns, name)";

const BATCH_TABLE: &str = "CREATE TABLE IF NOT EXISTS batches (
    written Int64, records UInt64
) ENGINE = MergeTree ORDER BY written";

/// The day-partitioned tables, for retention.
const PARTITIONED: [&str; 7] = [
    "flows_1m",
    "flows_1h",
    "flows_1d",
    "dns_1m",
    "dns_1h",
    "dns_1d",
    "flow_detail",
];

const FLOW_KEY: &str =
    "bucket, src_ns, src_name, src_kind, dst_ns, dst_name, dst_kind, dst_dns, port, proto, verdict, reporter";
const DNS_KEY: &str =
    "bucket, client_ns, client_name, client_kind, qname, domain, qtype, rcode, reporter";

#[derive(Row, Serialize, Deserialize)]
struct FlowRow {
    bucket: i64,
    src_ns: String,
    src_name: String,
    src_kind: String,
    dst_ns: String,
    dst_name: String,
    dst_kind: String,
    dst_dns: String,
    port: u16,
    proto: String,
    verdict: String,
    reporter: String,
    flows: u64,
    packets_out: u64,
    bytes_out: u64,
    packets_in: u64,
    bytes_in: u64,
    tls_flows: u64,
    plaintext_flows: u64,
    drift_flows: u64,
    first_seen: State,
    last_seen: State,
}

#[derive(Row, Serialize, Deserialize)]
struct DnsTableRow {
    bucket: i64,
    client_ns: String,
    client_name: String,
    client_kind: String,
    qname: String,
    domain: String,
    qtype: String,
    rcode: String,
    reporter: String,
    queries: u64,
    answers: String,
    first_seen: State,
    last_seen: State,
}

#[derive(Row, Serialize, Deserialize)]
struct DetailRow {
    start: i64,
    end_: i64,
    seq: u64,
    src_ns: String,
    src_name: String,
    src_kind: String,
    src_ip: String,
    dst_ns: String,
    dst_name: String,
    dst_kind: String,
    dst_ip: String,
    port: u16,
    proto: String,
    verdict: String,
    policy: String,
    security: String,
    reporter: String,
    record: String,
    minute: i64,
    key_hash: u64,
    packets_out: u64,
    bytes_out: u64,
    packets_in: u64,
    bytes_in: u64,
    tcp_flags: u8,
    flows: u64,
}

#[derive(Row, Serialize, Deserialize)]
struct WorkloadRow {
    ns: String,
    name: String,
    labels: String,
}

#[derive(Row, Serialize, Deserialize)]
struct BatchRow {
    written: i64,
    records: u64,
}

// Result rows, in the column order of `query::Sql`.

#[derive(Row, Deserialize)]
struct EdgeOut {
    src_ns: String,
    src_name: String,
    src_kind: String,
    dst_ns: String,
    dst_name: String,
    dst_kind: String,
    dst_dns: String,
    port: u16,
    proto: String,
    verdict: String,
    reporter: String,
    flows: u64,
    packets_out: u64,
    bytes_out: u64,
    packets_in: u64,
    bytes_in: u64,
    tls_flows: u64,
    plaintext_flows: u64,
    drift_flows: u64,
    first_seen: i64,
    last_seen: i64,
}

#[derive(Row, Deserialize)]
struct TalkerOut {
    ns: String,
    name: String,
    kind: String,
    bytes_out: u64,
    bytes_in: u64,
    flows: u64,
}

#[derive(Row, Deserialize)]
struct GraphOut {
    src_ns: String,
    src_name: String,
    src_kind: String,
    dst_ns: String,
    dst_name: String,
    dst_kind: String,
    bytes: u64,
    flows: u64,
    denied: u64,
}

#[derive(Row, Deserialize)]
struct DnsOut {
    ns: String,
    name: String,
    kind: String,
    qname: String,
    domain: String,
    qtype: String,
    rcode: String,
    queries: u64,
    answers: String,
    first_seen: i64,
    last_seen: i64,
}

#[derive(Row, Deserialize)]
struct DomainOut {
    domain: String,
    queries: u64,
    clients: u64,
    names: u64,
}

#[derive(Row, Deserialize)]
struct PolicyOut {
    policy: String,
    flows: u64,
    edges: u64,
    first_seen: i64,
    last_seen: i64,
}

#[derive(Row, Deserialize)]
struct DetailOut {
    key: String,
    start: i64,
    end: i64,
    packets_out: u64,
    bytes_out: u64,
    packets_in: u64,
    bytes_in: u64,
    tcp_flags: u8,
    flows: u64,
}

#[derive(Row, Deserialize)]
struct Text {
    text: String,
}

#[derive(Row, Deserialize)]
struct Count {
    n: u64,
}

fn end(ns: String, name: String, kind: &str) -> End {
    End {
        namespace: ns,
        name,
        kind: EndpointKind::parse(kind).unwrap_or_default(),
    }
}

/// ClickHouse's expression for "the workload (ns, name) has label ? = ?": the labels are a
/// flat JSON object, which `visitParamExtractString` reads.
fn label_exists(ns: &str, name: &str) -> String {
    format!(
        "({ns}, {name}) IN (SELECT ns, name FROM workloads FINAL WHERE visitParamExtractString(labels, ?) = ?)"
    )
}

const DIALECT: Dialect = Dialect {
    label_exists,
    detail_order: "seq",
    bit_or: "groupBitOr",
    first_seen: "minMerge",
    last_seen: "maxMerge",
};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `YYYYMMDD` of the UTC day that starts at `day_ms`, as ClickHouse's `toYYYYMMDD` names it.
fn yyyymmdd(day_ms: i64) -> i64 {
    // Days since 1970-01-01 to a civil date (proleptic Gregorian).
    let z = day_ms.div_euclid(DAY_MS) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    y * 10_000 + m * 100 + d
}

impl ClickhouseStore {
    /// Connects, creates the database and tables when missing.
    pub fn open(url: &str, opts: &ClickhouseOptions) -> Result<ClickhouseStore> {
        let u = ClickhouseUrl::parse(url).map_err(StoreError::Query)?;
        let name = PathBuf::from(match &u.user {
            Some(user) => format!("clickhouse://{user}@{}", url.rsplit_once('@').unwrap().1),
            None => url.to_string(),
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend {
                path: name.clone(),
                message: format!("starting the client runtime: {e}"),
            })?;
        // RowBinaryWithNamesAndTypes (the client's schema validation) is newer than 18.16.
        let mut client = Client::default().with_url(&u.http).with_validation(false);
        if let Some(user) = &u.user {
            client = client.with_user(user);
        }
        if let Some(pw) = &u.password {
            client = client.with_password(pw);
        }
        let store = ClickhouseStore {
            rt,
            client: client.clone(),
            name,
            database: u.database.clone(),
            retention: opts.retention.clone(),
        };
        store.exec(&format!("CREATE DATABASE IF NOT EXISTS {}", u.database))?;
        let store = ClickhouseStore {
            client: client.with_database(&u.database),
            ..store
        };
        for (suffix, _) in ROLLUPS {
            store.exec(&flow_table(suffix))?;
            store.exec(&dns_table(suffix))?;
        }
        for t in [DETAIL_TABLE, WORKLOAD_TABLE, BATCH_TABLE] {
            store.exec(t)?;
        }
        Ok(store)
    }

    fn err(&self, e: ::clickhouse::error::Error) -> StoreError {
        StoreError::Backend {
            path: self.name.clone(),
            message: e.to_string(),
        }
    }

    fn exec(&self, sql: &str) -> Result<()> {
        self.rt
            .block_on(self.client.query(sql).execute())
            .map_err(|e| self.err(e))
    }

    fn fetch<T>(&self, q: (String, Vec<SqlValue>)) -> Result<Vec<T>>
    where
        T: ::clickhouse::RowOwned + ::clickhouse::RowRead,
    {
        let (sql, params) = q;
        let mut query = self.client.query(&sql);
        for p in params {
            query = match p {
                SqlValue::Int(i) => query.bind(i),
                SqlValue::Text(s) => query.bind(s),
            };
        }
        self.rt
            .block_on(query.fetch_all::<T>())
            .map_err(|e| self.err(e))
    }

    fn count(&self, sql: &str, params: Vec<SqlValue>) -> Result<u64> {
        Ok(self
            .fetch::<Count>((sql.to_string(), params))?
            .first()
            .map_or(0, |c| c.n))
    }

    fn insert<T>(&self, table: &str, rows: impl IntoIterator<Item = T>) -> Result<u64>
    where
        T: ::clickhouse::RowOwned + ::clickhouse::RowWrite,
    {
        let mut rows = rows.into_iter().peekable();
        if rows.peek().is_none() {
            return Ok(0);
        }
        self.rt
            .block_on(async {
                let mut ins = self.client.insert::<T>(table).await?;
                let mut n = 0;
                for r in rows {
                    ins.write(&r).await?;
                    n += 1;
                }
                ins.end().await?;
                Ok(n)
            })
            .map_err(|e| self.err(e))
    }

    fn sql(&self, f: &Filter) -> Sql<'static> {
        Sql {
            dialect: &DIALECT,
            res: self.retention.resolution(f, now_ms()),
        }
    }

    /// Rows as the queries see them: one per key, however many batches wrote it.
    fn logical_rows(&self, table: &str, key: &str, before: Option<i64>) -> Result<u64> {
        let (w, p) = match before {
            Some(t) => ("WHERE bucket < ?", vec![SqlValue::Int(t)]),
            None => ("", Vec::new()),
        };
        self.count(
            &format!("SELECT count() AS n FROM (SELECT 1 FROM {table} {w} GROUP BY {key})"),
            p,
        )
    }

    /// Partitions (UTC days as `YYYYMMDD`) of `table` that hold data.
    fn partitions(&self, table: &str) -> Result<Vec<i64>> {
        let rows: Vec<Text> = self.fetch((
            "SELECT DISTINCT partition AS text FROM system.parts
             WHERE database = ? AND table = ? AND active ORDER BY text"
                .to_string(),
            vec![
                SqlValue::Text(self.database.clone()),
                SqlValue::Text(table.to_string()),
            ],
        ))?;
        Ok(rows.iter().filter_map(|r| r.text.parse().ok()).collect())
    }

    /// Drops the partitions of `tables` for days before `t` (a day boundary).
    fn drop_before(&self, tables: &[&str], t: i64) -> Result<()> {
        if t <= 0 {
            return Ok(()); // no age limit
        }
        let last = yyyymmdd(t);
        for table in tables {
            for p in self.partitions(table)? {
                if p < last {
                    self.exec(&format!("ALTER TABLE {table} DROP PARTITION {p}"))?;
                }
            }
        }
        Ok(())
    }

    /// Deletes minute rows of days before `minute_t` and everything of days before `t`.
    fn delete_before(&self, rep: &mut RetentionReport, minute_t: i64, t: i64) -> Result<()> {
        rep.minute_rows_deleted += self.logical_rows("flows_1m", FLOW_KEY, Some(minute_t))?;
        rep.dns_rows_deleted += self.logical_rows("dns_1m", DNS_KEY, Some(minute_t))?;
        rep.hour_rows_deleted += self.logical_rows("flows_1h", FLOW_KEY, Some(t))?;
        rep.day_rows_deleted += self.logical_rows("flows_1d", FLOW_KEY, Some(t))?;
        rep.dns_rows_deleted += self.logical_rows("dns_1h", DNS_KEY, Some(t))?;
        rep.dns_rows_deleted += self.logical_rows("dns_1d", DNS_KEY, Some(t))?;
        rep.detail_rows_deleted += self.count(
            "SELECT count() AS n FROM (SELECT 1 FROM flow_detail WHERE start < ? GROUP BY minute, key_hash)",
            vec![SqlValue::Int(t)],
        )?;
        self.drop_before(&["flows_1m", "dns_1m"], minute_t)?;
        self.drop_before(&PARTITIONED[..], t)
    }

    /// Bytes on disk of the store's active parts.
    fn size(&self) -> Result<u64> {
        self.count(
            "SELECT sum(bytes_on_disk) AS n FROM system.parts WHERE database = ? AND active",
            vec![SqlValue::Text(self.database.clone())],
        )
    }
}

impl Store for ClickhouseStore {
    fn write(&mut self, b: &Batch) -> Result<()> {
        for (suffix, width) in ROLLUPS {
            self.insert(
                &format!("flows_{suffix}"),
                b.flows.iter().map(|(k, c)| FlowRow {
                    bucket: bucket(k.bucket, width),
                    src_ns: k.src.namespace.clone(),
                    src_name: k.src.name.clone(),
                    src_kind: k.src.kind.as_str().into(),
                    dst_ns: k.dst.namespace.clone(),
                    dst_name: k.dst.name.clone(),
                    dst_kind: k.dst.kind.as_str().into(),
                    dst_dns: k.dst_name.clone(),
                    port: k.port,
                    proto: k.protocol.clone(),
                    verdict: k.verdict.clone(),
                    reporter: k.reporter.clone(),
                    flows: c.flows,
                    packets_out: c.packets_out,
                    bytes_out: c.bytes_out,
                    packets_in: c.packets_in,
                    bytes_in: c.bytes_in,
                    tls_flows: c.tls_flows,
                    plaintext_flows: c.plaintext_flows,
                    drift_flows: c.drift_flows,
                    first_seen: state(c.first_seen),
                    last_seen: state(c.last_seen),
                }),
            )?;
            self.insert(
                &format!("dns_{suffix}"),
                b.dns.iter().map(|(k, c)| DnsTableRow {
                    bucket: bucket(k.bucket, width),
                    client_ns: k.client.namespace.clone(),
                    client_name: k.client.name.clone(),
                    client_kind: k.client.kind.as_str().into(),
                    qname: k.qname.clone(),
                    domain: k.domain.clone(),
                    qtype: k.qtype.clone(),
                    rcode: k.rcode.clone(),
                    reporter: k.reporter.clone(),
                    queries: c.queries,
                    answers: c.answers.clone(),
                    first_seen: state(c.first_seen),
                    last_seen: state(c.last_seen),
                }),
            )?;
        }
        let written = now_ms();
        let mut details = Vec::with_capacity(b.details.len());
        for (i, r) in b.details.iter().enumerate() {
            let (s, d) = (End::of(&r.src), End::of(&r.dst));
            let record = detail_key(r);
            let c = DetailCounts::of(r);
            details.push(DetailRow {
                start: r.start,
                end_: r.end,
                // Insertion order: the write's millisecond, then the position in the batch.
                seq: ((written as u64) << 20) | (i as u64 & 0xf_ffff),
                src_ns: s.namespace,
                src_name: s.name,
                src_kind: s.kind.as_str().into(),
                src_ip: r.src.ip.clone(),
                dst_ns: d.namespace,
                dst_name: d.name,
                dst_kind: d.kind.as_str().into(),
                dst_ip: r.dst.ip.clone(),
                port: r.dst.port,
                proto: r.protocol.clone(),
                verdict: r.effective_verdict().as_str().into(),
                policy: r
                    .policy
                    .clone()
                    .or_else(|| r.computed_policy.clone())
                    .unwrap_or_default(),
                security: r.security.as_str().into(),
                reporter: r.reporter.clone(),
                minute: bucket(r.start, MINUTE_MS),
                key_hash: detail_hash(&record),
                record,
                packets_out: c.packets_out,
                bytes_out: c.bytes_out,
                packets_in: c.packets_in,
                bytes_in: c.bytes_in,
                tcp_flags: c.tcp_flags,
                flows: c.connections,
            });
        }
        self.insert("flow_detail", details)?;
        self.insert(
            "workloads",
            b.workloads.iter().map(|w| WorkloadRow {
                ns: w.namespace.clone(),
                name: w.name.clone(),
                labels: w.labels.clone(),
            }),
        )?;
        // Last: a batch counts once every table has it.
        self.insert(
            "batches",
            [BatchRow {
                written,
                records: b.records,
            }],
        )?;
        Ok(())
    }

    fn flows(&self, f: &Filter) -> Result<Vec<EdgeRow>> {
        Ok(self
            .fetch::<EdgeOut>(self.sql(f).flows(f)?)?
            .into_iter()
            .map(edge_row)
            .collect())
    }

    fn top_talkers(&self, f: &Filter) -> Result<Vec<Talker>> {
        Ok(self
            .fetch::<TalkerOut>(self.sql(f).top_talkers(f)?)?
            .into_iter()
            .map(|r| Talker {
                end: end(r.ns, r.name, &r.kind),
                bytes_out: r.bytes_out,
                bytes_in: r.bytes_in,
                flows: r.flows,
            })
            .collect())
    }

    fn graph(&self, f: &Filter) -> Result<Vec<GraphEdge>> {
        Ok(self
            .fetch::<GraphOut>(self.sql(f).graph(f)?)?
            .into_iter()
            .map(|r| GraphEdge {
                src: end(r.src_ns, r.src_name, &r.src_kind),
                dst: end(r.dst_ns, r.dst_name, &r.dst_kind),
                bytes: r.bytes,
                flows: r.flows,
                denied: r.denied,
            })
            .collect())
    }

    fn dns_by_workload(&self, f: &Filter) -> Result<Vec<DnsRow>> {
        Ok(self
            .fetch::<DnsOut>(self.sql(f).dns_by_workload(f)?)?
            .into_iter()
            .map(|r| DnsRow {
                client: end(r.ns, r.name, &r.kind),
                qname: r.qname,
                domain: r.domain,
                qtype: r.qtype,
                rcode: r.rcode,
                counts: DnsCounts {
                    queries: r.queries,
                    answers: r.answers,
                    first_seen: r.first_seen,
                    last_seen: r.last_seen,
                },
            })
            .collect())
    }

    fn dns_by_domain(&self, f: &Filter) -> Result<Vec<DomainRow>> {
        Ok(self
            .fetch::<DomainOut>(self.sql(f).dns_by_domain(f)?)?
            .into_iter()
            .map(|r| DomainRow {
                domain: r.domain,
                queries: r.queries,
                clients: r.clients,
                names: r.names,
            })
            .collect())
    }

    fn new_edges(&self, f: &Filter, first_after: i64) -> Result<Vec<EdgeRow>> {
        Ok(self
            .fetch::<EdgeOut>(self.sql(f).new_edges(f, first_after)?)?
            .into_iter()
            .map(edge_row)
            .collect())
    }

    fn denied_by_policy(&self, f: &Filter) -> Result<Vec<PolicyRow>> {
        Ok(self
            .fetch::<PolicyOut>(self.sql(f).denied_by_policy(f)?)?
            .into_iter()
            .map(|r| PolicyRow {
                policy: r.policy,
                flows: r.flows,
                edges: r.edges,
                first_seen: r.first_seen,
                last_seen: r.last_seen,
            })
            .collect())
    }

    fn details(&self, f: &Filter) -> Result<Vec<FlowRecord>> {
        self.fetch::<DetailOut>(self.sql(f).details(f)?)?
            .iter()
            .map(|d| {
                let c = DetailCounts {
                    start: d.start,
                    end: d.end,
                    packets_out: d.packets_out,
                    bytes_out: d.bytes_out,
                    packets_in: d.packets_in,
                    bytes_in: d.bytes_in,
                    tcp_flags: d.tcp_flags,
                    connections: d.flows,
                };
                c.record(&d.key).map_err(|e| StoreError::Backend {
                    path: self.name.clone(),
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
            // Drop the oldest day of every table until the store fits (or is empty).
            while self.size()? > r.max_bytes {
                let mut oldest = None;
                for t in PARTITIONED {
                    if let Some(p) = self.partitions(t)?.first().copied() {
                        oldest = Some(oldest.map_or(p, |o: i64| o.min(p)));
                    }
                }
                let Some(oldest) = oldest else { break };
                // The day after the oldest partition's.
                let t = (0..)
                    .map(|d| d * DAY_MS)
                    .find(|&ms| yyyymmdd(ms) > oldest)
                    .unwrap_or(0);
                self.delete_before(&mut rep, t, t)?;
            }
        }
        rep.bytes_after = self.size()?;
        Ok(rep)
    }

    fn stats(&self) -> Result<StoreStats> {
        #[derive(Row, Deserialize)]
        struct Batches {
            batches: u64,
            records: u64,
        }
        let b: Vec<Batches> = self.fetch((
            "SELECT count() AS batches, sum(records) AS records FROM batches".into(),
            Vec::new(),
        ))?;
        let (batches, records) = b.first().map_or((0, 0), |b| (b.batches, b.records));
        Ok(StoreStats {
            minute_rows: self.logical_rows("flows_1m", FLOW_KEY, None)?,
            hour_rows: self.logical_rows("flows_1h", FLOW_KEY, None)?,
            day_rows: self.logical_rows("flows_1d", FLOW_KEY, None)?,
            detail_rows: self.count(
                "SELECT count() AS n FROM (SELECT 1 FROM flow_detail GROUP BY minute, key_hash)",
                Vec::new(),
            )?,
            dns_rows: self.logical_rows("dns_1m", DNS_KEY, None)?,
            batches,
            records,
            bytes: self.size()?,
        })
    }

    fn retention(&self) -> &Retention {
        &self.retention
    }
}

fn edge_row(r: EdgeOut) -> EdgeRow {
    EdgeRow {
        src: end(r.src_ns, r.src_name, &r.src_kind),
        dst: end(r.dst_ns, r.dst_name, &r.dst_kind),
        dst_name: r.dst_dns,
        port: r.port,
        protocol: r.proto,
        verdict: r.verdict,
        reporter: r.reporter,
        counts: FlowCounts {
            flows: r.flows,
            packets_out: r.packets_out,
            bytes_out: r.bytes_out,
            packets_in: r.packets_in,
            bytes_in: r.bytes_in,
            tls_flows: r.tls_flows,
            plaintext_flows: r.plaintext_flows,
            drift_flows: r.drift_flows,
            first_seen: r.first_seen,
            last_seen: r.last_seen,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_named_as_clickhouse_names_them() {
        assert_eq!(yyyymmdd(0), 19700101);
        assert_eq!(yyyymmdd(1_767_225_600_000), 20260101);
        assert_eq!(yyyymmdd(1_767_225_600_000 - DAY_MS), 20251231);
        assert_eq!(yyyymmdd(951_782_400_000), 20000229);
    }
}
