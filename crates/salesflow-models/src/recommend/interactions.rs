//! The user × item matrix of purchase weights.

/// A sparse user × item matrix in compressed rows; each row's items ascending, weights > 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Interactions {
    users: usize,
    items: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl Interactions {
    /// Builds from (user, item, weight) triples; repeated pairs add up. Triples with a weight
    /// that is not finite and positive are left out (a purchase weight is a count or amount).
    pub fn from_triples(
        users: usize,
        items: usize,
        triples: impl IntoIterator<Item = (u32, u32, f32)>,
    ) -> Interactions {
        let mut triples: Vec<(u32, u32, f32)> = triples
            .into_iter()
            .filter(|t| {
                t.2.is_finite() && t.2 > 0.0 && (t.0 as usize) < users && (t.1 as usize) < items
            })
            .collect();
        triples.sort_unstable_by_key(|t| (t.0, t.1));
        let mut indptr = vec![0usize; users + 1];
        let mut indices = Vec::with_capacity(triples.len());
        let mut values: Vec<f32> = Vec::with_capacity(triples.len());
        let mut last: Option<(u32, u32)> = None;
        for (u, i, w) in triples {
            if last == Some((u, i)) {
                if let Some(v) = values.last_mut() {
                    *v += w;
                }
                continue;
            }
            last = Some((u, i));
            indices.push(i);
            values.push(w);
            indptr[u as usize + 1] += 1;
        }
        for u in 0..users {
            indptr[u + 1] += indptr[u];
        }
        Interactions {
            users,
            items,
            indptr,
            indices,
            values,
        }
    }

    /// Number of users (rows).
    pub fn users(&self) -> usize {
        self.users
    }

    /// Number of items (columns).
    pub fn items(&self) -> usize {
        self.items
    }

    /// Number of stored (user, item) pairs.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// User `u`'s items and weights.
    pub fn row(&self, u: usize) -> (&[u32], &[f32]) {
        let range = self.indptr[u]..self.indptr[u + 1];
        (&self.indices[range.clone()], &self.values[range])
    }

    /// The item × user matrix.
    pub fn transpose(&self) -> Interactions {
        let mut indptr = vec![0usize; self.items + 1];
        for &i in &self.indices {
            indptr[i as usize + 1] += 1;
        }
        for i in 0..self.items {
            indptr[i + 1] += indptr[i];
        }
        let mut next = indptr.clone();
        let mut indices = vec![0u32; self.nnz()];
        let mut values = vec![0f32; self.nnz()];
        for u in 0..self.users {
            let (items, weights) = self.row(u);
            for (&i, &w) in items.iter().zip(weights) {
                let at = next[i as usize];
                indices[at] = u as u32;
                values[at] = w;
                next[i as usize] += 1;
            }
        }
        Interactions {
            users: self.items,
            items: self.users,
            indptr,
            indices,
            values,
        }
    }

    /// The same pattern with every weight mapped through `f`.
    pub fn map_values(&self, f: impl Fn(usize, u32, f32) -> f32) -> Interactions {
        let mut out = self.clone();
        for u in 0..self.users {
            for k in self.indptr[u]..self.indptr[u + 1] {
                out.values[k] = f(u, self.indices[k], self.values[k]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_add_and_transpose_round_trips() {
        let m = Interactions::from_triples(
            3,
            4,
            [
                (0, 2, 1.0),
                (2, 0, 2.0),
                (0, 2, 3.0),
                (0, 1, 1.0),
                (1, 3, f32::NAN),
                (1, 3, -1.0),
            ],
        );
        assert_eq!(m.row(0), (&[1, 2][..], &[1.0, 4.0][..]));
        assert_eq!(m.row(1).0.len(), 0);
        assert_eq!(m.nnz(), 3);
        let t = m.transpose();
        assert_eq!(t.users(), 4);
        assert_eq!(t.row(2), (&[0][..], &[4.0][..]));
        assert_eq!(t.transpose(), m);
    }
}
