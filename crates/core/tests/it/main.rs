//! Integration tests for ipam-core: one binary, one module per concern.

mod against_model;
mod differential;
mod edges;
mod laws;
mod model;
mod policies;
