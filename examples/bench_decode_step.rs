//! Where a batched decoding step's time goes: SmolLM2 (or MODEL) with every row of a
//! [`SlotCache`] holding the same 250-token prompt, one step of B new tokens timed as the
//! decoder layers and then the LM head with its argmax; and the LM head's GEMM alone at 1 to
//! 32 rows. Prints one line per measurement. Used for BENCHMARKS.md's decoding profile.
//!
//! cargo run --release --example bench_decode_step [B ...]   (default: 1 8 16 24 32 48)
//! LORA=16 cargo run ...: the same with a rank-16 adapter on all seven projections, unmerged.

use std::time::Instant;
use tch::{Device, Kind, Tensor};
use tunedeck::model::llama::KvCache;
use tunedeck::model::slots::SlotCache;
use tunedeck::model::Model;

const PROMPT: i64 = 250;
const STEPS: usize = 20;

/// Milliseconds per call of `f`, after one warm-up call.
fn per_call(n: usize, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_secs_f64() * 1e3 / n as f64
}

fn main() -> anyhow::Result<()> {
    let dir = std::env::var("MODEL").unwrap_or_else(|_| "models/smollm2-135m-instruct".into());
    let mut model = Model::load(dir.as_ref(), Device::Cpu, "auto", false)?;
    let mut adapter = None;
    // LORA=r attaches a fresh rank-r adapter to all seven projections (the adapter side).
    if let Ok(r) = std::env::var("LORA") {
        let targets: Vec<String> = tunedeck::preset::TARGET_MODULES.map(String::from).to_vec();
        let config =
            tunedeck::lora::AdapterConfig::new(r.parse()?, 32.0, 0.0, &targets, false, &dir);
        adapter = Some(tunedeck::lora::attach_new(&mut model, config)?);
    }
    let _adapter = adapter;
    let decoder = &model.decoder;
    let _guard = tch::no_grad_guard();
    let sizes: Vec<usize> = match std::env::args().skip(1).map(|a| a.parse()).collect() {
        Ok(v) if !Vec::<usize>::is_empty(&v) => v,
        Ok(_) => vec![1, 8, 16, 24, 32, 48],
        Err(e) => anyhow::bail!("batch sizes: {e}"),
    };
    let ids: Vec<i64> = (0..PROMPT).map(|i| 100 + i * 7).collect();
    let mut prefill = KvCache::new(decoder.layers.len());
    let _ = decoder.hidden(
        &Tensor::from_slice(&ids).unsqueeze(0),
        Some(&mut prefill),
        false,
    );
    for b in sizes {
        let capacity = PROMPT as usize + STEPS + 4;
        let mut cache = SlotCache::new(decoder, b, capacity);
        for _ in 0..b {
            cache.push(&prefill, capacity as i64);
        }
        let next = Tensor::from_slice(&vec![42i64; b]).unsqueeze(1);
        let (mut layers, mut head) = (0.0, 0.0);
        for step in 0..STEPS + 2 {
            let start = Instant::now();
            let hidden = decoder.step(&next, &mut cache);
            let mid = Instant::now();
            decoder
                .logits(&hidden.select(1, 0))
                .argmax(-1, false)
                .int64_value(&[0]);
            if step >= 2 {
                layers += (mid - start).as_secs_f64();
                head += mid.elapsed().as_secs_f64();
            }
        }
        let (layers, head) = (layers * 1e3 / STEPS as f64, head * 1e3 / STEPS as f64);
        println!(
            "B={b:2} at ~{PROMPT} cached positions: layers {layers:.1} ms/step, head + argmax {head:.1} ms/step, {:.2} ms per new token",
            (layers + head) / b as f64
        );
    }
    let embed = &decoder.embed_tokens;
    for m in [1i64, 2, 4, 8, 12, 15, 16, 24, 32] {
        let x =
            Tensor::randn([m, embed.size()[1]], (Kind::Float, Device::Cpu)).to_kind(embed.kind());
        let ms = per_call(10, || {
            let _ = decoder.logits(&x);
        });
        println!("LM head GEMM, {m:2} rows: {ms:.2} ms");
    }
    Ok(())
}
