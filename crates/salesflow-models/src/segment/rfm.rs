//! RFM scoring: recency, frequency and monetary value scored 1..=5 by quintile, and the named
//! segments of the R `rfm` package's vignette, made to cover every score.
//!
//! # Scores
//!
//! A value's score is `1 + floor(5 · below / n)`, where `below` is the number of customers
//! whose value is strictly worse (smaller frequency or monetary value; *larger* recency, so
//! that the most recent customers get 5) and `n` the number of customers. Why this rule:
//!
//! - tied values always share a score, and no score depends on row order. Equal-count bins
//!   cannot do that on RFM data, where half of the customers may have exactly one order:
//!   pandas' `qcut` stops with "Bin edges must be unique" on such columns, and its usual
//!   workaround, `rank(method="first")`, splits the one-order customers over two or three
//!   scores by row order;
//! - the worst value always scores 1 however many customers share it (one-time buyers are
//!   F = 1, which the "F ≤ 1" rows of the segment table are written for), and a 5 means that at
//!   least 80 % of customers are strictly worse;
//! - without ties and with `n` a multiple of 5 the bins are exact quintiles.
//!
//! The price is that heavy ties leave some scores empty (if 45 % have one order and 40 % two,
//! frequency scores are 1, 3 and 5 only). When every customer has the same value, nobody is
//! better than anyone and all score 1; a lone customer scores 1, 1, 1.
//!
//! # Segments
//!
//! [`RfmSegment::classify`] names a score `(r, f, m)` in two steps.
//!
//! **1. The 3-D table**, tried in [`RfmSegment::PRECEDENCE`] order, first match. Ranges are
//! inclusive; the vignette's "≤ x" is written 1–x. `#` is the published order (that of
//! [`RfmSegment::NAMED`] and of the enum), `try` the precedence; the last three columns count the
//! 125 cells `(r, f, m)` each segment gets from the table, from the grid of step 2, and in all.
//!
//! | # | segment | R | F | M | try | table | grid | all |
//! |---|---|---|---|---|---|---|---|---|
//! | 1 | Champions | 4–5 | 4–5 | 4–5 | 1 | 8 | 4 | 12 |
//! | 2 | Loyal Customers | 2–5 | 3–5 | 3–5 | 3 | 28 | 8 | 36 |
//! | 3 | Potential Loyalist | 3–5 | 1–3 | 1–3 | 6 | 21 | 4 | 25 |
//! | 4 | New Customers | 4–5 | 1 | 1 | 4 | 2 | 2 | 4 |
//! | 5 | Promising | 3–4 | 1 | 1 | 5 | 1 | 2 | 3 |
//! | 6 | Need Attention | 2–3 | 2–3 | 2–3 | 7 | 3 | 0 | 3 |
//! | 7 | About To Sleep | 2–3 | 1–2 | 1–2 | 8 | 3 | 4 | 7 |
//! | 8 | At Risk | 1–2 | 2–5 | 2–5 | 9 | 16 | 4 | 20 |
//! | 9 | Can't Lose Them | 1 | 4–5 | 4–5 | 2 | 4 | 2 | 6 |
//! | 10 | Hibernating | 1–2 | 1–2 | 1–2 | 11 | 0 | 6 | 6 |
//! | 11 | Lost | **1** | 1–2 | 1–2 | 10 | 3 | 0 | 3 |
//! | | *total* | | | | | 89 | 36 | 125 |
//!
//! The precedence puts each narrower row before the broader row that contains it, keeping the
//! published ranges: Champions, Can't Lose Them (inside At Risk), Loyal Customers, New
//! Customers and Promising (inside Potential Loyalist), Potential Loyalist, Need Attention,
//! About To Sleep, At Risk, Lost (inside Hibernating), Hibernating. Rows that only partly
//! overlap keep their published relative order. Tried in the published order instead, as the
//! vignette's `case_when` and the package's `rfm_segment` do, New Customers, Promising, Can't
//! Lose Them and Lost can never be assigned, since a broader row listed earlier takes all of
//! their cells. So segment counts here differ from the R package's on the same scores.
//!
//! Hibernating still gets no cell from the table: with Lost taking R = 1, its R = 2 cells
//! (F 1–2, M 1–2) are About To Sleep's (211, 212, 221) and Need Attention's (222), and 122 is
//! At Risk's. It is reached through the grid below (R 1–2, F 1, M 3–5).
//!
//! **2. The recency × frequency grid** for the 36 cells no row of the table covers (R 5 F 1
//! M 5, a recent big first purchase, is one; these customers are common in real data). It
//! names the cell by `(r, f)` alone, ignoring `m`:
//!
//! | R \ F | 1 | 2 | 3 | 4 | 5 |
//! |---|---|---|---|---|---|
//! | 5 | New Customers | Potential Loyalist | Potential Loyalist | Champions | Champions |
//! | 4 | Promising | Potential Loyalist | Potential Loyalist | Loyal Customers | Loyal Customers |
//! | 3 | About To Sleep | About To Sleep | Need Attention | Loyal Customers | Loyal Customers |
//! | 2 | Hibernating | Hibernating | At Risk | At Risk | Can't Lose Them |
//! | 1 | Hibernating | Hibernating | At Risk | At Risk | Can't Lose Them |
//!
//! The 36 cells it names: R 1–2 F 1 M 3–5 (6, Hibernating), R 1–2 F 3–4 M 1 (4, At Risk),
//! R 1–2 F 5 M 1 (2, Can't Lose Them), R 3 F 1–2 M 4–5 (4, About To Sleep), R 3–4 F 4–5 M 1–2
//! (8, Loyal Customers), R 4 F 1 M 4–5 (2, Promising), R 5 F 1 M 4–5 (2, New Customers),
//! R 4–5 F 2 M 4–5 (4, Potential Loyalist), R 5 F 4–5 M 1–2 (4, Champions).
//!
//! As the grid covers all 25 `(r, f)` pairs, every score in 1..=5 gets one of the eleven named
//! segments and [`RfmSegment::Others`] is never produced for them (nor by [`rfm_scores`]);
//! [`RfmSegment::matches`] still tests a row's own 3-D ranges only.
//!
//! ## Lost and Hibernating
//!
//! The vignette gives Lost and Hibernating the same ranges (R, F and M all 1–2), so one of them
//! could never be assigned. Here Lost is R = 1 (F 1–2, M 1–2), a departure from the published
//! table that follows its own description of Lost, "lowest recency, frequency & monetary
//! scores" (Putler's segment list words it the same way), against Hibernating's "low spenders,
//! low frequency, purchased long time ago"; Hibernating keeps R 1–2 and is tried after Lost.
//!
//! ## Sources
//!
//! - The 3-D table: the segment table of the `rfm` package's vignette "RFM - Transaction Level
//!   Data" (Aravind Hebbali, rsquaredacademy; the same table is on Putler's RFM page), with the
//!   precedence and the Lost change above.
//! - The grid: the 2-D recency × frequency RFM map that circulates in pandas tutorials and
//!   Kaggle notebooks as a `seg_map` of regular expressions on the two-digit "RF" score
//!   (R then F), the same ten regions as above; checked against, for example,
//!   `utils/rfm_analysis.py` of the GitHub repository
//!   `SaadAbdElGhaffar/customer-segmentation-rfm-kmeans`.

