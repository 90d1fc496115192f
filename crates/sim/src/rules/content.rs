//! Publishing content: parts in order from the genesis's publisher, a complete manifest checked
//! and scheduled, and the switch of block rules at its tick.

use super::*;
use crate::content::{
    ContentPart, MAX_NOTICE_TICKS, ManifestBytes, ManifestPart, Publication, PublishedContent,
};

/// The content records' entities and the block rules in force (derived from the records,
/// never committed).
#[derive(Clone, Debug)]
pub(super) struct ContentIndex {
    publication: Option<EntityId>,
    /// The received parts' entities, in part order.
    parts: Vec<EntityId>,
    /// The complete manifest waiting for its tick, and its rules.
    scheduled: Option<(EntityId, Arc<BlockRules>)>,
    /// The manifest record in force (a zone's own genesis content's since tick 0, or a
    /// published one's); none while the default pack is.
    active: Option<EntityId>,
    pub(super) rules: Arc<BlockRules>,
}

impl Default for ContentIndex {
    fn default() -> Self {
        Self {
            publication: None,
            parts: Vec::new(),
            scheduled: None,
            active: None,
            rules: Arc::new(BlockRules::builtin().clone()),
        }
    }
}

/// The rules of a stored manifest; bytes that are missing or do not decode (they were
/// checked when published, so only a corrupt snapshot has such) are refused.
fn rules_of(bytes: Option<&ManifestBytes>) -> Result<BlockRules, SimError> {
    let bytes = bytes.ok_or(SimError::BadSnapshot("a published manifest has no bytes"))?;
    z3r0_content::Manifest::decode(&bytes.bytes)
        .map(|m| m.block_rules())
        .map_err(|_| SimError::BadSnapshot("a published manifest does not decode"))
}

impl ContentIndex {
    /// The index of restored records at `tick`.
    pub(super) fn rebuild(ecs: &z3r0_ecs::World<Receipt>, tick: u64) -> Result<Self, SimError> {
        let mut index = Self {
            publication: ecs
                .column::<Publication>()
                .ok()
                .and_then(|c| c.iter().map(|(e, _)| e).next()),
            ..Self::default()
        };
        if let Ok(parts) = ecs.column::<ManifestPart>() {
            let mut parts: Vec<_> = parts.iter().map(|(e, p)| (p.index, e)).collect();
            parts.sort();
            index.parts = parts.into_iter().map(|(_, e)| e).collect();
        }
        if let Ok(records) = ecs.column::<PublishedContent>() {
            // At most two: the one in force (its tick reached) and one still ahead.
            for (e, record) in records.iter() {
                let rules = Arc::new(rules_of(ecs.get::<ManifestBytes>(e))?);
                if record.activate_at <= tick {
                    index.active = Some(e);
                    index.rules = rules;
                } else {
                    index.scheduled = Some((e, rules));
                }
            }
        }
        Ok(index)
    }
}

impl Sim {
    /// A zone (see [`Sim::genesis_with`]) whose content at genesis is `manifest` (canonical
    /// bytes) rather than the default pack: its rules are in force from the start, and the
    /// state commits to it as a manifest in force since tick 0, so validators keep it and
    /// clients fetch and follow it like published content. It must keep the meaning of every
    /// built-in block (the terrain is made of them).
    pub fn genesis_with_content(
        config: SimConfig,
        plugins: crate::plugin::Plugins,
        manifest: &[u8],
    ) -> Result<Self, SimError> {
        let mut sim = Self::genesis_with(config, plugins)?;
        sim.start_with_content(manifest)?;
        Ok(sim)
    }

    fn start_with_content(&mut self, bytes: &[u8]) -> Result<(), SimError> {
        if bytes.len() > crate::content::MAX_PUBLISHED_BYTES {
            return Err(SimError::GenesisContent(
                "the manifest is too large to publish",
            ));
        }
        let rules = z3r0_content::Manifest::decode(bytes)
            .map_err(|_| SimError::GenesisContent("the bytes are no canonical manifest"))?
            .block_rules();
        rules
            .extends(&self.content.rules)
            .map_err(|_| SimError::GenesisContent("it changes the meaning of a built-in block"))?;
        let e = self.ecs.spawn();
        let record = PublishedContent {
            manifest: *blake3::hash(bytes).as_bytes(),
            activate_at: 0,
        };
        self.ecs.insert(e, record)?;
        self.ecs.insert(
            e,
            ManifestBytes {
                bytes: bytes.to_vec(),
            },
        )?;
        self.content.active = Some(e);
        self.content.rules = Arc::new(rules);
        self.root = self.commit(&mut Vec::new());
        Ok(())
    }

    /// The block rules in force.
    pub fn block_rules(&self) -> &BlockRules {
        &self.content.rules
    }

    /// The manifest record in force (`None`: the default pack), and the one waiting for its
    /// tick.
    pub fn published_content(&self) -> (Option<&PublishedContent>, Option<&PublishedContent>) {
        let record = |e: Option<EntityId>| e.and_then(|e| self.ecs.get::<PublishedContent>(e));
        let (active, scheduled) = self.content_entities();
        (record(active), record(scheduled))
    }

    /// The entities of the published manifest in force and of the one waiting for its tick.
    pub fn content_entities(&self) -> (Option<EntityId>, Option<EntityId>) {
        (
            self.content.active,
            self.content.scheduled.as_ref().map(|(e, _)| *e),
        )
    }

    /// The bytes of the published manifest on `entity`.
    pub fn manifest_bytes(&self, entity: EntityId) -> Option<&[u8]> {
        self.ecs
            .get::<ManifestBytes>(entity)
            .map(|m| m.bytes.as_slice())
    }

