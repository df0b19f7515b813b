//! testing (to be written)
