//! The parameters of the generative model, exported so that tests elsewhere
//! (CLV, churn, A/B, marketing-mix) can check that fitted models recover them.
//!
//! Time is measured in **days** for the purchase process and in **months**
//! for subscriptions. See the crate documentation for how they are used.

/// BG/NBD: shape `r` of the Gamma distribution of purchase rates.
pub const BGNBD_R: f64 = 0.8;
/// BG/NBD: rate `alpha` (days) of the Gamma distribution of purchase rates;
/// a customer's rate `lambda ~ Gamma(shape r, rate alpha)` per day (mean 0.01/day).
pub const BGNBD_ALPHA: f64 = 80.0;
/// BG/NBD: `a` of the Beta distribution of the dropout probability `p`.
pub const BGNBD_A: f64 = 0.6;
/// BG/NBD: `b` of the Beta distribution of the dropout probability `p`.
pub const BGNBD_B: f64 = 3.0;

/// Gamma-Gamma: shape `p` of each transaction value, `z ~ Gamma(shape p, rate nu)`.
pub const GG_P: f64 = 6.0;
/// Gamma-Gamma: shape `q` of the per-customer rate `nu ~ Gamma(shape q, rate gamma)`.
pub const GG_Q: f64 = 4.0;
/// Gamma-Gamma: rate `gamma` of `nu`; the population mean order value is
/// `p * gamma / (q - 1)` = 90 USD.
pub const GG_GAMMA: f64 = 45.0;

/// Mean delay between sign-up (`created_at`) and the first order, in seconds.
pub const FIRST_ORDER_DELAY_S: f64 = 1_200.0;
/// Probability that a completed order is later refunded (a separate
/// `refunded` row with the negated amount).
pub const REFUND_PROB: f64 = 0.021;
/// Probability that a completed order is accompanied by a `cancelled` order.
pub const CANCEL_PROB: f64 = 0.01;

/// Share of customers who start a subscription.
pub const SUBSCRIPTION_PROB: f64 = 0.32;
/// Shifted-beta-geometric churn: `alpha` of the Beta distribution of each
/// subscriber's monthly churn probability.
pub const SBG_ALPHA: f64 = 1.0;
/// Shifted-beta-geometric churn: `beta` of that Beta distribution.
pub const SBG_BETA: f64 = 3.0;

/// Share of customers enrolled in the `free_trial_2025` experiment.
pub const EXPERIMENT_SHARE: f64 = 0.40;
/// Conversion rate of the control variant.
pub const EXPERIMENT_CONTROL_RATE: f64 = 0.05;
/// Conversion rate of the treatment variant.
pub const EXPERIMENT_TREATMENT_RATE: f64 = 0.065;

/// Deal stage pass-through probabilities (contact -> needs_analysis ->
/// demo -> proposal -> won), before source and owner multipliers.
pub const STAGE_PASS: [f64; 4] = [0.70, 0.60, 0.55, 0.45];
/// Median days spent in each open stage (log-normal, sigma [`STAGE_SIGMA`]).
pub const STAGE_MEDIAN_DAYS: [f64; 4] = [3.0, 6.0, 9.0, 12.0];
/// Log-normal sigma of the time spent in a stage.
pub const STAGE_SIGMA: f64 = 0.7;
/// Probability that a deal skips one intermediate stage (needs_analysis or demo).
pub const STAGE_SKIP_PROB: f64 = 0.05;

/// The planted response of each paid channel: `(channel, half-saturation K in weekly spend
/// per segment at 20,000 customers, Hill shape h)`. New customers of a (channel, segment) cell
/// in a week are proportional to `x^h / (K^h + x^h)` of that cell's spend `x` (no carry-over).
pub fn planted_response_curves() -> Vec<(&'static str, f64, f64)> {
    crate::marketing::CHANNELS
        .iter()
        .map(|c| (c.name, c.half_saturation, c.shape))
        .collect()
}
