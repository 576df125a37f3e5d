use crate::error::{Error, Problem, Result};
use std::path::Path;

pub fn run(file: &Path, _base: Option<&Path>, _json: bool) -> Result<i32> {
    Err(Error::bad_input(Problem::new("inspect is not available yet").file(file)))
}

pub fn mst_diff(_base: &Path, _modified: &Path, output: &Path, _json: bool) -> Result<i32> {
    Err(Error::bad_input(Problem::new("mst diff is not available yet").file(output)))
}
