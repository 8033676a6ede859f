//! Batched generation answers token for token as the one-at-a-time generator does: on the
//! tiny random Llama and Qwen2 fixtures (greedy and sampled, each sequence stopping at its own
//! stop id, runaways cut, cancel) and on SmolLM2-135M-Instruct with real chat prompts.

mod common;

use common::*;
use std::path::Path;
use tunedeck::model::generate::{
    generate, generate_batch, token_logprobs_after, token_logprobs_from, GenerateOptions,
    SharedPrefix, StopReason, RUNAWAY_EVERY,
};
use tunedeck::model::llama::KvCache;
use tunedeck::model::slots::SlotCache;
use tunedeck::model::Model;

/// Chat prompts of very different lengths.
const QUESTIONS: [&str; 7] = [
    "Hi",
    "What is the capital of France?",
    "Explain in two sentences why the sky is blue, and mention Rayleigh scattering by name.",
    "List three vegetables.",
    "Write a haiku about autumn leaves falling on a quiet river at dusk, then explain its \
     imagery line by line, and finally suggest a title for it that a child would like.",
    "2+2=?",
    "How do I cook tomato and egg stir-fry? Give the steps.",
];

fn prompts(model: &Model) -> Vec<Vec<u32>> {
    let tok = &model.tokenizer;
    QUESTIONS
        .iter()
        .map(|q| tok.encode(&tok.template.prompt(None, &[], q)).unwrap())
        .collect()
}

/// Each prompt through `generate` with seed `opts.seed + i`.
fn one_at_a_time(
    model: &Model,
    prompts: &[Vec<u32>],
    opts: &GenerateOptions,
) -> Vec<(Vec<u32>, StopReason)> {
    prompts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let o = GenerateOptions {
                seed: opts.seed + i as u64,
                ..opts.clone()
            };
            generate(&model.decoder, p, &o, &mut |_| true)
        })
        .collect()
}

fn batched(
    model: &Model,
    prompts: &[Vec<u32>],
    opts: &GenerateOptions,
    size: usize,
) -> Vec<(Vec<u32>, StopReason)> {
    generate_batch(&model.decoder, prompts, opts, size, &mut || true, &|_| {
        false
    })
}

/// A model on the CPU with its own chat template.
fn load(dir: &Path) -> Model {
    Model::load(dir, tch::Device::Cpu, "auto", false).unwrap()
}

/// Greedy answers of every batch size equal the one-at-a-time ones, with a stop id that
/// ends some answers early and others not at all.
fn greedy_matches(dir: &Path) {
    let model = load(dir);
    let prompts = prompts(&model);
    let mut opts = GenerateOptions {
        max_new_tokens: 24,
        stop_ids: Vec::new(),
        ..Default::default()
    };
    let free = one_at_a_time(&model, &prompts, &opts);
    // A token some answer produces mid-way becomes the stop id.
    let stop = free
        .iter()
        .find_map(|(ids, _)| ids.get(5).copied())
        .unwrap();
    opts.stop_ids = vec![stop];
    let want = one_at_a_time(&model, &prompts, &opts);
    let stops: Vec<StopReason> = want.iter().map(|w| w.1).collect();
    assert!(stops.contains(&StopReason::EndOfTurn), "{stops:?}");
    for size in [0, 2, 3, 7, 16] {
        assert_eq!(
            batched(&model, &prompts, &opts, size),
            want,
            "{} batch {size}",
            dir.display()
        );
    }
}

#[test]
fn tiny_llama_greedy_batches_equal_one_at_a_time() {
    greedy_matches(&fixtures().join("tiny-llama"));
}

#[test]
fn tiny_qwen2_greedy_batches_equal_one_at_a_time() {
    greedy_matches(&fixtures().join("tiny-qwen2"));
}

