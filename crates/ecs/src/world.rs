//! The world: entities, registered component columns, hooks, and the state commitment.

use crate::EntityId;
use crate::column::{Column, Mut, last_removed};
use crate::snapshot::SnapshotError;
use commonware_codec::{EncodeSize, Error as CodecError, Read, Write};
use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use z3r0_voxel::{AbsenceProof, Hash, MerkleProof, ProofError, SparseMerkleTree};

/// A component: a canonical, comparable value stored in its own table. `Default` fills the
/// unoccupied slots of a column page (it is never committed).
///
/// `TABLE` is part of every record's key in the state commitment: never renumber a table or
/// reuse a retired number. Tables 0 ([`Alive`]) and [`META_TABLE`] are reserved.
pub trait Component:
    Clone + Eq + Default + Write + EncodeSize + Read<Cfg = ()> + Send + 'static
{
    const TABLE: u16;
    const NAME: &'static str;
}

/// Marks a live entity (table 0): spawning inserts it, despawning removes it, so hooks on
/// `Alive` observe spawns and despawns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Alive;

impl Write for Alive {
    fn write(&self, _: &mut impl bytes::BufMut) {}
}
impl EncodeSize for Alive {
    fn encode_size(&self) -> usize {
        0
    }
}
impl Read for Alive {
    type Cfg = ();
    fn read_cfg(_: &mut impl commonware_codec::Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Alive)
    }
}
impl Component for Alive {
    const TABLE: u16 = 0;
    const NAME: &'static str = "alive";
}

/// Table of the world's own records (the entity counter, under entity 0).
pub const META_TABLE: u16 = u16::MAX;

