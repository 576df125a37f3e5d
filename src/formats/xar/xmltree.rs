//! A small bounded XML element tree over quick-xml, for the TOC, PackageInfo and Distribution
//! documents, plus escaping for the XML this crate writes. Shared by `xar` and `flatpkg`.
//!
//! Why a tree: these documents are small and their fields appear in any order; a tree keeps
//! the interpretation code short. Depth and node count are capped so hostile input cannot
//! exhaust the stack or memory.

use quick_xml::events::Event;

/// Maximum element nesting accepted.
pub(crate) const MAX_DEPTH: usize = 256;
/// Maximum number of elements accepted in one document.
pub(crate) const MAX_NODES: usize = 1_000_000;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) attrs: Vec<(String, String)>,
    pub(crate) children: Vec<Element>,
    /// Concatenated character data directly inside this element.
    pub(crate) text: String,
}

impl Element {
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub(crate) fn children_named<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Trimmed text of the first child called `name`.
    pub(crate) fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    /// All descendants (depth first, excluding self) called `name`.
    pub(crate) fn descendants_named<'a>(&'a self, name: &str, out: &mut Vec<&'a Element>) {
        for c in &self.children {
            if c.name == name {
                out.push(c);
            }
            c.descendants_named(name, out);
        }
    }
}

impl Element {
    /// The element as XML, indented by `indent` spaces, text and attributes escaped. Text is
    /// written before the children (the tree does not keep mixed content's order), so this is
    /// exact for elements whose text is blank or who have no children.
    pub(crate) fn to_xml(&self, indent: usize) -> String {
        let pad = " ".repeat(indent);
        let mut out = format!("{pad}<{}", self.name);
        for (k, v) in &self.attrs {
            out.push_str(&format!(" {k}=\"{}\"", escape(v)));
        }
        let text = self.text.trim();
        if self.children.is_empty() && text.is_empty() {
            out.push_str("/>\n");
            return out;
        }
        out.push('>');
        out.push_str(&escape(text));
        if !self.children.is_empty() {
            out.push('\n');
            for c in &self.children {
                out.push_str(&c.to_xml(indent + 4));
            }
            out.push_str(&pad);
        }
        out.push_str(&format!("</{}>\n", self.name));
        out
    }
}

fn resolve_ref(name: &str) -> Result<String, String> {
    if let Some(num) = name.strip_prefix('#') {
        let code = if let Some(hex) = num.strip_prefix('x') {
            u32::from_str_radix(hex, 16)
        } else {
            num.parse::<u32>()
        }
        .map_err(|_| format!("bad character reference &{name};"))?;
        return char::from_u32(code)
            .filter(|c| *c != '\0')
            .map(String::from)
            .ok_or_else(|| format!("bad character reference &{name};"));
    }
    quick_xml::escape::resolve_predefined_entity(name)
        .map(str::to_string)
        .ok_or_else(|| format!("unknown entity &{name};"))
}

fn start_element(e: &quick_xml::events::BytesStart<'_>) -> Result<Element, String> {
    let name = e.name().as_ref().to_string();
    let mut attrs = Vec::new();
    for attr in e.attributes() {
        let attr = attr.map_err(|err| format!("bad attribute in <{name}>: {err}"))?;
        let key = attr.key.as_ref().to_string();
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| format!("bad attribute {key} in <{name}>: {err}"))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        ..Element::default()
    })
}

/// Parse a whole document and return its root element. Errors are plain messages with the
/// byte position; callers add the file and member name.
pub(crate) fn parse(xml: &str) -> Result<Element, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut nodes = 0usize;
    loop {
        let at = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| format!("XML error near byte {at}: {e}"))?;
        match event {
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(format!("content after the root element near byte {at}"));
            }
            Event::Start(e) => {
                nodes += 1;
                if stack.len() >= MAX_DEPTH || nodes > MAX_NODES {
                    return Err(format!("XML too deep or too large near byte {at}"));
                }
                stack.push(start_element(&e)?);
            }
            Event::Empty(e) => {
                nodes += 1;
                if nodes > MAX_NODES {
                    return Err(format!("XML too large near byte {at}"));
                }
                let element = start_element(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None => root = Some(element),
                }
            }
            Event::End(_) => {
                let done = stack
                    .pop()
                    .ok_or_else(|| format!("unexpected end tag near byte {at}"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = resolve_ref(&r.xml10_content())?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err("document ends inside an element".to_string());
    }
    root.ok_or_else(|| "no root element".to_string())
}

/// True if `c` may appear in an XML 1.0 document.
fn xml_char_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Reason why `value` cannot be written into XML, if any.
pub(crate) fn check_xml_text(value: &str) -> Result<(), String> {
    match value.chars().find(|c| !xml_char_allowed(*c)) {
        Some(c) => Err(format!(
            "character U+{:04X} is not allowed in XML",
            c as u32
        )),
        None => Ok(()),
    }
}

/// Escape text or an attribute value (for use inside double quotes) with the shared XML rules
/// (`quote::xml_attr`). Characters XML 1.0 cannot hold at all become U+FFFD rather than
/// producing a malformed document; callers pass names they have already validated.
pub(crate) fn escape(value: &str) -> String {
    crate::formats::quote::xml_attr(value).unwrap_or_else(|_| {
        let cleaned: String = value
            .chars()
            .map(|c| {
                if crate::formats::quote::is_xml_char(c) {
                    c
                } else {
                    '\u{FFFD}'
                }
            })
            .collect();
        crate::formats::quote::xml_attr(&cleaned).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_attributes_text_and_entities() {
        let root = parse(
            r#"<?xml version="1.0"?><a x="1 &amp; 2"><b>t&lt;u&#65;</b><c/><b>second</b></a>"#,
        )
        .unwrap();
        assert_eq!(root.name, "a");
        assert_eq!(root.attr("x"), Some("1 & 2"));
        assert_eq!(root.child_text("b"), Some("t<uA"));
        assert_eq!(root.children_named("b").count(), 2);
        assert!(root.child("c").is_some());
    }

    #[test]
    fn rejects_malformed_and_hostile_documents() {
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a>").is_err());
        assert!(parse("").is_err());
        assert!(parse("<a>&foo;</a>").is_err());
        assert!(parse("<a/><b/>").is_err());
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn to_xml_round_trips_through_parse() {
        let xml = r#"<volume-check><allowed-os-versions><os-version min="12.0" note="a&quot;&lt;b"/></allowed-os-versions></volume-check>"#;
        let e = parse(xml).unwrap();
        let again = parse(&e.to_xml(4)).unwrap();
        // Equal but for the indentation written between elements.
        assert_eq!(again.to_xml(4), e.to_xml(4));
        let mut v = Vec::new();
        again.descendants_named("os-version", &mut v);
        assert_eq!(
            v[0].attrs,
            [
                ("min".into(), "12.0".into()),
                ("note".into(), "a\"<b".into())
            ]
        );
        assert!(e
            .to_xml(0)
            .starts_with("<volume-check>\n    <allowed-os-versions>"));
    }

    #[test]
    fn escape_round_trips_through_parse() {
        let nasty = "a&b<c>d\"e'f\ng\th";
        let doc = format!("<r v=\"{}\">{}</r>", escape(nasty), escape(nasty));
        let root = parse(&doc).unwrap();
        assert_eq!(root.attr("v"), Some(nasty));
        assert_eq!(root.text, nasty);
        assert!(check_xml_text("ok").is_ok());
        assert!(check_xml_text("bad\u{1}").is_err());
    }
}
