//! A memory-mapped safetensors reader: tensors are read one at a time, by name, so an export
//! never holds the whole base model (the inverse of [`crate::safetensors_out`]).

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where one tensor lies in its file.
#[derive(Debug, Clone)]
pub struct Slot {
    /// Index into the reader's files.
    file: usize,
    pub dtype: String,
    pub shape: Vec<usize>,
    start: usize,
    end: usize,
}

/// The safetensors files of a model directory, mapped.
pub struct SafeTensors {
    files: Vec<(PathBuf, memmap2::Mmap)>,
    /// Every tensor by name.
    pub slots: BTreeMap<String, Slot>,
}

impl SafeTensors {
    /// Maps `paths` and reads their headers.
    pub fn open(paths: &[PathBuf]) -> Result<Self> {
        let mut files = Vec::new();
        let mut slots = BTreeMap::new();
        for (i, path) in paths.iter().enumerate() {
            let file = std::fs::File::open(path)
                .with_context(|| format!("{}: cannot open", path.display()))?;
            // SAFETY: read-only map of a file nobody should truncate while we read it.
            let map = unsafe { memmap2::Mmap::map(&file) }
                .with_context(|| format!("{}: cannot map into memory", path.display()))?;
            for (name, slot) in header(&map, i).with_context(|| format!("{}", path.display()))? {
                slots.insert(name, slot);
            }
            files.push((path.clone(), map));
        }
        Ok(Self { files, slots })
    }

    /// The raw little-endian bytes of a tensor.
    pub fn bytes(&self, slot: &Slot) -> &[u8] {
        &self.files[slot.file].1[slot.start..slot.end]
    }

    /// The file a tensor is in, for error messages.
    pub fn path(&self, slot: &Slot) -> &Path {
        &self.files[slot.file].0
    }
}

fn header(map: &[u8], file: usize) -> Result<Vec<(String, Slot)>> {
    let len = map
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
        .context("not a safetensors file: shorter than its 8-byte header length")?;
    let json = map
        .get(8..8usize.saturating_add(len))
        .context("not a safetensors file: the header runs past the end")?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(json).context("not a safetensors file: the header is not JSON")?;
    let base = 8 + len;
    let mut out = Vec::new();
    for (name, info) in header {
        if name == "__metadata__" {
            continue;
        }
        let dtype = info["dtype"].as_str().unwrap_or("").to_string();
        let shape: Vec<usize> = info["shape"]
            .as_array()
            .with_context(|| format!("tensor {name}: no shape"))?
            .iter()
            .map(|d| d.as_u64().map(|d| d as usize))
            .collect::<Option<_>>()
            .with_context(|| format!("tensor {name}: shape is not a list of sizes"))?;
        let offsets = info["data_offsets"].as_array();
        let (Some(start), Some(end)) = (
            offsets.and_then(|o| o.first()).and_then(|v| v.as_u64()),
            offsets.and_then(|o| o.get(1)).and_then(|v| v.as_u64()),
        ) else {
            bail!("tensor {name}: no data_offsets");
        };
        let (start, end) = (base + start as usize, base + end as usize);
        let want = shape.iter().product::<usize>() * crate::safetensors_out::dtype_size(&dtype);
        if end < start || end > map.len() || end - start != want {
            bail!("tensor {name}: data_offsets do not match its {dtype} shape {shape:?} or the file size");
        }
        out.push((
            name,
            Slot {
                file,
                dtype,
                shape,
                start,
                end,
            },
        ));
    }
    Ok(out)
}
