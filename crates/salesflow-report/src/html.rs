//! The page: one self-contained HTML document (inline CSS, inline SVG, a few lines of inline
//! script for sorting tables), and the pieces sections are written with.

use std::fmt::Write as _;

use crate::svg::escape;

/// One section of the report.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// Anchor id (stable: `orders`, `cohorts`, ...).
    pub id: &'static str,
    /// Heading.
    pub title: String,
    /// The HTML body.
    pub body: String,
}

impl Section {
    /// An empty section.
    pub fn new(id: &'static str, title: impl Into<String>) -> Section {
        Section {
            id,
            title: title.into(),
            body: String::new(),
        }
    }

    /// A paragraph of plain text (escaped).
    pub fn paragraph(&mut self, text: &str) {
        let _ = write!(self.body, "<p>{}</p>", escape(text));
    }

    /// A smaller explanatory note (escaped).
    pub fn note(&mut self, text: &str) {
        let _ = write!(self.body, r#"<p class="note">{}</p>"#, escape(text));
    }

    /// A sub-heading.
    pub fn heading(&mut self, text: &str) {
        let _ = write!(self.body, "<h3>{}</h3>", escape(text));
    }

    /// Headline numbers as cards: (label, value).
    pub fn cards(&mut self, cards: &[(&str, String)]) {
        self.body.push_str(r#"<div class="cards">"#);
        for (label, value) in cards {
            let _ = write!(
                self.body,
                r#"<div class="card"><div class="value">{}</div><div class="label">{}</div></div>"#,
                escape(value),
                escape(label)
            );
        }
        self.body.push_str("</div>");
    }

    /// A chart (an SVG document from this crate), with a data attribute the browser check
    /// looks for.
    pub fn chart(&mut self, svg: &str) {
        let _ = write!(self.body, r#"<figure class="chart">{svg}</figure>"#);
    }

    /// A sortable table; cells are text (escaped). Columns whose every cell reads as a number
    /// are right-aligned and sort numerically.
    pub fn table(&mut self, headers: &[&str], rows: &[Vec<String>]) {
        let numeric: Vec<bool> = (0..headers.len())
            .map(|c| {
                rows.iter().all(|r| {
                    r.get(c)
                        .is_some_and(|cell| sort_key(cell).is_some() || cell == "–")
                })
            })
            .collect();
        self.body
            .push_str(r#"<div class="scroll"><table class="sortable"><thead><tr>"#);
        for (c, h) in headers.iter().enumerate() {
            let class = if numeric[c] { r#" class="num""# } else { "" };
            let _ = write!(self.body, "<th{class}>{}</th>", escape(h));
        }
        self.body.push_str("</tr></thead><tbody>");
        for row in rows {
            self.body.push_str("<tr>");
            for (c, cell) in row.iter().enumerate() {
                if numeric.get(c).copied().unwrap_or(false) {
                    let key = sort_key(cell).unwrap_or(f64::NEG_INFINITY);
                    let _ = write!(
                        self.body,
                        r#"<td class="num" data-sort="{key}">{}</td>"#,
                        escape(cell)
                    );
                } else {
                    let _ = write!(self.body, "<td>{}</td>", escape(cell));
                }
            }
            self.body.push_str("</tr>");
        }
        self.body.push_str("</tbody></table></div>");
    }

    /// A list of items (escaped).
    pub fn list(&mut self, items: &[String]) {
        self.body.push_str("<ul>");
        for item in items {
            let _ = write!(self.body, "<li>{}</li>", escape(item));
        }
        self.body.push_str("</ul>");
    }

    /// Raw HTML the caller has escaped.
    pub fn raw(&mut self, html: &str) {
        self.body.push_str(html);
    }
}

/// The number a formatted cell sorts by: `12,345`, `12.5%`, `-3.2` (None for text).
fn sort_key(cell: &str) -> Option<f64> {
    let cleaned: String = cell
        .trim()
        .trim_end_matches('%')
        .trim_end_matches('x')
        .chars()
        .filter(|c| *c != ',')
        .collect();
    cleaned.parse::<f64>().ok().filter(|v| v.is_finite())
}

const STYLE: &str = r#"
:root { --ink: #1a202c; --muted: #5a6475; --line: #e2e8f0; --accent: #2b6cb0; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f7f9fc; }
header { background: #1e3a5f; color: #fff; padding: 20px 32px; }
header h1 { margin: 0; font-size: 24px; }
header p { margin: 4px 0 0; color: #c9d6e8; }
nav { background: #fff; border-bottom: 1px solid var(--line); padding: 8px 32px; position: sticky; top: 0; z-index: 1; }
nav a { color: var(--accent); margin-right: 16px; text-decoration: none; font-size: 14px; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 32px 48px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px 24px 20px; margin: 20px 0; }
h2 { font-size: 20px; border-bottom: 1px solid var(--line); padding-bottom: 6px; }
h3 { font-size: 16px; margin-top: 22px; }
.note { color: var(--muted); font-size: 13px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; min-width: 150px; }
.card .value { font-size: 20px; font-weight: 600; }
.card .label { color: var(--muted); font-size: 13px; }
ol.findings li { margin: 6px 0; }
ol.findings li.top { font-weight: 600; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; white-space: nowrap; }
th { background: #f1f5f9; cursor: pointer; user-select: none; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
th.asc::after { content: " \25B2"; } th.desc::after { content: " \25BC"; }
figure.chart { margin: 12px 0; overflow-x: auto; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 16px; }
"#;

const SCRIPT: &str = r#"
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0];
      var ascending = !th.classList.contains("asc");
      table.querySelectorAll("th").forEach(function (h) { h.classList.remove("asc", "desc"); });
      th.classList.add(ascending ? "asc" : "desc");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column], y = b.cells[column];
        var p = x.dataset.sort !== undefined ? parseFloat(x.dataset.sort) : x.textContent;
        var q = y.dataset.sort !== undefined ? parseFloat(y.dataset.sort) : y.textContent;
        var order = typeof p === "number" ? p - q : p.localeCompare(q);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"#;

/// The whole document.
pub fn page(title: &str, subtitle: &str, sections: &[Section], footer: &str) -> String {
    let mut out =
        String::with_capacity(sections.iter().map(|s| s.body.len()).sum::<usize>() + 8192);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>",
        escape(title)
    );
    let _ = write!(
        out,
        "<header><h1>{}</h1><p>{}</p></header><nav>",
        escape(title),
        escape(subtitle)
    );
    for s in sections {
        let _ = write!(out, "<a href=\"#{}\">{}</a>", s.id, escape(&s.title));
    }
    out.push_str("</nav><main>");
    for s in sections {
        let _ = write!(
            out,
            "<section id=\"{}\"><h2>{}</h2>{}</section>",
            s.id,
            escape(&s.title),
            s.body
        );
    }
    let _ = writeln!(
        out,
        "</main><footer>{}</footer><script>{SCRIPT}</script></body></html>",
        escape(footer)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_sort_numbers_as_numbers_and_escape_text() {
        let mut s = Section::new("t", "T");
        s.table(
            &["name", "revenue", "share"],
            &[
                vec!["<b>".into(), "1,234".into(), "12.5%".into()],
                vec!["x".into(), "–".into(), "3.0%".into()],
            ],
        );
        assert!(s.body.contains("<td>&lt;b&gt;</td>"));
        assert!(
            s.body
                .contains(r#"<td class="num" data-sort="1234">1,234</td>"#)
        );
        assert!(s.body.contains(r#"data-sort="12.5""#));
        let html = page("R", "sub", &[s], "f");
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("<link"), "no external resources");
        assert!(!html.contains("src="), "no external scripts or images");
    }
}
