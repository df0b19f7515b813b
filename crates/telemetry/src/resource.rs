//! resource (to be written)
