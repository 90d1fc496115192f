//! Systems in one fixed order.

/// A system: a plain function over the tick's state.
pub type System<S> = fn(&mut S);

/// A list of systems over a state `S`, run in the order they were added. There is no parallel
/// executor and no reordering: every node runs the same systems in the same order each tick.
pub struct Schedule<S> {
    systems: Vec<(&'static str, System<S>)>,
}

impl<S> Default for Schedule<S> {
    fn default() -> Self {
        Self {
            systems: Vec::new(),
        }
    }
}

impl<S> std::fmt::Debug for Schedule<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.systems.iter().map(|(name, _)| name))
            .finish()
    }
}

impl<S> Schedule<S> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a system; it runs after every system added before it.
    pub fn add(&mut self, name: &'static str, system: System<S>) -> &mut Self {
        self.systems.push((name, system));
        self
    }

    /// Runs every system once, in order.
    pub fn run(&self, state: &mut S) {
        for (_, system) in &self.systems {
            system(state);
        }
    }

    /// System names in run order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.systems.iter().map(|(name, _)| *name)
    }
}