/// A batch cache allocated too small for what it is given grows (rows and columns) and keeps
/// what it holds: a step of two rows then equals the one-sequence cache's next position.
#[test]
fn a_slot_cache_that_is_too_small_grows_and_keeps_what_it_holds() {
    let model = load(&fixtures().join("tiny-llama"));
    let decoder = &model.decoder;
    let prompt: Vec<i64> = prompts(&model)[2].iter().map(|&t| t as i64).collect();
    let _guard = tch::no_grad_guard();
    let mut one = KvCache::new(decoder.layers.len());
    let _ = decoder.hidden(
        &tch::Tensor::from_slice(&prompt).unsqueeze(0),
        Some(&mut one),
        false,
    );
    let mut slots = SlotCache::new(decoder, 1, 2);
    let need = prompt.len() as i64 + 4;
    assert_eq!(slots.push(&one, need), 0);
    assert_eq!(slots.push(&one, need), 1);
    let next = tch::Tensor::from_slice(&[5i64, 5]).unsqueeze(1);
    let got = decoder.step(&next, &mut slots); // (2, 1, H)
    let want = decoder.hidden(
        &tch::Tensor::from_slice(&[5i64]).unsqueeze(0),
        Some(&mut one),
        false,
    ); // (1, 1, H)
    let len = prompt.len() as i64 + 1;
    assert_eq!(slots.lens(), [len, len]);
    for row in 0..2 {
        let diff = (got.get(row) - want.get(0)).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "row {row}: {diff}");
    }
    // A row that leaves gives its place to the last one.
    slots.swap_remove(0);
    assert_eq!(slots.rows(), 1);
}

/// Chat prompts share their template's beginning; the batch prefills it once, and scoring
/// after it gives the log-probabilities of scoring the whole sequence.
#[test]
fn the_prompts_shared_beginning_is_computed_once_and_changes_nothing() {
    let model = load(&smollm2());
    let decoder = &model.decoder;
    let prompts = prompts(&model);
    let shared = SharedPrefix::of(decoder, &prompts).expect("chat prompts share a beginning");
    // SmolLM2's template: "<|im_start|>system\nYou are a helpful AI assistant named SmolLM,
    // trained by Hugging Face<|im_end|>\n<|im_start|>user\n" is the same in every prompt.
    // (decoded without its special tokens)
    let words = model.tokenizer.decode(&prompts[0][..shared.len()]).unwrap();
    assert!(
        words.starts_with("system\nYou are a helpful AI") && words.ends_with("user\n"),
        "{words:?}"
    );
    assert!(SharedPrefix::of(decoder, &prompts[..1]).is_none());
    assert!(SharedPrefix::of(decoder, &[prompts[0].clone(), vec![1, 2, 3]]).is_none());

    let answer = model.tokenizer.encode("Paris is the capital.").unwrap();
    for prompt in &prompts {
        let ids: Vec<u32> = prompt.iter().chain(&answer).copied().collect();
        let want = token_logprobs_from(decoder, &ids, prompt.len());
        let got = token_logprobs_after(decoder, Some(&shared), &ids, prompt.len());
        assert_eq!(got.len(), answer.len());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-4, "{g} vs {w}");
        }
    }
    // A sequence that does not begin with the shared positions is scored whole.
    let other = model.tokenizer.encode("Hello there, how are you?").unwrap();
    assert_eq!(
        token_logprobs_after(decoder, Some(&shared), &other, 2),
        token_logprobs_from(decoder, &other, 2)
    );
}

#[test]
fn sampling_is_seeded_per_prompt() {
    let model = load(&fixtures().join("tiny-qwen2"));
    let prompts = prompts(&model);
    let opts = GenerateOptions {
        max_new_tokens: 20,
        temperature: 0.9,
        top_p: 0.95,
        seed: 7,
        stop_ids: Vec::new(),
    };
    let want = one_at_a_time(&model, &prompts, &opts);
    assert_eq!(batched(&model, &prompts, &opts, 3), want);
    assert_eq!(batched(&model, &prompts, &opts, 1), want);
    // Seeds differ per prompt: the same prompt twice samples two different answers.
    let twice = vec![prompts[1].clone(), prompts[1].clone()];
    let got = batched(&model, &twice, &opts, 2);
    assert_ne!(got[0].0, got[1].0);
}

