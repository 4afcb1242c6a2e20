//! A fitted tree read as rules: one per leaf, its path's tests merged per feature into one
//! range ("if 30 < recency_days <= 90 and frequency <= 2 then churn 0.81").

use std::fmt::Write as _;

use super::cart::{DecisionTree, argmax};

/// One feature's range on a rule's path: `lower < feature <= upper`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Feature index.
    pub feature: usize,
    /// Feature name.
    pub name: String,
    /// Exclusive lower bound, if the path has a `>` test on the feature.
    pub lower: Option<f64>,
    /// Inclusive upper bound, if the path has a `<=` test on the feature.
    pub upper: Option<f64>,
}

/// The path to one leaf and what the leaf predicts.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The tests, one per feature, in the order the path first tests each feature.
    pub conditions: Vec<Condition>,
    /// Training rows in the leaf.
    pub samples: usize,
    /// Class shares (classification) or the mean target (regression, one value).
    pub prediction: Vec<f64>,
}

/// Compact number formatting for rule text: up to 4 significant decimals, no trailing zeros.
fn number(v: f64) -> String {
    let text = if v.abs() >= 1000.0 || v == v.trunc() {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    };
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    trimmed.to_owned()
}

impl Condition {
    /// The test as text, e.g. `30 < recency_days <= 90`.
    pub fn text(&self) -> String {
        match (self.lower, self.upper) {
            (Some(l), Some(u)) => format!("{} < {} <= {}", number(l), self.name, number(u)),
            (Some(l), None) => format!("{} > {}", self.name, number(l)),
            (None, Some(u)) => format!("{} <= {}", self.name, number(u)),
            (None, None) => self.name.clone(),
        }
    }
}

impl Rule {
    /// The rule as a sentence; `outcome` names what the prediction is ("churn", "spend").
    /// A classification rule shows the share of `class` (e.g. the positive class).
    pub fn text(&self, outcome: &str, class: usize) -> String {
        let mut out = String::new();
        if self.conditions.is_empty() {
            out.push_str("always");
        } else {
            out.push_str("if ");
            let tests: Vec<String> = self.conditions.iter().map(Condition::text).collect();
            out.push_str(&tests.join(" and "));
        }
        let value = if self.prediction.len() == 1 {
            self.prediction[0]
        } else {
            self.prediction.get(class).copied().unwrap_or(f64::NAN)
        };
        let _ = write!(
            out,
            " then {outcome} {} (n = {})",
            number(value),
            self.samples
        );
        out
    }
}

impl DecisionTree {
    /// One rule per leaf, in depth-first order.
    pub fn rules(&self) -> Vec<Rule> {
        let mut rules = Vec::with_capacity(self.leaves());
        let mut stack: Vec<(usize, Vec<Condition>)> = vec![(0, Vec::new())];
        while let Some((id, conditions)) = stack.pop() {
            let node = &self.nodes[id];
            match node.split {
                None => rules.push(Rule {
                    conditions,
                    samples: node.samples,
                    prediction: if self.n_classes == 0 {
                        node.value.clone()
                    } else {
                        node.value.iter().map(|v| v / node.weight).collect()
                    },
                }),
                Some(split) => {
                    let narrowed = |go_left: bool| {
                        let mut conditions = conditions.clone();
                        let position = conditions.iter().position(|c| c.feature == split.feature);
                        let condition = match position {
                            Some(p) => &mut conditions[p],
                            None => {
                                conditions.push(Condition {
                                    feature: split.feature,
                                    name: self.feature_names[split.feature].clone(),
                                    lower: None,
                                    upper: None,
                                });
                                conditions.last_mut().expect("just pushed")
                            }
                        };
                        if go_left {
                            condition.upper = Some(
                                condition
                                    .upper
                                    .map_or(split.threshold, |u| u.min(split.threshold)),
                            );
                        } else {
                            condition.lower = Some(
                                condition
                                    .lower
                                    .map_or(split.threshold, |l| l.max(split.threshold)),
                            );
                        }
                        conditions
                    };
                    stack.push((split.right, narrowed(false)));
                    stack.push((split.left, narrowed(true)));
                }
            }
        }
        rules
    }

    /// The tree drawn as indented text, in the layout of scikit-learn's `export_text`; class
    /// leaves are named from `class_names` (their index when it is shorter).
    pub fn to_text(&self, class_names: &[String]) -> String {
        let mut out = String::new();
        // (node, depth, the test that led here: feature, left side, threshold)
        type Visit = (usize, usize, Option<(usize, bool, f64)>);
        let mut stack: Vec<Visit> = vec![(0, 0, None)];
        while let Some((id, depth, test)) = stack.pop() {
            if let Some((feature, left, threshold)) = test {
                let indent = "|   ".repeat(depth - 1);
                let op = if left { "<=" } else { "> " };
                let _ = writeln!(
                    out,
                    "{indent}|--- {} {op} {}",
                    self.feature_names[feature],
                    number(threshold)
                );
            }
            let node = &self.nodes[id];
            match node.split {
                Some(split) => {
                    stack.push((
                        split.right,
                        depth + 1,
                        Some((split.feature, false, split.threshold)),
                    ));
                    stack.push((
                        split.left,
                        depth + 1,
                        Some((split.feature, true, split.threshold)),
                    ));
                }
                None => {
                    let indent = "|   ".repeat(depth);
                    if self.n_classes == 0 {
                        let _ = writeln!(out, "{indent}|--- value: [{}]", number(node.value[0]));
                    } else {
                        let class = argmax(&node.value);
                        let name = class_names
                            .get(class)
                            .cloned()
                            .unwrap_or_else(|| class.to_string());
                        let _ = writeln!(out, "{indent}|--- class: {name}");
                    }
                }
            }
        }
        out
    }
}
