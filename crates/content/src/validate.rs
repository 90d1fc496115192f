//! Checking a pack: the manifest's own rules, then every file it names.

use crate::canon::{MAX_BREAK_TICKS, MAX_LIGHT, MAX_NAME, MAX_STACK, is_name};
use crate::manifest::{BlockDef, ItemDef, Opacity, PackFile};
use crate::{ContentError, Hash, MAX_BLOCKS, MAX_FILE_BYTES, MAX_ITEMS, MAX_MANIFEST_BYTES, media};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path};

/// The manifest's file name in a pack.
pub(crate) const MANIFEST: &str = "pack.toml";

/// What a referenced file must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Texture,
    Sound,
}

/// Collects errors against one file.
struct Errors<'a> {
    file: &'a Path,
    out: &'a mut Vec<ContentError>,
}

impl Errors<'_> {
    fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.out.push(ContentError {
            file: self.file.to_path_buf(),
            field: field.into(),
            reason: reason.into(),
        });
    }
}

pub(crate) fn read_manifest(dir: &Path) -> Result<PackFile, ContentError> {
    let path = dir.join(MANIFEST);
    let error = |field: &str, reason: String| ContentError {
        file: path.clone(),
        field: field.into(),
        reason,
    };
    let root = dir
        .canonicalize()
        .map_err(|e| error("(file)", format!("cannot open the pack: {e}")))?;
    let bytes = read_inside(&root, Path::new(MANIFEST), MAX_MANIFEST_BYTES)
        .map_err(|reason| error("(file)", reason))?;
    let text = String::from_utf8(bytes).map_err(|e| error("(file)", format!("not UTF-8: {e}")))?;
    toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text.get(..s.start).unwrap_or("").matches('\n').count() + 1);
        let field = line.map_or_else(|| "(toml)".into(), |l| format!("line {l}"));
        error(&field, e.message().to_string())
    })
}

/// The bytes of `name` inside the pack whose canonical directory is `root`: a relative path
/// with no `..`, still inside the pack once symlinks are resolved, a regular file (not a pipe
/// or a device), and at most `max` bytes, read with that bound whatever its size says.
pub(crate) fn read_inside(root: &Path, name: &Path, max: u64) -> Result<Vec<u8>, String> {
    if name.as_os_str().is_empty() || !name.components().all(|c| matches!(c, Component::Normal(_)))
    {
        return Err("a file is named by a relative path inside the pack (no `..`, no root)".into());
    }
    let real = root
        .join(name)
        .canonicalize()
        .map_err(|e| format!("cannot open it: {e}"))?;
    if !real.starts_with(root) {
        return Err("it leads outside the pack".into());
    }
    // Looked at before opening: opening a pipe would wait for a writer.
    let kind = std::fs::metadata(&real).map_err(|e| format!("cannot open it: {e}"))?;
    if !kind.is_file() {
        return Err("it is not a regular file".into());
    }
    let file = std::fs::File::open(&real).map_err(|e| format!("cannot open it: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot open it: {e}"))?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, max.saturating_add(1)),
        &mut bytes,
    )
    .map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!("more than {max} bytes"));
    }
    Ok(bytes)
}

/// A name: 1 to 64 lower-case letters, digits, `_` and `-`.
fn name_problem(name: &str) -> Option<String> {
    (!is_name(name))
        .then(|| format!("{name:?} is not a name (1 to {MAX_NAME} of a-z, 0-9, '_' and '-')"))
}

/// The manifest's rules, without reading any other file.
pub(crate) fn structure(dir: &Path, file: &PackFile, out: &mut Vec<ContentError>) {
    let manifest = dir.join(MANIFEST);
    let mut errors = Errors {
        file: &manifest,
        out,
    };
    if let Some(p) = name_problem(&file.pack.name) {
        errors.add("pack.name", p);
    }
    if file.pack.version == 0 {
        errors.add("pack.version", "versions start at 1");
    }
    if file.blocks.len() > MAX_BLOCKS {
        errors.add(
            "block",
            format!("{} blocks; at most {MAX_BLOCKS}", file.blocks.len()),
        );
        return;
    }
    if file.items.len() > MAX_ITEMS {
        errors.add(
            "item",
            format!("{} items; at most {MAX_ITEMS}", file.items.len()),
        );
        return;
    }
    let items: BTreeSet<&str> = file.items.iter().map(|i| i.name.as_str()).collect();
    let blocks: BTreeSet<&str> = file.blocks.iter().map(|b| b.name.as_str()).collect();
    let mut ids = BTreeSet::new();
    let mut names = BTreeSet::new();
    for (i, b) in file.blocks.iter().enumerate() {
        let field = format!("block[{i}]");
        if !ids.insert(b.id) {
            errors.add(format!("{field}.id"), format!("id {} is used twice", b.id));
        }
        if !names.insert(b.name.as_str()) {
            errors.add(
                format!("{field}.name"),
                format!("{:?} is used twice", b.name),
            );
        }
        block(&mut errors, &field, b, &items);
    }
    match file.blocks.iter().find(|b| b.id == 0) {
        Some(air) if air.opacity == Opacity::Empty => {}
        Some(_) => errors.add(
            "block",
            "block 0 (the empty voxel) must have opacity \"empty\"",
        ),
        None => errors.add("block", "no block 0: the empty voxel (air) must be defined"),
    }
    let mut names = BTreeSet::new();
    for (i, item_def) in file.items.iter().enumerate() {
        let field = format!("item[{i}]");
        if !names.insert(item_def.name.as_str()) {
            errors.add(
                format!("{field}.name"),
                format!("{:?} is used twice", item_def.name),
            );
        }
        item(&mut errors, &field, item_def, &blocks);
    }
}

