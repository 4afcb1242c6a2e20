//! Segment targeting: where the next unit of spend earns the most expected customer value.

use super::linear::{LinearAllocation, linear_allocation};
use crate::ModelError;

/// What one customer segment offers a campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentEconomics {
    /// The segment.
    pub name: String,
    /// Expected lifetime value of one converted customer (from the CLV models).
    pub clv: f64,
    /// Probability that a reached prospect converts (from the prediction models or a test).
    pub conversion: f64,
    /// Spend to reach one prospect.
    pub cost_per_prospect: f64,
    /// Prospects that can be reached (`None`: no practical limit).
    pub prospects: Option<f64>,
}

impl SegmentEconomics {
    /// Expected customer value per unit of spend: `conversion × clv / cost_per_prospect`.
    pub fn value_per_unit(&self) -> f64 {
        self.conversion * self.clv / self.cost_per_prospect
    }
}

/// The segments ranked by expected value per unit of spend (best first), and the split of
/// `budget` that maximises expected value: each segment is filled up to its reachable
/// prospects in that order; segments whose value per unit is below `min_value_per_unit` (e.g.
/// 1, to spend only where a unit returns more than it costs) get nothing.
pub fn target_segments(
    segments: &[SegmentEconomics],
    budget: f64,
    min_value_per_unit: f64,
) -> Result<(Vec<(usize, f64)>, LinearAllocation), ModelError> {
    for s in segments {
        let checks = [
            ("clv", s.clv, s.clv.is_finite() && s.clv >= 0.0),
            (
                "conversion",
                s.conversion,
                (0.0..=1.0).contains(&s.conversion),
            ),
            (
                "cost_per_prospect",
                s.cost_per_prospect,
                s.cost_per_prospect.is_finite() && s.cost_per_prospect > 0.0,
            ),
            (
                "prospects",
                s.prospects.unwrap_or(0.0),
                s.prospects.is_none_or(|p| p.is_finite() && p >= 0.0),
            ),
        ];
        if let Some(&(name, value, _)) = checks.iter().find(|c| !c.2) {
            return Err(ModelError::InvalidParameter {
                name,
                value,
                hint: "clv >= 0, conversion in [0, 1], cost per prospect > 0, prospects >= 0",
            });
        }
    }
    let roi: Vec<f64> = segments
        .iter()
        .map(|s| {
            let v = s.value_per_unit();
            if v >= min_value_per_unit { v } else { 0.0 }
        })
        .collect();
    let caps: Vec<Option<f64>> = segments
        .iter()
        .map(|s| s.prospects.map(|p| p * s.cost_per_prospect))
        .collect();
    let allocation = linear_allocation(&roi, &caps, budget)?;
    let mut ranking: Vec<(usize, f64)> = segments
        .iter()
        .map(|s| s.value_per_unit())
        .enumerate()
        .collect();
    ranking.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok((ranking, allocation))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(
        name: &str,
        clv: f64,
        conversion: f64,
        cost: f64,
        prospects: Option<f64>,
    ) -> SegmentEconomics {
        SegmentEconomics {
            name: name.into(),
            clv,
            conversion,
            cost_per_prospect: cost,
            prospects,
        }
    }

    #[test]
    fn spend_goes_where_a_unit_earns_most_until_the_prospects_run_out() {
        let segments = [
            // 0.05 × 900 / 10 = 4.5 per unit, 1,000 prospects = 10,000 of spend at most.
            segment("loyal", 900.0, 0.05, 10.0, Some(1000.0)),
            // 0.02 × 400 / 2 = 4.0 per unit, unlimited.
            segment("new", 400.0, 0.02, 2.0, None),
            // 0.01 × 50 / 5 = 0.1: loses money.
            segment("bargain", 50.0, 0.01, 5.0, None),
        ];
        let (ranking, plan) = target_segments(&segments, 25_000.0, 1.0).unwrap();
        assert_eq!(
            ranking.iter().map(|r| r.0).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert!((ranking[0].1 - 4.5).abs() < 1e-12);
        assert_eq!(plan.spend, vec![10_000.0, 15_000.0, 0.0]);
        assert!((plan.total_return - (45_000.0 + 60_000.0)).abs() < 1e-6);
        assert!(target_segments(&[segment("x", 1.0, 1.5, 1.0, None)], 1.0, 0.0).is_err());
    }
}
