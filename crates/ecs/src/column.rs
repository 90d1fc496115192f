//! One component type's values, stored in pages of 256 entity slots indexed by entity id, so
//! iteration is in entity-id order by construction and lookups are two array indexings. Each page
//! has an occupancy bitmask: iteration and joins walk set bits (joins AND two masks), and the
//! values sit contiguously.

use crate::EntityId;
use std::cell::Cell;
use std::ops::{Deref, DerefMut};

pub(crate) const PAGE_BITS: u32 = 8;
pub(crate) const PAGE: usize = 1 << PAGE_BITS;
const WORDS: usize = PAGE / 64;

#[derive(Debug, Clone)]
pub(crate) struct Page<C> {
    occupied: [u64; WORDS],
    /// Slots written since the last commit (bit `i % 64` of word `i / 64`). Cells, so mutable
    /// handles to several slots of a page can each mark their own bit.
    touched: [Cell<u64>; WORDS],
    len: u32,
    /// `PAGE` values; unoccupied slots hold `C::default()`.
    values: Box<[C]>,
}

impl<C> Page<C> {
    #[inline]
    fn has(&self, slot: usize) -> bool {
        self.occupied[slot / 64] >> (slot % 64) & 1 == 1
    }

    fn any_touched(&self) -> bool {
        self.touched.iter().any(|w| w.get() != 0)
    }

    #[inline]
    fn mark(&self, slot: usize) {
        let w = &self.touched[slot / 64];
        w.set(w.get() | 1 << (slot % 64));
    }
}

/// A value removed since the last commit, kept for the removal hook.
#[derive(Debug, Clone)]
pub(crate) struct Removed<C> {
    pub(crate) entity: EntityId,
    pub(crate) seq: u32,
    pub(crate) value: C,
}

/// The values of one component type, by entity id.
#[derive(Debug, Clone)]
pub struct Column<C> {
    pages: Vec<Option<Box<Page<C>>>>,
    len: usize,
    pub(crate) removed: Vec<Removed<C>>,
    /// Value buffers of emptied pages, reused before allocating.
    spare: Vec<Box<[C]>>,
}

impl<C> Default for Column<C> {
    fn default() -> Self {
        Self {
            pages: Vec::new(),
            len: 0,
            removed: Vec::new(),
            spare: Vec::new(),
        }
    }
}

#[inline]
fn split(e: EntityId) -> (usize, usize) {
    ((e.0 >> PAGE_BITS) as usize, (e.0 as usize) & (PAGE - 1))
}

#[inline]
fn entity(page: usize, slot: usize) -> EntityId {
    EntityId(((page as u64) << PAGE_BITS) | slot as u64)
}

/// Mutable access to one value that records the write for the next commit when (and only when)
/// the value is borrowed mutably.
#[derive(Debug)]
pub struct Mut<'a, C> {
    value: &'a mut C,
    touched: &'a Cell<u64>,
    bit: u64,
    /// Already marked: later derefs skip the shared word (so a loop of writes through one
    /// handle compiles to plain stores).
    marked: bool,
}

impl<C> Deref for Mut<'_, C> {
    type Target = C;
    #[inline]
    fn deref(&self) -> &C {
        self.value
    }
}

impl<C> DerefMut for Mut<'_, C> {
    #[inline]
    fn deref_mut(&mut self) -> &mut C {
        if !self.marked {
            self.marked = true;
            self.touched.set(self.touched.get() | self.bit);
        }
        self.value
    }
}

