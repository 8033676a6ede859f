//! The engine's model: Llama/Qwen2 decoders in tch, their tokenizer, chat templates and
//! generation.

pub mod config;
pub mod device;
pub mod generate;
pub mod linear;
pub mod llama;
pub mod load;
pub mod template;
pub mod tokenizer;

use anyhow::Result;
use std::path::{Path, PathBuf};
use tch::{nn, Device, Kind};

pub use config::ModelConfig;
pub use llama::Decoder;
pub use load::LoadOptions;
pub use tokenizer::TextTokenizer;

/// A loaded model: decoder weights (in their own VarStore) and the tokenizer.
pub struct Model {
    pub dir: PathBuf,
    pub decoder: Decoder,
    pub tokenizer: TextTokenizer,
    /// Owns the base weights; their names are the Hugging Face checkpoint keys.
    pub vs: nn::VarStore,
    pub device: Device,
    pub kind: Kind,
}

impl Model {
    /// Load a Hugging Face model directory. `template` is a chat template name or `auto`.
    pub fn load(dir: &Path, device: Device, template: &str, trainable: bool) -> Result<Self> {
        Self::load_with(dir, device, device::default_kind(device), template, trainable)
    }

    /// Like [`Model::load`] with an explicit dtype for the weights.
    pub fn load_with(dir: &Path, device: Device, kind: Kind, template: &str, trainable: bool) -> Result<Self> {
        let cfg = ModelConfig::load(dir)?;
        let tokenizer = TextTokenizer::load(dir, template)?;
        tokenizer.check_vocab(cfg.vocab_size, dir)?;
        let vs = nn::VarStore::new(device);
        let decoder = load::load_decoder(
            dir,
            &vs,
            LoadOptions {
                device,
                kind,
                trainable,
            },
        )?;
        Ok(Self {
            dir: dir.to_path_buf(),
            decoder,
            tokenizer,
            vs,
            device,
            kind,
        })
    }
}
