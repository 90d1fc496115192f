//! The chain id: what binds every signature to one world and one zone.

/// The hash of a zone's genesis. It is part of every signing namespace (actions, consensus
/// votes and certificates, session consents, the edge's challenge), so a signature made for one
/// genesis never verifies under another: not on a copy of the network with the same zone id, and
/// not in another zone of the same world.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ChainId(pub [u8; 32]);

impl ChainId {
    /// The signing namespace of `domain` on this chain: `domain ‖ "@" ‖ id`. Domains are fixed
    /// ASCII strings without `@`, so no two (domain, chain) pairs share a namespace.
    pub fn namespace(&self, domain: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(domain.len() + 1 + self.0.len());
        out.extend_from_slice(domain);
        out.push(b'@');
        out.extend_from_slice(&self.0);
        out
    }
}

impl std::fmt::Debug for ChainId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChainId({self})")
    }
}

impl std::fmt::Display for ChainId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_differ_by_chain_and_domain() {
        let a = ChainId([1; 32]);
        let b = ChainId([2; 32]);
        assert_ne!(
            a.namespace(b"z3r0/action/v1"),
            b.namespace(b"z3r0/action/v1")
        );
        assert_ne!(
            a.namespace(b"z3r0/action/v1"),
            a.namespace(b"z3r0/session/v1")
        );
        assert!(a.namespace(b"d").starts_with(b"d@"));
        assert_eq!(a.to_string().len(), 64);
    }
}
