//! Pure policies shared by the live service and the simulator.
//!
//! Nothing here does I/O, reads a clock or holds a lock: every function is a
//! deterministic function of its arguments, so the same strategy runs in a
//! live run and in `feedlab sim` at 300M users.
//!
//! - [`partition`]: where a key lives ([`Partitioner`]).
//! - [`fanout`]: who gets a new photo pushed, who pulls it ([`FanoutStrategy`]).
//! - [`rank`]: how feed candidates are ordered ([`Ranker`]).

pub mod fanout;
pub mod partition;
pub mod rank;

pub use fanout::{
    AuthorStats, EdgeMode, FanoutConfig, FanoutKind, FanoutPlan, FanoutStrategy, FollowerStats,
};
pub use partition::{Partitioner, PartitionerConfig, ShardId, ShardKey, ShardingKind};
pub use rank::{Candidate, Ranker};

/// A user's numeric id.
pub type UserId = u64;
