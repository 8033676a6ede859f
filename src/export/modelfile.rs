//! The Ollama `Modelfile` and the `README.md` of an export folder.

use super::source::Verdict;
use crate::model::template::ChatTemplate;
use anyhow::{bail, Result};

/// A Modelfile triple-quoted value; Ollama has no escape for `"""` inside one.
fn quoted(what: &str, text: &str) -> Result<String> {
    if text.contains("\"\"\"") {
        bail!("the {what} contains \"\"\", which an Ollama Modelfile cannot hold");
    }
    Ok(format!("\"\"\"{text}\"\"\""))
}

/// What the Modelfile points at and how its prompts are written.
pub struct ModelfileSpec<'a> {
    /// The GGUF model, relative to the Modelfile.
    pub from: &'a str,
    /// The LoRA GGUF, with `--lora-only`.
    pub adapter: Option<&'a str>,
    /// The run's chat template.
    pub template: &'a ChatTemplate,
    /// Texts that end a turn (the template's turn end, then EOS when it differs).
    pub stops: &'a [String],
}

/// The Modelfile text: FROM, ADAPTER, TEMPLATE (rendering prompts byte for byte as tunedeck
/// does), SYSTEM (the run's system prompt), stop tokens, and greedy decoding as in the
/// three-part test.
pub fn modelfile(spec: &ModelfileSpec) -> Result<String> {
    let (template, system) = spec.template.ollama_template();
    let mut s = String::from(
        "# Written by `tunedeck export`. Create the model with: ollama create NAME -f Modelfile\n",
    );
    s += &format!("FROM ./{}\n", spec.from);
    if let Some(a) = spec.adapter {
        s += &format!("ADAPTER ./{a}\n");
    }
    s += &format!("TEMPLATE {}\n", quoted("chat template", &template)?);
    if let Some(sys) = system {
        s += &format!("SYSTEM {}\n", quoted("system prompt", &sys)?);
    }
    for stop in spec.stops {
        s += &format!("PARAMETER stop {}\n", serde_json::to_string(stop)?);
    }
    s += "# Greedy, as tunedeck's three-part test answered.\nPARAMETER temperature 0\n";
    Ok(s)
}

/// What the README describes.
pub struct ReadmeSpec<'a> {
    pub name: &'a str,
    pub model_file: &'a str,
    pub adapter_file: Option<&'a str>,
    pub quant: &'a str,
    pub verdict: &'a Verdict,
    pub system: Option<&'a str>,
    pub turn_end: &'a str,
}

/// A short README: what the files are, how to run them, and the run's verdict.
pub fn readme(r: &ReadmeSpec) -> String {
    let tag = r
        .name
        .to_lowercase()
        .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-");
    let mut s = format!("# {} — exported by tunedeck\n\n", r.name);
    s += &format!("Three-part test: **{}**.\n\n", r.verdict.line());
    s += "## Files\n\n";
    match r.adapter_file {
        None => {
            s += &format!(
                "- `{}`: the adapter merged into its base model, GGUF ({}), with the chat template and the end-of-turn token `{}` in its metadata.\n",
                r.model_file, r.quant, r.turn_end
            )
        }
        Some(a) => {
            s += &format!(
                "- `{}`: the base model, GGUF ({}), with the chat template and the end-of-turn token `{}` in its metadata.\n- `{a}`: the LoRA adapter alone (llama.cpp LoRA GGUF, float32).\n",
                r.model_file, r.quant, r.turn_end
            )
        }
    }
    s += "- `Modelfile`: for Ollama, with the same prompt layout, system prompt and stop tokens tunedeck used.\n\n";
    s +=
        &format!("## Ollama\n\n```sh\nollama create {tag} -f Modelfile\nollama run {tag}\n```\n\n");
    let lora = r
        .adapter_file
        .map_or(String::new(), |a| format!(" --lora {a}"));
    let sys = r.system.map_or(String::new(), |s| {
        format!(" -sys {}", serde_json::to_string(s).unwrap_or_default())
    });
    s += &format!(
        "## llama.cpp\n\n```sh\nllama-cli -m {}{lora} -cnv --temp 0{sys}\n```\n\n",
        r.model_file
    );
    s += "`--temp 0` answers greedily, as the three-part test did.\n";
    s
}
