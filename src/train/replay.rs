//! Replay: general records mixed into every epoch so the adapter learns its task without
//! forgetting how the base model answers everyday questions ("mix in general data", which
//! users of other tools are told to do by hand).
//!
//! The bundled source needs no download: everyday prompts (English and Chinese) answered once
//! by the base model itself and cached in the split folder (`replay.jsonl`), each answer
//! stamped with the base model's fingerprint so a changed base answers again. The trainer
//! teaches those answers by distillation — the base model's top-k distribution at every
//! answer token, not only the token it picked. A small base model rarely ends an everyday
//! answer within the limit: it rambles into a loop. Replay is cleaned as a careful user would
//! clean general data before mixing it in: such an answer is cut after its last whole
//! sentence before the loop sets in ([`clean_end`]), and the turn end is taught there, so the
//! adapter learns to close a general answer instead of learning the base model's loops. An
//! answer with no clean sentence to keep is replayed without a turn end.
//!
//! A fixed slice of the prompts never trains: it is the forgetting probe, whose perplexity
//! under base + adapter the trainer logs at every evaluation. The probe and the replay records
//! come from the replay source only; the trainer never opens the guard set or the sealed test.

use crate::data::{Example, SplitDir};
use crate::eval::metrics::Repetition;
use crate::model::generate::{generate_batch_with, GenerateOptions, StopReason};
use crate::model::Model;
use crate::preset::Preset;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The bundled everyday prompts (`datasets/replay/general.jsonl`), compiled in.
pub const BUNDLED: &str = include_str!("../../datasets/replay/general.jsonl");
/// The embedded demo model's own answers to the bundled prompts (SmolLM2-135M-Instruct as
/// `just setup` imports it), made by [`base_answers`] and shipped so that a new demo's first
/// run starts training at once instead of spending minutes answering. They are used only for
/// a model with exactly those weights (the fingerprint in every line).
const SHIPPED_ANSWERS: &str =
    include_str!("../../datasets/replay/answers-smollm2-135m-instruct.jsonl");
/// Where the base model's answers are cached, in the split folder.
pub const CACHE: &str = "replay.jsonl";
/// Every `PROBE_EVERY`-th prompt (from `PROBE_OFFSET`) is held out as the forgetting probe:
/// 16 of the 144 bundled prompts, spread over every category.
const PROBE_EVERY: usize = 9;
const PROBE_OFFSET: usize = 4;
/// Token limit of a base-model answer. Everyday answers of a small model that have not
/// ended by then are mostly loops, which replay teaches without their turn end.
pub const MAX_NEW_TOKENS: usize = 192;
/// Size of the teacher distribution kept per answer token.
pub const TOP_K: i64 = 16;

/// One cached answer of the base model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answered {
    pub instruction: String,
    #[serde(default)]
    pub input: String,
    pub output: String,
    /// The answer closed its turn (false: cut at [`MAX_NEW_TOKENS`]).
    pub ended: bool,
    /// Fingerprint of the base model's weights that answered ([`fingerprint`]).
    pub base_model: String,
}

impl Answered {
    fn example(&self) -> Example {
        Example {
            instruction: self.instruction.clone(),
            input: self.input.clone(),
            output: self.output.clone(),
            ..Example::default()
        }
    }
}

/// A replay record ready to encode: the example and whether its answer ends the turn.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayRecord {
    pub example: Example,
    pub ended: bool,
    /// Taught by distillation from the base model (its own answers), or by plain labels (the
    /// user's general data).
    pub distill: bool,
    /// The base answer was cut at [`clean_end`] and its turn end added: the teacher knows no
    /// turn end there, so it is taught as a plain label.
    pub trimmed: bool,
}

/// What a run replays and probes.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// Mixed into every epoch.
    pub train: Vec<ReplayRecord>,
    /// The forgetting probe: never trained on.
    pub probe: Vec<ReplayRecord>,
    /// Where the records came from, for the status line.
    pub source: String,
}

#[derive(Deserialize)]
struct Prompt {
    instruction: String,
    #[serde(default)]
    input: String,
}

/// The bundled prompts as examples without answers.
pub fn bundled_prompts() -> Result<Vec<Example>> {
    BUNDLED
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            let p: Prompt = serde_json::from_str(line).with_context(|| {
                format!("datasets/replay/general.jsonl line {}: not a prompt", i + 1)
            })?;
            Ok(Example {
                instruction: p.instruction,
                input: p.input,
                ..Example::default()
            })
        })
        .collect()
}

