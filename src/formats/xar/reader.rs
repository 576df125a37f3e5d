//! Streaming xar reader: parses the header and TOC, verifies the TOC checksum, and copies
//! members by offset without loading them whole. Every length from the file is checked against
//! the file size and fixed limits before anything is allocated or sliced.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use flate2::read::ZlibDecoder;

use super::checksum::{hex, ChecksumAlg, Hasher};
use super::error::{XarError, XarErrorKind};
use super::header::{XarHeader, MAGIC};
use super::stream::{HashingReader, HashingWriter};
use super::toc::{self, Encoding, EntryKind, MemberChecksum, Toc, XarEntry};
use super::writer::FileRange;

/// Largest compressed TOC accepted. Real package TOCs are a few KiB.
pub const MAX_TOC_COMPRESSED: u64 = 64 << 20;
/// Largest uncompressed TOC accepted.
pub const MAX_TOC_XML: u64 = 64 << 20;

/// An open xar archive.
pub struct XarReader<R> {
    inner: R,
    file: String,
    path: Option<PathBuf>,
    header: XarHeader,
    toc: Toc,
    heap_start: u64,
    heap_len: u64,
    toc_checksum_verified: bool,
}

impl XarReader<BufReader<File>> {
    /// Open and validate the archive at `path`.
    pub fn open(path: &Path) -> Result<Self, XarError> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| XarError::io(&name, None, e))?;
        let mut reader = Self::new(BufReader::new(file), &name)?;
        reader.path = Some(path.to_path_buf());
        Ok(reader)
    }
}

fn read_exact_at<R: Read + Seek>(
    r: &mut R,
    file: &str,
    offset: u64,
    buf: &mut [u8],
) -> Result<(), XarError> {
    r.seek(SeekFrom::Start(offset))
        .and_then(|_| r.read_exact(buf))
        .map_err(|e| XarError::io(file, Some(offset), e))
}

fn bad_toc(file: &str, offset: u64, detail: String) -> XarError {
    XarError::new(file, Some(offset), XarErrorKind::BadToc(detail))
}

impl<R: Read + Seek> XarReader<R> {
    /// Validate header, TOC and TOC checksum. `file` names the archive in error messages.
    pub fn new(mut inner: R, file: &str) -> Result<Self, XarError> {
        let total = inner
            .seek(SeekFrom::End(0))
            .map_err(|e| XarError::io(file, None, e))?;
        let truncated = |what: &str, offset: u64, needed: u64, available: u64| {
            XarError::new(
                file,
                Some(offset),
                XarErrorKind::Truncated {
                    what: what.to_string(),
                    needed,
                    available,
                },
            )
        };

        let mut fixed = [0u8; 28];
        let head_len = total.min(28) as usize;
        read_exact_at(&mut inner, file, 0, &mut fixed[..head_len])?;
        if head_len < 4 {
            return Err(truncated("the xar magic", 0, 4, total));
        }
        if fixed[..4] != MAGIC {
            let found = [fixed[0], fixed[1], fixed[2], fixed[3]];
            return Err(XarError::new(
                file,
                Some(0),
                XarErrorKind::BadMagic { found },
            ));
        }
        if head_len < 28 {
            return Err(truncated("the xar header", 0, 28, total));
        }
        let declared_size = u64::from(u16::from_be_bytes([fixed[4], fixed[5]]));
        if declared_size > total {
            return Err(truncated("the xar header", 0, declared_size, total));
        }
        let mut extension = vec![0u8; declared_size.saturating_sub(28) as usize];
        read_exact_at(&mut inner, file, 28, &mut extension)?;
        let header = XarHeader::parse(&fixed, &extension)
            .map_err(|d| XarError::new(file, Some(0), XarErrorKind::BadHeader(d)))?;
        if header.version != 1 {
            return Err(XarError::new(
                file,
                Some(6),
                XarErrorKind::BadHeader(format!("version {} (expected 1)", header.version)),
            ));
        }

        let toc_start = u64::from(header.header_size);
        let toc_len = header.toc_length_compressed;
        for (declared, offset) in [(toc_len, 8), (header.toc_length_uncompressed, 16)] {
            if declared > MAX_TOC_COMPRESSED.max(MAX_TOC_XML) {
                return Err(XarError::new(
                    file,
                    Some(offset),
                    XarErrorKind::TocTooLarge {
                        declared,
                        limit: MAX_TOC_COMPRESSED.max(MAX_TOC_XML),
                    },
                ));
            }
        }
        if toc_len > total - toc_start {
            return Err(truncated(
                "the table of contents",
                toc_start,
                toc_len,
                total - toc_start,
            ));
        }
        // Bounded by MAX_TOC_COMPRESSED and by the file size above.
        let mut toc_z = vec![0u8; toc_len as usize];
        read_exact_at(&mut inner, file, toc_start, &mut toc_z)?;
        let mut xml = Vec::new();
        ZlibDecoder::new(&toc_z[..])
            .take(header.toc_length_uncompressed.saturating_add(1))
            .read_to_end(&mut xml)
            .map_err(|e| bad_toc(file, toc_start, format!("not a valid zlib stream: {e}")))?;
        if xml.len() as u64 != header.toc_length_uncompressed {
            return Err(bad_toc(
                file,
                toc_start,
                format!(
                    "decompressed length differs from the header ({} bytes, header says {})",
                    xml.len(),
                    header.toc_length_uncompressed
                ),
            ));
        }
        let xml = std::str::from_utf8(&xml)
            .map_err(|e| bad_toc(file, toc_start, format!("not UTF-8: {e}")))?;
        let toc = toc::parse_toc(xml).map_err(|d| bad_toc(file, toc_start, d))?;

        let heap_start = toc_start + toc_len;
        let mut reader = XarReader {
            inner,
            file: file.to_string(),
            path: None,
            header,
            toc,
            heap_start,
            heap_len: total - heap_start,
            toc_checksum_verified: false,
        };
        reader.toc_checksum_verified = reader.verify_toc_checksum(&toc_z)?;
        reader.check_member_ranges()?;
        Ok(reader)
    }

