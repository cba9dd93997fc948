//! The one query layer: filters, result rows, the [`Store`] trait every backend implements,
//! and the SQL builder the SQL backends share.

use crate::aggregate::{bucket, Batch, DnsCounts, End, FlowCounts, DAY_MS, HOUR_MS, MINUTE_MS};
use crate::record::{EndpointKind, FlowRecord, Security, Verdict};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: the disk is full (or the store reached its page limit); a batch of {records} record(s) was not written: free space or lower --retention-size")]
    DiskFull { path: PathBuf, records: u64 },
    #[error("{path}: {message}")]
    Backend { path: PathBuf, message: String },
    #[error("bad query: {0}")]
    Query(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Which ends a flow must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// At least one end outside the cluster.
    External,
    /// Both ends inside (pods, services, nodes).
    Internal,
}

/// Filters every query accepts. Ends match when either the source or the destination does.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Unix ms, inclusive.
    pub since: i64,
    /// Unix ms, exclusive.
    pub until: i64,
    pub namespace: Option<String>,
    /// `ns/name` or `name`.
    pub workload: Option<String>,
    /// Workload labels that must all match (`key`, `value`).
    pub labels: Vec<(String, String)>,
    pub port: Option<u16>,
    pub protocol: Option<String>,
    pub verdict: Option<Verdict>,
    pub scope: Option<Scope>,
    /// `Tls` or `Plaintext`: rows with at least one such flow.
    pub security: Option<Security>,
    /// At most this many rows (0: no limit).
    pub limit: usize,
    /// Read this table instead of the one the retention implies.
    pub resolution: Option<Resolution>,
}

/// Which aggregate table a query reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    Minute,
    Hour,
}

impl Resolution {
    pub fn width(self) -> i64 {
        match self {
            Resolution::Minute => MINUTE_MS,
            Resolution::Hour => HOUR_MS,
        }
    }
    pub fn suffix(self) -> &'static str {
        match self {
            Resolution::Minute => "1m",
            Resolution::Hour => "1h",
        }
    }
}

/// Retention: by age (minute rows, everything) and by size. Ages count in whole UTC days, as
/// ClickHouse drops them (one partition per day): a day goes when all of it is older than the
/// age. Size retention drops the oldest whole day of every table until the store fits.
#[derive(Clone, Debug)]
pub struct Retention {
    /// One-minute rows older than this are deleted (hourly rollups keep the history).
    pub minute_age_ms: i64,
    /// Everything older than this is deleted.
    pub max_age_ms: i64,
    /// When the store is larger, the oldest data is deleted until it fits. 0: no limit.
    pub max_bytes: u64,
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            minute_age_ms: 2 * 24 * HOUR_MS,
            max_age_ms: 30 * 24 * HOUR_MS,
            max_bytes: 0,
        }
    }
}

