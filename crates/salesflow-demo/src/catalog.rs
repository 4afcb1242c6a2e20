//! The product catalogue and the basket model.
//!
//! A basket is built around a *target value* drawn from the Gamma-Gamma spend
//! model: an anchor product is chosen with probability proportional to its
//! popularity times a log-normal kernel around `ANCHOR_SHARE x target`, then
//! complements are added with category-specific probabilities (a camera pulls
//! in memory cards, lenses and bags; a laptop pulls in sleeves, mice and hubs),
//! then with probability `EXTRA_PROB` an unrelated popular item. The order
//! amount is the sum of the lines, so it follows the spend model only
//! approximately; the affinities produce association rules with high lift.

use rand::Rng;

use crate::rng::{DemoRng, pick_cdf, pick_weighted};

/// Category names, indexed by the `C_*` constants.
pub(crate) const CATEGORIES: [&str; 9] = [
    "cameras",
    "lenses",
    "memory cards",
    "tripods",
    "camera bags",
    "laptops",
    "laptop sleeves",
    "mice",
    "cables & hubs",
];
const C_CAMERA: usize = 0;
const C_LENS: usize = 1;
const C_CARD: usize = 2;
const C_TRIPOD: usize = 3;
const C_BAG: usize = 4;
const C_LAPTOP: usize = 5;
const C_SLEEVE: usize = 6;
const C_MOUSE: usize = 7;
const C_CABLE: usize = 8;

/// A catalogue entry: name, category, list price in cents, relative popularity.
pub(crate) struct Product {
    pub name: &'static str,
    pub category: usize,
    pub price_cents: i64,
    pub popularity: f64,
}

const fn p(name: &'static str, category: usize, price_cents: i64, popularity: f64) -> Product {
    Product {
        name,
        category,
        price_cents,
        popularity,
    }
}

/// The 60 products; `P0001` is the first.
pub(crate) const PRODUCTS: [Product; 60] = [
    p("Aperture C10 Compact Camera", C_CAMERA, 29_900, 3.0),
    p("Aperture C20 Zoom Camera", C_CAMERA, 44_900, 2.5),
    p("Aperture M50 Mirrorless Camera", C_CAMERA, 69_900, 2.0),
    p("Aperture M70 Mirrorless Camera", C_CAMERA, 99_900, 1.5),
    p("Aperture F90 Full-Frame Camera", C_CAMERA, 179_900, 0.8),
    p("Aperture V4 Vlogging Camera", C_CAMERA, 54_900, 1.5),
    p("Optix 35mm f/1.8 Prime Lens", C_LENS, 24_900, 2.0),
    p("Optix 50mm f/1.8 Prime Lens", C_LENS, 12_900, 3.0),
    p("Optix 18-55mm Kit Zoom Lens", C_LENS, 19_900, 2.0),
    p("Optix 24-70mm f/2.8 Zoom Lens", C_LENS, 109_900, 0.8),
    p("Optix 70-200mm f/4 Telephoto Lens", C_LENS, 79_900, 0.8),
    p("Optix 10-18mm Wide Angle Lens", C_LENS, 34_900, 1.0),
    p("Optix 85mm f/1.4 Portrait Lens", C_LENS, 59_900, 0.8),
    p("Optix 100mm Macro Lens", C_LENS, 49_900, 0.7),
    p("SwiftCard SD 32GB", C_CARD, 999, 3.0),
    p("SwiftCard SD 64GB", C_CARD, 1_499, 4.0),
    p("SwiftCard SD 128GB", C_CARD, 2_499, 4.0),
    p("SwiftCard SD 256GB", C_CARD, 4_499, 2.5),
    p("SwiftCard Pro SD 128GB V60", C_CARD, 5_999, 1.5),
    p("SwiftCard microSD 64GB", C_CARD, 1_299, 3.0),
    p("SwiftCard microSD 256GB", C_CARD, 3_499, 2.0),
    p("SwiftCard CFexpress 256GB", C_CARD, 17_999, 0.7),
    p("TrailPod Mini Tabletop Tripod", C_TRIPOD, 1_999, 2.5),
    p("TrailPod Flex Tripod", C_TRIPOD, 2_999, 2.5),
    p("TrailPod Travel Tripod", C_TRIPOD, 8_999, 1.5),
    p("TrailPod Carbon Tripod", C_TRIPOD, 22_900, 0.6),
    p("TrailPod Video Monopod", C_TRIPOD, 5_999, 0.8),
    p("TrailPod Ball Head", C_TRIPOD, 4_999, 0.8),
    p("Packhorse Camera Sling", C_BAG, 4_999, 2.0),
    p("Packhorse Shoulder Bag", C_BAG, 6_999, 1.5),
    p("Packhorse Camera Backpack 20L", C_BAG, 11_900, 1.5),
    p("Packhorse Roller Case", C_BAG, 19_900, 0.5),
    p("Packhorse Lens Pouch", C_BAG, 1_999, 1.5),
    p("Packhorse Rain Cover", C_BAG, 1_499, 1.0),
    p("Packhorse Holster Bag", C_BAG, 3_999, 1.0),
    p("Nimbus 13 Laptop", C_LAPTOP, 69_900, 2.0),
    p("Nimbus 14 Pro Laptop", C_LAPTOP, 109_900, 1.5),
    p("Nimbus 16 Creator Laptop", C_LAPTOP, 179_900, 0.7),
    p("Nimbus Air 13 Laptop", C_LAPTOP, 89_900, 1.5),
    p("Nimbus Chromebook 14", C_LAPTOP, 32_900, 2.0),
    p("Nimbus 15 Gaming Laptop", C_LAPTOP, 139_900, 1.0),
    p("Cocoon 13in Neoprene Sleeve", C_SLEEVE, 1_999, 2.5),
    p("Cocoon 14in Felt Sleeve", C_SLEEVE, 2_999, 2.0),
    p("Cocoon 16in Leather Sleeve", C_SLEEVE, 5_999, 1.0),
    p("Cocoon 15in Padded Sleeve", C_SLEEVE, 2_499, 2.0),
    p("Cocoon 13in Hardshell Case", C_SLEEVE, 3_499, 1.5),
    p("Cocoon Laptop Briefcase", C_SLEEVE, 7_999, 1.0),
    p("Cocoon Tech Pouch", C_SLEEVE, 1_799, 1.5),
    p("Glide Basic Wired Mouse", C_MOUSE, 999, 3.0),
    p("Glide Wireless Mouse", C_MOUSE, 2_499, 4.0),
    p("Glide Silent Wireless Mouse", C_MOUSE, 2_999, 2.5),
    p("Glide Ergonomic Mouse", C_MOUSE, 4_999, 2.0),
    p("Glide Travel Mouse", C_MOUSE, 1_999, 2.0),
    p("Glide Pro Precision Mouse", C_MOUSE, 8_999, 1.0),
    p("Glide Gaming Mouse", C_MOUSE, 5_999, 1.5),
    p("Linkup USB-C Hub 7-in-1", C_CABLE, 3_999, 3.0),
    p("Linkup USB-C Cable 2m", C_CABLE, 1_299, 4.0),
    p("Linkup HDMI Cable 2m", C_CABLE, 999, 3.0),
    p("Linkup SD Card Reader", C_CABLE, 1_699, 2.5),
    p("Linkup 65W USB-C Charger", C_CABLE, 3_499, 2.5),
];

