//! A set of simulated price paths: the shared currency between models, the scorer and the miner.

use serde::{Deserialize, Serialize};

/// `n_paths` price paths of `n_points` points each (the start price included), stored path-major
/// in one contiguous buffer: point `t` of path `i` is `data[i * n_points + t]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathSet {
    n_paths: usize,
    n_points: usize,
    data: Vec<f64>,
}

/// Error building a [`PathSet`] from rows of unequal length or an ill-sized buffer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PathSetError {
    /// Row `row` has `got` points where `expected` were expected.
    #[error("path {row} has {got} points, expected {expected} (ragged paths)")]
    Ragged {
        row: usize,
        got: usize,
        expected: usize,
    },
    /// The flat buffer length is not `n_paths * n_points`.
    #[error("buffer has {got} values, expected {n_paths} x {n_points}")]
    BadLength {
        got: usize,
        n_paths: usize,
        n_points: usize,
    },
}

impl PathSet {
    /// Builds from a flat path-major buffer.
    pub fn from_flat(
        n_paths: usize,
        n_points: usize,
        data: Vec<f64>,
    ) -> Result<Self, PathSetError> {
        if data.len() != n_paths * n_points {
            return Err(PathSetError::BadLength {
                got: data.len(),
                n_paths,
                n_points,
            });
        }
        Ok(Self {
            n_paths,
            n_points,
            data,
        })
    }

    /// Builds from one `Vec` per path; all must have the same length.
    pub fn from_rows(rows: &[Vec<f64>]) -> Result<Self, PathSetError> {
        let n_points = rows.first().map_or(0, Vec::len);
        let mut data = Vec::with_capacity(rows.len() * n_points);
        for (row, r) in rows.iter().enumerate() {
            if r.len() != n_points {
                return Err(PathSetError::Ragged {
                    row,
                    got: r.len(),
                    expected: n_points,
                });
            }
            data.extend_from_slice(r);
        }
        Ok(Self {
            n_paths: rows.len(),
            n_points,
            data,
        })
    }

    /// Number of paths.
    pub fn n_paths(&self) -> usize {
        self.n_paths
    }

    /// Points per path (the start price included).
    pub fn n_points(&self) -> usize {
        self.n_points
    }

    /// Path `i` as a slice.
    pub fn path(&self, i: usize) -> &[f64] {
        &self.data[i * self.n_points..(i + 1) * self.n_points]
    }

    /// Iterator over the paths.
    pub fn paths(&self) -> impl ExactSizeIterator<Item = &[f64]> {
        // `max(1)` keeps `chunks_exact` valid for an empty set of zero-length paths.
        self.data.chunks_exact(self.n_points.max(1))
    }

    /// The flat path-major buffer.
    pub fn as_flat(&self) -> &[f64] {
        &self.data
    }

    /// Consumes the set, returning one `Vec` per path.
    pub fn into_rows(self) -> Vec<Vec<f64>> {
        self.paths().map(<[f64]>::to_vec).collect()
    }
}
