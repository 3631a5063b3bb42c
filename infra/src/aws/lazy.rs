//! SDK clients built on first use. Building one (its runtime plugins, endpoint resolver, the
//! connector check) is part of a Lambda's init; the portal function's requests never send mail
//! (the notify function does) and rarely schedule, so those clients wait for their first call.

use std::fmt;
use std::sync::{Arc, OnceLock};

/// A client of type `C`, built once by `make` on the first `get`, then shared by every clone.
pub struct LazyClient<C> {
    inner: Arc<Inner<C>>,
}

struct Inner<C> {
    client: OnceLock<C>,
    make: Box<dyn Fn() -> C + Send + Sync>,
}

impl<C: Clone + Send + Sync + 'static> LazyClient<C> {
    /// Built by `make` at the first `get` (from the shared SDK config, so on the same HTTP client).
    pub fn new(make: impl Fn() -> C + Send + Sync + 'static) -> Self {
        Self {
            inner: Arc::new(Inner {
                client: OnceLock::new(),
                make: Box::new(make),
            }),
        }
    }

    /// A client built already (tests).
    pub fn ready(client: C) -> Self {
        let copy = client.clone();
        let lazy = Self::new(move || copy.clone());
        let _ = lazy.inner.client.set(client);
        lazy
    }

    pub fn get(&self) -> &C {
        self.inner.client.get_or_init(|| (self.inner.make)())
    }
}

impl<C> Clone for LazyClient<C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<C: fmt::Debug> fmt::Debug for LazyClient<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.client.get() {
            Some(client) => f.debug_tuple("LazyClient").field(client).finish(),
            None => f.write_str("LazyClient(not built yet)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_client_is_built_once_at_first_use_and_shared_by_clones() {
        let built = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&built);
        let lazy = LazyClient::new(move || counter.fetch_add(1, Ordering::SeqCst) + 1);
        assert_eq!(built.load(Ordering::SeqCst), 0);
        let clone = lazy.clone();
        assert_eq!(*clone.get(), 1);
        assert_eq!(*lazy.get(), 1);
        assert_eq!(built.load(Ordering::SeqCst), 1);
        assert_eq!(*LazyClient::ready(7).get(), 7);
    }
}
