//! Every metric pinned on a small history computed by hand.

use std::path::Path;

use chrono::NaiveDate;
use salesflow_core::ReadOptions;
use salesflow_core::progress::NoProgress;

use super::*;

/// Eight deals through contact → demo → proposal (all dates midnight UTC, 2024 unless said):
///
/// | deal | status | events | notes |
/// |---|---|---|---|
/// | D1 | won 01-21 | contact 01-01, proposal 01-11, won 01-21 | skips demo |
/// | D2 | won 01-18 | contact 01-02, demo 01-04, proposal 01-08, won 01-18 | |
/// | D3 | Lost 01-15 | contact 01-03, demo 01-05, lost 01-15 | status spelled `Lost` |
/// | D4 | open | contact 01-05, demo 01-07, proposal 01-10, lost 01-12, contact 01-20, demo 01-25 | reopened |
/// | D5 | open | contact 01-06, demo 01-08, proposal 01-10 | stalled |
/// | D6 | (none) | no events, stage demo, created 02-25 | status from stage: open |
/// | D7 | (none) | no events, stage lost, closed 01-06 | status from stage: lost |
/// | D8 | won 2023-12-25 | contact 2023-12-15, won 2023-12-25 | skips every stage |
const DEALS: &str = "\
deal_id,created_at,stage,amount,owner,closed_at,status
D1,2024-01-01,won,1000,ann,2024-01-21,won
D2,2024-01-02,won,3000,bob,2024-01-18,won
D3,2024-01-03,lost,500,ann,2024-01-15,Lost
D4,2024-01-05,demo,2000,bob,,open
D5,2024-01-06,proposal,4000,ann,,open
D6,2024-02-25,demo,1500,,,
D7,2024-01-04,lost,700,carl,2024-01-06,
D8,2023-12-15,won,800,carl,2023-12-25,won
";

const EVENTS: &str = "\
deal_id,stage,entered_at
D1,contact,2024-01-01
D1,proposal,2024-01-11
D1,won,2024-01-21
D2,contact,2024-01-02
D2,demo,2024-01-04
D2,proposal,2024-01-08
D2,won,2024-01-18
D3,contact,2024-01-03
D3,demo,2024-01-05
D3,lost,2024-01-15
D4,contact,2024-01-05
D4,demo,2024-01-07
D4,proposal,2024-01-10
D4,lost,2024-01-12
D4,contact,2024-01-20
D4,demo,2024-01-25
D5,contact,2024-01-06
D5,demo,2024-01-08
D5,proposal,2024-01-10
D8,contact,2023-12-15
D8,won,2023-12-25
";

const EPS: f64 = 1e-9;

fn close(actual: Option<f64>, expected: f64) -> bool {
    actual.is_some_and(|a| (a - expected).abs() < EPS)
}

macro_rules! assert_close {
    ($actual:expr, $expected:expr) => {{
        let (actual, expected): (Option<f64>, f64) = ($actual.into(), $expected);
        assert!(
            close(actual, expected),
            "{} = {:?}, expected {expected}",
            stringify!($actual),
            actual
        );
    }};
}

