//! Ordinary least squares with the inference statsmodels reports, and ridge regression.
//!
//! OLS solves by Householder QR (never the normal equations, which square the condition
//! number) and reports what `statsmodels.OLS(...).fit().summary()` does: coefficients with
//! standard errors, t statistics, p-values and confidence intervals; R², adjusted R², the F
//! test, log-likelihood, AIC and BIC; and residual diagnostics (Durbin-Watson, Jarque-Bera with
//! skew and kurtosis, the condition number).
//!
//! Ridge minimises `Σ (y - b₀ - x·b)² + α ‖b‖²` with the intercept unpenalised (as
//! scikit-learn's `Ridge`), solved as OLS on the centred data stacked over `√α · I`. Its
//! coefficients are biased on purpose, so it reports no standard errors or p-values.

use statrs::distribution::{ChiSquared, ContinuousCDF, FisherSnedecor, StudentsT};

use crate::ModelError;
use crate::features::FeatureMatrix;

use super::qr::Qr;

/// Settings of [`fit_linear`].
#[derive(Debug, Clone, PartialEq)]
pub struct LinearOptions {
    /// Add an intercept column named `const` first (default true).
    pub intercept: bool,
    /// Ridge penalty α (default 0: plain OLS with full inference).
    pub ridge: f64,
    /// Confidence level of the coefficient intervals (default 0.95).
    pub confidence: f64,
}

impl Default for LinearOptions {
    fn default() -> Self {
        LinearOptions {
            intercept: true,
            ridge: 0.0,
            confidence: 0.95,
        }
    }
}

/// One row of the coefficient table.
#[derive(Debug, Clone, PartialEq)]
pub struct Coefficient {
    /// `const` for the intercept, else the feature's name.
    pub name: String,
    /// The estimate.
    pub estimate: f64,
    /// Its standard error (OLS only).
    pub std_error: Option<f64>,
    /// t statistic (OLS only).
    pub t: Option<f64>,
    /// Two-sided p-value of `estimate = 0` (OLS only).
    pub p_value: Option<f64>,
    /// Confidence interval `(lower, upper)` at the fit's level (OLS only).
    pub interval: Option<(f64, f64)>,
}

/// Residual diagnostics of an OLS fit.
#[derive(Debug, Clone, PartialEq)]
pub struct ResidualDiagnostics {
    /// Durbin-Watson statistic (about 2 without autocorrelation).
    pub durbin_watson: f64,
    /// Skewness of the residuals.
    pub skew: f64,
    /// Kurtosis of the residuals (3 for normal ones).
    pub kurtosis: f64,
    /// Jarque-Bera normality statistic.
    pub jarque_bera: f64,
    /// Its p-value (chi-square, 2 degrees of freedom).
    pub jarque_bera_p: f64,
    /// 2-norm condition number of the design matrix (large values flag multicollinearity).
    pub condition_number: f64,
}

/// A fitted linear regression.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearFit {
    /// The coefficient table, intercept first when there is one.
    pub coefficients: Vec<Coefficient>,
    /// Whether the first coefficient is the intercept.
    pub intercept: bool,
    /// The ridge penalty used (0 for OLS).
    pub ridge: f64,
    /// Number of observations.
    pub n: usize,
    /// Residual degrees of freedom (n minus the number of coefficients).
    pub df_resid: usize,
    /// Sum of squared residuals.
    pub ssr: f64,
    /// Residual variance estimate `ssr / df_resid` (σ²).
    pub scale: f64,
    /// R² (centred when there is an intercept, uncentred otherwise, as statsmodels).
    pub r_squared: f64,
    /// Adjusted R².
    pub adj_r_squared: f64,
    /// F statistic of all slopes being zero, with its p-value (OLS only).
    pub f_test: Option<(f64, f64)>,
    /// Gaussian log-likelihood at the estimate.
    pub log_likelihood: f64,
    /// Akaike information criterion.
    pub aic: f64,
    /// Bayesian information criterion.
    pub bic: f64,
    /// Residual diagnostics (OLS only).
    pub diagnostics: Option<ResidualDiagnostics>,
    /// The confidence level of the intervals.
    pub confidence: f64,
}

impl LinearFit {
    /// Predictions for the rows of `features` (same columns as the fit, without `const`).
    pub fn predict(&self, features: &FeatureMatrix) -> Result<Vec<f64>, ModelError> {
        let slopes = &self.coefficients[usize::from(self.intercept)..];
        features.expect_columns(slopes.len())?;
        let base = if self.intercept {
            self.coefficients[0].estimate
        } else {
            0.0
        };
        let mut out = vec![base; features.rows()];
        for (j, coefficient) in slopes.iter().enumerate() {
            for (o, x) in out.iter_mut().zip(features.column(j)) {
                *o += coefficient.estimate * x;
            }
        }
        Ok(out)
    }
}