use crate::ModelError;

/// One customer's facts at the as-of date.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RfmCustomer {
    /// Days since the last purchase (finite, `>= 0`; smaller is better).
    pub recency_days: f64,
    /// Number of orders (finite, `>= 0`).
    pub frequency: f64,
    /// Total revenue (finite; may be negative after refunds).
    pub monetary: f64,
}

/// A customer's scores (each 1..=5, 5 best) and segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RfmScore {
    /// Recency score: 5 for the most recent customers.
    pub r: u8,
    /// Frequency score.
    pub f: u8,
    /// Monetary score.
    pub m: u8,
    /// The named segment of `(r, f, m)`.
    pub segment: RfmSegment,
}

impl RfmScore {
    /// The three scores as one number, `100 r + 10 f + m` (e.g. 545).
    pub fn code(&self) -> u16 {
        100 * u16::from(self.r) + 10 * u16::from(self.f) + u16::from(self.m)
    }
}

/// The named RFM segments, in the published order (see the [module docs](self) for the table,
/// the order they are tried in and the grid for the cells no row covers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RfmSegment {
    /// R 4–5, F 4–5, M 4–5.
    Champions,
    /// R 2–5, F 3–5, M 3–5.
    LoyalCustomers,
    /// R 3–5, F 1–3, M 1–3.
    PotentialLoyalist,
    /// R 4–5, F 1, M 1 (tried before Potential Loyalist, which contains it).
    NewCustomers,
    /// R 3–4, F 1, M 1 (tried before Potential Loyalist, which contains it).
    Promising,
    /// R 2–3, F 2–3, M 2–3.
    NeedAttention,
    /// R 2–3, F 1–2, M 1–2.
    AboutToSleep,
    /// R 1–2, F 2–5, M 2–5.
    AtRisk,
    /// R 1, F 4–5, M 4–5 (tried before At Risk, which contains it).
    CantLoseThem,
    /// R 1–2, F 1–2, M 1–2 (its table cells all go to earlier rows: reached through the grid).
    Hibernating,
    /// R 1, F 1–2, M 1–2 (the vignette has R 1–2, as Hibernating; see the module docs).
    Lost,
    /// Not produced by [`RfmSegment::classify`] for scores in 1..=5, so never by
    /// [`rfm_scores`]: only for a score outside 1..=5. Kept so that keys and names stay stable.
    Others,
}

