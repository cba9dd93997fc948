//! Reading a byte stream line by line in memory bounded by the longest line accepted: a
//! longer line is consumed and reported by its length, never held. The one line reader of
//! the streaming inputs (detect's events, observe's imported logs).

use std::io::{BufRead, BufReader, Read};

pub struct BoundedLines<R: Read> {
    r: BufReader<R>,
    buf: Vec<u8>,
    max: usize,
    number: usize,
}

impl<R: Read> BoundedLines<R> {
    /// Lines of `r` read through a buffer of `capacity` bytes, each at most `max` bytes.
    pub fn new(r: R, capacity: usize, max: usize) -> BoundedLines<R> {
        BoundedLines {
            r: BufReader::with_capacity(capacity, r),
            buf: Vec::new(),
            max: max.max(1),
            number: 0,
        }
    }

    /// The longest line accepted (bytes).
    pub fn max(&self) -> usize {
        self.max
    }

    pub fn set_max(&mut self, max: usize) {
        self.max = max.max(1);
    }

    /// The number of the last line read (1-based; 0 before the first).
    pub fn number(&self) -> usize {
        self.number
    }

    /// Whether input is already buffered, so the next line may come without waiting.
    pub fn has_buffered_input(&self) -> bool {
        !self.r.buffer().is_empty()
    }

    /// The last line read (without its newline, and without a `\r` before it).
    pub fn line(&self) -> &[u8] {
        &self.buf
    }

    /// The line buffer itself, for a caller that moves the line out while it reads it and
    /// puts the buffer back (so its allocation is reused).
    pub fn buf_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Reads the next line into [`line`](Self::line). `Ok(false)` at the end; `Err(len)`
    /// when the line was longer than the limit (it is consumed, not kept).
    pub fn read_line(&mut self) -> std::io::Result<Result<bool, usize>> {
        self.buf.clear();
        let mut over = 0usize;
        let mut any = false;
        loop {
            let chunk = match self.r.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            any = true;
            let (part, used, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (&chunk[..i], i + 1, true),
                None => (chunk, chunk.len(), false),
            };
            if over > 0 || self.buf.len() + part.len() > self.max {
                over += self.buf.len() + part.len();
                self.buf.clear();
            } else {
                self.buf.extend_from_slice(part);
            }
            self.r.consume(used);
            if done {
                break;
            }
        }
        if !any {
            return Ok(Ok(false));
        }
        self.number += 1;
        if over > 0 {
            return Ok(Err(over));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Ok(true))
    }

    /// `Ok(None)` at the end; else the line's number and the line, or `Err(len)` for a line
    /// over the limit.
    #[allow(clippy::type_complexity)]
    pub fn next_line(&mut self) -> std::io::Result<Option<(usize, Result<&[u8], usize>)>> {
        match self.read_line()? {
            Ok(false) => Ok(None),
            Ok(true) => Ok(Some((self.number, Ok(&self.buf)))),
            Err(len) => Ok(Some((self.number, Err(len)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_crlf_overlong_and_a_last_line_without_newline() {
        let text = b"one\r\ntwo\n0123456789abcdef\n\nlast";
        // A tiny buffer so lines span several reads.
        let mut l = BoundedLines::new(&text[..], 3, 8);
        let mut got = Vec::new();
        while let Some((n, line)) = l.next_line().unwrap() {
            got.push((n, line.map(|b| String::from_utf8_lossy(b).into_owned())));
        }
        assert_eq!(
            got,
            vec![
                (1, Ok("one".to_string())),
                (2, Ok("two".to_string())),
                (3, Err(16)),
                (4, Ok(String::new())),
                (5, Ok("last".to_string())),
            ]
        );
        assert_eq!(l.number(), 5);
    }
}
