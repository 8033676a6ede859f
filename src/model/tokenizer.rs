//! The model's tokenizer (`tokenizer.json`) with its special tokens and chat template.

use super::template::ChatTemplate;
use anyhow::{bail, Context, Result};
use std::path::Path;

pub struct TextTokenizer {
    inner: tokenizers::Tokenizer,
    pub template: ChatTemplate,
    /// Token ids that end an assistant turn (the template's turn end and the EOS token).
    pub stop_ids: Vec<u32>,
    pub eos_id: u32,
    pub pad_id: u32,
    /// The EOS token's text (`tokenizer_config.json`'s `eos_token`).
    pub eos_token: String,
}

fn special(config: &serde_json::Value, key: &str) -> Option<String> {
    match &config[key] {
        serde_json::Value::String(s) => Some(s.clone()),
        // Older configs store AddedToken objects.
        serde_json::Value::Object(o) => o.get("content").and_then(|c| c.as_str()).map(String::from),
        _ => None,
    }
}

impl TextTokenizer {
    /// Load `tokenizer.json` and `tokenizer_config.json` from a model directory. `template`
    /// is a template name or `auto` (from the config's `chat_template`).
    pub fn load(dir: &Path, template: &str) -> Result<Self> {
        let path = dir.join("tokenizer.json");
        let inner = tokenizers::Tokenizer::from_file(&path)
            .map_err(|e| anyhow::anyhow!("{}: cannot load tokenizer: {e}", path.display()))?;
        let cfg_path = dir.join("tokenizer_config.json");
        let config: serde_json::Value = match std::fs::read_to_string(&cfg_path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("{}: not valid JSON", cfg_path.display()))?,
            Err(_) => serde_json::Value::Null,
        };
        let eos = special(&config, "eos_token").unwrap_or_else(|| "<|endoftext|>".into());
        let template = match template {
            "auto" => ChatTemplate::detect(config["chat_template"].as_str(), &eos),
            name => ChatTemplate::by_name(name, &eos)?,
        };
        let id = |tok: &str| inner.token_to_id(tok);
        let eos_id = id(&eos).with_context(|| {
            format!(
                "{}: eos token {eos:?} is not in the vocabulary",
                path.display()
            )
        })?;
        let pad_id = special(&config, "pad_token")
            .and_then(|p| id(&p))
            .unwrap_or(eos_id);
        let mut stop_ids = vec![eos_id];
        if let Some(end) = id(template.turn_end()) {
            if end != eos_id {
                stop_ids.insert(0, end);
            }
        }
        Ok(Self {
            inner,
            template,
            stop_ids,
            eos_id,
            pad_id,
            eos_token: eos,
        })
    }

    /// Check the tokenizer against the model's embedding table.
    pub fn check_vocab(&self, model_vocab: usize, dir: &Path) -> Result<()> {
        let n = self.inner.get_vocab_size(true);
        if n > model_vocab {
            bail!(
                "{}: the tokenizer does not match the model: it has {n} tokens but config.json has vocab_size {model_vocab}",
                dir.join("tokenizer.json").display()
            );
        }
        Ok(())
    }

    /// Raw text to ids; special-token text such as `<|im_start|>` maps to its token, but no
    /// BOS/EOS is added.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?;
        Ok(enc.get_ids().to_vec())
    }

    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, true)
            .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}

/// Turns a growing list of ids into text pieces without splitting multi-byte characters.
#[derive(Default)]
pub struct StreamDecoder {
    ids: Vec<u32>,
    emitted: usize,
}

impl StreamDecoder {
    /// Add one id; returns the newly completed text, if any.
    pub fn push(&mut self, tok: &TextTokenizer, id: u32) -> Result<String> {
        self.ids.push(id);
        let text = tok.decode(&self.ids)?;
        // A partial UTF-8 sequence decodes to U+FFFD at the end: wait for the next token.
        if text.ends_with('\u{FFFD}') || text.len() < self.emitted {
            return Ok(String::new());
        }
        let piece = text.get(self.emitted..).unwrap_or_default().to_string();
        self.emitted = text.len();
        Ok(piece)
    }
}
