//! GGUF files: the header, metadata, tensor directory and (de)quantised tensor data; read,
//! imported to Hugging Face layout, and written back ([`write`]).
//!
//! Layout (v2/v3): magic `GGUF`, version, tensor count, metadata count, metadata key/values,
//! tensor infos, then tensor data aligned to `general.alignment` (default 32).

mod dequant;
mod import;
pub mod layout;
pub mod metadata;
pub mod quantize;
mod tokenizer;
pub mod write;

pub use dequant::GgmlType;
pub use import::{import, ImportOptions, OutDtype};

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
}

impl Value {
    /// Any integer type as u64 (GGUF writers differ in which width they pick).
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// One entry of the tensor directory.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    pub name: String,
    /// Dimensions outermost-first (`[out, in]`), i.e. GGUF's order reversed.
    pub shape: Vec<usize>,
    pub ggml_type: GgmlType,
    /// Offset of the data from the start of the file.
    pub offset: usize,
}

impl TensorInfo {
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A memory-mapped GGUF file.
pub struct GgufFile {
    pub path: PathBuf,
    pub version: u32,
    pub metadata: BTreeMap<String, Value>,
    pub tensors: Vec<TensorInfo>,
    map: memmap2::Mmap,
}

impl GgufFile {
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path)
            .with_context(|| format!("{}: cannot open", path.display()))?;
        // SAFETY: the file is opened read-only; like every mmap reader we rely on nobody
        // truncating it while we read.
        let map = unsafe { memmap2::Mmap::map(&file) }
            .with_context(|| format!("{}: cannot map into memory", path.display()))?;
        Self::parse(path, map).with_context(|| format!("{}", path.display()))
    }

    fn parse(path: &Path, map: memmap2::Mmap) -> Result<Self> {
        let mut r = Reader { buf: &map, pos: 0 };
        let magic = r.bytes(4, "magic")?;
        if magic != b"GGUF" {
            bail!(
                "not a GGUF file (magic {:?}, expected \"GGUF\")",
                String::from_utf8_lossy(magic)
            );
        }
        let version = r.u32("version")?;
        if !(2..=3).contains(&version) {
            bail!("GGUF version {version} is not supported (only 2 and 3)");
        }
        let n_tensors = r.u64("tensor count")?;
        let n_kv = r.u64("metadata count")?;
        let mut metadata = BTreeMap::new();
        for i in 0..n_kv {
            let key = r.string(&format!("metadata key #{i}"))?;
            let value = r.value(&key, 0)?;
            metadata.insert(key, value);
        }
        let mut infos = Vec::new();
        for i in 0..n_tensors {
            let name = r.string(&format!("tensor name #{i}"))?;
            let n_dims = r.u32(&name)? as usize;
            if n_dims > 4 {
                bail!("tensor {name}: {n_dims} dimensions (at most 4 allowed)");
            }
            let mut dims = Vec::with_capacity(n_dims);
            for _ in 0..n_dims {
                dims.push(r.u64(&name)? as usize);
            }
            dims.reverse();
            let raw_type = r.u32(&name)?;
            let ggml_type =
                GgmlType::from_u32(raw_type).with_context(|| format!("tensor {name}"))?;
            let offset = r.u64(&name)? as usize;
            infos.push((name, dims, ggml_type, offset));
        }
        let alignment = metadata
            .get("general.alignment")
            .and_then(Value::as_u64)
            .unwrap_or(32) as usize;
        if alignment == 0 || !alignment.is_power_of_two() {
            bail!("general.alignment = {alignment} is not a power of two");
        }
        let data_start = r.pos.div_ceil(alignment) * alignment;
        let mut tensors = Vec::with_capacity(infos.len());
        for (name, shape, ggml_type, rel) in infos {
            let numel: usize = shape.iter().product();
            let size = ggml_type
                .byte_size(numel)
                .with_context(|| format!("tensor {name}"))?;
            let offset = data_start
                .checked_add(rel)
                .context("tensor offset overflows")?;
            if offset.checked_add(size).is_none_or(|end| end > map.len()) {
                bail!(
                    "file is truncated: tensor {name} needs bytes {offset}..{} but the file has {}",
                    offset + size,
                    map.len()
                );
            }
            tensors.push(TensorInfo {
                name,
                shape,
                ggml_type,
                offset,
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            version,
            metadata,
            tensors,
            map,
        })
    }

    /// The raw bytes of a tensor (bounds were checked when the file was opened).
    pub fn raw(&self, t: &TensorInfo) -> &[u8] {
        let size = t.ggml_type.byte_size(t.numel()).unwrap_or(0);
        &self.map[t.offset..t.offset + size]
    }

    /// A tensor's values as f32, in row-major `[out, in]` order.
    pub fn dequantize(&self, t: &TensorInfo) -> Result<Vec<f32>> {
        t.ggml_type
            .dequantize(self.raw(t), t.numel())
            .with_context(|| format!("tensor {}", t.name))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    /// A required metadata value, with an error naming the key when it is absent.
    pub fn require(&self, key: &str) -> Result<&Value> {
        self.get(key)
            .with_context(|| format!("metadata key {key} is missing"))
    }

    pub fn require_u64(&self, key: &str) -> Result<u64> {
        self.require(key)?
            .as_u64()
            .with_context(|| format!("metadata key {key} is not an integer"))
    }

    pub fn require_str(&self, key: &str) -> Result<&str> {
        self.require(key)?
            .as_str()
            .with_context(|| format!("metadata key {key} is not a string"))
    }
}

/// A bounds-checked little-endian cursor: every read names what it was reading, so a
/// truncated file says where it ends.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            bail!(
                "file is truncated: reading {what} needs {n} bytes at offset {} but the file has {}",
                self.pos,
                self.buf.len()
            );
        };
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N, what)?);
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let len = self.u64(what)? as usize;
        let bytes = self.bytes(len, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| {
            anyhow::anyhow!("{what}: string at offset {} is not UTF-8", self.pos - len)
        })
    }

    fn value(&mut self, key: &str, depth: usize) -> Result<Value> {
        let ty = self.u32(key)?;
        self.typed_value(ty, key, depth)
    }

    fn typed_value(&mut self, ty: u32, key: &str, depth: usize) -> Result<Value> {
        Ok(match ty {
            0 => Value::U8(self.array::<1>(key)?[0]),
            1 => Value::I8(self.array::<1>(key)?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.array(key)?)),
            3 => Value::I16(i16::from_le_bytes(self.array(key)?)),
            4 => Value::U32(self.u32(key)?),
            5 => Value::I32(i32::from_le_bytes(self.array(key)?)),
            6 => Value::F32(f32::from_le_bytes(self.array(key)?)),
            7 => Value::Bool(self.array::<1>(key)?[0] != 0),
            8 => Value::String(self.string(key)?),
            9 => {
                if depth > 2 {
                    bail!("metadata {key}: arrays nested too deeply");
                }
                let item_ty = self.u32(key)?;
                let n = self.u64(key)? as usize;
                // Each item takes at least one byte: a larger count means a corrupt file, and
                // checking first avoids a huge allocation.
                if n > self.buf.len() - self.pos {
                    bail!("file is truncated: metadata {key} claims {n} array items");
                }
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.typed_value(item_ty, key, depth + 1)?);
                }
                Value::Array(items)
            }
            10 => Value::U64(self.u64(key)?),
            11 => Value::I64(i64::from_le_bytes(self.array(key)?)),
            12 => Value::F64(f64::from_le_bytes(self.array(key)?)),
            other => bail!("metadata {key}: unknown value type {other}"),
        })
    }
}
