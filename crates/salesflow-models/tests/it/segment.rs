//! Segmentation against scikit-learn 1.9 (fixtures/segment, made by its generate.py) and
//! hand-computed RFM tables: Lloyd's iterations from given centres reach scikit-learn's
//! centres, labels, inertia and iteration count; the silhouette equals `silhouette_score` to
//! 1e-10; k is chosen right on separated blobs; restarts keep the lowest inertia.

use salesflow_models::segment::kmeans::{KMeansOptions, kmeans, lloyd};
use salesflow_models::segment::rfm::{RfmCustomer, RfmSegment, quintile_scores, rfm_scores};
use salesflow_models::segment::silhouette::silhouette_score;
use serde_json::Value;

use crate::common::fixture;

fn json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(&format!("segment/{name}"))).expect("fixture");
    serde_json::from_str(&text).expect("valid JSON")
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// A list of rows as one row-major vector, and the row width.
fn matrix(v: &Value) -> (Vec<f64>, usize) {
    let rows = v.as_array().expect("rows");
    let width = rows[0].as_array().expect("row").len();
    (rows.iter().flat_map(numbers).collect(), width)
}

fn labels(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("labels")
        .iter()
        .map(|x| x.as_u64().expect("label") as usize)
        .collect()
}

#[track_caller]
fn close(got: f64, want: f64, relative: f64, what: &str) {
    assert!(
        (got - want).abs() <= relative * want.abs().max(1.0),
        "{what}: {got} vs {want} (difference {:.3e})",
        got - want
    );
}

