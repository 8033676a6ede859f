//! `tunedeck chat`: one-shot with `--prompt`, many at once with `--prompts FILE`, an
//! interactive prompt without either.

use super::model::load_for_inference;
use crate::model::chat::{reply, Sampling};
use crate::model::generate::{generate_batch, GenerateOptions, StopReason};
use crate::model::Model;
use crate::rag::{citation, KnowledgeBase, Settings};
use anyhow::{bail, Context, Result};
use clap::Args;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct ChatArgs {
    #[arg(long)]
    model: PathBuf,
    /// A PEFT LoRA adapter directory to plug in.
    #[arg(long)]
    adapter: Option<PathBuf>,
    /// Answer this one prompt and exit; without it, chat interactively.
    #[arg(long, conflicts_with = "prompts")]
    prompt: Option<String>,
    /// Answer every prompt in FILE (one per line, or JSON lines with `instruction` and an
    /// optional `input` and `system`) in batches; prints JSON lines {"prompt","answer","stop"}.
    #[arg(long, value_name = "FILE")]
    prompts: Option<PathBuf>,
    /// Prompts answered at once with --prompts: 0 = automatic, 1 = one at a time.
    #[arg(long, default_value_t = 0)]
    batch_size: usize,
    /// A system prompt instead of the template's default.
    #[arg(long)]
    system: Option<String>,
    #[arg(long, default_value_t = 256)]
    max_new_tokens: usize,
    /// 0 = greedy decoding.
    #[arg(long, default_value_t = 0.0)]
    temperature: f64,
    #[arg(long, default_value_t = 0.9)]
    top_p: f64,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    device: String,
    /// Put the best chunks of EXPERIMENT's knowledge base before each question (see README,
    /// "The RAG card"); the answer is followed by its numbered sources.
    #[arg(long, value_name = "EXPERIMENT", conflicts_with = "prompts")]
    rag: Option<PathBuf>,
}

/// Stream one answer to stdout, then its sources when `kb` is given; returns its text.
fn answer(
    m: &Model,
    args: &ChatArgs,
    kb: Option<&(KnowledgeBase, Settings)>,
    history: &[(String, String)],
    user: &str,
) -> Result<String> {
    let hits = match kb {
        Some((kb, settings)) => kb.context(user, settings)?,
        None => Vec::new(),
    };
    let turn = citation::prompt(user, &hits);
    let sampling = Sampling {
        max_new_tokens: args.max_new_tokens,
        temperature: args.temperature,
        top_p: args.top_p,
        seed: args.seed,
    };
    let mut out = std::io::stdout().lock();
    let r = reply(
        m,
        args.system.as_deref(),
        history,
        &turn,
        &sampling,
        &mut |piece| write!(out, "{piece}").and_then(|_| out.flush()).is_ok(),
    )?;
    writeln!(out)?;
    if r.stop == StopReason::MaxTokens {
        eprintln!("(stopped at --max-new-tokens {})", args.max_new_tokens);
    }
    if kb.is_some() {
        writeln!(out, "Sources (* = cited):")?;
        for line in citation::source_lines(&hits, &r.text) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(r.text)
}

pub fn run(args: ChatArgs) -> Result<()> {
    // Opened first: a missing or empty knowledge base is said before the model loads.
    // The experiment's `[rag]` table says how much goes before each message.
    let kb = match args.rag.as_deref() {
        Some(dir) => Some((
            KnowledgeBase::open(dir)?,
            crate::experiment::Experiment::rag_settings(dir)?,
        )),
        None => None,
    };
    let mut m = load_for_inference(&args.model, &args.device)?;
    if let Some(dir) = &args.adapter {
        crate::lora::attach_saved(&mut m, dir)?;
    }
    if let Some(p) = &args.prompt {
        answer(&m, &args, kb.as_ref(), &[], p)?;
        return Ok(());
    }
    if let Some(file) = &args.prompts {
        return answer_file(&m, &args, file);
    }
    eprintln!(
        "chatting with {} — empty line or Ctrl-D to quit, /reset to forget the conversation",
        args.model.display()
    );
    let mut history: Vec<(String, String)> = Vec::new();
    let stdin = std::io::stdin();
    loop {
        eprint!("> ");
        let mut line = String::new();
        if stdin
            .lock()
            .read_line(&mut line)
            .context("reading standard input")?
            == 0
        {
            break;
        }
        let line = line.trim();
        match line {
            "" => break,
            "/reset" => history.clear(),
            _ => {
                let reply = answer(&m, &args, kb.as_ref(), &history, line)?;
                history.push((line.to_string(), reply));
            }
        }
    }
    Ok(())
}

/// One prompt of a `--prompts` file: (system, user turn).
fn parse_prompt(line: &str, file: &Path, n: usize) -> Result<(Option<String>, String)> {
    if !line.starts_with('{') {
        return Ok((None, line.to_string()));
    }
    let v: serde_json::Value = serde_json::from_str(line)
        .with_context(|| format!("{}:{n}: not valid JSON", file.display()))?;
    let field = |k: &str| v.get(k).and_then(|x| x.as_str()).filter(|s| !s.is_empty());
    let Some(instruction) = field("instruction") else {
        bail!(
            "{}:{n}: a JSON line needs an \"instruction\"",
            file.display()
        );
    };
    // LLaMA-Factory's rule: the prompt is instruction + "\n" + input.
    let user = match field("input") {
        Some(input) => format!("{instruction}\n{input}"),
        None => instruction.to_string(),
    };
    Ok((field("system").map(str::to_string), user))
}

/// `--prompts FILE`: every prompt answered in one batched call, one JSON line each.
fn answer_file(m: &Model, args: &ChatArgs, file: &Path) -> Result<()> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("{}: cannot read", file.display()))?;
    let mut users = Vec::new();
    let mut ids = Vec::new();
    let tok = &m.tokenizer;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (system, user) = parse_prompt(line, file, i + 1)?;
        let system = system.as_deref().or(args.system.as_deref());
        ids.push(tok.encode(&tok.template.prompt(system, &[], &user))?);
        users.push(user);
    }
    if users.is_empty() {
        bail!("{}: no prompts in the file", file.display());
    }
    let opts = GenerateOptions {
        max_new_tokens: args.max_new_tokens,
        temperature: args.temperature,
        top_p: args.top_p,
        seed: args.seed,
        stop_ids: tok.stop_ids.clone(),
    };
    let answers = generate_batch(
        &m.decoder,
        &ids,
        &opts,
        args.batch_size,
        &mut || true,
        &|_| false,
    );
    let mut out = std::io::stdout().lock();
    for (user, (new, stop)) in users.iter().zip(answers) {
        let stop = match stop {
            StopReason::EndOfTurn => "end_of_turn",
            StopReason::MaxTokens => "max_tokens",
            StopReason::Cancelled => "cancelled",
            StopReason::Runaway => "runaway",
        };
        let line = serde_json::json!({"prompt": user, "answer": tok.decode(&new)?, "stop": stop});
        writeln!(out, "{line}")?;
    }
    Ok(())
}