/// Complements added to a basket, per anchor category: `(category, probability)`.
const AFFINITY: [&[(usize, f64)]; 9] = [
    // cameras
    &[
        (C_CARD, 0.70),
        (C_LENS, 0.40),
        (C_BAG, 0.35),
        (C_TRIPOD, 0.20),
        (C_CABLE, 0.10),
    ],
    // lenses
    &[(C_CARD, 0.15), (C_TRIPOD, 0.15), (C_BAG, 0.20)],
    // memory cards
    &[(C_CABLE, 0.15)],
    // tripods
    &[(C_BAG, 0.10), (C_CARD, 0.10)],
    // camera bags
    &[(C_CARD, 0.10)],
    // laptops
    &[(C_SLEEVE, 0.60), (C_MOUSE, 0.50), (C_CABLE, 0.35)],
    // laptop sleeves
    &[(C_MOUSE, 0.15)],
    // mice
    &[(C_CABLE, 0.10), (C_SLEEVE, 0.10)],
    // cables & hubs
    &[(C_MOUSE, 0.08)],
];

/// The anchor aims at this share of the target value (complements fill the rest).
pub(crate) const ANCHOR_SHARE: f64 = 0.75;
/// Log-scale width of the anchor price kernel.
pub(crate) const ANCHOR_SIGMA: f64 = 0.5;
/// Probability of one extra, unrelated item (by popularity).
pub(crate) const EXTRA_PROB: f64 = 0.12;
/// Unit-price discount on Black Friday / Cyber Monday days, percent.
pub(crate) const DISCOUNT_PERCENT: i64 = 15;

/// One basket line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Line {
    pub product: usize,
    pub quantity: i64,
    pub unit_cents: i64,
}

/// Catalogue lookups precomputed once.
pub(crate) struct Catalog {
    /// `P0001`, ... per product.
    pub ids: Vec<String>,
    ln_price: Vec<f64>,
    by_category: Vec<Vec<usize>>,
    category_cdf: Vec<Vec<f64>>,
    popularity_cdf: Vec<f64>,
}

