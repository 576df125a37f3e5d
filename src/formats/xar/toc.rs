//! The table of contents: the data model the reader exposes and the XML the writer emits.
//!
//! Only elements that `apple-xar`'s `deny_unknown_fields` deserializer knows are written
//! (`name`, `type`, `mode`, `uid`, `gid`, `user`, `group`, `mtime`, `data`, nested `file`),
//! so signing tools built on it can re-sign our output. The parser accepts any extra elements.

use super::checksum::{hex, ChecksumAlg};
use super::xmltree::{self, escape, Element};

/// Fixed timestamps keep output reproducible.
pub(crate) const CREATION_TIME: &str = "1970-01-01T00:00:00";
pub(crate) const FILE_TIME: &str = "1970-01-01T00:00:00Z";

/// How a member's stored bytes relate to its extracted bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// `application/octet-stream`: stored as is.
    OctetStream,
    /// `application/x-gzip`, which in xar means a zlib (RFC 1950) stream.
    Zlib,
    /// Anything else (bzip2, lzma, …): listed, but not decoded by this crate.
    Other(String),
}

impl Encoding {
    pub fn from_style(style: &str) -> Self {
        match style {
            "application/octet-stream" => Encoding::OctetStream,
            "application/x-gzip" => Encoding::Zlib,
            other => Encoding::Other(other.to_string()),
        }
    }

    pub fn style(&self) -> &str {
        match self {
            Encoding::OctetStream => "application/octet-stream",
            Encoding::Zlib => "application/x-gzip",
            Encoding::Other(s) => s,
        }
    }
}

/// A checksum recorded for a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberChecksum {
    /// None when the style is not one xar defines.
    pub alg: Option<ChecksumAlg>,
    /// Lowercase hex digest.
    pub hex: String,
}

/// Where a member's bytes are and how to check them. Offsets are relative to the heap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryData {
    pub offset: u64,
    /// Stored (archived) length.
    pub length: u64,
    /// Extracted length.
    pub size: u64,
    pub encoding: Encoding,
    pub archived_checksum: Option<MemberChecksum>,
    pub extracted_checksum: Option<MemberChecksum>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
    HardLink,
    Other(String),
}

/// One `<file>` of the TOC, flattened: `path` joins the names of its ancestors with `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XarEntry {
    pub id: u64,
    pub path: String,
    pub kind: EntryKind,
    /// The `mode` text as stored (octal, e.g. `0644`).
    pub mode: Option<String>,
    pub data: Option<EntryData>,
}

/// The TOC checksum declaration: where in the heap the digest of the compressed TOC lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TocChecksum {
    pub style: String,
    pub offset: u64,
    pub size: u64,
}

/// The parsed table of contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Toc {
    pub creation_time: Option<String>,
    pub checksum: Option<TocChecksum>,
    /// True when the TOC holds a `<signature>` (RSA) element.
    pub has_signature: bool,
    /// True when the TOC holds an `<x-signature>` (CMS) element.
    pub has_x_signature: bool,
    /// Every file and directory in document order (parents before children).
    pub entries: Vec<XarEntry>,
}

impl Toc {
    /// True when the archive carries any signature; wrapping or rewriting it drops them.
    pub fn is_signed(&self) -> bool {
        self.has_signature || self.has_x_signature
    }
}

fn parse_u64(parent: &Element, name: &str, what: &str) -> Result<u64, String> {
    let text = parent
        .child_text(name)
        .ok_or_else(|| format!("{what}: missing <{name}>"))?;
    text.parse::<u64>()
        .map_err(|_| format!("{what}: <{name}> is not a number: {text:?}"))
}

fn parse_checksum(el: Option<&Element>) -> Option<MemberChecksum> {
    el.map(|c| MemberChecksum {
        alg: c.attr("style").and_then(ChecksumAlg::from_style),
        hex: c.text.trim().to_ascii_lowercase(),
    })
}

fn parse_data(data: &Element, path: &str) -> Result<EntryData, String> {
    let what = format!("data of {path:?}");
    Ok(EntryData {
        offset: parse_u64(data, "offset", &what)?,
        length: parse_u64(data, "length", &what)?,
        size: parse_u64(data, "size", &what)?,
        encoding: data
            .child("encoding")
            .and_then(|e| e.attr("style"))
            .map_or(Encoding::OctetStream, Encoding::from_style),
        archived_checksum: parse_checksum(data.child("archived-checksum")),
        extracted_checksum: parse_checksum(data.child("extracted-checksum")),
    })
}