impl Retention {
    /// The resolution that covers `[since, until)` at `now`: minute rows when the range starts
    /// inside their retention and spans at most a day, else hours (read from the daily
    /// rollup for the whole days inside the range, see [`source`]).
    pub fn resolution(&self, f: &Filter, now: i64) -> Resolution {
        if let Some(r) = f.resolution {
            r
        } else if f.since >= now - self.minute_age_ms && f.until - f.since <= 24 * HOUR_MS {
            Resolution::Minute
        } else {
            Resolution::Hour
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct RetentionReport {
    pub minute_rows_deleted: u64,
    pub hour_rows_deleted: u64,
    pub day_rows_deleted: u64,
    pub detail_rows_deleted: u64,
    pub dns_rows_deleted: u64,
    pub bytes_after: u64,
}

/// An edge over the queried range.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct EdgeRow {
    pub src: End,
    pub dst: End,
    pub dst_name: String,
    pub port: u16,
    pub protocol: String,
    pub verdict: String,
    pub reporter: String,
    #[serde(flatten)]
    pub counts: FlowCounts,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Talker {
    pub end: End,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub flows: u64,
}

/// A service-graph edge: every port and verdict of a (source, destination) pair together.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct GraphEdge {
    pub src: End,
    pub dst: End,
    pub bytes: u64,
    pub flows: u64,
    pub denied: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DnsRow {
    pub client: End,
    pub qname: String,
    pub domain: String,
    pub qtype: String,
    pub rcode: String,
    #[serde(flatten)]
    pub counts: DnsCounts,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DomainRow {
    pub domain: String,
    pub queries: u64,
    pub clients: u64,
    pub names: u64,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PolicyRow {
    /// The deciding policy (observed, else computed); `(none)` when no source named one.
    pub policy: String,
    pub flows: u64,
    pub edges: u64,
    pub first_seen: i64,
    pub last_seen: i64,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct StoreStats {
    pub minute_rows: u64,
    pub hour_rows: u64,
    pub day_rows: u64,
    pub detail_rows: u64,
    pub dns_rows: u64,
    pub batches: u64,
    pub records: u64,
    pub bytes: u64,
}

/// A flow and DNS store. Every backend passes `testsuite::run`.
pub trait Store: Send {
    /// Writes one batch atomically: after `Ok`, the batch survives a crash.
    fn write(&mut self, batch: &Batch) -> Result<()>;
    /// Edges (source, destination, port, protocol, verdict, reporter) over the range.
    fn flows(&self, f: &Filter) -> Result<Vec<EdgeRow>>;
    /// Sources by bytes sent and received.
    fn top_talkers(&self, f: &Filter) -> Result<Vec<Talker>>;
    /// Service graph edges with byte, flow and deny counts.
    fn graph(&self, f: &Filter) -> Result<Vec<GraphEdge>>;
    fn dns_by_workload(&self, f: &Filter) -> Result<Vec<DnsRow>>;
    fn dns_by_domain(&self, f: &Filter) -> Result<Vec<DomainRow>>;
    /// Edges in the range whose first sighting in the whole retained history is at or
    /// after `first_after`.
    fn new_edges(&self, f: &Filter, first_after: i64) -> Result<Vec<EdgeRow>>;
    /// Denied flows (kept in detail) grouped by the deciding policy.
    fn denied_by_policy(&self, f: &Filter) -> Result<Vec<PolicyRow>>;
    /// Flow records kept in detail (denied, plaintext, external, drifting).
    fn details(&self, f: &Filter) -> Result<Vec<FlowRecord>>;
    fn retain(&mut self, r: &Retention, now: i64) -> Result<RetentionReport>;
    fn stats(&self) -> Result<StoreStats>;
    /// The retention the store applies (queries pick their table by it).
    fn retention(&self) -> &Retention;
}

/// A bound SQL parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum SqlValue {
    Int(i64),
    Text(String),
}

/// Column names of the two ends of a table: (`src_ns`, `src_name`, `src_kind`) and the
/// destination's; the DNS tables have only a client end.
pub struct EndColumns {
    pub ends: &'static [(&'static str, &'static str, &'static str)],
}

pub const FLOW_ENDS: EndColumns = EndColumns {
    ends: &[
        ("src_ns", "src_name", "src_kind"),
        ("dst_ns", "dst_name", "dst_kind"),
    ],
};
pub const DNS_ENDS: EndColumns = EndColumns {
    ends: &[("client_ns", "client_name", "client_kind")],
};

/// What a table has, for the filters that need it.
#[derive(Clone, Copy)]
pub struct TableShape {
    /// Time column and the width its values stand for (0: exact times).
    pub time: &'static str,
    pub width: i64,
    pub port: Option<&'static str>,
    pub protocol: Option<&'static str>,
    pub verdict: Option<&'static str>,
    /// (tls, plaintext) predicates.
    pub security: Option<(&'static str, &'static str)>,
}

/// Builds a `WHERE` clause (with `?` placeholders) for a filter. `label_match(ns, name,
/// key)` returns the SQL dialect's expression for "the workload's label `key`" compared with
/// a following `= ?`.
pub fn where_clause(
    f: &Filter,
    shape: TableShape,
    ends: &EndColumns,
    label_exists: &dyn Fn(&str, &str) -> String,
) -> Result<(String, Vec<SqlValue>)> {
    if f.until <= f.since {
        return Err(StoreError::Query(format!(
            "the time range is empty (since {} is not before until {})",
            f.since, f.until
        )));
    }
    let mut w = Vec::new();
    let mut p = Vec::new();
    // A row stands for [t, t + width): keep it when that overlaps [since, until).
    w.push(format!("{} > ? AND {} < ?", shape.time, shape.time));
    p.push(SqlValue::Int(f.since - shape.width.max(1)));
    p.push(SqlValue::Int(f.until));
    let any_end = |pred: &dyn Fn(&(&str, &str, &str)) -> String| -> String {
        let parts: Vec<String> = ends.ends.iter().map(pred).collect();
        format!("({})", parts.join(" OR "))
    };
    if let Some(ns) = &f.namespace {
        w.push(any_end(&|e| format!("{} = ?", e.0)));
        for _ in ends.ends {
            p.push(SqlValue::Text(ns.clone()));
        }
    }
    if let Some(wl) = &f.workload {
        match wl.split_once('/') {
            Some((ns, name)) => {
                w.push(any_end(&|e| format!("({} = ? AND {} = ?)", e.0, e.1)));
                for _ in ends.ends {
                    p.push(SqlValue::Text(ns.into()));
                    p.push(SqlValue::Text(name.into()));
                }
            }
            None => {
                w.push(any_end(&|e| format!("{} = ?", e.1)));
                for _ in ends.ends {
                    p.push(SqlValue::Text(wl.clone()));
                }
            }
        }
    }
    if !f.labels.is_empty() {
        let preds: Vec<String> = ends
            .ends
            .iter()
            .map(|e| {
                let all: Vec<String> = f.labels.iter().map(|_| label_exists(e.0, e.1)).collect();
                format!("({})", all.join(" AND "))
            })
            .collect();
        w.push(format!("({})", preds.join(" OR ")));
        for _ in ends.ends {
            for (k, v) in &f.labels {
                p.push(SqlValue::Text(k.clone()));
                p.push(SqlValue::Text(v.clone()));
            }
        }
    }
    if let Some(port) = f.port {
        let col = shape
            .port
            .ok_or_else(|| StoreError::Query("this query has no port".into()))?;
        w.push(format!("{col} = ?"));
        p.push(SqlValue::Int(port as i64));
    }
    if let Some(proto) = &f.protocol {
        let col = shape
            .protocol
            .ok_or_else(|| StoreError::Query("this query has no protocol".into()))?;
        w.push(format!("{col} = ?"));
        p.push(SqlValue::Text(proto.to_ascii_lowercase()));
    }
    if let Some(v) = f.verdict {
        let col = shape
            .verdict
            .ok_or_else(|| StoreError::Query("this query has no verdict".into()))?;
        w.push(format!("{col} = ?"));
        p.push(SqlValue::Text(v.as_str().into()));
    }
    if let Some(scope) = f.scope {
        let ext = EndpointKind::External.as_str();
        let parts: Vec<String> = ends
            .ends
            .iter()
            .map(|e| format!("{} = '{ext}'", e.2))
            .collect();
        w.push(match scope {
            Scope::External => format!("({})", parts.join(" OR ")),
            Scope::Internal => format!("NOT ({})", parts.join(" OR ")),
        });
    }
    if let Some(s) = f.security {
        let (tls, plain) = shape
            .security
            .ok_or_else(|| StoreError::Query("this query has no TLS information".into()))?;
        match s {
            Security::Tls => w.push(tls.to_string()),
            Security::Plaintext => w.push(plain.to_string()),
            Security::Unknown => {
                return Err(StoreError::Query(
                    "filter by tls or plaintext, not unknown".into(),
                ))
            }
        }
    }
    Ok((w.join(" AND "), p))
}

/// `LIMIT n` or nothing.
pub fn limit(f: &Filter) -> String {
    if f.limit > 0 {
        format!(" LIMIT {}", f.limit)
    } else {
        String::new()
    }
}

/// The first day boundary a retention age leaves: rows of days before it are deleted.
pub fn day_cut(now: i64, age_ms: i64) -> i64 {
    bucket(now.saturating_sub(age_ms), DAY_MS)
}

/// The rollup tables every SQL backend keeps, with the width of their buckets.
pub const ROLLUPS: [(&str, i64); 3] = [("1m", MINUTE_MS), ("1h", HOUR_MS), ("1d", DAY_MS)];

/// The table expression a flow (`prefix` `flows`) or DNS (`dns`) query reads at `res`. At
/// hour resolution the whole UTC days inside `[since, until)` come from the daily rollup and
/// only the hours before the first and after the last whole day from the hourly one: the same
/// rows an hourly scan would add up, a 24th of them for long ranges. The parameters come
/// before those of the `WHERE` clause.
pub fn source(prefix: &str, res: Resolution, f: &Filter) -> (String, Vec<SqlValue>) {
    let day0 = bucket(f.since, DAY_MS) + if f.since % DAY_MS == 0 { 0 } else { DAY_MS };
    let day1 = bucket(f.until, DAY_MS);
    if res == Resolution::Minute || day1 <= day0 {
        return (format!("{prefix}_{}", res.suffix()), Vec::new());
    }
    let sql = format!(
        "(SELECT * FROM {prefix}_1h WHERE bucket >= ? AND bucket < ?
          UNION ALL SELECT * FROM {prefix}_1d WHERE bucket >= ? AND bucket < ?
          UNION ALL SELECT * FROM {prefix}_1h WHERE bucket >= ? AND bucket < ?)"
    );
    let p = [bucket(f.since, HOUR_MS), day0, day0, day1, day1, f.until]
        .into_iter()
        .map(SqlValue::Int)
        .collect();
    (sql, p)
}

/// What differs between the SQL dialects the backends speak; everything else of a query is
/// [`Sql`]'s, shared.
pub struct Dialect {
    /// The expression for "the workload (ns column, name column) has label `?` = `?`".
    pub label_exists: fn(&str, &str) -> String,
    /// Detail rows in insertion order after `start`.
    pub detail_order: &'static str,
    /// The aggregate that ORs TCP flags of the rows a detail row was written as.
    pub bit_or: &'static str,
    /// The aggregates of the rollups' `first_seen` and `last_seen` columns (plain values, or
    /// ClickHouse's `min`/`max` states).
    pub first_seen: &'static str,
    pub last_seen: &'static str,
}

/// The queries of the [`Store`] trait as SQL text with `?` placeholders, shared by the SQL
/// backends. Each returns the statement and its parameters; column order is documented per
/// query and read by the backend.
pub struct Sql<'a> {
    pub dialect: &'a Dialect,
    /// The resolution queries read (from the store's retention and the clock).
    pub res: Resolution,
}

fn flow_shape(width: i64) -> TableShape {
    TableShape {
        time: "bucket",
        width,
        port: Some("port"),
        protocol: Some("proto"),
        verdict: Some("verdict"),
        security: Some(("tls_flows > 0", "plaintext_flows > 0")),
    }
}

fn dns_shape(width: i64) -> TableShape {
    TableShape {
        time: "bucket",
        width,
        port: None,
        protocol: None,
        verdict: None,
        security: None,
    }
}

const DETAIL_SHAPE: TableShape = TableShape {
    time: "start",
    width: 0,
    port: Some("port"),
    protocol: Some("proto"),
    verdict: Some("verdict"),
    security: Some(("security = 'tls'", "security = 'plaintext'")),
};

impl Sql<'_> {
    fn source_where(
        &self,
        prefix: &str,
        shape: TableShape,
        ends: &EndColumns,
        f: &Filter,
    ) -> Result<(String, String, Vec<SqlValue>)> {
        let (w, wp) = where_clause(f, shape, ends, &self.dialect.label_exists)?;
        let (src, mut p) = source(prefix, self.res, f);
        p.extend(wp);
        Ok((src, w, p))
    }

