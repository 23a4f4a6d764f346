//! The `feedlab` command line.

fn main() {}
