//! Continuing a run: where a run that ended before its last step can go on from. Whether the
//! preset as it is now can load that checkpoint is the trainer's rule ([`conflict`]).

use std::path::Path;

use crate::train::checkpoint;
pub use crate::train::checkpoint::{conflict, Conflict};

/// A checkpoint of a run that stopped before its last step: starting again continues there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumePoint {
    /// The checkpoint's step.
    pub step: u64,
    /// The run's planned steps.
    pub total_steps: u64,
}

impl ResumePoint {
    /// The latest checkpoint in `run_dir` when its trainer had not reached the last step.
    /// A checkpoint that cannot be read offers nothing: a new run is the safe choice.
    pub fn find(run_dir: &Path) -> Option<ResumePoint> {
        let (_, dir) = checkpoint::latest(run_dir)?;
        let state = checkpoint::load_state(&dir).ok()?;
        (state.global_step < state.total_steps).then_some(ResumePoint {
            step: state.global_step,
            total_steps: state.total_steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lora::AdapterConfig;
    use crate::preset::{FinetuningType, Preset};
    use crate::train::checkpoint::TrainerState;

    fn state(step: u64, total_steps: u64) -> TrainerState {
        TrainerState {
            global_step: step,
            total_steps,
            epoch: 0.0,
            total_tokens: 0,
            elapsed_s: 0.0,
            initial_eval_loss: None,
            last_eval_loss: None,
            seed: 42,
            ..TrainerState::default()
        }
    }

    /// A LoRA checkpoint at `step` as `preset` would have written it (config only).
    fn lora_checkpoint(run: &Path, step: u64, total: u64, preset: &Preset) {
        let cfg = AdapterConfig::from_preset(preset);
        checkpoint::save(run, &state(step, total), &mut |tmp| {
            std::fs::write(
                tmp.join("adapter_config.json"),
                serde_json::to_string(&cfg).unwrap(),
            )
            .map_err(Into::into)
        })
        .unwrap();
    }

    fn demo_preset() -> Preset {
        Preset::resolve("smollm2-cpu", Path::new(".")).unwrap().0
    }

    #[test]
    fn only_unfinished_runs_with_a_checkpoint_can_go_on() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path();
        assert_eq!(ResumePoint::find(run), None, "no checkpoint yet");
        let preset = demo_preset();
        lora_checkpoint(run, 25, 75, &preset);
        let point = ResumePoint::find(run);
        assert_eq!(
            point,
            Some(ResumePoint {
                step: 25,
                total_steps: 75
            })
        );
        lora_checkpoint(run, 75, 75, &preset);
        assert_eq!(ResumePoint::find(run), None, "finished");
    }

    #[test]
    fn a_changed_rank_target_model_or_method_cannot_load_the_checkpoint() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path();
        let preset = demo_preset();
        assert_eq!(conflict(run, &preset), None, "no checkpoint, no conflict");
        lora_checkpoint(run, 10, 75, &preset);
        assert_eq!(conflict(run, &preset), None);

        // What the trainer can take in its stride: learning rate, alpha, epochs.
        let mut p = preset.clone();
        p.learning_rate *= 2.0;
        p.lora_alpha *= 2;
        p.num_train_epochs += 1.0;
        assert_eq!(conflict(run, &p), None);

        let mut p = preset.clone();
        p.lora_rank *= 2;
        let c = conflict(run, &p).unwrap();
        let (was, now) = (preset.lora_rank.to_string(), p.lora_rank.to_string());
        assert_eq!((c.key, c.was, c.now), ("lora_rank", was, now));

        let mut p = preset.clone();
        p.lora_target = vec!["q_proj".into(), "v_proj".into()];
        let c = conflict(run, &p).unwrap();
        assert_eq!((c.key, c.now.as_str()), ("lora_target", "q_proj, v_proj"));

        let mut p = preset.clone();
        p.model = "models/other".into();
        assert_eq!(conflict(run, &p).unwrap().key, "model");

        let mut p = preset;
        p.finetuning_type = FinetuningType::Full;
        let c = conflict(run, &p).unwrap();
        assert_eq!((c.was.as_str(), c.now.as_str()), ("lora", "full"));
    }
}
