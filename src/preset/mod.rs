//! Training presets.