/// Splits `items` into (probe, pool): the fixed held-out slice and the rest, order kept.
pub fn split_probe<T>(items: Vec<T>) -> (Vec<T>, Vec<T>) {
    let (mut probe, mut pool) = (Vec::new(), Vec::new());
    for (i, x) in items.into_iter().enumerate() {
        if i % PROBE_EVERY == PROBE_OFFSET {
            probe.push(x);
        } else {
            pool.push(x);
        }
    }
    (probe, pool)
}

/// How many replay records an epoch mixes in for `train_len` training records.
pub fn count_for(preset: &Preset, train_len: usize) -> usize {
    if preset.replay_ratio <= 0.0 {
        0
    } else {
        ((preset.replay_ratio * train_len as f64).round() as usize).max(1)
    }
}

/// `pool` repeated in order until it has `n` items.
fn cycle<T: Clone>(pool: &[T], n: usize) -> Vec<T> {
    pool.iter().cycle().take(n).cloned().collect()
}

/// SHA-256 of the model's weight files (sorted by name): what identifies "the base model"
/// for the replay cache.
pub fn fingerprint(model_dir: &Path) -> Result<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(model_dir)
        .with_context(|| format!("{}: cannot read the model folder", model_dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!(
            "{}: no .safetensors weights to fingerprint",
            model_dir.display()
        );
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    for f in &files {
        let mut file =
            std::fs::File::open(f).with_context(|| format!("{}: cannot read", f.display()))?;
        loop {
            let n = file
                .read(&mut buf)
                .with_context(|| format!("{}: cannot read", f.display()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// Reads the cache; a missing file is an empty cache, a broken line an error naming it.
pub fn read_cache(path: &Path) -> Result<Vec<Answered>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read", path.display())),
    };
    parse_answers(&text, &path.display().to_string())
}

/// Answers, one JSON object a line; `origin` names the text in errors.
fn parse_answers(text: &str, origin: &str) -> Result<Vec<Answered>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| {
                format!(
                    "{origin} line {}: not a replay answer; delete the file and it is made again",
                    i + 1
                )
            })
        })
        .collect()
}

fn write_cache(path: &Path, answers: &[Answered]) -> Result<()> {
    let mut text = String::new();
    for a in answers {
        text.push_str(&serde_json::to_string(a)?);
        text.push('\n');
    }
    crate::atomic::write(path, text.as_bytes())
}

/// The base model's answers to `prompts`, from the cache in `split_dir` where it holds an
/// answer by this base model, otherwise generated (greedy) and added to the cache. `model`
/// must be the base model, without an adapter.
pub fn base_answers(
    model: &Model,
    split_dir: &Path,
    prompts: &[Example],
    status: &mut dyn FnMut(String),
) -> Result<Vec<Answered>> {
    let path = split_dir.join(CACHE);
    let base = fingerprint(&model.dir)?;
    let mut cache: Vec<Answered> = read_cache(&path)?
        .into_iter()
        .filter(|a| a.base_model == base)
        .collect();
    let key = |i: &str, x: &str| format!("{i}\u{0}{x}");
    let mut known: HashSet<String> = cache
        .iter()
        .map(|a| key(&a.instruction, &a.input))
        .collect();
    // The shipped answers of this very base model fill in what the cache lacks.
    let wanted: HashSet<String> = prompts
        .iter()
        .map(|p| key(&p.instruction, &p.input))
        .collect();
    let before = cache.len();
    for a in shipped_answers(&base)? {
        let k = key(&a.instruction, &a.input);
        if wanted.contains(&k) && known.insert(k) {
            cache.push(a);
        }
    }
    let copied = cache.len() - before;
    if copied > 0 {
        status(format!(
            "replay: {copied} answers of this base model shipped with tunedeck (same weights, \
             sha256 {}…), cached in {}",
            &base[..12],
            path.display()
        ));
    }
    let missing: Vec<&Example> = prompts
        .iter()
        .filter(|p| !known.contains(&key(&p.instruction, &p.input)))
        .collect();
    if !missing.is_empty() {
        status(format!(
            "replay: the base model answers {} everyday prompts (once; cached in {})",
            missing.len(),
            path.display()
        ));
        cache.extend(answer(model, &base, &missing, status)?);
    }
    if !missing.is_empty() || copied > 0 {
        write_cache(&path, &cache)?;
    }
    let by_key: HashMap<String, &Answered> = cache
        .iter()
        .map(|a| (key(&a.instruction, &a.input), a))
        .collect();
    Ok(prompts
        .iter()
        .map(|p| by_key[&key(&p.instruction, &p.input)].clone())
        .collect())
}

