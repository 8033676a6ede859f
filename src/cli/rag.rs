//! `tunedeck rag index EXPERIMENT DOCS...` and `tunedeck rag query EXPERIMENT "question"`.

use crate::rag::{self, KnowledgeBase};
use anyhow::Result;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum RagCommand {
    /// Index Markdown, text and source files into EXPERIMENT/rag/ (only changed files are
    /// re-read).
    Index {
        experiment: PathBuf,
        /// Files or folders to index.
        #[arg(required = true)]
        docs: Vec<PathBuf>,
    },
    /// Print the chunks that best answer a question, with file:line ranges.
    Query {
        experiment: PathBuf,
        question: String,
        /// How many chunks (default: the experiment's `[rag] top_k`, else 3); the
        /// `[rag] max_context_chars` limit applies as it does before a chat message.
        #[arg(short, long)]
        k: Option<usize>,
    },
}

pub fn run(cmd: RagCommand) -> Result<()> {
    match cmd {
        RagCommand::Index { experiment, docs } => {
            let t = std::time::Instant::now();
            let r = rag::index(&experiment, &docs)?;
            for f in &r.skipped {
                eprintln!("skipped {f}: not Markdown, text or a known source type, or not UTF-8");
            }
            println!(
                "{} added, {} updated, {} unchanged, {} removed; {} chunks written, {} in the knowledge base ({:.1} s)",
                r.added.len(),
                r.updated.len(),
                r.unchanged.len(),
                r.removed.len(),
                r.chunks_written,
                r.total_chunks,
                t.elapsed().as_secs_f64()
            );
            if r.total_chunks == 0 {
                eprintln!("warning: the knowledge base is empty: nothing readable was found");
            }
            println!("{}", rag::rag_dir(&experiment).display());
            Ok(())
        }
        RagCommand::Query {
            experiment,
            question,
            k,
        } => {
            let kb = KnowledgeBase::open(&experiment)?;
            let mut settings = crate::experiment::Experiment::rag_settings(&experiment)?;
            settings.top_k = k.unwrap_or(settings.top_k);
            let hits = kb.context(&question, &settings)?;
            if hits.is_empty() {
                println!("no chunk matches: none of the question's words is in the knowledge base");
            }
            for (i, h) in hits.iter().enumerate() {
                println!(
                    "[{}] {}  {}  (score {:.2})",
                    i + 1,
                    h.location(),
                    h.heading,
                    h.score
                );
                for line in h.body.lines() {
                    println!("    {line}");
                }
                if let Some(why) = &h.stale {
                    println!("    warning: {why}");
                }
                println!();
            }
            Ok(())
        }
    }
}
