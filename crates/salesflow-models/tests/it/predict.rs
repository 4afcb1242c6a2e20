//! Linear models, trees and metrics against statsmodels, scikit-learn and NIST
//! (`fixtures/predict`, made by `make_predict_fixtures.py`).

use salesflow_models::evaluate::{classification_metrics, regression_metrics, roc_auc};
use salesflow_models::features::{FeatureMatrix, Standardizer};
use salesflow_models::linear::{LinearOptions, LogisticOptions, fit_linear, fit_logistic};
use salesflow_models::tree::{
    Criterion, DecisionTree, ForestOptions, RandomForest, TreeOptions, TreeTarget,
};
use serde_json::Value;

use crate::common::{fixture, json_fixture, numbers, read_csv};

fn json(name: &str) -> Value {
    json_fixture(&format!("predict/{name}"))
}

fn assert_rel(got: f64, want: f64, tol: f64, what: &str) {
    let err = (got - want).abs() / want.abs().max(1e-300);
    assert!(
        err <= tol,
        "{what}: got {got}, want {want}, relative error {err:e}"
    );
}

/// Named numeric columns of a fixture CSV.
fn matrix(table: &crate::common::Table, names: &[&str]) -> FeatureMatrix {
    FeatureMatrix::from_columns(
        names
            .iter()
            .map(|n| {
                let j = table.col(n);
                ((*n).to_owned(), table.rows.iter().map(|r| r[j]).collect())
            })
            .collect(),
    )
    .unwrap()
}

const LONGLEY: [&str; 6] = ["GNPDEFL", "GNP", "UNEMP", "ARMED", "POP", "YEAR"];

#[test]
fn longley_ols_equals_statsmodels_and_nist() {
    let table = read_csv("predict/longley.csv");
    let y: Vec<f64> = table.rows.iter().map(|r| r[table.col("TOTEMP")]).collect();
    let fit = fit_linear(&matrix(&table, &LONGLEY), &y, &LinearOptions::default()).unwrap();
    let reference = json("longley_ols.json");
    let ols = &reference["ols"];
    let params = numbers(&ols["params"]);
    let bse = numbers(&ols["bse"]);
    let tvalues = numbers(&ols["tvalues"]);
    let pvalues = numbers(&ols["pvalues"]);
    let exact = numbers(&reference["exact_rational"]["params"]);
    for (j, c) in fit.coefficients.iter().enumerate() {
        assert_rel(
            c.estimate,
            params[j],
            1e-8,
            &format!("{} vs statsmodels", c.name),
        );
        assert_rel(c.estimate, exact[j], 1e-8, &format!("{} vs exact", c.name));
        assert_rel(
            c.std_error.unwrap(),
            bse[j],
            1e-8,
            &format!("se {}", c.name),
        );
        assert_rel(c.t.unwrap(), tvalues[j], 1e-8, &format!("t {}", c.name));
        assert_rel(
            c.p_value.unwrap(),
            pvalues[j],
            1e-6,
            &format!("p {}", c.name),
        );
        let interval = &ols["conf_int"][j];
        let (lo, hi) = c.interval.unwrap();
        assert_rel(lo, interval[0].as_f64().unwrap(), 1e-8, "lower");
        assert_rel(hi, interval[1].as_f64().unwrap(), 1e-8, "upper");
    }
    let scalar = |k: &str| ols[k].as_f64().unwrap();
    assert_rel(fit.r_squared, scalar("rsquared"), 1e-10, "R²");
    assert_rel(
        fit.adj_r_squared,
        scalar("rsquared_adj"),
        1e-10,
        "adjusted R²",
    );
    assert_rel(fit.ssr, scalar("ssr"), 1e-8, "SSR");
    assert_rel(fit.scale, scalar("scale"), 1e-8, "scale");
    let (f, f_p) = fit.f_test.unwrap();
    assert_rel(f, scalar("fvalue"), 1e-8, "F");
    assert_rel(f_p, scalar("f_pvalue"), 1e-6, "F p-value");
    assert_rel(fit.log_likelihood, scalar("llf"), 1e-10, "log-likelihood");
    assert_rel(fit.aic, scalar("aic"), 1e-10, "AIC");
    assert_rel(fit.bic, scalar("bic"), 1e-10, "BIC");
    let diagnostics = fit.diagnostics.unwrap();
    assert_rel(
        diagnostics.condition_number,
        scalar("condition_number"),
        1e-6,
        "condition number",
    );
    // NIST StRD certified values (15 significant digits).
    let nist = &reference["nist"];
    for (c, want) in fit.coefficients.iter().zip(numbers(&nist["params"])) {
        assert_rel(c.estimate, want, 1e-9, &format!("{} vs NIST", c.name));
    }
    assert_rel(
        fit.scale.sqrt(),
        nist["residual_sd"].as_f64().unwrap(),
        1e-9,
        "NIST SD",
    );
}