fn dataset(dir: &Path, tables: &[(TableKind, &str)]) -> Dataset {
    let mut dataset = Dataset::new(2);
    for (kind, text) in tables {
        let path = dir.join(format!("{}.csv", kind.name()));
        std::fs::write(&path, text).expect("writing a test table");
        dataset
            .load(*kind, &path, &ReadOptions::default(), &NoProgress)
            .expect("loading a test table");
    }
    dataset
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

fn options() -> PipelineOptions {
    PipelineOptions {
        as_of: Some(day(2024, 2, 28).and_time(chrono::NaiveTime::MIN)),
        ..PipelineOptions::default()
    }
}

async fn metrics_of(options: &PipelineOptions) -> Result<PipelineMetrics> {
    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dataset(
        dir.path(),
        &[(TableKind::Deals, DEALS), (TableKind::StageEvents, EVENTS)],
    );
    pipeline_metrics(&data, options).await
}

fn input_message(error: EngineError) -> String {
    assert!(error.is_bad_input(), "{error}");
    error.to_string()
}

#[tokio::test]
async fn stage_order_and_model_are_learned() {
    let m = metrics_of(&options()).await.unwrap();
    // First-visit positions: contact 1 in every deal; demo 2 in D2, D3, D4, D5; proposal 2
    // in D1 and 3 in D2, D4, D5 (median 3). won/lost are end stages.
    assert_eq!(m.stages, ["contact", "demo", "proposal"]);
    let positions: Vec<Option<f64>> = m.learned.iter().map(|l| l.median_position).collect();
    assert_eq!(positions, [Some(1.0), Some(2.0), Some(3.0)]);
    // Win probability = won / closed among the deals that reached the stage (see
    // overall_stage_table): contact 3/4, demo 3/4, proposal 3/3.
    let p: Vec<f64> = m.learned.iter().map(|l| l.win_probability).collect();
    assert_eq!(p, [0.75, 0.75, 1.0]);
    // Stall thresholds: p90 of the days in stage (linear interpolation), at least 7.
    // contact [2, 2, 2, 7, 10, 10]: rank 0.9·5 = 4.5 -> 10. demo [2, 4, 10]: rank 1.8 ->
    // 4 + 0.8·6 = 8.8. proposal [2, 10, 10]: rank 1.8 -> 10.
    assert_close!(Some(m.learned[0].stall_days), 10.0);
    assert_close!(Some(m.learned[1].stall_days), 8.8);
    assert_close!(Some(m.learned[2].stall_days), 10.0);
    assert!(m.learned.iter().all(|l| !l.stall_days_given));
    // Days from the last entry into the stage to winning: contact D1 20, D2 16, D8 10 ->
    // median 16; demo D2 01-04 -> 01-18 = 14 (D1, D8 skipped it); proposal D1 10, D2 10.
    let to_close: Vec<Option<f64>> = m.learned.iter().map(|l| l.days_to_close).collect();
    assert_eq!(to_close, [Some(16.0), Some(14.0), Some(10.0)]);
}

#[tokio::test]
async fn overall_stage_table() {
    let m = metrics_of(&options()).await.unwrap();
    let [contact, demo, proposal] = &m.overall.stages[..] else {
        panic!("three stages: {:?}", m.overall.stages);
    };
    // Furthest stage: D1, D2, D8 won (passed all three), D3 demo, D4 proposal (its furthest,
    // though it went back to demo), D5 proposal, D6 demo (its stage column), D7 none (no
    // events, stage lost).
    // contact: reached by all but D7 = 7 (open D4 D5 D6, won D1 D2 D8, lost D3); all 7 went
    // further.
    assert_eq!(
        (
            contact.reached,
            contact.reached_open,
            contact.reached_won,
            contact.reached_lost
        ),
        (7, 3, 3, 1)
    );
    assert_close!(contact.to_next, 1.0);
    assert_close!(contact.to_next_resolved, 1.0);
    assert_close!(contact.to_won, 3.0 / 7.0);
    assert_close!(contact.win_probability, 0.75);
    // Days in contact: D1 10, D2 2, D3 2, D4 2 + 5 (two visits), D5 2, D8 10; D6 is open in
    // its only (censored) visit. Mean 33/6, median (2 + 7)/2.
    assert_eq!(contact.days_deals, 6);
    assert_close!(contact.days_mean, 5.5);
    assert_close!(contact.days_median, 4.5);
    assert_eq!(contact.open, 0);
    // demo: the same 7 (D1 and D8 skipped it, which counts as passing). Went further: D1, D2,
    // D4, D5, D8 = 5 of 7; D6 is open and still here: 5 of 6 resolved.
    assert_eq!(
        (
            demo.reached,
            demo.reached_open,
            demo.reached_won,
            demo.reached_lost
        ),
        (7, 3, 3, 1)
    );
    assert_close!(demo.to_next, 5.0 / 7.0);
    assert_close!(demo.to_next_resolved, 5.0 / 6.0);
    assert_close!(demo.to_won, 3.0 / 7.0);
    assert_close!(demo.win_probability, 0.75);
    // Days in demo: D2 4, D3 10, D5 2; D4's current demo visit is running, so D4 (3 days in
    // its first visit) is left out. Mean 16/3, median 4.
    assert_eq!(demo.days_deals, 3);
    assert_close!(demo.days_mean, 16.0 / 3.0);
    assert_close!(demo.days_median, 4.0);
    // Open deals now in demo: D4 (last event demo) and D6.
    assert_eq!(demo.open, 2);
    // proposal: D1, D2, D4, D5, D8 (open D4 D5, won 3). Next = won: D1, D2, D8 = 3 of 5;
    // D4 and D5 are open with proposal as furthest stage: 3 of 3 resolved.
    assert_eq!(
        (
            proposal.reached,
            proposal.reached_open,
            proposal.reached_won,
            proposal.reached_lost
        ),
        (5, 2, 3, 0)
    );
    assert_close!(proposal.to_next, 0.6);
    assert_close!(proposal.to_next_resolved, 1.0);
    assert_close!(proposal.to_won, 0.6);
    assert_close!(proposal.win_probability, 1.0);
    // Days in proposal: D1 10, D2 10, D4 01-10 -> 01-12 = 2; D5 censored.
    assert_eq!(proposal.days_deals, 3);
    assert_close!(proposal.days_mean, 22.0 / 3.0);
    assert_close!(proposal.days_median, 10.0);
    assert_eq!(proposal.open, 1);
}

#[tokio::test]
async fn overall_totals_velocity_stalled_and_weighted_pipeline() {
    let mut opts = options();
    opts.coverage_target = Some(10_000.0);
    let m = metrics_of(&opts).await.unwrap();
    assert_eq!(m.as_of, day(2024, 2, 28).and_time(chrono::NaiveTime::MIN));
    let s = &m.overall;
    assert_eq!(s.value, None);
    // Status decides: D4 is open although it has a lost event; D6 open and D7 lost from
    // their stage column.
    assert_eq!((s.deals, s.open, s.won, s.lost), (8, 3, 3, 2));
    assert_eq!(s.won_amount, 1000.0 + 3000.0 + 800.0);
    assert_eq!(s.open_amount, 2000.0 + 4000.0 + 1500.0);
    assert_close!(s.win_rate, 0.6);
    assert_close!(s.average_deal_size, 1600.0);
    // Cycles of the won deals: D1 20, D2 16, D8 10 days.
    assert_eq!(s.cycle_deals, 3);
    assert_close!(s.cycle_days_mean, 46.0 / 3.0);
    assert_close!(s.cycle_days_median, 16.0);
    // Velocity: 3 open × 0.6 × 1600 / (46/3) per day.
    assert_close!(s.velocity_per_day, 3.0 * 0.6 * 1600.0 * 3.0 / 46.0);
    assert_close!(
        s.velocity_per_30_days,
        30.0 * 3.0 * 0.6 * 1600.0 * 3.0 / 46.0
    );
    // Stalled at 2024-02-28: D5 in proposal since 01-10 = 22 + 27 = 49 days > 10; D4 in demo
    // since 01-25 = 7 + 27 = 34 days > 8.8; D6 in demo since 02-25 = 3 days: not stalled.
    let [d5, d4] = &s.stalled[..] else {
        panic!("two stalled deals: {:?}", s.stalled);
    };
    assert_eq!(
        (d5.deal_id.as_str(), d5.stage.as_str(), d5.owner.as_deref()),
        ("D5", "proposal", Some("ann"))
    );
    assert_eq!(
        (d5.days_since_change, d5.threshold_days, d5.amount),
        (49.0, 10.0, 4000.0)
    );
    assert_eq!(
        (d4.deal_id.as_str(), d4.stage.as_str(), d4.owner.as_deref()),
        ("D4", "demo", Some("bob"))
    );
    assert_eq!((d4.days_since_change, d4.amount), (34.0, 2000.0));
    assert_close!(Some(d4.threshold_days), 8.8);
    // Expected close: D4 01-25 + 14 (demo) = 02-08, D5 01-10 + 10 = 01-20: both overdue, so
    // in the as-of month 2024-02; D6 02-25 + 14 = 03-10. Weighted: D4 2000 × 0.75, D5 4000 ×
    // 1.0, D6 1500 × 0.75.
    let months: Vec<(&str, u64, f64, f64)> = s
        .by_close_month
        .iter()
        .map(|c| (c.month.as_str(), c.deals, c.amount, c.weighted))
        .collect();
    assert_eq!(
        months,
        [
            ("2024-02", 2, 6000.0, 5500.0),
            ("2024-03", 1, 1500.0, 1125.0)
        ]
    );
    assert_eq!(s.weighted_amount, 6625.0);
    let coverage = s.coverage.expect("a target was given");
    assert_eq!(
        (coverage.target, coverage.weighted, coverage.unweighted),
        (10_000.0, 0.6625, 0.75)
    );
}

#[tokio::test]
async fn as_of_defaults_to_the_latest_timestamp() {
    let m = metrics_of(&PipelineOptions::default()).await.unwrap();
    // Latest of created_at (D6 02-25), closed_at (01-21) and entered_at (01-25).
    assert_eq!(m.as_of, day(2024, 2, 25).and_time(chrono::NaiveTime::MIN));
    // D6 changed stage 0 days ago; D4 31 days, D5 46 days ago: both still stalled.
    let ids: Vec<&str> = m
        .overall
        .stalled
        .iter()
        .map(|d| d.deal_id.as_str())
        .collect();
    assert_eq!(ids, ["D5", "D4"]);
}

#[tokio::test]
async fn given_stall_threshold_replaces_the_learned_one() {
    let mut opts = options();
    opts.stall_days.insert("proposal".into(), 60.0);
    let m = metrics_of(&opts).await.unwrap();
    assert!(m.learned[2].stall_days_given);
    assert_eq!(m.learned[2].stall_days, 60.0);
    // D5 (49 days in proposal) is no longer stalled; D4 still is.
    let ids: Vec<&str> = m
        .overall
        .stalled
        .iter()
        .map(|d| d.deal_id.as_str())
        .collect();
    assert_eq!(ids, ["D4"]);

    opts.stall_days.insert("qualify".into(), 3.0);
    let message = input_message(metrics_of(&opts).await.unwrap_err());
    assert!(message.contains("qualify"), "{message}");
}

#[tokio::test]
async fn slices_by_owner() {
    let mut opts = options();
    opts.slice = Some(Dimension::Owner);
    let m = metrics_of(&opts).await.unwrap();
    assert_eq!(m.dimension, Some(Dimension::Owner));
    let values: Vec<Option<&str>> = m.slices.iter().map(|s| s.value.as_deref()).collect();
    // D6 has no owner: its slice comes last.
    assert_eq!(values, [Some("ann"), Some("bob"), Some("carl"), None]);
    let [ann, bob, carl, none] = &m.slices[..] else {
        unreachable!()
    };
    // ann: D1 won 1000 (cycle 20), D3 lost, D5 open 4000 (proposal, p = 1.0, stalled).
    assert_eq!((ann.deals, ann.open, ann.won, ann.lost), (3, 1, 1, 1));
    assert_close!(ann.win_rate, 0.5);
    assert_close!(ann.average_deal_size, 1000.0);
    assert_close!(ann.cycle_days_mean, 20.0);
    assert_close!(ann.velocity_per_day, 1.0 * 0.5 * 1000.0 / 20.0);
    assert_eq!(ann.weighted_amount, 4000.0);
    assert_eq!(ann.stalled.len(), 1);
    assert_eq!(ann.stalled[0].deal_id, "D5");
    // ann's stages: contact and demo reached by D1 (skipped demo), D3, D5; proposal by D1,
    // D5. demo -> proposal: D1, D5 = 2 of 3. proposal: D1 won, D5 open -> 1/2 won of
    // reached, 1/1 of closed.
    let reached: Vec<u64> = ann.stages.iter().map(|s| s.reached).collect();
    assert_eq!(reached, [3, 3, 2]);
    assert_close!(ann.stages[1].to_next, 2.0 / 3.0);
    assert_close!(ann.stages[2].to_won, 0.5);
    assert_close!(ann.stages[2].win_probability, 1.0);
    // bob: D2 won 3000 (cycle 16), D4 open 2000 in demo. bob's own demo history says 1/1 won,
    // but open deals are weighted with the overall model: 2000 × 0.75.
    assert_eq!((bob.deals, bob.open, bob.won, bob.lost), (2, 1, 1, 0));
    assert_close!(bob.stages[1].win_probability, 1.0);
    assert_eq!(bob.weighted_amount, 1500.0);
    assert_close!(bob.velocity_per_day, 1.0 * 1.0 * 3000.0 / 16.0);
    let months: Vec<(&str, f64)> = bob
        .by_close_month
        .iter()
        .map(|c| (c.month.as_str(), c.weighted))
        .collect();
    assert_eq!(months, [("2024-02", 1500.0)]);
    // carl: D7 lost (no events: reached no open stage), D8 won 800 (cycle 10); nothing open.
    assert_eq!((carl.deals, carl.open, carl.won, carl.lost), (2, 0, 1, 1));
    assert_eq!(carl.stages[0].reached, 1);
    assert_close!(carl.velocity_per_day, 0.0);
    assert!(carl.by_close_month.is_empty());
    // No owner: D6 alone, open, nothing closed.
    assert_eq!((none.deals, none.open), (1, 1));
    assert_eq!(none.win_rate, None);
    assert_eq!(none.velocity_per_day, None);
    assert_eq!(none.weighted_amount, 1125.0);
    // The slices add up to the overall pipeline.
    let weighted: f64 = m.slices.iter().map(|s| s.weighted_amount).sum();
    assert_eq!(weighted, m.overall.weighted_amount);
}

#[tokio::test]
async fn slices_by_created_month() {
    let mut opts = options();
    opts.slice = Some(Dimension::CreatedMonth);
    let m = metrics_of(&opts).await.unwrap();
    let slices: Vec<(Option<&str>, u64)> = m
        .slices
        .iter()
        .map(|s| (s.value.as_deref(), s.deals))
        .collect();
    assert_eq!(
        slices,
        [
            (Some("2023-12"), 1),
            (Some("2024-01"), 6),
            (Some("2024-02"), 1)
        ]
    );
}

#[tokio::test]
async fn slicing_by_a_missing_column_is_an_input_error() {
    let mut opts = options();
    opts.slice = Some(Dimension::Source);
    let message = input_message(metrics_of(&opts).await.unwrap_err());
    assert!(message.contains("source"), "{message}");
    assert!(message.contains("hint"), "{message}");
}

#[tokio::test]
async fn period_filters_deals_by_creation() {
    let mut opts = PipelineOptions {
        period: Some((day(2024, 1, 1), day(2024, 1, 31))),
        ..PipelineOptions::default()
    };
    let m = metrics_of(&opts).await.unwrap();
    // D8 (2023-12-15) and D6 (2024-02-25) are out; as_of still comes from all the data.
    assert_eq!(m.as_of, day(2024, 2, 25).and_time(chrono::NaiveTime::MIN));
    let s = &m.overall;
    assert_eq!((s.deals, s.open, s.won, s.lost), (6, 2, 2, 2));
    assert_eq!(s.won_amount, 4000.0);
    assert_close!(s.win_rate, 0.5);
    assert_close!(s.average_deal_size, 2000.0);
    // Cycles D1 20, D2 16.
    assert_close!(s.cycle_days_mean, 18.0);
    assert_close!(s.velocity_per_day, 2.0 * 0.5 * 2000.0 / 18.0);
    // contact: D1..D5; days 10, 2, 2, 7, 2 -> median 2, mean 4.6; p90 rank 3.6 of
    // [2, 2, 2, 7, 10] -> 7 + 0.6·3 = 8.8.
    assert_eq!(s.stages[0].reached, 5);
    assert_close!(s.stages[0].days_mean, 4.6);
    assert_close!(s.stages[0].days_median, 2.0);
    assert_close!(Some(m.learned[0].stall_days), 8.8);
    // contact's days to close: D1 20, D2 16 -> 18.
    assert_close!(m.learned[0].days_to_close, 18.0);

    // Both ends are included: a period of the single day 2024-02-25 holds D6 only.
    opts.period = Some((day(2024, 2, 25), day(2024, 2, 25)));
    let m = metrics_of(&opts).await.unwrap();
    assert_eq!((m.overall.deals, m.overall.open), (1, 1));

    opts.period = Some((day(2024, 2, 25), day(2024, 2, 1)));
    input_message(metrics_of(&opts).await.unwrap_err());
}

#[tokio::test]
async fn given_stages_are_checked_against_the_data() {
    // The same order given (won/lost in the list are ignored): the same metrics.
    let mut opts = options();
    opts.stages = Some(
        ["contact", "demo", "proposal", "won", "lost"]
            .map(String::from)
            .to_vec(),
    );
    let given = metrics_of(&opts).await.unwrap();
    let learned = metrics_of(&options()).await.unwrap();
    assert_eq!(given.stages, learned.stages);
    assert_eq!(given.overall, learned.overall);
    assert_eq!(given.learned[0].median_position, None);

    // Another order changes what "reached" means: with proposal before demo, D3 (furthest
    // demo) passed proposal too.
    opts.stages = Some(["contact", "proposal", "demo"].map(String::from).to_vec());
    let swapped = metrics_of(&opts).await.unwrap();
    assert_eq!(swapped.overall.stages[1].stage, "proposal");
    assert_eq!(swapped.overall.stages[1].reached, 7);

    // A stage of the data missing from the list: named, with a deal that has it.
    opts.stages = Some(["contact", "proposal"].map(String::from).to_vec());
    let message = input_message(metrics_of(&opts).await.unwrap_err());
    assert!(message.contains("`demo`"), "{message}");
    assert!(message.contains("D2"), "{message}");
    assert!(message.contains("hint"), "{message}");
}

#[tokio::test]
async fn empty_and_missing_deals() {
    // A deals table without rows (the ingest refuses a header-only file, so the loaded table
    // is emptied), beside stage events of deals it does not have.
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut data = dataset(
        dir.path(),
        &[(TableKind::Deals, DEALS), (TableKind::StageEvents, EVENTS)],
    );
    let mut empty = data.table(TableKind::Deals).expect("loaded").clone();
    empty.batches.clear();
    data.add(empty).expect("registering the empty table");
    let mut opts = options();
    opts.slice = Some(Dimension::CreatedMonth);
    opts.coverage_target = Some(100.0);
    let m = pipeline_metrics(&data, &opts).await.unwrap();
    assert!(m.stages.is_empty() && m.learned.is_empty());
    let s = &m.overall;
    assert_eq!((s.deals, s.open, s.won, s.lost), (0, 0, 0, 0));
    assert_eq!((s.win_rate, s.average_deal_size), (None, None));
    assert_eq!((s.cycle_days_mean, s.velocity_per_day), (None, None));
    assert!(s.stalled.is_empty() && s.by_close_month.is_empty());
    assert_eq!(s.coverage.map(|c| c.weighted), Some(0.0));
    assert!(m.slices.is_empty());

    // A period without deals is the same.
    let mut opts = options();
    opts.period = Some((day(2020, 1, 1), day(2020, 12, 31)));
    let m = metrics_of(&opts).await.unwrap();
    assert_eq!(m.overall.deals, 0);
    assert!(m.overall.stages.is_empty());

    let message = input_message(
        pipeline_metrics(&Dataset::new(1), &options())
            .await
            .unwrap_err(),
    );
    assert!(message.contains("no deals table"), "{message}");
}

#[tokio::test]
async fn without_stage_events_the_order_must_be_given() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dataset(dir.path(), &[(TableKind::Deals, DEALS)]);
    let message = input_message(pipeline_metrics(&data, &options()).await.unwrap_err());
    assert!(message.contains("cannot be learned"), "{message}");

    // Given the order, each deal reached its stage column's stage, entered at created_at.
    let mut opts = options();
    opts.stages = Some(["contact", "demo", "proposal"].map(String::from).to_vec());
    let m = pipeline_metrics(&data, &opts).await.unwrap();
    // Reached: won D1 D2 D8 everything; D4, D6 demo; D5 proposal; D3, D7 (lost) nothing.
    let reached: Vec<u64> = m.overall.stages.iter().map(|s| s.reached).collect();
    assert_eq!(reached, [6, 6, 4]);
    // Without events, a won deal's cycle needs closed_at: D1 20, D2 16, D8 10.
    assert_close!(m.overall.cycle_days_mean, 46.0 / 3.0);
    // No deal has a known time in any stage.
    assert!(m.overall.stages.iter().all(|s| s.days_deals == 0));
}