/// Fits `y` on `features` by OLS (or ridge when `options.ridge > 0`).
pub fn fit_linear(
    features: &FeatureMatrix,
    y: &[f64],
    options: &LinearOptions,
) -> Result<LinearFit, ModelError> {
    let n = features.rows();
    if y.len() != n {
        return Err(ModelError::InvalidParameter {
            name: "target length",
            value: y.len() as f64,
            hint: "the target needs one value per feature row",
        });
    }
    if let Some(row) = y.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::InvalidInput {
            row,
            field: "target",
            value: y[row],
            hint: "regression targets must be finite numbers",
        });
    }
    if !(options.ridge.is_finite() && options.ridge >= 0.0) {
        return Err(ModelError::InvalidParameter {
            name: "ridge",
            value: options.ridge,
            hint: "the ridge penalty must be a finite number >= 0",
        });
    }
    if !(options.confidence > 0.0 && options.confidence < 1.0) {
        return Err(ModelError::InvalidParameter {
            name: "confidence",
            value: options.confidence,
            hint: "the confidence level must be between 0 and 1, e.g. 0.95",
        });
    }
    let mut names: Vec<String> = Vec::new();
    if options.intercept {
        names.push("const".to_owned());
    }
    names.extend(features.names().iter().cloned());
    let k = names.len();
    if n <= k {
        return Err(ModelError::InvalidParameter {
            name: "rows",
            value: n as f64,
            hint: "a linear regression needs more rows than coefficients (features plus the intercept)",
        });
    }
    if options.ridge > 0.0 {
        let estimates = ridge_estimates(features, y, options)?;
        return Ok(point_fit(features, y, options, names, estimates)?.0);
    }
    let mut columns = Vec::with_capacity(n * k);
    if options.intercept {
        columns.extend(std::iter::repeat_n(1.0, n));
    }
    for j in 0..features.cols() {
        columns.extend_from_slice(features.column(j));
    }
    let qr = Qr::new(columns, n, k).map_err(|c| collinear_error(&names, c.0))?;
    let estimates = qr.solve(y);
    let (mut fit, residuals) = point_fit(features, y, options, names, estimates)?;
    add_inference(&mut fit, &residuals, &qr);
    Ok(fit)
}

/// The fit with its estimates and goodness of fit (no inference yet), and its residuals.
fn point_fit(
    features: &FeatureMatrix,
    y: &[f64],
    options: &LinearOptions,
    names: Vec<String>,
    estimates: Vec<f64>,
) -> Result<(LinearFit, Vec<f64>), ModelError> {
    let n = features.rows();
    let coefficients: Vec<Coefficient> = names
        .into_iter()
        .zip(estimates)
        .map(|(name, estimate)| Coefficient {
            name,
            estimate,
            std_error: None,
            t: None,
            p_value: None,
            interval: None,
        })
        .collect();
    let mut fit = LinearFit {
        df_resid: n - coefficients.len(),
        coefficients,
        intercept: options.intercept,
        ridge: options.ridge,
        n,
        ssr: 0.0,
        scale: 0.0,
        r_squared: 0.0,
        adj_r_squared: 0.0,
        f_test: None,
        log_likelihood: 0.0,
        aic: 0.0,
        bic: 0.0,
        diagnostics: None,
        confidence: options.confidence,
    };
    let residuals: Vec<f64> = fit
        .predict(features)?
        .iter()
        .zip(y)
        .map(|(p, y)| y - p)
        .collect();
    fill_goodness(&mut fit, y, &residuals);
    Ok((fit, residuals))
}

fn collinear_error(names: &[String], column: usize) -> ModelError {
    ModelError::Collinear {
        column: names.get(column).cloned().unwrap_or_default(),
    }
}

