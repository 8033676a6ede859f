//! The GGUF metadata of a Hugging Face model directory: llama.cpp's architecture keys from
//! `config.json` and its byte-level BPE tokenizer keys from `tokenizer.json` and
//! `tokenizer_config.json` — what the importer reads back.

use super::tokenizer::{pre_type, CONTROL, NORMAL, UNUSED, USER_DEFINED};
use super::Value;
use crate::model::config::{Architecture, ModelConfig};
use anyhow::{bail, Context, Result};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::Path;

/// How a conversation is written and where a turn ends, as the exported model should know it.
#[derive(Debug, Clone)]
pub struct ChatMetadata {
    /// `tokenizer.chat_template` (Jinja).
    pub jinja: String,
    /// The token generation stops at: the end-of-turn token (`<|im_end|>` for ChatML).
    pub eos_token: String,
}

fn read_json(path: &Path) -> Result<Json> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))
}

/// A special token of `tokenizer_config.json` (a string or an AddedToken object).
fn special(config: &Json, key: &str) -> Option<String> {
    match &config[key] {
        Json::String(s) => Some(s.clone()),
        Json::Object(o) => o.get("content").and_then(Json::as_str).map(String::from),
        _ => None,
    }
}

fn u32_of(n: usize, what: &str) -> Result<Value> {
    u32::try_from(n)
        .map(Value::U32)
        .with_context(|| format!("{what} = {n} does not fit GGUF's u32"))
}

/// The tokens (by id), their GGUF types and the merges of a byte-level BPE `tokenizer.json`.
struct Vocab {
    tokens: Vec<String>,
    types: Vec<u64>,
    merges: Vec<String>,
    pre: &'static str,
}

fn vocab(dir: &Path, n_vocab: usize) -> Result<Vocab> {
    let path = dir.join("tokenizer.json");
    let tok = read_json(&path)?;
    let model = &tok["model"];
    if model["type"].as_str() != Some("BPE") {
        bail!(
            "{}: only byte-level BPE tokenizers (llama.cpp's \"gpt2\") can be exported, this one is {}",
            path.display(),
            model["type"]
        );
    }
    let pre = pre_type(&tok["pre_tokenizer"]).with_context(|| {
        format!(
            "{}: its pre-tokenizer has no llama.cpp equivalent tunedeck knows (smollm, qwen2, llama-bpe, gpt2)",
            path.display()
        )
    })?;
    let mut by_id: BTreeMap<usize, (String, u64)> = BTreeMap::new();
    for (text, id) in model["vocab"]
        .as_object()
        .context("tokenizer model has no vocab")?
    {
        let id = id.as_u64().context("a vocab id is not a number")? as usize;
        by_id.insert(id, (text.clone(), NORMAL));
    }
    for added in tok["added_tokens"].as_array().into_iter().flatten() {
        let id = added["id"].as_u64().context("an added token has no id")? as usize;
        let text = added["content"]
            .as_str()
            .context("an added token has no content")?;
        let ty = if added["special"].as_bool().unwrap_or(false) {
            CONTROL
        } else {
            USER_DEFINED
        };
        by_id.insert(id, (text.to_string(), ty));
    }
    if let Some((&last, _)) = by_id.last_key_value() {
        if last >= n_vocab {
            bail!(
                "{}: token id {last} is outside the model's vocab_size {n_vocab}",
                path.display()
            );
        }
    }
    // Embedding rows past the tokenizer (padding some models carry) get placeholder tokens,
    // as llama.cpp's converter names them.
    let (mut tokens, mut types) = (Vec::with_capacity(n_vocab), Vec::with_capacity(n_vocab));
    for id in 0..n_vocab {
        let (t, ty) = by_id
            .remove(&id)
            .unwrap_or_else(|| (format!("[PAD{id}]"), UNUSED));
        tokens.push(t);
        types.push(ty);
    }
    let merges = model["merges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| match m {
            Json::String(s) => Ok(s.clone()),
            // tokenizers ≥ 0.20 writes merges as pairs.
            Json::Array(pair) if pair.len() == 2 => Ok(format!(
                "{} {}",
                pair[0].as_str().unwrap_or_default(),
                pair[1].as_str().unwrap_or_default()
            )),
            other => bail!(
                "{}: merge {other} is neither \"a b\" nor [a, b]",
                path.display()
            ),
        })
        .collect::<Result<_>>()?;
    Ok(Vocab {
        tokens,
        types,
        merges,
        pre,
    })
}

/// GGUF's `general.file_type` for the type most weights are written in.
pub fn file_type(ty: super::GgmlType) -> u32 {
    match ty {
        super::GgmlType::F32 => 0,
        super::GgmlType::F16 => 1,
        super::GgmlType::Q8_0 => 7,
        super::GgmlType::BF16 => 32,
        super::GgmlType::Q4_0 => 2,
        super::GgmlType::Q4_1 => 3,
        super::GgmlType::Q4K => 15,
        super::GgmlType::Q5K => 17,
        super::GgmlType::Q6K => 18,
    }
}

