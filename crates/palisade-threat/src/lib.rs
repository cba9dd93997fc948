//! Palisade's threat defense.
//!
//! - [`feeds`]: feed parsers (plain lists, FireHOL, Spamhaus DROP text and JSON, abuse.ch
//!   Feodo, hosts files, URL lists, Calico's CSV and JSON formats) and [`stix`] (STIX 2.1).
//! - [`index`]: the indicator index (prefix tries, domain suffixes on label boundaries).
pub mod baseline;
pub mod canary;
pub mod config;
pub mod dga;
pub mod dns;
pub mod feeds;
pub mod fetch;
pub mod index;
pub mod matcher;
pub mod records;
pub mod response;
pub mod stix;
