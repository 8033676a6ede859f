//! Chat templates: how a conversation becomes the text the model was trained on.

use anyhow::{bail, Result};

const SMOLLM2_SYSTEM: &str = "You are a helpful AI assistant named SmolLM, trained by Hugging Face";
const QWEN25_SYSTEM: &str = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
const ALPACA_SYSTEM: &str =
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatTemplate {
    /// `<|im_start|>role\ncontent<|im_end|>\n` turns (SmolLM2, Qwen2.5).
    ChatMl { default_system: Option<String> },
    /// Stanford Alpaca's `### Instruction:` / `### Response:` layout; turns end with EOS.
    Alpaca { eos: String },
}

impl ChatTemplate {
    /// By name: `chatml`, `smollm2`, `qwen2.5` / `qwen`, `alpaca`.
    pub fn by_name(name: &str, eos: &str) -> Result<Self> {
        Ok(match name {
            "chatml" => Self::ChatMl {
                default_system: None,
            },
            "smollm2" | "smollm" => Self::ChatMl {
                default_system: Some(SMOLLM2_SYSTEM.into()),
            },
            "qwen2.5" | "qwen" | "qwen2" => Self::ChatMl {
                default_system: Some(QWEN25_SYSTEM.into()),
            },
            "alpaca" => Self::Alpaca { eos: eos.into() },
            other => bail!(
                "unknown chat template {other:?} (use auto, chatml, smollm2, qwen2.5 or alpaca)"
            ),
        })
    }

    /// From the Jinja `chat_template` of `tokenizer_config.json`: ChatML when it uses
    /// `<|im_start|>`, with the default system prompt the template injects; Alpaca otherwise.
    pub fn detect(jinja: Option<&str>, eos: &str) -> Self {
        match jinja {
            Some(t) if t.contains("<|im_start|>") => Self::ChatMl {
                default_system: default_system(t),
            },
            _ => Self::Alpaca { eos: eos.into() },
        }
    }

    /// The prompt up to where the assistant's answer begins.
    pub fn prompt(&self, system: Option<&str>, history: &[(String, String)], user: &str) -> String {
        let mut s = String::new();
        match self {
            Self::ChatMl { default_system } => {
                if let Some(sys) = system.or(default_system.as_deref()) {
                    s += &format!("<|im_start|>system\n{sys}<|im_end|>\n");
                }
                for (q, a) in history {
                    s += &format!(
                        "<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n{a}<|im_end|>\n"
                    );
                }
                s += &format!("<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n");
            }
            Self::Alpaca { eos } => {
                s += system.unwrap_or(ALPACA_SYSTEM);
                s += "\n\n";
                for (q, a) in history {
                    s += &format!("### Instruction:\n{q}\n\n### Response:\n{a}{eos}\n\n");
                }
                s += &format!("### Instruction:\n{user}\n\n### Response:\n");
            }
        }
        s
    }

    /// The text that closes an assistant turn; generation stops at its token.
    pub fn turn_end(&self) -> &str {
        match self {
            Self::ChatMl { .. } => "<|im_end|>",
            Self::Alpaca { eos } => eos,
        }
    }

    /// The same rendering as [`ChatTemplate::prompt`] in Jinja, for `tokenizer.chat_template`
    /// of an exported GGUF (llama.cpp and transformers render it with
    /// `add_generation_prompt`). Literal newlines, as SmolLM2's own template has them, so
    /// [`ChatTemplate::detect`] finds the default system prompt again.
    pub fn to_jinja(&self) -> String {
        let lit = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
        match self {
            Self::ChatMl { default_system } => {
                let default = default_system.as_deref().map_or(String::new(), |sys| {
                    format!(
                        "{{%- if loop.first and message['role'] != 'system' %}}{{{{ {} }}}}{{%- endif %}}",
                        lit(&format!("<|im_start|>system\n{sys}<|im_end|>\n"))
                    )
                });
                format!(
                    "{{%- for message in messages %}}{default}{{{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}}}{{%- endfor %}}{{%- if add_generation_prompt %}}{{{{ '<|im_start|>assistant\n' }}}}{{%- endif %}}"
                )
            }
            Self::Alpaca { eos } => format!(
                "{{%- if messages[0]['role'] == 'system' %}}{{{{ messages[0]['content'] }}}}{{%- else %}}{{{{ {} }}}}{{%- endif %}}{{{{ '\n\n' }}}}{{%- for message in messages %}}{{%- if message['role'] == 'user' %}}{{{{ '### Instruction:\n' + message['content'] + '\n\n### Response:\n' }}}}{{%- elif message['role'] == 'assistant' %}}{{{{ message['content'] + {} + '\n\n' }}}}{{%- endif %}}{{%- endfor %}}",
                lit(ALPACA_SYSTEM),
                lit(eos)
            ),
        }
    }