    /// Columns: src (ns, name, kind), dst (ns, name, kind), dst_dns, port, proto, verdict,
    /// reporter, then the sums of flows, packets_out, bytes_out, packets_in, bytes_in,
    /// tls_flows, plaintext_flows, drift_flows, min(first_seen), max(last_seen).
    pub fn flows(&self, f: &Filter) -> Result<(String, Vec<SqlValue>)> {
        self.edges(f, None)
    }

    /// [`Sql::flows`] restricted to edges (source, destination, port, protocol) whose
    /// first sighting in the whole retained history (the daily rollup) is at or after
    /// `first_after`.
    pub fn new_edges(&self, f: &Filter, first_after: i64) -> Result<(String, Vec<SqlValue>)> {
        self.edges(f, Some(first_after))
    }

    fn edges(&self, f: &Filter, first_after: Option<i64>) -> Result<(String, Vec<SqlValue>)> {
        let (src, w, mut p) =
            self.source_where("flows", flow_shape(self.res.width()), &FLOW_ENDS, f)?;
        let having = match first_after {
            None => String::new(),
            Some(t) => {
                p.push(SqlValue::Int(t));
                format!(
                    "HAVING (src_ns, src_name, src_kind, dst_ns, dst_name, dst_kind, port, proto)
                       NOT IN (SELECT src_ns, src_name, src_kind, dst_ns, dst_name, dst_kind, port, proto
                               FROM flows_1d
                               GROUP BY src_ns, src_name, src_kind, dst_ns, dst_name, dst_kind, port, proto
                               HAVING {}(first_seen) < ?)",
                    self.dialect.first_seen
                )
            }
        };
        let sql = format!(
            "SELECT src_ns, src_name, src_kind, dst_ns, dst_name, dst_kind, dst_dns, port, proto,
               verdict, reporter, sum(flows), sum(packets_out), sum(bytes_out), sum(packets_in),
               sum(bytes_in), sum(tls_flows), sum(plaintext_flows), sum(drift_flows),
               {}(first_seen), {}(last_seen)
             FROM {src} WHERE {w}
             GROUP BY src_ns, src_name, src_kind, dst_ns, dst_name, dst_kind, dst_dns, port,
               proto, verdict, reporter {having}
             ORDER BY sum(bytes_out) + sum(bytes_in) DESC, src_ns, src_name, dst_ns, dst_name, port,
               verdict, reporter{}",
            self.dialect.first_seen,
            self.dialect.last_seen,
            limit(f)
        );
        Ok((sql, p))
    }