#[tokio::test]
async fn closed_deals_with_events_after_the_close() {
    // R1 won on 01-10, then got a demo event on 01-15; R2 lost on 01-05, then came back to
    // contact (01-08) and demo (01-12). Both stay closed as their status says. R3 went back
    // from demo to contact and was lost (closed_at 01-20) without a lost event.
    let deals = "\
deal_id,created_at,stage,amount,closed_at,status
R1,2024-01-01,won,1000,2024-01-10,won
R2,2024-01-01,lost,500,2024-01-05,lost
R3,2024-01-01,contact,300,2024-01-20,lost
";
    let events = "\
deal_id,stage,entered_at
R1,contact,2024-01-01
R1,proposal,2024-01-05
R1,won,2024-01-10
R1,demo,2024-01-15
R2,contact,2024-01-01
R2,lost,2024-01-05
R2,contact,2024-01-08
R2,demo,2024-01-12
R3,contact,2024-01-01
R3,demo,2024-01-03
R3,contact,2024-01-06
";
    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dataset(
        dir.path(),
        &[(TableKind::Deals, deals), (TableKind::StageEvents, events)],
    );
    let mut opts = options();
    opts.stages = Some(["contact", "demo", "proposal"].map(String::from).to_vec());
    let m = pipeline_metrics(&data, &opts).await.unwrap();
    let s = &m.overall;
    assert_eq!((s.open, s.won, s.lost), (0, 1, 2));
    // R1 won: passed every stage. R2's and R3's furthest is demo.
    let reached: Vec<u64> = s.stages.iter().map(|s| s.reached).collect();
    assert_eq!(reached, [3, 3, 1]);
    assert_close!(s.stages[0].win_probability, 1.0 / 3.0);
    // contact: R1 01-01 -> 01-05 = 4; R2 4 + 4 (two visits) = 8; R3 2 + 14 (its last visit,
    // 01-06, ends at closed_at 01-20) = 16. demo: R3 01-03 -> 01-06 = 3; the last visits of
    // R1 and R2 start after closed_at, so their length is unknown. proposal: R1 5.
    assert_eq!(s.stages[0].days_deals, 3);
    assert_close!(s.stages[0].days_mean, 28.0 / 3.0);
    assert_close!(s.stages[0].days_median, 8.0);
    assert_eq!(s.stages[1].days_deals, 1);
    assert_close!(s.stages[1].days_mean, 3.0);
    assert_close!(s.stages[2].days_median, 5.0);
    // R1's cycle ends at closed_at (01-10), not at its last event.
    assert_close!(s.cycle_days_mean, 9.0);
    assert_close!(s.velocity_per_day, 0.0);
}

