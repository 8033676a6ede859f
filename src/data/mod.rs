//! Datasets: loading, checking and splitting. Pure: serde and files, no tch, no terminal.
//!
//! - [`record`]: the normalised [`Example`] every format loads into;
//! - [`load`]: Alpaca / ShareGPT files, JSON array or JSON Lines, `dataset_info.json` entries
//!   (whose columns and tags `dataset_info` maps onto the record `schema`);
//! - [`check`]: the [`CheckReport`] of `data check`;
//! - [`tokens`]: token counts of records, from a tokenizer or an estimate;
//! - [`split`]: the seeded 8:1:1 split and the train/test leakage check;
//! - [`split_dir`]: a split on disk, verified by sha256, with its test part sealed;
//! - [`inspect`]: a records file as the cockpit shows it (check, token counts, sealed lines);
//! - [`run_dir`]: a run on disk (its files' names, the newest-run rule, the log's [`LogLine`]).

pub mod check;
mod dataset_info;
pub mod inspect;
pub mod load;
pub mod record;
pub mod run_dir;
mod schema;
mod similar;
pub mod split;
pub mod split_dir;
pub mod tokens;

pub use check::{check, check_path, CheckReport, Issue, IssueKind, Severity};
pub use load::{load, load_lenient, Dataset, Format, Layout, Loaded, Rejected};
pub use record::{Example, Location, Message, Record, Role};
pub use run_dir::{LogLine, RunDir};
pub use schema::SchemaKind;
pub use similar::{is_cjk, normalise, NEAR_DUPLICATE};
pub use split::{leakage, split, Leak, Ratio, Split};
pub use split_dir::{describe_leaks, split_to_dir, SplitDir, SplitManifest, SplitOutcome};
pub use tokens::{record_tokens, ApproxCounter, TokenCounter};
