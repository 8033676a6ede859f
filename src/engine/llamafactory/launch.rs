//! `launch.sh`: how to start the exported job on one node or many. LLaMA-Factory launches
//! itself through torchrun when `FORCE_TORCHRUN` is set (or more than one GPU is visible),
//! reading the rendezvous from `NNODES`, `NODE_RANK`, `MASTER_ADDR`, `MASTER_PORT` and
//! `NPROC_PER_NODE`; FSDP2 goes through `accelerate launch` instead, whose flags say the same.
//! Every value has a default for node 0 and can be overridden from the environment, so the
//! same file runs on every node (`NODE_RANK=1 MASTER_ADDR=... ./launch.sh`).

use super::sharding::ACCELERATE_FSDP2;
use super::{Sharding, Topology, INSTALL, TRAIN_YAML};
use std::fmt::Write;

/// The launch script for `t`.
pub fn script(t: Topology) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "#!/usr/bin/env bash\n\
# Written by `tunedeck export llamafactory`: {gpus} GPU(s) per node x {nodes} node(s), sharding {sharding}.\n\
# On node 0:            ./launch.sh\n\
# On node k (k >= 1):   NODE_RANK=k MASTER_ADDR=<node 0's address> ./launch.sh\n\
# Needs LLaMA-Factory:  {INSTALL}\n\
set -euo pipefail\n\
cd \"$(dirname \"$0\")\"\n\
if ! command -v llamafactory-cli >/dev/null 2>&1; then\n\
\x20   echo \"llamafactory-cli not found: install LLaMA-Factory with \\`{INSTALL}\\`\" >&2\n\
\x20   exit 127\n\
fi\n\
export NNODES=\"${{NNODES:-{nodes}}}\"\n\
export NODE_RANK=\"${{NODE_RANK:-0}}\"\n\
export MASTER_ADDR=\"${{MASTER_ADDR:-127.0.0.1}}\"\n\
export MASTER_PORT=\"${{MASTER_PORT:-29500}}\"\n\
export NPROC_PER_NODE=\"${{NPROC_PER_NODE:-{gpus}}}\"",
        gpus = t.gpus,
        nodes = t.nodes,
        sharding = t.sharding.name(),
    );
    if t.sharding == Sharding::Fsdp2 {
        let _ = writeln!(
            s,
            "# FSDP2 is configured through accelerate, which starts one process per GPU itself.\n\
exec accelerate launch --config_file {ACCELERATE_FSDP2} \\\n\
\x20   --num_machines \"$NNODES\" --machine_rank \"$NODE_RANK\" \\\n\
\x20   --num_processes \"$((NNODES * NPROC_PER_NODE))\" \\\n\
\x20   --main_process_ip \"$MASTER_ADDR\" --main_process_port \"$MASTER_PORT\" \\\n\
\x20   -m llamafactory.launcher {TRAIN_YAML}"
        );
    } else {
        let force = if t.world_size() > 1 { 1 } else { 0 };
        let _ = writeln!(
            s,
            "# 1 = start through torchrun (needed for DeepSpeed and for more than one process).\n\
export FORCE_TORCHRUN=\"${{FORCE_TORCHRUN:-{force}}}\"\n\
exec llamafactory-cli train {TRAIN_YAML}"
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_nodes_spell_out_the_rendezvous() {
        let t = Topology {
            gpus: 8,
            nodes: 2,
            sharding: Sharding::Zero3,
        };
        let s = script(t);
        for want in [
            "NNODES=\"${NNODES:-2}\"",
            "NPROC_PER_NODE=\"${NPROC_PER_NODE:-8}\"",
            "FORCE_TORCHRUN=\"${FORCE_TORCHRUN:-1}\"",
            "MASTER_PORT",
            "exec llamafactory-cli train train.yaml",
        ] {
            assert!(s.contains(want), "{want} missing from\n{s}");
        }
        let fsdp = script(Topology {
            sharding: Sharding::Fsdp2,
            ..t
        });
        assert!(fsdp.contains("accelerate launch --config_file accelerate_fsdp2.yaml"));
        assert!(script(Topology::default()).contains("FORCE_TORCHRUN:-0"));
    }
}
