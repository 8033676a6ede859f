//! LLaMA-Factory's `dataset_info.json`: named entries that say where a dataset file is and
//! how its keys map onto Alpaca columns or ShareGPT messages (`formatting`, `columns`, `tags`).

use super::load::{json_message, read_text};
use super::schema::{AlpacaColumns, Schema, ShareGptColumns};
use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One LLaMA-Factory `dataset_info.json` entry; keys tunedeck has no use for are ignored,
/// as LLaMA-Factory ignores the ones it does not need for a given source.
#[derive(Debug, Deserialize)]
struct InfoEntry {
    file_name: Option<String>,
    formatting: Option<String>,
    #[serde(default)]
    ranking: bool,
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    hf_hub_url: Option<String>,
    ms_hub_url: Option<String>,
    om_hub_url: Option<String>,
    script_url: Option<String>,
}

/// Reads entry `name` of a `dataset_info.json`: its data file (relative to the
/// `dataset_info.json`), its schema and its name.
pub(crate) fn entry(info: &Path, name: Option<&str>) -> Result<(PathBuf, Schema, String)> {
    let shown = info.display().to_string();
    let text = read_text(info)?;
    let entries: Map<String, Value> = serde_json::from_str(&text).map_err(|e| {
        anyhow!(
            "{shown}:{}:{}: not a valid dataset_info.json: {}: it must be one JSON object of \
             named entries",
            e.line(),
            e.column(),
            json_message(&e)
        )
    })?;
    let names = || entries.keys().cloned().collect::<Vec<_>>().join(", ");
    let name = match name {
        Some(n) => n.to_string(),
        None if entries.len() == 1 => entries.keys().next().cloned().unwrap_or_default(),
        None if entries.is_empty() => bail!("{shown} has no entries: add one"),
        None => bail!(
            "{shown} has {} entries: name one as {shown}#NAME (entries: {})",
            entries.len(),
            names()
        ),
    };
    let value = entries
        .get(&name)
        .with_context(|| format!("{shown}: no entry `{name}`: use one of {}", names()))?;
    let at = format!("{shown}: entry `{name}`");
    let entry: InfoEntry = serde_json::from_value(value.clone())
        .map_err(|e| anyhow!("{at}: {}: fix the entry", json_message(&e)))?;
    if entry.ranking {
        bail!("{at}: ranking (preference) data is not supported: tunedeck trains on SFT records");
    }
    let Some(file_name) = &entry.file_name else {
        let hub = [
            ("hf_hub_url", &entry.hf_hub_url),
            ("ms_hub_url", &entry.ms_hub_url),
            ("om_hub_url", &entry.om_hub_url),
            ("script_url", &entry.script_url),
        ];
        if let Some((key, _)) = hub.iter().find(|(_, v)| v.is_some()) {
            bail!(
                "{at} loads from `{key}`; tunedeck reads local files only: download the data \
                 and set `file_name`"
            );
        }
        bail!("{at} has no `file_name`: add the data file's path, relative to {shown}");
    };
    let file = info.parent().unwrap_or(Path::new("")).join(file_name);
    if file.is_dir() {
        bail!(
            "{at}: `file_name` {} is a folder: name one .json or .jsonl file",
            file.display()
        );
    }
    let schema = entry_schema(&entry).map_err(|e| anyhow!("{at}: {e}"))?;
    Ok((file, schema, name))
}

