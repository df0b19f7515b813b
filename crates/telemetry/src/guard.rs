//! guard (to be written)