/// The base model's greedy answers to `prompts`, generated in one batch (`base` is its
/// fingerprint, stamped on each answer). `model` must be the base model, without an adapter.
pub fn answer(
    model: &Model,
    base: &str,
    prompts: &[&Example],
    status: &mut dyn FnMut(String),
) -> Result<Vec<Answered>> {
    let missing = prompts;
    let tok = &model.tokenizer;
    let ids = missing
        .iter()
        .map(|p| tok.encode(&tok.template.prompt(None, &[], &p.prompt())))
        .collect::<Result<Vec<_>>>()?;
    let opts = GenerateOptions {
        max_new_tokens: MAX_NEW_TOKENS,
        stop_ids: tok.stop_ids.clone(),
        ..GenerateOptions::default()
    };
    // An answer the repetition detector sees looping is cut there: the rest of the loop would
    // teach nothing new, and it is replayed without its turn end either way.
    let looping = |ids: &[u32]| {
        tok.decode(ids)
            .is_ok_and(|text| Repetition::of(&text, false).looping())
    };
    let mut answers: Vec<Option<(Vec<u32>, StopReason)>> = vec![None; missing.len()];
    let mut done = 0;
    generate_batch_with(
        &model.decoder,
        &ids,
        &opts,
        0,
        &mut || true,
        &looping,
        &mut |i, new, stop| {
            answers[i] = Some((new.to_vec(), stop));
            done += 1;
            if done % 16 == 0 {
                status(format!(
                    "replay: {done} of {} everyday prompts answered",
                    missing.len()
                ));
            }
        },
    );
    missing
        .iter()
        .zip(answers)
        .map(|(p, answer)| {
            let (new, stop) = answer.context("replay: an answer went missing")?;
            Ok(Answered {
                instruction: p.instruction.clone(),
                input: p.input.clone(),
                output: tok.decode(&new)?,
                ended: stop == StopReason::EndOfTurn,
                base_model: base.to_string(),
            })
        })
        .collect()
}

/// The shipped answers made by the base model with fingerprint `base` (none for any other).
fn shipped_answers(base: &str) -> Result<Vec<Answered>> {
    if !SHIPPED_ANSWERS.contains(base) {
        return Ok(Vec::new());
    }
    let mut answers = parse_answers(
        SHIPPED_ANSWERS,
        "datasets/replay/answers-smollm2-135m-instruct.jsonl",
    )?;
    answers.retain(|a| a.base_model == base);
    Ok(answers)
}

