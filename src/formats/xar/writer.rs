//! Deterministic xar writer: `header | zlib(TOC) | heap`, heap = SHA-1 of the compressed TOC,
//! then member data in id order.
//!
//! Members come from memory or are streamed from a range of a file. Streaming takes two
//! passes — hash first (the TOC, which precedes the heap, needs every checksum and length),
//! then copy — and the copy is re-hashed so a file changed in between is detected instead of
//! producing a package whose checksums lie.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use flate2::write::{ZlibDecoder, ZlibEncoder};

use super::checksum::hex;
use super::checksum::{sha1, ChecksumAlg, Hasher};
use super::error::{XarError, XarErrorKind};
use super::header::XarHeader;
use super::stream::{HashingReader, HashingWriter};
use super::toc::{self, Encoding, MemberChecksum, TocFileData, TocNode};
use super::xmltree::check_xml_text;

/// Bytes stored verbatim in another file, e.g. a member of a vendor package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRange {
    pub path: PathBuf,
    /// Absolute offset in `path`.
    pub offset: u64,
    /// Number of stored bytes.
    pub length: u64,
    /// Encoding of the stored bytes; kept as is. Only octet-stream and zlib are accepted,
    /// because the extracted checksum must be computed.
    pub encoding: Encoding,
    /// The source archive's checksum of the stored bytes, verified while hashing so a corrupt
    /// source is refused rather than re-checksummed into a valid-looking archive.
    pub expected_archived: Option<MemberChecksum>,
}

/// Where a member's data comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemberSource {
    /// In-memory bytes, stored as `application/octet-stream`.
    Bytes(Vec<u8>),
    /// Streamed from a file, never held whole in memory.
    FileRange(FileRange),
}

enum Node {
    File { name: String, source: MemberSource },
    Dir { name: String, children: Vec<Node> },
}

impl Node {
    fn name(&self) -> &str {
        match self {
            Node::File { name, .. } | Node::Dir { name, .. } => name,
        }
    }
}

/// Builds a xar archive. Children keep insertion order; ids and heap layout follow it, so the
/// same calls always give the same bytes.
#[derive(Default)]
pub struct XarBuilder {
    root: Vec<Node>,
}

/// Label used for writer-side errors that concern the output rather than an input file.
const OUTPUT: &str = "xar output";

fn invalid(member: &str, reason: &str) -> XarError {
    XarError::new(
        OUTPUT,
        None,
        XarErrorKind::InvalidMember {
            member: member.to_string(),
            reason: reason.to_string(),
        },
    )
}

fn split_path(path: &str) -> Result<Vec<&str>, XarError> {
    let parts: Vec<&str> = path.split('/').collect();
    for part in &parts {
        if part.is_empty() || *part == "." || *part == ".." {
            return Err(invalid(
                path,
                "path components must be non-empty and not . or ..",
            ));
        }
        check_xml_text(part).map_err(|reason| invalid(path, &reason))?;
    }
    Ok(parts)
}

