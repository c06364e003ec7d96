//! The UI is embedded from `ui/dist` by `include_dir!`, which cargo does not track: rebuild this
//! crate when a new UI build lands there.
fn main() {
    println!("cargo:rerun-if-changed=../ui/dist");
}