#[test]
fn longley_ridge_equals_the_exact_minimiser() {
    let table = read_csv("predict/longley.csv");
    let y: Vec<f64> = table.rows.iter().map(|r| r[table.col("TOTEMP")]).collect();
    let options = LinearOptions {
        ridge: 10.0,
        ..LinearOptions::default()
    };
    let fit = fit_linear(&matrix(&table, &LONGLEY), &y, &options).unwrap();
    let exact = &json("longley_ols.json")["ridge_alpha_10"]["exact_rational"];
    assert_rel(
        fit.coefficients[0].estimate,
        exact["intercept"].as_f64().unwrap(),
        1e-8,
        "intercept",
    );
    for (c, want) in fit.coefficients[1..].iter().zip(numbers(&exact["coef"])) {
        assert_rel(c.estimate, want, 1e-8, &c.name);
    }
}

/// Iris features and species indices.
fn iris() -> (FeatureMatrix, Vec<u32>) {
    let text = std::fs::read_to_string(fixture("predict/iris.csv")).unwrap();
    let species = ["setosa", "versicolor", "virginica"];
    let mut columns = vec![Vec::new(); 4];
    let mut labels = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        for (c, f) in columns.iter_mut().zip(&fields) {
            c.push(f.parse::<f64>().unwrap());
        }
        labels.push(species.iter().position(|s| *s == fields[4]).unwrap() as u32);
    }
    let names = ["sepal_length", "sepal_width", "petal_length", "petal_width"];
    let matrix =
        FeatureMatrix::from_columns(names.iter().map(|n| (*n).to_owned()).zip(columns).collect())
            .unwrap();
    (matrix, labels)
}

/// Compares a tree with scikit-learn's node list. The root split of iris ties between
/// petal length <= 2.45 and petal width <= 0.8 (both isolate setosa); scikit-learn breaks the
/// tie by its random feature order and this tree by column order, so a node's feature may
/// differ only where the partitions (sample counts and class counts) are the same.
fn assert_same_tree(tree: &DecisionTree, reference: &Value, allow_tied_feature: &[usize]) {
    let nodes = reference["nodes"].as_array().unwrap();
    assert_eq!(tree.nodes().len(), nodes.len(), "node count");
    for (i, (node, want)) in tree.nodes().iter().zip(nodes).enumerate() {
        assert_eq!(
            node.samples as u64,
            want["n_samples"].as_u64().unwrap(),
            "node {i}"
        );
        let value = match &want["value"] {
            Value::Array(_) => numbers(&want["value"]),
            scalar => vec![scalar.as_f64().unwrap()],
        };
        for (got, want) in node.value.iter().zip(&value) {
            assert!(
                (got - want).abs() < 1e-9 * want.abs().max(1.0),
                "node {i} value"
            );
        }
        let impurity = want["impurity"].as_f64().unwrap();
        assert!(
            (node.impurity - impurity).abs() < 1e-9 * impurity.max(1.0),
            "node {i} impurity"
        );
        match (node.split, want["feature"].as_str()) {
            (None, None) => {}
            (Some(split), Some(feature)) => {
                if !allow_tied_feature.contains(&i) {
                    assert_eq!(tree.feature_names()[split.feature], feature, "node {i}");
                    // scikit-learn compares float32 copies, so its thresholds are float32
                    // midpoints.
                    let threshold = want["threshold"].as_f64().unwrap();
                    assert!(
                        (split.threshold - threshold).abs() < 1e-5,
                        "node {i} threshold"
                    );
                }
            }
            _ => panic!("node {i}: leaf/split mismatch"),
        }
    }
}

