//! Forgetting control in `tunedeck train`, on the tiny Llama fixture: replay answers are made
//! once, deterministically, and cached; the forgetting probe is logged without ever reading the
//! sealed test; early stopping keeps the best validation checkpoint as the run's adapter.

mod common;

use common::training::*;
use common::*;
use std::path::Path;
use tch::Tensor;

fn weights(dir: &Path) -> Vec<(String, Tensor)> {
    let mut t = Tensor::read_safetensors(dir.join("adapter_model.safetensors")).unwrap();
    t.sort_by(|a, b| a.0.cmp(&b.0));
    t
}

#[test]
fn a_run_whose_validation_loss_rises_stops_and_keeps_its_best_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    // A learning rate far too high for 16 records: the validation loss falls, then climbs.
    let t = Training::new(
        tmp.path(),
        "learning_rate = 0.05\nnum_train_epochs = 40\neval_steps = 4\nsave_steps = 100\nearly_stopping_patience = 2\nlr_scheduler_type = \"constant\"\nwarmup_ratio = 0.0",
    );
    t.train();
    let entries = log(&t.run);
    let evals: Vec<(u64, f64)> = entries
        .iter()
        .filter_map(|e| Some((e["current_steps"].as_u64()?, e["eval_loss"].as_f64()?)))
        .collect();
    let (best_step, best_loss) = evals
        .iter()
        .copied()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    let last = entries.last().unwrap();
    assert_eq!(last["early_stopped"], true, "{last}");
    let total = last["total_steps"].as_u64().unwrap();
    let stopped_at = last["current_steps"].as_u64().unwrap();
    assert!(stopped_at < total, "stopped at {stopped_at} of {total}");
    // Exactly `patience` evaluations after the best, none better.
    let after: Vec<f64> = evals
        .iter()
        .filter(|(s, _)| *s > best_step)
        .map(|e| e.1)
        .collect();
    assert_eq!(after.len(), 2, "{evals:?}");
    assert!(after.iter().all(|&l| l >= best_loss), "{evals:?}");
    assert_eq!(last["best_step"].as_u64(), Some(best_step), "{last}");
    // The adapter is the best checkpoint's, not the last step's.
    let adapter = weights(&t.run.join("adapter"));
    let best = weights(&t.run.join("best"));
    assert_eq!(adapter.len(), best.len());
    for ((na, a), (nb, b)) in adapter.iter().zip(&best) {
        assert_eq!(na, nb);
        assert!(a.equal(b), "{na} differs from best/");
    }
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(t.run.join("best/best.json")).unwrap())
            .unwrap();
    assert_eq!(info["step"].as_u64(), Some(best_step));
    // And it differs from the weights at the stop (the run did go on past the best).
    if best_step != stopped_at {
        let last_ckpt = weights(&t.run.join(format!("checkpoints/checkpoint-{stopped_at}")));
        assert!(adapter
            .iter()
            .zip(&last_ckpt)
            .any(|((_, a), (_, b))| !a.equal(b)));
    }
}

