//! Whole-state snapshots: one canonical encoding of every record, for checkpoints and late
//! joiners. Restoring one reproduces the same root.
//!
//! Layout (big-endian): magic `Z3RECS`, version 1, next entity id `u64`, table count `u16`, then
//! per table in ascending id order: table `u16`, record count `u32`, records `(entity u64, value)`
//! in ascending entity order.

use crate::EntityId;
use crate::column::Column;
use crate::world::{Alive, Component, EcsError, World};
use commonware_codec::{Copying, Error as CodecError};

const MAGIC: &[u8; 6] = b"Z3RECS";
/// Highest entity counter a snapshot may carry. Columns index pages by entity id, so the counter
/// bounds what a restore allocates (2^32 ids: a page directory of at most 128 MiB per column).
pub const MAX_ENTITY_COUNTER: u64 = 1 << 32;
const VERSION: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a Z3R0 ECS snapshot")]
    BadMagic,
    #[error("snapshot version {0} is not supported (expected {VERSION})")]
    Version(u8),
    #[error("snapshot ends early")]
    Truncated,
    #[error("snapshot has {found} tables, this world registers {expected}")]
    TableCount { found: usize, expected: usize },
    #[error("snapshot table {found} where table {expected} was expected")]
    UnexpectedTable { found: u16, expected: u16 },
    #[error("table {table}: {count} records cannot fit in the remaining bytes")]
    AbsurdCount { table: u16, count: u32 },
    #[error("table {table}: entity {entity} is out of order")]
    EntityOrder { table: u16, entity: EntityId },
    #[error("table {table}: entity {entity} is not below the entity counter")]
    EntityBeyondCounter { table: u16, entity: EntityId },
    #[error("table {table}: entity {entity} is not alive")]
    DeadEntity { table: u16, entity: EntityId },
    #[error("table {table}: entity {entity}: bad value: {reason}")]
    Value {
        table: u16,
        entity: EntityId,
        reason: String,
    },
    #[error("entity counter {0} exceeds the limit of {MAX_ENTITY_COUNTER}")]
    CounterTooLarge(u64),
    #[error("{0} bytes after the last table")]
    TrailingBytes(usize),
}

fn take<const N: usize>(buf: &mut &[u8]) -> Result<[u8; N], SnapshotError> {
    let (head, rest) = buf
        .split_first_chunk::<N>()
        .ok_or(SnapshotError::Truncated)?;
    *buf = rest;
    Ok(*head)
}

pub(crate) fn read_records<C: Component>(
    column: &mut Column<C>,
    table: u16,
    buf: &mut &[u8],
    alive: Option<&Column<Alive>>,
    next_entity: u64,
) -> Result<(), SnapshotError> {
    let count = u32::from_be_bytes(take(buf)?);
    // Every record holds at least its 8-byte entity id: refuse counts the input cannot back.
    if count as usize > buf.len() / 8 {
        return Err(SnapshotError::AbsurdCount { table, count });
    }
    let mut previous: Option<EntityId> = None;
    for _ in 0..count {
        let entity = EntityId(u64::from_be_bytes(take(buf)?));
        if previous.is_some_and(|p| p >= entity) {
            return Err(SnapshotError::EntityOrder { table, entity });
        }
        previous = Some(entity);
        if entity.0 >= next_entity {
            return Err(SnapshotError::EntityBeyondCounter { table, entity });
        }
        if let Some(alive) = alive
            && !alive.contains(entity)
        {
            return Err(SnapshotError::DeadEntity { table, entity });
        }
        let mut cursor = Copying(buf);
        let value =
            C::read_cfg(&mut cursor, &()).map_err(|e: CodecError| SnapshotError::Value {
                table,
                entity,
                reason: e.to_string(),
            })?;
        *buf = cursor.0;
        column.insert(entity, value);
    }
    Ok(())
}

impl<R: 'static> World<R> {
    /// Appends the canonical snapshot of the committed state to `out`.
    pub fn snapshot(&self, out: &mut Vec<u8>) -> Result<(), EcsError> {
        if self.has_changes() {
            return Err(EcsError::Uncommitted);
        }
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&self.next_entity_raw().to_be_bytes());
        out.extend_from_slice(&(self.columns.len() as u16).to_be_bytes());
        for c in &self.columns {
            c.write_records(out);
        }
        Ok(())
    }

    /// Replaces the whole state with a snapshot's and returns the restored root. The world must
    /// register the same components (hooks are kept). On error nothing changes.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<crate::Hash, SnapshotError> {
        let mut buf = bytes;
        if take::<6>(&mut buf)? != *MAGIC {
            return Err(SnapshotError::BadMagic);
        }
        let version = take::<1>(&mut buf)?[0];
        if version != VERSION {
            return Err(SnapshotError::Version(version));
        }
        let next_entity = u64::from_be_bytes(take(&mut buf)?);
        if next_entity > MAX_ENTITY_COUNTER {
            return Err(SnapshotError::CounterTooLarge(next_entity));
        }
        let tables = usize::from(u16::from_be_bytes(take(&mut buf)?));
        if tables != self.columns.len() {
            return Err(SnapshotError::TableCount {
                found: tables,
                expected: self.columns.len(),
            });
        }
        let mut fresh: Vec<_> = self.columns.iter().map(|c| c.fresh()).collect();
        for i in 0..fresh.len() {
            let (done, rest) = fresh.split_at_mut(i);
            let Some(column) = rest.first_mut() else {
                break;
            };
            let found = u16::from_be_bytes(take(&mut buf)?);
            if found != column.table() {
                return Err(SnapshotError::UnexpectedTable {
                    found,
                    expected: column.table(),
                });
            }
            // Table 0 (Alive) comes first; every later table's entities must be alive in it.
            let alive = done
                .first()
                .and_then(|c| {
                    c.as_any()
                        .downcast_ref::<crate::world::Registered<Alive, R>>()
                })
                .map(|r| &r.column);
            column.read_records(&mut buf, alive, next_entity)?;
        }
        if !buf.is_empty() {
            return Err(SnapshotError::TrailingBytes(buf.len()));
        }
        Ok(self.set_restored(next_entity, fresh))
    }
}