    /// Compare the stored TOC digest with the compressed TOC. Ok(false) when the archive
    /// declares no checksum or one this crate cannot compute (MD5).
    fn verify_toc_checksum(&mut self, toc_z: &[u8]) -> Result<bool, XarError> {
        let alg = self.header.checksum_alg;
        if alg == ChecksumAlg::None {
            return Ok(false);
        }
        let Some(decl) = self.toc.checksum.clone() else {
            return Err(bad_toc(
                &self.file,
                u64::from(self.header.header_size),
                format!(
                    "header declares {} but the TOC has no <checksum>",
                    alg.style()
                ),
            ));
        };
        if ChecksumAlg::from_style(&decl.style) != Some(alg) || decl.size != alg.digest_len() {
            return Err(bad_toc(
                &self.file,
                u64::from(self.header.header_size),
                format!(
                    "TOC checksum is {:?} of {} bytes but the header declares {}",
                    decl.style,
                    decl.size,
                    alg.style()
                ),
            ));
        }
        let at = self.heap_start.saturating_add(decl.offset);
        if decl.offset.saturating_add(decl.size) > self.heap_len {
            return Err(XarError::new(
                &self.file,
                Some(at),
                XarErrorKind::Truncated {
                    what: "the TOC checksum".to_string(),
                    needed: decl.offset.saturating_add(decl.size),
                    available: self.heap_len,
                },
            ));
        }
        let Some(mut hasher) = Hasher::new(alg) else {
            return Ok(false);
        };
        let mut stored = vec![0u8; decl.size as usize];
        read_exact_at(&mut self.inner, &self.file, at, &mut stored)?;
        hasher.update(toc_z);
        if hasher.finalize() != stored {
            return Err(XarError::new(
                &self.file,
                Some(at),
                XarErrorKind::BadTocChecksum,
            ));
        }
        Ok(true)
    }

