//! One assistant turn, streamed: the chat template's prompt for a conversation, generated
//! with the KV-cache generator and decoded piece by piece without splitting a character.
//! `tunedeck chat` and the cockpit's Chat pane both answer through [`reply`].

use super::generate::{generate, GenerateOptions, StopReason};
use super::tokenizer::StreamDecoder;
use super::Model;
use anyhow::Result;

/// How to sample an answer; the stop tokens come from the model's tokenizer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Token limit of the answer.
    pub max_new_tokens: usize,
    /// 0 = greedy.
    pub temperature: f64,
    /// Nucleus mass when sampling.
    pub top_p: f64,
    /// Seed of sampling.
    pub seed: u64,
}

impl Sampling {
    /// Greedy decoding up to `max_new_tokens`.
    pub fn greedy(max_new_tokens: usize) -> Sampling {
        Sampling {
            max_new_tokens,
            temperature: 0.0,
            top_p: 1.0,
            seed: 42,
        }
    }
}

/// A finished (or stopped) answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The whole answer.
    pub text: String,
    /// Tokens generated (without the end-of-turn token).
    pub tokens: usize,
    /// Why generation ended; `Cancelled` when `on_piece` said stop.
    pub stop: StopReason,
}

/// Answers `user` after `history` (`(user, assistant)` turns) with `system` (or the
/// template's default). Each newly completed piece of text goes to `on_piece`, which returns
/// false to stop early.
pub fn reply(
    model: &Model,
    system: Option<&str>,
    history: &[(String, String)],
    user: &str,
    sampling: &Sampling,
    on_piece: &mut dyn FnMut(&str) -> bool,
) -> Result<Reply> {
    let tok = &model.tokenizer;
    let ids = tok.encode(&tok.template.prompt(system, history, user))?;
    let opts = GenerateOptions {
        max_new_tokens: sampling.max_new_tokens,
        temperature: sampling.temperature,
        top_p: sampling.top_p,
        seed: sampling.seed,
        stop_ids: tok.stop_ids.clone(),
    };
    let mut stream = StreamDecoder::default();
    let mut failed = None;
    let (new, stop) = generate(
        &model.decoder,
        &ids,
        &opts,
        &mut |id| match stream.push(tok, id) {
            Ok(piece) => piece.is_empty() || on_piece(&piece),
            Err(e) => {
                failed = Some(e);
                false
            }
        },
    );
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(Reply {
        text: tok.decode(&new)?,
        tokens: new.len(),
        stop,
    })
}
