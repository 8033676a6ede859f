//! Where bundled assets live: `datasets/`, `presets/`, `models/` of the tunedeck checkout.

use std::path::{Path, PathBuf};

/// The tunedeck home: `$TUNEDECK_HOME`, else the checkout this binary was built from, else
/// the current directory.
pub fn home() -> PathBuf {
    if let Some(h) = std::env::var_os("TUNEDECK_HOME") {
        return PathBuf::from(h);
    }
    let built = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if built.join("presets").is_dir() {
        return built;
    }
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// A model path from a preset: absolute as is; relative against `base_dir` when it exists
/// there, else against the tunedeck home (where `just setup` puts the demo model).
pub fn resolve_model(spec: &str, base_dir: &Path) -> PathBuf {
    let p = Path::new(spec);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    let local = base_dir.join(p);
    if local.exists() {
        return local;
    }
    home().join(p)
}

/// The bundled demo experiment opened by a bare `tunedeck`.
pub fn demo_experiment() -> PathBuf {
    home().join("experiments/demo")
}