#[test]
fn iris_trees_equal_scikit_learn() {
    let (x, y) = iris();
    let reference = json("iris_tree.json");
    let target = TreeTarget::Classes {
        labels: &y,
        n_classes: 3,
    };
    let depth = |d: usize, criterion: Criterion| TreeOptions {
        criterion,
        max_depth: Some(d),
        ..TreeOptions::default()
    };
    let tree = DecisionTree::fit(&x, target, None, &depth(2, Criterion::Gini)).unwrap();
    assert_same_tree(&tree, &reference["gini_max_depth_2"], &[0]);
    // The tied root: this tree takes the first column that isolates setosa.
    let root = tree.nodes()[0].split.unwrap();
    assert_eq!(tree.feature_names()[root.feature], "petal_length");
    assert_eq!(root.threshold, 2.45);
    let rules: Vec<String> = tree
        .rules()
        .iter()
        .map(|r| r.text("virginica", 2))
        .collect();
    assert_eq!(
        rules,
        [
            "if petal_length <= 2.45 then virginica 0 (n = 50)",
            "if petal_length > 2.45 and petal_width <= 1.75 then virginica 0.0926 (n = 54)",
            "if petal_length > 2.45 and petal_width > 1.75 then virginica 0.9783 (n = 46)",
        ]
    );
    let tree = DecisionTree::fit(&x, target, None, &depth(3, Criterion::Gini)).unwrap();
    assert_same_tree(&tree, &reference["gini_max_depth_3"], &[0]);
    let tree = DecisionTree::fit(&x, target, None, &depth(2, Criterion::Entropy)).unwrap();
    assert_same_tree(&tree, &reference["entropy_max_depth_2"], &[0]);
    // Importances: the tie moves the root's share between the petal features, so compare the
    // petal total and the sepal features.
    let importances = &reference["gini_max_depth_2"]["feature_importances"];
    let want = |name: &str| importances[name].as_f64().unwrap();
    let got = DecisionTree::fit(&x, target, None, &depth(2, Criterion::Gini))
        .unwrap()
        .feature_importances();
    assert!((got[2] + got[3] - want("petal_length") - want("petal_width")).abs() < 1e-12);
    assert!((got[0] - want("sepal_length")).abs() < 1e-12);
    assert!((got[1] - want("sepal_width")).abs() < 1e-12);
}

#[test]
fn iris_pruning_path_equals_scikit_learn() {
    let (x, y) = iris();
    let target = TreeTarget::Classes {
        labels: &y,
        n_classes: 3,
    };
    let tree = DecisionTree::fit(&x, target, None, &TreeOptions::default()).unwrap();
    let reference = &json("iris_tree.json")["gini_full_ccp_path"];
    assert_eq!(
        tree.leaves() as u64,
        reference["n_leaves_full"].as_u64().unwrap()
    );
    let path = tree.pruning_path();
    let alphas = numbers(&reference["ccp_alphas"]);
    let impurities = numbers(&reference["impurities"]);
    assert_eq!(path.alphas.len(), alphas.len(), "{:?}", path.alphas);
    for (got, want) in path.alphas.iter().zip(&alphas) {
        assert!(
            (got - want).abs() < 1e-12,
            "{:?} vs {alphas:?}",
            path.alphas
        );
    }
    for (got, want) in path.impurities.iter().zip(&impurities) {
        assert!((got - want).abs() < 1e-12);
    }
    // Pruning at an α between two steps leaves the subtree of that step.
    let pruned = tree.prune((alphas[4] + alphas[5]) / 2.0);
    assert!(pruned.leaves() < tree.leaves());
    let last = tree.prune(alphas[alphas.len() - 1]);
    assert_eq!(last.leaves(), 1);
}

