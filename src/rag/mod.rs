//! The RAG card: a knowledge base per experiment (`EXPERIMENT/rag/`), lexical retrieval
//! with BM25 (tantivy) over chunks of Markdown, text and source files, a tokenizer that
//! segments Chinese into words (jieba), and answers that cite their sources as `[n]` →
//! `file:start-end`. Dense retrieval is not built: BM25 alone meets the demo's recall.
//!
//! Pure layer: no tensors; the engine (eval) and front ends use it, never the reverse.

pub mod chunk;
pub mod citation;
pub mod index;
pub mod retrieve;
pub mod segment;
pub mod settings;

pub use index::{index, rag_dir, IndexReport};
pub use retrieve::{Hit, KnowledgeBase};
pub use settings::{Settings, TOP_K};