/// Inclusive (low, high) score ranges for R, F and M.
type Ranges = [(u8, u8); 3];

/// The fallback grid for cells no row of the table covers: `GRID[r - 1][f - 1]`.
const GRID: [[RfmSegment; 5]; 5] = {
    use RfmSegment::*;
    [
        // R = 1 and R = 2: F 1–2, 3–4, 5.
        [Hibernating, Hibernating, AtRisk, AtRisk, CantLoseThem],
        [Hibernating, Hibernating, AtRisk, AtRisk, CantLoseThem],
        // R = 3.
        [
            AboutToSleep,
            AboutToSleep,
            NeedAttention,
            LoyalCustomers,
            LoyalCustomers,
        ],
        // R = 4.
        [
            Promising,
            PotentialLoyalist,
            PotentialLoyalist,
            LoyalCustomers,
            LoyalCustomers,
        ],
        // R = 5.
        [
            NewCustomers,
            PotentialLoyalist,
            PotentialLoyalist,
            Champions,
            Champions,
        ],
    ]
};

impl RfmSegment {
    /// The eleven named segments in the published (display) order.
    pub const NAMED: [RfmSegment; 11] = [
        RfmSegment::Champions,
        RfmSegment::LoyalCustomers,
        RfmSegment::PotentialLoyalist,
        RfmSegment::NewCustomers,
        RfmSegment::Promising,
        RfmSegment::NeedAttention,
        RfmSegment::AboutToSleep,
        RfmSegment::AtRisk,
        RfmSegment::CantLoseThem,
        RfmSegment::Hibernating,
        RfmSegment::Lost,
    ];

    /// The eleven named segments in the order [`RfmSegment::classify`] tries them: each
    /// narrower row before the broader row that contains it.
    pub const PRECEDENCE: [RfmSegment; 11] = [
        RfmSegment::Champions,
        RfmSegment::CantLoseThem,
        RfmSegment::LoyalCustomers,
        RfmSegment::NewCustomers,
        RfmSegment::Promising,
        RfmSegment::PotentialLoyalist,
        RfmSegment::NeedAttention,
        RfmSegment::AboutToSleep,
        RfmSegment::AtRisk,
        RfmSegment::Lost,
        RfmSegment::Hibernating,
    ];