fn parse_files(parent: &Element, prefix: &str, out: &mut Vec<XarEntry>) -> Result<(), String> {
    for file in parent.children_named("file") {
        // Several <name> elements are legal; the last one wins, as in Apple's reader.
        let name = file
            .children_named("name")
            .last()
            .map(|n| n.text.trim().to_string())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| format!("a <file> under {prefix:?} has no name"))?;
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let id = file
            .attr("id")
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| format!("{path:?} has no numeric id"))?;
        let kind = match file.child_text("type").unwrap_or("file") {
            "file" => EntryKind::File,
            "directory" => EntryKind::Directory,
            "symlink" => EntryKind::Symlink,
            "hardlink" => EntryKind::HardLink,
            other => EntryKind::Other(other.to_string()),
        };
        let data = match file.child("data") {
            Some(d) => Some(parse_data(d, &path)?),
            None => None,
        };
        out.push(XarEntry {
            id,
            path: path.clone(),
            kind,
            mode: file.child_text("mode").map(str::to_string),
            data,
        });
        parse_files(file, &path, out)?;
    }
    Ok(())
}

/// Interpret the TOC XML. Errors are messages; the reader adds the file name.
pub(crate) fn parse_toc(xml: &str) -> Result<Toc, String> {
    let root = xmltree::parse(xml)?;
    if root.name != "xar" {
        return Err(format!("root element is <{}>, expected <xar>", root.name));
    }
    let toc = root.child("toc").ok_or("missing <toc> element")?;
    let checksum = match toc.child("checksum") {
        Some(c) => Some(TocChecksum {
            style: c.attr("style").unwrap_or("").to_string(),
            offset: parse_u64(c, "offset", "TOC checksum")?,
            size: parse_u64(c, "size", "TOC checksum")?,
        }),
        None => None,
    };
    let mut entries = Vec::new();
    parse_files(toc, "", &mut entries)?;
    Ok(Toc {
        creation_time: toc.child_text("creation-time").map(str::to_string),
        checksum,
        has_signature: toc.child("signature").is_some(),
        has_x_signature: toc.child("x-signature").is_some(),
        entries,
    })
}

/// A member as the writer lays it out, ready to be described in the TOC.
pub(crate) struct TocFileData {
    pub(crate) offset: u64,
    pub(crate) length: u64,
    pub(crate) size: u64,
    pub(crate) encoding: Encoding,
    pub(crate) archived_sha1: Vec<u8>,
    pub(crate) extracted_sha1: Vec<u8>,
}

/// A node of the tree the writer describes.
pub(crate) enum TocNode<'a> {
    File {
        id: u64,
        name: &'a str,
        data: TocFileData,
    },
    Dir {
        id: u64,
        name: &'a str,
        children: Vec<TocNode<'a>>,
    },
}

fn write_common(out: &mut String, indent: &str, id: u64, name: &str, kind: &str, mode: &str) {
    out.push_str(&format!(
        "{indent}<file id=\"{id}\">\n\
         {indent} <name>{}</name>\n\
         {indent} <type>{kind}</type>\n\
         {indent} <mode>{mode}</mode>\n\
         {indent} <uid>0</uid>\n\
         {indent} <gid>0</gid>\n\
         {indent} <user>root</user>\n\
         {indent} <group>wheel</group>\n\
         {indent} <mtime>{FILE_TIME}</mtime>\n",
        escape(name)
    ));
}

fn write_node(out: &mut String, node: &TocNode<'_>, depth: usize) {
    let indent = " ".repeat(depth);
    match node {
        TocNode::File { id, name, data } => {
            write_common(out, &indent, *id, name, "file", "0644");
            out.push_str(&format!(
                "{indent} <data>\n\
                 {indent}  <length>{}</length>\n\
                 {indent}  <offset>{}</offset>\n\
                 {indent}  <size>{}</size>\n\
                 {indent}  <encoding style=\"{}\"/>\n\
                 {indent}  <archived-checksum style=\"sha1\">{}</archived-checksum>\n\
                 {indent}  <extracted-checksum style=\"sha1\">{}</extracted-checksum>\n\
                 {indent} </data>\n\
                 {indent}</file>\n",
                data.length,
                data.offset,
                data.size,
                escape(data.encoding.style()),
                hex(&data.archived_sha1),
                hex(&data.extracted_sha1),
            ));
        }
        TocNode::Dir { id, name, children } => {
            write_common(out, &indent, *id, name, "directory", "0755");
            for child in children {
                write_node(out, child, depth + 1);
            }
            out.push_str(&format!("{indent}</file>\n"));
        }
    }
}

/// The TOC XML for `nodes`, with a SHA-1 TOC checksum at heap offset 0.
pub(crate) fn write_toc(nodes: &[TocNode<'_>]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xar>\n <toc>\n");
    out.push_str(&format!(
        "  <creation-time>{CREATION_TIME}</creation-time>\n  \
         <checksum style=\"sha1\">\n   <offset>0</offset>\n   <size>20</size>\n  </checksum>\n"
    ));
    for node in nodes {
        write_node(&mut out, node, 2);
    }
    out.push_str(" </toc>\n</xar>\n");
    out
}