impl XarBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Find or create the directory chain `dirs`, returning its children list.
    fn dir_children<'a>(
        &'a mut self,
        full: &str,
        dirs: &[&str],
    ) -> Result<&'a mut Vec<Node>, XarError> {
        let mut level = &mut self.root;
        for dir in dirs {
            let pos = match level.iter().position(|n| n.name() == *dir) {
                Some(pos) => pos,
                None => {
                    level.push(Node::Dir {
                        name: dir.to_string(),
                        children: Vec::new(),
                    });
                    level.len() - 1
                }
            };
            level = match &mut level[pos] {
                Node::Dir { children, .. } => children,
                Node::File { .. } => {
                    return Err(invalid(full, "a parent path is already a file"));
                }
            };
        }
        Ok(level)
    }

    /// Add a directory (and any missing parents). Adding an existing directory is a no-op.
    pub fn add_dir(&mut self, path: &str) -> Result<(), XarError> {
        let parts = split_path(path)?;
        self.dir_children(path, &parts)?;
        Ok(())
    }

    /// Add a file at `path` (`a/b/name`); missing parent directories are created.
    pub fn add_file(&mut self, path: &str, source: MemberSource) -> Result<(), XarError> {
        let parts = split_path(path)?;
        let (name, dirs) = parts
            .split_last()
            .ok_or_else(|| invalid(path, "empty path"))?;
        if let MemberSource::FileRange(range) = &source {
            if let Encoding::Other(style) = &range.encoding {
                return Err(XarError::new(
                    &range.path.display().to_string(),
                    Some(range.offset),
                    XarErrorKind::UnsupportedEncoding {
                        member: path.to_string(),
                        encoding: style.clone(),
                    },
                ));
            }
        }
        let level = self.dir_children(path, dirs)?;
        if level.iter().any(|n| n.name() == *name) {
            return Err(invalid(path, "duplicate path"));
        }
        level.push(Node::File {
            name: name.to_string(),
            source,
        });
        Ok(())
    }

    /// The whole archive in memory. Prefer [`XarBuilder::write_to`] for large members.
    pub fn to_bytes(&self) -> Result<Vec<u8>, XarError> {
        let mut out = Vec::new();
        self.write_to(&mut out)?;
        Ok(out)
    }

    /// Write the archive to `out`; returns the number of bytes written. On error the output
    /// is incomplete and should be discarded.
    pub fn write_to<W: Write>(&self, out: W) -> Result<u64, XarError> {
        // Pass 1: ids in document order, heap offsets in id order, checksums.
        let mut files: Vec<(String, &MemberSource, Vec<u8>)> = Vec::new();
        let mut next_id = 1u64;
        let mut heap_offset = ChecksumAlg::Sha1.digest_len();
        let nodes = layout(&self.root, "", &mut next_id, &mut heap_offset, &mut files)?;
        let toc_xml = toc::write_toc(&nodes);
        let mut encoder = ZlibEncoder::new(Vec::new(), flate2::Compression::new(9));
        let toc_z = encoder
            .write_all(toc_xml.as_bytes())
            .and_then(|_| encoder.finish())
            .map_err(|e| XarError::io(OUTPUT, None, e))?;
        let header = XarHeader::sha1(toc_z.len() as u64, toc_xml.len() as u64);

        // Pass 2: header, TOC, TOC checksum, member data.
        let mut out = CountingWriter {
            inner: out,
            count: 0,
        };
        let write_err = |e: io::Error| XarError::io(OUTPUT, None, e);
        out.write_all(&header.to_bytes()).map_err(write_err)?;
        out.write_all(&toc_z).map_err(write_err)?;
        out.write_all(&sha1(&toc_z)).map_err(write_err)?;
        for (member, source, archived_sha1) in files {
            match source {
                MemberSource::Bytes(bytes) => out.write_all(bytes).map_err(write_err)?,
                MemberSource::FileRange(range) => {
                    copy_range(range, &member, archived_sha1, &mut out)?;
                }
            }
        }
        out.flush().map_err(write_err)?;
        Ok(out.count)
    }
}

struct CountingWriter<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Assign ids and heap offsets, hash every member, and describe the tree for the TOC.
/// `files` receives (path, source, archived SHA-1) in heap order.
fn layout<'a>(
    nodes: &'a [Node],
    prefix: &str,
    next_id: &mut u64,
    heap_offset: &mut u64,
    files: &mut Vec<(String, &'a MemberSource, Vec<u8>)>,
) -> Result<Vec<TocNode<'a>>, XarError> {
    let mut out = Vec::with_capacity(nodes.len());
    for node in nodes {
        let id = *next_id;
        *next_id += 1;
        match node {
            Node::File { name, source } => {
                let path = format!("{prefix}{name}");
                let mut data = measure(source, &path)?;
                data.offset = *heap_offset;
                *heap_offset += data.length;
                files.push((path, source, data.archived_sha1.clone()));
                out.push(TocNode::File { id, name, data });
            }
            Node::Dir { name, children } => {
                let path = format!("{prefix}{name}/");
                let children = layout(children, &path, next_id, heap_offset, files)?;
                out.push(TocNode::Dir { id, name, children });
            }
        }
    }
    Ok(out)
}