#[test]
fn diabetes_regression_trees_equal_scikit_learn() {
    let table = read_csv("predict/diabetes.csv");
    let names = [
        "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
    ];
    let x = matrix(&table, &names);
    let y: Vec<f64> = table.rows.iter().map(|r| r[table.col("target")]).collect();
    let reference = json("diabetes_tree.json");
    let options = TreeOptions {
        criterion: Criterion::SquaredError,
        max_depth: Some(2),
        max_bins: usize::MAX,
        ..TreeOptions::default()
    };
    let tree = DecisionTree::fit(&x, TreeTarget::Values(&y), None, &options).unwrap();
    assert_same_tree(&tree, &reference["max_depth_2"], &[]);
    let options = TreeOptions {
        max_depth: Some(3),
        min_samples_leaf: 20,
        ..options
    };
    let tree = DecisionTree::fit(&x, TreeTarget::Values(&y), None, &options).unwrap();
    assert_same_tree(&tree, &reference["max_depth_3_min_samples_leaf_20"], &[]);
    let want = &reference["max_depth_3_min_samples_leaf_20"]["feature_importances"];
    for (got, name) in tree.feature_importances().iter().zip(names) {
        assert!((got - want[name].as_f64().unwrap()).abs() < 1e-9, "{name}");
    }
}

/// The CDNOW churn table: features, outcome.
fn churn(name: &str) -> (FeatureMatrix, Vec<bool>) {
    let table = read_csv(name);
    let names = [
        "purchase_days",
        "days_since_last",
        "tenure_days",
        "total_spend",
        "avg_spend",
    ];
    let y = table
        .rows
        .iter()
        .map(|r| r[table.col("churned")] == 1.0)
        .collect();
    (matrix(&table, &names), y)
}

#[test]
fn churn_logistic_regression_equals_scikit_learn() {
    let (train_x, train_y) = churn("predict/cdnow_churn_train.csv");
    let (test_x, test_y) = churn("predict/cdnow_churn_test.csv");
    let scaler = Standardizer::fit(&train_x);
    let reference = json("cdnow_churn.json");
    let logistic = &reference["logistic"];
    for (got, want) in scaler.scales.iter().zip(numbers(&logistic["scaler_scale"])) {
        assert_rel(*got, want, 1e-12, "scale");
    }
    let fit = fit_logistic(
        &scaler.transform(&train_x),
        &train_y,
        &LogisticOptions::default(),
    )
    .unwrap();
    assert!(fit.converged);
    let optimum = &logistic["newton_optimum"];
    assert_rel(
        fit.coefficients[0].estimate,
        optimum["intercept"].as_f64().unwrap(),
        1e-8,
        "intercept",
    );
    for (c, want) in fit.coefficients[1..].iter().zip(numbers(&optimum["coef"])) {
        assert_rel(c.estimate, want, 1e-7, &c.name);
    }
    let p = fit.predict_proba(&scaler.transform(&test_x)).unwrap();
    let metrics = classification_metrics(&test_y, &p, 0.5).unwrap();
    let want_auc = logistic["test_roc_auc"].as_f64().unwrap();
    assert!((metrics.roc_auc.unwrap() - want_auc).abs() < 1e-6);
    assert_rel(
        metrics.log_loss,
        logistic["test_log_loss"].as_f64().unwrap(),
        1e-6,
        "log loss",
    );
    assert_rel(
        metrics.precision,
        logistic["test_precision"].as_f64().unwrap(),
        1e-9,
        "precision",
    );
    assert_rel(
        metrics.recall,
        logistic["test_recall"].as_f64().unwrap(),
        1e-9,
        "recall",
    );
}

