//! Protobuf field primitives for `wire`: the encoded size of a scalar or
//! string field (proto3 defaults skipped, as prost does) and the cursor
//! that writes them into a buffer the size pass sized exactly. Keys and
//! varints come from `prost::encoding`.

use bytes::BufMut;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

/// A length-delimited field with a body of `len` bytes.
#[inline]
pub(super) fn ld_len(tag: u32, len: usize) -> usize {
    key_len(tag) + varint_size(len as u64) + len
}

/// As `varint` below: a value below 0x80 is one byte; prost sizes the rest.
#[inline(always)]
fn varint_size(v: u64) -> usize {
    if v < 0x80 { 1 } else { encoded_len_varint(v) }
}

/// A proto3 `string`/`bytes` field (skipped when empty).
pub(super) fn str_len(tag: u32, s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        ld_len(tag, s.len())
    }
}

pub(super) fn varint_len(tag: u32, v: u64) -> usize {
    if v == 0 {
        0
    } else {
        key_len(tag) + encoded_len_varint(v)
    }
}

pub(super) fn fixed64_len(tag: u32, v: u64) -> usize {
    if v == 0 { 0 } else { key_len(tag) + 8 }
}

pub(super) fn fixed32_len(tag: u32, v: u32) -> usize {
    if v == 0 { 0 } else { key_len(tag) + 4 }
}

/// The write pass fills a buffer the size pass sized exactly. A byte
/// written here is an indexed store (`Vec::push` also checks capacity and
/// may grow, which keeps prost's `encode_varint` from being inlined).
///
/// Should the two passes ever disagree, nothing panics and nothing is
/// written past the buffer: bytes beyond its end are counted, not stored,
/// and [`is_full`](Out::is_full) (one comparison per batch) tells the
/// encoder, which then refuses the batch instead of sending corrupt bytes.
pub(super) struct Out<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Out<'a> {
    pub(super) fn new(buf: &'a mut [u8]) -> Self {
        Out { buf, pos: 0 }
    }

    /// Exactly every byte was written: the passes agreed.
    pub(super) fn is_full(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// Bytes the write pass produced (stored or not).
    pub(super) fn written(&self) -> usize {
        self.pos
    }

    /// Moves the cursor out (leaving this one empty) for a hot loop.
    pub(super) fn detach(&mut self) -> Out<'a> {
        Out {
            buf: std::mem::take(&mut self.buf),
            pos: self.pos,
        }
    }

    pub(super) fn attach(&mut self, cursor: Out<'a>) {
        *self = cursor;
    }
}

// SAFETY: `chunk_mut` is the unwritten rest of `buf` (empty once past its
// end), `remaining_mut` its length, and `advance_mut` moves past bytes
// `chunk_mut` handed out.
unsafe impl BufMut for Out<'_> {
    fn remaining_mut(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    unsafe fn advance_mut(&mut self, cnt: usize) {
        assert!(cnt <= self.remaining_mut(), "wire: advance past chunk_mut");
        self.pos += cnt;
    }

    fn chunk_mut(&mut self) -> &mut bytes::buf::UninitSlice {
        let rest = self.buf.get_mut(self.pos..).unwrap_or_default();
        bytes::buf::UninitSlice::new(rest)
    }

    #[inline]
    fn put_u8(&mut self, n: u8) {
        if let Some(b) = self.buf.get_mut(self.pos) {
            *b = n;
        }
        self.pos += 1;
    }

    #[inline]
    fn put_slice(&mut self, src: &[u8]) {
        let end = self.pos + src.len();
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            dst.copy_from_slice(src);
        }
        self.pos = end;
    }
}

/// A length below 0x80 (nearly every one here) is a single byte that is
/// its own varint; prost's `encode_varint` writes all others.
#[inline(always)]
pub(super) fn varint(v: u64, out: &mut Out<'_>) {
    if v < 0x80 {
        out.put_u8(v as u8);
    } else {
        encode_varint(v, out);
    }
}

#[inline]
pub(super) fn put_header(tag: u32, len: usize, out: &mut Out<'_>) {
    encode_key(tag, WireType::LengthDelimited, out);
    varint(len as u64, out);
}

/// A length-delimited field, written even when empty.
#[inline]
pub(super) fn put_bytes(tag: u32, bytes: &[u8], out: &mut Out<'_>) {
    put_header(tag, bytes.len(), out);
    out.put_slice(bytes);
}

#[inline]
pub(super) fn put_str(tag: u32, s: &str, out: &mut Out<'_>) {
    if !s.is_empty() {
        put_bytes(tag, s.as_bytes(), out);
    }
}

pub(super) fn put_varint(tag: u32, v: u64, out: &mut Out<'_>) {
    if v != 0 {
        encode_key(tag, WireType::Varint, out);
        encode_varint(v, out);
    }
}

pub(super) fn put_fixed64(tag: u32, v: u64, out: &mut Out<'_>) {
    if v != 0 {
        encode_key(tag, WireType::SixtyFourBit, out);
        out.put_slice(&v.to_le_bytes());
    }
}

pub(super) fn put_fixed32(tag: u32, v: u32, out: &mut Out<'_>) {
    if v != 0 {
        encode_key(tag, WireType::ThirtyTwoBit, out);
        out.put_slice(&v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_pass_longer_than_the_size_pass_is_detected_not_a_panic() {
        let mut buf = [0u8; 3];
        let mut out = Out::new(&mut buf);
        put_str(1, "four", &mut out);
        varint(300, &mut out);
        assert!(!out.is_full());
        assert_eq!(out.written(), 2 + 4 + 2);
        // A slice that does not fit is not written at all.
        assert_eq!(buf, [0x0a, 4, 0], "nothing written past the buffer");
    }

    #[test]
    fn a_write_pass_shorter_than_the_size_pass_is_detected() {
        let mut buf = [0u8; 8];
        let mut out = Out::new(&mut buf);
        put_fixed32(2, 7, &mut out);
        assert!(!out.is_full());
        assert_eq!(out.written(), 5);
    }
}
