//! How the HUD writes numbers and text: byte counts, rates, durations, whitespace made visible, and text from a
//! file (untrusted) made short and unable to reorder the page.

/// A byte count the way GPU limits are usually quoted: binary units, whole where exact (`256 MiB`, `4 GiB`),
/// else one decimal (`1.5 GiB`).
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut unit = 0;
    let mut scale = 1u64;
    while unit + 1 < UNITS.len() && bytes >= scale * 1024 {
        scale *= 1024;
        unit += 1;
    }
    if bytes.is_multiple_of(scale) {
        format!("{} {}", bytes / scale, UNITS[unit])
    } else {
        format!("{:.1} {}", bytes as f64 / scale as f64, UNITS[unit])
    }
}

/// A transfer rate in binary units per second, one decimal (`25.3 MiB/s`).
pub fn format_rate(bytes_per_s: f64) -> String {
    const UNITS: [&str; 4] = ["B/s", "KiB/s", "MiB/s", "GiB/s"];
    let mut value = bytes_per_s.max(0.0);
    let mut unit = 0;
    while unit + 1 < UNITS.len() && value >= 1024.0 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A duration for people: `850 ms`, `12.3 s`, `4 min 10 s`, `2 h 05 min`.
pub fn format_duration(ms: f64) -> String {
    let ms = ms.max(0.0);
    if ms < 1000.0 {
        return format!("{ms:.0} ms");
    }
    let s = ms / 1000.0;
    if s < 60.0 {
        return format!("{s:.1} s");
    }
    let whole = s.round() as u64;
    if whole < 3600 {
        return format!("{} min {} s", whole / 60, whole % 60);
    }
    format!("{} h {:02} min", whole / 3600, whole % 3600 / 60)
}

/// A token whose text is only whitespace (or nothing) gets a visible label instead: `␣` per space, `⏎` per line
/// break, `⇥` per tab, `∅` for no text. Other text is shown as it is.
pub fn whitespace_label(text: &str) -> Option<String> {
    if text.is_empty() {
        return Some("∅".into());
    }
    if !text.chars().all(char::is_whitespace) {
        return None;
    }
    Some(
        text.chars()
            .map(|c| match c {
                ' ' => '␣',
                '\n' => '⏎',
                '\t' => '⇥',
                '\r' => '↵',
                _ => '·',
            })
            .collect(),
    )
}

/// Text from a model file (a name, a template), as the HUD shows it: control and invisible formatting characters
/// (bidi overrides and isolates, zero-width ones) written as `\u{…}` escapes so they cannot reorder or hide what
/// surrounds them, and cut after `max_chars` with the whole length said (`… (1048623 chars)`). Rendered as text, so
/// markup in it stays text.
pub fn file_text(text: &str, max_chars: usize) -> String {
    let mut shown = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max_chars {
            shown += &format!("… ({} chars)", text.chars().count());
            break;
        }
        let invisible =
            matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}');
        if c.is_control() || invisible {
            shown += &format!("\\u{{{:x}}}", c as u32);
        } else {
            shown.push(c);
        }
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_in_binary_units() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1000), "1000 B");
        assert_eq!(format_bytes(256 << 20), "256 MiB");
        assert_eq!(format_bytes(4 << 30), "4 GiB");
        assert_eq!(format_bytes(3 << 29), "1.5 GiB");
        assert_eq!(format_bytes(u64::MAX), "16777216.0 TiB");
    }

    #[test]
    fn rates_and_durations() {
        assert_eq!(format_rate(0.0), "0.0 B/s");
        assert_eq!(format_rate(1536.0), "1.5 KiB/s");
        assert_eq!(format_rate(25.0 * 1048576.0), "25.0 MiB/s");
        assert_eq!(format_duration(849.6), "850 ms");
        assert_eq!(format_duration(12_340.0), "12.3 s");
        assert_eq!(format_duration(250_000.0), "4 min 10 s");
        assert_eq!(format_duration(7_500_000.0), "2 h 05 min");
    }

    #[test]
    fn file_text_is_short_and_cannot_reorder_the_page() {
        assert_eq!(file_text("gpt-oss-20b", 120), "gpt-oss-20b");
        assert_eq!(file_text("<img src=x onerror=alert(1)>", 120), "<img src=x onerror=alert(1)>");
        assert_eq!(file_text("a\u{202e}exe.txt\u{2066}b\n", 120), "a\\u{202e}exe.txt\\u{2066}b\\u{a}");
        assert_eq!(file_text(&"é".repeat(300), 4), "éééé… (300 chars)");
        assert_eq!(file_text("abcd", 4), "abcd");
    }

    #[test]
    fn whitespace_is_labelled() {
        assert_eq!(whitespace_label(" "), Some("␣".into()));
        assert_eq!(whitespace_label("\n\n"), Some("⏎⏎".into()));
        assert_eq!(whitespace_label(" \t"), Some("␣⇥".into()));
        assert_eq!(whitespace_label(""), Some("∅".into()));
        assert_eq!(whitespace_label(" Paris"), None);
    }
}