/// What a commit found for one record, as passed to hooks.
#[derive(Debug, PartialEq, Eq)]
pub enum Change<'a, C> {
    Inserted(&'a C),
    /// The committed value differs from the previous commit's.
    Changed(&'a C),
    /// The record is gone; the value is the last one it had.
    Removed(&'a C),
}

impl<C> Clone for Change<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C> Copy for Change<'_, C> {}

/// Called at commit for every record of the component that was inserted, changed or removed
/// since the previous commit, in entity-id order; pushes receipts.
pub type Hook<C, R> = fn(EntityId, Change<'_, C>, &mut Vec<R>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EcsError {
    #[error("component {0} is not registered")]
    Unregistered(&'static str),
    #[error("component {name} is already registered")]
    AlreadyRegistered { name: &'static str },
    #[error("table {table} of {name} is already used by {other}")]
    TableTaken {
        table: u16,
        name: &'static str,
        other: &'static str,
    },
    #[error("table {table} of {name} is reserved")]
    ReservedTable { table: u16, name: &'static str },
    #[error("entity {0} is not alive")]
    NotAlive(EntityId),
    #[error("the same component {0} was asked for twice")]
    SameColumn(&'static str),
    #[error("the world has uncommitted changes")]
    Uncommitted,
    #[error("entity {0} is not the latest spawn still standing")]
    NotLatestSpawn(EntityId),
    #[error("no component is registered at table {0}")]
    NoSuchTable(u16),
    #[error("table {table}: the bytes are not one {name}: {reason}")]
    Undecodable {
        table: u16,
        name: &'static str,
        reason: String,
    },
}

/// A spawn that can be taken back ([`World::unspawn`]): the entity, and where its id came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spawn {
    pub entity: EntityId,
    /// A new id (the counter moved), not a reused one.
    fresh: bool,
}

/// Key of a record in the state tree.
pub fn record_key(table: u16, entity: EntityId) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(b"z3r0/ecs/record");
    h.update(&table.to_be_bytes());
    h.update(&entity.0.to_be_bytes());
    *h.finalize().as_bytes()
}

/// Hash of a record's canonical value encoding.
pub fn value_hash(encoded: &[u8]) -> Hash {
    *blake3::hash(encoded).as_bytes()
}

/// The zone's state root: the ECS records root and the voxel chunk root, under one hash.
pub fn state_root(records_root: &Hash, chunk_root: &Hash) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(b"z3r0/state");
    h.update(records_root);
    h.update(chunk_root);
    *h.finalize().as_bytes()
}

/// Checks a [`World::prove`] proof that `entity` has `value` in table `C` under `records_root`.
pub fn verify_record<C: Component>(
    proof: &MerkleProof,
    records_root: &Hash,
    entity: EntityId,
    value: &C,
) -> Result<(), ProofError> {
    let mut buf = Vec::with_capacity(value.encode_size());
    value.write(&mut buf);
    proof.verify(
        records_root,
        &record_key(C::TABLE, entity),
        &value_hash(&buf),
    )
}

/// Checks a [`World::prove_absent`] proof that `entity` has no `C` under `records_root`.
pub fn verify_absent_record<C: Component>(
    proof: &AbsenceProof,
    records_root: &Hash,
    entity: EntityId,
) -> Result<(), ProofError> {
    proof.verify(records_root, &record_key(C::TABLE, entity))
}

/// Type-erased column operations the world needs without knowing the component type.
pub(crate) trait ErasedColumn<R>: Any + Send {
    fn table(&self) -> u16;
    fn name(&self) -> &'static str;
    fn len(&self) -> usize;
    fn remove_entity(&mut self, e: EntityId);
    /// Appends `e`'s value's canonical bytes to `out`; `false` if it has none.
    fn encode_value(&self, e: EntityId, out: &mut Vec<u8>) -> bool;
    /// Decodes `bytes` whole as one value and sets it as `e`'s.
    fn insert_encoded(&mut self, e: EntityId, bytes: &[u8]) -> Result<(), EcsError>;
    fn has_changes(&self) -> bool;
    fn commit(&mut self, tree: &mut SparseMerkleTree, scratch: &mut Vec<u8>, receipts: &mut Vec<R>);
    /// Every record into `tree` (after a restore), without hooks.
    fn insert_all(&mut self, tree: &mut SparseMerkleTree, scratch: &mut Vec<u8>);
    fn write_records(&self, out: &mut Vec<u8>);
    fn read_records(
        &mut self,
        buf: &mut &[u8],
        alive: Option<&Column<Alive>>,
        next_entity: u64,
    ) -> Result<(), SnapshotError>;
    /// An empty column of the same component with the same hooks.
    fn fresh(&self) -> Box<dyn ErasedColumn<R>>;
    /// A copy of this column, values, pending changes and hooks.
    fn boxed_clone(&self) -> Box<dyn ErasedColumn<R>>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

pub(crate) struct Registered<C, R> {
    pub(crate) column: Column<C>,
    hooks: Vec<Hook<C, R>>,
}

impl<C: Component, R: 'static> ErasedColumn<R> for Registered<C, R> {
    fn table(&self) -> u16 {
        C::TABLE
    }
    fn name(&self) -> &'static str {
        C::NAME
    }
    fn len(&self) -> usize {
        self.column.len()
    }
    fn remove_entity(&mut self, e: EntityId) {
        self.column.remove(e);
    }
    fn encode_value(&self, e: EntityId, out: &mut Vec<u8>) -> bool {
        let Some(value) = self.column.get(e) else {
            return false;
        };
        value.write(out);
        true
    }
    fn insert_encoded(&mut self, e: EntityId, bytes: &[u8]) -> Result<(), EcsError> {
        let undecodable = |reason: String| EcsError::Undecodable {
            table: C::TABLE,
            name: C::NAME,
            reason,
        };
        let mut cursor = commonware_codec::Copying(bytes);
        let value = C::read_cfg(&mut cursor, &()).map_err(|e| undecodable(e.to_string()))?;
        if !cursor.0.is_empty() {
            return Err(undecodable(format!("{} bytes left over", cursor.0.len())));
        }
        self.column.insert(e, value);
        Ok(())
    }
    fn has_changes(&self) -> bool {
        self.column.has_changes()
    }
    fn commit(
        &mut self,
        tree: &mut SparseMerkleTree,
        scratch: &mut Vec<u8>,
        receipts: &mut Vec<R>,
    ) {
        let hooks = &self.hooks;
        self.column.drain_touched(|e, value, removed| {
            let key = record_key(C::TABLE, e);
            let change = match value {
                Some(v) => {
                    scratch.clear();
                    v.write(scratch);
                    // One walk down the tree: set, and learn what was there.
                    let hash = value_hash(scratch);
                    match tree.insert(key, hash) {
                        Some(old) if old == hash => return,
                        Some(_) => Change::Changed(v),
                        None => Change::Inserted(v),
                    }
                }
                None => {
                    if !tree.remove(&key) {
                        return; // inserted and removed within one commit: never existed
                    }
                    match last_removed(removed, e) {
                        Some(v) => Change::Removed(v),
                        None => return,
                    }
                }
            };
            for hook in hooks {
                hook(e, change, receipts);
            }
        });
    }
    fn insert_all(&mut self, tree: &mut SparseMerkleTree, scratch: &mut Vec<u8>) {
        for (e, v) in self.column.iter() {
            scratch.clear();
            v.write(scratch);
            tree.insert(record_key(C::TABLE, e), value_hash(scratch));
        }
        self.column.forget_changes();
    }
    fn write_records(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&C::TABLE.to_be_bytes());
        out.extend_from_slice(&(self.column.len() as u32).to_be_bytes());
        for (e, v) in self.column.iter() {
            out.extend_from_slice(&e.0.to_be_bytes());
            v.write(out);
        }
    }
    fn read_records(
        &mut self,
        buf: &mut &[u8],
        alive: Option<&Column<Alive>>,
        next_entity: u64,
    ) -> Result<(), SnapshotError> {
        crate::snapshot::read_records(&mut self.column, C::TABLE, buf, alive, next_entity)
    }
    fn fresh(&self) -> Box<dyn ErasedColumn<R>> {
        Box::new(Registered::<C, R> {
            column: Column::default(),
            hooks: self.hooks.clone(),
        })
    }
    fn boxed_clone(&self) -> Box<dyn ErasedColumn<R>> {
        Box::new(Registered::<C, R> {
            column: self.column.clone(),
            hooks: self.hooks.clone(),
        })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Ids free for reuse, as disjoint ranges `start..end` keyed by start: as small as the number of
/// gaps between live ids, whatever the id space (a restored counter can be large).
#[derive(Debug, Clone, Default)]
struct FreeIds(BTreeMap<u64, u64>);

impl FreeIds {
    /// The ids below `end` not in `live` (ascending).
    fn gaps(live: impl Iterator<Item = u64>, end: u64) -> Self {
        let mut free = BTreeMap::new();
        let mut next = 0;
        for id in live {
            if id > next {
                free.insert(next, id);
            }
            next = id.saturating_add(1);
        }
        if end > next {
            free.insert(next, end);
        }
        Self(free)
    }

    fn first(&self) -> Option<u64> {
        self.0.first_key_value().map(|(&start, _)| start)
    }

    fn pop_first(&mut self) -> Option<u64> {
        let (start, end) = self.0.pop_first()?;
        let rest = start.saturating_add(1);
        if rest < end {
            self.0.insert(rest, end);
        }
        Some(start)
    }

    /// Frees `id` (not already free), merging it with the ranges beside it.
    fn insert(&mut self, id: u64) {
        let mut start = id;
        let mut end = id.saturating_add(1);
        if let Some((&s, &e)) = self.0.range(..id).next_back()
            && e == id
        {
            self.0.remove(&s);
            start = s;
        }
        if let Some(e) = self.0.remove(&end) {
            end = e;
        }
        self.0.insert(start, end);
    }
}

/// Entities, their components, and the commitment over them. `R` is the receipt type hooks emit.
pub struct World<R = ()> {
    /// One past the highest id ever live: ids below it that no live entity holds are reused.
    next_entity: u64,
    committed_next_entity: u64,
    /// Ids free for reuse, lowest first: those of entities despawned before the last commit.
    /// Derived (every id below `next_entity` that is not alive, at a commit), so not committed.
    free: FreeIds,
    /// Ids despawned since the last commit: reused only after it, so one commit never sees an
    /// id's old records removed and a new entity's inserted as a mere change.
    freed: Vec<u64>,
    /// Sorted by table id; `Alive` (table 0) first.
    pub(crate) columns: Vec<Box<dyn ErasedColumn<R>>>,
    by_type: BTreeMap<TypeId, usize>,
    pub(crate) tree: SparseMerkleTree,
    root: Hash,
    scratch: Vec<u8>,
}

/// A copy of the whole world, pending changes included: a fork of the state without encoding
/// it (executing ahead of finality forks the finalized state once a block at 60 Hz).
impl<R: 'static> Clone for World<R> {
    fn clone(&self) -> Self {
        Self {
            next_entity: self.next_entity,
            committed_next_entity: self.committed_next_entity,
            free: self.free.clone(),
            freed: self.freed.clone(),
            columns: self.columns.iter().map(|c| c.boxed_clone()).collect(),
            by_type: self.by_type.clone(),
            tree: self.tree.clone(),
            root: self.root,
            scratch: Vec::new(),
        }
    }
}

impl<R: 'static> std::fmt::Debug for World<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("next_entity", &self.next_entity)
            .field(
                "tables",
                &self
                    .columns
                    .iter()
                    .map(|c| (c.table(), c.name(), c.len()))
                    .collect::<Vec<_>>(),
            )
            .field("root", &self.root)
            .finish()
    }
}

