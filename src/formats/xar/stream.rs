//! Read and Write adapters that hash and count the bytes passing through, so members can be
//! verified and copied in one streaming pass without holding them in memory.

use std::io::{self, Read, Write};

use super::checksum::Hasher;

pub(crate) struct HashingReader<R> {
    pub(crate) inner: R,
    pub(crate) hasher: Option<Hasher>,
    pub(crate) count: u64,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R, hasher: Option<Hasher>) -> Self {
        HashingReader {
            inner,
            hasher,
            count: 0,
        }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }
}

pub(crate) struct HashingWriter<W> {
    pub(crate) inner: W,
    pub(crate) hasher: Option<Hasher>,
    pub(crate) count: u64,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W, hasher: Option<Hasher>) -> Self {
        HashingWriter {
            inner,
            hasher,
            count: 0,
        }
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