    /// The same rendering as [`ChatTemplate::prompt`] as an Ollama Modelfile `TEMPLATE` (Go
    /// text/template over `.System` and `.Messages`), with the system prompt the template
    /// falls back on for the Modelfile's `SYSTEM` line. Ollama puts `SYSTEM` (or the
    /// request's system message) in `.System`; system messages are skipped in the loop.
    pub fn ollama_template(&self) -> (String, Option<String>) {
        match self {
            Self::ChatMl { default_system } => (
                "{{- if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}\n\
                 {{- range .Messages }}\n\
                 {{- if eq .Role \"user\" }}<|im_start|>user\n{{ .Content }}<|im_end|>\n<|im_start|>assistant\n\
                 {{ else if eq .Role \"assistant\" }}{{ .Content }}<|im_end|>\n{{ end }}\n\
                 {{- end }}"
                    .to_string(),
                default_system.clone(),
            ),
            Self::Alpaca { eos } => (
                format!(
                    "{{{{ .System }}}}\n\n{{{{ range .Messages }}}}\n\
                     {{{{- if eq .Role \"user\" }}}}### Instruction:\n{{{{ .Content }}}}\n\n### Response:\n\
                     {{{{ else if eq .Role \"assistant\" }}}}{{{{ .Content }}}}{eos}\n\n{{{{ end }}}}\n\
                     {{{{- end }}}}"
                ),
                Some(ALPACA_SYSTEM.to_string()),
            ),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::ChatMl { .. } => "chatml",
            Self::Alpaca { .. } => "alpaca",
        }
    }
}

/// The first literal system turn in a ChatML Jinja template, e.g. SmolLM2's
/// `'<|im_start|>system\nYou are a helpful AI assistant named SmolLM...<|im_end|>\n'`.
fn default_system(jinja: &str) -> Option<String> {
    const OPEN: &str = "<|im_start|>system\n";
    let mut rest = jinja;
    while let Some(i) = rest.find(OPEN) {
        rest = &rest[i + OPEN.len()..];
        let end = rest.find("<|im_end|>")?;
        let body = &rest[..end];
        // Skip places where the template splices in the user's own system message.
        if !body.contains(['\'', '{', '}', '"']) && !body.is_empty() {
            return Some(body.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_matches_smollm2_generation_prompt() {
        let t = ChatTemplate::by_name("smollm2", "<|im_end|>").unwrap();
        assert_eq!(
            t.prompt(None, &[], "Hi"),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
             <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn detects_default_system_from_jinja() {
        let smol = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}";
        assert_eq!(
            ChatTemplate::detect(Some(smol), "x"),
            ChatTemplate::ChatMl {
                default_system: Some(SMOLLM2_SYSTEM.into())
            }
        );
        let qwen = "{%- if tools %}{{- '<|im_start|>system\\n' }}{%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}{%- else %}{{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}";
        assert_eq!(
            ChatTemplate::detect(Some(qwen), "x"),
            ChatTemplate::ChatMl {
                default_system: Some(QWEN25_SYSTEM.into())
            }
        );
        assert_eq!(
            ChatTemplate::detect(None, "</s>"),
            ChatTemplate::Alpaca { eos: "</s>".into() }
        );
    }
}
