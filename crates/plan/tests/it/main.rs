//! ipam-plan's integration tests: one binary, one module per concern.

mod assign;
mod edge;
mod errors;
mod laws;
mod map;
mod reference;
mod replan;
