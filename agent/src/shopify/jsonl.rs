//! The JSONL result of a bulk operation, parsed as it streams in.
//!
//! Shopify flattens nested connections: each node is its own line, and a nested node names
//! its parent with `__parentId`. With `groupObjects: true` ([`BulkLayout::Grouped`]) a
//! parent's line comes before its children's and a root's descendants before the next
//! root, so a root and everything under it can be handed out together as soon as the next
//! root starts, holding one group in memory at a time, never the file. Without grouping
//! (Shopify's default, faster) lines come in no guaranteed order, so each line is handed
//! out on its own ([`BulkLayout::Flat`]) and the caller joins by `__parentId`.
//!
//! # Invariants
//! - Bytes are split into lines by our own buffer: a chunk may end anywhere, even inside a
//!   UTF-8 character; only whole lines are parsed.
//! - A line longer than the limit is an error, so a broken file cannot grow the buffer
//!   without bound.
//! - A child whose parent is not in the current group is an error, never silently filed
//!   under the wrong root.

use std::collections::HashSet;

use serde_json::Value;

/// A root object and every object nested under it (children, grandchildren...), in file
/// order. Each descendant keeps its `__parentId`.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRecord {
    /// The root line.
    pub object: Value,
    /// Its descendants.
    pub children: Vec<Value>,
}

/// Why a JSONL file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonlError {
    /// A line is not JSON.
    #[error("line {line}: not JSON: {message}")]
    Json {
        /// The line number, from 1.
        line: u64,
        /// The parser's complaint.
        message: String,
    },
    /// A line names a parent that is not in the current group.
    #[error("line {line}: parent {parent} is not the current root or one of its descendants")]
    Orphan {
        /// The line number, from 1.
        line: u64,
        /// The `__parentId`.
        parent: String,
    },
    /// A line exceeds the limit.
    #[error("line {line}: longer than {max} bytes")]
    LineTooLong {
        /// The line number, from 1.
        line: u64,
        /// The limit.
        max: usize,
    },
}

/// How a bulk result file is laid out, as asked for when the operation was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkLayout {
    /// `groupObjects: true`: descendants follow their root; records come grouped.
    Grouped,
    /// `groupObjects: false`: any order; every line is its own record, `__parentId` kept.
    Flat,
}

/// The default longest line: a single object with its scalars, far below this.
pub const MAX_LINE: usize = 8 * 1024 * 1024;

/// Turns chunks of bytes into [`BulkRecord`]s.
#[derive(Debug)]
pub struct JsonlGrouper {
    buffer: Vec<u8>,
    current: Option<BulkRecord>,
    ids: HashSet<String>,
    line: u64,
    max_line: usize,
    layout: BulkLayout,
}

impl Default for JsonlGrouper {
    fn default() -> Self {
        JsonlGrouper::new(MAX_LINE)
    }
}

impl From<BulkLayout> for JsonlGrouper {
    fn from(layout: BulkLayout) -> Self {
        JsonlGrouper {
            layout,
            ..JsonlGrouper::default()
        }
    }
}

impl JsonlGrouper {
    /// A grouper for a grouped file, refusing lines longer than `max_line` bytes.
    pub fn new(max_line: usize) -> JsonlGrouper {
        JsonlGrouper {
            buffer: Vec::new(),
            current: None,
            ids: HashSet::new(),
            line: 0,
            max_line,
            layout: BulkLayout::Grouped,
        }
    }