#[test]
fn replay_answers_are_made_once_deterministically_and_the_probe_never_reads_the_test() {
    let tmp = tempfile::tempdir().unwrap();
    let t = Training::new(
        tmp.path(),
        "max_steps = 4\neval_steps = 2\nreplay_ratio = 0.5",
    );
    // No guard set anywhere: the tunedeck home (where the bundled guard lives) is an empty
    // folder, and the experiment has none of its own. Training and its probe cannot need it.
    let empty_home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tunedeck"))
        .args(t.args(&[]))
        .env("TUNEDECK_HOME", empty_home.path())
        .output()
        .unwrap();
    succeeded(&out);
    // The sealed test was never unsealed (unsealing is the only way to read its records).
    assert!(!t.data.join("unsealed.log").exists());
    let cache = t.data.join("replay.jsonl");
    let first = std::fs::read_to_string(&cache).unwrap();
    // 16 probe prompts plus 8 replay prompts (0.5 × 16 training records).
    assert_eq!(first.lines().count(), 24, "{first}");
    let probes: Vec<f64> = log(&t.run)
        .iter()
        .filter_map(|e| e["probe_ppl"].as_f64())
        .collect();
    assert_eq!(probes.len(), 3, "step 0, 2 and 4 each log the probe");
    assert!(
        probes.iter().all(|p| p.is_finite() && *p >= 1.0),
        "{probes:?}"
    );
    // What the probe measures: held-out replay prompts, none of them a test or guard question.
    let (probe, _) =
        tunedeck::train::replay::split_probe(tunedeck::train::replay::bundled_prompts().unwrap());
    let guard = std::fs::read_to_string(root().join("datasets/guard/general.jsonl")).unwrap();
    let test = std::fs::read_to_string(t.data.join("test.jsonl")).unwrap();
    for p in &probe {
        let quoted = serde_json::to_string(&p.instruction).unwrap();
        assert!(
            !guard.contains(&quoted) && !test.contains(&quoted),
            "{quoted}"
        );
    }

    // A second run reuses the cache untouched.
    let modified = std::fs::metadata(&cache).unwrap().modified().unwrap();
    t.train_into(&tmp.path().join("run2"));
    assert_eq!(
        std::fs::metadata(&cache).unwrap().modified().unwrap(),
        modified
    );

    // Made again from nothing, the answers are the same, byte for byte.
    std::fs::remove_file(&cache).unwrap();
    t.train_into(&tmp.path().join("run3"));
    assert_eq!(std::fs::read_to_string(&cache).unwrap(), first);
}

#[test]
fn the_shipped_replay_answers_are_what_the_embedded_model_answers() {
    use tunedeck::data::Example;
    use tunedeck::model::Model;
    use tunedeck::train::replay;
    // The demo preset's template (`template = "chatml"`), as the trainer loads it.
    let model = Model::load(&smollm2(), tch::Device::Cpu, "chatml", false).unwrap();
    let base = replay::fingerprint(&model.dir).unwrap();
    let shipped: Vec<replay::Answered> =
        std::fs::read_to_string(root().join("datasets/replay/answers-smollm2-135m-instruct.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    assert!(
        shipped.iter().all(|a| a.base_model == base),
        "`just setup` imported weights other than the ones that answered (sha256 {base})"
    );
    assert_eq!(shipped.len(), replay::bundled_prompts().unwrap().len());
    // Greedy answers of the model: at every token of a shipped answer (and at its turn end)
    // the model's own top choice is that token (up to float rounding: the answers were made
    // in one batch, this is one full forward pass).
    let tok = &model.tokenizer;
    let mut checked: Vec<&replay::Answered> = shipped.iter().filter(|a| a.ended).collect();
    checked.sort_by_key(|a| a.output.len());
    let (mut tokens, mut top_choices) = (0, 0);
    for a in checked
        .iter()
        .copied()
        .take(6)
        .chain(shipped.iter().filter(|a| !a.ended).take(1))
    {
        let example = Example {
            instruction: a.instruction.clone(),
            input: a.input.clone(),
            ..Example::default()
        };
        let prompt = tok
            .encode(&tok.template.prompt(None, &[], &example.prompt()))
            .unwrap();
        let end = if a.ended { tok.template.turn_end() } else { "" };
        let answer = tok.encode(&format!("{}{end}", a.output)).unwrap();
        let ids: Vec<i64> = prompt
            .iter()
            .chain(&answer)
            .map(|&t| i64::from(t))
            .collect();
        let n = ids.len() as i64;
        let logits = tch::no_grad(|| {
            model
                .decoder
                .forward(&tch::Tensor::from_slice(&ids).view([1, n]), None)
        })
        .squeeze_dim(0)
        .to_kind(tch::Kind::Float);
        for (j, &t) in answer.iter().enumerate() {
            let row = logits.get((prompt.len() + j - 1) as i64);
            let top = row.max().double_value(&[]);
            let got = row.double_value(&[i64::from(t)]);
            assert!(
                top - got < 1e-3,
                "{:?}: token {j} ({:?}) is {:.4} below the model's top choice",
                a.instruction,
                tok.decode(&[t]).unwrap(),
                top - got
            );
            tokens += 1;
            top_choices += usize::from(top == got);
        }
    }
    assert_eq!(top_choices, tokens, "every token is the model's top choice");
}
