//! How a job is sharded across GPUs: DeepSpeed ZeRO stage 2 or 3 (optionally offloading to
//! CPU memory), whose JSON LLaMA-Factory passes to transformers (`deepspeed:` in train.yaml),
//! or PyTorch FSDP2, which comes through an accelerate config at launch.
//!
//! "auto" values let transformers fill batch sizes, clipping and precision from train.yaml,
//! so the preset stays the one source of those numbers.

use super::{File, Topology};
use clap::ValueEnum;
use serde_json::{json, Value};

/// The `--sharding` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Sharding {
    /// Every GPU holds the whole model (data parallel).
    None,
    /// ZeRO-2: optimiser state and gradients sharded.
    Zero2,
    /// ZeRO-3: parameters sharded too.
    Zero3,
    /// ZeRO-3 with parameters and optimiser state in CPU memory.
    Zero3Offload,
    /// PyTorch FSDP2 through accelerate.
    Fsdp2,
}

/// The accelerate config file name for FSDP2.
pub const ACCELERATE_FSDP2: &str = "accelerate_fsdp2.yaml";

impl Sharding {
    /// The name `--sharding` takes.
    pub fn name(self) -> &'static str {
        match self {
            Sharding::None => "none",
            Sharding::Zero2 => "zero2",
            Sharding::Zero3 => "zero3",
            Sharding::Zero3Offload => "zero3_offload",
            Sharding::Fsdp2 => "fsdp2",
        }
    }

    /// The DeepSpeed JSON's file name, for ZeRO choices.
    pub fn deepspeed_file(self) -> Option<&'static str> {
        match self {
            Sharding::Zero2 => Some("ds_z2_config.json"),
            Sharding::Zero3 => Some("ds_z3_config.json"),
            Sharding::Zero3Offload => Some("ds_z3_offload_config.json"),
            Sharding::None | Sharding::Fsdp2 => None,
        }
    }

    /// What each GPU holds of a model with `params` parameters trained with LoRA (frozen
    /// bf16 weights, tiny adapter): the figures README quotes.
    pub fn memory_note(self) -> &'static str {
        match self {
            Sharding::None => "each GPU holds all weights (2 bytes/param in bf16) plus activations",
            Sharding::Zero2 => "weights replicated; gradients and optimiser state split (helps full fine-tuning, little for LoRA)",
            Sharding::Zero3 => "weights, gradients and optimiser state split: about 1/N of the weights per GPU",
            Sharding::Zero3Offload => "as ZeRO-3, but parameters and optimiser state live in CPU RAM: least GPU memory, slowest",
            Sharding::Fsdp2 => "PyTorch-native sharding of weights, gradients and optimiser state (like ZeRO-3)",
        }
    }
}

fn zero(stage: u8, offload: bool) -> Value {
    let mut z = json!({
        "stage": stage,
        "overlap_comm": false,
        "contiguous_gradients": true,
        "reduce_bucket_size": "auto",
    });
    if stage == 2 {
        z["allgather_partitions"] = json!(true);
        z["allgather_bucket_size"] = json!(500_000_000u64);
        z["reduce_scatter"] = json!(true);
        z["round_robin_gradients"] = json!(true);
    } else {
        z["sub_group_size"] = json!(1_000_000_000u64);
        z["stage3_prefetch_bucket_size"] = json!("auto");
        z["stage3_param_persistence_threshold"] = json!("auto");
        z["stage3_max_live_parameters"] = json!(1_000_000_000u64);
        z["stage3_max_reuse_distance"] = json!(1_000_000_000u64);
        // Gathered on save, so the adapter and checkpoints are ordinary files.
        z["stage3_gather_16bit_weights_on_model_save"] = json!(true);
    }
    if offload {
        let cpu = json!({"device": "cpu", "pin_memory": true});
        z["offload_optimizer"] = cpu.clone();
        z["offload_param"] = cpu;
    }
    z
}

fn deepspeed(stage: u8, offload: bool) -> Value {
    json!({
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "zero_allow_untested_optimizer": true,
        "fp16": {
            "enabled": "auto",
            "loss_scale": 0,
            "loss_scale_window": 1000,
            "initial_scale_power": 16,
            "hysteresis": 2,
            "min_loss_scale": 1
        },
        "bf16": {"enabled": "auto"},
        "zero_optimization": zero(stage, offload),
    })
}

/// accelerate's FSDP2 config; machine rank and the main address come from launch.sh's
/// command line, so one file serves every node.
fn fsdp2(t: Topology) -> String {
    format!(
        "# Written by `tunedeck export llamafactory --sharding fsdp2`: PyTorch FSDP2 through accelerate.\n\
compute_environment: LOCAL_MACHINE\n\
debug: false\n\
distributed_type: FSDP\n\
downcast_bf16: 'no'\n\
fsdp_config:\n\
\x20 fsdp_version: 2\n\
\x20 fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP\n\
\x20 fsdp_cpu_ram_efficient_loading: true\n\
\x20 fsdp_offload_params: false\n\
\x20 fsdp_reshard_after_forward: true\n\
\x20 fsdp_state_dict_type: FULL_STATE_DICT\n\
main_training_function: main\n\
mixed_precision: bf16\n\
num_machines: {}\n\
num_processes: {}\n\
rdzv_backend: static\n\
same_network: true\n\
use_cpu: false\n",
        t.nodes,
        t.world_size()
    )
}

/// The sharding file `t` needs, if any.
pub fn files(t: Topology) -> Vec<File> {
    let json = |v: Value| {
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
        s.push('\n');
        s.into_bytes()
    };
    let (name, bytes) = match t.sharding {
        Sharding::None => return Vec::new(),
        Sharding::Zero2 => ("ds_z2_config.json", json(deepspeed(2, false))),
        Sharding::Zero3 => ("ds_z3_config.json", json(deepspeed(3, false))),
        Sharding::Zero3Offload => ("ds_z3_offload_config.json", json(deepspeed(3, true))),
        Sharding::Fsdp2 => (ACCELERATE_FSDP2, fsdp2(t).into_bytes()),
    };
    debug_assert!(t.sharding.deepspeed_file().is_none_or(|f| f == name));
    vec![File {
        name: name.into(),
        bytes,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero3_offload_shards_and_offloads() {
        let t = Topology {
            gpus: 8,
            nodes: 2,
            sharding: Sharding::Zero3Offload,
        };
        let f = &files(t)[0];
        let v: Value = serde_json::from_slice(&f.bytes).unwrap();
        assert_eq!(v["zero_optimization"]["stage"], 3);
        assert_eq!(v["zero_optimization"]["offload_param"]["device"], "cpu");
        let fsdp = files(Topology {
            sharding: Sharding::Fsdp2,
            ..t
        });
        let text = String::from_utf8(fsdp[0].bytes.clone()).unwrap();
        assert!(text.contains("num_processes: 16\n") && text.contains("fsdp_version: 2\n"));
        assert!(files(Topology::default()).is_empty());
    }
}
