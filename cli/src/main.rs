//! The `daylight` command line.
fn main() {}
