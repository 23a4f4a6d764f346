//! Benchmarks of the workload model (filled in below).
fn main() {}
