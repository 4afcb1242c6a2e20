//! The business views of itemsets and rules: bundles to offer, and what to offer beside a product.

use super::{Itemset, Rule, RuleMetrics, Transactions};

/// A set of products bought together more often than chance would have it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// Item ids, ascending.
    pub items: Vec<u32>,
    /// Baskets holding all of them.
    pub count: u64,
    /// `count / baskets`.
    pub support: f64,
    /// Support over the product of the items' own supports (1 = independent).
    pub lift: f64,
    /// Revenue of these items in the baskets holding all of them, when baskets carry revenue.
    pub revenue: Option<f64>,
    /// That revenue as a share of all revenue.
    pub revenue_share: Option<f64>,
}

/// The `limit` itemsets of two or more items with the highest lift (above 1), ties by support.
pub fn bundles(itemsets: &[Itemset], transactions: &Transactions, limit: usize) -> Vec<Bundle> {
    let n = transactions.len().max(1) as f64;
    let item_counts = transactions.item_counts();
    let mut out: Vec<Bundle> = itemsets
        .iter()
        .filter(|s| s.items.len() >= 2)
        .map(|s| {
            let support = s.count as f64 / n;
            let independent: f64 = s
                .items
                .iter()
                .map(|&i| item_counts[i as usize] as f64 / n)
                .product();
            Bundle {
                items: s.items.clone(),
                count: s.count,
                support,
                lift: support / independent,
                revenue: None,
                revenue_share: None,
            }
        })
        .filter(|b| b.lift > 1.0)
        .collect();
    out.sort_by(|a, b| {
        b.lift
            .total_cmp(&a.lift)
            .then(b.count.cmp(&a.count))
            .then_with(|| a.items.cmp(&b.items))
    });
    out.truncate(limit);
    if transactions.has_values() {
        add_revenue(&mut out, transactions);
    }
    out
}

fn add_revenue(bundles: &mut [Bundle], transactions: &Transactions) {
    let mut total = 0.0;
    let mut baskets_of: Vec<Vec<u32>> = vec![Vec::new(); transactions.items()];
    for (b, basket) in transactions.baskets().enumerate() {
        for &item in basket {
            baskets_of[item as usize].push(b as u32);
        }
        total += transactions
            .basket_values(b)
            .map_or(0.0, |v| v.iter().sum::<f64>());
    }
    for bundle in bundles {
        let Some(&rarest) = bundle
            .items
            .iter()
            .min_by_key(|&&i| baskets_of[i as usize].len())
        else {
            continue;
        };
        let mut revenue = 0.0;
        for &b in &baskets_of[rarest as usize] {
            let basket = transactions.basket(b as usize);
            let Some(values) = transactions.basket_values(b as usize) else {
                continue;
            };
            let positions: Option<Vec<usize>> = bundle
                .items
                .iter()
                .map(|i| basket.binary_search(i).ok())
                .collect();
            if let Some(positions) = positions {
                revenue += positions.iter().map(|&p| values[p]).sum::<f64>();
            }
        }
        bundle.revenue = Some(revenue);
        bundle.revenue_share = Some(if total > 0.0 { revenue / total } else { 0.0 });
    }
}

/// What to offer beside one product.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossSell {
    /// The product in the basket.
    pub item: u32,
    /// Products to offer, best first, with the metrics of `item -> offer`.
    pub offers: Vec<(u32, RuleMetrics)>,
}

/// For each product, up to `per_item` products to offer beside it: the single-item rules
/// `item -> offer` among `rules` with lift above 1, by confidence (the chance the offer is
/// bought too), then lift. Products come in id order.
pub fn cross_sell(rules: &[Rule], per_item: usize) -> Vec<CrossSell> {
    let mut by_item: std::collections::BTreeMap<u32, Vec<(u32, RuleMetrics)>> =
        std::collections::BTreeMap::new();
    for rule in rules {
        if rule.antecedents.len() == 1 && rule.consequents.len() == 1 && rule.metrics.lift > 1.0 {
            by_item
                .entry(rule.antecedents[0])
                .or_default()
                .push((rule.consequents[0], rule.metrics));
        }
    }
    by_item
        .into_iter()
        .map(|(item, mut offers)| {
            offers.sort_by(|a, b| {
                b.1.confidence
                    .total_cmp(&a.1.confidence)
                    .then(b.1.lift.total_cmp(&a.1.lift))
                    .then(a.0.cmp(&b.0))
            });
            offers.truncate(per_item);
            CrossSell { item, offers }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{Metric, MiningOptions, association_rules, frequent_itemsets};
    use super::*;

    #[test]
    fn bundles_carry_the_revenue_they_cover() {
        let mut t = Transactions::new();
        let (cam, card, pen) = (t.intern("camera"), t.intern("card"), t.intern("pen"));
        t.push_valued([(cam, 500.0), (card, 20.0)]);
        t.push_valued([(cam, 450.0), (card, 25.0), (pen, 2.0)]);
        t.push_valued([(pen, 2.0)]);
        t.push_valued([(pen, 3.0)]);
        let options = MiningOptions {
            min_support: 0.5,
            max_len: None,
        };
        let itemsets = frequent_itemsets(&t, &options).unwrap();
        let b = bundles(&itemsets, &t, 10);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].items, vec![cam, card]);
        assert_eq!(b[0].count, 2);
        assert!((b[0].lift - 2.0).abs() < 1e-12);
        assert_eq!(b[0].revenue, Some(995.0));
        assert!((b[0].revenue_share.unwrap() - 995.0 / 1002.0).abs() < 1e-12);

        let rules = association_rules(&itemsets, t.len(), Metric::Confidence, 0.5).unwrap();
        let offers = cross_sell(&rules, 3);
        assert_eq!(offers.len(), 2);
        assert_eq!(offers[0].item, cam);
        assert_eq!(offers[0].offers[0].0, card);
        assert_eq!(offers[0].offers[0].1.confidence, 1.0);
    }
}