/// The blobs standardised with scikit-learn's mean and scale.
fn standardised_blobs(k: &Value) -> Vec<f64> {
    let (points, d) = matrix(&k["blobs"]["points"]);
    let mean = numbers(&k["standardised"]["mean"]);
    let std = numbers(&k["standardised"]["std"]);
    points
        .chunks_exact(d)
        .flat_map(|p| {
            (0..d)
                .map(|f| (p[f] - mean[f]) / std[f])
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn lloyd_reaches_scikit_learns_centres_from_the_same_start() {
    let k = json("kmeans_sklearn.json");
    for case in k["lloyd"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let data = case["data"].as_str().expect("data");
        let (points, d) = matrix(&k[data]["points"]);
        let (init, _) = matrix(&case["init"]);
        for threads in [1, 2] {
            let run = lloyd(&points, d, &init, 300, 0.0, threads).expect("lloyd");
            assert_eq!(run.labels, labels(&case["labels"]), "{name}: labels");
            let (centres, _) = matrix(&case["centres"]);
            for (i, (&got, &want)) in run.centroids.iter().zip(&centres).enumerate() {
                close(got, want, 1e-9, &format!("{name}: centre value {i}"));
            }
            close(
                run.inertia,
                case["inertia"].as_f64().expect("inertia"),
                1e-9,
                &format!("{name}: inertia"),
            );
            assert_eq!(
                run.iterations as u64,
                case["n_iter"].as_u64().expect("n_iter"),
                "{name}: iterations"
            );
            assert!(run.converged, "{name}");
        }
    }
}

#[test]
fn silhouette_equals_scikit_learns() {
    let k = json("kmeans_sklearn.json");
    let z = standardised_blobs(&k);
    for case in k["silhouette"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let (points, d) = match case["data"].as_str().expect("data") {
            "blobs_standardised" => (z.clone(), 3),
            data => matrix(&k[data]["points"]),
        };
        let got = silhouette_score(&points, d, &labels(&case["labels"])).expect("silhouette");
        let sklearn = case["sklearn"].as_f64().expect("sklearn");
        let exact = case["exact"].as_f64().expect("exact");
        assert!(
            (got - sklearn).abs() <= 1e-10,
            "{name}: {got} vs scikit-learn {sklearn}"
        );
        assert!(
            (got - exact).abs() <= 1e-12,
            "{name}: {got} vs exact {exact}"
        );
    }
}

#[test]
fn k_is_chosen_right_on_separated_blobs() {
    let k = json("kmeans_sklearn.json");
    let (points, d) = matrix(&k["blobs"]["points"]);
    let reference = &k["standardised"];
    let fit = kmeans(&points, d, &KMeansOptions::default()).expect("fit");
    assert_eq!(fit.k as u64, reference["best_k"].as_u64().expect("best k"));
    assert_eq!(
        fit.silhouette_by_k
            .iter()
            .map(|(k, _)| *k)
            .collect::<Vec<_>>(),
        (2..=8).collect::<Vec<_>>()
    );
    // Standardisation as StandardScaler's.
    for (f, (&m, &s)) in fit.feature_mean.iter().zip(&fit.feature_scale).enumerate() {
        close(m, numbers(&reference["mean"])[f], 1e-12, "mean");
        close(s, numbers(&reference["std"])[f], 1e-12, "scale");
    }
    // At k = 4 both reach the same partition: scikit-learn's KMeans (10 inits) inertia,
    // sizes, centres and silhouette.
    close(
        fit.inertia,
        reference["k4_inertia"].as_f64().expect("inertia"),
        1e-9,
        "k = 4 inertia",
    );
    let mut want_sizes: Vec<usize> = labels(&reference["k4_sizes"]);
    want_sizes.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(fit.sizes, want_sizes);
    let (want_centres, _) = matrix(&reference["k4_centres"]);
    for centre in fit.centroids.chunks_exact(d) {
        let nearest = want_centres
            .chunks_exact(d)
            .min_by(|a, b| {
                let da: f64 = a.iter().zip(centre).map(|(p, q)| (p - q).abs()).sum();
                let db: f64 = b.iter().zip(centre).map(|(p, q)| (p - q).abs()).sum();
                da.total_cmp(&db)
            })
            .expect("centres");
        for (&got, &want) in centre.iter().zip(nearest) {
            close(got, want, 1e-9, "k = 4 centre");
        }
    }
    let sk4 = reference["by_k"]
        .as_array()
        .expect("by k")
        .iter()
        .find(|r| r["k"] == 4)
        .and_then(|r| r["silhouette"].as_f64())
        .expect("k = 4 silhouette");
    let ours4 = fit
        .silhouette_by_k
        .iter()
        .find(|(k, _)| *k == 4)
        .expect("k = 4")
        .1;
    assert!((ours4 - sk4).abs() <= 1e-10, "{ours4} vs {sk4}");
    assert_eq!(fit.silhouette, Some(ours4));
    // The silhouette reported is that of the final labels on the standardised points.
    let z = standardised_blobs(&k);
    let direct = silhouette_score(&z, d, &fit.labels).expect("silhouette");
    assert!((direct - ours4).abs() <= 1e-12);
    assert!(fit.converged);
}

#[test]
fn k_is_chosen_right_when_fitted_on_a_sample() {
    // 20,000 points in 5 blobs (2 features), sampled down to 1,500 to choose k.
    let centres = [[0.0, 0.0], [8.0, 0.0], [0.0, 8.0], [8.0, 8.0], [4.0, 16.0]];
    let mut state = 0x1234_5678_u64;
    let mut normal = || {
        // Box-Muller on a small LCG, to keep the test independent of the crate's generator.
        let mut uniform = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (u1, u2) = (uniform(), uniform());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    };
    let mut points = Vec::new();
    for i in 0..20_000 {
        let c = centres[i % 5];
        points.push(c[0] + normal());
        points.push(c[1] + normal());
    }
    let fit = kmeans(
        &points,
        2,
        &KMeansOptions {
            sample_size: 1_500,
            ..KMeansOptions::default()
        },
    )
    .expect("fit");
    assert_eq!(fit.k, 5);
    assert_eq!(fit.labels.len(), 20_000);
    for size in &fit.sizes {
        assert!((3_900..=4_100).contains(size), "{:?}", fit.sizes);
    }
    // Every point is assigned to its nearest final centroid.
    for (p, &label) in points.chunks_exact(2).zip(&fit.labels).step_by(97) {
        let d2 = |c: &[f64]| (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2);
        let own = d2(&fit.centroids[label * 2..label * 2 + 2]);
        assert!(fit.centroids.chunks_exact(2).all(|c| own <= d2(c) + 1e-9));
    }
}

#[test]
fn restarts_keep_the_lowest_inertia() {
    // Structureless points: k-means++ starts end in different local minima.
    let mut state = 99u64;
    let points: Vec<f64> = (0..3 * 400)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect();
    let options = |seed, restarts| KMeansOptions {
        k: Some(7),
        seed,
        restarts,
        tolerance: 0.0,
        ..KMeansOptions::default()
    };
    // Restart r of seed s starts as a one-restart fit of seed s + r.
    let singles: Vec<f64> = (0..8)
        .map(|r| {
            kmeans(&points, 3, &options(40 + r, 1))
                .expect("fit")
                .inertia
        })
        .collect();
    let lowest = singles.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = singles.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!(
        highest > lowest * 1.0001,
        "starts should differ: {singles:?}"
    );
    let best = kmeans(&points, 3, &options(40, 8)).expect("fit");
    assert_eq!(best.inertia, lowest, "{singles:?}");
    assert!(kmeans(&points, 3, &options(40, 2)).expect("fit").inertia >= lowest);
}

fn customer(recency_days: f64, frequency: f64, monetary: f64) -> RfmCustomer {
    RfmCustomer {
        recency_days,
        frequency,
        monetary,
    }
}

#[test]
fn rfm_scores_and_segments_by_hand() {
    // score = 1 + floor(5 · below / 10), below = customers strictly worse.
    let customers = [
        customer(2.0, 8.0, 900.0), // R: 9 older -> 5; F: 9 below -> 5; M: 9 below -> 5
        customer(5.0, 6.0, 600.0), // R: 7 older (tie with 2) -> 4; F: 8 -> 5; M: 7 -> 4
        customer(5.0, 1.0, 40.0),  // R 4; F: 0 below (4 one-order customers) -> 1; M: 1 -> 1
        customer(30.0, 3.0, 250.0), // R: 6 -> 4; F: 5 -> 3; M: 5 -> 3
        customer(60.0, 1.0, 40.0), // R: 5 -> 3; F 1; M 1 (tie with 40)
        customer(90.0, 2.0, 120.0), // R: 4 -> 3; F: 4 -> 3; M: 4 -> 3
        customer(120.0, 5.0, 700.0), // R: 3 -> 2; F: 7 -> 4; M: 8 -> 5
        customer(200.0, 1.0, 15.0), // R: 2 -> 2; F 1; M: 0 -> 1
        customer(365.0, 1.0, 60.0), // R: 1 -> 1; F 1; M: 3 -> 2
        customer(400.0, 4.0, 300.0), // R: 0 -> 1; F: 6 -> 4; M: 6 -> 4
    ];
    let want = [
        (555, RfmSegment::Champions),
        (454, RfmSegment::Champions),
        (411, RfmSegment::NewCustomers), // inside Potential Loyalist, tried before it
        (433, RfmSegment::LoyalCustomers),
        (311, RfmSegment::Promising), // inside Potential Loyalist, tried before it
        (333, RfmSegment::LoyalCustomers),
        (245, RfmSegment::LoyalCustomers),
        (211, RfmSegment::AboutToSleep),
        (112, RfmSegment::Lost),         // R = 1, F and M 1-2
        (144, RfmSegment::CantLoseThem), // inside At Risk, tried before it
    ];
    let scores = rfm_scores(&customers).expect("scores");
    for (i, (s, (code, segment))) in scores.iter().zip(want).enumerate() {
        assert_eq!((s.code(), s.segment), (code, segment), "customer {i}");
    }
    // Row order does not matter, ties included.
    let mut reversed = customers;
    reversed.reverse();
    let mut again = rfm_scores(&reversed).expect("scores");
    again.reverse();
    assert_eq!(again, scores);
}

#[test]
fn rfm_scores_match_the_python_reference_with_heavy_ties() {
    let r = json("rfm_scores.json");
    let rows = r["customers"].as_array().expect("customers");
    let customers: Vec<RfmCustomer> = rows
        .iter()
        .map(|c| {
            customer(
                c["recency_days"].as_f64().expect("r"),
                c["frequency"].as_f64().expect("f"),
                c["monetary"].as_f64().expect("m"),
            )
        })
        .collect();
    let scores = rfm_scores(&customers).expect("scores");
    for (i, (s, c)) in scores.iter().zip(rows).enumerate() {
        let want = (
            c["r"].as_u64().expect("r") as u8,
            c["f"].as_u64().expect("f") as u8,
            c["m"].as_u64().expect("m") as u8,
        );
        assert_eq!((s.r, s.f, s.m), want, "customer {i}");
        assert_eq!(
            s.segment.key(),
            c["segment"].as_str().expect("segment"),
            "customer {i}"
        );
    }
    // Every customer has a named segment, all eleven occur, and 99 customers (those the old
    // first-match table left as Others) get theirs from the grid.
    let segments: std::collections::BTreeSet<_> = scores.iter().map(|s| s.segment).collect();
    assert_eq!(segments.into_iter().collect::<Vec<_>>(), RfmSegment::NAMED);
    let from_grid = scores
        .iter()
        .filter(|s| RfmSegment::NAMED.iter().all(|n| !n.matches(s.r, s.f, s.m)))
        .count();
    assert_eq!(from_grid, 99);
    // One-order customers (42 %) all score F = 1.
    let frequency: Vec<f64> = customers.iter().map(|c| c.frequency).collect();
    let f = quintile_scores(&frequency).expect("scores");
    assert!(frequency.iter().zip(&f).all(|(&v, &s)| v != 1.0 || s == 1));
}

/// The 3-D cells no row of the table covers.
fn uncovered(r: u8, f: u8, m: u8) -> bool {
    !RfmSegment::NAMED.iter().any(|s| s.matches(r, f, m))
}

fn cells() -> impl Iterator<Item = (u8, u8, u8)> {
    (1..=5u8).flat_map(|r| (1..=5u8).flat_map(move |f| (1..=5u8).map(move |m| (r, f, m))))
}

#[test]
fn segment_boundaries_first_match() {
    use RfmSegment::*;
    // Cells inside some row of the 3-D table: the first row in precedence order.
    let table = [
        // Champions: R, F, M all 4-5; one step below on any score falls to Loyal Customers.
        (444, Champions),
        (555, Champions),
        (344, LoyalCustomers),
        (434, LoyalCustomers),
        (443, LoyalCustomers),
        // Can't Lose Them: R 1, F 4-5, M 4-5, inside At Risk and tried before it.
        (144, CantLoseThem),
        (155, CantLoseThem),
        (145, CantLoseThem),
        (143, AtRisk),
        (134, AtRisk),
        (244, LoyalCustomers),
        // Loyal Customers: R 2-5, F 3-5, M 3-5.
        (233, LoyalCustomers),
        (255, LoyalCustomers),
        (133, AtRisk),
        (523, PotentialLoyalist),
        (532, PotentialLoyalist),
        // New Customers (R 4-5, F 1, M 1), then Promising (R 3-4): R 4 is New Customers'.
        (511, NewCustomers),
        (411, NewCustomers),
        (311, Promising),
        (512, PotentialLoyalist),
        (521, PotentialLoyalist),
        (312, PotentialLoyalist),
        // Potential Loyalist: R 3-5, F 1-3, M 1-3, tried before Need Attention.
        (513, PotentialLoyalist),
        (322, PotentialLoyalist),
        (333, LoyalCustomers),
        // Need Attention: R 2-3, F 2-3, M 2-3.
        (222, NeedAttention),
        (223, NeedAttention),
        (232, NeedAttention),
        // About To Sleep: R 2-3, F 1-2, M 1-2 (R 3 is Promising's or Potential Loyalist's).
        (211, AboutToSleep),
        (212, AboutToSleep),
        (221, AboutToSleep),
        // At Risk: R 1-2, F 2-5, M 2-5.
        (122, AtRisk),
        (125, AtRisk),
        (152, AtRisk),
        (225, AtRisk),
        // Lost: R 1, F 1-2, M 1-2 (122 is At Risk's); Hibernating's R = 2 cells are taken.
        (111, Lost),
        (112, Lost),
        (121, Lost),
    ];
    // Cells no row covers: the recency x frequency grid, by (R, F) alone.
    let grid = [
        (113, Hibernating),
        (215, Hibernating),
        (131, AtRisk),
        (241, AtRisk),
        (151, CantLoseThem),
        (251, CantLoseThem),
        (314, AboutToSleep),
        (325, AboutToSleep),
        (341, LoyalCustomers),
        (352, LoyalCustomers),
        (441, LoyalCustomers),
        (414, Promising),
        (415, Promising),
        (514, NewCustomers),
        (515, NewCustomers),
        (424, PotentialLoyalist),
        (525, PotentialLoyalist),
        (541, Champions),
        (552, Champions),
    ];
    let split = |code: u16| {
        (
            (code / 100) as u8,
            (code / 10 % 10) as u8,
            (code % 10) as u8,
        )
    };
    for (code, want) in table {
        let (r, f, m) = split(code);
        assert_eq!(RfmSegment::classify(r, f, m), want, "{code}");
        assert!(want.matches(r, f, m) && !uncovered(r, f, m), "{code}");
    }
    for (code, want) in grid {
        let (r, f, m) = split(code);
        assert_eq!(RfmSegment::classify(r, f, m), want, "{code}");
        assert!(uncovered(r, f, m), "{code}");
    }
    assert!(Promising.matches(4, 1, 1) && AtRisk.matches(1, 5, 5));
    assert!(Hibernating.matches(2, 2, 2) && !Lost.matches(2, 2, 2) && Lost.matches(1, 2, 2));
    assert!(!Others.matches(3, 3, 3));

    // Cells of the 125 each segment gets, from the table and from the grid (the table in the
    // rfm module docs).
    let mut from_table = std::collections::BTreeMap::new();
    let mut from_grid = std::collections::BTreeMap::new();
    for (r, f, m) in cells() {
        let counts = if uncovered(r, f, m) {
            &mut from_grid
        } else {
            &mut from_table
        };
        *counts.entry(RfmSegment::classify(r, f, m)).or_insert(0) += 1;
    }
    let want_table = [
        (Champions, 8),
        (LoyalCustomers, 28),
        (PotentialLoyalist, 21),
        (NewCustomers, 2),
        (Promising, 1),
        (NeedAttention, 3),
        (AboutToSleep, 3),
        (AtRisk, 16),
        (CantLoseThem, 4),
        (Lost, 3),
    ];
    let want_grid = [
        (Champions, 4),
        (LoyalCustomers, 8),
        (PotentialLoyalist, 4),
        (NewCustomers, 2),
        (Promising, 2),
        (AboutToSleep, 4),
        (AtRisk, 4),
        (CantLoseThem, 2),
        (Hibernating, 6),
    ];
    assert_eq!(from_table.into_iter().collect::<Vec<_>>(), want_table);
    assert_eq!(from_grid.into_iter().collect::<Vec<_>>(), want_grid);
}

#[test]
fn every_named_segment_is_reached_and_others_never() {
    let mut seen = std::collections::BTreeSet::new();
    for (r, f, m) in cells() {
        let segment = RfmSegment::classify(r, f, m);
        assert_ne!(segment, RfmSegment::Others, "{r}{f}{m}");
        seen.insert(segment);
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        RfmSegment::NAMED.to_vec()
    );
}

#[test]
fn uncovered_cells_follow_the_recency_frequency_grid() {
    use RfmSegment::*;
    // The 2-D map as published: (R range, F range, segment); M plays no part.
    let map = [
        ((1, 2), (1, 2), Hibernating),
        ((1, 2), (3, 4), AtRisk),
        ((1, 2), (5, 5), CantLoseThem),
        ((3, 3), (1, 2), AboutToSleep),
        ((3, 3), (3, 3), NeedAttention),
        ((3, 4), (4, 5), LoyalCustomers),
        ((4, 4), (1, 1), Promising),
        ((5, 5), (1, 1), NewCustomers),
        ((4, 5), (2, 3), PotentialLoyalist),
        ((5, 5), (4, 5), Champions),
    ];
    let inside = |(low, high): (u8, u8), x: u8| (low..=high).contains(&x);
    let mut checked = 0;
    for (r, f, m) in cells() {
        let regions: Vec<_> = map
            .iter()
            .filter(|(rr, ff, _)| inside(*rr, r) && inside(*ff, f))
            .collect();
        assert_eq!(regions.len(), 1, "the map covers ({r}, {f}) once");
        if uncovered(r, f, m) {
            assert_eq!(RfmSegment::classify(r, f, m), regions[0].2, "{r}{f}{m}");
            checked += 1;
        }
    }
    assert_eq!(checked, 36);
}

/// 1,000,000 customers × 4 features: `cargo test --release -p salesflow-models --test it --
/// --ignored --nocapture kmeans_on_a_million`.
#[test]
#[ignore = "timing; run in release"]
fn kmeans_on_a_million_points() {
    let n = 1_000_000;
    let mut state = 7u64;
    let points: Vec<f64> = (0..4 * n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect();
    for threads in [1, 2] {
        let options = KMeansOptions {
            threads,
            ..KMeansOptions::default()
        };
        let start = std::time::Instant::now();
        let fit = kmeans(&points, 4, &options).expect("fit");
        let auto = start.elapsed();
        let start = std::time::Instant::now();
        let fixed = kmeans(
            &points,
            4,
            &KMeansOptions {
                k: Some(5),
                ..options
            },
        )
        .expect("fit");
        let given = start.elapsed();
        println!(
            "threads {threads}: choose k in 2..=8 {auto:.2?} (k = {}, {} final iterations, \
             converged {}, silhouettes {:?}); k = 5 given {given:.2?} ({} iterations)",
            fit.k, fit.iterations, fit.converged, fit.silhouette_by_k, fixed.iterations
        );
    }
}