/// The schema an entry's `formatting`, `columns` and `tags` describe.
fn entry_schema(entry: &InfoEntry) -> Result<Schema, String> {
    let column = |key: &str| entry.columns.get(key).cloned();
    let unsupported = |known: &[&str]| {
        entry
            .columns
            .keys()
            .find(|k| !known.contains(&k.as_str()))
            .map(|k| {
                format!(
                    "column `{k}` is not supported (tunedeck reads {}): remove it from `columns`",
                    known.join(", ")
                )
            })
    };
    match entry.formatting.as_deref().unwrap_or("alpaca") {
        "alpaca" => {
            let known = ["prompt", "query", "response", "system", "history"];
            if let Some(e) = unsupported(&known) {
                return Err(e);
            }
            if !entry.tags.is_empty() {
                return Err("`tags` only apply to sharegpt formatting: remove them".into());
            }
            // LLaMA-Factory reads `system` and `history` only when `columns` names them.
            Ok(Schema::Alpaca(AlpacaColumns {
                prompt: column("prompt").unwrap_or_else(|| "instruction".into()),
                query: column("query").unwrap_or_else(|| "input".into()),
                response: column("response").unwrap_or_else(|| "output".into()),
                system: column("system"),
                history: column("history"),
            }))
        }
        f @ ("sharegpt" | "openai") => {
            let known = ["messages", "system"];
            if let Some(e) = unsupported(&known) {
                return Err(e);
            }
            let mut c = if f == "openai" {
                ShareGptColumns::openai()
            } else {
                ShareGptColumns::llama_factory()
            };
            if let Some(m) = column("messages") {
                c.messages = m;
            }
            c.system = column("system");
            for (tag, value) in &entry.tags {
                let slot = match tag.as_str() {
                    "role_tag" => &mut c.role_tag,
                    "content_tag" => &mut c.content_tag,
                    "user_tag" => &mut c.user_tag,
                    "assistant_tag" => &mut c.assistant_tag,
                    "system_tag" => &mut c.system_tag,
                    // Tool-use roles: a conversation using them is rejected by role name.
                    "observation_tag" | "function_tag" => continue,
                    other => {
                        return Err(format!(
                            "unknown tag `{other}`: use role_tag, content_tag, user_tag, \
                             assistant_tag or system_tag"
                        ))
                    }
                };
                *slot = vec![value.clone()];
            }
            Ok(Schema::ShareGpt(c))
        }
        other => Err(format!(
            "formatting `{other}` is not supported: use alpaca or sharegpt"
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::data::load;
    use crate::data::SchemaKind;
    use std::fs;
    use std::path::Path;

    #[test]
    fn dataset_info_entries_map_columns_and_tags() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("dataset_info.json"),
            r#"{
              "qa": {"file_name": "qa.json", "columns": {"prompt": "q", "response": "a", "system": "sys"}},
              "chat": {"file_name": "chat.jsonl", "formatting": "sharegpt",
                       "columns": {"messages": "turns"},
                       "tags": {"role_tag": "speaker", "content_tag": "text", "user_tag": "me", "assistant_tag": "bot"}},
              "hub": {"hf_hub_url": "org/data"}
            }"#,
        )
        .unwrap();
        fs::write(
            dir.path().join("qa.json"),
            r#"[{"q": "what", "a": "that", "sys": "s", "history": "kept as extra"}]"#,
        )
        .unwrap();
        fs::write(
            dir.path().join("chat.jsonl"),
            r#"{"turns": [{"speaker": "me", "text": "hi"}, {"speaker": "bot", "text": "hello"}]}"#,
        )
        .unwrap();
        let info = dir.path().join("dataset_info.json");
        let qa = load::load(Path::new(&format!("{}#qa", info.display()))).unwrap();
        let e = &qa.records[0].example;
        assert_eq!(
            (e.prompt(), e.output.as_str()),
            ("what".to_string(), "that")
        );
        assert_eq!(e.system.as_deref(), Some("s"));
        assert_eq!(e.extra_str("history"), Some("kept as extra"));
        assert!(qa.source.ends_with("dataset_info.json#qa"));

        let chat = load::load(Path::new(&format!("{}#chat", dir.path().display()))).unwrap();
        assert_eq!(chat.format.schema, SchemaKind::ShareGpt);
        assert_eq!(chat.records[0].example.output, "hello");

        let e = load::load(Path::new(&format!("{}#hub", info.display())))
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("entry `hub` loads from `hf_hub_url`; tunedeck reads local files only: download the data and set `file_name`"), "{e}");
        let e = load::load(Path::new(&format!("{}#nope", info.display())))
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("no entry `nope`: use one of chat, hub, qa"),
            "{e}"
        );
        let e = load::load(&info).unwrap_err().to_string();
        assert!(e.contains("has 3 entries: name one"), "{e}");
    }
}
