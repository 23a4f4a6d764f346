//! Helpers of the fjall store: key and value checks, error and durability
//! mapping.

use fjall::PersistMode;

use super::MAX_KEY_LEN;
use crate::error::{Error, Result};
use crate::meta::{Durability, Op};

pub(super) fn op_key(op: &Op) -> &[u8] {
    let (Op::Put(k, _) | Op::Delete(k)) = op;
    k
}

pub(super) fn persist_mode(d: Durability) -> PersistMode {
    match d {
        Durability::Sync => PersistMode::SyncAll,
        Durability::Buffered => PersistMode::Buffer,
    }
}

pub(super) fn check_key(key: &[u8]) -> Result<()> {
    if key.is_empty() {
        return Err(Error::InvalidInput("empty key".into()));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(Error::InvalidInput(format!(
            "key of {} bytes exceeds the {MAX_KEY_LEN}-byte limit",
            key.len()
        )));
    }
    Ok(())
}

pub(super) fn check_value(value: &[u8]) -> Result<()> {
    if u32::try_from(value.len()).is_err() {
        return Err(Error::InvalidInput(format!(
            "value of {} bytes exceeds the 4 GiB limit",
            value.len()
        )));
    }
    Ok(())
}

pub(super) fn store_err(e: fjall::Error) -> Error {
    Error::Store(format!("fjall: {e}"))
}
