//! torch-sys emits no rpath, and cargo overrides LD_LIBRARY_PATH for test binaries, so the
//! binaries record where libtorch lives. LD_LIBRARY_PATH still wins over this RUNPATH, which is
//! how a binary built here runs against another machine's torch.
fn main() {
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