/// The replay and probe records of a run training on `train_len` records from `split`, or
/// `None` when `replay_ratio` is 0. `replay_file` is read relative to `base_dir`.
pub fn prepare(
    model: &Model,
    preset: &Preset,
    split: &SplitDir,
    base_dir: &Path,
    train_len: usize,
    status: &mut dyn FnMut(String),
) -> Result<Option<Replay>> {
    let n = count_for(preset, train_len);
    if n == 0 {
        return Ok(None);
    }
    if !preset.replay_file.is_empty() {
        let path = crate::paths::resolve_model(&preset.replay_file, base_dir);
        let data = crate::data::load(&path)
            .with_context(|| format!("replay_file = {}", preset.replay_file))?;
        let records: Vec<ReplayRecord> = data
            .examples()
            .map(|e| ReplayRecord {
                example: e.clone(),
                ended: true,
                distill: false,
                trimmed: false,
            })
            .collect();
        if records.len() < PROBE_EVERY {
            bail!(
                "{}: {} records; replay needs at least {PROBE_EVERY} (one of every {PROBE_EVERY} \
                 is held out as the forgetting probe)",
                path.display(),
                records.len()
            );
        }
        let (probe, pool) = split_probe(records);
        return Ok(Some(Replay {
            train: cycle(&pool, n),
            probe,
            source: path.display().to_string(),
        }));
    }
    let (probe, pool) = split_probe(bundled_prompts()?);
    // Only the prompts this run needs are answered: a small replay_ratio costs less.
    let used = cycle(&pool, n.min(pool.len()));
    let wanted: Vec<Example> = probe.iter().chain(&used).cloned().collect();
    let answers = base_answers(model, split.dir(), &wanted, status)?;
    let record = |a: &Answered| ReplayRecord {
        example: a.example(),
        ended: a.ended,
        distill: true,
        trimmed: false,
    };
    let cleaned = |a: &Answered| match (a.ended, clean_end(&a.output)) {
        (false, Some(kept)) => ReplayRecord {
            example: Example {
                output: kept.to_string(),
                ..a.example()
            },
            ended: true,
            distill: true,
            trimmed: true,
        },
        _ => record(a),
    };
    // The probe measures whether the adapter still speaks as the base model does, on the same
    // cleaned answers but without the added turn end: the loop a cleaned answer dropped, and
    // where it now stops, are not the base model's ability.
    let probed = |a: &Answered| ReplayRecord {
        ended: a.ended,
        trimmed: false,
        ..cleaned(a)
    };
    let (probe, used) = answers.split_at(probe.len());
    Ok(Some(Replay {
        train: cycle(&used.iter().map(cleaned).collect::<Vec<_>>(), n),
        probe: probe.iter().map(probed).collect(),
        source: format!(
            "the base model's answers to {} bundled everyday prompts",
            used.len()
        ),
    }))
}

/// The shortest answer worth teaching as a whole one, in characters.
const MIN_CLEAN_CHARS: usize = 12;
/// The longest cleaned answer, in characters: about 130 tokens of English, two thirds of the
/// token limit, so the adapter learns to close a general answer with room to spare.
const MAX_CLEAN_CHARS: usize = 600;

/// Where an unfinished base answer can end cleanly: after its last whole sentence within
/// [`MAX_CLEAN_CHARS`] before it starts repeating itself (a sentence said before, or the
/// runaway detector's loop), or `None` when not even one sentence of [`MIN_CLEAN_CHARS`]
/// stands before that.
pub fn clean_end(answer: &str) -> Option<&str> {
    let mut seen = std::collections::HashSet::new();
    let mut kept = None;
    let mut start = 0;
    for end in sentence_ends(answer) {
        let sentence = answer[start..end].trim().to_lowercase();
        start = end;
        if sentence.is_empty() {
            continue;
        }
        let prefix = answer[..end].trim_end();
        let long = prefix.chars().count() > MAX_CLEAN_CHARS;
        if long || !seen.insert(sentence) || Repetition::of(prefix, false).looping() {
            break;
        }
        let whole = prefix.ends_with(['.', '!', '?', '。', '！', '？', ')', '*', '"']);
        if whole && prefix.chars().count() >= MIN_CLEAN_CHARS {
            kept = Some(prefix);
        }
    }
    kept
}

/// Byte offsets just after each sentence of `text`: after `.`, `!` or `?` followed by white
/// space (not a list number such as `1.`), after a CJK full stop, and at each line end.
fn sentence_ends(text: &str) -> Vec<usize> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut ends = Vec::new();
    for (n, &(at, c)) in chars.iter().enumerate() {
        let next = chars.get(n + 1).map(|&(_, c)| c);
        let after = at + c.len_utf8();
        let ends_here = match c {
            '。' | '！' | '？' => true,
            '\n' => true,
            '.' | '!' | '?' => {
                let numbered = n > 0 && chars[n - 1].1.is_ascii_digit() && c == '.';
                next.is_some_and(char::is_whitespace) && !numbered
            }
            _ => false,
        };
        if ends_here {
            ends.push(after);
        }
    }
    ends
}

/// The replay prompts an experiment's split folder has cached, as examples (for the guard's
/// blindness check); empty when there is no cache.
pub fn cached_prompts(split_dir: &Path) -> Result<Vec<Example>> {
    Ok(read_cache(&split_dir.join(CACHE))?
        .iter()
        .map(Answered::example)
        .collect())
}

