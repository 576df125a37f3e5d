//! Product-agnostic file formats. Nothing in here knows which vendor or product it serves:
//! each module is usable on its own and is tested against an independent reader.

pub mod cpio;
pub mod flatpkg;
pub mod mst;
pub mod quote;
pub mod xar;
