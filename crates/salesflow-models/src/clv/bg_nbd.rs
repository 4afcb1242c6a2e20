//! BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): purchases
//! follow a Poisson process with rate λ ~ Gamma(r, α); after each repeat purchase the customer
//! drops out with probability p ~ Beta(a, b).

use super::beta_geo::{
    Conditional, beta_expectation, check_purchases, fit_family, nb_point_and_tail,
    repeat_purchase_model_via_conditional,
};
use super::optim::{FitOptions, FitResult, ParamMap};
use super::special::ln_beta;
use super::summary::RfmRow;
use crate::error::{ModelError, non_negative, positive};

/// Model name used in [`FitResult::model`].
pub const MODEL: &str = "bg_nbd";

const MAP: ParamMap = ParamMap {
    names: &["r", "alpha", "a", "b"],
    offsets: &[0.0; 4],
};

/// Fit BG/NBD by maximum likelihood on (compressed) RFM rows.
///
/// Log-likelihood per customer: Fader, Hardie & Lee (2005) eq. (6), evaluated with
/// log-sum-exp; the gradient is analytic.
pub fn fit(rows: &[RfmRow], opts: &FitOptions) -> Result<FitResult, ModelError> {
    fit_family(MODEL, &MAP, rows, false, opts)
}

/// BG/NBD parameters: λ ~ Gamma(shape r, rate α) (α in the data's time unit), p ~ Beta(a, b).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbd {
    /// Shape of the purchase-rate distribution.
    pub r: f64,
    /// Rate (scale in time units) of the purchase-rate distribution.
    pub alpha: f64,
    /// Beta parameter a of the dropout probability.
    pub a: f64,
    /// Beta parameter b of the dropout probability.
    pub b: f64,
}

impl BgNbd {
    /// Parameters, each finite and > 0.
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self, ModelError> {
        Ok(BgNbd {
            r: positive("r", r)?,
            alpha: positive("alpha", alpha)?,
            a: positive("a", a)?,
            b: positive("b", b)?,
        })
    }

    /// The estimates of a BG/NBD fit.
    pub fn from_fit(fit: &FitResult) -> Result<Self, ModelError> {
        let p = fit.expect(MODEL)?;
        BgNbd::new(p[0], p[1], p[2], p[3])
    }

    /// Expected number of repeat purchases in (0, t] of a new customer (FHL 2005 eq. 7).
    pub fn expected_purchases_new_customer(&self, t: f64) -> Result<f64, ModelError> {
        let t = non_negative("t", t)?;
        beta_expectation(self.r, self.a, self.b, t / self.alpha)
    }

    /// P(X(t) = n): probability that a new customer makes exactly `n` repeat purchases in
    /// (0, t] (FHL 2005 eq. 8, as lifetimes' `probability_of_n_purchases_up_to_time`).
    pub fn probability_of_n_purchases(&self, n: u32, t: f64) -> Result<f64, ModelError> {
        let t = non_negative("t", t)?;
        check_purchases(n)?;
        if t == 0.0 {
            return Ok(if n == 0 { 1.0 } else { 0.0 });
        }
        let BgNbd { r, alpha, a, b } = *self;
        let nf = f64::from(n);
        let (ln_point, tail) = nb_point_and_tail(r, alpha, t, n);
        let first = (ln_beta(a, b + nf) - ln_beta(a, b) + ln_point).exp();
        let second = if n > 0 {
            (ln_beta(a + 1.0, b + nf - 1.0) - ln_beta(a, b)).exp() * tail
        } else {
            0.0
        };
        Ok(first + second)
    }

    /// The customer's conditional expectation (FHL 2005 eq. 10), with the 2F1 evaluated so
    /// that the cases where lifetimes returns NaN or a negative number (a + b + x − 1 ≤ 0,
    /// a = 1, t ≫ α + T) stay finite, and `P(alive | x, t_x, T) = 1/(1 + 1{x>0} (a/(b+x−1))
    /// ((α+T)/(α+t_x))^(r+x))` (Fader, Hardie & Lee 2008 note 021).
    fn conditional(&self, x: f64, recency: f64, age: f64) -> Conditional {
        Conditional {
            s: self.r + x,
            a: self.a,
            bp: self.b + x,
            scale: self.alpha + age,
            alive: if x == 0.0 {
                1.0
            } else {
                probability_from_ln_odds(self.ln_dropout_odds(x, recency, age))
            },
        }
    }

    /// ln of the odds factor (a/(b+x−1)) ((α+T)/(α+t_x))^(r+x) for x > 0.
    fn ln_dropout_odds(&self, x: f64, tx: f64, age: f64) -> f64 {
        (self.r + x) * ((self.alpha + age) / (self.alpha + tx)).ln()
            + (self.a / (self.b + x - 1.0)).ln()
    }
}

repeat_purchase_model_via_conditional!(BgNbd);

/// 1/(1 + e^l), stable for any l.
pub(crate) fn probability_from_ln_odds(l: f64) -> f64 {
    crate::sigmoid::logistic(-l)
}

#[cfg(test)]
mod tests {
    use super::super::beta_geo::{BetaGeoLik, starts};
    use super::super::optim::{Objective, minimize_multistart, screen_stride};
    use super::super::summary::prepare_rfm;
    use super::*;
    use crate::clv::RepeatPurchaseModel;
    use crate::rng::SplitMix64;

