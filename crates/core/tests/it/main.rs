//! Integration tests for ipam-core: one binary, one module per concern.

mod edges;
