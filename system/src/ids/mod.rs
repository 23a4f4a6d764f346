//! Photo-id sources that stay unique when many app servers share one
//! metadata store.
//!
//! Two schemes, chosen by `system.ids`:
//! - [`IdScheme::Node`]: each server stamps a node number into the 4 node
//!   bits of the id's sequence field ([`crate::id::IdGenerator`]). The node
//!   number is leased through the metadata store ([`NodeLease`]), so two
//!   live servers never hold the same one.
//! - [`IdScheme::Ticket`]: the original design notes' ticket servers. N
//!   allocators each own one counter key and hand out every N-th ticket
//!   (odd and even for N = 2) in blocks reserved with `cas`
//!   ([`TicketIds`]); a server draws from the allocators in turn and skips
//!   one that fails, so losing an allocator never stops uploads.
//!
//! Either way the service writes a photo row only if absent and retries a
//! collision with a fresh id; uniqueness here is the first line of defence,
//! not the only one.

pub mod conformance;
pub mod lease;
pub mod ticket;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::{Clock, IdGenerator, PhotoId};

pub use lease::NodeLease;
pub use ticket::TicketIds;

/// Which id scheme a service uses (`system.ids`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum IdScheme {
    /// Node bits in every id; the node number is leased at start-up.
    #[default]
    Node,
    /// Interleaved ticket allocators reserving blocks with `cas`.
    Ticket,
}

impl IdScheme {
    /// The scheme's config spelling.
    pub fn name(self) -> &'static str {
        match self {
            IdScheme::Node => "node",
            IdScheme::Ticket => "ticket",
        }
    }
}

/// A source of photo ids: the seam between the upload path and the id
/// scheme. Every scheme passes [`conformance::test_suite`].
///
/// Contract: ids from one source are distinct; ids from two sources built
/// over the same metadata store (each with its own lease or allocators'
/// blocks) are distinct; the id's logical shard is the requested one
/// (masked to 13 bits). A source that cannot vouch for uniqueness any more
/// (lease lapsed, every allocator down) fails with [`Error::Unavailable`]
/// rather than minting.
#[async_trait]
pub trait IdSource: Send + Sync + 'static {
    /// The scheme this source implements.
    fn scheme(&self) -> IdScheme;

    /// A fresh id in logical shard `shard`.
    async fn next(&self, shard: u16) -> Result<PhotoId>;

    /// Give back what the source holds in the store (a node lease) so a
    /// restart can take it at once. Idempotent.
    async fn close(&self) -> Result<()> {
        Ok(())
    }
}

/// The `node` scheme: an [`IdGenerator`] whose node number is leased.
pub struct NodeIds {
    generator: IdGenerator,
    lease: Option<Arc<NodeLease>>,
}

impl NodeIds {
    /// Ids stamped with the node number `lease` holds; minting fails once
    /// the lease lapses.
    pub fn leased(lease: Arc<NodeLease>, clock: Clock) -> Self {
        NodeIds {
            generator: IdGenerator::for_node(lease.node(), clock),
            lease: Some(lease),
        }
    }

    /// Ids stamped with `generator`'s node number, with no lease: the caller
    /// vouches that no other live source uses that number (single-process
    /// tools, and tests that force two sources to collide).
    pub fn unleased(generator: IdGenerator) -> Self {
        NodeIds {
            generator,
            lease: None,
        }
    }

    /// The node number stamped into the ids.
    pub fn node(&self) -> u16 {
        self.generator.node()
    }
}

#[async_trait]
impl IdSource for NodeIds {
    fn scheme(&self) -> IdScheme {
        IdScheme::Node
    }

    async fn next(&self, shard: u16) -> Result<PhotoId> {
        if let Some(lease) = &self.lease
            && !lease.is_valid()
        {
            return Err(Error::Unavailable(format!(
                "the lease on node id {} lapsed; not minting ids",
                lease.node()
            )));
        }
        Ok(self.generator.next(shard))
    }

    async fn close(&self) -> Result<()> {
        match &self.lease {
            Some(l) => l.release().await,
            None => Ok(()),
        }
    }
}