impl<R: 'static> Default for World<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: 'static> World<R> {
    /// An empty world with only [`Alive`] registered, its root committed.
    pub fn new() -> Self {
        let mut world = Self {
            next_entity: 0,
            committed_next_entity: 0,
            free: FreeIds::default(),
            freed: Vec::new(),
            columns: vec![Box::new(Registered::<Alive, R> {
                column: Column::default(),
                hooks: Vec::new(),
            })],
            by_type: BTreeMap::new(),
            tree: SparseMerkleTree::new(),
            root: [0; 32],
            scratch: Vec::new(),
        };
        world.reindex();
        world.write_meta();
        world.root = world.tree.root();
        world
    }

    /// Adds a component table. Registration is part of the game's definition: every node must
    /// register the same components.
    pub fn register<C: Component>(&mut self) -> Result<(), EcsError> {
        if self.index_of::<C>().is_ok() {
            return Err(EcsError::AlreadyRegistered { name: C::NAME });
        }
        if C::TABLE == Alive::TABLE || C::TABLE == META_TABLE {
            return Err(EcsError::ReservedTable {
                table: C::TABLE,
                name: C::NAME,
            });
        }
        let at = self.columns.partition_point(|c| c.table() < C::TABLE);
        if let Some(other) = self.columns.get(at).filter(|c| c.table() == C::TABLE) {
            return Err(EcsError::TableTaken {
                table: C::TABLE,
                name: C::NAME,
                other: other.name(),
            });
        }
        self.columns.insert(
            at,
            Box::new(Registered::<C, R> {
                column: Column::default(),
                hooks: Vec::new(),
            }),
        );
        self.reindex();
        Ok(())
    }

