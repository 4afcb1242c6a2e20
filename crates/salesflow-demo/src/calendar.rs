//! The fixed two-year calendar, seasonality profiles and time helpers.
//!
//! All times are whole seconds since the Unix epoch (UTC).

use chrono::{DateTime, Datelike, Months, NaiveDate};

/// 2024-01-01T00:00:00Z, the first instant of the data (a Monday).
pub(crate) const START: i64 = 1_704_067_200;
/// 2026-01-01T00:00:00Z, the exclusive end of the data.
pub(crate) const END: i64 = 1_767_225_600;
/// 2025-12-31T23:59:59Z, the last representable instant.
pub(crate) const LAST: i64 = END - 1;
/// Seconds per day.
pub(crate) const DAY: i64 = 86_400;
/// Seconds per hour.
pub(crate) const HOUR: i64 = 3_600;
/// Days in the calendar (2024 is a leap year).
pub(crate) const DAYS: usize = 731;
/// Hours in the calendar.
pub(crate) const HOURS: usize = DAYS * 24;
/// Whole Monday-to-Sunday weeks in which customers are acquired and marketing
/// money is spent (2024-01-01 .. 2025-12-28).
pub(crate) const WEEKS: usize = 104;
/// Days from 1970-01-01 to 2024-01-01 (for `Date32`).
pub(crate) const START_EPOCH_DAY: i32 = 19_723;

/// Monthly multiplier of the purchase intensity (January first), before
/// normalisation to a two-year mean of 1. Deliberately milder than the
/// acquisition seasonality: a BG/NBD fit ignores seasonality, and a stronger
/// profile biases the fitted dropout parameters `a, b` (with Nov 1.35 / Dec
/// 1.50 they came out about 25 % low; with this profile about 10 %).
pub(crate) const PURCHASE_MONTH: [f64; 12] = [
    0.92, 0.90, 0.97, 0.97, 0.97, 0.92, 0.90, 0.92, 1.00, 1.03, 1.18, 1.25,
];
/// Monthly multiplier of the market demand for new customers.
pub(crate) const DEMAND_MONTH: [f64; 12] = [
    0.90, 0.85, 0.95, 1.00, 0.95, 0.80, 0.75, 0.80, 1.00, 1.05, 1.45, 1.60,
];
/// Monthly multiplier of the marketing budget.
pub(crate) const BUDGET_MONTH: [f64; 12] = [
    0.90, 0.90, 1.00, 1.00, 1.00, 0.85, 0.80, 0.85, 1.00, 1.10, 1.35, 1.30,
];
/// Day-of-week multiplier, Monday first.
pub(crate) const WEEKDAY: [f64; 7] = [1.00, 1.00, 1.00, 1.05, 1.10, 0.95, 0.90];
/// Hour-of-day multiplier (UTC), midnight first.
pub(crate) const HOUR_OF_DAY: [f64; 24] = [
    0.25, 0.15, 0.10, 0.10, 0.10, 0.20, 0.40, 0.70, 1.00, 1.20, 1.30, 1.35, 1.40, 1.35, 1.30, 1.30,
    1.30, 1.35, 1.45, 1.55, 1.60, 1.45, 1.00, 0.60,
];

/// Precomputed calendar tables shared (read-only) by all generator threads.
pub(crate) struct Calendar {
    /// Hourly purchase-intensity multiplier (month x weekday x hour), scaled so
    /// its mean over the 17,544 hours is exactly 1.
    pub purchase: Vec<f64>,
    /// Maximum of `purchase` (the thinning envelope).
    pub purchase_max: f64,
    /// Cumulative weekday x hour weights of the 168 hours of a week (Monday 00:00 first).
    pub week_cdf: Vec<f64>,
    /// Month (0-based) of each acquisition week's Thursday.
    pub week_month: Vec<usize>,
    /// Days (index from START) with the Black Friday / Cyber Monday discount.
    pub discount_day: Vec<bool>,
}

impl Calendar {
    /// Builds the tables.
    pub(crate) fn new() -> Self {
        let mut purchase = Vec::with_capacity(HOURS);
        for h in 0..HOURS {
            let month = month0(START + h as i64 * HOUR);
            let weekday = (h / 24) % 7; // 2024-01-01 is a Monday
            purchase.push(PURCHASE_MONTH[month] * WEEKDAY[weekday] * HOUR_OF_DAY[h % 24]);
        }
        let mean = purchase.iter().sum::<f64>() / HOURS as f64;
        for v in &mut purchase {
            *v /= mean;
        }
        let purchase_max = purchase.iter().copied().fold(0.0, f64::max);

        let mut week_cdf = Vec::with_capacity(168);
        let mut acc = 0.0;
        for h in 0..168 {
            acc += WEEKDAY[h / 24] * HOUR_OF_DAY[h % 24];
            week_cdf.push(acc);
        }
        let week_month = (0..WEEKS)
            .map(|w| month0(START + (w as i64 * 7 + 3) * DAY))
            .collect();

        let mut discount_day = vec![false; DAYS];
        for (from, to) in [
            ((2024, 11, 29), (2024, 12, 2)),
            ((2025, 11, 28), (2025, 12, 1)),
        ] {
            discount_day[day_index(from)..=day_index(to)].fill(true);
        }
        Self {
            purchase,
            purchase_max,
            week_cdf,
            week_month,
            discount_day,
        }
    }

