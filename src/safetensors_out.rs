//! A streaming safetensors writer: the header is computed from shapes up front, then tensor
//! data is written one tensor at a time, so peak memory is one tensor, not the model.

use crate::atomic::AtomicFile;
use anyhow::{bail, Context, Result};
use serde_json::{json, Map};
use std::io::Write;
use std::path::Path;

/// The name, safetensors dtype (`"F32"`, `"BF16"`, ...) and shape of one tensor.
pub struct Entry {
    pub name: String,
    pub dtype: &'static str,
    pub shape: Vec<usize>,
}

pub fn dtype_size(dtype: &str) -> usize {
    match dtype {
        "F64" | "I64" => 8,
        "F32" | "I32" => 4,
        "F16" | "BF16" | "I16" => 2,
        _ => 1,
    }
}

pub struct Writer {
    file: AtomicFile,
    sizes: Vec<(String, usize)>,
    next: usize,
}

impl Writer {
    /// Start `path` with a header for `entries`; data must follow in the same order.
    pub fn create(path: &Path, entries: &[Entry]) -> Result<Self> {
        let mut header = Map::new();
        header.insert("__metadata__".into(), json!({"format": "pt"}));
        let mut offset = 0usize;
        let mut sizes = Vec::with_capacity(entries.len());
        for e in entries {
            let size = e.shape.iter().product::<usize>() * dtype_size(e.dtype);
            header.insert(
                e.name.clone(),
                json!({"dtype": e.dtype, "shape": e.shape, "data_offsets": [offset, offset + size]}),
            );
            sizes.push((e.name.clone(), size));
            offset += size;
        }
        let mut text = serde_json::to_string(&header)?;
        // Data must start 8-byte aligned.
        while text.len() % 8 != 0 {
            text.push(' ');
        }
        let mut file = AtomicFile::create(path)?;
        file.write_all(&(text.len() as u64).to_le_bytes())
            .and_then(|_| file.write_all(text.as_bytes()))
            .with_context(|| format!("{}: cannot write", path.display()))?;
        Ok(Self {
            file,
            sizes,
            next: 0,
        })
    }

    /// The data of the next tensor, as little-endian bytes.
    pub fn write_tensor(&mut self, bytes: &[u8]) -> Result<()> {
        let Some((name, size)) = self.sizes.get(self.next) else {
            bail!("more tensors written than declared");
        };
        if bytes.len() != *size {
            bail!(
                "tensor {name}: {} bytes written, {size} declared",
                bytes.len()
            );
        }
        self.file.write_all(bytes)?;
        self.next += 1;
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        if self.next != self.sizes.len() {
            bail!("{} of {} tensors written", self.next, self.sizes.len());
        }
        self.file.commit()
    }
}
