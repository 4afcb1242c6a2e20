//! Recommenders on a synthetic purchase log with planted tastes, and basket rules planted in
//! synthetic baskets.

use salesflow_models::basket::{
    Metric, MiningOptions, Transactions, association_rules, frequent_itemsets,
};
use salesflow_models::recommend::{
    Als, AlsOptions, Content, Hybrid, Interactions, ItemFeatures, ItemKnn, Popular, Scorer,
    Weighting, evaluate,
};

use crate::sim::Rng;

const CLUSTERS: usize = 12;
const PER_CLUSTER: usize = 10;
const ITEMS: usize = CLUSTERS * PER_CLUSTER;

/// Users with two favourite product clusters; 80 % of purchases come from them (skewed
/// within a cluster), 20 % from the catalogue at large by popularity. The first 9 purchases
/// of each user train, the last 3 test.
fn planted_tastes(users: usize, seed: u64) -> (Interactions, Interactions) {
    let mut rng = Rng::new(seed);
    let pick = |rng: &mut Rng, n: usize| ((rng.uniform() * n as f64) as usize).min(n - 1);
    let mut train = Vec::new();
    let mut test = Vec::new();
    for u in 0..users as u32 {
        let a = pick(&mut rng, CLUSTERS);
        let b = (a + 1 + pick(&mut rng, CLUSTERS - 1)) % CLUSTERS;
        for n in 0..12 {
            let item = if rng.uniform() < 0.8 {
                let cluster = if rng.uniform() < 0.5 { a } else { b };
                // Within a cluster, item j has weight ∝ 1/(j+1).
                let x = rng.uniform();
                let j = ((PER_CLUSTER as f64 + 1.0).powf(x) - 1.0) as usize;
                cluster * PER_CLUSTER + j.min(PER_CLUSTER - 1)
            } else {
                let x = rng.uniform();
                (((ITEMS as f64 + 1.0).powf(x) - 1.0) as usize).min(ITEMS - 1)
            };
            let row = (u, item as u32, 1.0);
            if n < 9 {
                train.push(row)
            } else {
                test.push(row)
            }
        }
    }
    (
        Interactions::from_triples(users, ITEMS, train),
        Interactions::from_triples(users, ITEMS, test),
    )
}

#[test]
fn collaborative_models_beat_popularity_on_planted_tastes() {
    let (train, test) = planted_tastes(1500, 7);
    let popular = evaluate(&Popular::fit(&train), &train, &test, 10);
    let options = AlsOptions {
        factors: 16,
        regularization: 1.0,
        iterations: 15,
        ..AlsOptions::default()
    };
    let als = Als::fit(&train, &options, &mut |_| {}).unwrap();
    let als_metrics = evaluate(&als, &train, &test, 10);
    let knn = ItemKnn::fit(&train, Weighting::Cosine, 30);
    let knn_metrics = evaluate(&knn, &train, &test, 10);
    let bm25 = evaluate(
        &ItemKnn::fit(&train, Weighting::Bm25 { k1: 100.0, b: 0.8 }, 30),
        &train,
        &test,
        10,
    );
    let hybrid = evaluate(
        &Hybrid::new(vec![(&als as &dyn Scorer, 0.6), (&knn, 0.4)]),
        &train,
        &test,
        10,
    );
    assert!(popular.users > 1000);
    if std::env::var_os("SALESFLOW_SHOW").is_some() {
        eprintln!(
            "popular {popular:?}\nals {als_metrics:?}\nknn {knn_metrics:?}\nbm25 {bm25:?}\nhybrid {hybrid:?}"
        );
    }
    for (name, m) in [
        ("als", als_metrics),
        ("item-knn", knn_metrics),
        ("bm25", bm25),
        ("hybrid", hybrid),
    ] {
        assert!(
            m.ndcg > 1.3 * popular.ndcg && m.precision > popular.precision,
            "{name}: {m:?} vs popular {popular:?}"
        );
    }
}

