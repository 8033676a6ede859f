//! Generation speed: greedy decoding of exactly N new tokens (no stop token) after a chat
//! prompt, timed after the model is loaded. Prints one JSON line. Used by `just bench-generate`.
//!
//! cargo run --release --example bench_generate -- MODEL_DIR PROMPT N

use std::time::Instant;
use tunedeck::model::generate::{generate, GenerateOptions};
use tunedeck::model::Model;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, prompt, n] = &args[..] else {
        anyhow::bail!("usage: bench_generate MODEL_DIR PROMPT N");
    };
    let n: usize = n.parse()?;
    let model = Model::load(dir.as_ref(), tch::Device::Cpu, "auto", false)?;
    let ids = model
        .tokenizer
        .encode(&model.tokenizer.template.prompt(None, &[], prompt))?;
    let opts = GenerateOptions {
        max_new_tokens: n,
        ..Default::default()
    };
    let start = Instant::now();
    let (out, _) = generate(&model.decoder, &ids, &opts, &mut |_| true);
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({"prompt_tokens": ids.len(), "new_tokens": out.len(), "seconds": secs,
                           "tokens_per_s": out.len() as f64 / secs, "ids": out, "threads": tch::get_num_threads()})
    );
    Ok(())
}
