//! Datasets: loading, checking and splitting.