/// Refuses replay prompts that match or nearly match a guard question (the leakage check that
/// protects the sealed test): the guard measures forgetting only while the adapter never
/// trained on its questions. `replay_origin` and `guard_origin` name the files for the error.
pub fn check_blind(
    replay: &[Example],
    replay_origin: &str,
    guard: &[String],
    guard_origin: &str,
) -> Result<()> {
    let guard: Vec<Example> = guard
        .iter()
        .map(|q| Example {
            instruction: q.clone(),
            ..Example::default()
        })
        .collect();
    // The guard plays the "test" side: each guard question is reported once.
    let leaks = crate::data::leakage(replay, &guard);
    if let Some(l) = leaks.first() {
        bail!(
            "{replay_origin}: replay prompt {} \"{}\" {} guard question {} of {guard_origin} \
             \"{}\" (similarity {:.2}; {} in all): the guard would no longer be blind. Remove \
             those prompts from the replay data (or delete {CACHE} and train again)",
            l.train + 1,
            replay[l.train].instruction,
            if l.exact { "repeats" } else { "nearly repeats" },
            l.test + 1,
            guard[l.test].instruction,
            l.similarity,
            leaks.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_prompts_load_and_the_probe_is_a_fixed_slice() {
        let prompts = bundled_prompts().unwrap();
        assert_eq!(prompts.len(), 144);
        let (probe, pool) = split_probe(prompts.clone());
        assert_eq!((probe.len(), pool.len()), (16, 128));
        assert!(probe.iter().all(|p| !pool.contains(p)));
        assert_eq!(split_probe(prompts).0, probe);
    }

    fn guard_questions() -> Vec<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/guard/general.jsonl");
        crate::eval::questions::load_guard(&path)
            .unwrap()
            .into_iter()
            .map(|q| q.prompt)
            .collect()
    }

    #[test]
    fn the_shipped_replay_prompts_never_touch_the_guard() {
        let guard = guard_questions();
        assert_eq!(guard.len(), 28);
        check_blind(&bundled_prompts().unwrap(), "bundled", &guard, "guard").unwrap();
    }

    #[test]
    fn a_planted_guard_question_in_the_replay_data_is_refused() {
        let guard = guard_questions();
        let mut replay = bundled_prompts().unwrap();
        // A near copy: same question, other case and punctuation.
        replay.push(Example {
            instruction: guard[0].to_uppercase().replace('?', "!!"),
            ..Example::default()
        });
        let err = check_blind(&replay, "replay.jsonl", &guard, "general.jsonl")
            .unwrap_err()
            .to_string();
        assert!(err.contains("replay prompt 145"), "{err}");
        assert!(err.contains("guard question 1 of general.jsonl"), "{err}");
    }

    #[test]
    fn the_replay_count_follows_the_ratio() {
        let mut p = Preset::default();
        assert_eq!(count_for(&p, 160), 0);
        p.replay_ratio = 0.75;
        assert_eq!(count_for(&p, 160), 120);
        p.replay_ratio = 0.001;
        assert_eq!(count_for(&p, 160), 1);
        assert_eq!(cycle(&[1, 2, 3], 7), [1, 2, 3, 1, 2, 3, 1]);
    }

    #[test]
    fn an_unfinished_answer_ends_after_its_last_sentence_before_the_loop() {
        let rambling = "Bread goes stale as its starch dries out. Warm it in the oven for five \
                        minutes.\n\nThis works well. This works well. This works";
        assert_eq!(
            clean_end(rambling),
            Some("Bread goes stale as its starch dries out. Warm it in the oven for five minutes.\n\nThis works well.")
        );
        // A loop inside one sentence: cut before it.
        let sums = "Divide 18 by 12 to get 1.5.\n\nSo 1.5 / 12 = 1.5 / 12 = 1.5 / 12 = 1.5 / 12 = 1.5 / 12 = 1.5 / 12 =";
        assert_eq!(clean_end(sums), Some("Divide 18 by 12 to get 1.5."));
        // A list number is not a sentence end; a heading line without a full stop is no end.
        let list =
            "Here are three tips:\n1. Stand up every hour and walk around the room.\n2. Drink wat";
        assert_eq!(
            clean_end(list),
            Some("Here are three tips:\n1. Stand up every hour and walk around the room.")
        );
        assert_eq!(
            clean_end("红烧肉要先焯水，再用小火慢炖一个小时。然后收汁"),
            Some("红烧肉要先焯水，再用小火慢炖一个小时。")
        );
        assert_eq!(clean_end("Too short. Too short. Too"), None);
        assert_eq!(clean_end("no sentence ever ends here and"), None);
    }
}
