//! feedlab-workload (to be written).