fn open_range(range: &FileRange) -> Result<impl Read, XarError> {
    let name = range.path.display().to_string();
    let mut file = File::open(&range.path).map_err(|e| XarError::io(&name, None, e))?;
    file.seek(SeekFrom::Start(range.offset))
        .map_err(|e| XarError::io(&name, Some(range.offset), e))?;
    Ok(BufReader::new(file).take(range.length))
}

fn range_error(range: &FileRange, kind: XarErrorKind) -> XarError {
    XarError::new(&range.path.display().to_string(), Some(range.offset), kind)
}

/// Lengths and checksums of one member (offset is filled in by the caller).
fn measure(source: &MemberSource, member: &str) -> Result<TocFileData, XarError> {
    match source {
        MemberSource::Bytes(bytes) => {
            let digest = sha1(bytes);
            Ok(TocFileData {
                offset: 0,
                length: bytes.len() as u64,
                size: bytes.len() as u64,
                encoding: Encoding::OctetStream,
                archived_sha1: digest.clone(),
                extracted_sha1: digest,
            })
        }
        MemberSource::FileRange(range) => {
            let expected = range.expected_archived.as_ref();
            let verify = HashingReader::new(
                open_range(range)?,
                expected.and_then(|c| c.alg).and_then(Hasher::new),
            );
            let mut raw = HashingReader::new(verify, Hasher::new(ChecksumAlg::Sha1));
            let extracted = HashingWriter::new(io::sink(), Hasher::new(ChecksumAlg::Sha1));
            let corrupt = |e: io::Error| {
                range_error(
                    range,
                    XarErrorKind::MemberCorrupt {
                        member: member.to_string(),
                        detail: format!("cannot decode source: {e}"),
                    },
                )
            };
            let extracted = match range.encoding {
                Encoding::Zlib => {
                    let mut decoder = ZlibDecoder::new(extracted);
                    io::copy(&mut raw, &mut decoder).map_err(corrupt)?;
                    decoder.finish().map_err(corrupt)?
                }
                _ => {
                    let mut extracted = extracted;
                    io::copy(&mut raw, &mut extracted).map_err(corrupt)?;
                    extracted
                }
            };
            let source_digest = raw.inner.hasher.take().map(Hasher::finalize);
            if let (Some(want), Some(got)) = (expected, source_digest) {
                if hex(&got) != want.hex {
                    return Err(range_error(
                        range,
                        XarErrorKind::MemberCorrupt {
                            member: member.to_string(),
                            detail: format!(
                                "stored bytes have checksum {}, the source archive says {}",
                                hex(&got),
                                want.hex
                            ),
                        },
                    ));
                }
            }
            if raw.count != range.length {
                return Err(range_error(
                    range,
                    XarErrorKind::Truncated {
                        what: format!("source of member {member:?}"),
                        needed: range.length,
                        available: raw.count,
                    },
                ));
            }
            Ok(TocFileData {
                offset: 0,
                length: range.length,
                size: extracted.count,
                encoding: range.encoding.clone(),
                archived_sha1: raw.hasher.map(Hasher::finalize).unwrap_or_default(),
                extracted_sha1: extracted.hasher.map(Hasher::finalize).unwrap_or_default(),
            })
        }
    }
}

/// Copy a file range into the output, re-hashing to detect a source that changed.
fn copy_range<W: Write>(
    range: &FileRange,
    member: &str,
    expected_sha1: Vec<u8>,
    out: &mut W,
) -> Result<(), XarError> {
    let mut raw = HashingReader::new(open_range(range)?, Hasher::new(ChecksumAlg::Sha1));
    io::copy(&mut raw, out).map_err(|e| XarError::io(OUTPUT, None, e))?;
    let digest = raw.hasher.map(Hasher::finalize).unwrap_or_default();
    if raw.count != range.length || digest != expected_sha1 {
        return Err(range_error(
            range,
            XarErrorKind::SourceChanged {
                member: member.to_string(),
            },
        ));
    }
    Ok(())
}
