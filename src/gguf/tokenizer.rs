//! Rebuild a Hugging Face `tokenizer.json` and `tokenizer_config.json` from GGUF metadata.

use super::{GgufFile, Value};
use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value as Json};

/// GPT-2 style splitting; Llama 3 allows up to three digits per piece.
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen2 splits every digit on its own.
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// GGUF token types.
pub const NORMAL: u64 = 1;
pub const CONTROL: u64 = 3;
pub const USER_DEFINED: u64 = 4;
pub const UNUSED: u64 = 5;

/// The tokenizer files of a model directory.
pub struct TokenizerFiles {
    pub tokenizer: Json,
    pub config: Json,
    pub eos_token_id: u64,
    pub bos_token_id: Option<u64>,
    pub pad_token_id: Option<u64>,
}

fn strings<'a>(g: &'a GgufFile, key: &str) -> Result<Vec<&'a str>> {
    let arr = g
        .require(key)?
        .as_array()
        .with_context(|| format!("metadata {key} is not an array"))?;
    arr.iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .with_context(|| format!("metadata {key}[{i}] is not a string"))
        })
        .collect()
}

fn byte_level(use_regex: bool) -> Json {
    json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": use_regex})
}

fn split(pattern: &str) -> Json {
    json!({"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": false})
}

/// The pre-tokenizer llama.cpp uses for each `tokenizer.ggml.pre` value.
fn pre_tokenizer_for(pre: &str) -> Result<Json> {
    let steps = match pre {
        // SmolLM2: each digit its own piece, then the GPT-2 regex.
        "smollm" => vec![split(r"\p{N}"), byte_level(true)],
        "qwen2" => vec![split(QWEN2_SPLIT), byte_level(false)],
        "llama-bpe" | "llama3" => vec![split(LLAMA3_SPLIT), byte_level(false)],
        "gpt2" | "default" => vec![byte_level(true)],
        other => bail!(
            "tokenizer pre-type {other:?} is not supported (supported: smollm, qwen2, llama-bpe, gpt2)"
        ),
    };
    Ok(json!({"type": "Sequence", "pretokenizers": steps}))
}

/// The steps of a pre-tokenizer that decide how text is cut: each Split's regex and each
/// ByteLevel's own regex switch. Other fields (offsets, prefix spaces) do not change the ids.
fn cuts(pre: &Json) -> Vec<String> {
    match pre["type"].as_str() {
        Some("Sequence") => pre["pretokenizers"]
            .as_array()
            .map_or_else(Vec::new, |steps| steps.iter().flat_map(cuts).collect()),
        Some("Split") => {
            let p = &pre["pattern"];
            let text = p["Regex"].as_str().or(p["String"].as_str()).unwrap_or("");
            vec![format!("split {text}")]
        }
        Some("ByteLevel") => vec![format!(
            "bytelevel {}",
            pre["use_regex"].as_bool().unwrap_or(true)
        )],
        other => vec![format!("{other:?}")],
    }
}

/// The `tokenizer.ggml.pre` name for a `tokenizer.json` pre-tokenizer: the inverse of what
/// the importer builds from it, or `None` when llama.cpp would cut the text differently.
pub fn pre_type(pre_tokenizer: &Json) -> Option<&'static str> {
    let want = cuts(pre_tokenizer);
    ["smollm", "qwen2", "llama-bpe", "gpt2"]
        .into_iter()
        .find(|name| pre_tokenizer_for(name).is_ok_and(|p| cuts(&p) == want))
}

pub fn build(g: &GgufFile) -> Result<TokenizerFiles> {
    let model = g.require_str("tokenizer.ggml.model")?;
    if model != "gpt2" {
        bail!("tokenizer model {model:?} is not supported (only byte-level BPE, \"gpt2\")");
    }
    let pre = g
        .get("tokenizer.ggml.pre")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let tokens = strings(g, "tokenizer.ggml.tokens")?;
    // A vocabulary of single bytes needs no merges; some writers then omit the key.
    let merges = if g.get("tokenizer.ggml.merges").is_some() {
        strings(g, "tokenizer.ggml.merges")?
    } else {
        Vec::new()
    };
    let types: Vec<u64> = match g.get("tokenizer.ggml.token_type").and_then(Value::as_array) {
        Some(a) => a.iter().map(|v| v.as_u64().unwrap_or(1)).collect(),
        None => vec![1; tokens.len()],
    };
    if let Some(n) = g.get(&format!(
        "{}.vocab_size",
        g.require_str("general.architecture")?
    )) {
        let n = n.as_u64().unwrap_or(0) as usize;
        if n != tokens.len() {
            bail!(
                "the tokenizer has {} tokens but the model's vocab_size is {n}",
                tokens.len()
            );
        }
    }

    let mut vocab = Map::new();
    let mut added = Vec::new();
    for (id, tok) in tokens.iter().enumerate() {
        vocab.insert((*tok).to_string(), json!(id));
        let ty = types.get(id).copied().unwrap_or(1);
        if ty == CONTROL || ty == USER_DEFINED {
            added.push(json!({
                "id": id, "content": tok, "single_word": false, "lstrip": false, "rstrip": false,
                "normalized": false, "special": ty == CONTROL,
            }));
        }
    }
    let tokenizer = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer_for(pre)?,
        "post_processor": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
            "ignore_merges": false, "vocab": vocab, "merges": merges,
        },
    });

    let id = |key: &str| g.get(key).and_then(Value::as_u64);
    let token_at = |i: Option<u64>| -> Json {
        i.and_then(|i| tokens.get(i as usize))
            .map_or(Json::Null, |t| json!(t))
    };
    let eos = id("tokenizer.ggml.eos_token_id")
        .context("metadata tokenizer.ggml.eos_token_id is missing")?;
    if eos as usize >= tokens.len() {
        bail!(
            "eos token id {eos} is outside the vocabulary of {} tokens",
            tokens.len()
        );
    }
    let bos = id("tokenizer.ggml.bos_token_id");
    let pad = id("tokenizer.ggml.padding_token_id");
    let mut config = json!({
        "tokenizer_class": "GPT2Tokenizer",
        "add_bos_token": g.get("tokenizer.ggml.add_bos_token").and_then(Value::as_bool).unwrap_or(false),
        "bos_token": token_at(bos),
        "eos_token": token_at(Some(eos)),
        "pad_token": token_at(pad),
        "unk_token": token_at(id("tokenizer.ggml.unknown_token_id")),
        "clean_up_tokenization_spaces": false,
        "model_max_length": g
            .get(&format!("{}.context_length", g.require_str("general.architecture")?))
            .and_then(Value::as_u64)
            .unwrap_or(2048),
    });
    if let Some(t) = g.get("tokenizer.chat_template").and_then(Value::as_str) {
        config["chat_template"] = json!(t);
    }
    Ok(TokenizerFiles {
        tokenizer,
        config,
        eos_token_id: eos,
        bos_token_id: bos,
        pad_token_id: pad,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_type_inverts_the_importers_pre_tokenizer() {
        for name in ["smollm", "qwen2", "llama-bpe", "gpt2"] {
            assert_eq!(pre_type(&pre_tokenizer_for(name).unwrap()), Some(name));
        }
        let metaspace = json!({"type": "Metaspace", "replacement": "▁"});
        assert_eq!(pre_type(&metaspace), None);
    }
}