    /// The display name, as published ("Can't Lose Them").
    pub fn name(self) -> &'static str {
        match self {
            RfmSegment::Champions => "Champions",
            RfmSegment::LoyalCustomers => "Loyal Customers",
            RfmSegment::PotentialLoyalist => "Potential Loyalist",
            RfmSegment::NewCustomers => "New Customers",
            RfmSegment::Promising => "Promising",
            RfmSegment::NeedAttention => "Need Attention",
            RfmSegment::AboutToSleep => "About To Sleep",
            RfmSegment::AtRisk => "At Risk",
            RfmSegment::CantLoseThem => "Can't Lose Them",
            RfmSegment::Hibernating => "Hibernating",
            RfmSegment::Lost => "Lost",
            RfmSegment::Others => "Others",
        }
    }

    /// A stable snake_case key for files and APIs ("cant_lose_them").
    pub fn key(self) -> &'static str {
        match self {
            RfmSegment::Champions => "champions",
            RfmSegment::LoyalCustomers => "loyal_customers",
            RfmSegment::PotentialLoyalist => "potential_loyalist",
            RfmSegment::NewCustomers => "new_customers",
            RfmSegment::Promising => "promising",
            RfmSegment::NeedAttention => "need_attention",
            RfmSegment::AboutToSleep => "about_to_sleep",
            RfmSegment::AtRisk => "at_risk",
            RfmSegment::CantLoseThem => "cant_lose_them",
            RfmSegment::Hibernating => "hibernating",
            RfmSegment::Lost => "lost",
            RfmSegment::Others => "others",
        }
    }

    /// The segment's inclusive (low, high) ranges for R, F and M in the 3-D table; `None` for
    /// [`RfmSegment::Others`].
    pub fn ranges(self) -> Option<[(u8, u8); 3]> {
        let ranges: Ranges = match self {
            RfmSegment::Champions => [(4, 5), (4, 5), (4, 5)],
            RfmSegment::LoyalCustomers => [(2, 5), (3, 5), (3, 5)],
            RfmSegment::PotentialLoyalist => [(3, 5), (1, 3), (1, 3)],
            RfmSegment::NewCustomers => [(4, 5), (1, 1), (1, 1)],
            RfmSegment::Promising => [(3, 4), (1, 1), (1, 1)],
            RfmSegment::NeedAttention => [(2, 3), (2, 3), (2, 3)],
            RfmSegment::AboutToSleep => [(2, 3), (1, 2), (1, 2)],
            RfmSegment::AtRisk => [(1, 2), (2, 5), (2, 5)],
            RfmSegment::CantLoseThem => [(1, 1), (4, 5), (4, 5)],
            RfmSegment::Hibernating => [(1, 2), (1, 2), (1, 2)],
            // The vignette's Lost is R 1-2, the same as Hibernating (see the module docs).
            RfmSegment::Lost => [(1, 1), (1, 2), (1, 2)],
            RfmSegment::Others => return None,
        };
        Some(ranges)
    }

    /// Whether `(r, f, m)` lies in this segment's own 3-D ranges, ignoring the other rows and
    /// the grid (always false for [`RfmSegment::Others`]).
    pub fn matches(self, r: u8, f: u8, m: u8) -> bool {
        self.ranges().is_some_and(|ranges| {
            [r, f, m]
                .iter()
                .zip(ranges)
                .all(|(&score, (low, high))| (low..=high).contains(&score))
        })
    }

    /// The segment of `(r, f, m)`: the first row of the table in [`RfmSegment::PRECEDENCE`]
    /// order that matches, else the recency × frequency grid's segment of `(r, f)`. Always a
    /// named segment for scores in 1..=5; [`RfmSegment::Others`] if a score is outside 1..=5.
    pub fn classify(r: u8, f: u8, m: u8) -> RfmSegment {
        if ![r, f, m].iter().all(|score| (1..=5).contains(score)) {
            return RfmSegment::Others;
        }
        RfmSegment::PRECEDENCE
            .into_iter()
            .find(|segment| segment.matches(r, f, m))
            .unwrap_or(GRID[usize::from(r - 1)][usize::from(f - 1)])
    }
}