    /// Columns: src (ns, name, kind), sum(bytes_out), sum(bytes_in), sum(flows).
    pub fn top_talkers(&self, f: &Filter) -> Result<(String, Vec<SqlValue>)> {
        let (src, w, p) =
            self.source_where("flows", flow_shape(self.res.width()), &FLOW_ENDS, f)?;
        let sql = format!(
            "SELECT src_ns, src_name, src_kind, sum(bytes_out), sum(bytes_in), sum(flows)
             FROM {src} WHERE {w} GROUP BY src_ns, src_name, src_kind
             ORDER BY sum(bytes_out) + sum(bytes_in) DESC, src_ns, src_name{}",
            limit(f)
        );
        Ok((sql, p))
    }

    /// Columns: src (ns, name, kind), dst (ns, name, kind), bytes both ways, flows, denied
    /// flows.
    pub fn graph(&self, f: &Filter) -> Result<(String, Vec<SqlValue>)> {
        let (src, w, p) =
            self.source_where("flows", flow_shape(self.res.width()), &FLOW_ENDS, f)?;
        let sql = format!(
            "SELECT src_ns, src_name, src_kind, dst_ns, dst_name, dst_kind,
               sum(bytes_out + bytes_in), sum(flows),
               sum(CASE WHEN verdict = 'denied' THEN flows ELSE 0 END)
             FROM {src} WHERE {w}
             GROUP BY src_ns, src_name, src_kind, dst_ns, dst_name, dst_kind
             ORDER BY src_ns, src_name, dst_ns, dst_name{}",
            limit(f)
        );
        Ok((sql, p))
    }