impl<C: Default> Column<C> {
    /// Number of entities with this component.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn contains(&self, e: EntityId) -> bool {
        self.get(e).is_some()
    }

    pub fn get(&self, e: EntityId) -> Option<&C> {
        let (p, s) = split(e);
        let page = self.pages.get(p)?.as_ref()?;
        page.has(s).then(|| &page.values[s])
    }

    pub fn get_mut(&mut self, e: EntityId) -> Option<Mut<'_, C>> {
        let (p, s) = split(e);
        let page = self.pages.get_mut(p)?.as_mut()?;
        if !page.has(s) {
            return None;
        }
        let Page {
            touched, values, ..
        } = &mut **page;
        Some(Mut {
            value: &mut values[s],
            touched: &touched[s / 64],
            bit: 1 << (s % 64),
            marked: false,
        })
    }

    /// Values in entity-id order.
    pub fn iter(&self) -> Iter<'_, C> {
        Iter {
            pages: self.pages.iter().enumerate(),
            page: None,
            word: 0,
            bits: 0,
        }
    }

    /// Mutable values in entity-id order; only values actually written are committed.
    pub fn iter_mut(&mut self) -> IterMut<'_, C> {
        IterMut {
            pages: self.pages.iter_mut().enumerate(),
            page: None,
            word: 0,
            bits: 0,
        }
    }

    /// Entities having both components, in id order: this column's values mutable, `other`'s
    /// read-only (the shape of most systems: position += velocity).
    pub fn join_mut<'a, B: Default>(&'a mut self, other: &'a Column<B>) -> JoinMut<'a, C, B> {
        JoinMut {
            pages: self.pages.iter_mut().zip(other.pages.iter()).enumerate(),
            page: None,
            word: 0,
            bits: 0,
        }
    }

    /// Calls `f` for every entity having both components, in id order: the internal-iteration
    /// form of [`Column::join_mut`], several times faster in hot systems (state stays in
    /// registers, and fully occupied runs of 64 slots are walked as plain slices).
    pub fn join_mut_each<B: Default>(
        &mut self,
        other: &Column<B>,
        mut f: impl FnMut(EntityId, Mut<'_, C>, &B),
    ) {
        for (p, (a, b)) in self.pages.iter_mut().zip(&other.pages).enumerate() {
            let (Some(a), Some(b)) = (a, b) else { continue };
            let Page {
                occupied,
                touched,
                values,
                ..
            } = &mut **a;
            let words = values
                .chunks_exact_mut(64)
                .zip(b.values.chunks_exact(64))
                .zip(touched.iter())
                .enumerate();
            for (w, ((va, vb), t)) in words {
                let mut bits = occupied[w] & b.occupied[w];
                let base = w * 64;
                if bits == u64::MAX {
                    for (i, (x, y)) in va.iter_mut().zip(vb).enumerate() {
                        let m = Mut {
                            value: x,
                            touched: t,
                            bit: 1 << i,
                            marked: false,
                        };
                        f(entity(p, base + i), m, y);
                    }
                    continue;
                }
                while bits != 0 {
                    let i = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    let m = Mut {
                        value: &mut va[i],
                        touched: t,
                        bit: 1 << i,
                        marked: false,
                    };
                    f(entity(p, base + i), m, &vb[i]);
                }
            }
        }
    }

    /// Calls `f` for every value, mutably, in entity-id order: the internal-iteration form of
    /// [`Column::iter_mut`].
    pub fn for_each_mut(&mut self, mut f: impl FnMut(EntityId, Mut<'_, C>)) {
        for (p, page) in self.pages.iter_mut().enumerate() {
            let Some(page) = page else { continue };
            let Page {
                occupied,
                touched,
                values,
                ..
            } = &mut **page;
            for (w, (vals, t)) in values.chunks_exact_mut(64).zip(touched.iter()).enumerate() {
                let mut bits = occupied[w];
                while bits != 0 {
                    let i = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    let m = Mut {
                        value: &mut vals[i],
                        touched: t,
                        bit: 1 << i,
                        marked: false,
                    };
                    f(entity(p, w * 64 + i), m);
                }
            }
        }
    }

    /// Entities having both components, in id order, both read-only.
    pub fn join<'a, B: Default>(
        &'a self,
        other: &'a Column<B>,
    ) -> impl Iterator<Item = (EntityId, &'a C, &'a B)> + 'a {
        self.iter()
            .filter_map(move |(e, a)| Some((e, a, other.get(e)?)))
    }

    /// Sets the value of `e`, returning the previous one. The caller checks that `e` is alive.
    pub(crate) fn insert(&mut self, e: EntityId, value: C) -> Option<C> {
        let (p, s) = split(e);
        if self.pages.len() <= p {
            self.pages.resize_with(p + 1, || None);
        }
        let page = match &mut self.pages[p] {
            Some(page) => page,
            slot @ None => {
                let values = self
                    .spare
                    .pop()
                    .unwrap_or_else(|| (0..PAGE).map(|_| C::default()).collect());
                slot.insert(Box::new(Page {
                    occupied: [0; WORDS],
                    touched: Default::default(),
                    len: 0,
                    values,
                }))
            }
        };
        page.mark(s);
        let old = std::mem::replace(&mut page.values[s], value);
        if page.has(s) {
            return Some(old);
        }
        page.occupied[s / 64] |= 1 << (s % 64);
        page.len += 1;
        self.len += 1;
        None
    }

    /// Removes the value of `e`, keeping it for the removal hook at the next commit.
    pub(crate) fn remove(&mut self, e: EntityId) -> Option<&C> {
        let (p, s) = split(e);
        let page = self.pages.get_mut(p)?.as_mut()?;
        if !page.has(s) {
            return None;
        }
        let value = std::mem::take(&mut page.values[s]);
        page.occupied[s / 64] &= !(1 << (s % 64));
        page.mark(s);
        page.len -= 1;
        self.len -= 1;
        let seq = self.removed.len() as u32;
        self.removed.push(Removed {
            entity: e,
            seq,
            value,
        });
        self.removed.last().map(|r| &r.value)
    }

    /// Whether anything was written since the last commit.
    pub(crate) fn has_changes(&self) -> bool {
        !self.removed.is_empty() || self.pages.iter().flatten().any(|p| p.any_touched())
    }

    /// Calls `f` for every slot written since the last commit, in entity-id order, with its
    /// current value (None if removed) and clears the marks. Then frees emptied pages.
    pub(crate) fn drain_touched(&mut self, mut f: impl FnMut(EntityId, Option<&C>, &[Removed<C>])) {
        self.removed.sort_unstable_by_key(|r| (r.entity, r.seq));
        for (p, page) in self.pages.iter_mut().enumerate() {
            let Some(pg) = page else { continue };
            for (w, word) in pg.touched.iter().enumerate() {
                let mut bits = word.replace(0);
                while bits != 0 {
                    let s = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    f(
                        entity(p, s),
                        pg.has(s).then(|| &pg.values[s]),
                        &self.removed,
                    );
                }
            }
            if pg.len == 0
                && let Some(emptied) = page.take()
            {
                self.spare.push(emptied.values);
            }
        }
        self.removed.clear();
    }

    /// Treats the current values as committed (after a restore).
    pub(crate) fn forget_changes(&mut self) {
        for page in self.pages.iter().flatten() {
            page.touched.iter().for_each(|w| w.set(0));
        }
        self.removed.clear();
    }
}

