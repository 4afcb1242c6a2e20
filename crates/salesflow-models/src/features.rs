//! Feature matrices for the supervised models: named numeric columns, with categorical columns
//! one-hot encoded against a reference level.
//!
//! A [`FeatureMatrix`] stores its columns one after another (column-major), the layout the QR
//! decomposition and the trees' per-feature histograms both read. An [`Encoder`] remembers
//! how each input column was turned into matrix columns, so the data scored later is encoded
//! exactly like the data the model learned from.
//!
//! One-hot encoding follows patsy/statsmodels' treatment coding: the reference level is the
//! first level in sorted order (unless one is named), it gets no column, and every other level
//! `v` of input `x` becomes a 0/1 column named `x[T.v]`. A level seen only when scoring encodes
//! as the reference (all zeros), and [`Encoder::encode`] counts such rows.

use std::collections::BTreeSet;

use crate::ModelError;

/// Named numeric columns of equal length (rows are observations, columns features).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMatrix {
    names: Vec<String>,
    rows: usize,
    /// Column-major: column j is `values[j * rows .. (j + 1) * rows]`.
    values: Vec<f64>,
}

impl FeatureMatrix {
    /// A matrix from columns; every column must have `rows` values and every value be finite.
    pub fn from_columns(columns: Vec<(String, Vec<f64>)>) -> Result<Self, ModelError> {
        let rows = columns.first().map_or(0, |(_, c)| c.len());
        let mut names = Vec::with_capacity(columns.len());
        let mut values = Vec::with_capacity(rows * columns.len());
        for (j, (name, column)) in columns.into_iter().enumerate() {
            if column.len() != rows {
                return Err(ModelError::InvalidParameter {
                    name: "feature column length",
                    value: column.len() as f64,
                    hint: "every feature column must have as many values as the first column",
                });
            }
            if let Some(row) = column.iter().position(|v| !v.is_finite()) {
                return Err(ModelError::InvalidFeature {
                    row,
                    column: j,
                    value: column[row],
                    hint: "features must be finite numbers; impute or drop missing values first",
                });
            }
            names.push(name);
            values.extend(column);
        }
        Ok(FeatureMatrix {
            names,
            rows,
            values,
        })
    }

    /// Number of rows (observations).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (features).
    pub fn cols(&self) -> usize {
        self.names.len()
    }

    /// The column names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Column `j`.
    pub fn column(&self, j: usize) -> &[f64] {
        &self.values[j * self.rows..(j + 1) * self.rows]
    }

    /// The value at row `i`, column `j`.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.values[j * self.rows + i]
    }

    /// Fails unless the matrix has `expected` columns: scoring data must have the columns the
    /// model was fitted on.
    pub(crate) fn expect_columns(&self, expected: usize) -> Result<(), ModelError> {
        if self.cols() == expected {
            Ok(())
        } else {
            Err(ModelError::InvalidParameter {
                name: "feature columns",
                value: self.cols() as f64,
                hint: "score with the same feature columns the model was fitted on",
            })
        }
    }

    /// Row `i` as a vector (one value per column).
    pub fn row(&self, i: usize) -> Vec<f64> {
        (0..self.cols()).map(|j| self.get(i, j)).collect()
    }

    /// The rows at `indices`, in that order (a train or test part of a split).
    pub fn select_rows(&self, indices: &[usize]) -> FeatureMatrix {
        let mut values = Vec::with_capacity(indices.len() * self.cols());
        for j in 0..self.cols() {
            let column = self.column(j);
            values.extend(indices.iter().map(|&i| column[i]));
        }
        FeatureMatrix {
            names: self.names.clone(),
            rows: indices.len(),
            values,
        }
    }
}

/// One input column of an [`Encoder`]: numbers, or text levels to one-hot encode.
#[derive(Debug, Clone, PartialEq)]
pub enum InputColumn {
    /// A numeric feature (must be finite).
    Numeric(Vec<f64>),
    /// A categorical feature, one level per row.
    Categorical(Vec<String>),
}

