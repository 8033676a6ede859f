//! A streaming GGUF v3 writer: the header (metadata and tensor directory) is written from the
//! tensors' declared names, shapes and types, then the data follows one tensor at a time, so
//! an export holds one tensor in memory, never the model.

use super::{GgmlType, Value};
use crate::atomic::AtomicFile;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Data alignment; llama.cpp's default, so no `general.alignment` key is needed.
pub const ALIGNMENT: usize = 32;

/// A tensor to be written: its GGUF name, `[out, in]` shape (outermost first, as tunedeck
/// holds it) and type.
#[derive(Debug, Clone)]
pub struct TensorDecl {
    pub name: String,
    pub shape: Vec<usize>,
    pub ggml_type: GgmlType,
}

/// A GGUF file being written; it appears at its path only on [`GgufWriter::finish`].
pub struct GgufWriter {
    path: PathBuf,
    file: AtomicFile,
    /// (name, bytes) of each declared tensor, in order.
    sizes: Vec<(String, usize)>,
    next: usize,
}

fn type_id(v: &Value) -> u32 {
    match v {
        Value::U8(_) => 0,
        Value::I8(_) => 1,
        Value::U16(_) => 2,
        Value::I16(_) => 3,
        Value::U32(_) => 4,
        Value::I32(_) => 5,
        Value::F32(_) => 6,
        Value::Bool(_) => 7,
        Value::String(_) => 8,
        Value::Array(_) => 9,
        Value::U64(_) => 10,
        Value::I64(_) => 11,
        Value::F64(_) => 12,
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

/// The bytes of one value, without its type tag.
fn put_value(out: &mut Vec<u8>, key: &str, v: &Value) -> Result<()> {
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.extend(x.to_le_bytes()),
        Value::U16(x) => out.extend(x.to_le_bytes()),
        Value::I16(x) => out.extend(x.to_le_bytes()),
        Value::U32(x) => out.extend(x.to_le_bytes()),
        Value::I32(x) => out.extend(x.to_le_bytes()),
        Value::F32(x) => out.extend(x.to_le_bytes()),
        Value::Bool(x) => out.push(u8::from(*x)),
        Value::String(s) => put_str(out, s),
        Value::U64(x) => out.extend(x.to_le_bytes()),
        Value::I64(x) => out.extend(x.to_le_bytes()),
        Value::F64(x) => out.extend(x.to_le_bytes()),
        Value::Array(items) => {
            // GGUF arrays are homogeneous; an empty one still needs an item type (string is
            // what llama.cpp's writers use for an empty merges list).
            let item_ty = items.first().map_or(8, type_id);
            if items.iter().any(|i| type_id(i) != item_ty) {
                bail!("metadata {key}: array items of mixed types");
            }
            out.extend(item_ty.to_le_bytes());
            out.extend((items.len() as u64).to_le_bytes());
            for i in items {
                put_value(out, key, i)?;
            }
        }
    }
    Ok(())
}

fn padding(len: usize) -> usize {
    len.div_ceil(ALIGNMENT) * ALIGNMENT - len
}

impl GgufWriter {
    /// Writes the header of `path`: `metadata` in the given order, then the directory of
    /// `tensors`, whose data must follow in the same order through [`GgufWriter::write_tensor`].
    pub fn create(
        path: &Path,
        metadata: &[(String, Value)],
        tensors: &[TensorDecl],
    ) -> Result<Self> {
        let mut head = Vec::new();
        head.extend(b"GGUF");
        head.extend(3u32.to_le_bytes());
        head.extend((tensors.len() as u64).to_le_bytes());
        head.extend((metadata.len() as u64).to_le_bytes());
        for (key, value) in metadata {
            put_str(&mut head, key);
            head.extend(type_id(value).to_le_bytes());
            put_value(&mut head, key, value)?;
        }
        let mut offset = 0usize;
        let mut sizes = Vec::with_capacity(tensors.len());
        for t in tensors {
            if t.shape.is_empty() || t.shape.len() > 4 {
                bail!(
                    "tensor {}: {} dimensions (GGUF takes 1 to 4)",
                    t.name,
                    t.shape.len()
                );
            }
            let numel: usize = t.shape.iter().product();
            let inner = *t.shape.last().expect("checked non-empty");
            let size = t
                .ggml_type
                .byte_size(numel)
                .with_context(|| format!("tensor {}", t.name))?;
            // ggml quantises rows: a row must hold whole blocks, not just the tensor.
            t.ggml_type
                .byte_size(inner)
                .with_context(|| format!("tensor {}: rows of {inner} values", t.name))?;
            put_str(&mut head, &t.name);
            head.extend((t.shape.len() as u32).to_le_bytes());
            for d in t.shape.iter().rev() {
                head.extend((*d as u64).to_le_bytes());
            }
            head.extend(t.ggml_type.id().to_le_bytes());
            head.extend((offset as u64).to_le_bytes());
            sizes.push((t.name.clone(), size));
            offset += size + padding(size);
        }
        head.resize(head.len() + padding(head.len()), 0);
        let mut file = AtomicFile::create(path)?;
        file.write_all(&head)
            .with_context(|| format!("{}: cannot write", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            sizes,
            next: 0,
        })
    }

    /// The encoded data of the next tensor.
    pub fn write_tensor(&mut self, bytes: &[u8]) -> Result<()> {
        let Some((name, size)) = self.sizes.get(self.next) else {
            bail!(
                "{}: more tensors written than declared",
                self.path.display()
            );
        };
        if bytes.len() != *size {
            bail!(
                "tensor {name}: {} bytes given, {size} declared",
                bytes.len()
            );
        }
        let pad = [0u8; ALIGNMENT];
        self.file
            .write_all(bytes)
            .and_then(|_| self.file.write_all(&pad[..padding(bytes.len())]))
            .with_context(|| format!("{}: cannot write tensor {name}", self.path.display()))?;
        self.next += 1;
        Ok(())
    }

    /// Checks every tensor was written, then moves the file into place.
    pub fn finish(self) -> Result<()> {
        if self.next != self.sizes.len() {
            bail!(
                "{}: {} of {} tensors written",
                self.path.display(),
                self.next,
                self.sizes.len()
            );
        }
        self.file.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::GgufFile;

    #[test]
    fn what_is_written_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.gguf");
        let meta = vec![
            (
                "general.architecture".to_string(),
                Value::String("llama".into()),
            ),
            ("llama.block_count".to_string(), Value::U32(2)),
            ("tokenizer.ggml.merges".to_string(), Value::Array(vec![])),
            (
                "tokenizer.ggml.scores".to_string(),
                Value::Array(vec![Value::F32(0.5), Value::F32(-1.0)]),
            ),
        ];
        let tensors = vec![
            TensorDecl {
                name: "a".into(),
                shape: vec![3],
                ggml_type: GgmlType::F32,
            },
            TensorDecl {
                name: "b".into(),
                shape: vec![2, 32],
                ggml_type: GgmlType::F16,
            },
        ];
        let mut w = GgufWriter::create(&path, &meta, &tensors).unwrap();
        w.write_tensor(
            &[1.0f32, 2.0, 3.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let b: Vec<u8> = (0..64)
            .flat_map(|i| half::f16::from_f32(i as f32).to_le_bytes())
            .collect();
        w.write_tensor(&b).unwrap();
        w.finish().unwrap();
        let g = GgufFile::open(&path).unwrap();
        assert_eq!(g.version, 3);
        assert_eq!(g.require_u64("llama.block_count").unwrap(), 2);
        assert_eq!(g.get("tokenizer.ggml.merges"), Some(&Value::Array(vec![])));
        assert_eq!(g.tensors[1].shape, vec![2, 32]);
        assert_eq!(g.dequantize(&g.tensors[0]).unwrap(), vec![1.0, 2.0, 3.0]);
        assert_eq!(g.dequantize(&g.tensors[1]).unwrap()[63], 63.0);
        assert_eq!(g.tensors[1].offset % ALIGNMENT, 0);
    }

    #[test]
    fn an_unfinished_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.gguf");
        let tensors = vec![TensorDecl {
            name: "a".into(),
            shape: vec![1],
            ggml_type: GgmlType::F32,
        }];
        let w = GgufWriter::create(&path, &[], &tensors).unwrap();
        assert!(w.finish().is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // Rows of 40 values cannot be cut into Q8_0 blocks of 32.
        let bad = vec![TensorDecl {
            name: "q".into(),
            shape: vec![2, 40],
            ggml_type: GgmlType::Q8_0,
        }];
        assert!(GgufWriter::create(&path, &[], &bad).is_err());
    }
}
