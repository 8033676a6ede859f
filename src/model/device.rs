//! Device choice. rustc links with `--as-needed`, so libtorch's CUDA library is never loaded
//! unless we load it ourselves before asking for a CUDA device.

use anyhow::{bail, Result};
use std::sync::Once;
use tch::{Device, Kind};

static LOAD_CUDA: Once = Once::new();

fn load_cuda() {
    LOAD_CUDA.call_once(|| {
        // Failure only means there is no CUDA build of libtorch here: we run on the CPU.
        // SAFETY: dlopen with a constant, NUL-terminated name; the handle is kept for the
        // process lifetime on purpose.
        unsafe {
            libc::dlopen(
                c"libtorch_cuda.so".as_ptr(),
                libc::RTLD_NOW | libc::RTLD_GLOBAL,
            );
        }
    });
}

/// `auto` picks CUDA when a GPU is usable, else the CPU.
pub fn pick(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "auto" => {
            load_cuda();
            Ok(if tch::Cuda::is_available() {
                Device::Cuda(0)
            } else {
                Device::Cpu
            })
        }
        "cuda" => {
            load_cuda();
            if !tch::Cuda::is_available() {
                bail!("device cuda was asked for but no CUDA GPU is usable here; use device = \"cpu\" or \"auto\"");
            }
            Ok(Device::Cuda(0))
        }
        other => bail!("unknown device {other:?} (use auto, cpu or cuda)"),
    }
}

/// float32 on the CPU, bfloat16 on a GPU.
pub fn default_kind(device: Device) -> Kind {
    if device.is_cuda() {
        Kind::BFloat16
    } else {
        Kind::Float
    }
}

pub fn describe(device: Device) -> String {
    match device {
        Device::Cuda(i) => format!("cuda:{i}"),
        _ => format!("cpu ({} threads)", tch::get_num_threads()),
    }
}