impl Catalog {
    /// Builds the lookups.
    pub(crate) fn new() -> Self {
        let ids = (1..=PRODUCTS.len()).map(|i| format!("P{i:04}")).collect();
        let ln_price = PRODUCTS
            .iter()
            .map(|p| (p.price_cents as f64 / 100.0).ln())
            .collect();
        let mut by_category = vec![Vec::new(); CATEGORIES.len()];
        for (i, p) in PRODUCTS.iter().enumerate() {
            by_category[p.category].push(i);
        }
        let category_cdf = by_category
            .iter()
            .map(|members| cumulative(members.iter().map(|&i| PRODUCTS[i].popularity)))
            .collect();
        let popularity_cdf = cumulative(PRODUCTS.iter().map(|p| p.popularity));
        Self {
            ids,
            ln_price,
            by_category,
            category_cdf,
            popularity_cdf,
        }
    }

    /// Appends a basket aimed at `target` dollars to `out`; returns its total in cents.
    pub(crate) fn basket(
        &self,
        target: f64,
        discount: bool,
        rng: &mut DemoRng,
        out: &mut Vec<Line>,
    ) -> i64 {
        let start = out.len();
        let aim = (ANCHOR_SHARE * target).max(1.0).ln();
        let mut weights = [0.0; PRODUCTS.len()];
        for (i, w) in weights.iter_mut().enumerate() {
            let z = (self.ln_price[i] - aim) / ANCHOR_SIGMA;
            *w = PRODUCTS[i].popularity * (-0.5 * z * z).exp();
        }
        // Far below the cheapest product every weight underflows to zero; fall
        // back to popularity.
        let anchor = if weights.iter().any(|&w| w > 0.0) {
            pick_weighted(rng, &weights)
        } else {
            pick_cdf(rng, &self.popularity_cdf)
        };
        add_line(out, start, anchor, quantity(anchor, rng), discount);
        for &(category, prob) in AFFINITY[PRODUCTS[anchor].category] {
            if rng.random::<f64>() < prob {
                let members = &self.by_category[category];
                let item = members[pick_cdf(rng, &self.category_cdf[category])];
                add_line(out, start, item, quantity(item, rng), discount);
            }
        }
        if rng.random::<f64>() < EXTRA_PROB {
            let item = pick_cdf(rng, &self.popularity_cdf);
            add_line(out, start, item, quantity(item, rng), discount);
        }
        out[start..].iter().map(|l| l.quantity * l.unit_cents).sum()
    }
}

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

/// Quantity of a line: consumables are sometimes bought by two or three.
fn quantity(product: usize, rng: &mut DemoRng) -> i64 {
    match PRODUCTS[product].category {
        C_CARD | C_CABLE => {
            let u = rng.random::<f64>();
            if u < 0.80 {
                1
            } else if u < 0.95 {
                2
            } else {
                3
            }
        }
        C_MOUSE if rng.random::<f64>() < 0.05 => 2,
        _ => 1,
    }
}

/// Unit price in cents, with the holiday discount applied.
pub(crate) fn unit_cents(product: usize, discount: bool) -> i64 {
    let list = PRODUCTS[product].price_cents;
    if discount {
        (list * (100 - DISCOUNT_PERCENT) + 50) / 100
    } else {
        list
    }
}

fn add_line(out: &mut Vec<Line>, start: usize, product: usize, quantity: i64, discount: bool) {
    if let Some(line) = out[start..].iter_mut().find(|l| l.product == product) {
        line.quantity += quantity;
    } else {
        out.push(Line {
            product,
            quantity,
            unit_cents: unit_cents(product, discount),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn catalogue_shape() {
        assert_eq!(PRODUCTS.len(), 60);
        for c in 0..CATEGORIES.len() {
            assert!(PRODUCTS.iter().filter(|p| p.category == c).count() >= 5);
        }
        let cat = Catalog::new();
        assert_eq!(cat.ids[0], "P0001");
        assert_eq!(cat.ids[59], "P0060");
    }

    #[test]
    fn camera_baskets_carry_memory_cards() {
        let cat = Catalog::new();
        let mut rng = stream(1, "test", 0);
        let (mut camera, mut camera_card, mut other, mut other_card) = (0, 0, 0, 0);
        for _ in 0..20_000 {
            let mut lines = Vec::new();
            let target = rng.random_range(10.0..1500.0);
            let total = cat.basket(target, false, &mut rng, &mut lines);
            assert!(total > 0);
            let has = |c: usize| lines.iter().any(|l| PRODUCTS[l.product].category == c);
            if has(C_CAMERA) {
                camera += 1;
                camera_card += usize::from(has(C_CARD));
            } else {
                other += 1;
                other_card += usize::from(has(C_CARD));
            }
        }
        let p_card_given_camera = camera_card as f64 / camera as f64;
        let p_card_otherwise = other_card as f64 / other as f64;
        assert!(
            p_card_given_camera > 2.0 * p_card_otherwise,
            "{p_card_given_camera} vs {p_card_otherwise}"
        );
    }
}