#[test]
fn content_recommends_a_never_bought_product_of_the_right_kind() {
    // Features: one-hot cluster. Item 5 (cluster 0) was never bought.
    let items = ITEMS;
    let mut values = vec![0f32; items * CLUSTERS];
    for i in 0..items {
        values[i * CLUSTERS + i / PER_CLUSTER] = 1.0;
    }
    let content = Content::fit(&ItemFeatures {
        items,
        dims: CLUSTERS,
        values,
    });
    let train = Interactions::from_triples(1, items, [(0, 0, 2.0), (0, 1, 1.0)]);
    let list = salesflow_models::recommend::recommend(
        &content,
        Some(0),
        train.row(0),
        items,
        8,
        &mut Vec::new(),
    );
    assert!(list.iter().any(|(i, _)| *i == 5), "{list:?}");
    assert!(list.iter().all(|(i, _)| (*i as usize) < PER_CLUSTER));
}

#[test]
fn als_handles_one_user_and_unseen_users() {
    let train = Interactions::from_triples(1, 3, [(0, 1, 1.0)]);
    let als = Als::fit(
        &train,
        &AlsOptions {
            factors: 2,
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap();
    let mut scores = vec![0.0; 3];
    als.score(Some(0), train.row(0), &mut scores);
    assert!(scores.iter().all(|s| s.is_finite()));
    // A customer the model never saw: folded in from the history given.
    als.score(None, (&[1], &[1.0]), &mut scores);
    assert!(scores.iter().all(|s| s.is_finite()));
    assert!(scores[1] > scores[0]);
    // Huge weights stay finite.
    let train = Interactions::from_triples(2, 2, [(0, 0, 1e30), (1, 1, 1.0)]);
    let als = Als::fit(
        &train,
        &AlsOptions {
            factors: 2,
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap();
    als.score(Some(0), train.row(0), &mut scores[..2]);
    assert!(scores[..2].iter().all(|s| s.is_finite()), "{scores:?}");
}

#[test]
fn planted_basket_rules_are_found() {
    // camera -> memory card 70 %, laptop -> sleeve 60 %, laptop -> mouse 50 %, on top of noise.
    let mut rng = Rng::new(11);
    let mut t = Transactions::new();
    let noise: Vec<String> = (0..40).map(|i| format!("n{i}")).collect();
    for _ in 0..20_000 {
        let mut basket: Vec<&str> = Vec::new();
        let r = rng.uniform();
        if r < 0.1 {
            basket.push("camera");
            if rng.uniform() < 0.7 {
                basket.push("card");
            }
        } else if r < 0.2 {
            basket.push("laptop");
            if rng.uniform() < 0.6 {
                basket.push("sleeve");
            }
            if rng.uniform() < 0.5 {
                basket.push("mouse");
            }
        }
        for _ in 0..(rng.uniform() * 3.0) as usize {
            basket.push(&noise[(rng.uniform() * 40.0) as usize % 40]);
        }
        t.push_basket(basket);
    }
    let itemsets = frequent_itemsets(
        &t,
        &MiningOptions {
            min_support: 0.01,
            max_len: None,
        },
    )
    .unwrap();
    let rules = association_rules(&itemsets, t.len(), Metric::Lift, 2.0).unwrap();
    for (a, c, p) in [
        ("camera", "card", 0.7),
        ("laptop", "sleeve", 0.6),
        ("laptop", "mouse", 0.5),
    ] {
        let rule = rules
            .iter()
            .find(|r| {
                t.sorted_names(&r.antecedents) == [a] && t.sorted_names(&r.consequents) == [c]
            })
            .unwrap_or_else(|| panic!("{a} -> {c} not found"));
        // Binomial standard error of a share near p over ~2,000 baskets is about 0.011.
        assert!(
            (rule.metrics.confidence - p).abs() < 0.04,
            "{a} -> {c}: {:?}",
            rule.metrics
        );
    }
    // Noise items are independent of each other: no rule among them clears lift 2.
    assert!(rules.iter().all(|r| {
        let names = t.sorted_names(&r.antecedents);
        !names.iter().all(|n| n.starts_with('n'))
    }));
}