    /// BG/NBD customers with r = 1, α = 2, a = 1, b = 3 (exponential and Beta(1, b) draws by
    /// inversion), observed for a continuous T, so every row is distinct.
    fn simulated_rows(customers: usize) -> Vec<RfmRow> {
        let mut rng = SplitMix64::new(42);
        (0..customers)
            .map(|_| {
                let rate = -(1.0 - rng.uniform()).ln() / 2.0;
                let dropout = 1.0 - (1.0 - rng.uniform()).powf(1.0 / 3.0);
                let age = 30.0 + 70.0 * rng.uniform();
                let (mut clock, mut frequency, mut recency) = (0.0, 0.0, 0.0);
                loop {
                    clock += -(1.0 - rng.uniform()).ln() / rate;
                    if clock > age {
                        break;
                    }
                    frequency += 1.0;
                    recency = clock;
                    if rng.uniform() < dropout {
                        break;
                    }
                }
                RfmRow {
                    frequency,
                    recency,
                    t: age,
                    weight: 1.0,
                }
            })
            .collect()
    }

    /// The factored form a scorer uses (g once per (x, T), times P(alive)) equals the
    /// expectation, for both models of the family, including x = 0, a = 1 and long horizons.
    #[test]
    fn alive_factor_times_g_is_the_expectation() {
        use crate::clv::MbgNbd;
        let models: [Box<dyn RepeatPurchaseModel>; 3] = [
            Box::new(BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap()),
            Box::new(MbgNbd::new(0.525, 6.183, 0.891, 1.614).unwrap()),
            Box::new(BgNbd::new(0.11, 2.24, 1.0, 0.5).unwrap()),
        ];
        let horizons = [0.0, 4.3, 30.0, 52.0, 365.0];
        for model in &models {
            for &(x, tx, age) in &[
                (0.0, 0.0, 1.0),
                (0.0, 0.0, 38.0),
                (2.0, 30.4, 38.9),
                (7.0, 5.0, 60.0),
            ] {
                let mut direct = [0.0; 5];
                model
                    .expected_purchases_at(&horizons, x, tx, age, &mut direct)
                    .unwrap();
                let mut g = [0.0; 5];
                model
                    .expected_purchases_if_alive_at(&horizons, x, age, &mut g)
                    .unwrap()
                    .unwrap();
                let alive = model.probability_alive(x, tx, age).unwrap();
                for (d, g) in direct.iter().zip(g) {
                    assert!(
                        (d - g * alive).abs() <= 1e-14 * d.abs(),
                        "{d} vs {}",
                        g * alive
                    );
                }
            }
        }
    }

    #[test]
    fn many_horizons_at_once_equal_one_at_a_time() {
        let ts = [0.0, 1.0, 4.345, 13.0, 52.0, 260.0];
        let bg = BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
        let mbg = super::super::MbgNbd::new(0.525, 6.183, 0.891, 1.614).unwrap();
        let models: [&dyn RepeatPurchaseModel; 2] = [&bg, &mbg];
        for model in models {
            for (x, tx, age) in [(0.0, 0.0, 38.86), (2.0, 30.43, 38.86), (40.0, 1.5, 2.0)] {
                let mut many = [0.0; 6];
                model
                    .expected_purchases_at(&ts, x, tx, age, &mut many)
                    .unwrap();
                for (t, got) in ts.iter().zip(many) {
                    let want = model.expected_purchases(*t, x, tx, age).unwrap();
                    assert!(
                        (got - want).abs() <= 1e-13 * want.abs(),
                        "t {t}, ({x}, {tx}, {age}): {got} vs {want}"
                    );
                }
            }
            let mut short = [0.0; 5];
            assert!(
                model
                    .expected_purchases_at(&ts, 1.0, 1.0, 2.0, &mut short)
                    .is_err()
            );
            assert!(
                model
                    .expected_purchases_at(&[-1.0], 1.0, 1.0, 2.0, &mut [0.0])
                    .is_err()
            );
        }
    }

    #[test]
    fn screening_on_a_sample_finds_the_full_data_maximum() {
        let data = prepare_rfm(&simulated_rows(90_000)).unwrap();
        let every = screen_stride(data.rows.len()).expect("enough rows to screen");
        let sample = data.sample(every).unwrap();
        let lik = |data| BetaGeoLik {
            data,
            modified: false,
        };
        let (full, on_sample) = (lik(&data), lik(&sample));
        let opts = FitOptions::default();
        let starts = starts(&data);
        let plain = minimize_multistart(MODEL, &full, &starts, &opts, None).unwrap();
        let screen: &(dyn Objective + Sync) = &on_sample;
        let screened = minimize_multistart(MODEL, &full, &starts, &opts, Some(screen)).unwrap();
        assert!(plain.converged && screened.converged);
        for (p, s) in plain.x.iter().zip(&screened.x) {
            assert!((p - s).abs() < 1e-6, "{:?} vs {:?}", plain.x, screened.x);
        }
        // The simulated truth, loosely (90,000 customers).
        let truth = [1.0f64, 2.0, 1.0, 3.0];
        for (x, t) in screened.x.iter().zip(truth) {
            assert!((x.exp() / t - 1.0).abs() < 0.15, "{:?}", screened.x);
        }
    }
}
