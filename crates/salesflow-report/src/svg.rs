//! Small helpers for writing SVG text.

/// Escapes text for SVG content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A colour on a light-to-dark blue scale for `t` in [0, 1] (NaN gives grey).
pub(crate) fn blue(t: f64) -> String {
    if !t.is_finite() {
        return "#cccccc".into();
    }
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        lerp(239.0, 8.0),
        lerp(243.0, 48.0),
        lerp(255.0, 107.0)
    )
}

/// A number for people: up to 3 significant decimals, no trailing zeros.
pub(crate) fn number(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let text = if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Opens a chart: the `<svg>` element sized for a plot area at (`left`, `top`) of
/// `width` × `height` plus `legend` pixels on the right, the bold title, and both axis lines.
pub(crate) fn open_chart(
    out: &mut String,
    title: &str,
    (left, top, width, height): (f64, f64, f64, f64),
    legend: f64,
) {
    use std::fmt::Write as _;
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="sans-serif" font-size="11">"#,
        w = left + width + legend,
        h = top + height + 50.0
    );
    let _ = write!(
        out,
        r#"<text x="{left}" y="20" font-size="14" font-weight="bold">{}</text>"#,
        escape(title)
    );
    let _ = write!(
        out,
        r##"<line x1="{left}" y1="{b}" x2="{r}" y2="{b}" stroke="#444"/><line x1="{left}" y1="{top}" x2="{left}" y2="{b}" stroke="#444"/>"##,
        b = top + height,
        r = left + width
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(blue(0.0), "#eff3ff");
        assert_eq!(blue(1.0), "#08306b");
        assert_eq!(blue(f64::NAN), "#cccccc");
        assert_eq!(number(1234.567), "1235");
        assert_eq!(number(2.50), "2.5");
        assert_eq!(number(0.1234), "0.123");
        assert_eq!(number(f64::INFINITY), "–");
    }
}
