//! The state the mock's handlers and ticker share: the model, and its exposition encoded once per change
//! so that a scrape only copies a reference-counted buffer.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use bytes::Bytes;

use super::{Model, Scenario};
use crate::metrics::Format;

/// A cheap handle on the mock's shared state.
#[derive(Debug, Clone)]
pub struct MockState {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    model: Mutex<Model>,
    bodies: RwLock<Bodies>,
}

#[derive(Debug)]
struct Bodies {
    text: Bytes,
    openmetrics: Bytes,
}

impl Bodies {
    fn of(model: &Model) -> Self {
        Self {
            text: Bytes::from(model.encode(Format::Text)),
            openmetrics: Bytes::from(model.encode(Format::OpenMetrics)),
        }
    }
}

impl MockState {
    #[must_use]
    pub fn new(model: Model) -> Self {
        let bodies = RwLock::new(Bodies::of(&model));
        Self {
            shared: Arc::new(Shared {
                model: Mutex::new(model),
                bodies,
            }),
        }
    }

    /// The current exposition in `format`.
    #[must_use]
    pub fn metrics(&self, format: Format) -> Bytes {
        let bodies = self
            .shared
            .bodies
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        match format {
            Format::Text => bodies.text.clone(),
            Format::OpenMetrics => bodies.openmetrics.clone(),
        }
    }

    /// Reads the model under its lock.
    pub fn with_model<T>(&self, read: impl FnOnce(&Model) -> T) -> T {
        read(&self.model())
    }

    /// Advances the model by one interval.
    pub fn tick(&self) {
        self.update(Model::tick);
    }

    /// Switches the scenario; returns the one it replaced.
    #[must_use]
    pub fn switch(&self, scenario: Scenario) -> Scenario {
        let mut previous = scenario;
        self.update(|model| {
            previous = model.scenario();
            model.switch(scenario);
        });
        previous
    }

    fn update(&self, change: impl FnOnce(&mut Model)) {
        let mut model = self.model();
        change(&mut model);
        // Encoded while the model is still locked, so bodies never go back in time.
        let bodies = Bodies::of(&model);
        *self
            .shared
            .bodies
            .write()
            .unwrap_or_else(PoisonError::into_inner) = bodies;
    }

    fn model(&self) -> MutexGuard<'_, Model> {
        // The model holds no invariant a panicking reader could break: keep serving.
        self.shared
            .model
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