#[test]
fn runaways_are_cut_at_the_check_and_cancel_stops_everything() {
    let model = load(&fixtures().join("tiny-llama"));
    let prompts = prompts(&model);
    let opts = GenerateOptions {
        max_new_tokens: 100,
        stop_ids: Vec::new(),
        ..Default::default()
    };
    let full = one_at_a_time(&model, &prompts, &opts);
    // "Runaway" = the answer's first token comes back 3 times: some are cut, some not.
    let loops = |ids: &[u32]| ids.iter().filter(|&&t| t == ids[0]).count() >= 3;
    for size in [1, 3] {
        let got = generate_batch(&model.decoder, &prompts, &opts, size, &mut || true, &loops);
        let mut cut = 0;
        for ((ids, stop), (whole, _)) in got.iter().zip(&full) {
            assert!(whole.starts_with(ids));
            if *stop == StopReason::Runaway {
                cut += 1;
                assert!(ids.len().is_multiple_of(RUNAWAY_EVERY));
                assert!(loops(ids) && !loops(&ids[..ids.len() - RUNAWAY_EVERY]));
            } else {
                assert_eq!((ids, *stop), (whole, StopReason::MaxTokens));
            }
        }
        assert!(cut > 0, "batch {size}: nothing was cut");
    }
    let mut steps = 0;
    let got = generate_batch(
        &model.decoder,
        &prompts,
        &opts,
        3,
        &mut || {
            steps += 1;
            steps < 5
        },
        &|_| false,
    );
    assert!(got.iter().all(|(_, s)| *s == StopReason::Cancelled));
}

#[test]
fn smollm2_greedy_chat_answers_batched_equal_one_at_a_time() {
    let model = load(&smollm2());
    let prompts = prompts(&model);
    let opts = GenerateOptions {
        max_new_tokens: 48,
        stop_ids: model.tokenizer.stop_ids.clone(),
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let want = one_at_a_time(&model, &prompts, &opts);
    let one = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let got = batched(&model, &prompts, &opts, 0);
    let batch = t.elapsed().as_secs_f64();
    eprintln!(
        "smollm2 {} prompts x 48 tokens: one at a time {one:.1} s, batched {batch:.1} s",
        prompts.len()
    );
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(
            g,
            w,
            "prompt {i}: {:?}\nvs\n{:?}",
            model.tokenizer.decode(&g.0),
            model.tokenizer.decode(&w.0)
        );
    }
    assert!(want.iter().any(|w| w.1 == StopReason::EndOfTurn));
}

#[test]
fn chat_prompts_file_answers_every_line_as_json() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("prompts.txt");
    std::fs::write(
        &file,
        "Hi\n\n{\"instruction\": \"List three vegetables.\", \"input\": \"Short.\"}\n2+2=?\n",
    )
    .unwrap();
    let model = fixtures().join("tiny-llama");
    let run = |size: &str| {
        let out = tunedeck(&[
            "chat",
            "--model",
            path_str(&model),
            "--prompts",
            path_str(&file),
            "--max-new-tokens",
            "12",
            "--device",
            "cpu",
            "--batch-size",
            size,
        ]);
        succeeded(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    let batched = run("0");
    let lines: Vec<serde_json::Value> = batched
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{batched}");
    assert_eq!(lines[1]["prompt"], "List three vegetables.\nShort.");
    for l in &lines {
        assert!(l["answer"].is_string() && l["stop"].is_string(), "{l}");
    }
    assert_eq!(
        batched,
        run("1"),
        "batched answers equal one-at-a-time ones"
    );
    std::fs::write(&file, "{\"input\": \"no instruction\"}\n").unwrap();
    expect_error(
        &[
            "chat",
            "--model",
            path_str(&model),
            "--prompts",
            path_str(&file),
        ],
        &["prompts.txt:1", "instruction"],
    );
}