/// Ridge coefficients: OLS of the centred target on the centred features stacked over
/// `√α · I` (no intercept column), the intercept recovered from the means.
fn ridge_estimates(
    features: &FeatureMatrix,
    y: &[f64],
    options: &LinearOptions,
) -> Result<Vec<f64>, ModelError> {
    let n = features.rows();
    let p = features.cols();
    let mean = |v: &[f64]| {
        if options.intercept {
            v.iter().sum::<f64>() / n as f64
        } else {
            0.0
        }
    };
    let y_mean = mean(y);
    let x_means: Vec<f64> = (0..p).map(|j| mean(features.column(j))).collect();
    let rows = n + p;
    let mut columns = Vec::with_capacity(rows * p);
    for (j, x_mean) in x_means.iter().enumerate() {
        columns.extend(features.column(j).iter().map(|x| x - x_mean));
        columns.extend((0..p).map(|i| if i == j { options.ridge.sqrt() } else { 0.0 }));
    }
    let mut target: Vec<f64> = y.iter().map(|v| v - y_mean).collect();
    target.extend(std::iter::repeat_n(0.0, p));
    let slopes = if p == 0 {
        Vec::new()
    } else {
        Qr::new(columns, rows, p)
            .map_err(|c| collinear_error(features.names(), c.0))?
            .solve(&target)
    };
    let mut out = Vec::with_capacity(p + 1);
    if options.intercept {
        out.push(y_mean - slopes.iter().zip(&x_means).map(|(b, m)| b * m).sum::<f64>());
    }
    out.extend(slopes);
    Ok(out)
}

/// R², adjusted R², log-likelihood, AIC and BIC from the residuals.
fn fill_goodness(fit: &mut LinearFit, y: &[f64], residuals: &[f64]) {
    let n = fit.n as f64;
    let k = fit.coefficients.len() as f64;
    let ssr: f64 = residuals.iter().map(|e| e * e).sum();
    let tss: f64 = if fit.intercept {
        let mean = y.iter().sum::<f64>() / n;
        y.iter().map(|v| (v - mean) * (v - mean)).sum()
    } else {
        y.iter().map(|v| v * v).sum()
    };
    fit.ssr = ssr;
    fit.scale = ssr / fit.df_resid as f64;
    fit.r_squared = if tss > 0.0 { 1.0 - ssr / tss } else { 0.0 };
    let k_constant = if fit.intercept { 1.0 } else { 0.0 };
    fit.adj_r_squared = 1.0 - (n - k_constant) / fit.df_resid as f64 * (1.0 - fit.r_squared);
    // A perfect fit has ssr = 0 and an unbounded likelihood; report it as +inf, not NaN.
    fit.log_likelihood = if ssr > 0.0 {
        -n / 2.0 * ((2.0 * std::f64::consts::PI).ln() + (ssr / n).ln() + 1.0)
    } else {
        f64::INFINITY
    };
    fit.aic = -2.0 * fit.log_likelihood + 2.0 * k;
    fit.bic = -2.0 * fit.log_likelihood + k * n.ln();
    if tss > 0.0 && fit.ridge == 0.0 {
        let df_model = k - k_constant;
        if df_model > 0.0 {
            let f = ((tss - ssr) / df_model) / (ssr / fit.df_resid as f64);
            let p = FisherSnedecor::new(df_model, fit.df_resid as f64)
                .map(|d| if f.is_finite() { d.sf(f) } else { 0.0 })
                .unwrap_or(f64::NAN);
            fit.f_test = Some((f, p));
        }
    }
}

/// Standard errors, t statistics, p-values, intervals and residual diagnostics of an OLS fit.
fn add_inference(fit: &mut LinearFit, residuals: &[f64], qr: &Qr) {
    let k = fit.coefficients.len();
    let df_resid = fit.df_resid;
    let confidence = fit.confidence;
    let gram_inverse = qr.gram_inverse();
    let t_dist = StudentsT::new(0.0, 1.0, df_resid as f64).ok();
    let t_crit = t_dist
        .as_ref()
        .map_or(f64::NAN, |d| d.inverse_cdf(0.5 + confidence / 2.0));
    for (j, coefficient) in fit.coefficients.iter_mut().enumerate() {
        let se = (fit.scale * gram_inverse[j * k + j]).max(0.0).sqrt();
        let t = if se > 0.0 {
            coefficient.estimate / se
        } else if coefficient.estimate == 0.0 {
            0.0
        } else {
            coefficient.estimate.signum() * f64::INFINITY
        };
        let p = match &t_dist {
            Some(d) if t.is_finite() => 2.0 * d.sf(t.abs()),
            Some(_) => 0.0,
            None => f64::NAN,
        };
        coefficient.std_error = Some(se);
        coefficient.t = Some(t);
        coefficient.p_value = Some(p);
        coefficient.interval = Some((
            coefficient.estimate - t_crit * se,
            coefficient.estimate + t_crit * se,
        ));
    }
    fit.diagnostics = Some(diagnostics(residuals, qr.condition_number()));
}

