//! A small zip reader (central directory, stored and deflate entries, CRC-32 checked) for the
//! two zip files this crate reads: OSV's `all.zip` downloads and Java archives. Zip64 and
//! encrypted entries are refused with an error, never misread.

use std::io::Read;

fn le16(b: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as usize)
}
fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Largest entry inflated (a zip bomb stops here with an error).
pub const MAX_ENTRY: u64 = 512 * 1024 * 1024;

/// Calls `f(name, data)` for every file entry, in central-directory order. `what` names the
/// archive in errors.
pub fn for_each_entry(b: &[u8], what: &str, f: &mut dyn FnMut(&str, &[u8])) -> Result<(), String> {
    let err = |m: &str| format!("{what}: {m}");
    let start = b.len().saturating_sub(65_557);
    let eocd = (start..b.len().saturating_sub(21))
        .rev()
        .find(|&i| b[i..].starts_with(b"PK\x05\x06"))
        .ok_or_else(|| err("not a zip archive (no end of central directory)"))?;
    let count = le16(b, eocd + 10).ok_or_else(|| err("truncated"))?;
    let cd_off = le32(b, eocd + 16).ok_or_else(|| err("truncated"))? as usize;
    if cd_off == 0xffff_ffff || count == 0xffff {
        return Err(err("zip64 archives are not supported"));
    }
    let mut p = cd_off;
    for n in 0..count {
        if !b.get(p..).is_some_and(|x| x.starts_with(b"PK\x01\x02")) {
            return Err(err(&format!("central directory entry {n} is damaged")));
        }
        let flags = le16(b, p + 8).ok_or_else(|| err("truncated"))?;
        let method = le16(b, p + 10).ok_or_else(|| err("truncated"))?;
        let crc = le32(b, p + 16).ok_or_else(|| err("truncated"))?;
        let csize = le32(b, p + 20).ok_or_else(|| err("truncated"))? as usize;
        let usize_ = le32(b, p + 24).ok_or_else(|| err("truncated"))? as u64;
        let nlen = le16(b, p + 28).ok_or_else(|| err("truncated"))?;
        let elen = le16(b, p + 30).ok_or_else(|| err("truncated"))?;
        let clen = le16(b, p + 32).ok_or_else(|| err("truncated"))?;
        let loff = le32(b, p + 42).ok_or_else(|| err("truncated"))? as usize;
        let name = String::from_utf8_lossy(
            b.get(p + 46..p + 46 + nlen)
                .ok_or_else(|| err("truncated"))?,
        )
        .into_owned();
        p += 46 + nlen + elen + clen;
        if name.ends_with('/') {
            continue;
        }
        if flags & 1 != 0 {
            return Err(err(&format!("{name}: encrypted entries are not supported")));
        }
        if !b.get(loff..).is_some_and(|x| x.starts_with(b"PK\x03\x04")) {
            return Err(err(&format!("{name}: local header is damaged")));
        }
        let lname = le16(b, loff + 26).ok_or_else(|| err("truncated"))?;
        let lextra = le16(b, loff + 28).ok_or_else(|| err("truncated"))?;
        let ds = loff + 30 + lname + lextra;
        let data = b
            .get(ds..ds.saturating_add(csize))
            .ok_or_else(|| err(&format!("{name}: truncated data")))?;
        let out = match method {
            0 => data.to_vec(),
            8 => {
                let mut out = Vec::with_capacity(usize_.min(1 << 24) as usize);
                flate2::read::DeflateDecoder::new(data)
                    .take(MAX_ENTRY + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| err(&format!("{name}: corrupt deflate data: {e}")))?;
                if out.len() as u64 > MAX_ENTRY {
                    return Err(err(&format!(
                        "{name}: inflates to more than {MAX_ENTRY} bytes"
                    )));
                }
                out
            }
            m => {
                return Err(err(&format!(
                    "{name}: compression method {m} is not supported"
                )))
            }
        };
        let mut c = flate2::Crc::new();
        c.update(&out);
        if c.sum() != crc || out.len() as u64 != usize_ {
            return Err(err(&format!(
                "{name}: CRC or size mismatch (corrupt or truncated archive)"
            )));
        }
        f(&name, &out);
    }
    Ok(())
}

/// Writes a zip archive of stored entries (fixtures, tests).
pub fn write_stored(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cd = Vec::new();
    for (name, data) in entries {
        let mut c = flate2::Crc::new();
        c.update(data);
        let off = out.len() as u32;
        let head = |sig: &[u8], central: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(sig);
            if central {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            h.extend_from_slice(&20u16.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // flags
            h.extend_from_slice(&0u16.to_le_bytes()); // stored
            h.extend_from_slice(&0u32.to_le_bytes()); // time, date
            h.extend_from_slice(&c.sum().to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            if central {
                h.extend_from_slice(&[0u8; 6]); // comment length, disk, internal attributes
                h.extend_from_slice(&0u32.to_le_bytes()); // external attributes
                h.extend_from_slice(&off.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(head(b"PK\x03\x04", false));
        out.extend_from_slice(data);
        cd.extend(head(b"PK\x01\x02", true));
    }
    let cd_off = out.len() as u32;
    out.extend_from_slice(&cd);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0u8; 4]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(cd.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_off.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let z = write_stored(&[("a.json", b"{}"), ("dir/b.txt", b"hello")]);
        let mut got = Vec::new();
        for_each_entry(&z, "t.zip", &mut |n, d| {
            got.push((n.to_string(), d.to_vec()))
        })
        .unwrap();
        assert_eq!(
            got,
            [
                ("a.json".to_string(), b"{}".to_vec()),
                ("dir/b.txt".to_string(), b"hello".to_vec())
            ]
        );
        let mut bad = z.clone();
        let i = bad.windows(5).position(|w| w == b"hello").unwrap();
        bad[i] = b'j';
        let e = for_each_entry(&bad, "t.zip", &mut |_, _| {}).unwrap_err();
        assert!(e.contains("dir/b.txt: CRC"), "{e}");
        assert!(for_each_entry(&z[..z.len() - 30], "t.zip", &mut |_, _| {}).is_err());
    }
}