    /// Columns: client (ns, name, kind), qname, domain, qtype, rcode, sum(queries),
    /// max(answers), min(first_seen), max(last_seen).
    pub fn dns_by_workload(&self, f: &Filter) -> Result<(String, Vec<SqlValue>)> {
        let (src, w, p) = self.source_where("dns", dns_shape(self.res.width()), &DNS_ENDS, f)?;
        let sql = format!(
            "SELECT client_ns, client_name, client_kind, qname, domain, qtype, rcode,
               sum(queries), max(answers), {}(first_seen), {}(last_seen)
             FROM {src} WHERE {w}
             GROUP BY client_ns, client_name, client_kind, qname, domain, qtype, rcode
             ORDER BY client_ns, client_name, qname, qtype, rcode{}",
            self.dialect.first_seen,
            self.dialect.last_seen,
            limit(f)
        );
        Ok((sql, p))
    }

    /// Columns: domain, sum(queries), distinct clients, distinct names.
    pub fn dns_by_domain(&self, f: &Filter) -> Result<(String, Vec<SqlValue>)> {
        let (src, w, p) = self.source_where("dns", dns_shape(self.res.width()), &DNS_ENDS, f)?;
        let sql = format!(
            "SELECT domain, sum(queries), count(DISTINCT client_ns || '/' || client_name),
               count(DISTINCT qname)
             FROM {src} WHERE {w} GROUP BY domain ORDER BY sum(queries) DESC, domain{}",
            limit(f)
        );
        Ok((sql, p))
    }

