//! Simple unit economics: discounted value of a revenue stream per unit of acquisition cost.

use crate::error::ModelError;

/// Discounted value over CAC: Σ_{t=1}^{len} ARR_t / (1 + rate)^t / CAC.
///
/// `arr[0]` is the revenue of year 1, received at the end of year 1 and so discounted once;
/// `rate` is the discount rate per period (0.10 = 10 %); `cac` is the acquisition cost paid
/// today (undiscounted). Example: ARR 5000, 6000, 7000 at 10 % with CAC 1000 gives
/// (4545.45 + 4958.68 + 5259.20)/1000 = 14.763.
///
/// The figure 14.14 that is often quoted for this example does not come out of any of the
/// usual slips we could check: discounting from t = 0 gives 16.240, discounting one period
/// late 13.421, continuous discounting e^(−0.1 t) 14.622, mid-year discounting 15.484, simple
/// interest 1/(1 + 0.1 t) 14.930, and 12 % instead of 10 % 14.230 (annual discounting reaches
/// 14.14 only at a rate of 12.35 %). We therefore do not claim an explanation for it.
///
/// Errors: `rate <= -1`, `cac <= 0`, or any non-finite input.
pub fn discounted_value_over_cac(arr: &[f64], rate: f64, cac: f64) -> Result<f64, ModelError> {
    if !(rate.is_finite() && rate > -1.0) {
        return Err(ModelError::InvalidParameter {
            name: "rate",
            value: rate,
            hint: "the discount rate must be finite and > -1",
        });
    }
    if !(cac.is_finite() && cac > 0.0) {
        return Err(ModelError::InvalidParameter {
            name: "cac",
            value: cac,
            hint: "the acquisition cost must be finite and > 0",
        });
    }
    let mut pv = 0.0;
    let mut factor = 1.0;
    for (t, &a) in arr.iter().enumerate() {
        if !a.is_finite() {
            return Err(ModelError::InvalidInput {
                row: t,
                field: "arr",
                value: a,
                hint: "revenue must be finite",
            });
        }
        factor /= 1.0 + rate;
        pv += a * factor;
    }
    let v = pv / cac;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(ModelError::InvalidParameter {
            name: "cac",
            value: cac,
            hint: "too small for these revenues: the ratio overflows",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_example_is_14_763() {
        let v = discounted_value_over_cac(&[5000.0, 6000.0, 7000.0], 0.10, 1000.0).unwrap();
        assert_eq!((v * 1000.0).round() / 1000.0, 14.763);
        assert!((v - 14.763_335_837_716_01).abs() < 1e-12, "{v}");
        // The alternatives named in the doc comment.
        let from_t0: f64 = 5.0 + 6.0 / 1.1 + 7.0 / 1.21;
        assert!((from_t0 - 16.2397).abs() < 1e-4);
    }

    #[test]
    fn rejects_bad_inputs() {
        assert!(discounted_value_over_cac(&[1.0], 0.1, 0.0).is_err());
        assert!(discounted_value_over_cac(&[1.0], -1.0, 1.0).is_err());
        assert!(discounted_value_over_cac(&[f64::NAN], 0.1, 1.0).is_err());
        assert_eq!(discounted_value_over_cac(&[], 0.1, 1.0), Ok(0.0));
    }
}