fn diagnostics(residuals: &[f64], condition_number: f64) -> ResidualDiagnostics {
    let n = residuals.len() as f64;
    let sum_sq: f64 = residuals.iter().map(|e| e * e).sum();
    let diff_sq: f64 = residuals.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
    let mean = residuals.iter().sum::<f64>() / n;
    let moment = |k: i32| residuals.iter().map(|e| (e - mean).powi(k)).sum::<f64>() / n;
    let (m2, m3, m4) = (moment(2), moment(3), moment(4));
    let (skew, kurtosis) = if m2 > 0.0 {
        (m3 / m2.powf(1.5), m4 / (m2 * m2))
    } else {
        (0.0, 3.0)
    };
    let jarque_bera = n / 6.0 * (skew * skew + (kurtosis - 3.0).powi(2) / 4.0);
    let jarque_bera_p = ChiSquared::new(2.0).map_or(f64::NAN, |d| d.sf(jarque_bera));
    ResidualDiagnostics {
        durbin_watson: if sum_sq > 0.0 { diff_sq / sum_sq } else { 0.0 },
        skew,
        kurtosis,
        jarque_bera,
        jarque_bera_p,
        condition_number,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(columns: &[(&str, &[f64])]) -> FeatureMatrix {
        FeatureMatrix::from_columns(
            columns
                .iter()
                .map(|(n, v)| ((*n).to_owned(), v.to_vec()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn simple_regression_matches_the_textbook_formulas() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [2.0, 4.1, 5.9, 8.2, 9.8];
        let fit = fit_linear(&matrix(&[("x", &x)]), &y, &LinearOptions::default()).unwrap();
        // slope = Sxy / Sxx = 19.7 / 10, intercept = ȳ - slope·x̄.
        let slope = fit.coefficients[1].estimate;
        assert!((slope - 1.97).abs() < 1e-12);
        assert!((fit.coefficients[0].estimate - (6.0 - 1.97 * 3.0)).abs() < 1e-12);
        let ssr: f64 = x
            .iter()
            .zip(&y)
            .map(|(x, y)| (y - 0.09 - 1.97 * x).powi(2))
            .sum();
        assert!((fit.ssr - ssr).abs() < 1e-12);
        let se_slope = (ssr / 3.0 / 10.0).sqrt();
        assert!((fit.coefficients[1].std_error.unwrap() - se_slope).abs() < 1e-12);
        // With one slope, F = t².
        let t = fit.coefficients[1].t.unwrap();
        assert!((fit.f_test.unwrap().0 - t * t).abs() < 1e-8 * t * t);
    }

    #[test]
    fn ridge_shrinks_the_slope_and_leaves_the_intercept_unpenalised() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [2.0, 4.1, 5.9, 8.2, 9.8];
        let options = LinearOptions {
            ridge: 10.0,
            ..LinearOptions::default()
        };
        let fit = fit_linear(&matrix(&[("x", &x)]), &y, &options).unwrap();
        // One centred feature: slope = Sxy / (Sxx + α).
        let slope = 19.7 / (10.0 + 10.0);
        assert!((fit.coefficients[1].estimate - slope).abs() < 1e-12);
        assert!((fit.coefficients[0].estimate - (6.0 - slope * 3.0)).abs() < 1e-12);
        assert!(fit.coefficients[1].std_error.is_none());
    }

    #[test]
    fn a_dummy_for_every_level_is_named_as_collinear() {
        let a = [1.0, 0.0, 1.0, 0.0];
        let b = [0.0, 1.0, 0.0, 1.0];
        let err = fit_linear(
            &matrix(&[("plan[a]", &a), ("plan[b]", &b)]),
            &[1.0, 2.0, 3.0, 4.0],
            &LinearOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            ModelError::Collinear {
                column: "plan[b]".into()
            }
        );
    }

    #[test]
    fn too_few_rows_and_non_finite_targets_are_errors() {
        let x = [1.0, 2.0];
        assert!(
            fit_linear(
                &matrix(&[("x", &x)]),
                &[1.0, 2.0],
                &LinearOptions::default()
            )
            .is_err()
        );
        let x = [1.0, 2.0, 3.0];
        assert!(
            fit_linear(
                &matrix(&[("x", &x)]),
                &[1.0, f64::NAN, 2.0],
                &LinearOptions::default()
            )
            .is_err()
        );
    }

    #[test]
    fn a_perfect_fit_reports_zero_error_without_nan() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [3.0, 5.0, 7.0, 9.0];
        let fit = fit_linear(&matrix(&[("x", &x)]), &y, &LinearOptions::default()).unwrap();
        assert!(fit.ssr < 1e-20);
        assert!(!fit.coefficients.iter().any(|c| c.p_value.unwrap().is_nan()));
    }
}