impl std::fmt::Display for RfmSegment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Scores and segments every customer (output in input order; empty input, empty output).
///
/// Errors with [`ModelError::InvalidInput`] naming the first bad row: a value that is NaN or
/// infinite, a negative `recency_days` or a negative `frequency`.
pub fn rfm_scores(customers: &[RfmCustomer]) -> Result<Vec<RfmScore>, ModelError> {
    for (row, c) in customers.iter().enumerate() {
        check(row, "recency_days", c.recency_days, true)?;
        check(row, "frequency", c.frequency, true)?;
        check(row, "monetary", c.monetary, false)?;
    }
    // Recency is scored on its negation so that "strictly worse" means "less recent".
    let recency: Vec<f64> = customers.iter().map(|c| -c.recency_days).collect();
    let frequency: Vec<f64> = customers.iter().map(|c| c.frequency).collect();
    let monetary: Vec<f64> = customers.iter().map(|c| c.monetary).collect();
    let (r, f, m) = (
        scores_of(&recency),
        scores_of(&frequency),
        scores_of(&monetary),
    );
    Ok((0..customers.len())
        .map(|i| RfmScore {
            r: r[i],
            f: f[i],
            m: m[i],
            segment: RfmSegment::classify(r[i], f[i], m[i]),
        })
        .collect())
}

/// Quintile scores 1..=5 of `values` (larger is better) by the rule of the
/// [module docs](self): `1 + floor(5 · below / n)`, `below` = values strictly smaller.
///
/// Errors with [`ModelError::InvalidInput`] on the first NaN or infinite value.
pub fn quintile_scores(values: &[f64]) -> Result<Vec<u8>, ModelError> {
    for (row, &value) in values.iter().enumerate() {
        check(row, "value", value, false)?;
    }
    Ok(scores_of(values))
}

fn check(
    row: usize,
    field: &'static str,
    value: f64,
    non_negative: bool,
) -> Result<(), ModelError> {
    if !value.is_finite() {
        return Err(ModelError::InvalidInput {
            row,
            field,
            value,
            hint: "must be a finite number; drop or impute the customer's missing values",
        });
    }
    if non_negative && value < 0.0 {
        return Err(ModelError::InvalidInput {
            row,
            field,
            value,
            hint: "must be >= 0; check the as-of date and the order counts",
        });
    }
    Ok(())
}

