//! The engine's model: Llama/Qwen2 decoders in tch, their tokenizer, chat templates,
//! generation and streamed chat replies.

pub mod chat;
pub mod config;
pub mod device;
pub mod generate;
pub mod layout;
pub mod linear;
pub mod llama;
pub mod load;
pub mod random;
pub mod slots;
pub mod template;
pub mod tokenizer;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use tch::{nn, Device, Kind, Tensor};

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
        Self::load_with(
            dir,
            device,
            device::default_kind(device),
            template,
            trainable,
        )
    }

    /// Like [`Model::load`] with an explicit dtype for the weights.
    pub fn load_with(
        dir: &Path,
        device: Device,
        kind: Kind,
        template: &str,
        trainable: bool,
    ) -> Result<Self> {
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

    /// Write the model's weights and its config/tokenizer files as a Hugging Face directory.
    pub fn save(&self, out: &Path) -> Result<()> {
        if out.join("config.json").exists()
            && out.canonicalize().ok() == self.dir.canonicalize().ok()
        {
            bail!(
                "{}: refusing to overwrite the base model; choose another --out",
                out.display()
            );
        }
        std::fs::create_dir_all(out)
            .with_context(|| format!("{}: cannot create", out.display()))?;
        let mut named: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let tmp = out.join(".model.tmp.safetensors");
        Tensor::write_safetensors(&named, &tmp)
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", tmp.display()))?;
        std::fs::rename(&tmp, out.join("model.safetensors"))
            .with_context(|| format!("{}: cannot move into place", out.display()))?;
        for f in [
            "config.json",
            "generation_config.json",
            "tokenizer.json",
            "tokenizer_config.json",
        ] {
            let src = self.dir.join(f);
            if src.exists() {
                std::fs::copy(&src, out.join(f))
                    .with_context(|| format!("{}: cannot copy", src.display()))?;
            }
        }
        Ok(())
    }
}