/// Times the metrics on 200,000 deals with about 1,000,000 stage events. Run it in release:
/// `cargo test --release -p salesflow-engine pipeline::tests::timing -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a timing on generated data; run in release"]
async fn timing_on_200k_deals() {
    const STAGES: [&str; 6] = [
        "lead",
        "contact",
        "qualify",
        "demo",
        "proposal",
        "negotiation",
    ];
    const DAY: i64 = 86_400;
    let mut state: u64 = 42;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let stamp = |s: i64| {
        chrono::DateTime::from_timestamp(s, 0)
            .expect("a valid time")
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let mut deals = String::from("deal_id,created_at,stage,amount,owner,closed_at,status\n");
    let mut events = String::from("deal_id,stage,entered_at\n");
    let start = 1_672_531_200; // 2023-01-01
    let mut count = 0;
    for i in 0..200_000 {
        let created = start + (next() % (700 * DAY as u64)) as i64;
        let mut t = created;
        let visited = 2 + next() as usize % 5;
        let mut last = STAGES[0];
        for (k, stage) in STAGES.iter().take(visited).enumerate() {
            if k > 0 && next() % 10 == 0 {
                continue; // skipped
            }
            events.push_str(&format!("D{i:07},{stage},{}\n", stamp(t)));
            count += 1;
            last = stage;
            t += 3_600 + (next() % (15 * DAY as u64)) as i64;
        }
        if next() % 5 == 0 {
            events.push_str(&format!("D{i:07},{},{}\n", STAGES[1], stamp(t)));
            count += 1;
            t += DAY;
        }
        let (status, closed) = match next() % 10 {
            0..=2 => ("won", Some(t)),
            3..=7 => ("lost", Some(t)),
            _ => ("open", None),
        };
        if let Some(close) = closed {
            events.push_str(&format!("D{i:07},{status},{}\n", stamp(close)));
            count += 1;
        }
        deals.push_str(&format!(
            "D{i:07},{},{},{},rep{},{},{status}\n",
            stamp(created),
            closed.map_or(last, |_| status),
            500 + next() % 50_000,
            next() % 12,
            closed.map(stamp).unwrap_or_default(),
        ));
    }
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut data = Dataset::default();
    for (kind, text) in [
        (TableKind::Deals, &deals),
        (TableKind::StageEvents, &events),
    ] {
        let path = dir.path().join(format!("{}.csv", kind.name()));
        std::fs::write(&path, text).expect("writing a table");
        data.load(kind, &path, &ReadOptions::default(), &NoProgress)
            .expect("loading a table");
    }
    for slice in [None, Some(Dimension::Owner)] {
        let options = PipelineOptions {
            slice,
            ..PipelineOptions::default()
        };
        let clock = std::time::Instant::now();
        let m = pipeline_metrics(&data, &options).await.unwrap();
        eprintln!(
            "{} deals, {count} stage events, slice {slice:?}: {:?} on {} threads",
            m.overall.deals,
            clock.elapsed(),
            data.threads()
        );
        assert_eq!(m.overall.deals, 200_000);
        assert_eq!(m.stages, STAGES);
    }
}
