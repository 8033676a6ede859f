//! The experiment on disk: goal, plan state.