/// The scores of finite values.
fn scores_of(values: &[f64]) -> Vec<u8> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut scores = vec![0u8; n];
    let mut start = 0;
    while start < n {
        let value = values[order[start]];
        // `==` (not total order) closes the run, so -0.0 and 0.0, adjacent in the sort, tie.
        let end = start
            + order[start..]
                .iter()
                .take_while(|&&i| values[i] == value)
                .count();
        // `start` values are strictly smaller; 5 · start / n < 5, so the score is 1..=5.
        let score = 1 + (5 * start / n) as u8;
        for &i in &order[start..end] {
            scores[i] = score;
        }
        start = end;
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(recency_days: f64, frequency: f64, monetary: f64) -> RfmCustomer {
        RfmCustomer {
            recency_days,
            frequency,
            monetary,
        }
    }

    #[test]
    fn no_ties_give_exact_quintiles() {
        let values: Vec<f64> = (0..10).map(f64::from).collect();
        assert_eq!(
            quintile_scores(&values).unwrap(),
            vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        );
    }

    #[test]
    fn ties_share_a_score_whatever_the_order() {
        // Six of ten customers have one order: all score 1, the others by how many are below.
        let values = [1.0, 3.0, 1.0, 1.0, 2.0, 1.0, 1.0, 5.0, 1.0, 2.0];
        let scores = quintile_scores(&values).unwrap();
        assert_eq!(scores, vec![1, 5, 1, 1, 4, 1, 1, 5, 1, 4]);
        let mut reversed = values;
        reversed.reverse();
        let mut again = quintile_scores(&reversed).unwrap();
        again.reverse();
        assert_eq!(again, scores);
    }

    #[test]
    fn negative_zero_ties_with_zero() {
        assert_eq!(quintile_scores(&[0.0, -0.0, 1.0]).unwrap(), vec![1, 1, 4]);
    }

    #[test]
    fn edge_cases() {
        assert!(rfm_scores(&[]).unwrap().is_empty());
        let one = rfm_scores(&[customer(3.0, 2.0, 50.0)]).unwrap();
        assert_eq!((one[0].r, one[0].f, one[0].m), (1, 1, 1));
        assert_eq!(one[0].segment, RfmSegment::Lost);
        let same = rfm_scores(&[customer(3.0, 2.0, 50.0); 7]).unwrap();
        assert!(same.iter().all(|s| s.code() == 111));
    }

    #[test]
    fn bad_values_name_the_row_and_field() {
        let mut customers = vec![customer(1.0, 1.0, 10.0); 4];
        customers[2].monetary = f64::NAN;
        match rfm_scores(&customers) {
            Err(ModelError::InvalidInput { row, field, .. }) => {
                assert_eq!((row, field), (2, "monetary"));
            }
            other => panic!("expected an invalid-input error, got {other:?}"),
        }
        customers[2].monetary = 10.0;
        customers[3].recency_days = -1.0;
        assert!(matches!(
            rfm_scores(&customers),
            Err(ModelError::InvalidInput {
                row: 3,
                field: "recency_days",
                ..
            })
        ));
        customers[3].recency_days = 1.0;
        customers[0].frequency = f64::INFINITY;
        assert!(matches!(
            rfm_scores(&customers),
            Err(ModelError::InvalidInput {
                row: 0,
                field: "frequency",
                ..
            })
        ));
        assert!(quintile_scores(&[1.0, f64::NAN]).is_err());
    }

    #[test]
    fn names_and_keys_are_distinct() {
        let mut all = RfmSegment::NAMED.to_vec();
        all.push(RfmSegment::Others);
        let names: std::collections::HashSet<_> = all.iter().map(|s| s.name()).collect();
        let keys: std::collections::HashSet<_> = all.iter().map(|s| s.key()).collect();
        assert_eq!((names.len(), keys.len()), (12, 12));
        assert_eq!(RfmSegment::CantLoseThem.to_string(), "Can't Lose Them");
    }

    #[test]
    fn precedence_is_the_named_segments_narrower_rows_first() {
        let mut sorted = RfmSegment::PRECEDENCE;
        sorted.sort();
        assert_eq!(sorted, RfmSegment::NAMED);
        let cells = |s: RfmSegment| {
            let [r, f, m] = s.ranges().expect("named");
            (r.0..=r.1)
                .flat_map(move |r| {
                    (f.0..=f.1).flat_map(move |f| (m.0..=m.1).map(move |m| (r, f, m)))
                })
                .collect::<std::collections::HashSet<_>>()
        };
        for (i, &a) in RfmSegment::PRECEDENCE.iter().enumerate() {
            for &b in &RfmSegment::PRECEDENCE[i + 1..] {
                assert!(
                    !cells(b).is_subset(&cells(a)),
                    "{b} lies inside {a} but is tried after it"
                );
            }
        }
    }

    #[test]
    fn scores_outside_one_to_five_are_others() {
        for (r, f, m) in [
            (0, 3, 3),
            (3, 0, 3),
            (3, 3, 0),
            (6, 1, 1),
            (1, 6, 1),
            (1, 1, 6),
        ] {
            assert_eq!(
                RfmSegment::classify(r, f, m),
                RfmSegment::Others,
                "{r}{f}{m}"
            );
        }
    }
}