/// Iterator over a column's values in entity-id order.
#[derive(Debug)]
pub struct Iter<'a, C> {
    pages: std::iter::Enumerate<std::slice::Iter<'a, Option<Box<Page<C>>>>>,
    page: Option<(usize, &'a Page<C>)>,
    word: usize,
    bits: u64,
}

impl<'a, C> Iterator for Iter<'a, C> {
    type Item = (EntityId, &'a C);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((p, page)) = self.page {
                if self.bits != 0 {
                    let s = self.word * 64 + self.bits.trailing_zeros() as usize;
                    self.bits &= self.bits - 1;
                    return Some((entity(p, s), &page.values[s]));
                }
                if self.word + 1 < WORDS {
                    self.word += 1;
                    self.bits = page.occupied[self.word];
                    continue;
                }
            }
            let (p, page) = self.pages.find_map(|(p, page)| Some((p, page.as_ref()?)))?;
            self.page = Some((p, page));
            self.word = 0;
            self.bits = page.occupied[0];
        }
    }
}

/// The page an [`IterMut`] or [`JoinMut`] walks: its values as a slice iterator positioned at
/// slot `next`, so each yielded `&mut` comes from `nth` (no index-based aliasing).
#[derive(Debug)]
struct PageCursor<'a, C> {
    page: usize,
    occupied: [u64; WORDS],
    touched: &'a [Cell<u64>; WORDS],
    values: std::slice::IterMut<'a, C>,
    next: usize,
}

