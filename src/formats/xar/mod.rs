//! xar archives, the container of macOS flat packages (`.pkg`).
//!
//! Layout: a big-endian header (`xar!`, header size 28, version 1, TOC lengths, checksum
//! algorithm), the zlib-compressed XML table of contents (TOC), then the heap. Heap offset 0
//! holds the checksum of the compressed TOC; member data follows, located by `<data><offset>`.
//!
//! * [`XarBuilder`] writes deterministic archives (SHA-1, fixed times and owners, ids and heap
//!   in insertion order); members come from memory or stream from a file range.
//! * [`XarReader`] validates header, TOC and TOC checksum, lists entries and streams members,
//!   with every untrusted length checked before use.
//! * [`HeapVerifier`] checks every member's archived checksum from the file streamed once in
//!   order (e.g. while it is being hashed), without seeking.

mod checksum;
mod error;
mod header;
mod reader;
mod stream;
mod toc;
mod verify;
mod writer;
pub(crate) mod xmltree;

pub use checksum::ChecksumAlg;
pub use error::{XarError, XarErrorKind};
pub use header::{XarHeader, HEADER_SIZE, MAGIC};
pub use reader::{XarReader, MAX_TOC_COMPRESSED, MAX_TOC_XML};
pub use toc::{Encoding, EntryData, EntryKind, MemberChecksum, Toc, TocChecksum, XarEntry};
pub use verify::{HeapVerifier, MemberChecks, UnverifiedMember};
pub use writer::{FileRange, MemberSource, XarBuilder};

#[cfg(test)]
mod tests;