/// How one input column becomes matrix columns.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnEncoding {
    /// Copied as it is.
    Numeric {
        /// The input (and matrix) column name.
        name: String,
    },
    /// One 0/1 column per level other than the reference.
    OneHot {
        /// The input column name.
        name: String,
        /// The level without a column (the baseline the coefficients compare against).
        reference: String,
        /// The levels with a column, in column order.
        levels: Vec<String>,
    },
}

/// The encoding learned from training data, applied again to the data scored later.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoder {
    columns: Vec<ColumnEncoding>,
}

/// A matrix encoded by [`Encoder::encode`], with how many rows had a level the encoder had not
/// seen (each encoded as the reference level).
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    /// The feature matrix.
    pub matrix: FeatureMatrix,
    /// Rows with at least one unseen categorical level.
    pub rows_with_unseen_levels: usize,
}

impl Encoder {
    /// Learns the encoding from training columns: numeric columns pass through, categorical
    /// ones get treatment coding with the first sorted level (or `references[name]` when
    /// given) as reference. A categorical column with a single level carries no information
    /// and gets no matrix column.
    pub fn fit(
        columns: &[(String, InputColumn)],
        references: &[(String, String)],
    ) -> Result<Self, ModelError> {
        let mut encodings = Vec::with_capacity(columns.len());
        for (name, column) in columns {
            match column {
                InputColumn::Numeric(_) => {
                    encodings.push(ColumnEncoding::Numeric { name: name.clone() })
                }
                InputColumn::Categorical(values) => {
                    let levels: BTreeSet<&str> = values.iter().map(String::as_str).collect();
                    let reference = match references.iter().find(|(n, _)| n == name) {
                        Some((_, level)) if levels.contains(level.as_str()) => level.clone(),
                        Some(_) => {
                            return Err(ModelError::InvalidParameter {
                                name: "reference level",
                                value: f64::NAN,
                                hint: "the reference level named for a categorical column does not occur in it; pick one of its values",
                            });
                        }
                        None => levels.first().map_or_else(String::new, |l| (*l).to_owned()),
                    };
                    encodings.push(ColumnEncoding::OneHot {
                        name: name.clone(),
                        levels: levels
                            .into_iter()
                            .filter(|l| *l != reference)
                            .map(str::to_owned)
                            .collect(),
                        reference,
                    });
                }
            }
        }
        Ok(Encoder { columns: encodings })
    }

    /// The encodings, one per input column.
    pub fn columns(&self) -> &[ColumnEncoding] {
        &self.columns
    }

    /// Encodes columns given in the same order and kinds as at [`Encoder::fit`].
    pub fn encode(&self, columns: &[(String, InputColumn)]) -> Result<Encoded, ModelError> {
        if columns.len() != self.columns.len() {
            return Err(ModelError::InvalidParameter {
                name: "input columns",
                value: columns.len() as f64,
                hint: "pass the same columns, in the same order, as the encoder was fitted on",
            });
        }
        let rows = columns.first().map_or(0, |(_, c)| match c {
            InputColumn::Numeric(v) => v.len(),
            InputColumn::Categorical(v) => v.len(),
        });
        let mut unseen = vec![false; rows];
        let mut out = Vec::new();
        for (encoding, (_, column)) in self.columns.iter().zip(columns) {
            match (encoding, column) {
                (ColumnEncoding::Numeric { name }, InputColumn::Numeric(values)) => {
                    out.push((name.clone(), values.clone()));
                }
                (
                    ColumnEncoding::OneHot {
                        name,
                        reference,
                        levels,
                    },
                    InputColumn::Categorical(values),
                ) => {
                    let mut level_columns = vec![vec![0.0; values.len()]; levels.len()];
                    for (i, value) in values.iter().enumerate() {
                        match levels.binary_search(value) {
                            Ok(l) => level_columns[l][i] = 1.0,
                            Err(_) if value != reference => {
                                if let Some(flag) = unseen.get_mut(i) {
                                    *flag = true;
                                }
                            }
                            Err(_) => {}
                        }
                    }
                    for (level, column) in levels.iter().zip(level_columns) {
                        out.push((format!("{name}[T.{level}]"), column));
                    }
                }
                _ => {
                    return Err(ModelError::InvalidParameter {
                        name: "input column kind",
                        value: f64::NAN,
                        hint: "a column numeric at fit time must be numeric when encoding, and a categorical one categorical",
                    });
                }
            }
        }
        let matrix = FeatureMatrix::from_columns(out)?;
        if matrix.cols() > 0 && matrix.rows() != rows {
            return Err(ModelError::InvalidParameter {
                name: "input column length",
                value: matrix.rows() as f64,
                hint: "every input column must have the same number of rows",
            });
        }
        Ok(Encoded {
            matrix,
            rows_with_unseen_levels: unseen.iter().filter(|u| **u).count(),
        })
    }
}

