//! exception (to be written)
