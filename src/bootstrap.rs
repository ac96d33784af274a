//! Composition root: builds adapters from configuration and wires them into the app services.