    /// The purchase-intensity multiplier at time `t` (seconds).
    pub(crate) fn purchase_at(&self, t: i64) -> f64 {
        let h = ((t - START) / HOUR).clamp(0, HOURS as i64 - 1) as usize;
        self.purchase[h]
    }

    /// Whether `t` falls on a discount day.
    pub(crate) fn is_discount(&self, t: i64) -> bool {
        let d = ((t - START) / DAY).clamp(0, DAYS as i64 - 1) as usize;
        self.discount_day[d]
    }

    /// Maps `u` in [0, 1) to a second within week `week`, following the
    /// weekday x hour profile. Monotone in `u`.
    pub(crate) fn time_in_week(&self, week: usize, u: f64) -> i64 {
        let total = self.week_cdf[self.week_cdf.len() - 1];
        let target = u * total;
        let h = self
            .week_cdf
            .partition_point(|&c| c <= target)
            .min(self.week_cdf.len() - 1);
        let before = if h == 0 { 0.0 } else { self.week_cdf[h - 1] };
        let width = self.week_cdf[h] - before;
        let frac = if width > 0.0 {
            ((target - before) / width).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let secs = ((frac * HOUR as f64) as i64).min(HOUR - 1);
        START + week as i64 * 7 * DAY + h as i64 * HOUR + secs
    }
}

/// Month (0-based) of a timestamp.
pub(crate) fn month0(t: i64) -> usize {
    DateTime::from_timestamp(t, 0)
        .expect("calendar timestamps are within chrono's range")
        .month0() as usize
}

/// Day index (from START) of a calendar date inside the data range.
fn day_index((y, m, d): (i32, u32, u32)) -> usize {
    let date = NaiveDate::from_ymd_opt(y, m, d).expect("valid constant date");
    let start = NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid constant date");
    (date - start).num_days() as usize
}

/// `t` plus `months` calendar months (day clamped to the month's end), or
/// `None` if that is out of chrono's range.
pub(crate) fn add_months(t: i64, months: u32) -> Option<i64> {
    DateTime::from_timestamp(t, 0)?
        .checked_add_months(Months::new(months))
        .map(|d| d.timestamp())
}

/// Seconds to Arrow microseconds.
pub(crate) fn micros(t: i64) -> i64 {
    t * 1_000_000
}

/// Rounds dollars to integer cents.
pub(crate) fn to_cents(x: f64) -> i64 {
    (x * 100.0).round() as i64
}

/// Integer cents to dollars (the nearest `f64`, so it prints with at most two decimals).
pub(crate) fn dollars(cents: i64) -> f64 {
    cents as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_agree_with_chrono() {
        let start = NaiveDate::from_ymd_opt(2024, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc().timestamp());
        assert_eq!(start, Some(START));
        let end = NaiveDate::from_ymd_opt(2026, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc().timestamp());
        assert_eq!(end, Some(END));
        assert_eq!((END - START) / DAY, DAYS as i64);
        assert_eq!(START / DAY, i64::from(START_EPOCH_DAY));
    }

    #[test]
    fn purchase_profile_has_mean_one_and_peaks_in_winter() {
        let cal = Calendar::new();
        let mean = cal.purchase.iter().sum::<f64>() / HOURS as f64;
        assert!((mean - 1.0).abs() < 1e-9);
        let nov = cal.purchase_at(START + 320 * DAY + 19 * HOUR);
        let jul = cal.purchase_at(START + 200 * DAY + 19 * HOUR);
        assert!(nov > jul);
    }

    #[test]
    fn time_in_week_is_monotone_and_inside_the_week() {
        let cal = Calendar::new();
        let mut prev = i64::MIN;
        for i in 0..1000 {
            let t = cal.time_in_week(3, f64::from(i) / 1000.0);
            assert!(t >= prev);
            assert!((START + 21 * DAY..START + 28 * DAY).contains(&t));
            prev = t;
        }
    }

    #[test]
    fn discount_days() {
        let cal = Calendar::new();
        assert_eq!(cal.discount_day.iter().filter(|&&d| d).count(), 8);
        assert!(!cal.is_discount(START));
    }
}
