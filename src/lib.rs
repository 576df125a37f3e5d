//! agentpack: deployment policy in, SCCM and Jamf artifacts plus a checksum manifest out.
//!
//! The data flows one way: `policy` and `product` are loaded and validated, `build` reads the
//! installers once and drives the renderers, `windows` and `macos` render artifacts in memory,
//! `build::Staging` writes them atomically and `manifest` records their checksums.
//! `formats` holds vendor-agnostic file formats; `commands` and `cli` are the thin front end.

pub mod build;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod formats;
pub mod macos;
pub mod manifest;
pub mod panic_guard;
pub mod policy;
pub mod product;
pub mod render;
pub mod secret;
pub mod windows;