/// llama.cpp's name of the architecture.
pub fn arch_name(cfg: &ModelConfig) -> Result<&'static str> {
    Ok(match cfg.architecture()? {
        Architecture::Llama => "llama",
        Architecture::Qwen2 => "qwen2",
    })
}

/// The metadata of the model in `dir` (whose `config.json` is `cfg`), named `name`, with most
/// weights in `main_type` and the chat template and end-of-turn token of `chat`.
pub fn model_metadata(
    dir: &Path,
    cfg: &ModelConfig,
    name: &str,
    main_type: super::GgmlType,
    chat: &ChatMetadata,
) -> Result<Vec<(String, Value)>> {
    let arch = arch_name(cfg)?;
    let k = |key: &str| format!("{arch}.{key}");
    let s = |v: &str| Value::String(v.to_string());
    let mut kv = vec![
        ("general.architecture".to_string(), s(arch)),
        ("general.type".into(), s("model")),
        ("general.name".into(), s(name)),
        ("general.file_type".into(), Value::U32(file_type(main_type))),
        ("general.quantization_version".into(), Value::U32(2)),
        (k("vocab_size"), u32_of(cfg.vocab_size, "vocab_size")?),
        (
            k("context_length"),
            u32_of(cfg.max_position_embeddings, "max_position_embeddings")?,
        ),
        (
            k("embedding_length"),
            u32_of(cfg.hidden_size, "hidden_size")?,
        ),
        (
            k("block_count"),
            u32_of(cfg.num_hidden_layers, "num_hidden_layers")?,
        ),
        (
            k("feed_forward_length"),
            u32_of(cfg.intermediate_size, "intermediate_size")?,
        ),
        (
            k("attention.head_count"),
            u32_of(cfg.num_attention_heads, "num_attention_heads")?,
        ),
        (
            k("attention.head_count_kv"),
            u32_of(cfg.kv_heads(), "num_key_value_heads")?,
        ),
        (k("rope.freq_base"), Value::F32(cfg.rope_theta as f32)),
        (
            k("rope.dimension_count"),
            u32_of(cfg.head_dim(), "head_dim")?,
        ),
        (
            k("attention.layer_norm_rms_epsilon"),
            Value::F32(cfg.rms_norm_eps as f32),
        ),
    ];
    if cfg.head_dim() * cfg.num_attention_heads != cfg.hidden_size {
        // llama.cpp assumes hidden / heads unless told.
        kv.push((
            k("attention.key_length"),
            u32_of(cfg.head_dim(), "head_dim")?,
        ));
        kv.push((
            k("attention.value_length"),
            u32_of(cfg.head_dim(), "head_dim")?,
        ));
    }

    let v = vocab(dir, cfg.vocab_size)?;
    let tok_config = match dir.join("tokenizer_config.json") {
        p if p.is_file() => read_json(&p)?,
        _ => Json::Null,
    };
    let id_of = |text: &str| v.tokens.iter().position(|t| t == text);
    let eos = id_of(&chat.eos_token).with_context(|| {
        format!(
            "{}: the end-of-turn token {:?} is not in the vocabulary",
            dir.join("tokenizer.json").display(),
            chat.eos_token
        )
    })?;
    kv.extend([
        ("tokenizer.ggml.model".to_string(), s("gpt2")),
        ("tokenizer.ggml.pre".into(), s(v.pre)),
        (
            "tokenizer.ggml.tokens".into(),
            Value::Array(v.tokens.iter().map(|t| s(t)).collect()),
        ),
        (
            "tokenizer.ggml.token_type".into(),
            Value::Array(v.types.iter().map(|&t| Value::I32(t as i32)).collect()),
        ),
        (
            "tokenizer.ggml.merges".into(),
            Value::Array(v.merges.iter().map(|m| s(m)).collect()),
        ),
        ("tokenizer.ggml.eos_token_id".into(), u32_of(eos, "eos id")?),
    ]);
    if let Some(bos) = special(&tok_config, "bos_token").and_then(|t| id_of(&t)) {
        kv.push(("tokenizer.ggml.bos_token_id".into(), u32_of(bos, "bos id")?));
    }
    if let Some(unk) = special(&tok_config, "unk_token").and_then(|t| id_of(&t)) {
        kv.push((
            "tokenizer.ggml.unknown_token_id".into(),
            u32_of(unk, "unk id")?,
        ));
    }
    let pad = special(&tok_config, "pad_token")
        .and_then(|t| id_of(&t))
        .unwrap_or(eos);
    kv.push((
        "tokenizer.ggml.padding_token_id".into(),
        u32_of(pad, "pad id")?,
    ));
    // tunedeck trains and answers without a BOS/EOS around the prompt; llama.cpp must see the
    // same ids.
    kv.push(("tokenizer.ggml.add_bos_token".into(), Value::Bool(false)));
    kv.push(("tokenizer.ggml.add_eos_token".into(), Value::Bool(false)));
    kv.push(("tokenizer.chat_template".into(), s(&chat.jinja)));
    Ok(kv)
}