    /// Feeds a chunk; completed groups are appended to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<BulkRecord>) -> Result<(), JsonlError> {
        // Only the new bytes can hold a newline not yet seen.
        let mut scan_from = self.buffer.len();
        self.buffer.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(offset) = self.buffer[scan_from..].iter().position(|b| *b == b'\n') {
            let end = scan_from + offset;
            let line = self.buffer[start..end].to_vec();
            self.line(&line, out)?;
            start = end + 1;
            scan_from = start;
        }
        self.buffer.drain(..start);
        if self.buffer.len() > self.max_line {
            return Err(JsonlError::LineTooLong {
                line: self.line + 1,
                max: self.max_line,
            });
        }
        Ok(())
    }

    /// Ends the input: the last line (if it had no newline) and the groups still open.
    pub fn finish(mut self, out: &mut Vec<BulkRecord>) -> Result<(), JsonlError> {
        let rest = std::mem::take(&mut self.buffer);
        self.line(&rest, out)?;
        // `line` hands a group out only when the next root starts: the last is still open.
        out.extend(self.current.take());
        Ok(())
    }

    fn line(&mut self, bytes: &[u8], out: &mut Vec<BulkRecord>) -> Result<(), JsonlError> {
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        self.line += 1;
        if bytes.len() > self.max_line {
            return Err(JsonlError::LineTooLong {
                line: self.line,
                max: self.max_line,
            });
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| JsonlError::Json {
            line: self.line,
            message: e.to_string(),
        })?;
        if self.layout == BulkLayout::Flat {
            out.push(BulkRecord {
                object: value,
                children: Vec::new(),
            });
            return Ok(());
        }
        let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
        match value.get("__parentId").and_then(Value::as_str) {
            Some(parent) => {
                let Some(current) = self.current.as_mut().filter(|_| self.ids.contains(parent))
                else {
                    return Err(JsonlError::Orphan {
                        line: self.line,
                        parent: parent.to_owned(),
                    });
                };
                current.children.push(value);
                if let Some(id) = id {
                    self.ids.insert(id);
                }
            }
            None => {
                if let Some(done) = self.current.take() {
                    out.push(done);
                }
                self.ids.clear();
                if let Some(id) = id {
                    self.ids.insert(id);
                }
                self.current = Some(BulkRecord {
                    object: value,
                    children: Vec::new(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = concat!(
        r#"{"id":"gid://shopify/InventoryItem/1","sku":"A-é"}"#,
        "\n",
        r#"{"location":{"id":"gid://shopify/Location/1"},"__parentId":"gid://shopify/InventoryItem/1"}"#,
        "\r\n",
        r#"{"id":"gid://shopify/InventoryLevel/5","__parentId":"gid://shopify/InventoryItem/1"}"#,
        "\n",
        r#"{"name":"available","__parentId":"gid://shopify/InventoryLevel/5"}"#,
        "\n",
        "\n",
        r#"{"id":"gid://shopify/InventoryItem/2","sku":"B"}"#,
        "\n",
        r#"{"id":"gid://shopify/InventoryItem/3","sku":"C"}"#,
        "\n",
        r#"{"location":{"id":"gid://shopify/Location/2"},"__parentId":"gid://shopify/InventoryItem/3"}"#,
    );

    fn parse(chunks: &[&[u8]]) -> Result<Vec<BulkRecord>, JsonlError> {
        let mut grouper = JsonlGrouper::default();
        let mut out = Vec::new();
        for chunk in chunks {
            grouper.push(chunk, &mut out)?;
        }
        grouper.finish(&mut out)?;
        Ok(out)
    }

    fn check(records: &[BulkRecord]) {
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].object["sku"], "A-é");
        assert_eq!(
            records[0].children.len(),
            3,
            "grandchildren stay with the root"
        );
        assert_eq!(records[0].children[2]["name"], "available");
        assert!(records[1].children.is_empty());
        assert_eq!(
            records[2].children[0]["location"]["id"],
            "gid://shopify/Location/2"
        );
    }

    #[test]
    fn every_split_point_gives_the_same_records() {
        let bytes = FILE.as_bytes();
        check(&parse(&[bytes]).unwrap());
        for at in 0..=bytes.len() {
            check(&parse(&[&bytes[..at], &bytes[at..]]).unwrap());
        }
    }

    #[test]
    fn arbitrary_chunk_sizes_give_the_same_records() {
        let bytes = FILE.as_bytes();
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..500 {
            let mut chunks = Vec::new();
            let mut at = 0;
            while at < bytes.len() {
                let size = rng.usize(0..=40).min(bytes.len() - at);
                chunks.push(&bytes[at..at + size]);
                at += size;
            }
            check(&parse(&chunks).unwrap());
        }
        // One byte at a time.
        let single: Vec<&[u8]> = bytes.chunks(1).collect();
        check(&parse(&single).unwrap());
    }

    #[test]
    fn orphans_bad_lines_and_long_lines_are_errors() {
        let orphan = concat!(
            r#"{"id":"gid://shopify/InventoryItem/1"}"#,
            "\n",
            r#"{"id":"gid://shopify/InventoryItem/2"}"#,
            "\n",
            r#"{"x":1,"__parentId":"gid://shopify/InventoryItem/1"}"#,
            "\n"
        );
        assert_eq!(
            parse(&[orphan.as_bytes()]).unwrap_err(),
            JsonlError::Orphan {
                line: 3,
                parent: "gid://shopify/InventoryItem/1".into()
            }
        );
        let bad = "{\"id\":\"1\"}\n{not json}\n";
        assert!(matches!(
            parse(&[bad.as_bytes()]).unwrap_err(),
            JsonlError::Json { line: 2, .. }
        ));
        let mut grouper = JsonlGrouper::new(16);
        let mut out = Vec::new();
        let long = [b'x'; 17];
        assert_eq!(
            grouper.push(&long, &mut out).unwrap_err(),
            JsonlError::LineTooLong { line: 1, max: 16 }
        );
        assert!(parse(&[]).unwrap().is_empty());
    }

    #[test]
    fn flat_files_hand_out_every_line_in_any_order() {
        let file = concat!(
            r#"{"x":1,"__parentId":"gid://shopify/InventoryItem/2"}"#,
            "\n",
            r#"{"id":"gid://shopify/InventoryItem/1"}"#,
            "\n",
            r#"{"id":"gid://shopify/InventoryItem/2"}"#,
        );
        let bytes = file.as_bytes();
        for at in 0..=bytes.len() {
            let mut grouper = JsonlGrouper::from(BulkLayout::Flat);
            let mut out = Vec::new();
            grouper.push(&bytes[..at], &mut out).unwrap();
            grouper.push(&bytes[at..], &mut out).unwrap();
            grouper.finish(&mut out).unwrap();
            assert_eq!(out.len(), 3);
            assert_eq!(out[0].object["__parentId"], "gid://shopify/InventoryItem/2");
            assert!(out.iter().all(|r| r.children.is_empty()));
        }
    }

    #[test]
    fn a_last_root_without_a_newline_is_not_lost() {
        let file = "{\"id\":\"1\"}\n{\"x\":1,\"__parentId\":\"1\"}\n{\"id\":\"2\"}";
        let records = parse(&[file.as_bytes()]).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].children.len(), 1);
        assert_eq!(records[1].object["id"], "2");
    }
}
