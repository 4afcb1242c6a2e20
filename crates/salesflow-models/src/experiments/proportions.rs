//! Tests on two conversion rates.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::{check_confidence, normal_quantile, std_normal};
use crate::ModelError;
use crate::clv::special::ln_gamma;

/// Conversions out of customers in one arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conversions {
    /// Customers who converted.
    pub converted: u64,
    /// Customers in the arm.
    pub n: u64,
}

impl Conversions {
    /// The conversion rate.
    pub fn rate(&self) -> f64 {
        self.converted as f64 / self.n as f64
    }

    pub(crate) fn check(&self, arm: &'static str) -> Result<(), ModelError> {
        if self.n == 0 || self.converted > self.n {
            return Err(ModelError::InvalidParameter {
                name: arm,
                value: self.converted as f64,
                hint: "an arm needs at least one customer and no more conversions than customers",
            });
        }
        Ok(())
    }
}

/// Everything the two-proportion comparison reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ProportionTest {
    /// Variant rate minus control rate.
    pub difference: f64,
    /// z with the pooled rate in the standard error (statsmodels' `proportions_ztest`).
    pub z_pooled: f64,
    /// Its two-sided p-value.
    pub p_pooled: f64,
    /// One-sided p-value for "variant larger".
    pub p_pooled_larger: f64,
    /// z with each arm's own rate in the standard error (Wald).
    pub z_unpooled: f64,
    /// Its two-sided p-value.
    pub p_unpooled: f64,
    /// Wald interval of the difference.
    pub ci_difference: (f64, f64),
    /// Newcomb's hybrid-score interval of the difference (better with few conversions).
    pub ci_difference_newcomb: (f64, f64),
    /// Variant rate over control rate (the lift is this minus 1).
    pub ratio: f64,
    /// Log interval of the ratio; `None` when an arm has no conversions.
    pub ci_ratio: Option<(f64, f64)>,
    /// Pearson's chi-square of the 2×2 table, without continuity correction.
    pub chi_square: f64,
    /// Its p-value (1 degree of freedom).
    pub p_chi_square: f64,
}

/// Compares the variant's conversion rate with control's at the given confidence level.
pub fn two_proportions(
    variant: Conversions,
    control: Conversions,
    confidence: f64,
) -> Result<ProportionTest, ModelError> {
    variant.check("variant")?;
    control.check("control")?;
    check_confidence(confidence)?;
    let normal = std_normal();
    let z_crit = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
    let (p1, p2) = (variant.rate(), control.rate());
    let (n1, n2) = (variant.n as f64, control.n as f64);
    let difference = p1 - p2;
    let pooled = (variant.converted + control.converted) as f64 / (n1 + n2);
    let se_pooled = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let z_pooled = difference / se_pooled;
    let se = (p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2).sqrt();
    let z_unpooled = difference / se;
    let two_sided = |z: f64| {
        if z.is_nan() {
            1.0
        } else {
            2.0 * normal.cdf(-z.abs())
        }
    };
    let ci_ratio = (variant.converted > 0 && control.converted > 0).then(|| {
        let half = z_crit
            * (1.0 / variant.converted as f64 - 1.0 / n1 + 1.0 / control.converted as f64
                - 1.0 / n2)
                .sqrt();
        let log_ratio = (p1 / p2).ln();
        ((log_ratio - half).exp(), (log_ratio + half).exp())
    });
    let (l1, u1) = wilson(variant, z_crit);
    let (l2, u2) = wilson(control, z_crit);
    let chi_square = chi_square_2x2(variant, control);
    let p_chi_square = ChiSquared::new(1.0).map_or(f64::NAN, |d| d.sf(chi_square));
    Ok(ProportionTest {
        difference,
        z_pooled,
        p_pooled: two_sided(z_pooled),
        p_pooled_larger: if z_pooled.is_nan() {
            1.0
        } else {
            normal.sf(z_pooled)
        },
        z_unpooled,
        p_unpooled: two_sided(z_unpooled),
        ci_difference: (difference - z_crit * se, difference + z_crit * se),
        ci_difference_newcomb: (
            difference - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt(),
            difference + ((p2 - l2).powi(2) + (u1 - p1).powi(2)).sqrt(),
        ),
        ratio: p1 / p2,
        ci_ratio,
        chi_square,
        p_chi_square,
    })
}

