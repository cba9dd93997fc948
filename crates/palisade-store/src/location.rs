//! Store locations as `--store` gives them: a ClickHouse URL (parsed here, whether or not
//! the backend is built, so that the parser is fuzzed on its own) or a SQLite path.

/// Where a ClickHouse store lives: `clickhouse://[user[:password]@]host[:port][/database]`
/// (HTTP port, 8123 by default; database `palisade` by default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClickhouseUrl {
    /// `http://host:port`
    pub http: String,
    pub database: String,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl ClickhouseUrl {
    pub fn parse(url: &str) -> std::result::Result<ClickhouseUrl, String> {
        let rest = url
            .strip_prefix("clickhouse://")
            .ok_or_else(|| format!("{url}: a ClickHouse store URL starts with clickhouse://"))?;
        let (auth, rest) = match rest.rsplit_once('@') {
            Some((a, r)) => (Some(a), r),
            None => (None, rest),
        };
        let (hostport, database) = match rest.split_once('/') {
            Some((h, d)) => (h, d.trim_end_matches('/')),
            None => (rest, ""),
        };
        if hostport.is_empty() {
            return Err(format!("{url}: no host"));
        }
        if !hostport
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:[]".contains(c))
        {
            return Err(format!("{url}: the host is not a name or an address"));
        }
        let hostport = if hostport.starts_with('[') {
            // [v6]:port or [v6]
            match hostport.rsplit_once("]:") {
                Some((_, p)) if p.parse::<u16>().is_ok() => hostport.to_string(),
                Some(_) => return Err(format!("{url}: the port is not a number")),
                None => format!("{hostport}:8123"),
            }
        } else {
            match hostport.rsplit_once(':') {
                Some((_, p)) if p.parse::<u16>().is_err() => {
                    return Err(format!("{url}: the port is not a number"))
                }
                Some(_) => hostport.to_string(),
                None => format!("{hostport}:8123"),
            }
        };
        let database = if database.is_empty() {
            "palisade"
        } else {
            database
        };
        if !database
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!(
                "{url}: the database name may hold letters, digits and _ only"
            ));
        }
        let (user, password) = match auth {
            None => (None, None),
            Some(a) => match a.split_once(':') {
                Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
                None => (Some(a.to_string()), None),
            },
        };
        Ok(ClickhouseUrl {
            http: format!("http://{hostport}"),
            database: database.to_string(),
            user,
            password,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = ClickhouseUrl::parse("clickhouse://127.0.0.1:9123/flows").unwrap();
        assert_eq!(
            (u.http.as_str(), u.database.as_str()),
            ("http://127.0.0.1:9123", "flows")
        );
        let u = ClickhouseUrl::parse("clickhouse://bob:s3cret@ch.example").unwrap();
        assert_eq!(u.http, "http://ch.example:8123");
        assert_eq!(u.database, "palisade");
        assert_eq!(
            (u.user.as_deref(), u.password.as_deref()),
            (Some("bob"), Some("s3cret"))
        );
        let u = ClickhouseUrl::parse("clickhouse://[::1]:8124/").unwrap();
        assert_eq!(u.http, "http://[::1]:8124");
        for bad in [
            "http://x",
            "clickhouse://",
            "clickhouse://h:port/db",
            "clickhouse://h/db;drop",
            "clickhouse://h st/db",
        ] {
            assert!(ClickhouseUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