    /// Every member must lie inside the heap; a short file shows up here as truncation.
    fn check_member_ranges(&self) -> Result<(), XarError> {
        for entry in &self.toc.entries {
            let Some(data) = &entry.data else { continue };
            let at = self.heap_start.saturating_add(data.offset);
            match data.offset.checked_add(data.length) {
                None => {
                    return Err(XarError::new(
                        &self.file,
                        Some(at),
                        XarErrorKind::BadMemberOffset {
                            member: entry.path.clone(),
                            detail: format!(
                                "offset {} + length {} overflows",
                                data.offset, data.length
                            ),
                        },
                    ))
                }
                Some(end) if end > self.heap_len => {
                    return Err(XarError::new(
                        &self.file,
                        Some(at),
                        XarErrorKind::Truncated {
                            what: format!("member {:?}", entry.path),
                            needed: end,
                            available: self.heap_len,
                        },
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The archive name used in messages.
    pub fn file_name(&self) -> &str {
        &self.file
    }

    pub fn header(&self) -> &XarHeader {
        &self.header
    }

    pub fn toc(&self) -> &Toc {
        &self.toc
    }

    /// Files and directories in TOC order, paths joined with `/`.
    pub fn entries(&self) -> &[XarEntry] {
        &self.toc.entries
    }

    pub fn find(&self, path: &str) -> Option<&XarEntry> {
        self.toc.entries.iter().find(|e| e.path == path)
    }

    /// Absolute file offset of the heap.
    pub fn heap_start(&self) -> u64 {
        self.heap_start
    }

    /// A verifier of every member's archived checksum, to be fed the whole file in order.
    pub fn heap_verifier(&self) -> super::HeapVerifier {
        super::HeapVerifier::new(&self.file, &self.toc, self.heap_start, self.heap_len)
    }

    /// True when the TOC checksum was computed and matched (false: none declared, or MD5).
    pub fn toc_checksum_verified(&self) -> bool {
        self.toc_checksum_verified
    }

    /// The member's stored bytes as a file range, for streaming it into a new archive.
    /// None unless the reader was opened from a path and the entry has data.
    pub fn member_range(&self, entry: &XarEntry) -> Option<FileRange> {
        let path = self.path.as_ref()?;
        let data = entry.data.as_ref()?;
        Some(FileRange {
            path: path.clone(),
            offset: self.heap_start + data.offset,
            length: data.length,
            encoding: data.encoding.clone(),
            expected_archived: data.archived_checksum.clone(),
        })
    }

    fn member_error(&self, entry: &XarEntry, kind: XarErrorKind) -> XarError {
        let at = entry
            .data
            .as_ref()
            .map(|d| self.heap_start.saturating_add(d.offset));
        XarError::new(&self.file, at, kind)
    }

    fn corrupt(&self, entry: &XarEntry, detail: String) -> XarError {
        self.member_error(
            entry,
            XarErrorKind::MemberCorrupt {
                member: entry.path.clone(),
                detail,
            },
        )
    }

    fn check_digest(
        &self,
        entry: &XarEntry,
        which: &str,
        declared: Option<&MemberChecksum>,
        computed: Option<Vec<u8>>,
    ) -> Result<(), XarError> {
        if let (Some(declared), Some(computed)) = (declared, computed) {
            let got = hex(&computed);
            if got != declared.hex {
                return Err(self.corrupt(
                    entry,
                    format!("{which} checksum is {got}, TOC says {}", declared.hex),
                ));
            }
        }
        Ok(())
    }

    fn io_or_corrupt(&self, entry: &XarEntry, err: io::Error) -> XarError {
        match err.kind() {
            // A compressed stream that is damaged or ends before its end marker.
            io::ErrorKind::InvalidData
            | io::ErrorKind::InvalidInput
            | io::ErrorKind::UnexpectedEof => self.corrupt(entry, format!("cannot decode: {err}")),
            _ => self.member_error(entry, XarErrorKind::Io(err)),
        }
    }

    fn hasher_for(sum: Option<&MemberChecksum>) -> Option<Hasher> {
        sum.and_then(|c| c.alg).and_then(Hasher::new)
    }

    /// Stream the member's stored bytes to `out`, verifying its archived checksum.
    pub fn copy_member_raw<W: Write>(&mut self, entry: &XarEntry, out: W) -> Result<u64, XarError> {
        let data = entry.data.clone().ok_or_else(|| self.no_data(entry))?;
        let start = self.heap_start + data.offset;
        self.inner
            .seek(SeekFrom::Start(start))
            .map_err(|e| XarError::io(&self.file, Some(start), e))?;
        let mut raw = HashingReader::new(
            (&mut self.inner).take(data.length),
            Self::hasher_for(data.archived_checksum.as_ref()),
        );
        let mut out = out;
        let copied = io::copy(&mut raw, &mut out);
        let (count, digest) = (raw.count, raw.hasher.map(Hasher::finalize));
        copied.map_err(|e| self.io_or_corrupt(entry, e))?;
        if count != data.length {
            return Err(self.corrupt(entry, format!("only {count} of {} bytes", data.length)));
        }
        self.check_digest(entry, "archived", data.archived_checksum.as_ref(), digest)?;
        Ok(count)
    }

    fn no_data(&self, entry: &XarEntry) -> XarError {
        let what = if entry.kind == EntryKind::Directory {
            "is a directory"
        } else {
            "has no data"
        };
        self.corrupt(entry, what.to_string())
    }

    /// Stream the member's extracted (decoded) bytes to `out`, verifying the archived and
    /// extracted checksums and the extracted size. Returns the number of bytes written.
    pub fn copy_member<W: Write>(&mut self, entry: &XarEntry, out: W) -> Result<u64, XarError> {
        let data = entry.data.clone().ok_or_else(|| self.no_data(entry))?;
        if let Encoding::Other(style) = &data.encoding {
            return Err(self.member_error(
                entry,
                XarErrorKind::UnsupportedEncoding {
                    member: entry.path.clone(),
                    encoding: style.clone(),
                },
            ));
        }
        let start = self.heap_start + data.offset;
        self.inner
            .seek(SeekFrom::Start(start))
            .map_err(|e| XarError::io(&self.file, Some(start), e))?;
        let mut raw = HashingReader::new(
            (&mut self.inner).take(data.length),
            Self::hasher_for(data.archived_checksum.as_ref()),
        );
        let mut sink = HashingWriter::new(out, Self::hasher_for(data.extracted_checksum.as_ref()));
        // One extra byte lets us notice output longer than the declared size.
        let limit = data.size.saturating_add(1);
        let result = match data.encoding {
            Encoding::Zlib => {
                let mut decoder = ZlibDecoder::new(&mut raw);
                io::copy(&mut (&mut decoder).take(limit), &mut sink)
                    .and_then(|_| io::copy(&mut decoder.into_inner(), &mut io::sink()))
            }
            _ => io::copy(&mut (&mut raw).take(limit), &mut sink),
        };
        let (raw_count, raw_digest) = (raw.count, raw.hasher.map(Hasher::finalize));
        let (count, digest) = (sink.count, sink.hasher.map(Hasher::finalize));
        result.map_err(|e| self.io_or_corrupt(entry, e))?;
        if raw_count != data.length {
            return Err(self.corrupt(
                entry,
                format!("only {raw_count} of {} stored bytes", data.length),
            ));
        }
        self.check_digest(
            entry,
            "archived",
            data.archived_checksum.as_ref(),
            raw_digest,
        )?;
        if count != data.size {
            return Err(self.corrupt(
                entry,
                format!("extracted {count} bytes, TOC says {}", data.size),
            ));
        }
        self.check_digest(entry, "extracted", data.extracted_checksum.as_ref(), digest)?;
        Ok(count)
    }

    /// The extracted bytes of the member at `path`, refusing members above `limit` bytes.
    pub fn read_member(&mut self, path: &str, limit: u64) -> Result<Vec<u8>, XarError> {
        let entry = self.find(path).cloned().ok_or_else(|| {
            XarError::new(
                &self.file,
                None,
                XarErrorKind::NotFound {
                    member: path.to_string(),
                },
            )
        })?;
        let size = entry.data.as_ref().map_or(0, |d| d.size);
        if size > limit {
            return Err(self.member_error(
                &entry,
                XarErrorKind::MemberTooLarge {
                    member: entry.path.clone(),
                    size,
                    limit,
                },
            ));
        }
        let mut out = Vec::with_capacity(size as usize);
        self.copy_member(&entry, &mut out)?;
        Ok(out)
    }

    pub fn into_inner(self) -> R {
        self.inner
    }
}