/// Wilson score interval of one rate (no continuity correction, not clipped).
pub fn wilson(arm: Conversions, z: f64) -> (f64, f64) {
    let n = arm.n as f64;
    let p = arm.rate();
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    (centre - half, centre + half)
}

fn chi_square_2x2(a: Conversions, b: Conversions) -> f64 {
    let table = [
        [a.converted as f64, (a.n - a.converted) as f64],
        [b.converted as f64, (b.n - b.converted) as f64],
    ];
    let total = (a.n + b.n) as f64;
    let rows = [a.n as f64, b.n as f64];
    let cols = [table[0][0] + table[1][0], table[0][1] + table[1][1]];
    let mut chi = 0.0;
    for r in 0..2 {
        for c in 0..2 {
            let expected = rows[r] * cols[c] / total;
            if expected > 0.0 {
                chi += (table[r][c] - expected).powi(2) / expected;
            }
        }
    }
    chi
}

/// Fisher's exact test of a 2×2 table `[[a, b], [c, d]]` (rows: arms; columns: converted, not).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FisherExact {
    /// The sample odds ratio `a·d / (b·c)` (scipy's; infinite when `b·c = 0`).
    pub odds_ratio: f64,
    /// Two-sided p-value: the probability of tables no more likely than the one observed.
    pub p_two_sided: f64,
    /// P-value for an odds ratio above 1.
    pub p_greater: f64,
    /// P-value for an odds ratio below 1.
    pub p_less: f64,
}

/// Fisher's exact test, conditional on the margins (the hypergeometric distribution of `a`).
pub fn fisher_exact(variant: Conversions, control: Conversions) -> Result<FisherExact, ModelError> {
    variant.check("variant")?;
    control.check("control")?;
    let (a, b) = (variant.converted, variant.n - variant.converted);
    let (c, d) = (control.converted, control.n - control.converted);
    let row1 = a + b;
    let col1 = a + c;
    let total = a + b + c + d;
    let odds_ratio = if b * c == 0 {
        if a * d == 0 { f64::NAN } else { f64::INFINITY }
    } else {
        (a as f64 * d as f64) / (b as f64 * c as f64)
    };
    if col1 == 0 || col1 == total {
        // Nobody (or everybody) converted: every table with these margins is the same.
        return Ok(FisherExact {
            odds_ratio,
            p_two_sided: 1.0,
            p_greater: 1.0,
            p_less: 1.0,
        });
    }
    let lo = col1.saturating_sub(total - row1);
    let hi = col1.min(row1);
    let ln_choose = |n: u64, k: u64| {
        ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
    };
    let ln_denominator = ln_choose(total, row1);
    let pmf =
        |x: u64| (ln_choose(col1, x) + ln_choose(total - col1, row1 - x) - ln_denominator).exp();
    let observed = pmf(a);
    // scipy's relative tolerance for "no more likely than observed".
    let bound = observed * (1.0 + 1e-14);
    let (mut less, mut greater, mut two_sided) = (0.0, 0.0, 0.0);
    for x in lo..=hi {
        let p = pmf(x);
        if x <= a {
            less += p;
        }
        if x >= a {
            greater += p;
        }
        if p <= bound {
            two_sided += p;
        }
    }
    Ok(FisherExact {
        odds_ratio,
        p_two_sided: two_sided.min(1.0),
        p_greater: greater.min(1.0),
        p_less: less.min(1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_or_impossible_arms_are_errors() {
        let ok = Conversions {
            converted: 1,
            n: 10,
        };
        assert!(two_proportions(Conversions { converted: 0, n: 0 }, ok, 0.95).is_err());
        assert!(
            two_proportions(
                Conversions {
                    converted: 11,
                    n: 10
                },
                ok,
                0.95
            )
            .is_err()
        );
        assert!(two_proportions(ok, ok, 1.0).is_err());
        // Nobody converted anywhere: no evidence, not a crash.
        let zero = Conversions {
            converted: 0,
            n: 10,
        };
        let t = two_proportions(zero, zero, 0.95).unwrap();
        assert_eq!(t.p_pooled, 1.0);
        assert_eq!(fisher_exact(zero, zero).unwrap().p_two_sided, 1.0);
    }
}
