//! What this CPU offers that changes a choice: bfloat16 dot-product units. On such a CPU
//! (Intel AMX, or AVX-512 BF16 as on AMD Zen 4 and Intel Cooper Lake) oneDNN runs bfloat16
//! GEMMs several times faster than float32 ones, so `dtype = "auto"` trains the frozen base in
//! bfloat16 there; elsewhere bfloat16 is emulated and slower than float32.

use std::sync::OnceLock;

/// The bfloat16 unit this CPU reports ("AMX" or "AVX-512 BF16"), if any.
pub fn bf16_units() -> Option<&'static str> {
    static UNITS: OnceLock<Option<&'static str>> = OnceLock::new();
    *UNITS.get_or_init(|| {
        // Linux names the feature flags in /proc/cpuinfo; elsewhere we do not guess.
        let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        bf16_units_in(&info)
    })
}

/// The bfloat16 unit named by the `flags` lines of a `/proc/cpuinfo` text.
pub fn bf16_units_in(cpuinfo: &str) -> Option<&'static str> {
    let flags = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))?
        .split_once(':')?
        .1;
    let has = |name: &str| flags.split_whitespace().any(|f| f == name);
    if has("amx_bf16") {
        Some("AMX")
    } else if has("avx512_bf16") {
        Some("AVX-512 BF16")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_read_from_the_flags_line() {
        let zen4 = "processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 avx512_vnni\n";
        assert_eq!(bf16_units_in(zen4), Some("AVX-512 BF16"));
        let spr = "flags\t\t: avx512_bf16 amx_bf16 amx_tile\n";
        assert_eq!(bf16_units_in(spr), Some("AMX"));
        // A prefix of a flag name is not the flag.
        let old = "flags\t\t: fpu avx2 avx512f avx512_bf16x\n";
        assert_eq!(bf16_units_in(old), None);
        assert_eq!(bf16_units_in(""), None);
    }
}
