//! Vendor profiles: the facts one product era needs (`profiles/*.yaml`).
//!
//! The code never names a vendor: every identifier, path and property name comes from here.
//! Profiles are embedded in the binary; `--profiles DIR` adds or overrides them.

mod registry;
mod schema;

pub use registry::Products;
pub use schema::*;
