//! Numbers and times as the views write them.

use std::time::Duration;

use plumb_common::Timestamp;

/// A duration in its largest whole unit: `42s`, `5m`, `3h`, `2d`.
pub fn span(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3_600 => format!("{}m", secs / 60),
        3_600..86_400 => format!("{}h", secs / 3_600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// How long ago `at` was, or `-` for never.
pub fn ago(now: Timestamp, at: Option<Timestamp>) -> String {
    at.map_or_else(|| "-".to_owned(), |at| span(at.until(now)))
}

/// A count with thousands separators: `100,000`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `s` cut to `width` characters, with `…` when cut.
pub fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_counts_and_cuts() {
        assert_eq!(span(Duration::from_secs(59)), "59s");
        assert_eq!(span(Duration::from_secs(61)), "1m");
        assert_eq!(span(Duration::from_secs(7_300)), "2h");
        assert_eq!(span(Duration::from_secs(200_000)), "2d");
        assert_eq!(ago(Timestamp(10_000), Some(Timestamp(4_000))), "6s");
        assert_eq!(ago(Timestamp(10_000), None), "-");
        assert_eq!(count(100_000), "100,000");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }
}
