//! The shipped presets load and validate, and bad preset files fail with messages that name
//! the file and say what to fix.

use std::path::{Path, PathBuf};

use tunedeck::experiment::{self, Experiment};
use tunedeck::preset::{Device, Dtype, Preset, Template};

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("presets")
        .join(format!("{name}.toml"))
}

#[test]
fn starter_is_the_methods_starter() {
    let p = Preset::load(&shipped("starter")).unwrap();
    assert_eq!(p.model, "Qwen/Qwen2.5-7B-Instruct");
    assert_eq!((p.lora_rank, p.lora_alpha), (8, 16));
    assert_eq!(p.learning_rate, 5e-5);
    assert_eq!(p.num_train_epochs, 3.0);
    assert_eq!(p.cutoff_len, 2048);
    assert_eq!(p.effective_batch_size(), 8);
    // Keys a preset leaves out take the starter's values, so the two must agree.
    assert_eq!(p, Preset::default());
    assert!(p.hints().is_empty(), "{:?}", p.hints());
    let text = std::fs::read_to_string(shipped("starter")).unwrap();
    assert!(text.contains("万能起手式"));
}

#[test]
fn cpu_demo_preset_is_small_and_valid() {
    let p = Preset::load(&shipped("smollm2-cpu")).unwrap();
    assert_eq!(p.model, "models/smollm2-135m-instruct");
    assert_eq!(p.template, Template::Chatml);
    assert_eq!(p.target_modules().len(), 7);
    assert_eq!((p.device, p.dtype), (Device::Cpu, Dtype::Float32));
    assert_eq!(p.lora_scale(), 2.0);
    // ~110 demo records split 8:1:1 leave ~88 to train on.
    let steps = p.total_steps(88);
    assert!((30..=120).contains(&steps), "{steps} steps");
    let changed: Vec<String> = p
        .diff(&Preset::default())
        .into_iter()
        .map(|d| d.0)
        .collect();
    for key in [
        "model",
        "lora_rank",
        "learning_rate",
        "cutoff_len",
        "device",
        "dtype",
    ] {
        assert!(
            changed.iter().any(|k| k == key),
            "{key} should differ from the starter"
        );
    }
    assert_eq!(Preset::builtin("smollm2-cpu").unwrap(), p);
}

#[test]
fn unknown_key_names_the_file_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.toml");
    std::fs::write(&path, "model = \"m\"\nlearnin_rate = 1e-4\n").unwrap();
    let e = Preset::load(&path).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "{}:2: unknown field `learnin_rate`",
            path.display()
        )),
        "{e}"
    );
    assert!(e.contains("expected one of `engine`, `model`"), "{e}");
    assert!(
        e.contains("fix the key (did you mean `learning_rate`?)"),
        "{e}"
    );
}

#[test]
fn negative_learning_rate_names_the_file_and_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("y.toml");
    std::fs::write(&path, "learning_rate = -1\n").unwrap();
    let e = Preset::load(&path).unwrap_err().to_string();
    assert!(e.starts_with(&path.display().to_string()), "{e}");
    assert!(
        e.contains("learning_rate = -1 must be > 0 and < 1 (usually 1e-5..5e-4)"),
        "{e}"
    );
}

#[test]
fn set_then_check_reports_against_the_origin() {
    let mut p = Preset::load(&shipped("smollm2-cpu")).unwrap();
    p.set("lora_rank", "0").unwrap();
    let e = p.checked("smollm2-cpu with --set").unwrap_err().to_string();
    assert!(
        e.starts_with("smollm2-cpu with --set: 1 invalid value: fix it:"),
        "{e}"
    );
    assert!(e.contains("lora_rank = 0"), "{e}");
}

#[test]
fn demo_experiment_resolves_the_cpu_preset() {
    let dir = tempfile::tempdir().unwrap();
    let exp = Experiment::init(dir.path(), true, None).unwrap();
    assert!(experiment::passes(&exp.goal));
    let (preset, from) = exp.resolve_preset(dir.path()).unwrap();
    assert_eq!(from, "built-in preset smollm2-cpu");
    assert_eq!(preset, Preset::load(&shipped("smollm2-cpu")).unwrap());
}
