//! install-args.txt: the console-style argument string, for pasting where a transform is not used.

use super::properties::WindowsProperties;
use crate::error::Result;

pub fn render_install_args(props: &WindowsProperties) -> Result<String> {
    crate::render::render("windows/install-args.txt", props)
}