impl<'a, C> PageCursor<'a, C> {
    fn new(page: usize, p: &'a mut Page<C>) -> Self {
        let Page {
            occupied,
            touched,
            values,
            ..
        } = p;
        Self {
            page,
            occupied: *occupied,
            touched,
            values: values.iter_mut(),
            next: 0,
        }
    }

    #[inline]
    fn take(&mut self, s: usize) -> Option<(EntityId, Mut<'a, C>)> {
        let value = self.values.nth(s - self.next)?;
        self.next = s + 1;
        Some((
            entity(self.page, s),
            Mut {
                value,
                touched: &self.touched[s / 64],
                bit: 1 << (s % 64),
                marked: false,
            },
        ))
    }
}

/// Iterator over a column's values, mutably, in entity-id order.
#[derive(Debug)]
pub struct IterMut<'a, C> {
    pages: std::iter::Enumerate<std::slice::IterMut<'a, Option<Box<Page<C>>>>>,
    page: Option<PageCursor<'a, C>>,
    word: usize,
    bits: u64,
}

impl<'a, C> Iterator for IterMut<'a, C> {
    type Item = (EntityId, Mut<'a, C>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(cur) = &mut self.page {
                if self.bits != 0 {
                    let s = self.word * 64 + self.bits.trailing_zeros() as usize;
                    self.bits &= self.bits - 1;
                    return cur.take(s);
                }
                if self.word + 1 < WORDS {
                    self.word += 1;
                    self.bits = cur.occupied[self.word];
                    continue;
                }
            }
            let cur = self
                .pages
                .find_map(|(p, page)| Some(PageCursor::new(p, page.as_mut()?)))?;
            self.bits = cur.occupied[0];
            self.word = 0;
            self.page = Some(cur);
        }
    }
}

type PagePairs<'a, A, B> = std::iter::Zip<
    std::slice::IterMut<'a, Option<Box<Page<A>>>>,
    std::slice::Iter<'a, Option<Box<Page<B>>>>,
>;

/// Iterator over entities in two columns, the first mutable, in entity-id order.
#[derive(Debug)]
pub struct JoinMut<'a, A, B> {
    pages: std::iter::Enumerate<PagePairs<'a, A, B>>,
    page: Option<(PageCursor<'a, A>, &'a Page<B>)>,
    word: usize,
    bits: u64,
}

impl<'a, A, B> Iterator for JoinMut<'a, A, B> {
    type Item = (EntityId, Mut<'a, A>, &'a B);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((cur, b)) = &mut self.page {
                if self.bits != 0 {
                    let s = self.word * 64 + self.bits.trailing_zeros() as usize;
                    self.bits &= self.bits - 1;
                    let (e, a) = cur.take(s)?;
                    return Some((e, a, &b.values[s]));
                }
                if self.word + 1 < WORDS {
                    self.word += 1;
                    self.bits = cur.occupied[self.word] & b.occupied[self.word];
                    continue;
                }
            }
            let (cur, b) = self
                .pages
                .find_map(|(p, (a, b))| Some((PageCursor::new(p, a.as_mut()?), b.as_ref()?)))?;
            self.bits = cur.occupied[0] & b.occupied[0];
            self.word = 0;
            self.page = Some((cur, b));
        }
    }
}

/// The last value removed from `e` since the last commit, from a list sorted by (entity, seq).
pub(crate) fn last_removed<C>(removed: &[Removed<C>], e: EntityId) -> Option<&C> {
    let end = removed.partition_point(|r| r.entity <= e);
    removed[..end]
        .last()
        .filter(|r| r.entity == e)
        .map(|r| &r.value)
}