#[test]
fn churn_trees_and_forest_score_like_scikit_learn() {
    let (train_x, train_y) = churn("predict/cdnow_churn_train.csv");
    let (test_x, test_y) = churn("predict/cdnow_churn_test.csv");
    let labels: Vec<u32> = train_y.iter().map(|&c| u32::from(c)).collect();
    let target = TreeTarget::Classes {
        labels: &labels,
        n_classes: 2,
    };
    let reference = json("cdnow_churn.json");
    let positive = |proba: Vec<f64>| proba.chunks(2).map(|c| c[1]).collect::<Vec<_>>();
    let options = TreeOptions {
        max_depth: Some(4),
        min_samples_leaf: 20,
        max_bins: usize::MAX,
        ..TreeOptions::default()
    };
    let tree = DecisionTree::fit(&train_x, target, None, &options).unwrap();
    let auc = roc_auc(&test_y, &positive(tree.predict_proba(&test_x).unwrap())).unwrap();
    let want = reference["decision_tree"]["test_roc_auc"].as_f64().unwrap();
    assert!((auc - want).abs() < 0.01, "tree AUC {auc} vs {want}");

    let options = ForestOptions {
        trees: 300,
        tree: TreeOptions {
            min_samples_leaf: 5,
            ..TreeOptions::default()
        },
        ..ForestOptions::default()
    };
    let forest = RandomForest::fit(&train_x, target, &options).unwrap();
    let auc = roc_auc(&test_y, &positive(forest.predict_proba(&test_x).unwrap())).unwrap();
    let want = reference["random_forest"]["test_roc_auc"].as_f64().unwrap();
    assert!((auc - want).abs() < 0.01, "forest AUC {auc} vs {want}");
    let importances = forest.feature_importances();
    assert!((importances.iter().sum::<f64>() - 1.0).abs() < 1e-9);
}

#[test]
fn metrics_equal_scikit_learn() {
    let regression = json("regression_metrics.json");
    let actual = numbers(&regression["y_true"]);
    let predicted = numbers(&regression["y_pred"]);
    let m = regression_metrics(&actual, &predicted).unwrap();
    assert_rel(m.mse, regression["mse"].as_f64().unwrap(), 1e-12, "MSE");
    assert_rel(m.rmse, regression["rmse"].as_f64().unwrap(), 1e-12, "RMSE");
    assert_rel(m.mae, regression["mae"].as_f64().unwrap(), 1e-12, "MAE");
    assert_rel(m.r_squared, regression["r2"].as_f64().unwrap(), 1e-12, "R²");

    let classification = json("classification_metrics.json");
    let actual: Vec<bool> = numbers(&classification["y_true"])
        .iter()
        .map(|v| *v == 1.0)
        .collect();
    let p = numbers(&classification["y_score"]);
    let m = classification_metrics(&actual, &p, 0.5).unwrap();
    let want = |k: &str| classification[k].as_f64().unwrap();
    assert_rel(m.roc_auc.unwrap(), want("roc_auc"), 1e-12, "AUC");
    assert_rel(m.log_loss, want("log_loss"), 1e-12, "log loss");
    assert_rel(m.accuracy, want("accuracy"), 1e-12, "accuracy");
    assert_rel(m.precision, want("precision"), 1e-12, "precision");
    assert_rel(m.recall, want("recall"), 1e-12, "recall");
    assert_rel(m.f1, want("f1"), 1e-12, "F1");
    let ties = &classification["tie_case"];
    let actual: Vec<bool> = numbers(&ties["y_true"]).iter().map(|v| *v == 1.0).collect();
    let auc = roc_auc(&actual, &numbers(&ties["y_score"])).unwrap();
    assert_rel(auc, ties["roc_auc"].as_f64().unwrap(), 1e-12, "tie AUC");
}