    fn reindex(&mut self) {
        self.by_type = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_any().type_id(), i))
            .collect();
    }

    /// Runs `hook` at every commit for each changed record of `C`, after hooks added earlier.
    pub fn add_hook<C: Component>(&mut self, hook: Hook<C, R>) -> Result<(), EcsError> {
        self.registered_mut::<C>()?.hooks.push(hook);
        Ok(())
    }

    fn index_of<C: Component>(&self) -> Result<usize, EcsError> {
        self.by_type
            .get(&TypeId::of::<Registered<C, R>>())
            .copied()
            .ok_or(EcsError::Unregistered(C::NAME))
    }

    fn registered_mut<C: Component>(&mut self) -> Result<&mut Registered<C, R>, EcsError> {
        let i = self.index_of::<C>()?;
        self.columns[i]
            .as_any_mut()
            .downcast_mut::<Registered<C, R>>()
            .ok_or(EcsError::Unregistered(C::NAME))
    }

    /// The column of `C`.
    pub fn column<C: Component>(&self) -> Result<&Column<C>, EcsError> {
        let i = self.index_of::<C>()?;
        self.columns[i]
            .as_any()
            .downcast_ref::<Registered<C, R>>()
            .map(|r| &r.column)
            .ok_or(EcsError::Unregistered(C::NAME))
    }

    /// The column of `C`, mutably (values only: inserts and removals go through the world,
    /// which checks that entities are alive).
    pub fn column_mut<C: Component>(&mut self) -> Result<&mut Column<C>, EcsError> {
        Ok(&mut self.registered_mut::<C>()?.column)
    }

    /// Two different columns at once, the first mutable: for joins like position += velocity.
    pub fn columns_mut<A: Component, B: Component>(
        &mut self,
    ) -> Result<(&mut Column<A>, &Column<B>), EcsError> {
        let (i, j) = (self.index_of::<A>()?, self.index_of::<B>()?);
        let [a, b] = self
            .columns
            .get_disjoint_mut([i, j])
            .map_err(|_| EcsError::SameColumn(A::NAME))?;
        let a = a.as_any_mut().downcast_mut::<Registered<A, R>>();
        let b = b.as_any().downcast_ref::<Registered<B, R>>();
        match (a, b) {
            (Some(a), Some(b)) => Ok((&mut a.column, &b.column)),
            (None, _) => Err(EcsError::Unregistered(A::NAME)),
            (_, None) => Err(EcsError::Unregistered(B::NAME)),
        }
    }

    /// A new entity: the lowest id freed before the last commit, or a new one. Reusing ids
    /// keeps the id space, and the page directories indexed by it, as large as the most
    /// entities ever live at once rather than every entity that ever lived.
    pub fn spawn(&mut self) -> EntityId {
        let e = match self.free.pop_first() {
            Some(id) => EntityId(id),
            None => {
                let e = EntityId(self.next_entity);
                // Bound: one spawn per id, and ids below 2^64 outnumber any zone's lifetime.
                self.next_entity = self.next_entity.saturating_add(1);
                e
            }
        };
        self.alive_mut().insert(e, Alive);
        e
    }

    /// [`World::spawn`], remembering enough to take it back.
    pub fn spawn_revertible(&mut self) -> Spawn {
        let fresh = self.free.first().is_none();
        Spawn {
            entity: self.spawn(),
            fresh,
        }
    }

    /// Takes back `spawn`, the latest spawn not taken back yet (spawns are taken back in
    /// reverse order, before a commit): its components go and its id is the next spawn's
    /// again, so the world is as if it had never been spawned (a refused transaction's).
    pub fn unspawn(&mut self, spawn: Spawn) -> Result<(), EcsError> {
        let e = spawn.entity;
        if !self.is_alive(e) {
            return Err(EcsError::NotAlive(e));
        }
        let latest = if spawn.fresh {
            e.0.checked_add(1) == Some(self.next_entity)
        } else {
            self.free.first().is_none_or(|first| e.0 < first)
        };
        if !latest {
            return Err(EcsError::NotLatestSpawn(e));
        }
        for c in &mut self.columns {
            c.remove_entity(e);
        }
        if spawn.fresh {
            self.next_entity = e.0;
        } else {
            self.free.insert(e.0);
        }
        Ok(())
    }

    fn alive_mut(&mut self) -> &mut Column<Alive> {
        match self.columns[0]
            .as_any_mut()
            .downcast_mut::<Registered<Alive, R>>()
        {
            Some(r) => &mut r.column,
            None => unreachable!("table 0 is always Alive"),
        }
    }

    pub(crate) fn alive(&self) -> &Column<Alive> {
        match self.columns[0]
            .as_any()
            .downcast_ref::<Registered<Alive, R>>()
        {
            Some(r) => &r.column,
            None => unreachable!("table 0 is always Alive"),
        }
    }

    pub fn is_alive(&self, e: EntityId) -> bool {
        self.alive().contains(e)
    }

    /// Number of live entities.
    pub fn entity_count(&self) -> usize {
        self.alive().len()
    }

    /// The id the next spawn gets.
    pub fn next_entity(&self) -> EntityId {
        EntityId(self.free.first().unwrap_or(self.next_entity))
    }

    /// One past the highest id any entity has held (the size of the id space in use).
    pub fn id_space(&self) -> u64 {
        self.next_entity
    }

    /// Removes the entity and all its components.
    pub fn despawn(&mut self, e: EntityId) -> Result<(), EcsError> {
        if !self.is_alive(e) {
            return Err(EcsError::NotAlive(e));
        }
        for c in &mut self.columns {
            c.remove_entity(e);
        }
        self.freed.push(e.0);
        Ok(())
    }

    /// Sets `e`'s `C`, returning the previous value.
    pub fn insert<C: Component>(&mut self, e: EntityId, value: C) -> Result<Option<C>, EcsError> {
        if !self.is_alive(e) {
            return Err(EcsError::NotAlive(e));
        }
        Ok(self.column_mut::<C>()?.insert(e, value))
    }

    /// Removes `e`'s `C`, returning it.
    pub fn remove<C: Component>(&mut self, e: EntityId) -> Result<Option<C>, EcsError> {
        if C::TABLE == Alive::TABLE {
            return Err(EcsError::ReservedTable {
                table: C::TABLE,
                name: C::NAME,
            });
        }
        Ok(self.column_mut::<C>()?.remove(e).cloned())
    }

    /// `e`'s components in tables at or above `from`, each as its table and canonical bytes,
    /// by table: what a body carries to another zone of its plugins' state, without the
    /// engine knowing their types.
    pub fn encoded_components(&self, e: EntityId, from: u16) -> Vec<(u16, Vec<u8>)> {
        let mut out = Vec::new();
        for c in self.columns.iter().filter(|c| c.table() >= from) {
            let mut bytes = Vec::new();
            if c.encode_value(e, &mut bytes) {
                out.push((c.table(), bytes));
            }
        }
        out
    }

    /// Decodes `bytes` whole as the component registered at `table` and sets it as `e`'s:
    /// the other half of [`World::encoded_components`]. Nothing changes on an error.
    pub fn insert_encoded(
        &mut self,
        e: EntityId,
        table: u16,
        bytes: &[u8],
    ) -> Result<(), EcsError> {
        if !self.is_alive(e) {
            return Err(EcsError::NotAlive(e));
        }
        if table == Alive::TABLE {
            return Err(EcsError::ReservedTable {
                table,
                name: Alive::NAME,
            });
        }
        let column = self
            .columns
            .iter_mut()
            .find(|c| c.table() == table)
            .ok_or(EcsError::NoSuchTable(table))?;
        column.insert_encoded(e, bytes)
    }

    /// `e`'s `C`, if it has one (None too if `C` is not registered).
    pub fn get<C: Component>(&self, e: EntityId) -> Option<&C> {
        self.column::<C>().ok()?.get(e)
    }

    pub fn get_mut<C: Component>(&mut self, e: EntityId) -> Option<Mut<'_, C>> {
        self.column_mut::<C>().ok()?.get_mut(e)
    }

    fn write_meta(&mut self) {
        self.tree.insert(
            record_key(META_TABLE, EntityId(0)),
            value_hash(&self.next_entity.to_be_bytes()),
        );
        self.committed_next_entity = self.next_entity;
    }

    /// Ends a tick: runs hooks for every record inserted, changed or removed since the last
    /// commit (tables in id order, entities in id order), pushing their receipts, and updates
    /// the records root from those records only. Returns the root.
    pub fn commit(&mut self, receipts: &mut Vec<R>) -> Hash {
        for c in &mut self.columns {
            c.commit(&mut self.tree, &mut self.scratch, receipts);
        }
        for id in self.freed.drain(..) {
            self.free.insert(id);
        }
        if self.next_entity != self.committed_next_entity {
            self.write_meta();
        }
        self.root = self.tree.root();
        self.root
    }

    /// The root of the last commit.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// Whether anything changed since the last commit.
    pub fn has_changes(&self) -> bool {
        self.next_entity != self.committed_next_entity
            || self.columns.iter().any(|c| c.has_changes())
    }

    /// Number of records in the commitment (every component value, every live entity, and the
    /// world's own counter).
    pub fn record_count(&self) -> usize {
        self.tree.len()
    }

    /// Proof of `e`'s `C` as of the last commit (None if it had none); check it with
    /// [`verify_record`] against [`World::root`].
    pub fn prove<C: Component>(&mut self, e: EntityId) -> Result<Option<MerkleProof>, EcsError> {
        self.index_of::<C>()?;
        Ok(self.tree.prove(&record_key(C::TABLE, e)))
    }

    /// Proof that `e` has no `C` as of the last commit (None if it has one); check it with
    /// [`verify_absent_record`] against [`World::root`].
    pub fn prove_absent<C: Component>(
        &mut self,
        e: EntityId,
    ) -> Result<Option<AbsenceProof>, EcsError> {
        self.index_of::<C>()?;
        Ok(self.tree.prove_absent(&record_key(C::TABLE, e)))
    }

    pub(crate) fn set_restored(
        &mut self,
        next_entity: u64,
        columns: Vec<Box<dyn ErasedColumn<R>>>,
    ) -> Hash {
        self.columns = columns;
        self.reindex();
        self.next_entity = next_entity;
        self.free = FreeIds::gaps(self.alive().iter().map(|(e, _)| e.0), next_entity);
        self.freed.clear();
        self.tree = SparseMerkleTree::new();
        for c in &mut self.columns {
            c.insert_all(&mut self.tree, &mut self.scratch);
        }
        self.write_meta();
        self.root = self.tree.root();
        self.root
    }

    pub(crate) fn next_entity_raw(&self) -> u64 {
        self.next_entity
    }
}