    /// The manifest hash in force (the default pack's while no record is), and the one
    /// waiting with its activation tick.
    pub fn content_manifests(&self) -> (Hash, Option<(Hash, u64)>) {
        let (active, scheduled) = self.published_content();
        (
            active.map_or(z3r0_content::canon::DEFAULT_MANIFEST, |r| r.manifest),
            scheduled.map(|r| (r.manifest, r.activate_at)),
        )
    }

    /// One part of a publication from `player`, cheapest checks first.
    pub(super) fn publish_part(
        &mut self,
        player: &PlayerKey,
        part: &ContentPart,
        receipts: &mut Vec<Receipt>,
    ) -> Result<(), Reason> {
        if self.config.publisher.as_ref() != Some(player) {
            return Err(Reason::NotPublisher);
        }
        if part.activate_at <= self.tick || part.activate_at - self.tick > MAX_NOTICE_TICKS {
            return Err(Reason::ActivationOutOfRange);
        }
        if part.index == 0 {
            // A first part starts over: whatever was in progress is dropped.
            self.drop_publication();
            let e = self.ecs.spawn();
            let publication = Publication {
                manifest: part.manifest,
                activate_at: part.activate_at,
                parts: part.parts,
                received: 0,
            };
            self.ecs
                .insert(e, publication)
                .map_err(|_| Reason::BadFrame)?;
            self.content.publication = Some(e);
        }
        let e = self.content.publication.ok_or(Reason::PartOutOfOrder)?;
        let mut publication = *self
            .ecs
            .get::<Publication>(e)
            .ok_or(Reason::PartOutOfOrder)?;
        let same = publication.manifest == part.manifest
            && publication.activate_at == part.activate_at
            && publication.parts == part.parts;
        if !same || publication.received != part.index {
            return Err(Reason::PartOutOfOrder);
        }
        let stored = self.ecs.spawn();
        let record = ManifestPart {
            index: part.index,
            bytes: part.bytes.clone(),
        };
        self.ecs
            .insert(stored, record)
            .map_err(|_| Reason::BadFrame)?;
        self.content.parts.push(stored);
        publication.received += 1;
        if publication.received < publication.parts {
            return self
                .ecs
                .insert(e, publication)
                .map(|_| ())
                .map_err(|_| Reason::BadFrame);
        }
        let complete = self.assemble_publication(&publication);
        self.drop_publication();
        let (bytes, rules) = complete?;
        self.schedule(publication, bytes, rules, receipts)
    }

    /// The whole manifest of a publication whose parts are all in, checked: its hash, its
    /// form, and that it keeps the meaning of every block the rules in force define.
    fn assemble_publication(
        &self,
        publication: &Publication,
    ) -> Result<(Vec<u8>, BlockRules), Reason> {
        let mut bytes =
            Vec::with_capacity(usize::from(publication.parts) * crate::content::PART_BYTES);
        for &e in &self.content.parts {
            let part = self
                .ecs
                .get::<ManifestPart>(e)
                .ok_or(Reason::PartOutOfOrder)?;
            bytes.extend_from_slice(&part.bytes);
        }
        if blake3::hash(&bytes).as_bytes() != &publication.manifest {
            return Err(Reason::ManifestMismatch);
        }
        let manifest = z3r0_content::Manifest::decode(&bytes).map_err(|_| Reason::BadManifest)?;
        let rules = manifest.block_rules();
        rules
            .extends(&self.content.rules)
            .map_err(|_| Reason::ChangesMeaning)?;
        Ok((bytes, rules))
    }

    /// Stores a checked manifest to activate at its tick (replacing one waiting already).
    fn schedule(
        &mut self,
        publication: Publication,
        bytes: Vec<u8>,
        rules: BlockRules,
        receipts: &mut Vec<Receipt>,
    ) -> Result<(), Reason> {
        if let Some((old, _)) = self.content.scheduled.take() {
            let _ = self.ecs.despawn(old);
        }
        let e = self.ecs.spawn();
        let record = PublishedContent {
            manifest: publication.manifest,
            activate_at: publication.activate_at,
        };
        self.ecs.insert(e, record).map_err(|_| Reason::BadFrame)?;
        self.ecs
            .insert(e, ManifestBytes { bytes })
            .map_err(|_| Reason::BadFrame)?;
        self.content.scheduled = Some((e, Arc::new(rules)));
        receipts.push(Receipt::ContentScheduled {
            manifest: publication.manifest,
            at: publication.activate_at,
        });
        Ok(())
    }

    fn drop_publication(&mut self) {
        for e in self
            .content
            .publication
            .take()
            .into_iter()
            .chain(std::mem::take(&mut self.content.parts))
        {
            let _ = self.ecs.despawn(e);
        }
    }

    /// Switches to the scheduled manifest once `step` reaches its tick.
    pub(super) fn activate_content(&mut self, step: u64, receipts: &mut Vec<Receipt>) {
        let Some((e, _)) = &self.content.scheduled else {
            return;
        };
        let Some(record) = self.ecs.get::<PublishedContent>(*e) else {
            return;
        };
        if record.activate_at > step {
            return;
        }
        let manifest = record.manifest;
        let Some((e, rules)) = self.content.scheduled.take() else {
            return;
        };
        if let Some(old) = self.content.active.replace(e) {
            let _ = self.ecs.despawn(old);
        }
        self.content.rules = rules;
        receipts.push(Receipt::ContentActivated { manifest });
    }
}
