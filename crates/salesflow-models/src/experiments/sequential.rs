//! The mixture sequential probability ratio test (mSPRT; Johari, Koomen, Pekelis & Walsh
//! 2017, "Peeking at A/B tests"), whose p-value stays valid however often it is looked at.

/// The mixture likelihood ratio after `n` pairs with mean difference `difference` (variant
/// minus control), per-pair variance `v` (`σ_x² + σ_y²`), mixing variance `tau2` around the
/// null difference `theta0`:
/// `Λ = √(v/(v + nτ²)) · exp(n²τ²(d − θ0)² / (2v(v + nτ²)))`. Returned on the log scale.
pub fn log_likelihood_ratio(n: f64, difference: f64, v: f64, tau2: f64, theta0: f64) -> f64 {
    let spread = v + n * tau2;
    0.5 * (v / spread).ln() + n * n * tau2 * (difference - theta0).powi(2) / (2.0 * v * spread)
}

/// An mSPRT watched as data arrive: feed the running mean difference after each new pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Msprt {
    v: f64,
    tau2: f64,
    theta0: f64,
    p_value: f64,
}

impl Msprt {
    /// A test of `difference = theta0` with per-pair variance `v` and mixing variance `tau2`.
    pub fn new(v: f64, tau2: f64, theta0: f64) -> Msprt {
        Msprt {
            v,
            tau2,
            theta0,
            p_value: 1.0,
        }
    }

    /// Updates with the running mean difference after `n` pairs; returns the always-valid
    /// p-value `min over looks of 1/Λ`.
    pub fn observe(&mut self, n: f64, mean_difference: f64) -> f64 {
        let log_lambda = log_likelihood_ratio(n, mean_difference, self.v, self.tau2, self.theta0);
        self.p_value = self.p_value.min((-log_lambda).exp());
        self.p_value
    }

    /// The always-valid p-value so far.
    pub fn p_value(&self) -> f64 {
        self.p_value
    }
}
