//! `salesflow budget --segments FILE`: a campaign budget split across customer segments by the
//! expected value a unit of spend earns in each (conversion × CLV / cost per prospect).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use salesflow_engine::{EngineError, Location};
use salesflow_models::budget::targeting::{SegmentEconomics, target_segments};
use serde_json::json;

use crate::input::UsageError;

const REQUIRED: [&str; 4] = ["segment", "clv", "conversion", "cost_per_prospect"];

/// Reads the segments, splits `total` and prints the plan.
pub fn run(file: &Path, total: f64, min_return: f64, as_json: bool) -> Result<ExitCode> {
    if !(min_return.is_finite() && min_return >= 0.0) {
        anyhow::bail!(UsageError("--min-return must be a number >= 0".into()));
    }
    let segments = read_segments(file)?;
    let (ranking, plan) = target_segments(&segments, total, min_return)
        .map_err(|e| UsageError(format!("{}: {e}", file.display())))?;
    let rows: Vec<serde_json::Value> = ranking
        .iter()
        .map(|&(i, value_per_unit)| {
            let s = &segments[i];
            let spend = plan.spend[i];
            json!({
                "segment": s.name,
                "clv": s.clv,
                "conversion": s.conversion,
                "cost_per_prospect": s.cost_per_prospect,
                "prospects": s.prospects,
                "value_per_unit": value_per_unit,
                "spend": spend,
                "prospects_reached": spend / s.cost_per_prospect,
                "expected_customers": spend / s.cost_per_prospect * s.conversion,
                "expected_value": spend * value_per_unit,
            })
        })
        .collect();
    if as_json {
        let report = json!({
            "total": total,
            "min_return": min_return,
            "expected_value": plan.total_return,
            "unspent": plan.unspent,
            "segments": rows,
        });
        super::print_stdout(&serde_json::to_string_pretty(&report)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = format!(
        "segment targeting: {total:.2} to spend, best value per unit of spend first \
         (conversion × CLV / cost per prospect; below {min_return} a unit is not worth spending)\n"
    );
    text.push_str(&format!(
        "  {:<16} {:>14} {:>12} {:>18} {:>14} {:>16}\n",
        "segment", "value / unit", "spend", "prospects reached", "customers", "expected value"
    ));
    for row in &rows {
        let number = |key: &str| row[key].as_f64().unwrap_or(f64::NAN);
        text.push_str(&format!(
            "  {:<16} {:>14.3} {:>12.2} {:>18.0} {:>14.1} {:>16.2}\n",
            row["segment"].as_str().unwrap_or_default(),
            number("value_per_unit"),
            number("spend"),
            number("prospects_reached"),
            number("expected_customers"),
            number("expected_value"),
        ));
    }
    text.push_str(&format!(
        "expected value {:.2} from {:.2} spent",
        plan.total_return,
        total - plan.unspent
    ));
    if plan.unspent > 0.0 {
        text.push_str(&format!(
            "; {:.2} left unspent: every segment worth at least {min_return} a unit is reached in full",
            plan.unspent
        ));
    }
    super::print_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The segments of `file`, each value checked where it stands (file, line, column).
fn read_segments(file: &Path) -> Result<Vec<SegmentEconomics>> {
    let columns =
        super::runtime()?.block_on(salesflow_engine::numeric::read_labelled_numeric_columns(
            file,
            "segment",
            &REQUIRED[1..],
            &["prospects"],
        ))?;
    let Some(names) = columns.ids.clone() else {
        return Err(EngineError::input(
            Location {
                file: Some(file.to_owned()),
                line: Some(1),
                column: None,
            },
            "required column `segment` not found",
            Some(format!(
                "the file needs the columns {}",
                REQUIRED.join(", ")
            )),
        )
        .into());
    };
    if names.is_empty() {
        return Err(EngineError::input(
            Location {
                file: Some(file.to_owned()),
                line: None,
                column: None,
            },
            "the file has no segments",
            Some("add one row per customer segment".into()),
        )
        .into());
    }
    let column = |name: &str| columns.get(name).unwrap_or_default();
    let (clv, conversion, cost) = (
        column("clv"),
        column("conversion"),
        column("cost_per_prospect"),
    );
    let prospects = columns.get("prospects");
    let first_line = salesflow_engine::numeric::first_data_line(file);
    let at = |row: usize, column: &str| Location {
        file: Some(file.to_owned()),
        line: Some(row as u64 + first_line),
        column: Some(column.into()),
    };
    let mut segments: Vec<SegmentEconomics> = Vec::with_capacity(names.len());
    for (row, name) in names.into_iter().enumerate() {
        if name.trim().is_empty() {
            return Err(EngineError::input(
                at(row, "segment"),
                "the segment has no name",
                Some("name every segment".into()),
            )
            .into());
        }
        if segments.iter().any(|s| s.name == name) {
            return Err(EngineError::input(
                at(row, "segment"),
                format!("segment `{name}` appears twice"),
                Some("give each segment one row".into()),
            )
            .into());
        }
        let checks = [
            (
                "clv",
                clv[row],
                clv[row] >= 0.0,
                "a customer's value, 0 or more",
            ),
            (
                "conversion",
                conversion[row],
                (0.0..=1.0).contains(&conversion[row]),
                "a probability between 0 and 1 (0.05, not 5 %)",
            ),
            (
                "cost_per_prospect",
                cost[row],
                cost[row] > 0.0,
                "the cost of reaching one prospect, more than 0",
            ),
            (
                "prospects",
                prospects.map_or(0.0, |p| p[row]),
                prospects.is_none_or(|p| p[row] >= 0.0),
                "how many prospects can be reached, 0 or more",
            ),
        ];
        if let Some(&(column, value, _, hint)) = checks.iter().find(|c| !c.2) {
            return Err(EngineError::input(
                at(row, column),
                format!("{column} {value} is out of range"),
                Some(hint.into()),
            )
            .into());
        }
        segments.push(SegmentEconomics {
            name,
            clv: clv[row],
            conversion: conversion[row],
            cost_per_prospect: cost[row],
            prospects: prospects.map(|p| p[row]),
        });
    }
    Ok(segments)
}