    /// Columns: policy (`(none)` when empty), flows (connections), distinct edges,
    /// min(start), max(end_).
    pub fn denied_by_policy(&self, f: &Filter) -> Result<(String, Vec<SqlValue>)> {
        let shape = TableShape {
            verdict: None,
            ..DETAIL_SHAPE
        };
        let (w, p) = where_clause(f, shape, &FLOW_ENDS, &self.dialect.label_exists)?;
        let sql = format!(
            "SELECT CASE WHEN policy = '' THEN '(none)' ELSE policy END AS deciding, sum(flows),
               count(DISTINCT src_ns || '/' || src_name || '>' || dst_ns || '/' || dst_name || ':' || CAST(port AS String)),
               min(start), max(end_)
             FROM flow_detail WHERE verdict = 'denied' AND {w}
             GROUP BY deciding ORDER BY sum(flows) DESC, deciding{}",
            limit(f)
        );
        Ok((sql, p))
    }

    /// Detail rows, one per (minute, key) however many writes added to it. Columns: the
    /// record's key (JSON, see [`crate::aggregate::detail_key`]), min(start), max(end_), the
    /// sums of packets_out, bytes_out, packets_in, bytes_in, the OR of tcp_flags, the sum of
    /// flows (connections).
    pub fn details(&self, f: &Filter) -> Result<(String, Vec<SqlValue>)> {
        let (w, p) = where_clause(f, DETAIL_SHAPE, &FLOW_ENDS, &self.dialect.label_exists)?;
        let sql = format!(
            "SELECT min(record), min(start), max(end_), sum(packets_out), sum(bytes_out),
               sum(packets_in), sum(bytes_in), {}(tcp_flags), sum(flows)
             FROM flow_detail WHERE {w} GROUP BY minute, key_hash
             ORDER BY min(start), min({}){}",
            self.dialect.bit_or,
            self.dialect.detail_order,
            limit(f)
        );
        Ok((sql, p))
    }
}
