//! Baskets as item ids.

use std::collections::HashMap;

/// Baskets of items, each a sorted list of distinct item ids (`0..items()`), with the names.
///
/// Stored flat (one id array and basket offsets) so millions of baskets cost two allocations.
#[derive(Debug, Clone, Default)]
pub struct Transactions {
    names: Vec<String>,
    ids: HashMap<String, u32>,
    items: Vec<u32>,
    /// Revenue of each (basket, item) entry, parallel to `items`, when known.
    values: Option<Vec<f64>>,
    offsets: Vec<usize>,
}

impl Transactions {
    /// No baskets yet.
    pub fn new() -> Self {
        Transactions {
            offsets: vec![0],
            ..Default::default()
        }
    }

    /// Builds from baskets of item names; repeated items in a basket count once.
    pub fn from_baskets<I, B, S>(baskets: I) -> Self
    where
        I: IntoIterator<Item = B>,
        B: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut t = Transactions::new();
        for basket in baskets {
            t.push_basket(basket);
        }
        t
    }

    /// The id of `name`, adding it to the vocabulary if new.
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    /// Appends one basket given by item names (an empty basket still counts as a basket).
    pub fn push_basket<B, S>(&mut self, basket: B)
    where
        B: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let start = self.items.len();
        for name in basket {
            let id = self.intern(name.as_ref());
            self.items.push(id);
        }
        self.finish_basket(start);
    }

    /// Appends one basket given by item ids from [`Transactions::intern`].
    pub fn push_ids(&mut self, ids: impl IntoIterator<Item = u32>) {
        let start = self.items.len();
        self.items.extend(ids);
        self.finish_basket(start);
    }

    /// Appends one basket of (item id, revenue) lines; lines of one item add up.
    ///
    /// Either every basket carries revenue or none does: the first basket decides.
    pub fn push_valued(&mut self, lines: impl IntoIterator<Item = (u32, f64)>) {
        let start = self.items.len();
        if self.offsets.len() == 1 && self.values.is_none() {
            self.values = Some(Vec::new());
        }
        let mut lines: Vec<(u32, f64)> = lines.into_iter().collect();
        lines.sort_unstable_by_key(|l| l.0);
        let values = self.values.get_or_insert_with(Vec::new);
        for (id, value) in lines {
            if self.items.len() > start && self.items.last() == Some(&id) {
                if let Some(last) = values.last_mut() {
                    *last += value;
                }
            } else {
                self.items.push(id);
                values.push(value);
            }
        }
        self.offsets.push(self.items.len());
    }

    fn finish_basket(&mut self, start: usize) {
        let basket = &mut self.items[start..];
        basket.sort_unstable();
        let mut kept = 0;
        for i in 0..basket.len() {
            if i == 0 || basket[i] != basket[kept - 1] {
                basket[kept] = basket[i];
                kept += 1;
            }
        }
        self.items.truncate(start + kept);
        // A basket without values makes the whole set value-less.
        self.values = None;
        self.offsets.push(self.items.len());
    }

    /// Revenue of each item of basket `i` (parallel to [`Transactions::basket`]), when known.
    pub fn basket_values(&self, i: usize) -> Option<&[f64]> {
        self.values
            .as_ref()
            .map(|v| &v[self.offsets[i]..self.offsets[i + 1]])
    }

    /// Whether baskets carry revenue.
    pub fn has_values(&self) -> bool {
        self.values.is_some()
    }

    /// Number of baskets.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether there are no baskets.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of distinct items.
    pub fn items(&self) -> usize {
        self.names.len()
    }

    /// Basket `i`: its item ids, ascending.
    pub fn basket(&self, i: usize) -> &[u32] {
        &self.items[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Every basket in order.
    pub fn baskets(&self) -> impl Iterator<Item = &[u32]> {
        (0..self.len()).map(|i| self.basket(i))
    }

    /// The name of item `id`.
    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// The id of an item name, if known.
    pub fn id(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// Baskets holding each item, indexed by id.
    pub fn item_counts(&self) -> Vec<u64> {
        let mut counts = vec![0u64; self.names.len()];
        for &id in &self.items {
            counts[id as usize] += 1;
        }
        counts
    }

    /// Names of `ids`, sorted as strings (how itemsets are shown and compared with mlxtend).
    pub fn sorted_names(&self, ids: &[u32]) -> Vec<String> {
        let mut names: Vec<String> = ids.iter().map(|&i| self.name(i).to_owned()).collect();
        names.sort();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_collapse_and_empty_baskets_count() {
        let t = Transactions::from_baskets([vec!["b", "a", "b"], vec![], vec!["a"]]);
        assert_eq!(t.len(), 3);
        assert_eq!(t.items(), 2);
        assert_eq!(t.basket(0), &[0, 1]);
        assert_eq!(t.basket(1), &[] as &[u32]);
        assert_eq!(t.item_counts(), vec![1, 2]);
        assert_eq!(t.sorted_names(&[0, 1]), vec!["a", "b"]);
        assert!(!t.has_values());
    }

    #[test]
    fn valued_lines_of_one_item_add_up() {
        let mut t = Transactions::new();
        let a = t.intern("a");
        let b = t.intern("b");
        t.push_valued([(b, 2.0), (a, 1.0), (b, 3.0)]);
        t.push_valued([]);
        assert_eq!(t.basket(0), &[a, b]);
        assert_eq!(t.basket_values(0), Some(&[1.0, 5.0][..]));
        assert_eq!(t.basket_values(1), Some(&[][..]));
    }
}
