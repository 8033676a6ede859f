//! `tunedeck chat`: one-shot with `--prompt`, an interactive prompt without it.

use super::model::load_for_inference;
use crate::model::chat::{reply, Sampling};
use crate::model::generate::StopReason;
use crate::model::Model;
use anyhow::{Context, Result};
use clap::Args;
use std::io::{BufRead, Write};
use std::path::PathBuf;

#[derive(Args)]
pub struct ChatArgs {
    #[arg(long)]
    model: PathBuf,
    /// A PEFT LoRA adapter directory to plug in.
    #[arg(long)]
    adapter: Option<PathBuf>,
    /// Answer this one prompt and exit; without it, chat interactively.
    #[arg(long)]
    prompt: Option<String>,
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
}

/// Stream one answer to stdout; returns its text.
fn answer(m: &Model, args: &ChatArgs, history: &[(String, String)], user: &str) -> Result<String> {
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
        user,
        &sampling,
        &mut |piece| write!(out, "{piece}").and_then(|_| out.flush()).is_ok(),
    )?;
    writeln!(out)?;
    if r.stop == StopReason::MaxTokens {
        eprintln!("(stopped at --max-new-tokens {})", args.max_new_tokens);
    }
    Ok(r.text)
}

pub fn run(args: ChatArgs) -> Result<()> {
    let mut m = load_for_inference(&args.model, &args.device)?;
    if let Some(dir) = &args.adapter {
        crate::lora::attach_saved(&mut m, dir)?;
    }
    if let Some(p) = &args.prompt {
        answer(&m, &args, &[], p)?;
        return Ok(());
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
                let reply = answer(&m, &args, &history, line)?;
                history.push((line.to_string(), reply));
            }
        }
    }
    Ok(())
}
