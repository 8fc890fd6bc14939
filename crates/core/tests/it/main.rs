//! Integration tests for ipam-core: one binary, one module per concern.

mod against_model;
mod edges;
mod laws;
mod model;
mod policies;