/// Z-scores per column with the training data's mean and population standard deviation (as
/// scikit-learn's `StandardScaler`); a constant column keeps scale 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// Each column's mean.
    pub means: Vec<f64>,
    /// Each column's standard deviation (1 for a constant column).
    pub scales: Vec<f64>,
}

impl Standardizer {
    /// Learns means and scales from `matrix`.
    pub fn fit(matrix: &FeatureMatrix) -> Standardizer {
        let n = matrix.rows().max(1) as f64;
        let (means, scales) = (0..matrix.cols())
            .map(|j| {
                let column = matrix.column(j);
                let mean = column.iter().sum::<f64>() / n;
                let var = column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
                (mean, if var > 0.0 { var.sqrt() } else { 1.0 })
            })
            .unzip();
        Standardizer { means, scales }
    }

    /// `matrix` in z-scores (same column names).
    pub fn transform(&self, matrix: &FeatureMatrix) -> FeatureMatrix {
        let mut values = Vec::with_capacity(matrix.values.len());
        for j in 0..matrix.cols() {
            let (mean, scale) = (self.means[j], self.scales[j]);
            values.extend(matrix.column(j).iter().map(|v| (v - mean) / scale));
        }
        FeatureMatrix {
            names: matrix.names.clone(),
            rows: matrix.rows,
            values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(values: &[&str]) -> InputColumn {
        InputColumn::Categorical(values.iter().map(|v| (*v).to_owned()).collect())
    }

    #[test]
    fn treatment_coding_drops_the_first_sorted_level_and_names_columns_like_patsy() {
        let columns = vec![
            (
                "age".to_owned(),
                InputColumn::Numeric(vec![30.0, 40.0, 50.0]),
            ),
            ("gender".to_owned(), text(&["m", "f", "x"])),
        ];
        let encoder = Encoder::fit(&columns, &[]).unwrap();
        let encoded = encoder.encode(&columns).unwrap();
        assert_eq!(
            encoded.matrix.names(),
            ["age", "gender[T.m]", "gender[T.x]"]
        );
        assert_eq!(encoded.matrix.column(1), [1.0, 0.0, 0.0]);
        assert_eq!(encoded.matrix.column(2), [0.0, 0.0, 1.0]);
        assert_eq!(encoded.rows_with_unseen_levels, 0);

        let chosen = Encoder::fit(&columns, &[("gender".into(), "m".into())]).unwrap();
        let names = chosen.encode(&columns).unwrap().matrix.names().to_vec();
        assert_eq!(names, ["age", "gender[T.f]", "gender[T.x]"]);
        assert!(Encoder::fit(&columns, &[("gender".into(), "q".into())]).is_err());
    }

    #[test]
    fn unseen_levels_encode_as_the_reference_and_are_counted() {
        let train = vec![("plan".to_owned(), text(&["a", "b"]))];
        let encoder = Encoder::fit(&train, &[]).unwrap();
        let score = vec![("plan".to_owned(), text(&["b", "c", "a"]))];
        let encoded = encoder.encode(&score).unwrap();
        assert_eq!(encoded.matrix.column(0), [1.0, 0.0, 0.0]);
        assert_eq!(encoded.rows_with_unseen_levels, 1);
    }

    #[test]
    fn non_finite_values_are_rejected_with_their_position() {
        let err = FeatureMatrix::from_columns(vec![
            ("a".into(), vec![1.0, 2.0]),
            ("b".into(), vec![1.0, f64::NAN]),
        ])
        .unwrap_err();
        assert!(matches!(
            err,
            ModelError::InvalidFeature {
                row: 1,
                column: 1,
                ..
            }
        ));
    }
}
