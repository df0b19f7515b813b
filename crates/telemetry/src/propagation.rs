//! propagation (to be written)