fn block(errors: &mut Errors<'_>, field: &str, b: &BlockDef, items: &BTreeSet<&str>) {
    if let Some(p) = name_problem(&b.name) {
        errors.add(format!("{field}.name"), p);
    }
    if usize::from(b.id) >= MAX_BLOCKS {
        errors.add(
            format!("{field}.id"),
            format!("id {}; ids are below {MAX_BLOCKS}", b.id),
        );
    }
    if b.light > MAX_LIGHT {
        errors.add(
            format!("{field}.light"),
            format!("{}; light is 0 to {MAX_LIGHT}", b.light),
        );
    }
    if b.break_ticks > MAX_BREAK_TICKS {
        errors.add(
            format!("{field}.break_ticks"),
            format!("{}; at most {MAX_BREAK_TICKS}", b.break_ticks),
        );
    }
    if let Some(drop) = &b.drops
        && !items.contains(drop.as_str())
    {
        errors.add(
            format!("{field}.drops"),
            format!("no item is named {drop:?}"),
        );
    }
    let t = &b.textures;
    if b.opacity == Opacity::Empty {
        if b.solid || !b.replaceable {
            errors.add(
                format!("{field}.opacity"),
                "an empty block is neither solid nor permanent (solid = false, replaceable = true)",
            );
        }
        if !t.is_empty() {
            errors.add(
                format!("{field}.textures"),
                "an empty block has no faces to texture",
            );
        }
    } else {
        for (face, name) in [("top", &t.top), ("side", &t.side), ("bottom", &t.bottom)] {
            if name.is_none() && t.all.is_none() {
                errors.add(
                    format!("{field}.textures.{face}"),
                    "no texture (give `all`, or each face)",
                );
            }
        }
    }
}

fn item(errors: &mut Errors<'_>, field: &str, i: &ItemDef, blocks: &BTreeSet<&str>) {
    if let Some(p) = name_problem(&i.name) {
        errors.add(format!("{field}.name"), p);
    }
    if !(1..=MAX_STACK).contains(&i.stack) {
        errors.add(
            format!("{field}.stack"),
            format!("{}; a stack is 1 to {MAX_STACK}", i.stack),
        );
    }
    match &i.places {
        Some(block) if !blocks.contains(block.as_str()) => {
            errors.add(
                format!("{field}.places"),
                format!("no block is named {block:?}"),
            );
        }
        None if i.texture.is_none() => {
            errors.add(
                format!("{field}.texture"),
                "an item that places no block needs a texture",
            );
        }
        _ => {}
    }
}

/// Every file the manifest names, with the first field that names it.
fn references(file: &PackFile) -> Vec<(String, Kind, String)> {
    let mut refs = Vec::new();
    for (i, b) in file.blocks.iter().enumerate() {
        let t = &b.textures;
        for (face, name) in [
            ("all", &t.all),
            ("top", &t.top),
            ("side", &t.side),
            ("bottom", &t.bottom),
        ] {
            if let Some(n) = name {
                refs.push((
                    n.clone(),
                    Kind::Texture,
                    format!("block[{i}].textures.{face}"),
                ));
            }
        }
        let s = &b.sounds;
        for (what, name) in [("dig", &s.dig), ("place", &s.place), ("step", &s.step)] {
            if let Some(n) = name {
                refs.push((n.clone(), Kind::Sound, format!("block[{i}].sounds.{what}")));
            }
        }
    }
    for (i, item) in file.items.iter().enumerate() {
        if let Some(n) = &item.texture {
            refs.push((n.clone(), Kind::Texture, format!("item[{i}].texture")));
        }
    }
    refs
}

/// Checks and hashes every file the manifest names, each once.
pub(crate) fn files(
    dir: &Path,
    file: &PackFile,
    out: &mut Vec<ContentError>,
) -> BTreeMap<String, Hash> {
    let manifest = dir.join(MANIFEST);
    let mut hashes = BTreeMap::new();
    let mut checked: BTreeMap<String, Kind> = BTreeMap::new();
    let root = dir.canonicalize().ok();
    for (name, kind, field) in references(file) {
        let mut errors = Errors {
            file: &manifest,
            out,
        };
        match checked.get(&name) {
            Some(&k) if k == kind => continue,
            Some(_) => {
                errors.add(
                    field,
                    format!("{name:?} is named as a texture and as a sound"),
                );
                continue;
            }
            None => {
                checked.insert(name.clone(), kind);
            }
        }
        match read_checked(root.as_deref(), &name, kind) {
            Ok(hash) => {
                hashes.insert(name, hash);
            }
            Err(reason) => errors.add(field, format!("{name:?}: {reason}")),
        }
    }
    hashes
}

/// Reads the file `name` inside the pack, checks it as `kind`, hashes it.
fn read_checked(root: Option<&Path>, name: &str, kind: Kind) -> Result<Hash, String> {
    let root = root.ok_or("the pack's directory cannot be opened")?;
    let bytes = read_inside(root, Path::new(name), MAX_FILE_BYTES)?;
    match kind {
        Kind::Texture => media::check_png(&bytes)?,
        Kind::Sound => media::check_sound(&bytes)?,
    }
    Ok(*blake3::hash(&bytes).as_bytes())
}
