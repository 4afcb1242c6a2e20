//! Data quality: the cleaning report, one row per table.

use salesflow_analytics::Analysis;
use salesflow_analytics::findings::thousands;

use crate::html::Section;

pub(crate) fn render(a: &Analysis) -> Option<Section> {
    let mut s = Section::new("quality", "Data quality");
    s.paragraph(
        "Every input row is accounted for: read = kept + rejected + duplicates removed. \
         Repaired rows were kept with a value fixed; flagged rows were kept but look unusual \
         (e.g. extreme amounts). salesflow validate lists each row with its line number.",
    );
    let rows: Vec<Vec<String>> = a
        .quality
        .tables
        .iter()
        .map(|t| {
            vec![
                t.table.clone(),
                thousands(t.rows_read as f64),
                thousands(t.rows_kept as f64),
                thousands(t.rows_rejected as f64),
                thousands(t.duplicates_removed as f64),
                thousands(t.rows_repaired as f64),
                thousands(t.rows_flagged as f64),
            ]
        })
        .collect();
    s.table(
        &[
            "table",
            "read",
            "kept",
            "rejected",
            "duplicates removed",
            "repaired",
            "flagged",
        ],
        &rows,
    );
    let o = &a.orders;
    s.note(&format!(
        "Orders: {} refunds ({} returned) and {} cancellations are kept in the data but are not purchases.",
        thousands(o.refunds.0 as f64),
        salesflow_analytics::findings::money(o.refunds.1),
        thousands(o.cancelled as f64)
    ));
    Some(s)
}
