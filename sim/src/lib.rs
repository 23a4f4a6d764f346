//! feedlab-sim (to be written).
