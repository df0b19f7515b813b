//! db (to be written)
